-- Citizen self-service: the private tracking token of a ticket (stored
-- hashed), satisfaction ratings, and callback requests made from the portal.

CREATE TABLE public_access (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id),
    token_hash TEXT NOT NULL UNIQUE,
    rating_token_hash TEXT UNIQUE,
    language TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE ratings (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL UNIQUE REFERENCES tickets(id),
    score INTEGER NOT NULL,
    comment TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE callback_requests (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    phone TEXT NOT NULL,
    mode TEXT NOT NULL,
    preferred_at TIMESTAMP,
    note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX callback_requests_ticket ON callback_requests(ticket_id);
