-- E-mail channel: monitored mailboxes, the raw journal of every inbound
-- message (also the review queue), and the Message-IDs that thread mail to tickets.

CREATE TABLE mailboxes (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    purpose TEXT NOT NULL,
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    imap_host TEXT,
    imap_port INTEGER,
    imap_tls TEXT NOT NULL DEFAULT 'tls',
    imap_user TEXT,
    imap_password TEXT,
    folder TEXT NOT NULL DEFAULT 'INBOX',
    processed_action TEXT NOT NULL DEFAULT 'flag',
    processed_folder TEXT,
    authorised_senders TEXT NOT NULL DEFAULT '',
    uidvalidity BIGINT,
    last_uid BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE inbound_messages (
    id BIGSERIAL PRIMARY KEY,
    mailbox_id BIGINT REFERENCES mailboxes(id),
    dedupe_key TEXT NOT NULL UNIQUE,
    message_id TEXT,
    source TEXT NOT NULL,
    raw BYTEA NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    from_address TEXT,
    subject TEXT,
    status TEXT NOT NULL,
    cause TEXT,
    detail TEXT,
    ticket_id BIGINT REFERENCES tickets(id),
    article_id BIGINT,
    imap_uid BIGINT,
    uidvalidity BIGINT,
    received_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP
);
CREATE INDEX inbound_messages_status ON inbound_messages(status, id);
CREATE INDEX inbound_messages_message_id ON inbound_messages(message_id);

CREATE TABLE mail_threads (
    message_id TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    direction TEXT NOT NULL,
    mailbox_id BIGINT REFERENCES mailboxes(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (message_id, ticket_id)
);
CREATE INDEX mail_threads_ticket ON mail_threads(ticket_id);

ALTER TABLE contact_emails ADD COLUMN bounced_at TIMESTAMP;
ALTER TABLE articles ADD COLUMN html TEXT;
