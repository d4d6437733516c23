DROP INDEX outbox_claim;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
