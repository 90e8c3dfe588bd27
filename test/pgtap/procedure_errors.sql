-- Procedure jobs that fail: retries with backoff, then 'failed' with the
-- error recorded; timeouts; COMMIT inside; a dropped procedure; rollback of a
-- failed attempt; a long job delays neither other jobs nor NOTIFY jobs.
--
-- Sets scheduled_jobs.retry_base_delay to 50ms with ALTER SYSTEM for the
-- duration of the file (RESET at the end), so that retries are quick; the
-- deadlines still hold with the default of 1 s.
-- Everything this file creates is named sj_pe*.
\ir helpers.psql
\set QUIET 1
SET client_min_messages = warning;

DELETE FROM scheduled_jobs.jobs WHERE procedure LIKE 'sj_pe.%' OR job_key LIKE 'sj_pe:%';
DELETE FROM scheduled_jobs.job_history WHERE procedure LIKE 'sj_pe.%' OR job_key LIKE 'sj_pe:%';
DROP SCHEMA IF EXISTS sj_pe CASCADE;
DO $$
DECLARE r name;
BEGIN
	FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'sj\_pe\_%' LOOP
		EXECUTE format('DROP OWNED BY %I CASCADE', r);
		EXECUTE format('DROP ROLE %I', r);
	END LOOP;
END $$;

ALTER SYSTEM SET scheduled_jobs.retry_base_delay = '50ms';
SELECT pg_reload_conf() \g /dev/null

CREATE ROLE sj_pe_app NOLOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_pe_app;
CREATE SCHEMA sj_pe;
GRANT USAGE ON SCHEMA sj_pe TO sj_pe_app;
CREATE TABLE sj_pe.effects (tag text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
GRANT INSERT, SELECT ON sj_pe.effects TO sj_pe_app;
CREATE SEQUENCE sj_pe.flaky_calls;
GRANT USAGE ON SEQUENCE sj_pe.flaky_calls TO sj_pe_app;
CREATE TABLE sj_pe.ids (name text PRIMARY KEY, id bigint);
GRANT INSERT, SELECT ON sj_pe.ids TO sj_pe_app;

-- writes, then raises
CREATE PROCEDURE sj_pe.boom(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_pe.effects (tag) VALUES (payload->>'tag');
	RAISE EXCEPTION 'boom %', payload->>'tag'
		USING ERRCODE = '22012', DETAIL = 'the detail', HINT = 'the hint';
END $$;
-- fails at its first call only (sequences do not roll back)
CREATE PROCEDURE sj_pe.flaky(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	IF nextval('sj_pe.flaky_calls') = 1 THEN
		RAISE EXCEPTION 'flaky first call';
	END IF;
	INSERT INTO sj_pe.effects (tag) VALUES ('flaky');
END $$;
CREATE PROCEDURE sj_pe.sleepy(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_sleep((payload->>'seconds')::float8);
	INSERT INTO sj_pe.effects (tag) VALUES (payload->>'tag');
END $$;
CREATE PROCEDURE sj_pe.fast(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_pe.effects (tag) VALUES (payload->>'tag');
END $$;
CREATE PROCEDURE sj_pe.commits(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_pe.effects (tag) VALUES ('commits');
	COMMIT;
END $$;
CREATE PROCEDURE sj_pe.doomed(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_pe.effects (tag) VALUES ('doomed');
END $$;

-- schedule as sj_pe_app: name, run_at offset in seconds, procedure, payload,
-- max_attempts, timeout
CREATE FUNCTION sj_pe.sched(name text, delay float8, proc text, payload jsonb,
							attempts integer DEFAULT 1, timeout interval DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO sj_pe.ids
	VALUES (name, scheduled_jobs.schedule_job(clock_timestamp() + delay * interval '1 second',
			procedure => proc, payload => payload, max_attempts => attempts,
			timeout => timeout, job_key => 'sj_pe:' || name))
	RETURNING id
$$;
-- the job's history row (volatile: a fresh snapshot at each call)
CREATE FUNCTION sj_pe.h(name text) RETURNS scheduled_jobs.job_history
LANGUAGE sql VOLATILE AS $$
	SELECT h.* FROM scheduled_jobs.job_history h JOIN sj_pe.ids i USING (id) WHERE i.name = $1
$$;
CREATE FUNCTION sj_pe.done(name text) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
	SELECT EXISTS (SELECT FROM scheduled_jobs.job_history h JOIN sj_pe.ids i USING (id)
				   WHERE i.name = $1)
$$;

SELECT plan(43);

-- 1. a raising job: retried, then failed with its error recorded
SET ROLE sj_pe_app;
SELECT sj_pe.sched('boom', 0, 'sj_pe.boom', '{"tag": "boom"}', 2) \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_pe.done('boom')$$, 30), 'the raising job finished');
SELECT is((sj_pe.h('boom')).state, 'failed', 'it failed');
SELECT is((sj_pe.h('boom')).attempts, 2, 'after max_attempts attempts');
SELECT is((sj_pe.h('boom')).last_error, 'boom boom', 'last_error is the message');
SELECT is((sj_pe.h('boom')).last_error_data->>'sqlstate', '22012', 'last_error_data has the SQLSTATE');
SELECT is((sj_pe.h('boom')).last_error_data->>'message', 'boom boom', '... the message');
SELECT is((sj_pe.h('boom')).last_error_data->>'detail', 'the detail', '... the detail');
SELECT is((sj_pe.h('boom')).last_error_data->>'hint', 'the hint', '... the hint');
SELECT matches((sj_pe.h('boom')).last_error_data->>'context', 'PL/pgSQL function sj_pe\.boom\(jsonb\)',
			   '... the context');
SELECT ok((sj_pe.h('boom')).finished_at - (sj_pe.h('boom')).created_at >= interval '50 ms',
		  'the retry waited at least retry_base_delay');
SELECT is((SELECT count(*) FROM sj_pe.effects WHERE tag = 'boom'), 0::bigint,
		  'the effects of the failed attempts were rolled back');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_pe:boom'), 0::bigint,
		  'the failed job is no longer pending');

-- 2. a job failing once, then succeeding
SET ROLE sj_pe_app;
SELECT sj_pe.sched('flaky', 0, 'sj_pe.flaky', '{}', 3) \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_pe.done('flaky')$$, 30), 'the flaky job finished');
SELECT is((sj_pe.h('flaky')).state, 'succeeded', 'it succeeded');
SELECT is((sj_pe.h('flaky')).attempts, 2, 'at the second attempt');
SELECT is((SELECT count(*) FROM sj_pe.effects WHERE tag = 'flaky'), 1::bigint, 'its effect is there once');

-- 3. a job past its timeout fails with 57014; a fast one at the same time
-- succeeds quickly
SET ROLE sj_pe_app;
SELECT sj_pe.sched('slow', 0.2, 'sj_pe.sleepy', '{"tag": "slow", "seconds": 20}', 1, '100 ms') \g /dev/null
SELECT sj_pe.sched('quick', 0.2, 'sj_pe.fast', '{"tag": "quick"}') \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_pe.done('slow') AND sj_pe.done('quick')$$, 30),
		  'the slow and the fast job finished');
SELECT is((sj_pe.h('slow')).state, 'failed', 'the slow job failed');
SELECT is((sj_pe.h('slow')).last_error_data->>'sqlstate', '57014', 'with query_canceled (57014)');
SELECT ok((sj_pe.h('slow')).finished_at - (sj_pe.h('slow')).fired_at < interval '5 s',
		  'it was stopped at its timeout, long before its sleep ended');
SELECT is((SELECT count(*) FROM sj_pe.effects WHERE tag = 'slow'), 0::bigint, 'it left no effect');
SELECT is((sj_pe.h('quick')).state, 'succeeded', 'the fast job succeeded');
SELECT ok((sj_pe.h('quick')).finished_at - (sj_pe.h('quick')).run_at < interval '3 s',
		  'quickly');

-- 4. a procedure that COMMITs fails with 2D000 and a hint
SET ROLE sj_pe_app;
SELECT sj_pe.sched('commits', 0, 'sj_pe.commits', '{}') \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_pe.done('commits')$$, 30), 'the committing job finished');
SELECT is((sj_pe.h('commits')).state, 'failed', 'it failed');
SELECT is((sj_pe.h('commits')).last_error_data->>'sqlstate', '2D000',
		  'with invalid_transaction_termination (2D000)');
SELECT isnt((sj_pe.h('commits')).last_error_data->>'hint', NULL, 'and a hint');
SELECT is((SELECT count(*) FROM sj_pe.effects WHERE tag = 'commits'), 0::bigint,
		  'nothing it did before COMMIT remains');

-- 5. a procedure dropped after scheduling: the job fails clearly, the
-- executors go on
SET ROLE sj_pe_app;
SELECT sj_pe.sched('doomed', 3600, 'sj_pe.doomed', '{}') \g /dev/null
RESET ROLE;
DROP PROCEDURE sj_pe.doomed(jsonb);
SET ROLE sj_pe_app;
SELECT scheduled_jobs.reschedule_job('sj_pe:doomed', clock_timestamp()) \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_pe.done('doomed')$$, 30), 'the job of the dropped procedure finished');
SELECT is((sj_pe.h('doomed')).state, 'failed', 'it failed');
SELECT is((sj_pe.h('doomed')).last_error_data->>'sqlstate', '42883', 'with undefined_function (42883)');
SELECT matches((sj_pe.h('doomed')).last_error, 'sj_pe\.doomed.*does not exist', 'naming the procedure');
SET ROLE sj_pe_app;
SELECT sj_pe.sched('after_doomed', 0, 'sj_pe.fast', '{"tag": "after_doomed"}') \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_pe.done('after_doomed')$$, 30), 'a later job finished');
SELECT is((sj_pe.h('after_doomed')).state, 'succeeded', 'and succeeded: the executors went on');

-- 6. a long job does not delay NOTIFY jobs
SET ROLE sj_pe_app;
SELECT sj_pe.sched('long', 0, 'sj_pe.sleepy', '{"tag": "long", "seconds": 3}', 1, '60 s') \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$EXISTS (SELECT FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs executor' AND wait_event = 'PgSleep'
		AND query LIKE 'job ' || (SELECT id FROM sj_pe.ids WHERE name = 'long') || ':%')$$, 30),
		  'the long job runs');
SET ROLE sj_pe_app;
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '100 ms', channel => 'sj_pe_chan',
		job_key => 'sj_pe:notify') \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('sj_pe:notify')$$, 30), 'the NOTIFY job fired');
SELECT ok(NOT sj_pe.done('long'), 'while the long job still ran');
SELECT ok(pg_temp.sj_wait($$sj_pe.done('long')$$, 30), 'the long job finished');
SELECT is((sj_pe.h('long')).state, 'succeeded', 'it succeeded');
SELECT ok((SELECT finished_at FROM scheduled_jobs.job_history WHERE job_key = 'sj_pe:notify')
		  < (sj_pe.h('long')).finished_at - interval '1 s',
		  'the NOTIFY job finished well before the long one');

-- 7. scheduled_jobs.job_timeout is the default timeout; timeout => 0 is none
ALTER SYSTEM SET scheduled_jobs.job_timeout = '200ms';
SELECT pg_reload_conf() \g /dev/null
SET ROLE sj_pe_app;
-- due in 1 s, so that the executors have reloaded their configuration
SELECT sj_pe.sched('guc_slow', 1, 'sj_pe.sleepy', '{"tag": "guc_slow", "seconds": 10}') \g /dev/null
SELECT sj_pe.sched('no_timeout', 1, 'sj_pe.sleepy', '{"tag": "no_timeout", "seconds": 0.6}', 1, '0') \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_pe.done('guc_slow') AND sj_pe.done('no_timeout')$$, 30),
		  'the jobs under scheduled_jobs.job_timeout finished');
SELECT is((sj_pe.h('guc_slow')).last_error_data->>'sqlstate', '57014',
		  'a job without a timeout of its own fails at scheduled_jobs.job_timeout');
SELECT is((sj_pe.h('no_timeout')).state, 'succeeded', 'a job with timeout => 0 has none');
ALTER SYSTEM RESET scheduled_jobs.job_timeout;

SELECT * FROM finish();

-- clean up
ALTER SYSTEM RESET scheduled_jobs.retry_base_delay;
SELECT pg_reload_conf() \g /dev/null
DELETE FROM scheduled_jobs.jobs WHERE procedure LIKE 'sj_pe.%' OR job_key LIKE 'sj_pe:%';
DELETE FROM scheduled_jobs.job_history WHERE procedure LIKE 'sj_pe.%' OR job_key LIKE 'sj_pe:%';
DROP SCHEMA sj_pe CASCADE;
DROP OWNED BY sj_pe_app CASCADE;
DROP ROLE sj_pe_app;
