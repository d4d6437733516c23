-- The catalogue (queues, topics, subjects, SLA policies, agents) changes a
-- few times a day and is read by every request: each
-- server instance keeps it in memory and asks this one row whether it is
-- still current. Triggers give the row a new version on any change, from any
-- instance or tool. A version is never reused (a sequence), even when a
-- change rolls back.

CREATE SEQUENCE catalogue_version_seq;

CREATE TABLE catalogue_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);

INSERT INTO catalogue_version (id, version) VALUES (1, nextval('catalogue_version_seq'));

CREATE FUNCTION catalogue_changed() RETURNS trigger AS $$
BEGIN
    UPDATE catalogue_version SET version = nextval('catalogue_version_seq') WHERE id = 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER queues_catalogue AFTER INSERT OR UPDATE OR DELETE ON queues
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER topics_catalogue AFTER INSERT OR UPDATE OR DELETE ON topics
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER subjects_catalogue AFTER INSERT OR UPDATE OR DELETE ON subjects
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER sla_policies_catalogue AFTER INSERT OR UPDATE OR DELETE ON sla_policies
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER agents_catalogue AFTER INSERT OR UPDATE OR DELETE ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
