-- GIN's fast update keeps new entries in a pending list until it holds
-- gin_pending_list_limit (4 MB by default), and every search reads that list
-- whole. After a busy hour of intake (the benchmark suite's thousands of
-- tickets, 5,000 new contacts) a search for any word read hundreds of
-- pending pages: 4 ms for the subjects, 9 to 12 ms for the contacts'
-- trigrams, measured with EXPLAIN ANALYZE. At 64 kB the list stays a few
-- pages; intake cost the same in A/B runs (the list is merged more often,
-- in smaller pieces).
ALTER INDEX tickets_subject_fts SET (gin_pending_list_limit = 64);
ALTER INDEX articles_body_fts SET (gin_pending_list_limit = 64);
ALTER INDEX contacts_search_key_trgm SET (gin_pending_list_limit = 64);
