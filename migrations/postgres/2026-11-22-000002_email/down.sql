ALTER TABLE articles DROP COLUMN html;
ALTER TABLE contact_emails DROP COLUMN bounced_at;
DROP TABLE mail_threads;
DROP TABLE inbound_messages;
DROP TABLE mailboxes;
