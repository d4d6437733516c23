-- Business calendars a queue can have (queues without one follow the desk's
-- calendar from the configuration) and its clocks count on, each queue's supervisor, escalation rules
-- per queue, and the record of every rule that fired: its primary key (rule,
-- clock) is what makes a rule fire once per breach, even with several
-- instances checking at the same moment.

CREATE TABLE calendars (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    time_zone TEXT NOT NULL,
    hours TEXT NOT NULL,
    italian_holidays BOOLEAN NOT NULL,
    holidays TEXT NOT NULL,
    closed_days TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

ALTER TABLE queues ADD COLUMN calendar_id BIGINT REFERENCES calendars(id);
ALTER TABLE queues ADD COLUMN supervisor_id BIGINT REFERENCES agents(id);

CREATE TABLE escalation_rules (
    id BIGSERIAL PRIMARY KEY,
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    name TEXT NOT NULL,
    on_event TEXT NOT NULL,
    clock_kind TEXT,
    notify_assignee BOOLEAN NOT NULL,
    notify_supervisor BOOLEAN NOT NULL,
    raise_priority BOOLEAN NOT NULL,
    escalate_to_queue_id BIGINT REFERENCES queues(id),
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX escalation_rules_queue ON escalation_rules(queue_id, active);

CREATE TABLE escalation_firings (
    rule_id BIGINT NOT NULL REFERENCES escalation_rules(id),
    clock_id BIGINT NOT NULL REFERENCES sla_clocks(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    fired_at TIMESTAMP NOT NULL,
    actions TEXT NOT NULL,
    PRIMARY KEY (rule_id, clock_id)
);
CREATE INDEX escalation_firings_ticket ON escalation_firings(ticket_id);
CREATE INDEX sla_clocks_warn ON sla_clocks(state, warn_at);

-- A clock counts business time on the calendar of the queue where it started
-- (none: the desk's), whichever queue the ticket moves to.
ALTER TABLE sla_clocks ADD COLUMN calendar_id BIGINT REFERENCES calendars(id);
