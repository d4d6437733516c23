-- The mailboxes' addresses join the catalogue kept in memory: every
-- incoming message is checked against them (mail from one of our own
-- addresses is a loop). Only a change of address, or a mailbox added or
-- removed, makes a new version: the IMAP position a poll writes after each
-- message does not.
CREATE TRIGGER mailboxes_catalogue_insert AFTER INSERT ON mailboxes
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER mailboxes_catalogue_update AFTER UPDATE OF address ON mailboxes
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER mailboxes_catalogue_delete AFTER DELETE ON mailboxes
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

-- Copies read before this migration do not hold the addresses.
UPDATE catalogue_version SET version = random() WHERE id = 1;
