DROP TRIGGER mailboxes_catalogue ON mailboxes;
UPDATE catalogue_version SET version = nextval('catalogue_version_seq') WHERE id = 1;
