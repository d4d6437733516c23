-- The last run of every background job (whichever instance ran it), so that
-- staff can see through the API that mail is polled, the outbox sent and
-- callbacks dispatched, and what went wrong when not.

CREATE TABLE job_status (
    name TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    last_started_at TIMESTAMP NOT NULL,
    last_finished_at TIMESTAMP NOT NULL,
    last_duration_ms BIGINT NOT NULL,
    last_outcome TEXT NOT NULL,
    last_detail TEXT NOT NULL DEFAULT '',
    last_error TEXT,
    last_error_at TIMESTAMP,
    runs BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0
);
