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
	group_commit boolean NOT NULL DEFAULT false,
	due_at timestamptz,
	first_delivered_at timestamptz,
	lease_until timestamptz,
	schedule_id bigint,
	occurrence_at timestamptz,
	expires_at timestamptz,
	command text
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
	WHERE channel IS NULL;
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
COMMENT ON COLUMN scheduled_jobs.jobs.attempts IS
	'attempts made so far (deliveries, for acknowledged channels)';
COMMENT ON COLUMN scheduled_jobs.jobs.created_at IS 'when the job was scheduled';
COMMENT ON COLUMN scheduled_jobs.jobs.last_error IS 'message of the last failed attempt';
COMMENT ON COLUMN scheduled_jobs.jobs.last_error_data IS
	'the last failed attempt''s error: sqlstate, message, detail, hint, context';
COMMENT ON COLUMN scheduled_jobs.jobs.group_commit IS
	'procedure jobs: may share one commit with other such jobs, each in its own subtransaction';
COMMENT ON COLUMN scheduled_jobs.jobs.due_at IS
	'acknowledged channels: the run_at of the first delivery, while the job is in flight';
COMMENT ON COLUMN scheduled_jobs.jobs.first_delivered_at IS
	'acknowledged channels: when the job was first NOTIFYed';
COMMENT ON COLUMN scheduled_jobs.jobs.lease_until IS
	'acknowledged channels: end of the lease of the consumer that claimed the job';
COMMENT ON COLUMN scheduled_jobs.jobs.schedule_id IS
	'recurring schedules: the schedule (schedule_rules.id) this job is an occurrence of';
COMMENT ON COLUMN scheduled_jobs.jobs.occurrence_at IS
	'recurring schedules: the nominal instant of this occurrence';
COMMENT ON COLUMN scheduled_jobs.jobs.expires_at IS
	'firing deadline: not fired by then, the job is kept in job_history as expired and never fires';
COMMENT ON COLUMN scheduled_jobs.jobs.command IS
	'SQL text run as the owner, for command jobs';

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
	schedule_id bigint,
	occurrence_at timestamptz,
	expires_at timestamptz,
	command text,
	CONSTRAINT job_history_state CHECK
		(state OPERATOR(pg_catalog.=) ANY (ARRAY['notified', 'succeeded', 'failed', 'cancelled', 'acknowledged', 'dead', 'expired']::text[]))
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
COMMENT ON COLUMN scheduled_jobs.job_history.attempts IS 'attempts made (deliveries, for acknowledged channels)';
COMMENT ON COLUMN scheduled_jobs.job_history.created_at IS 'when the job was scheduled';
COMMENT ON COLUMN scheduled_jobs.job_history.state IS
	'notified (NOTIFY sent), succeeded (procedure committed), failed (attempts exhausted), cancelled, acknowledged (by a consumer), dead (max_deliveries without acknowledgement), expired (not fired by expires_at)';
COMMENT ON COLUMN scheduled_jobs.job_history.fired_at IS
	'start of the firing transaction of the last attempt (NULL if cancelled before firing)';
COMMENT ON COLUMN scheduled_jobs.job_history.finished_at IS 'when the job finished';
COMMENT ON COLUMN scheduled_jobs.job_history.last_error IS 'message of the last failed attempt';
COMMENT ON COLUMN scheduled_jobs.job_history.last_error_data IS
	'the last failed attempt''s error: sqlstate, message, detail, hint, context';
COMMENT ON COLUMN scheduled_jobs.job_history.schedule_id IS
	'recurring schedules: the schedule this job was an occurrence of';
COMMENT ON COLUMN scheduled_jobs.job_history.occurrence_at IS
	'recurring schedules: the nominal instant of the occurrence';
COMMENT ON COLUMN scheduled_jobs.job_history.expires_at IS 'the firing deadline the job had';
COMMENT ON COLUMN scheduled_jobs.job_history.command IS 'SQL text run, for command jobs';

-- Privileges: ordinary roles read their own rows; only the functions write.
REVOKE ALL ON scheduled_jobs.jobs, scheduled_jobs.job_history FROM PUBLIC;
GRANT SELECT ON scheduled_jobs.jobs, scheduled_jobs.job_history TO PUBLIC;
ALTER TABLE scheduled_jobs.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE scheduled_jobs.job_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_owner ON scheduled_jobs.jobs FOR SELECT
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY job_history_owner ON scheduled_jobs.job_history FOR SELECT
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));

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
	group_commit boolean DEFAULT false,
	expires_at timestamptz DEFAULT NULL,
	command text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_schedule_job';
COMMENT ON FUNCTION scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean, timestamptz, text) IS
	'schedule a job at run_at: NOTIFY channel, CALL procedure(payload) or run command, never after expires_at; a pending job_key is replaced; returns the job id';

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
	scheduled_jobs.schedule_job(timestamptz, text, text, jsonb, text, integer, interval, boolean, timestamptz, text),
	scheduled_jobs.cancel_job(bigint),
	scheduled_jobs.cancel_job(text),
	scheduled_jobs.reschedule_job(bigint, timestamptz),
	scheduled_jobs.reschedule_job(text, timestamptz)
FROM PUBLIC;

-- Acknowledged channels (0.3.0).  A job on a channel configured here stays
-- in jobs after its NOTIFY, in flight, until a consumer acknowledges it:
-- attempts counts its deliveries, due_at keeps its first run_at and
-- first_delivered_at the time of its first NOTIFY, run_at is the next time
-- the scheduler acts on it (redelivery, lease end), and lease_until is set
-- while a consumer holds it.  See src/README.md.
CREATE TABLE scheduled_jobs.channel_settings (
	channel text PRIMARY KEY,
	ack_timeout interval NOT NULL,
	max_deliveries integer NOT NULL,
	dead_letter_channel text,
	configured_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT channel_settings_channel CHECK
		(pg_catalog.length(channel) OPERATOR(pg_catalog.>) 0 AND pg_catalog.octet_length(channel) OPERATOR(pg_catalog.<) 64),
	CONSTRAINT channel_settings_ack_timeout CHECK (ack_timeout OPERATOR(pg_catalog.>) '0'::interval),
	CONSTRAINT channel_settings_max_deliveries CHECK (max_deliveries OPERATOR(pg_catalog.>=) 1),
	CONSTRAINT channel_settings_dead_letter CHECK (dead_letter_channel OPERATOR(pg_catalog.<>) channel)
);
COMMENT ON TABLE scheduled_jobs.channel_settings IS
	'acknowledged channels: their jobs stay in flight until acknowledged; written by configure_channel()';
COMMENT ON COLUMN scheduled_jobs.channel_settings.channel IS 'the NOTIFY channel';
COMMENT ON COLUMN scheduled_jobs.channel_settings.ack_timeout IS
	'time a delivered job waits for its acknowledgement before it is delivered again (doubling each time)';
COMMENT ON COLUMN scheduled_jobs.channel_settings.max_deliveries IS
	'deliveries after which an unacknowledged job is kept as a dead letter';
COMMENT ON COLUMN scheduled_jobs.channel_settings.dead_letter_channel IS
	'channel NOTIFYed once for each dead letter, or NULL';
COMMENT ON COLUMN scheduled_jobs.channel_settings.configured_at IS 'when the settings were last changed';

CREATE TABLE scheduled_jobs.channel_grants (
	channel text NOT NULL,
	consumer regrole NOT NULL,
	PRIMARY KEY (channel, consumer)
);
COMMENT ON TABLE scheduled_jobs.channel_grants IS
	'roles that may see, claim and acknowledge the jobs of a channel besides their owners; written by grant_channel()';
COMMENT ON COLUMN scheduled_jobs.channel_grants.channel IS 'the channel';
COMMENT ON COLUMN scheduled_jobs.channel_grants.consumer IS 'the role granted, and its members';

REVOKE ALL ON scheduled_jobs.channel_settings, scheduled_jobs.channel_grants FROM PUBLIC;
GRANT SELECT ON scheduled_jobs.channel_settings, scheduled_jobs.channel_grants TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('scheduled_jobs.channel_settings', '');
SELECT pg_catalog.pg_extension_config_dump('scheduled_jobs.channel_grants', '');

CREATE VIEW scheduled_jobs.channels WITH (security_invoker = true) AS
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
GRANT SELECT ON scheduled_jobs.channels TO PUBLIC;
COMMENT ON COLUMN scheduled_jobs.channels.channel IS 'the channel';
COMMENT ON COLUMN scheduled_jobs.channels.ack_timeout IS 'time a delivered job waits for its acknowledgement before it is delivered again (doubling each time)';
COMMENT ON COLUMN scheduled_jobs.channels.max_deliveries IS 'deliveries after which an unacknowledged job is kept as a dead letter';
COMMENT ON COLUMN scheduled_jobs.channels.dead_letter_channel IS 'channel NOTIFYed once for each dead letter, or NULL';
COMMENT ON COLUMN scheduled_jobs.channels.configured_at IS 'when the settings were last changed';
COMMENT ON COLUMN scheduled_jobs.channels.in_flight IS 'jobs delivered and not acknowledged yet, of those the caller may see';
COMMENT ON COLUMN scheduled_jobs.channels.dead_letters IS 'jobs kept as dead letters in job_history (state dead), of those the caller may see';
COMMENT ON COLUMN scheduled_jobs.channels.consumers IS 'roles granted the channel with grant_channel()';

-- Administration of channels: run by roles that may write the tables above
-- (the extension owner, superusers), as themselves.
CREATE FUNCTION scheduled_jobs.configure_channel(
	channel text,
	ack_timeout interval,
	max_deliveries integer DEFAULT 10,
	dead_letter_channel text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF channel IS NULL OR channel OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'channel must not be empty';
	END IF;
	IF octet_length(channel) OPERATOR(pg_catalog.>) 63 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'channel name too long',
			DETAIL = format('Channel names are at most 63 bytes; this one has %s.', octet_length(channel));
	END IF;
	IF ack_timeout IS NULL OR ack_timeout OPERATOR(pg_catalog.<=) '0'::interval THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'ack_timeout must be a positive interval',
			HINT = 'It is how long a delivered job waits for its acknowledgement, e.g. interval ''30 seconds''.';
	END IF;
	IF ack_timeout OPERATOR(pg_catalog.>) '1 year'::interval THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'ack_timeout must be at most 1 year';
	END IF;
	IF max_deliveries IS NULL OR max_deliveries OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'max_deliveries must be at least 1';
	END IF;
	IF dead_letter_channel OPERATOR(pg_catalog.=) channel THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'dead_letter_channel must differ from channel',
			HINT = 'Give another channel, or NULL for none.';
	END IF;
	IF dead_letter_channel OPERATOR(pg_catalog.=) '' OR octet_length(dead_letter_channel) OPERATOR(pg_catalog.>) 63 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid dead_letter_channel',
			DETAIL = 'Channel names are 1 to 63 bytes.';
	END IF;
	INSERT INTO scheduled_jobs.channel_settings AS s (channel, ack_timeout, max_deliveries, dead_letter_channel)
	VALUES (channel, ack_timeout, max_deliveries, dead_letter_channel)
	ON CONFLICT ON CONSTRAINT channel_settings_pkey DO UPDATE
	SET ack_timeout = excluded.ack_timeout, max_deliveries = excluded.max_deliveries,
		dead_letter_channel = excluded.dead_letter_channel, configured_at = pg_catalog.now();
END $$;
COMMENT ON FUNCTION scheduled_jobs.configure_channel(text, interval, integer, text) IS
	'make a channel acknowledged, or change its settings: its jobs stay in flight until ack()';

CREATE FUNCTION scheduled_jobs.unconfigure_channel(channel text)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	WITH d AS (DELETE FROM scheduled_jobs.channel_settings s
			   WHERE s.channel OPERATOR(pg_catalog.=) unconfigure_channel.channel RETURNING 1)
	SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM d
$$;
COMMENT ON FUNCTION scheduled_jobs.unconfigure_channel(text) IS
	'make a channel plain again; its jobs in flight are NOTIFYed once more at their deadline and then done';

CREATE FUNCTION scheduled_jobs.grant_channel(channel text, consumer regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) consumer) THEN
		RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role with OID %s does not exist', consumer::pg_catalog.oid);
	END IF;
	INSERT INTO scheduled_jobs.channel_grants AS g (channel, consumer) VALUES (channel, consumer)
	ON CONFLICT DO NOTHING;
END $$;
COMMENT ON FUNCTION scheduled_jobs.grant_channel(text, regrole) IS
	'let a role (and its members) see, claim and acknowledge the jobs of a channel';

CREATE FUNCTION scheduled_jobs.revoke_channel(channel text, consumer regrole)
RETURNS boolean
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	WITH d AS (DELETE FROM scheduled_jobs.channel_grants g
			   WHERE g.channel OPERATOR(pg_catalog.=) revoke_channel.channel
				 AND g.consumer OPERATOR(pg_catalog.=) revoke_channel.consumer RETURNING 1)
	SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM d
$$;
COMMENT ON FUNCTION scheduled_jobs.revoke_channel(text, regrole) IS
	'take back grant_channel()';

CREATE FUNCTION scheduled_jobs.redrive(job_id bigint, run_at timestamptz DEFAULT pg_catalog.now())
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
COMMENT ON FUNCTION scheduled_jobs.redrive(bigint, timestamptz) IS
	'deliver a dead letter again from scratch: back to pending, same id, at run_at';

REVOKE ALL ON FUNCTION
	scheduled_jobs.configure_channel(text, interval, integer, text),
	scheduled_jobs.unconfigure_channel(text),
	scheduled_jobs.grant_channel(text, regrole),
	scheduled_jobs.revoke_channel(text, regrole),
	scheduled_jobs.redrive(bigint, timestamptz)
FROM PUBLIC;

-- Consumers: C functions that check the caller (owner of the job, or granted
-- the channel) and write as the extension owner, like schedule_job().
CREATE FUNCTION scheduled_jobs.ack(job_id bigint)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_ack';
COMMENT ON FUNCTION scheduled_jobs.ack(bigint) IS
	'acknowledge a delivered job of an acknowledged channel, in the caller''s transaction; true iff this call did';

CREATE FUNCTION scheduled_jobs.ack_many(job_ids bigint[])
RETURNS bigint
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_ack_many';
COMMENT ON FUNCTION scheduled_jobs.ack_many(bigint[]) IS
	'acknowledge delivered jobs of acknowledged channels, in the caller''s transaction; returns how many this call did';

CREATE FUNCTION scheduled_jobs.claim(channel text, max_jobs integer DEFAULT 1,
	lease interval DEFAULT '1 minute')
RETURNS TABLE (id bigint, delivery integer, envelope jsonb)
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE ROWS 1
AS 'MODULE_PATHNAME', 'sj_claim';
COMMENT ON FUNCTION scheduled_jobs.claim(text, integer, interval) IS
	'claim up to max_jobs due, unacknowledged jobs of an acknowledged channel for lease, in due order (FOR UPDATE SKIP LOCKED)';

CREATE FUNCTION scheduled_jobs.extend_lease(job_id bigint, delivery integer, lease interval)
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_extend_lease';
COMMENT ON FUNCTION scheduled_jobs.extend_lease(bigint, integer, interval) IS
	'extend the lease of a claimed job, from now; false if that delivery is no longer the caller''s';

CREATE FUNCTION scheduled_jobs.nack(job_id bigint, delivery integer, delay interval DEFAULT '0')
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_nack';
COMMENT ON FUNCTION scheduled_jobs.nack(bigint, integer, interval) IS
	'give a claimed job back, to be delivered again after delay; false if that delivery is no longer the caller''s';

CREATE FUNCTION scheduled_jobs.unacknowledged(channel text, max_jobs integer DEFAULT 100)
RETURNS TABLE (id bigint, delivery integer, envelope jsonb, leased_until timestamptz)
LANGUAGE C STRICT STABLE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'sj_unacknowledged';
COMMENT ON FUNCTION scheduled_jobs.unacknowledged(text, integer) IS
	'the delivered, unacknowledged jobs of a channel visible to the caller, in due order, without claiming them';

REVOKE ALL ON FUNCTION
	scheduled_jobs.ack(bigint),
	scheduled_jobs.ack_many(bigint[]),
	scheduled_jobs.claim(text, integer, interval),
	scheduled_jobs.extend_lease(bigint, integer, interval),
	scheduled_jobs.nack(bigint, integer, interval),
	scheduled_jobs.unacknowledged(text, integer)
FROM PUBLIC;

-- Consumers granted a channel see its jobs (the policies are changed here,
-- after channel_grants exists, as the 0.2.0 -> 0.3.0 update does).
ALTER POLICY jobs_owner ON scheduled_jobs.jobs
	USING (pg_catalog.pg_has_role(owner, 'MEMBER') OR EXISTS (SELECT FROM scheduled_jobs.channel_grants g
		WHERE g.channel OPERATOR(pg_catalog.=) jobs.channel AND pg_catalog.pg_has_role(g.consumer, 'MEMBER')));
ALTER POLICY job_history_owner ON scheduled_jobs.job_history
	USING (pg_catalog.pg_has_role(owner, 'MEMBER') OR EXISTS (SELECT FROM scheduled_jobs.channel_grants g
		WHERE g.channel OPERATOR(pg_catalog.=) job_history.channel AND pg_catalog.pg_has_role(g.consumer, 'MEMBER')));
COMMENT ON POLICY jobs_owner ON scheduled_jobs.jobs IS
	'a role sees the jobs of the roles it is a member of, and of the channels granted to it';
COMMENT ON POLICY job_history_owner ON scheduled_jobs.job_history IS
	'a role sees the finished jobs of the roles it is a member of, and of the channels granted to it';

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
CREATE INDEX jobs_unleased ON scheduled_jobs.jobs (channel, due_at)
	WHERE due_at IS NOT NULL AND lease_until IS NULL;
CREATE INDEX jobs_leased ON scheduled_jobs.jobs (channel, due_at)
	WHERE due_at IS NOT NULL AND lease_until IS NOT NULL;
COMMENT ON INDEX scheduled_jobs.jobs_unleased IS 'jobs in flight that no consumer holds, for claim()';
COMMENT ON INDEX scheduled_jobs.jobs_leased IS 'jobs in flight that a consumer holds';
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
