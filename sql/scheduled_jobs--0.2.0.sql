\echo Use "CREATE EXTENSION scheduled_jobs" to load this file. \quit

/*
 * scheduled_jobs install script.  The only one to edit: the Makefile copies
 * it to scheduled_jobs--<version>.sql.  Everything is schema-qualified, and
 * the schema is created here (never adopted), so the script is safe to run
 * under any search_path.
 *
 * The job state machine is documented in src/README.md.
 */

CREATE SCHEMA scheduled_jobs;
COMMENT ON SCHEMA scheduled_jobs IS
	'scheduled_jobs: jobs fired later, as NOTIFY or as a CALL of a procedure';
GRANT USAGE ON SCHEMA scheduled_jobs TO PUBLIC;

-- Pending jobs: the hot table.  A job leaves it in the transaction that
-- fires, fails for good or cancels it, so it and its indexes stay small.
CREATE TABLE scheduled_jobs.jobs (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_at timestamptz NOT NULL,
	channel text,
	procedure text,
	payload jsonb NOT NULL DEFAULT '{}',
	job_key text,
	max_attempts integer NOT NULL DEFAULT 3,
	timeout_ms integer,
	owner regrole NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_error text,
	last_error_data jsonb,
	group_commit boolean NOT NULL DEFAULT false
);
-- No CHECK constraints here: only schedule_job() writes new rows and it
-- validates every argument, while a CHECK is re-read from the catalog by
-- each INSERT's executor start, a third of the cost of scheduling a job.
-- "Claimable" is: due, by target kind.  One partial index per kind keeps
-- the scheduler's NOTIFY claim and the executors' CALL claim from walking
-- over each other's backlog, and makes the earliest run_at one index probe.
CREATE INDEX jobs_notify_run_at ON scheduled_jobs.jobs (run_at)
	WHERE channel IS NOT NULL;
CREATE INDEX jobs_call_run_at ON scheduled_jobs.jobs (run_at)
	WHERE procedure IS NOT NULL;
CREATE UNIQUE INDEX jobs_job_key ON scheduled_jobs.jobs (job_key)
	WHERE job_key IS NOT NULL;
ALTER TABLE scheduled_jobs.jobs SET (autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0,
	autovacuum_vacuum_insert_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);

COMMENT ON TABLE scheduled_jobs.jobs IS
	'pending jobs, one row each; visible to members of the owning role';
COMMENT ON COLUMN scheduled_jobs.jobs.id IS 'job id, returned by schedule_job()';
COMMENT ON COLUMN scheduled_jobs.jobs.run_at IS 'when the job is due';
COMMENT ON COLUMN scheduled_jobs.jobs.channel IS 'NOTIFY channel, for NOTIFY jobs';
COMMENT ON COLUMN scheduled_jobs.jobs.procedure IS
	'qualified name of the procedure called as CALL procedure(payload), for procedure jobs';
COMMENT ON COLUMN scheduled_jobs.jobs.payload IS 'the job''s data, passed to the consumer or procedure';
COMMENT ON COLUMN scheduled_jobs.jobs.job_key IS 'business key, unique among pending jobs';
COMMENT ON COLUMN scheduled_jobs.jobs.max_attempts IS 'procedure jobs: attempts before the job is kept as failed';
COMMENT ON COLUMN scheduled_jobs.jobs.timeout_ms IS
	'procedure jobs: statement timeout of each attempt in milliseconds (NULL: scheduled_jobs.job_timeout, 0: none)';
COMMENT ON COLUMN scheduled_jobs.jobs.owner IS 'role that scheduled the job and that the job runs as';
COMMENT ON COLUMN scheduled_jobs.jobs.attempts IS 'attempts made so far';
COMMENT ON COLUMN scheduled_jobs.jobs.created_at IS 'when the job was scheduled';
COMMENT ON COLUMN scheduled_jobs.jobs.last_error IS 'message of the last failed attempt';
COMMENT ON COLUMN scheduled_jobs.jobs.last_error_data IS
	'the last failed attempt''s error: sqlstate, message, detail, hint, context';
COMMENT ON COLUMN scheduled_jobs.jobs.group_commit IS
	'procedure jobs: may share one commit with other such jobs, each in its own subtransaction';

-- Finished jobs.  Written in the transaction that finishes the job.
CREATE TABLE scheduled_jobs.job_history (
	id bigint PRIMARY KEY,
	run_at timestamptz NOT NULL,
	channel text,
	procedure text,
	payload jsonb NOT NULL,
	job_key text,
	max_attempts integer NOT NULL,
	timeout_ms integer,
	owner regrole NOT NULL,
	attempts integer NOT NULL,
	created_at timestamptz NOT NULL,
	state text NOT NULL,
	fired_at timestamptz,
	finished_at timestamptz NOT NULL,
	last_error text,
	last_error_data jsonb,
	CONSTRAINT job_history_state CHECK
		(state OPERATOR(pg_catalog.=) ANY (ARRAY['notified', 'succeeded', 'failed', 'cancelled']::text[]))
);
CREATE INDEX job_history_finished_at ON scheduled_jobs.job_history (finished_at);
CREATE INDEX job_history_job_key ON scheduled_jobs.job_history (job_key)
	WHERE job_key IS NOT NULL;

COMMENT ON TABLE scheduled_jobs.job_history IS
	'finished jobs: notified, succeeded, failed or cancelled; visible to members of the owning role';
COMMENT ON COLUMN scheduled_jobs.job_history.id IS 'job id';
COMMENT ON COLUMN scheduled_jobs.job_history.run_at IS 'when the job was due (last attempt)';
COMMENT ON COLUMN scheduled_jobs.job_history.channel IS 'NOTIFY channel, for NOTIFY jobs';
COMMENT ON COLUMN scheduled_jobs.job_history.procedure IS 'procedure called, for procedure jobs';
COMMENT ON COLUMN scheduled_jobs.job_history.payload IS 'the job''s data';
COMMENT ON COLUMN scheduled_jobs.job_history.job_key IS 'business key';
COMMENT ON COLUMN scheduled_jobs.job_history.max_attempts IS 'attempts allowed';
COMMENT ON COLUMN scheduled_jobs.job_history.timeout_ms IS 'per-attempt timeout in milliseconds, if set';
COMMENT ON COLUMN scheduled_jobs.job_history.owner IS 'role that scheduled the job';
COMMENT ON COLUMN scheduled_jobs.job_history.attempts IS 'attempts made';
COMMENT ON COLUMN scheduled_jobs.job_history.created_at IS 'when the job was scheduled';
COMMENT ON COLUMN scheduled_jobs.job_history.state IS
	'notified (NOTIFY sent), succeeded (procedure committed), failed (attempts exhausted), cancelled';
COMMENT ON COLUMN scheduled_jobs.job_history.fired_at IS
	'start of the firing transaction of the last attempt (NULL if cancelled before firing)';
COMMENT ON COLUMN scheduled_jobs.job_history.finished_at IS 'when the job finished';
COMMENT ON COLUMN scheduled_jobs.job_history.last_error IS 'message of the last failed attempt';
COMMENT ON COLUMN scheduled_jobs.job_history.last_error_data IS
	'the last failed attempt''s error: sqlstate, message, detail, hint, context';

-- Privileges: ordinary roles read their own rows; only the functions write.
REVOKE ALL ON scheduled_jobs.jobs, scheduled_jobs.job_history FROM PUBLIC;
GRANT SELECT ON scheduled_jobs.jobs, scheduled_jobs.job_history TO PUBLIC;
ALTER TABLE scheduled_jobs.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE scheduled_jobs.job_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_owner ON scheduled_jobs.jobs FOR SELECT
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY job_history_owner ON scheduled_jobs.job_history FOR SELECT
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
COMMENT ON POLICY jobs_owner ON scheduled_jobs.jobs IS
	'a role sees the jobs of the roles it is a member of';
COMMENT ON POLICY job_history_owner ON scheduled_jobs.job_history IS
	'a role sees the finished jobs of the roles it is a member of';

-- pg_dump keeps the jobs (the identity sequence comes with its table).
SELECT pg_catalog.pg_extension_config_dump('scheduled_jobs.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('scheduled_jobs.job_history', '');
SELECT pg_catalog.pg_extension_config_dump('scheduled_jobs.jobs_id_seq', '');

-- The SQL interface.  C functions write through the extension owner after
-- checking the caller; see src/api.c.
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

CREATE FUNCTION scheduled_jobs.cancel_job(job_id bigint)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_cancel_job_by_id';
COMMENT ON FUNCTION scheduled_jobs.cancel_job(bigint) IS
	'cancel a pending job by id; true if one was cancelled, false if no such pending job is visible';

CREATE FUNCTION scheduled_jobs.cancel_job(job_key text)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_cancel_job_by_key';
COMMENT ON FUNCTION scheduled_jobs.cancel_job(text) IS
	'cancel a pending job by job_key; true if one was cancelled, false if no such pending job is visible';

CREATE FUNCTION scheduled_jobs.reschedule_job(job_id bigint, run_at timestamptz)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_reschedule_job_by_id';
COMMENT ON FUNCTION scheduled_jobs.reschedule_job(bigint, timestamptz) IS
	'move a pending job to run_at; true if it was moved, false if no such pending job is visible';

CREATE FUNCTION scheduled_jobs.reschedule_job(job_key text, run_at timestamptz)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_reschedule_job_by_key';
COMMENT ON FUNCTION scheduled_jobs.reschedule_job(text, timestamptz) IS
	'move the pending job with this job_key to run_at; true if it was moved, false if no such pending job is visible';

-- Who may schedule: nobody but the owner until an administrator grants it,
-- e.g. GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO app.
REVOKE ALL ON FUNCTION
	scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean),
	scheduled_jobs.cancel_job(bigint),
	scheduled_jobs.cancel_job(text),
	scheduled_jobs.reschedule_job(bigint, timestamptz),
	scheduled_jobs.reschedule_job(text, timestamptz)
FROM PUBLIC;
