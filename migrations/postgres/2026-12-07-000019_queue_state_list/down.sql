DROP STATISTICS tickets_queue_state_assigned;
DROP INDEX tickets_queue_state;
