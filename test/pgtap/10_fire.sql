-- NOTIFY jobs fire once, at their time, never early.
\ir helpers.psql
SET client_min_messages = warning;
SELECT pg_temp.sj_forget('tap10-') \gset
\set QUIET 1

SELECT plan(14);

-- one job, due in 1 s
CREATE TEMP TABLE one AS
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '1 second',
	channel => 'tap10', payload => '{"n": 1}', job_key => 'tap10-one') AS id;

SELECT ok(EXISTS (SELECT FROM scheduled_jobs.jobs WHERE job_key = 'tap10-one' AND run_at > clock_timestamp()),
	'a job due in 1 s is pending before its time');
SELECT ok(NOT EXISTS (SELECT FROM scheduled_jobs.job_history WHERE job_key = 'tap10-one'),
	'and not fired early');
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap10-one')$$, 5), 'it fires within 5 s');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'tap10-one'), 1::bigint,
	'it is in job_history once');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'tap10-one'), 0::bigint,
	'it left jobs');
SELECT ok((SELECT fired_at >= run_at AND finished_at >= fired_at FROM scheduled_jobs.job_history WHERE job_key = 'tap10-one'),
	'fired_at >= run_at, finished_at >= fired_at');
SELECT is((SELECT row(h.id, h.state, h.attempts, h.channel, h.payload)::text
	FROM scheduled_jobs.job_history h WHERE job_key = 'tap10-one'),
	row((SELECT id FROM one), 'notified', 1, 'tap10', '{"n": 1}'::jsonb)::text,
	'history row: same id, notified, 1 attempt, channel and payload kept');
SELECT ok((SELECT fired_at - run_at < interval '2 seconds' FROM scheduled_jobs.job_history WHERE job_key = 'tap10-one'),
	'fired less than 2 s late');

-- 300 jobs at random times within 2 s: each fires exactly once
SELECT count(*) FROM (
	SELECT scheduled_jobs.schedule_job(clock_timestamp() + random() * interval '2 seconds',
		channel => 'tap10_burst', payload => jsonb_build_object('i', i), job_key => 'tap10-burst-' || i)
	FROM generate_series(1, 300) i) s \gset
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history
	WHERE job_key LIKE 'tap10-burst-%') >= 300$$, 15), '300 jobs within 2 s: all fired within 15 s');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key LIKE 'tap10-burst-%'), 300::bigint,
	'exactly 300 history rows');
SELECT is((SELECT count(DISTINCT job_key) FROM scheduled_jobs.job_history WHERE job_key LIKE 'tap10-burst-%'), 300::bigint,
	'no job twice');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key LIKE 'tap10-burst-%'), 0::bigint,
	'none left pending');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key LIKE 'tap10-burst-%'
	AND (fired_at < run_at OR state <> 'notified' OR attempts <> 1 OR payload->>'i' <> substr(job_key, 13))), 0::bigint,
	'none early, all notified once with their payload');

-- the largest job schedule_job accepts can be sent: its envelope fits NOTIFY
-- (no job_key: a key makes the envelope larger)
SELECT scheduled_jobs.schedule_job(clock_timestamp(), channel => 'tap10_big',
	payload => jsonb_build_object('x', repeat('x', 7793))) AS big_id \gset
SELECT ok(pg_temp.sj_wait(format($$EXISTS (SELECT FROM scheduled_jobs.job_history
	WHERE id = %s AND state = 'notified')$$, :big_id), 5), 'a job with the largest payload accepted fires');

SELECT * FROM finish();
