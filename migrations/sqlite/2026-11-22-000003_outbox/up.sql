-- Outgoing mail: written in the same transaction as the ticket change that
-- causes it, sent by a job that claims rows with a lease.

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT REFERENCES tickets(id),
    article_id BIGINT REFERENCES articles(id),
    kind TEXT NOT NULL,
    mailbox_id BIGINT REFERENCES mailboxes(id),
    from_address TEXT NOT NULL,
    to_address TEXT NOT NULL,
    reply_to TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    in_reply_to TEXT,
    refs TEXT NOT NULL DEFAULT '',
    auto_submitted BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_ticket ON outbox(ticket_id, id);
CREATE INDEX outbox_recipient ON outbox(to_address, kind, created_at);
