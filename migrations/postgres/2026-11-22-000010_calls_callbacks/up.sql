-- Phone notes and callbacks: the outcome of a call written up by the
-- operator, missed calls acknowledged by a supervisor, lines that turn
-- missed calls into callbacks, and callbacks booked into slots, offered to
-- agents and attempted until the caller is reached or attempts run out.

ALTER TABLE calls ADD COLUMN outcome TEXT;
ALTER TABLE calls ADD COLUMN noted_at TIMESTAMP;
ALTER TABLE calls ADD COLUMN acknowledged_at TIMESTAMP;
ALTER TABLE calls ADD COLUMN acknowledged_by BIGINT REFERENCES agents(id);
CREATE INDEX calls_state ON calls(state, offered_at);

ALTER TABLE service_lines ADD COLUMN auto_callback BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE callback_requests ADD COLUMN queue_id BIGINT REFERENCES queues(id);
ALTER TABLE callback_requests ADD COLUMN topic_id BIGINT REFERENCES topics(id);
ALTER TABLE callback_requests ADD COLUMN source TEXT NOT NULL DEFAULT 'public';
ALTER TABLE callback_requests ADD COLUMN call_id BIGINT REFERENCES calls(id);
ALTER TABLE callback_requests ADD COLUMN slot_start TIMESTAMP;
ALTER TABLE callback_requests ADD COLUMN due_at TIMESTAMP;
ALTER TABLE callback_requests ADD COLUMN sla_start TIMESTAMP;
ALTER TABLE callback_requests ADD COLUMN first_attempt_at TIMESTAMP;
ALTER TABLE callback_requests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE callback_requests ADD COLUMN offered_to BIGINT REFERENCES agents(id);
ALTER TABLE callback_requests ADD COLUMN offer_expires_at TIMESTAMP;
ALTER TABLE callback_requests ADD COLUMN agent_id BIGINT REFERENCES agents(id);
ALTER TABLE callback_requests ADD COLUMN closed_at TIMESTAMP;
ALTER TABLE callback_requests ADD COLUMN outcome TEXT;
UPDATE callback_requests
   SET state = 'scheduled',
       due_at = COALESCE(preferred_at, created_at),
       slot_start = COALESCE(preferred_at, created_at),
       sla_start = COALESCE(preferred_at, created_at)
 WHERE state = 'requested';
CREATE INDEX callback_requests_due ON callback_requests(state, due_at);
CREATE INDEX callback_requests_slot ON callback_requests(slot_start);
CREATE INDEX callback_requests_phone ON callback_requests(phone, state);

CREATE TABLE callback_offers (
    id BIGSERIAL PRIMARY KEY,
    callback_id BIGINT NOT NULL REFERENCES callback_requests(id),
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    -- The attempt this offer is for (0 before the first attempt).
    round INTEGER NOT NULL,
    offered_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- accepted, declined or timeout; NULL while open.
    answer TEXT,
    answered_at TIMESTAMP
);
CREATE INDEX callback_offers_callback ON callback_offers(callback_id);

CREATE TABLE callback_attempts (
    id BIGSERIAL PRIMARY KEY,
    callback_id BIGINT NOT NULL REFERENCES callback_requests(id),
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    outcome TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at TIMESTAMP NOT NULL
);
CREATE INDEX callback_attempts_callback ON callback_attempts(callback_id);
