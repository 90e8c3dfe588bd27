\echo Use "ALTER EXTENSION scheduled_jobs UPDATE TO '0.3.0'" to load this file. \quit

-- 0.3.0: acknowledged channels.

ALTER TABLE scheduled_jobs.jobs
	ADD COLUMN due_at timestamptz,
	ADD COLUMN first_delivered_at timestamptz,
	ADD COLUMN lease_until timestamptz;
COMMENT ON COLUMN scheduled_jobs.jobs.due_at IS
	'acknowledged channels: the run_at of the first delivery, while the job is in flight';
COMMENT ON COLUMN scheduled_jobs.jobs.first_delivered_at IS
	'acknowledged channels: when the job was first NOTIFYed';
COMMENT ON COLUMN scheduled_jobs.jobs.lease_until IS
	'acknowledged channels: end of the lease of the consumer that claimed the job';
COMMENT ON COLUMN scheduled_jobs.jobs.attempts IS
	'attempts made so far (deliveries, for acknowledged channels)';

ALTER TABLE scheduled_jobs.job_history DROP CONSTRAINT job_history_state;
ALTER TABLE scheduled_jobs.job_history ADD CONSTRAINT job_history_state CHECK
	(state OPERATOR(pg_catalog.=) ANY (ARRAY['notified', 'succeeded', 'failed', 'cancelled', 'acknowledged', 'dead']::text[]));
COMMENT ON COLUMN scheduled_jobs.job_history.state IS
	'notified (NOTIFY sent), succeeded (procedure committed), failed (attempts exhausted), cancelled, acknowledged (by a consumer), dead (max_deliveries without acknowledgement)';
COMMENT ON COLUMN scheduled_jobs.job_history.attempts IS 'attempts made (deliveries, for acknowledged channels)';

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

CREATE INDEX jobs_in_flight ON scheduled_jobs.jobs (channel, due_at)
	WHERE due_at IS NOT NULL;

CREATE VIEW scheduled_jobs.channels AS
SELECT s.channel, s.ack_timeout, s.max_deliveries, s.dead_letter_channel, s.configured_at,
	(SELECT pg_catalog.count(*) FROM scheduled_jobs.jobs j
	 WHERE j.channel OPERATOR(pg_catalog.=) s.channel AND j.due_at IS NOT NULL) AS in_flight,
	(SELECT pg_catalog.count(*) FROM scheduled_jobs.job_history h
	 WHERE h.channel OPERATOR(pg_catalog.=) s.channel AND h.state OPERATOR(pg_catalog.=) 'dead') AS dead_letters,
	(SELECT pg_catalog.array_agg(g.consumer ORDER BY g.consumer::pg_catalog.text) FROM scheduled_jobs.channel_grants g
	 WHERE g.channel OPERATOR(pg_catalog.=) s.channel) AS consumers
FROM scheduled_jobs.channel_settings s;
COMMENT ON VIEW scheduled_jobs.channels IS
	'acknowledged channels with their settings, counts of jobs in flight and of dead letters, and their consumers';
GRANT SELECT ON scheduled_jobs.channels TO PUBLIC;
COMMENT ON COLUMN scheduled_jobs.channels.channel IS 'the channel';
COMMENT ON COLUMN scheduled_jobs.channels.ack_timeout IS 'time a delivered job waits for its acknowledgement before it is delivered again (doubling each time)';
COMMENT ON COLUMN scheduled_jobs.channels.max_deliveries IS 'deliveries after which an unacknowledged job is kept as a dead letter';
COMMENT ON COLUMN scheduled_jobs.channels.dead_letter_channel IS 'channel NOTIFYed once for each dead letter, or NULL';
COMMENT ON COLUMN scheduled_jobs.channels.configured_at IS 'when the settings were last changed';
COMMENT ON COLUMN scheduled_jobs.channels.in_flight IS 'jobs delivered and not acknowledged yet';
COMMENT ON COLUMN scheduled_jobs.channels.dead_letters IS 'jobs kept as dead letters in job_history (state dead)';
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
			 attempts, created_at, last_error, last_error_data)
		OVERRIDING SYSTEM VALUE
		SELECT d.id, redrive.run_at, d.channel, d.procedure, d.payload, d.job_key, d.max_attempts,
			d.timeout_ms, d.owner, 0, d.created_at, d.last_error, d.last_error_data FROM d;
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
