-- Every poll of a mailbox is recorded, so a gap between what the server holds
-- and what was ingested shows instead of vanishing. A lease on the mailbox
-- makes one instance poll it at a time.

ALTER TABLE mailboxes ADD COLUMN poll_locked_until TIMESTAMP;

CREATE TABLE mail_polls (
    id BIGSERIAL PRIMARY KEY,
    mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id),
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    server_count BIGINT,
    fetched BIGINT NOT NULL DEFAULT 0,
    ingested BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX mail_polls_mailbox ON mail_polls(mailbox_id, id);
