-- SQLite cannot drop the columns of queues and sla_clocks that reference
-- other tables; they stay (unused) after this down-migration.
DROP INDEX sla_clocks_warn;
DROP TABLE escalation_firings;
DROP TABLE escalation_rules;
