-- Carries the sequences' numbers back into ticket_counters, then drops them.
DO $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT sequencename, last_value FROM pg_sequences
             WHERE schemaname = current_schema() AND sequencename ~ '^ticket_number_-?[0-9]+$'
    LOOP
        IF s.last_value IS NOT NULL THEN
            INSERT INTO ticket_counters (year, last_value)
            VALUES (substr(s.sequencename, 15)::integer, s.last_value)
            ON CONFLICT (year) DO UPDATE SET last_value = GREATEST(ticket_counters.last_value, EXCLUDED.last_value);
        END IF;
        EXECUTE format('DROP SEQUENCE %I', s.sequencename);
    END LOOP;
END
$$;
DROP FUNCTION next_ticket_number(integer);
