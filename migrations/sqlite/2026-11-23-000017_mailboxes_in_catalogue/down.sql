DROP TRIGGER mailboxes_catalogue_delete;
DROP TRIGGER mailboxes_catalogue_update;
DROP TRIGGER mailboxes_catalogue_insert;
UPDATE catalogue_version SET version = random() WHERE id = 1;
