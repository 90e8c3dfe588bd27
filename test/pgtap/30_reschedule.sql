-- Rescheduling: earlier fires early (the commit wakes the sleeping
-- scheduler), later delays the job.
\ir helpers.psql
SET client_min_messages = warning;
SELECT pg_temp.sj_forget('tap30-') \gset
\set QUIET 1

SELECT plan(10);

-- the scheduler sleeps until the earliest job (at most max_sleep, a minute
-- by default): moving a job from +1 hour to +1 s must wake it at commit
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '1 hour',
	channel => 'tap30', job_key => 'tap30-earlier') AS earlier_id \gset
-- let the scheduler see it and go to sleep until then
SELECT ok(pg_temp.sj_wait($$(SELECT wait_event = 'Extension' FROM pg_stat_activity
	WHERE backend_type = 'scheduled_jobs scheduler' AND datname = current_database())$$, 5),
	'the scheduler sleeps');
SELECT ok(scheduled_jobs.reschedule_job(:earlier_id::bigint, clock_timestamp() + interval '1 second'),
	'reschedule_job(id) from +1 hour to +1 s returns true');
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap30-earlier')$$, 5), 'it fires within 5 s');
SELECT ok((SELECT fired_at >= run_at AND fired_at - run_at < interval '2 seconds'
	FROM scheduled_jobs.job_history WHERE job_key = 'tap30-earlier'), 'at its new time, not early');

-- same by key
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '1 day',
	channel => 'tap30', job_key => 'tap30-earlier-key') IS NOT NULL AS scheduled \gset
SELECT ok(scheduled_jobs.reschedule_job('tap30-earlier-key', clock_timestamp() + interval '0.5 second'),
	'reschedule_job(key) from +1 day to +0.5 s returns true');
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap30-earlier-key')$$, 5), 'it fires within 5 s');

-- later: due in 0.3 s, moved to +2 s; a sentinel at +1 s fires first
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '0.3 seconds',
	channel => 'tap30', job_key => 'tap30-later') IS NOT NULL AS scheduled \gset
SELECT ok(scheduled_jobs.reschedule_job('tap30-later', clock_timestamp() + interval '2 seconds'),
	'reschedule_job(key) to +2 s returns true');
SELECT pg_temp.sj_sentinel('tap30-sentinel', 1.0) IS NOT NULL AS sentinel \gset
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap30-sentinel')$$, 6)
	AND EXISTS (SELECT FROM scheduled_jobs.jobs WHERE job_key = 'tap30-later'),
	'at +1 s, after its old time, it is still pending');
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap30-later')$$, 6), 'then it fires');
SELECT ok((SELECT fired_at >= run_at AND run_at > created_at + interval '1.5 seconds'
	FROM scheduled_jobs.job_history WHERE job_key = 'tap30-later'), 'at its new time');

SELECT * FROM finish();
