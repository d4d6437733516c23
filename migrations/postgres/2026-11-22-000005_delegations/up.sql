-- Back-office work delegated by e-mail from a ticket; replies thread back by
-- the delegation's own reply token, the ticket tag, References, or the back
-- office's reference number.

CREATE TABLE delegations (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    agent_id BIGINT REFERENCES agents(id),
    mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id),
    to_address TEXT NOT NULL,
    task TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    external_ref TEXT,
    created_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP
);
CREATE INDEX delegations_ticket ON delegations(ticket_id, id);
CREATE INDEX delegations_external_ref ON delegations(external_ref);
