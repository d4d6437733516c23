DROP INDEX articles_id_ticket;
DROP TRIGGER contacts_fts_au;
DROP TRIGGER contacts_fts_ad;
DROP TRIGGER contacts_fts_ai;
DROP TABLE contacts_fts;
