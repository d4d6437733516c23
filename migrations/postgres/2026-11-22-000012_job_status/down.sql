DROP TABLE job_status;
