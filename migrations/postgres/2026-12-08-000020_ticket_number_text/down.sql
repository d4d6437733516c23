DROP FUNCTION next_ticket_number_text(integer);
