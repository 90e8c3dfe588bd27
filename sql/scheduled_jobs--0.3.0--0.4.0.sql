\echo Use "ALTER EXTENSION scheduled_jobs UPDATE TO '0.4.0'" to load this file. \quit

-- 0.4.0: recurring schedules.

ALTER TABLE scheduled_jobs.jobs
	ADD COLUMN schedule_id bigint,
	ADD COLUMN occurrence_at timestamptz,
	ADD COLUMN expires_at timestamptz,
	ADD COLUMN command text;
COMMENT ON COLUMN scheduled_jobs.jobs.schedule_id IS
	'recurring schedules: the schedule (schedule_rules.id) this job is an occurrence of';
COMMENT ON COLUMN scheduled_jobs.jobs.occurrence_at IS
	'recurring schedules: the nominal instant of this occurrence';
COMMENT ON COLUMN scheduled_jobs.jobs.expires_at IS
	'firing deadline: not fired by then, the job is kept in job_history as expired and never fires';
COMMENT ON COLUMN scheduled_jobs.jobs.command IS
	'SQL text run as the owner, for command jobs';
-- executor jobs are those that are not NOTIFY jobs: procedures and commands
DROP INDEX scheduled_jobs.jobs_call_run_at;
CREATE INDEX jobs_call_run_at ON scheduled_jobs.jobs (run_at)
	WHERE channel IS NULL;

ALTER TABLE scheduled_jobs.job_history
	ADD COLUMN schedule_id bigint,
	ADD COLUMN occurrence_at timestamptz,
	ADD COLUMN expires_at timestamptz,
	ADD COLUMN command text;
COMMENT ON COLUMN scheduled_jobs.job_history.schedule_id IS
	'recurring schedules: the schedule this job was an occurrence of';
COMMENT ON COLUMN scheduled_jobs.job_history.occurrence_at IS
	'recurring schedules: the nominal instant of the occurrence';
COMMENT ON COLUMN scheduled_jobs.job_history.expires_at IS 'the firing deadline the job had';
COMMENT ON COLUMN scheduled_jobs.job_history.command IS 'SQL text run, for command jobs';
ALTER TABLE scheduled_jobs.job_history DROP CONSTRAINT job_history_state;
ALTER TABLE scheduled_jobs.job_history ADD CONSTRAINT job_history_state CHECK
	(state OPERATOR(pg_catalog.=) ANY (ARRAY['notified', 'succeeded', 'failed', 'cancelled', 'acknowledged', 'dead', 'expired']::text[]));
COMMENT ON COLUMN scheduled_jobs.job_history.state IS
	'notified (NOTIFY sent), succeeded (procedure committed), failed (attempts exhausted), cancelled, acknowledged (by a consumer), dead (max_deliveries without acknowledgement), expired (not fired by expires_at)';

-- schedule_job() gains expires_at.  A new signature is a new function: the
-- EXECUTE privileges granted on the old one are carried over to it.
DO $$
DECLARE
	acl aclitem[];
	g record;
BEGIN
	SELECT p.proacl INTO acl FROM pg_catalog.pg_proc p
	WHERE p.oid OPERATOR(pg_catalog.=) 'scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean)'::pg_catalog.regprocedure;
	DROP FUNCTION scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean);
	CREATE FUNCTION scheduled_jobs.schedule_job(
		run_at timestamptz,
		channel text DEFAULT NULL,
		procedure text DEFAULT NULL,
		payload jsonb DEFAULT '{}',
		job_key text DEFAULT NULL,
		max_attempts integer DEFAULT 3,
		timeout interval DEFAULT NULL,
		group_commit boolean DEFAULT false,
		expires_at timestamptz DEFAULT NULL,
		command text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE C VOLATILE PARALLEL UNSAFE
	AS 'MODULE_PATHNAME', 'sj_schedule_job';
	COMMENT ON FUNCTION scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean, timestamptz, text) IS
		'schedule a job at run_at: NOTIFY channel, CALL procedure(payload) or run command, never after expires_at; a pending job_key is replaced; returns the job id';
	REVOKE ALL ON FUNCTION
		scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean, timestamptz, text)
	FROM PUBLIC;
	FOR g IN SELECT a.grantee, a.is_grantable FROM pg_catalog.aclexplode(acl) a
			 WHERE a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
			   AND a.grantee OPERATOR(pg_catalog.<>) a.grantor LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean, timestamptz, text) TO %s%s',
			CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE g.grantee::pg_catalog.regrole::pg_catalog.text END,
			CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
END $$;

-- a redriven dead letter stays an occurrence of its schedule
CREATE OR REPLACE FUNCTION scheduled_jobs.redrive(job_id bigint, run_at timestamptz DEFAULT pg_catalog.now())
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	BEGIN
		WITH d AS (DELETE FROM scheduled_jobs.job_history h
				   WHERE h.id OPERATOR(pg_catalog.=) redrive.job_id AND h.state OPERATOR(pg_catalog.=) 'dead'
				   RETURNING h.*)
		INSERT INTO scheduled_jobs.jobs
			(id, run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner,
			 attempts, created_at, last_error, last_error_data, schedule_id, occurrence_at)
		OVERRIDING SYSTEM VALUE
		SELECT d.id, redrive.run_at, d.channel, d.procedure, d.payload, d.job_key, d.max_attempts,
			d.timeout_ms, d.owner, 0, d.created_at, d.last_error, d.last_error_data,
			d.schedule_id, d.occurrence_at FROM d;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION USING ERRCODE = '23505',
			MESSAGE = format('cannot redrive job %s: its job_key is taken by a pending job', redrive.job_id),
			HINT = 'Cancel or reschedule the pending job with that job_key first.';
	END;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	-- the same run_at, through the function that wakes the scheduler at commit
	RETURN scheduled_jobs.reschedule_job(redrive.job_id, redrive.run_at);
END $$;

-- Recurring schedules (0.4.0).  A schedule is a rule (cron or a fixed
-- interval, in a time zone) and a target; it materialises its next
-- occurrence as an ordinary pending job of scheduled_jobs.jobs (schedule_id,
-- occurrence_at), and the transaction that fires that job (or finishes it,
-- for a procedure job) inserts the next one (src/occurrence.c).  job_id
-- names the pending occurrence the schedule waits for: only the job it
-- names may advance the schedule, so every occurrence is materialised once.
CREATE TABLE scheduled_jobs.schedule_rules (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL,
	owner regrole NOT NULL,
	cron text,
	every interval,
	time_zone text NOT NULL,
	start_at timestamptz NOT NULL,
	channel text,
	procedure text,
	command text,
	payload jsonb NOT NULL,
	max_attempts integer NOT NULL,
	timeout_ms integer,
	catch_up text NOT NULL,
	catch_up_limit integer NOT NULL,
	overlap text NOT NULL,
	expires_after interval,
	paused_at timestamptz,
	job_id bigint,
	next_at timestamptz,
	runs bigint NOT NULL DEFAULT 0,
	skipped bigint NOT NULL DEFAULT 0,
	last_at timestamptz,
	last_state text,
	last_finished_at timestamptz,
	last_error text,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT schedule_rules_name UNIQUE (owner, name),
	CONSTRAINT schedule_rules_rule CHECK ((cron IS NULL) OPERATOR(pg_catalog.<>) (every IS NULL)),
	CONSTRAINT schedule_rules_target CHECK (pg_catalog.num_nonnulls(channel, procedure, command) OPERATOR(pg_catalog.=) 1),
	CONSTRAINT schedule_rules_catch_up CHECK
		(catch_up OPERATOR(pg_catalog.=) ANY (ARRAY['latest', 'all', 'none']::text[])),
	CONSTRAINT schedule_rules_overlap CHECK
		(overlap OPERATOR(pg_catalog.=) ANY (ARRAY['wait', 'skip', 'concurrent']::text[]))
);
-- delivered jobs nobody holds, for claim() (0.4.0): an empty claim is one
-- probe, however many jobs consumers hold
CREATE INDEX jobs_unleased ON scheduled_jobs.jobs (channel, due_at)
	WHERE due_at IS NOT NULL AND lease_until IS NULL;
CREATE INDEX jobs_schedule_id ON scheduled_jobs.jobs (schedule_id)
	WHERE schedule_id IS NOT NULL;
-- No index holds a column that firing changes (job_id, next_at, the
-- counters), so that advancing a schedule is a HOT update, in place.
CREATE INDEX schedule_rules_concurrent ON scheduled_jobs.schedule_rules (id)
	WHERE overlap OPERATOR(pg_catalog.=) 'concurrent';
ALTER TABLE scheduled_jobs.schedule_rules SET (fillfactor = 50);
COMMENT ON TABLE scheduled_jobs.schedule_rules IS
	'recurring schedules: rule, target and state; written by create_schedule() and by the firing of each occurrence; read it through the view schedules';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.id IS 'schedule id, returned by create_schedule()';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.name IS 'name, unique per owner';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.owner IS 'role that created the schedule and that its occurrences run as';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.cron IS 'cron expression, or NULL for a fixed interval';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.every IS 'fixed interval between occurrences, from start_at, or NULL for cron';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.time_zone IS 'time zone the rule is read in';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.start_at IS 'no occurrence before it; the first occurrence of a fixed interval';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.channel IS 'NOTIFY channel, for NOTIFY schedules';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.procedure IS 'procedure called, for procedure schedules';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.command IS 'SQL text run, for command schedules';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.payload IS 'payload of every occurrence';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.max_attempts IS 'procedure schedules: attempts of each occurrence';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.timeout_ms IS 'procedure schedules: statement timeout of each attempt in milliseconds';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.catch_up IS
	'occurrences missed (server down, backlog): latest (one late run for them), all (each, in order, up to catch_up_limit), none (skipped)';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.catch_up_limit IS 'catch_up all: most missed occurrences run; older ones are skipped';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.overlap IS
	'procedure schedules, an occurrence due while the previous one runs: wait (later ones coalesce into one), skip, concurrent';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.expires_after IS 'firing deadline of each occurrence after its nominal instant, or NULL';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.paused_at IS 'when pause_schedule() paused it, or NULL';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.job_id IS 'the pending occurrence (scheduled_jobs.jobs.id) the schedule waits for';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.next_at IS 'nominal instant of that occurrence';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.runs IS 'occurrences fired';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.skipped IS 'occurrences not fired: missed (catch_up), overlapping, paused, expired or cancelled';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.last_at IS 'nominal instant of the last occurrence fired';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.last_state IS 'outcome of the last occurrence: a job_history state';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.last_finished_at IS 'when the last occurrence finished';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.last_error IS 'error of the last occurrence that failed';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.created_at IS 'when the schedule was created';
COMMENT ON COLUMN scheduled_jobs.schedule_rules.updated_at IS 'when its rule was last replaced, paused or resumed';
COMMENT ON INDEX scheduled_jobs.jobs_schedule_id IS 'the pending occurrences of a schedule';
COMMENT ON INDEX scheduled_jobs.schedule_rules_concurrent IS
	'schedules whose next occurrence is materialised when the previous one starts';

REVOKE ALL ON scheduled_jobs.schedule_rules FROM PUBLIC;
GRANT SELECT ON scheduled_jobs.schedule_rules TO PUBLIC;
ALTER TABLE scheduled_jobs.schedule_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY schedule_rules_owner ON scheduled_jobs.schedule_rules FOR SELECT
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
COMMENT ON POLICY schedule_rules_owner ON scheduled_jobs.schedule_rules IS
	'a role sees the schedules of the roles it is a member of';
SELECT pg_catalog.pg_extension_config_dump('scheduled_jobs.schedule_rules', '');
SELECT pg_catalog.pg_extension_config_dump('scheduled_jobs.schedule_rules_id_seq', '');

CREATE VIEW scheduled_jobs.schedules WITH (security_invoker = true) AS
SELECT r.id, r.name, r.owner, r.cron, r.every, r.time_zone,
	r.channel, r.procedure, r.command, r.payload, r.catch_up, r.overlap,
	r.paused_at IS NOT NULL AS paused,
	r.next_at AS next_occurrence, j.run_at AS next_run_at,
	r.last_at AS last_occurrence, r.last_state, r.last_finished_at, r.last_error,
	r.runs, r.skipped, r.created_at, r.updated_at
FROM scheduled_jobs.schedule_rules r
LEFT JOIN scheduled_jobs.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id;
COMMENT ON VIEW scheduled_jobs.schedules IS
	'recurring schedules visible to the caller: rule, zone, next occurrence, last outcome, counts';
GRANT SELECT ON scheduled_jobs.schedules TO PUBLIC;
COMMENT ON COLUMN scheduled_jobs.schedules.id IS 'schedule id';
COMMENT ON COLUMN scheduled_jobs.schedules.name IS 'name, unique per owner';
COMMENT ON COLUMN scheduled_jobs.schedules.owner IS 'role that owns the schedule';
COMMENT ON COLUMN scheduled_jobs.schedules.cron IS 'cron expression, or NULL';
COMMENT ON COLUMN scheduled_jobs.schedules.every IS 'fixed interval, or NULL';
COMMENT ON COLUMN scheduled_jobs.schedules.time_zone IS 'time zone of the rule';
COMMENT ON COLUMN scheduled_jobs.schedules.channel IS 'NOTIFY channel, or NULL';
COMMENT ON COLUMN scheduled_jobs.schedules.procedure IS 'procedure called, or NULL';
COMMENT ON COLUMN scheduled_jobs.schedules.command IS 'SQL text run, or NULL';
COMMENT ON COLUMN scheduled_jobs.schedules.payload IS 'payload of every occurrence';
COMMENT ON COLUMN scheduled_jobs.schedules.catch_up IS 'policy for missed occurrences: latest, all, none';
COMMENT ON COLUMN scheduled_jobs.schedules.overlap IS 'policy for overlapping runs: wait, skip, concurrent';
COMMENT ON COLUMN scheduled_jobs.schedules.paused IS 'paused by pause_schedule()';
COMMENT ON COLUMN scheduled_jobs.schedules.next_occurrence IS 'nominal instant of the next occurrence (NULL while paused)';
COMMENT ON COLUMN scheduled_jobs.schedules.next_run_at IS 'when that occurrence is due (its job''s run_at: later after a retry or reschedule_job())';
COMMENT ON COLUMN scheduled_jobs.schedules.last_occurrence IS 'nominal instant of the last occurrence fired';
COMMENT ON COLUMN scheduled_jobs.schedules.last_state IS 'outcome of the last occurrence';
COMMENT ON COLUMN scheduled_jobs.schedules.last_finished_at IS 'when the last occurrence finished';
COMMENT ON COLUMN scheduled_jobs.schedules.last_error IS 'error of the last occurrence that failed';
COMMENT ON COLUMN scheduled_jobs.schedules.runs IS 'occurrences fired';
COMMENT ON COLUMN scheduled_jobs.schedules.skipped IS 'occurrences not fired (missed, overlapping, paused, expired, cancelled)';
COMMENT ON COLUMN scheduled_jobs.schedules.created_at IS 'when the schedule was created';
COMMENT ON COLUMN scheduled_jobs.schedules.updated_at IS 'when it was last replaced, paused or resumed';

CREATE FUNCTION scheduled_jobs.create_schedule(
	name text,
	cron text DEFAULT NULL,
	every interval DEFAULT NULL,
	channel text DEFAULT NULL,
	procedure text DEFAULT NULL,
	command text DEFAULT NULL,
	payload jsonb DEFAULT '{}',
	time_zone text DEFAULT NULL,
	catch_up text DEFAULT 'latest',
	overlap text DEFAULT 'wait',
	catch_up_limit integer DEFAULT 100,
	start_at timestamptz DEFAULT NULL,
	expires_after interval DEFAULT NULL,
	max_attempts integer DEFAULT 3,
	timeout interval DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_create_schedule';
COMMENT ON FUNCTION scheduled_jobs.create_schedule(text, text, interval, text, text, text, jsonb, text, text, text, integer, timestamptz, interval, integer, interval) IS
	'create the caller''s schedule name, or replace its rule: NOTIFY channel, CALL procedure(payload) or run command, on a cron rule or every interval; returns the schedule id';

CREATE FUNCTION scheduled_jobs.drop_schedule(name text)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_drop_schedule';
COMMENT ON FUNCTION scheduled_jobs.drop_schedule(text) IS
	'drop the caller''s schedule and its pending occurrence; false if there is none';

CREATE FUNCTION scheduled_jobs.pause_schedule(name text)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_pause_schedule';
COMMENT ON FUNCTION scheduled_jobs.pause_schedule(text) IS
	'pause the caller''s schedule: its pending occurrence is withdrawn, occurrences are counted as skipped until resume; false if there is none';

CREATE FUNCTION scheduled_jobs.resume_schedule(name text, catch_up boolean DEFAULT false)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_resume_schedule';
COMMENT ON FUNCTION scheduled_jobs.resume_schedule(text, boolean) IS
	'resume the caller''s paused schedule at its next occurrence, or, with catch_up, fire what the pause missed by its catch_up policy; false if there is none';

CREATE FUNCTION scheduled_jobs.current_job()
RETURNS jsonb
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'sj_current_job_envelope';
COMMENT ON FUNCTION scheduled_jobs.current_job() IS
	'inside a procedure job: the job''s envelope (id, job_key, run_at, payload, and schedule and occurrence for a schedule''s occurrence); NULL elsewhere';

REVOKE ALL ON FUNCTION
	scheduled_jobs.create_schedule(text, text, interval, text, text, text, jsonb, text, text, text, integer, timestamptz, interval, integer, interval),
	scheduled_jobs.drop_schedule(text),
	scheduled_jobs.pause_schedule(text),
	scheduled_jobs.resume_schedule(text, boolean)
FROM PUBLIC;
-- Recurrence rules (0.4.0)
-- Pure functions of their arguments (and of TimeZone when time_zone is
-- NULL): STABLE, executable by everyone.
CREATE FUNCTION scheduled_jobs.next_occurrences(cron text, time_zone text DEFAULT NULL,
	after timestamptz DEFAULT pg_catalog.now(), n integer DEFAULT 10)
RETURNS SETOF timestamptz
LANGUAGE C STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'sj_next_occurrences_cron';
COMMENT ON FUNCTION scheduled_jobs.next_occurrences(text, text, timestamptz, integer) IS
	'the first n instants after "after" that a cron expression gives on the wall clock of time_zone (NULL: the session''s TimeZone)';

CREATE FUNCTION scheduled_jobs.next_occurrences(every interval, time_zone text DEFAULT NULL,
	after timestamptz DEFAULT pg_catalog.now(), n integer DEFAULT 10, start timestamptz DEFAULT NULL)
RETURNS SETOF timestamptz
LANGUAGE C STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'sj_next_occurrences_every';
COMMENT ON FUNCTION scheduled_jobs.next_occurrences(interval, text, timestamptz, integer, timestamptz) IS
	'the first n instants start + k * every (k >= 0; start NULL: after) after "after", added as timestamptz + interval in time_zone (NULL: the session''s TimeZone)';

GRANT EXECUTE ON FUNCTION
	scheduled_jobs.next_occurrences(text, text, timestamptz, integer),
	scheduled_jobs.next_occurrences(interval, text, timestamptz, integer, timestamptz)
TO PUBLIC;

CREATE FUNCTION scheduled_jobs.status(
	OUT database text,
	OUT scheduler_pid integer,
	OUT scheduler_state text,
	OUT last_pass_at timestamptz,
	OUT next_wakeup timestamptz,
	OUT due_jobs bigint,
	OUT oldest_due_at timestamptz,
	OUT executors_running integer,
	OUT executors_idle integer,
	OUT executors_max integer,
	OUT notify_queue_usage float8,
	OUT paused boolean,
	OUT last_error text,
	OUT last_error_at timestamptz)
RETURNS record
LANGUAGE C VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'sj_status';
COMMENT ON FUNCTION scheduled_jobs.status() IS
	'the workers of this database: scheduler pid, state, last pass and next wake-up; due jobs not fired yet and the oldest; executors running, idle and at most; NOTIFY queue usage; paused; the last error of a worker';
REVOKE ALL ON FUNCTION scheduled_jobs.status() FROM PUBLIC;
