-- Ticket core: registry, staff, queues, catalogue, tickets and their history.
-- Instants are TIMESTAMP holding UTC (truncated to microseconds by the app).

CREATE TABLE queues (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    level TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    email TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE agents (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    time_zone TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE queue_members (
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    PRIMARY KEY (queue_id, agent_id)
);
CREATE INDEX queue_members_agent ON queue_members(agent_id);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_agent ON api_tokens(agent_id);

CREATE TABLE topics (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    info_script TEXT NOT NULL DEFAULT '',
    public BOOLEAN NOT NULL DEFAULT TRUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE subjects (
    id BIGSERIAL PRIMARY KEY,
    topic_id BIGINT NOT NULL REFERENCES topics(id),
    name TEXT NOT NULL,
    queue_id BIGINT REFERENCES queues(id),
    info_script TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (topic_id, name)
);

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    contract_number TEXT,
    language TEXT NOT NULL DEFAULT 'it',
    notes TEXT NOT NULL DEFAULT '',
    search_key TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_contract_number ON contacts(contract_number);

CREATE TABLE contact_emails (
    id BIGSERIAL PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    email TEXT NOT NULL UNIQUE
);
CREATE INDEX contact_emails_contact ON contact_emails(contact_id);

CREATE TABLE contact_phones (
    id BIGSERIAL PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    phone TEXT NOT NULL,
    UNIQUE (contact_id, phone)
);
CREATE INDEX contact_phones_phone ON contact_phones(phone);

CREATE TABLE ticket_counters (
    year INTEGER PRIMARY KEY,
    last_value BIGINT NOT NULL
);

CREATE TABLE tickets (
    id BIGSERIAL PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    assignee_id BIGINT REFERENCES agents(id),
    contact_id BIGINT REFERENCES contacts(id),
    topic_id BIGINT REFERENCES topics(id),
    subject_id BIGINT REFERENCES subjects(id),
    escalated_from_queue_id BIGINT REFERENCES queues(id),
    escalation_reason TEXT,
    resolution TEXT,
    merged_into_id BIGINT REFERENCES tickets(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP,
    resolved_at TIMESTAMP,
    closed_at TIMESTAMP
);
CREATE INDEX tickets_claim ON tickets(queue_id, state, priority DESC, created_at, id) WHERE assignee_id IS NULL;
CREATE INDEX tickets_queue ON tickets(queue_id, id);
CREATE INDEX tickets_state ON tickets(state, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id, id);
CREATE INDEX tickets_contact ON tickets(contact_id, id);
CREATE INDEX tickets_created ON tickets(created_at, id);
CREATE INDEX tickets_subject_fts ON tickets USING GIN (to_tsvector('simple', subject));

CREATE TABLE intake_keys (
    key TEXT PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    article_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE articles (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    author_agent_id BIGINT REFERENCES agents(id),
    author_contact_id BIGINT REFERENCES contacts(id),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX articles_ticket ON articles(ticket_id, id);
CREATE INDEX articles_body_fts ON articles USING GIN (to_tsvector('simple', body));

CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES articles(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_article ON attachments(article_id);

CREATE TABLE ticket_events (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,
    actor_agent_id BIGINT REFERENCES agents(id),
    data TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);

CREATE TABLE ticket_links (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    linked_ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, linked_ticket_id, kind)
);
CREATE INDEX ticket_links_linked ON ticket_links(linked_ticket_id);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor_agent_id BIGINT REFERENCES agents(id),
    changes TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id, id);

-- Every installation starts with a first-level queue so intake works with no set-up.
INSERT INTO queues (name, level, description, created_at)
VALUES ('First level', 'first_level', 'Every new request lands here unless its topic routes it elsewhere', CURRENT_TIMESTAMP AT TIME ZONE 'UTC');
