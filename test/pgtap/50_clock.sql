-- The one clock: scheduled_jobs.clock_offset shifts the time the workers
-- take every "is it due" decision from, so that a test can make an hour pass
-- at once.  Recorded times (fired_at) stay real.
\ir helpers.psql
SET client_min_messages = warning;
SELECT pg_temp.sj_forget('tap50-') \gset
DROP SCHEMA IF EXISTS sj_clock CASCADE;
\set QUIET 1

SELECT plan(6);

CREATE SCHEMA sj_clock;
CREATE TABLE sj_clock.runs (n int);
CREATE PROCEDURE sj_clock.record(payload jsonb) LANGUAGE sql
AS $$ INSERT INTO sj_clock.runs VALUES ((payload->>'n')::int) $$;

SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'tap50', job_key => 'tap50-notify') IS NOT NULL AS s \gset
SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'sj_clock.record',
	payload => '{"n": 1}', job_key => 'tap50-call') IS NOT NULL AS s \gset
SELECT scheduled_jobs.schedule_job(now() + interval '3 hours', channel => 'tap50', job_key => 'tap50-later') IS NOT NULL AS s \gset

SELECT ok(pg_temp.sj_never($$EXISTS (SELECT FROM scheduled_jobs.job_history WHERE job_key LIKE 'tap50-%')$$, 1),
	'with the real clock, jobs due in an hour wait');

-- an hour and a minute later, as far as the workers are concerned
ALTER SYSTEM SET scheduled_jobs.clock_offset = '61min';
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap50-notify')$$, 5), 'clock_offset 61 min: the NOTIFY job due in an hour fires');
-- (the count inside the wait: a subquery beside it would see the
-- statement's snapshot, taken before the job ran)
SELECT ok(pg_temp.sj_wait($$EXISTS (SELECT FROM scheduled_jobs.job_history WHERE job_key = 'tap50-call' AND state = 'succeeded')
		AND (SELECT count(*) FROM sj_clock.runs) = 1$$, 5),
	'and the procedure job runs, once');
SELECT ok((SELECT fired_at < run_at FROM scheduled_jobs.job_history WHERE job_key = 'tap50-notify'),
	'fired_at is the real time, before the run_at of job time');
SELECT ok(pg_temp.sj_never($$pg_temp.sj_fired('tap50-later')$$, 0.5),
	'a job due in three hours still waits');

ALTER SYSTEM RESET scheduled_jobs.clock_offset;
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_never($$pg_temp.sj_fired('tap50-later')$$, 0.5),
	'back to the real clock, it waits');

SELECT pg_temp.sj_forget('tap50-') \gset
DROP SCHEMA sj_clock CASCADE;
SELECT * FROM finish();
