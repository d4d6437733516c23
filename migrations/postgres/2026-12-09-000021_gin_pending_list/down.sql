ALTER INDEX contacts_search_key_trgm RESET (gin_pending_list_limit);
ALTER INDEX articles_body_fts RESET (gin_pending_list_limit);
ALTER INDEX tickets_subject_fts RESET (gin_pending_list_limit);
