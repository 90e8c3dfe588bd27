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
-- Jobs in flight (0.4.0), in two indexes by whether a consumer holds them:
-- firing a job on an acknowledged channel enters jobs_unleased alone
-- besides jobs_pkey and jobs_notify_run_at (it entered two with 0.3.0's
-- jobs_in_flight, of all jobs in flight), and an empty claim() is one
-- probe, however many jobs consumers hold.  unacknowledged() and the
-- channels view read both.
DROP INDEX scheduled_jobs.jobs_in_flight;
CREATE INDEX jobs_unleased ON scheduled_jobs.jobs (channel, due_at)
	WHERE due_at IS NOT NULL AND lease_until IS NULL;
CREATE INDEX jobs_leased ON scheduled_jobs.jobs (channel, due_at)
	WHERE due_at IS NOT NULL AND lease_until IS NOT NULL;
COMMENT ON INDEX scheduled_jobs.jobs_unleased IS 'jobs in flight that no consumer holds, for claim()';
COMMENT ON INDEX scheduled_jobs.jobs_leased IS 'jobs in flight that a consumer holds';
-- (in_flight counts both: no index holds due_at IS NOT NULL alone now)
-- (in_flight and dead_letters: of the jobs the caller may see, by the
-- policies of jobs and job_history, as the invoker)
CREATE OR REPLACE VIEW scheduled_jobs.channels WITH (security_invoker = true) AS
SELECT s.channel, s.ack_timeout, s.max_deliveries, s.dead_letter_channel, s.configured_at,
	(SELECT pg_catalog.count(*) FROM scheduled_jobs.jobs j
	 WHERE j.channel OPERATOR(pg_catalog.=) s.channel AND j.due_at IS NOT NULL AND j.lease_until IS NULL)
	OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM scheduled_jobs.jobs j
	 WHERE j.channel OPERATOR(pg_catalog.=) s.channel AND j.due_at IS NOT NULL AND j.lease_until IS NOT NULL)
	AS in_flight,
	(SELECT pg_catalog.count(*) FROM scheduled_jobs.job_history h
	 WHERE h.channel OPERATOR(pg_catalog.=) s.channel AND h.state OPERATOR(pg_catalog.=) 'dead') AS dead_letters,
	(SELECT pg_catalog.array_agg(g.consumer ORDER BY g.consumer::pg_catalog.text) FROM scheduled_jobs.channel_grants g
	 WHERE g.channel OPERATOR(pg_catalog.=) s.channel) AS consumers
FROM scheduled_jobs.channel_settings s;
COMMENT ON VIEW scheduled_jobs.channels IS
	'acknowledged channels with their settings, counts of jobs in flight and of dead letters (of the jobs the caller may see), and their consumers';
COMMENT ON COLUMN scheduled_jobs.channels.in_flight IS 'jobs delivered and not acknowledged yet, of those the caller may see';
COMMENT ON COLUMN scheduled_jobs.channels.dead_letters IS 'jobs kept as dead letters in job_history (state dead), of those the caller may see';
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

-- Statistics (0.4.0).  Whoever moves a job to job_history counts it
-- (src/stats.c) in a row of job_stats per target, schedule, writer and 10
-- seconds; the scheduler folds those rows into minute and hour rows and
-- deletes hour rows older than a day.  The view stats reads them.
CREATE FUNCTION scheduled_jobs.histogram_merge(a bytea, b bytea)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sj_histogram_merge';
COMMENT ON FUNCTION scheduled_jobs.histogram_merge(bytea, bytea) IS
	'the histogram of durations (job_stats.lag, job_stats.run) of both; NULL is empty';
CREATE FUNCTION scheduled_jobs.histogram_accum(state internal, histogram bytea)
RETURNS internal
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sj_histogram_accum';
COMMENT ON FUNCTION scheduled_jobs.histogram_accum(internal, bytea) IS
	'transition function of histogram_sum: adds a histogram to every bucket''s count';
CREATE FUNCTION scheduled_jobs.histogram_final(state internal)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sj_histogram_final';
COMMENT ON FUNCTION scheduled_jobs.histogram_final(internal) IS
	'final function of histogram_sum: the histogram of the counts';
CREATE AGGREGATE scheduled_jobs.histogram_sum(bytea) (
	SFUNC = scheduled_jobs.histogram_accum,
	STYPE = internal,
	FINALFUNC = scheduled_jobs.histogram_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE scheduled_jobs.histogram_sum(bytea) IS
	'the histogram of durations of all the rows';
CREATE FUNCTION scheduled_jobs.last_by_accum(state internal, value text, at timestamptz)
RETURNS internal
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sj_last_by_accum';
COMMENT ON FUNCTION scheduled_jobs.last_by_accum(internal, text, timestamptz) IS
	'transition function of last_by: keeps the value of the latest at';
CREATE FUNCTION scheduled_jobs.last_by_final(state internal)
RETURNS text
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sj_last_by_final';
COMMENT ON FUNCTION scheduled_jobs.last_by_final(internal) IS
	'final function of last_by: the value kept';
CREATE AGGREGATE scheduled_jobs.last_by(text, timestamptz) (
	SFUNC = scheduled_jobs.last_by_accum,
	STYPE = internal,
	FINALFUNC = scheduled_jobs.last_by_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE scheduled_jobs.last_by(text, timestamptz) IS
	'the value of the row with the latest at (rows with a NULL at are skipped)';
CREATE FUNCTION scheduled_jobs.histogram_percentile(histogram bytea, fraction float8)
RETURNS interval
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sj_histogram_percentile';
COMMENT ON FUNCTION scheduled_jobs.histogram_percentile(bytea, float8) IS
	'the duration under which that fraction (0 to 1) of the histogram''s durations falls, within 12.5%';

CREATE TABLE scheduled_jobs.job_stats (
	bucket timestamptz NOT NULL,
	seconds integer NOT NULL,
	kind text NOT NULL,
	target text NOT NULL,
	schedule_id bigint NOT NULL,
	writer integer NOT NULL,
	fired bigint NOT NULL,
	succeeded bigint NOT NULL,
	failed bigint NOT NULL,
	cancelled bigint NOT NULL,
	expired bigint NOT NULL,
	dead bigint NOT NULL,
	lag bytea,
	lag_max interval,
	run bytea,
	run_max interval,
	last_error text,
	last_error_at timestamptz,
	PRIMARY KEY (bucket, seconds, kind, target, schedule_id, writer)
) WITH (fillfactor = 50);
-- (room on the page: a row is updated in place while its 10 seconds last)
ALTER TABLE scheduled_jobs.job_stats SET (autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05);
COMMENT ON TABLE scheduled_jobs.job_stats IS
	'finished jobs counted per target, schedule, writer and time bucket; read it through scheduled_jobs.stats';
COMMENT ON COLUMN scheduled_jobs.job_stats.bucket IS 'start of the time bucket, by finished_at';
COMMENT ON COLUMN scheduled_jobs.job_stats.seconds IS
	'width of the bucket: 10 seconds, folded into 60 after a minute and into 3600 after an hour; deleted after a day';
COMMENT ON COLUMN scheduled_jobs.job_stats.kind IS 'channel, procedure or command';
COMMENT ON COLUMN scheduled_jobs.job_stats.target IS
	'the channel, the procedure, or the first 200 characters of the command';
COMMENT ON COLUMN scheduled_jobs.job_stats.schedule_id IS 'the schedule of the jobs, 0 for one-off jobs';
COMMENT ON COLUMN scheduled_jobs.job_stats.writer IS
	'the proc number + 1 of the backend that wrote the row (0: folded; negative: a prepared transaction), so that no two backends share a row';
COMMENT ON COLUMN scheduled_jobs.job_stats.fired IS 'jobs that fired (NOTIFYed or called)';
COMMENT ON COLUMN scheduled_jobs.job_stats.succeeded IS
	'jobs that succeeded, were NOTIFYed on a plain channel, or acknowledged';
COMMENT ON COLUMN scheduled_jobs.job_stats.failed IS 'jobs whose last attempt failed';
COMMENT ON COLUMN scheduled_jobs.job_stats.cancelled IS 'jobs cancelled';
COMMENT ON COLUMN scheduled_jobs.job_stats.expired IS 'jobs that reached their expires_at unfired';
COMMENT ON COLUMN scheduled_jobs.job_stats.dead IS 'dead letters: last delivery unacknowledged';
COMMENT ON COLUMN scheduled_jobs.job_stats.lag IS 'histogram of fired_at - run_at of the jobs that fired';
COMMENT ON COLUMN scheduled_jobs.job_stats.lag_max IS 'the largest lag';
COMMENT ON COLUMN scheduled_jobs.job_stats.run IS
	'histogram of finished_at - fired_at of the procedure and command jobs that ran';
COMMENT ON COLUMN scheduled_jobs.job_stats.run_max IS 'the longest run';
COMMENT ON COLUMN scheduled_jobs.job_stats.last_error IS
	'message of the last failed attempt, its first 1000 characters (job_history keeps it whole)';
COMMENT ON COLUMN scheduled_jobs.job_stats.last_error_at IS 'when it failed';
REVOKE ALL ON scheduled_jobs.job_stats FROM PUBLIC;

CREATE VIEW scheduled_jobs.stats AS
WITH r AS (
	-- the rows of the last day, which windows each is in (computed once a
	-- row: OFFSET 0 keeps the subquery from being merged into the next)
	SELECT s.kind, s.target, s.schedule_id, s.fired, s.succeeded, s.failed, s.cancelled,
		s.expired, s.dead, s.lag, s.lag_max, s.run, s.run_max, s.last_error, s.last_error_at,
		s.bucket OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-)
			pg_catalog.make_interval(secs => s.seconds OPERATOR(pg_catalog.+) 60)) AS m,
		s.bucket OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-)
			pg_catalog.make_interval(secs => s.seconds OPERATOR(pg_catalog.+) 3600)) AS h
	FROM scheduled_jobs.job_stats s
	WHERE s.bucket OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) '25 hours'::pg_catalog.interval)
		AND s.bucket OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-)
			pg_catalog.make_interval(secs => s.seconds OPERATOR(pg_catalog.+) 86400))
	OFFSET 0
),
a AS (
	-- by target and schedule: a few rows, which done adds up two ways
	SELECT r.kind, r.target, r.schedule_id,
		pg_catalog.sum(r.fired) FILTER (WHERE r.m) AS fired_1m,
		pg_catalog.sum(r.succeeded) FILTER (WHERE r.m) AS succeeded_1m,
		pg_catalog.sum(r.failed) FILTER (WHERE r.m) AS failed_1m,
		pg_catalog.sum(r.cancelled) FILTER (WHERE r.m) AS cancelled_1m,
		pg_catalog.sum(r.expired) FILTER (WHERE r.m) AS expired_1m,
		pg_catalog.sum(r.dead) FILTER (WHERE r.m) AS dead_1m,
		scheduled_jobs.histogram_sum(r.lag) FILTER (WHERE r.m) AS lag_1m,
		pg_catalog.max(r.lag_max) FILTER (WHERE r.m) AS lag_max_1m,
		scheduled_jobs.histogram_sum(r.run) FILTER (WHERE r.m) AS run_1m,
		pg_catalog.max(r.run_max) FILTER (WHERE r.m) AS run_max_1m,
		pg_catalog.sum(r.fired) FILTER (WHERE r.h) AS fired_1h,
		pg_catalog.sum(r.succeeded) FILTER (WHERE r.h) AS succeeded_1h,
		pg_catalog.sum(r.failed) FILTER (WHERE r.h) AS failed_1h,
		pg_catalog.sum(r.cancelled) FILTER (WHERE r.h) AS cancelled_1h,
		pg_catalog.sum(r.expired) FILTER (WHERE r.h) AS expired_1h,
		pg_catalog.sum(r.dead) FILTER (WHERE r.h) AS dead_1h,
		scheduled_jobs.histogram_sum(r.lag) FILTER (WHERE r.h) AS lag_1h,
		pg_catalog.max(r.lag_max) FILTER (WHERE r.h) AS lag_max_1h,
		scheduled_jobs.histogram_sum(r.run) FILTER (WHERE r.h) AS run_1h,
		pg_catalog.max(r.run_max) FILTER (WHERE r.h) AS run_max_1h,
		pg_catalog.sum(r.fired) AS fired_1d,
		pg_catalog.sum(r.succeeded) AS succeeded_1d,
		pg_catalog.sum(r.failed) AS failed_1d,
		pg_catalog.sum(r.cancelled) AS cancelled_1d,
		pg_catalog.sum(r.expired) AS expired_1d,
		pg_catalog.sum(r.dead) AS dead_1d,
		scheduled_jobs.histogram_sum(r.lag) AS lag_1d,
		pg_catalog.max(r.lag_max) AS lag_max_1d,
		scheduled_jobs.histogram_sum(r.run) AS run_1d,
		pg_catalog.max(r.run_max) AS run_max_1d,
		scheduled_jobs.last_by(r.last_error, r.last_error_at) AS last_error,
		pg_catalog.max(r.last_error_at) AS last_error_at
	FROM r
	GROUP BY r.kind, r.target, r.schedule_id
),
done AS (
	SELECT CASE WHEN GROUPING(a.kind, a.target) OPERATOR(pg_catalog.=) 0 THEN a.kind
			ELSE 'schedule' END AS kind,
		COALESCE(a.target, '') AS target, COALESCE(a.schedule_id, 0) AS schedule_id,
		pg_catalog.sum(a.fired_1m) AS fired_1m,
		pg_catalog.sum(a.succeeded_1m) AS succeeded_1m,
		pg_catalog.sum(a.failed_1m) AS failed_1m,
		pg_catalog.sum(a.cancelled_1m) AS cancelled_1m,
		pg_catalog.sum(a.expired_1m) AS expired_1m,
		pg_catalog.sum(a.dead_1m) AS dead_1m,
		scheduled_jobs.histogram_sum(a.lag_1m) AS lag_1m,
		pg_catalog.max(a.lag_max_1m) AS lag_max_1m,
		scheduled_jobs.histogram_sum(a.run_1m) AS run_1m,
		pg_catalog.max(a.run_max_1m) AS run_max_1m,
		pg_catalog.sum(a.fired_1h) AS fired_1h,
		pg_catalog.sum(a.succeeded_1h) AS succeeded_1h,
		pg_catalog.sum(a.failed_1h) AS failed_1h,
		pg_catalog.sum(a.cancelled_1h) AS cancelled_1h,
		pg_catalog.sum(a.expired_1h) AS expired_1h,
		pg_catalog.sum(a.dead_1h) AS dead_1h,
		scheduled_jobs.histogram_sum(a.lag_1h) AS lag_1h,
		pg_catalog.max(a.lag_max_1h) AS lag_max_1h,
		scheduled_jobs.histogram_sum(a.run_1h) AS run_1h,
		pg_catalog.max(a.run_max_1h) AS run_max_1h,
		pg_catalog.sum(a.fired_1d) AS fired_1d,
		pg_catalog.sum(a.succeeded_1d) AS succeeded_1d,
		pg_catalog.sum(a.failed_1d) AS failed_1d,
		pg_catalog.sum(a.cancelled_1d) AS cancelled_1d,
		pg_catalog.sum(a.expired_1d) AS expired_1d,
		pg_catalog.sum(a.dead_1d) AS dead_1d,
		scheduled_jobs.histogram_sum(a.lag_1d) AS lag_1d,
		pg_catalog.max(a.lag_max_1d) AS lag_max_1d,
		scheduled_jobs.histogram_sum(a.run_1d) AS run_1d,
		pg_catalog.max(a.run_max_1d) AS run_max_1d,
		scheduled_jobs.last_by(a.last_error, a.last_error_at) AS last_error,
		pg_catalog.max(a.last_error_at) AS last_error_at
	FROM a
	GROUP BY GROUPING SETS ((a.kind, a.target), (a.schedule_id))
	HAVING GROUPING(a.kind, a.target) OPERATOR(pg_catalog.=) 0
		OR a.schedule_id OPERATOR(pg_catalog.<>) 0
),
j AS (
	SELECT CASE WHEN j.channel IS NOT NULL THEN 'channel' WHEN j.procedure IS NOT NULL THEN 'procedure'
			ELSE 'command' END AS kind,
		COALESCE(j.channel, j.procedure, pg_catalog.left(j.command, 200)) AS target,
		COALESCE(j.schedule_id, 0) AS schedule_id, j.run_at, j.due_at
	FROM scheduled_jobs.jobs j
),
pending AS (
	SELECT CASE WHEN GROUPING(j.kind, j.target) OPERATOR(pg_catalog.=) 0 THEN j.kind
			ELSE 'schedule' END AS kind,
		COALESCE(j.target, '') AS target, COALESCE(j.schedule_id, 0) AS schedule_id,
		pg_catalog.count(*) AS pending,
		pg_catalog.min(j.run_at) FILTER (WHERE j.due_at IS NULL
			AND j.run_at OPERATOR(pg_catalog.<=) pg_catalog.now()) AS oldest_due_at
	FROM j
	GROUP BY GROUPING SETS ((j.kind, j.target), (j.schedule_id))
	HAVING GROUPING(j.kind, j.target) OPERATOR(pg_catalog.=) 0
		OR j.schedule_id OPERATOR(pg_catalog.<>) 0
)
SELECT COALESCE(d.kind, p.kind) AS kind,
	CASE WHEN COALESCE(d.kind, p.kind) OPERATOR(pg_catalog.=) 'schedule'
		THEN COALESCE((SELECT r.name FROM scheduled_jobs.schedule_rules r
			WHERE r.id OPERATOR(pg_catalog.=) COALESCE(d.schedule_id, p.schedule_id)),
			'#' OPERATOR(pg_catalog.||) COALESCE(d.schedule_id, p.schedule_id))
		ELSE COALESCE(d.target, p.target) END AS target,
	COALESCE(d.fired_1m, 0)::bigint AS fired_1m,
	COALESCE(d.succeeded_1m, 0)::bigint AS succeeded_1m,
	COALESCE(d.failed_1m, 0)::bigint AS failed_1m,
	COALESCE(d.cancelled_1m, 0)::bigint AS cancelled_1m,
	COALESCE(d.expired_1m, 0)::bigint AS expired_1m,
	COALESCE(d.dead_1m, 0)::bigint AS dead_1m,
	LEAST(scheduled_jobs.histogram_percentile(d.lag_1m, 0.5), d.lag_max_1m) AS lag_p50_1m,
	LEAST(scheduled_jobs.histogram_percentile(d.lag_1m, 0.99), d.lag_max_1m) AS lag_p99_1m,
	d.lag_max_1m,
	LEAST(scheduled_jobs.histogram_percentile(d.run_1m, 0.5), d.run_max_1m) AS run_p50_1m,
	LEAST(scheduled_jobs.histogram_percentile(d.run_1m, 0.99), d.run_max_1m) AS run_p99_1m,
	d.run_max_1m,
	COALESCE(d.fired_1h, 0)::bigint AS fired_1h,
	COALESCE(d.succeeded_1h, 0)::bigint AS succeeded_1h,
	COALESCE(d.failed_1h, 0)::bigint AS failed_1h,
	COALESCE(d.cancelled_1h, 0)::bigint AS cancelled_1h,
	COALESCE(d.expired_1h, 0)::bigint AS expired_1h,
	COALESCE(d.dead_1h, 0)::bigint AS dead_1h,
	LEAST(scheduled_jobs.histogram_percentile(d.lag_1h, 0.5), d.lag_max_1h) AS lag_p50_1h,
	LEAST(scheduled_jobs.histogram_percentile(d.lag_1h, 0.99), d.lag_max_1h) AS lag_p99_1h,
	d.lag_max_1h,
	LEAST(scheduled_jobs.histogram_percentile(d.run_1h, 0.5), d.run_max_1h) AS run_p50_1h,
	LEAST(scheduled_jobs.histogram_percentile(d.run_1h, 0.99), d.run_max_1h) AS run_p99_1h,
	d.run_max_1h,
	COALESCE(d.fired_1d, 0)::bigint AS fired_1d,
	COALESCE(d.succeeded_1d, 0)::bigint AS succeeded_1d,
	COALESCE(d.failed_1d, 0)::bigint AS failed_1d,
	COALESCE(d.cancelled_1d, 0)::bigint AS cancelled_1d,
	COALESCE(d.expired_1d, 0)::bigint AS expired_1d,
	COALESCE(d.dead_1d, 0)::bigint AS dead_1d,
	LEAST(scheduled_jobs.histogram_percentile(d.lag_1d, 0.5), d.lag_max_1d) AS lag_p50_1d,
	LEAST(scheduled_jobs.histogram_percentile(d.lag_1d, 0.99), d.lag_max_1d) AS lag_p99_1d,
	d.lag_max_1d,
	LEAST(scheduled_jobs.histogram_percentile(d.run_1d, 0.5), d.run_max_1d) AS run_p50_1d,
	LEAST(scheduled_jobs.histogram_percentile(d.run_1d, 0.99), d.run_max_1d) AS run_p99_1d,
	d.run_max_1d,
	d.last_error,
	d.last_error_at,
	COALESCE(p.pending, 0) AS pending,
	pg_catalog.now() OPERATOR(pg_catalog.-) p.oldest_due_at AS backlog_age
FROM done d FULL JOIN pending p ON p.kind OPERATOR(pg_catalog.=) d.kind
	AND p.target OPERATOR(pg_catalog.=) d.target AND p.schedule_id OPERATOR(pg_catalog.=) d.schedule_id;
COMMENT ON VIEW scheduled_jobs.stats IS
	'one row per target (channel, procedure, command, schedule) with finished jobs in the last day or pending jobs: over the last minute (_1m), hour (_1h) and day (_1d), jobs fired, succeeded, failed, cancelled, expired and dead; lag (fired - due) and run time p50, p99 and max; the last error; pending jobs and the age of the oldest due but unfired';
COMMENT ON COLUMN scheduled_jobs.stats.kind IS 'channel, procedure, command or schedule';
COMMENT ON COLUMN scheduled_jobs.stats.target IS
	'the channel, the procedure, the first 200 characters of the command, or the schedule''s name (#id once dropped)';
COMMENT ON COLUMN scheduled_jobs.stats.fired_1m IS 'jobs fired (NOTIFYed or called) that finished in the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.succeeded_1m IS
	'jobs that succeeded, were NOTIFYed on a plain channel or acknowledged, in the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.failed_1m IS 'jobs whose last attempt failed, in the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.cancelled_1m IS 'jobs cancelled in the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.expired_1m IS 'jobs that reached their expires_at unfired, in the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.dead_1m IS 'dead letters of the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.lag_p50_1m IS 'median lag (fired_at - run_at) of the jobs fired, in the last minute, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.lag_p99_1m IS '99th percentile of the lag, in the last minute, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.lag_max_1m IS 'the largest lag, in the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.run_p50_1m IS
	'median run time (finished_at - fired_at) of procedure and command jobs, in the last minute, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.run_p99_1m IS '99th percentile of the run time, in the last minute, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.run_max_1m IS 'the longest run, in the last minute';
COMMENT ON COLUMN scheduled_jobs.stats.fired_1h IS 'jobs fired (NOTIFYed or called) that finished in the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.succeeded_1h IS
	'jobs that succeeded, were NOTIFYed on a plain channel or acknowledged, in the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.failed_1h IS 'jobs whose last attempt failed, in the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.cancelled_1h IS 'jobs cancelled in the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.expired_1h IS 'jobs that reached their expires_at unfired, in the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.dead_1h IS 'dead letters of the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.lag_p50_1h IS 'median lag (fired_at - run_at) of the jobs fired, in the last hour, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.lag_p99_1h IS '99th percentile of the lag, in the last hour, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.lag_max_1h IS 'the largest lag, in the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.run_p50_1h IS
	'median run time (finished_at - fired_at) of procedure and command jobs, in the last hour, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.run_p99_1h IS '99th percentile of the run time, in the last hour, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.run_max_1h IS 'the longest run, in the last hour';
COMMENT ON COLUMN scheduled_jobs.stats.fired_1d IS 'jobs fired (NOTIFYed or called) that finished in the last day';
COMMENT ON COLUMN scheduled_jobs.stats.succeeded_1d IS
	'jobs that succeeded, were NOTIFYed on a plain channel or acknowledged, in the last day';
COMMENT ON COLUMN scheduled_jobs.stats.failed_1d IS 'jobs whose last attempt failed, in the last day';
COMMENT ON COLUMN scheduled_jobs.stats.cancelled_1d IS 'jobs cancelled in the last day';
COMMENT ON COLUMN scheduled_jobs.stats.expired_1d IS 'jobs that reached their expires_at unfired, in the last day';
COMMENT ON COLUMN scheduled_jobs.stats.dead_1d IS 'dead letters of the last day';
COMMENT ON COLUMN scheduled_jobs.stats.lag_p50_1d IS 'median lag (fired_at - run_at) of the jobs fired, in the last day, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.lag_p99_1d IS '99th percentile of the lag, in the last day, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.lag_max_1d IS 'the largest lag, in the last day';
COMMENT ON COLUMN scheduled_jobs.stats.run_p50_1d IS
	'median run time (finished_at - fired_at) of procedure and command jobs, in the last day, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.run_p99_1d IS '99th percentile of the run time, in the last day, within 12.5%';
COMMENT ON COLUMN scheduled_jobs.stats.run_max_1d IS 'the longest run, in the last day';
COMMENT ON COLUMN scheduled_jobs.stats.last_error IS
	'message of the last failed attempt in the last day, its first 1000 characters';
COMMENT ON COLUMN scheduled_jobs.stats.last_error_at IS 'when it failed';
COMMENT ON COLUMN scheduled_jobs.stats.pending IS 'jobs pending now (in flight on an acknowledged channel included)';
COMMENT ON COLUMN scheduled_jobs.stats.backlog_age IS
	'age of the oldest job due but not fired (a procedure job running now counts until it finishes); NULL: none';
REVOKE ALL ON scheduled_jobs.stats FROM PUBLIC;
GRANT SELECT ON scheduled_jobs.stats TO pg_monitor;
