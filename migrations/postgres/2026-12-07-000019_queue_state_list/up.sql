-- A queue's tickets in one state, newest first (`?queue=&state=`, the
-- first-level desk's "new and unassigned" view). Without it PostgreSQL walked
-- the primary key backwards and filtered: fast when such tickets are among the
-- newest, but the new tickets of a quiet queue at a million tickets sit among
-- hundreds of thousands of others (80,000 rows read, 16 ms warm and 98 ms
-- cold, EXPLAIN ANALYZE). On (queue_id, state, id) the list reads its page
-- and stops (0.1 ms).
--
-- The statistics tell the planner how queue, state and assignment go
-- together (new tickets are unassigned, most closed ones are not): assuming
-- them independent it judged the index dearer than the backward walk.
--
-- PostgreSQL only: SQLite picks its existing indexes for this list (under
-- 2 ms at a million tickets), and every index is paid for on each intake.
CREATE INDEX tickets_queue_state ON tickets(queue_id, state, id);
CREATE STATISTICS tickets_queue_state_assigned (mcv) ON queue_id, state, (assignee_id IS NULL) FROM tickets;
