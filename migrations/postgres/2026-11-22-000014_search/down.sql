-- The pg_trgm extension stays: it may have been there before, or be used by
-- something else in the database.
DROP INDEX contacts_search_key_trgm;
