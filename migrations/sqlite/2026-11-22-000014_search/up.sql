-- Substring search over contacts without reading them all: an FTS5 trigram
-- index of the search key (external content, kept in step by triggers like
-- tickets_fts and articles_fts). It only narrows the candidates: the LIKE on
-- search_key stays the exact test. Patterns shorter than three characters
-- have no trigram and are still found by scanning contacts.
CREATE VIRTUAL TABLE contacts_fts USING fts5(search_key, content='contacts', content_rowid='id', tokenize='trigram');
INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild');
CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER contacts_fts_ad AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER contacts_fts_au AFTER UPDATE OF search_key ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    INSERT INTO contacts_fts(rowid, search_key) VALUES (new.id, new.search_key);
END;

-- The ticket of each article, looked up by article id without reading the
-- article (its body): what search needs for the articles FTS matches.
CREATE INDEX articles_id_ticket ON articles(id, ticket_id);
