DROP TABLE ticket_fields;
ALTER TABLE topics DROP COLUMN in_statistics;
ALTER TABLE topics DROP COLUMN form;
