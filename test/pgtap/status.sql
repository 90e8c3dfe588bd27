-- status(): the workers of this database, one query away.
\ir helpers.psql
SET client_min_messages = warning;
\set QUIET 1

SELECT plan(8);

SELECT ok(pg_temp.sj_wait($$(SELECT scheduler_pid FROM scheduled_jobs.status()) =
		(SELECT pid FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = current_database())$$, 10),
	'the scheduler''s pid');
SELECT ok(pg_temp.sj_wait($$(SELECT scheduler_state || ',' || paused || ',' || executors_max FROM scheduled_jobs.status()) =
		'sleeping,false,' || current_setting('scheduled_jobs.max_executors')$$, 5),
	'sleeping, not paused, executors at most');
SELECT ok((SELECT last_pass_at > now() - interval '2 minutes' AND next_wakeup > last_pass_at FROM scheduled_jobs.status()),
	'its last pass and next wake-up');

SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET scheduled_jobs.paused = on;
SELECT ok(pg_temp.sj_wait($$(SELECT paused AND scheduler_state = 'paused' FROM scheduled_jobs.status())$$, 5),
	'paused');
SELECT scheduled_jobs.schedule_job(now() - interval '1 minute', channel => 'tap_status', job_key => 'tap_status-1') AS j \gset
SELECT is((SELECT due_jobs || ',' || (oldest_due_at <= now() - interval '1 minute') FROM scheduled_jobs.status()), '1,true',
	'a due job not fired, and how old');
ALTER DATABASE :"db" RESET scheduled_jobs.paused;
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap_status-1')
		AND (SELECT due_jobs = 0 AND NOT paused FROM scheduled_jobs.status())$$, 5),
	'unpaused: fired, nothing due');
-- a full pool: one job more than executors, each sleeping 1.5 s
CREATE SCHEMA IF NOT EXISTS tap_status;
CREATE OR REPLACE PROCEDURE tap_status.nap(p jsonb) LANGUAGE sql AS $$SELECT pg_sleep(1.5)$$;
SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'tap_status.nap', job_key => 'tap_status-nap-' || g))
	AS n FROM generate_series(0, current_setting('scheduled_jobs.max_executors')::int) g \gset
SELECT ok(pg_temp.sj_wait($$(SELECT executors_running = executors_max AND executors_idle = 0
		AND due_jobs = executors_max + 1 FROM scheduled_jobs.status())$$, 10),
	'a full pool: every executor runs a job, and one more job is due');
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history
		WHERE job_key LIKE 'tap_status-nap-%' AND state = 'succeeded') = current_setting('scheduled_jobs.max_executors')::int + 1
	AND (SELECT due_jobs = 0 FROM scheduled_jobs.status())$$, 15),
	'then all ran, nothing due');
DROP SCHEMA tap_status CASCADE;
SELECT pg_temp.sj_forget('tap_status-') \gset
SELECT * FROM finish();
