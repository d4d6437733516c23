-- The catalogue (queues, topics, subjects, SLA policies, agents) changes a
-- few times a day and is read by every request: each
-- server instance keeps it in memory and asks this one row whether it is
-- still current. Triggers give the row a new version on any change; a
-- random one, so that a version is never reused even when a change rolls
-- back.

CREATE TABLE catalogue_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);

INSERT INTO catalogue_version (id, version) VALUES (1, random());

CREATE TRIGGER queues_catalogue_insert AFTER INSERT ON queues
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER queues_catalogue_update AFTER UPDATE ON queues
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER queues_catalogue_delete AFTER DELETE ON queues
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER topics_catalogue_insert AFTER INSERT ON topics
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER topics_catalogue_update AFTER UPDATE ON topics
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER topics_catalogue_delete AFTER DELETE ON topics
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER subjects_catalogue_insert AFTER INSERT ON subjects
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER subjects_catalogue_update AFTER UPDATE ON subjects
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER subjects_catalogue_delete AFTER DELETE ON subjects
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER sla_policies_catalogue_insert AFTER INSERT ON sla_policies
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER sla_policies_catalogue_update AFTER UPDATE ON sla_policies
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER sla_policies_catalogue_delete AFTER DELETE ON sla_policies
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER agents_catalogue_insert AFTER INSERT ON agents
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER agents_catalogue_update AFTER UPDATE ON agents
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;

CREATE TRIGGER agents_catalogue_delete AFTER DELETE ON agents
BEGIN
    UPDATE catalogue_version SET version = random() WHERE id = 1;
END;
