-- Ticket numbers come from one sequence per year instead of an UPDATE of the
-- year's row in ticket_counters. The row's lock was held until the intake's
-- transaction committed, so concurrent intakes queued behind each other for
-- their whole length; a sequence hands out the next number without a lock.
-- A number taken by a transaction that then rolls back is not reused (a gap),
-- as with every sequence.
--
-- A year's sequence is made on its first ticket and starts after the
-- year's row in ticket_counters, which keeps the numbers given before this
-- migration (and stays the counter on SQLite, whose single writer has no
-- such queue). The demo generator, which writes numbers in bulk under an
-- EXCLUSIVE lock on ticket_counters, moves the sequences past what it wrote;
-- the ROW SHARE lock below makes an intake wait for it rather than take a
-- number it is about to use.

CREATE FUNCTION next_ticket_number(y integer) RETURNS bigint AS $$
DECLARE
    seq text := quote_ident('ticket_number_' || y);
BEGIN
    LOCK TABLE ticket_counters IN ROW SHARE MODE;
    IF to_regclass(seq) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE %s START WITH %s', seq,
                COALESCE((SELECT last_value FROM ticket_counters WHERE year = y), 0) + 1);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            -- Another transaction made it first.
            NULL;
        END;
    END IF;
    RETURN nextval(seq);
END
$$ LANGUAGE plpgsql;
