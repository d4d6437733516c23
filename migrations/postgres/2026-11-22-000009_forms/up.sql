-- Structured call forms: a topic may carry a form (a JSON array of field
-- definitions, checked by the service) and may be kept out of the help desk's
-- statistics; a ticket keeps the values filled in, with the label and order
-- the form had when they were written.

ALTER TABLE topics ADD COLUMN form TEXT;
ALTER TABLE topics ADD COLUMN in_statistics BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE ticket_fields (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ticket_id, name)
);
