DROP TABLE sla_clock_events;
DROP TABLE sla_clocks;
DROP TABLE sla_policies;
