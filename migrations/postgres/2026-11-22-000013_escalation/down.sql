ALTER TABLE sla_clocks DROP COLUMN calendar_id;
DROP INDEX sla_clocks_warn;
DROP TABLE escalation_firings;
DROP TABLE escalation_rules;
ALTER TABLE queues DROP COLUMN supervisor_id;
ALTER TABLE queues DROP COLUMN calendar_id;
DROP TABLE calendars;
