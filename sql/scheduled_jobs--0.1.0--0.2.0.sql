\echo Use "ALTER EXTENSION scheduled_jobs UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0: opt-in group commit for procedure jobs.

ALTER TABLE scheduled_jobs.jobs
	ADD COLUMN group_commit boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN scheduled_jobs.jobs.group_commit IS
	'procedure jobs: may share one commit with other such jobs, each in its own subtransaction';

DROP FUNCTION scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval);
CREATE FUNCTION scheduled_jobs.schedule_job(
	run_at timestamptz,
	channel text DEFAULT NULL,
	procedure text DEFAULT NULL,
	payload jsonb DEFAULT '{}',
	job_key text DEFAULT NULL,
	max_attempts integer DEFAULT 3,
	timeout interval DEFAULT NULL,
	group_commit boolean DEFAULT false)
RETURNS bigint
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_schedule_job';
COMMENT ON FUNCTION scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean) IS
	'schedule a job at run_at: NOTIFY channel or CALL procedure(payload); a pending job_key is replaced; returns the job id';
REVOKE ALL ON FUNCTION
	scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean)
FROM PUBLIC;
