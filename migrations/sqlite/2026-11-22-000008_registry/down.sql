DROP TABLE service_points;
DROP TABLE contact_attributes;
DROP INDEX contacts_external_key;
ALTER TABLE contacts DROP COLUMN external_key;
