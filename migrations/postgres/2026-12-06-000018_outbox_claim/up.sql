-- The sender claims pending mail oldest first (ORDER BY id LIMIT n). On
-- (state, next_attempt_at) that meant reading every pending entry the index
-- still held, then sorting: under a busy intake the index is full of entries
-- for rows already sent (each send rewrites the row), and a claim read 75,000
-- of them over 8,000 pages (21 ms, EXPLAIN ANALYZE). On (state, id) a claim
-- walks the pending entries in order and stops at the batch, and an index scan
-- marks the dead entries it passes so the next claim skips them.
DROP INDEX outbox_due;
CREATE INDEX outbox_claim ON outbox(state, id);
