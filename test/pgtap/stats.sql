-- Statistics with the workers running: scheduled_jobs.stats agrees with
-- job_history for a mixed workload (notified, succeeded, failed after
-- retries, cancelled, expired, acknowledged, dead letters), its
-- percentiles are within one bucket of the exact ones, counts follow the
-- transaction (a rolled-back ack or subtransaction counts nothing), and the
-- scheduler folds old rows into minute and hour rows and deletes those
-- older than a day.
\ir helpers.psql
SET client_min_messages = warning;
\set QUIET 1

-- leftovers of an earlier run
DELETE FROM scheduled_jobs.jobs WHERE COALESCE(channel, procedure) LIKE '%sj\_st%';
DELETE FROM scheduled_jobs.job_history WHERE COALESCE(channel, procedure) LIKE '%sj\_st%';
DELETE FROM scheduled_jobs.job_stats WHERE target LIKE '%sj\_st%';
DELETE FROM scheduled_jobs.channel_settings WHERE channel LIKE 'sj\_st%';
DROP TRIGGER IF EXISTS sj_st_refuse ON scheduled_jobs.job_stats;
DROP SCHEMA IF EXISTS sj_st CASCADE;
DO $$BEGIN
	IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'sj_st_role') THEN
		DROP OWNED BY sj_st_role;
		DROP ROLE sj_st_role;
	END IF;
END$$;

SELECT plan(18);

CREATE SCHEMA sj_st;
CREATE TABLE sj_st.effects (n int);
CREATE PROCEDURE sj_st.ok(p jsonb) LANGUAGE sql AS $$INSERT INTO sj_st.effects VALUES ((p->>'n')::int)$$;
CREATE PROCEDURE sj_st.slow(p jsonb) LANGUAGE sql AS $$SELECT pg_sleep((p->>'s')::float8)$$;
CREATE PROCEDURE sj_st.bad(p jsonb) LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'sj_st boom %', p->>'n'; END$$;
-- a message of 100,000 characters (of 2 bytes each)
CREATE PROCEDURE sj_st.long(p jsonb) LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION '%', repeat('é', 100000); END$$;
SELECT scheduled_jobs.configure_channel('sj_st_ack', '10 minutes') AS c \gset
SELECT scheduled_jobs.configure_channel('sj_st_dead', '100 ms', 1) AS c \gset
ALTER SYSTEM SET scheduled_jobs.retry_base_delay = '100ms';
SELECT pg_reload_conf() AS r \gset

-- the workload, spread over a second so that the lags differ
SELECT count(scheduled_jobs.schedule_job(clock_timestamp() + g * interval '20 ms', channel => 'sj_st_plain'))
	AS n FROM generate_series(1, 40) g \gset
SELECT count(scheduled_jobs.schedule_job(clock_timestamp() + g * interval '20 ms', procedure => 'sj_st.ok',
	payload => jsonb_build_object('n', g))) AS n FROM generate_series(1, 20) g \gset
SELECT count(scheduled_jobs.schedule_job(clock_timestamp() + g * interval '20 ms', procedure => 'sj_st.slow',
	payload => jsonb_build_object('s', 0.01 * g))) AS n FROM generate_series(1, 10) g \gset
SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'sj_st.bad', max_attempts => 2,
	payload => jsonb_build_object('n', g))) AS n FROM generate_series(1, 3) g \gset
SELECT scheduled_jobs.schedule_job(now(), procedure => 'sj_st.long', max_attempts => 1) AS n \gset
SELECT count(scheduled_jobs.cancel_job(scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'sj_st_plain')))
	AS n FROM generate_series(1, 4) g \gset
SELECT count(scheduled_jobs.schedule_job(now() - interval '2 seconds', channel => 'sj_st_plain',
	expires_at => now() - interval '1 second')) AS n FROM generate_series(1, 2) g \gset
SELECT count(scheduled_jobs.schedule_job(now(), channel => 'sj_st_ack', job_key => 'sj_st_ack_' || g))
	AS n FROM generate_series(1, 6) g \gset
SELECT count(scheduled_jobs.schedule_job(now(), channel => 'sj_st_dead')) AS n FROM generate_series(1, 3) g \gset
-- pending, never due in this test
SELECT count(scheduled_jobs.schedule_job(now() + interval '1 day', channel => 'sj_st_later'))
	AS n FROM generate_series(1, 5) g \gset

SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history
	WHERE COALESCE(channel, procedure) LIKE '%sj\_st%') = 40 + 20 + 10 + 3 + 1 + 4 + 2 + 3
	AND (SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'sj_st_ack' AND due_at IS NOT NULL) = 6$$, 20),
	'the workload finished: in job_history, and the acknowledged jobs in flight');

-- acknowledge 4 of the 6; one ack rolled back, one in a rolled-back savepoint
SELECT scheduled_jobs.ack_many(array_agg(id)) AS n FROM scheduled_jobs.jobs
	WHERE job_key IN ('sj_st_ack_1', 'sj_st_ack_2', 'sj_st_ack_3') \gset
BEGIN;
SELECT scheduled_jobs.ack(id) AS a FROM scheduled_jobs.jobs WHERE job_key = 'sj_st_ack_4' \gset
ROLLBACK;
BEGIN;
SELECT scheduled_jobs.ack(id) AS a FROM scheduled_jobs.jobs WHERE job_key = 'sj_st_ack_5' \gset
SAVEPOINT s;
SELECT scheduled_jobs.ack(id) AS a FROM scheduled_jobs.jobs WHERE job_key = 'sj_st_ack_6' \gset
ROLLBACK TO SAVEPOINT s;
COMMIT;

-- job_history's view of the same, per target
CREATE TEMP VIEW truth AS
	SELECT COALESCE(channel, procedure) AS target,
		count(*) FILTER (WHERE fired_at IS NOT NULL) AS fired,
		count(*) FILTER (WHERE state IN ('notified', 'succeeded', 'acknowledged')) AS succeeded,
		count(*) FILTER (WHERE state = 'failed') AS failed,
		count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
		count(*) FILTER (WHERE state = 'expired') AS expired,
		count(*) FILTER (WHERE state = 'dead') AS dead
	FROM scheduled_jobs.job_history
	WHERE COALESCE(channel, procedure) LIKE '%sj\_st%' AND finished_at > now() - interval '1 day'
	GROUP BY 1;
CREATE TEMP VIEW counted AS
	SELECT target, fired_1d AS fired, succeeded_1d AS succeeded, failed_1d AS failed,
		cancelled_1d AS cancelled, expired_1d AS expired, dead_1d AS dead
	FROM scheduled_jobs.stats WHERE target LIKE '%sj\_st%' AND fired_1d + cancelled_1d + expired_1d > 0;

-- the workers write theirs within a second or so
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM (SELECT * FROM truth EXCEPT SELECT * FROM counted) d) = 0
	AND (SELECT count(*) FROM (SELECT * FROM counted EXCEPT SELECT * FROM truth) d) = 0$$, 10),
	'stats agree with job_history, target by target');
SELECT results_eq($$SELECT target, fired, succeeded, failed, cancelled, expired, dead FROM counted ORDER BY 1$$,
	$$VALUES ('sj_st.bad'::text, 3::bigint, 0::bigint, 3::bigint, 0::bigint, 0::bigint, 0::bigint),
	         ('sj_st.long', 1, 0, 1, 0, 0, 0),
	         ('sj_st.ok', 20, 20, 0, 0, 0, 0),
	         ('sj_st.slow', 10, 10, 0, 0, 0, 0),
	         ('sj_st_ack', 4, 4, 0, 0, 0, 0),
	         ('sj_st_dead', 3, 0, 0, 0, 0, 3),
	         ('sj_st_plain', 40, 40, 0, 4, 2, 0)$$,
	'the counts: failed after retries, cancelled, expired, acknowledged (not the rolled-back acks), dead');
SELECT is((SELECT fired_1m FROM scheduled_jobs.stats WHERE target = 'sj_st_plain'), 40::bigint,
	'the last minute counts them too');

-- percentiles: within one bucket (12.5%) of the exact ones, plus a microsecond
CREATE TEMP VIEW exact AS
	SELECT COALESCE(channel, procedure) AS target,
		percentile_disc(0.5) WITHIN GROUP (ORDER BY fired_at - run_at) AS lag_p50,
		percentile_disc(0.99) WITHIN GROUP (ORDER BY fired_at - run_at) AS lag_p99,
		max(fired_at - run_at) AS lag_max,
		percentile_disc(0.5) WITHIN GROUP (ORDER BY finished_at - fired_at) AS run_p50,
		percentile_disc(0.99) WITHIN GROUP (ORDER BY finished_at - fired_at) AS run_p99
	FROM scheduled_jobs.job_history
	WHERE COALESCE(channel, procedure) IN ('sj_st_plain', 'sj_st.ok', 'sj_st.slow') AND fired_at IS NOT NULL
	GROUP BY 1;
CREATE FUNCTION pg_temp.near(a interval, b interval) RETURNS boolean LANGUAGE sql AS $$
	SELECT abs(extract(epoch FROM a) - extract(epoch FROM b)) <= 0.13 * extract(epoch FROM b) + 0.000002
$$;
SELECT is((SELECT count(*) FROM exact e JOIN scheduled_jobs.stats s USING (target)
	WHERE pg_temp.near(s.lag_p50_1d, e.lag_p50) AND pg_temp.near(s.lag_p99_1d, e.lag_p99)), 3::bigint,
	'lag p50 and p99 within one bucket of job_history''s, for a channel and two procedures');
SELECT is((SELECT count(*) FROM exact e JOIN scheduled_jobs.stats s USING (target)
	WHERE s.lag_max_1d BETWEEN e.lag_max - interval '1 ms' AND e.lag_max + interval '1 ms'), 3::bigint,
	'lag max as job_history says (to the millisecond)');
SELECT is((SELECT count(*) FROM exact e JOIN scheduled_jobs.stats s USING (target)
	WHERE e.target LIKE 'sj_st.%' AND pg_temp.near(s.run_p50_1d, e.run_p50) AND pg_temp.near(s.run_p99_1d, e.run_p99)),
	2::bigint, 'run time p50 and p99 within one bucket, for procedure jobs');
SELECT ok((SELECT run_p50_1d IS NULL AND run_max_1d IS NULL FROM scheduled_jobs.stats WHERE target = 'sj_st_plain'),
	'no run time for NOTIFY jobs');
SELECT ok((SELECT run_p50_1d > interval '40 ms' AND run_max_1d >= interval '100 ms' FROM scheduled_jobs.stats
	WHERE target = 'sj_st.slow'), 'the slow procedure''s run times: p50 over 40 ms, max over 100 ms');

SELECT ok((SELECT last_error LIKE 'sj_st boom _' AND last_error_at > now() - interval '1 minute'
	FROM scheduled_jobs.stats WHERE target = 'sj_st.bad'), 'the last error, and when');
SELECT results_eq($$SELECT length(last_error), octet_length(last_error), last_error = repeat('é', 1000)
	FROM scheduled_jobs.stats WHERE target = 'sj_st.long'$$,
	$$VALUES (1000, 2000, true)$$,
	'a long last error is kept to its first 1000 characters (job_history keeps it whole)');
SELECT is((SELECT pending FROM scheduled_jobs.stats WHERE target = 'sj_st_later'), 5::bigint,
	'pending jobs of a target that has not finished any');
SELECT ok((SELECT backlog_age IS NULL AND pending = 2 FROM scheduled_jobs.stats WHERE target = 'sj_st_ack'),
	'nothing due unfired: no backlog age (the 2 in flight are pending)');

-- a session with track_stats off counts nothing
SET scheduled_jobs.track_stats = off;
SELECT scheduled_jobs.cancel_job(scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'sj_st_plain')) AS c \gset
RESET scheduled_jobs.track_stats;
SELECT is((SELECT cancelled_1d FROM scheduled_jobs.stats WHERE target = 'sj_st_plain'), 4::bigint,
	'track_stats off: the cancel is not counted');

-- DROP OWNED BY cancels a role's jobs: counted as cancelled
CREATE ROLE sj_st_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_st_role;
SET ROLE sj_st_role;
SELECT count(scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'sj_st_owned'))
	AS n FROM generate_series(1, 3) g \gset
RESET ROLE;
DROP OWNED BY sj_st_role;
DROP ROLE sj_st_role;
SELECT results_eq($$SELECT cancelled_1d, pending FROM scheduled_jobs.stats WHERE target = 'sj_st_owned'$$,
	$$SELECT count(*), 0::bigint FROM scheduled_jobs.job_history WHERE channel = 'sj_st_owned' AND state = 'cancelled'$$,
	'DROP OWNED BY: the cancelled jobs are counted as in job_history');

-- job_stats refuses a session's counts (a trigger an administrator added):
-- the cancel commits all the same, uncounted, with a warning
CREATE FUNCTION sj_st.refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'sj_st: no stats'; END$$;
CREATE TRIGGER sj_st_refuse BEFORE INSERT OR UPDATE ON scheduled_jobs.job_stats
	FOR EACH ROW WHEN (NEW.target = 'sj_st_refused') EXECUTE FUNCTION sj_st.refuse();
SET client_min_messages = error;
SELECT scheduled_jobs.cancel_job(scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'sj_st_refused')) AS c \gset
SET client_min_messages = warning;
DROP TRIGGER sj_st_refuse ON scheduled_jobs.job_stats;
SELECT results_eq($$SELECT state, (SELECT count(*) FROM scheduled_jobs.job_stats WHERE target = 'sj_st_refused')
	FROM scheduled_jobs.job_history WHERE channel = 'sj_st_refused'$$,
	$$VALUES ('cancelled'::text, 0::bigint)$$,
	'job_stats refuses the counts: the cancel commits, uncounted');

-- the scheduler folds: 10-second rows of 3 minutes ago into a minute row,
-- minute rows of 2 hours ago into an hour row; hour rows of 30 hours ago go
INSERT INTO scheduled_jobs.job_stats (bucket, seconds, kind, target, schedule_id, writer, fired, succeeded,
	failed, cancelled, expired, dead, lag, lag_max)
SELECT date_bin('1 minute', now() - interval '3 minutes', 'epoch') + s * interval '10 seconds', 10, 'channel',
	'sj_st_old', 0, w, 1, 1, 0, 0, 0, 0, NULL::bytea, interval '5 ms'
FROM generate_series(0, 5) s, generate_series(1, 2) w
UNION ALL
SELECT date_bin('1 hour', now() - interval '2 hours', 'epoch') + m * interval '1 minute', 60, 'channel',
	'sj_st_old', 0, 0, 10, 10, 0, 0, 0, 0, NULL, interval '7 ms'
FROM generate_series(0, 59) m
UNION ALL
SELECT date_bin('1 hour', now() - interval '30 hours', 'epoch'), 3600, 'channel', 'sj_st_old', 0, 0,
	1000, 1000, 0, 0, 0, 0, NULL, NULL;
ALTER SYSTEM RESET scheduled_jobs.retry_base_delay;
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_wait($$(SELECT array_agg(seconds || ':' || fired ORDER BY bucket)
	FROM scheduled_jobs.job_stats WHERE target = 'sj_st_old') = '{3600:600,60:12}'$$, 20),
	'folded: 12 ten-second rows into a minute row, 60 minute rows into an hour row; the day-old hour row deleted');
SELECT results_eq($$SELECT fired_1m, fired_1h, fired_1d, lag_max_1d FROM scheduled_jobs.stats WHERE target = 'sj_st_old'$$,
	$$VALUES (0::bigint, 12::bigint, 612::bigint, interval '7 ms')$$,
	'and read by window: the minute row in the last hour, the hour row in the last day');

DELETE FROM scheduled_jobs.jobs WHERE COALESCE(channel, procedure) LIKE '%sj\_st%';
DELETE FROM scheduled_jobs.job_history WHERE COALESCE(channel, procedure) LIKE '%sj\_st%';
DELETE FROM scheduled_jobs.job_stats WHERE target LIKE '%sj\_st%';
SELECT scheduled_jobs.unconfigure_channel('sj_st_ack') AS c \gset
SELECT scheduled_jobs.unconfigure_channel('sj_st_dead') AS c \gset
DROP SCHEMA sj_st CASCADE;
SELECT * FROM finish();
