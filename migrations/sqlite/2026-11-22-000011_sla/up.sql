-- Service levels: policies by queue, priority and topic with targets in
-- business minutes; per-ticket clocks with their due and warning times kept
-- current (so list filters are plain comparisons), and each clock's history
-- (started, paused with a reason, resumed, stopped, recomputed) from which
-- those times can always be computed again.

CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    queue_id BIGINT REFERENCES queues(id),
    priority INTEGER,
    topic_id BIGINT REFERENCES topics(id),
    first_response_minutes INTEGER,
    next_response_minutes INTEGER,
    resolution_minutes INTEGER,
    warning_percent INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sla_clocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    policy_id BIGINT NOT NULL REFERENCES sla_policies(id),
    kind TEXT NOT NULL,
    target_minutes INTEGER NOT NULL,
    warning_percent INTEGER NOT NULL,
    state TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP,
    warn_at TIMESTAMP,
    stopped_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX sla_clocks_ticket ON sla_clocks(ticket_id, id);
CREATE INDEX sla_clocks_live ON sla_clocks(state, due_at);
CREATE INDEX sla_clocks_policy ON sla_clocks(policy_id, state);

CREATE TABLE sla_clock_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clock_id BIGINT NOT NULL REFERENCES sla_clocks(id),
    kind TEXT NOT NULL,
    reason TEXT,
    due_at TIMESTAMP,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sla_clock_events_clock ON sla_clock_events(clock_id, id);
