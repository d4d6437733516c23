DROP TRIGGER agents_catalogue ON agents;
DROP TRIGGER sla_policies_catalogue ON sla_policies;
DROP TRIGGER subjects_catalogue ON subjects;
DROP TRIGGER topics_catalogue ON topics;
DROP TRIGGER queues_catalogue ON queues;
DROP FUNCTION catalogue_changed();
DROP TABLE catalogue_version;
DROP SEQUENCE catalogue_version_seq;
