-- Phone channel: service lines with their IVR menus, calls reported by the
-- telephony platform (CTI), the events already applied, and agents' presence.

CREATE TABLE service_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    caller_kind TEXT NOT NULL DEFAULT '',
    privacy_notice TEXT NOT NULL DEFAULT '',
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE ivr_options (
    line_id BIGINT NOT NULL REFERENCES service_lines(id),
    digit TEXT NOT NULL,
    topic_id BIGINT NOT NULL REFERENCES topics(id),
    PRIMARY KEY (line_id, digit)
);

CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id TEXT NOT NULL UNIQUE,
    line_id BIGINT REFERENCES service_lines(id),
    called TEXT NOT NULL,
    caller TEXT NOT NULL,
    caller_e164 TEXT,
    ivr_choice TEXT,
    topic_id BIGINT REFERENCES topics(id),
    agent_id BIGINT REFERENCES agents(id),
    state TEXT NOT NULL,
    offered_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    ended_at TIMESTAMP,
    ticket_id BIGINT REFERENCES tickets(id)
);
CREATE INDEX calls_caller ON calls(caller_e164);

CREATE TABLE cti_events (
    event_id TEXT PRIMARY KEY,
    call_id BIGINT NOT NULL REFERENCES calls(id),
    kind TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

CREATE TABLE agent_presence (
    agent_id BIGINT PRIMARY KEY REFERENCES agents(id),
    state TEXT NOT NULL,
    since TIMESTAMP NOT NULL,
    wrap_up_until TIMESTAMP
);
