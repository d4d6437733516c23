DROP TABLE agent_presence;
DROP TABLE cti_events;
DROP TABLE calls;
DROP TABLE ivr_options;
DROP TABLE service_lines;
