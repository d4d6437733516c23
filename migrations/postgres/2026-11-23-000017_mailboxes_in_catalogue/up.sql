-- The mailboxes' addresses join the catalogue kept in memory: every
-- incoming message is checked against them (mail from one of our own
-- addresses is a loop). Only a change of address, or a mailbox added or
-- removed, makes a new version: the IMAP position a poll writes after each
-- message does not.
CREATE TRIGGER mailboxes_catalogue AFTER INSERT OR DELETE OR UPDATE OF address ON mailboxes
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();

-- Copies read before this migration do not hold the addresses.
UPDATE catalogue_version SET version = nextval('catalogue_version_seq') WHERE id = 1;
