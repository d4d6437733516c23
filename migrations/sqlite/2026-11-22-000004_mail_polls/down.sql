DROP TABLE mail_polls;
ALTER TABLE mailboxes DROP COLUMN poll_locked_until;
