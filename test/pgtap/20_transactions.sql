-- Transactional: rolled back never fires, cancelled never fires, a replaced
-- key fires once with the new payload.
\ir helpers.psql
SET client_min_messages = warning;
SELECT pg_temp.sj_forget('tap20-') \gset
\set QUIET 1

SELECT plan(13);

-- a job scheduled in a transaction that rolls back
BEGIN;
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '0.2 seconds',
	channel => 'tap20', job_key => 'tap20-rolled-back') IS NOT NULL AS scheduled \gset
ROLLBACK;

-- a job cancelled before it is due
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '0.3 seconds',
	channel => 'tap20', job_key => 'tap20-cancelled') AS cancelled_id \gset
SELECT ok(scheduled_jobs.cancel_job('tap20-cancelled'), 'cancel_job returns true for a pending job');

-- a job whose cancel rolls back
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '0.3 seconds',
	channel => 'tap20', job_key => 'tap20-cancel-rolled-back') IS NOT NULL AS scheduled \gset
BEGIN;
SELECT scheduled_jobs.cancel_job('tap20-cancel-rolled-back') AS cancelled \gset
ROLLBACK;

-- a job replaced through its key: later, with another payload
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '0.3 seconds',
	channel => 'tap20', payload => '{"v": 1}', job_key => 'tap20-replaced') AS replaced_id \gset
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '0.6 seconds',
	channel => 'tap20', payload => '{"v": 2}', job_key => 'tap20-replaced') AS replaced_id2 \gset
SELECT is(:replaced_id2::bigint, :replaced_id::bigint, 'replacing a key keeps the job id');

-- everything above was due before the sentinel: once it fired, they had their chance
SELECT pg_temp.sj_sentinel('tap20-sentinel', 1.0) IS NOT NULL AS sentinel \gset
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap20-sentinel')$$, 6), 'the sentinel fires');

SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'tap20-rolled-back')
	+ (SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'tap20-rolled-back'), 0::bigint,
	'a job scheduled in a rolled-back transaction never existed');

SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'tap20-cancelled'), 1::bigint,
	'the cancelled job is in history once');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE job_key = 'tap20-cancelled'), 'cancelled',
	'as cancelled: it never fired');
SELECT ok((SELECT fired_at IS NULL AND attempts = 0 FROM scheduled_jobs.job_history WHERE job_key = 'tap20-cancelled'),
	'with no fired_at and no attempt');
SELECT ok(NOT scheduled_jobs.cancel_job(:cancelled_id::bigint), 'cancelling it again returns false');

SELECT ok(pg_temp.sj_fired('tap20-cancel-rolled-back'), 'a job whose cancel rolled back fires');

SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'tap20-replaced'), 1::bigint,
	'a replaced job fires once');
SELECT is((SELECT payload FROM scheduled_jobs.job_history WHERE job_key = 'tap20-replaced'), '{"v": 2}'::jsonb,
	'with the new payload');
SELECT ok((SELECT fired_at >= run_at AND run_at > created_at + interval '0.4 seconds'
	FROM scheduled_jobs.job_history WHERE job_key = 'tap20-replaced'),
	'at the new run_at');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key LIKE 'tap20-%'), 0::bigint,
	'nothing left pending');

SELECT * FROM finish();
