-- A new ticket's number as text, taken in the ticket's own INSERT (one round
-- trip fewer than reading the number first). It spells what
-- `domain::number::format` spells: the year, a dash, the sequence number
-- zero-padded to at least six digits; the test
-- `intake::numbers_count_per_year_and_never_repeat` holds the two together.
CREATE FUNCTION next_ticket_number_text(y integer) RETURNS text AS $$
    SELECT y::text || '-' || lpad(n::text, greatest(6, length(n::text)), '0')
    FROM next_ticket_number(y) AS n
$$ LANGUAGE sql VOLATILE;
