-- Substring search over contacts without reading them all: a trigram GIN
-- index on the search key, which the planner uses for `search_key LIKE
-- '%…%'` (the LIKE stays the exact test; the index only narrows). pg_trgm is
-- a trusted extension (PostgreSQL 13+): the database's owner may create it.
-- Patterns shorter than three characters have no trigram and are still found
-- by scanning contacts.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_search_key_trgm ON contacts USING GIN (search_key gin_trgm_ops);
