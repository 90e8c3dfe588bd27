-- Retention: the scheduler deletes finished jobs older than
-- scheduled_jobs.history_retention (failed ones and dead letters: older than
-- scheduled_jobs.failed_retention), and nothing else; 0 keeps them forever.
-- A reload makes a new setting apply at once.
\ir helpers.psql
SET client_min_messages = warning;
\set QUIET 1

SELECT plan(10);

CREATE FUNCTION pg_temp.old_job(id bigint, state text, age interval) RETURNS void LANGUAGE sql AS $$
	INSERT INTO scheduled_jobs.job_history (id, run_at, channel, payload, max_attempts, owner,
		attempts, created_at, state, fired_at, finished_at)
	VALUES (id, now() - age, 'tap_ret', '{}', 1, current_user::regrole, 1, now() - age, state,
		now() - age, now() - age)
$$;
DELETE FROM scheduled_jobs.job_history WHERE channel = 'tap_ret';
SELECT pg_temp.old_job(-9001, 'notified', '8 days');
SELECT pg_temp.old_job(-9002, 'notified', '6 days');
SELECT pg_temp.old_job(-9003, 'failed', '31 days');
SELECT pg_temp.old_job(-9004, 'failed', '29 days');
SELECT pg_temp.old_job(-9005, 'dead', '8 days');
SELECT pg_temp.old_job(-9006, 'succeeded', '8 days');

ALTER SYSTEM SET scheduled_jobs.history_retention = '7d';
ALTER SYSTEM SET scheduled_jobs.failed_retention = '30d';
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_wait($$NOT EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id IN (-9001, -9003, -9006))$$, 10),
	'older than the retention: pruned (notified, succeeded past 7 days, failed past 30)');
SELECT is((SELECT array_agg(id ORDER BY id DESC) FROM scheduled_jobs.job_history WHERE channel = 'tap_ret'),
	'{-9002,-9004,-9005}'::bigint[], 'younger ones stay, and a dead letter follows failed_retention');

-- 0 keeps them forever
ALTER SYSTEM SET scheduled_jobs.history_retention = 0;
SELECT pg_reload_conf() AS r \gset
SELECT pg_temp.old_job(-9007, 'notified', '400 days');
SELECT ok(pg_temp.sj_never($$NOT EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id = -9007)$$, 1),
	'history_retention 0: kept forever');

-- many at once: pruned in batches, while jobs keep firing
SELECT count(pg_temp.old_job(-100000 - g, 'notified', '10 days')) AS n FROM generate_series(1, 3000) g \gset
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '300 ms', channel => 'tap_ret', job_key => 'tap_ret_live') AS live \gset
ALTER SYSTEM SET scheduled_jobs.history_retention = '7d';
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_wait($$NOT EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id BETWEEN -103000 AND -100001)$$, 20),
	'3,000 old jobs pruned, in batches');
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap_ret_live')$$, 5), 'a job due meanwhile fired');
SELECT is((SELECT array_agg(id ORDER BY id DESC) FROM scheduled_jobs.job_history WHERE channel = 'tap_ret' AND id < 0),
	'{-9002,-9004,-9005}'::bigint[], 'and nothing younger went');

-- under a steady stream of due jobs (one every 2 ms for 4 s: never 20 ms
-- with nothing due), expired history is still pruned while the stream fires
-- (bench/churn.sh: at 2,000 jobs/s nothing was pruned until the load ended)
ALTER SYSTEM SET scheduled_jobs.history_retention = 0;
SELECT pg_reload_conf() AS r \gset
SELECT count(pg_temp.old_job(-200000 - g, 'notified', '10 days')) AS n FROM generate_series(1, 2000) g \gset
SELECT count(scheduled_jobs.schedule_job(clock_timestamp() + g * interval '2 ms', channel => 'tap_ret_stream'))
	AS n FROM generate_series(1, 2000) g \gset
SELECT pg_temp.sj_wait($$EXISTS (SELECT FROM scheduled_jobs.job_history WHERE channel = 'tap_ret_stream')$$, 5) AS r \gset
ALTER SYSTEM SET scheduled_jobs.history_retention = '7d';
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_wait($$NOT EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id BETWEEN -202000 AND -200001)$$, 15),
	'2,000 old jobs pruned under a steady stream of due jobs');
SELECT ok(EXISTS (SELECT FROM scheduled_jobs.jobs WHERE channel = 'tap_ret_stream'),
	'while the stream was still firing');
SELECT pg_temp.sj_wait($$NOT EXISTS (SELECT FROM scheduled_jobs.jobs WHERE channel = 'tap_ret_stream')$$, 15) AS r \gset
DELETE FROM scheduled_jobs.job_history WHERE channel = 'tap_ret_stream';

-- under a steady stream, rows that expire after a prune go within about a
-- second (a prune that deleted rows looks again a second later), not at
-- the next minute: with retention 1 s, none of the stream's is 3 s old.
-- The first prune deletes 500 old rows, a full batch, then finds no more:
-- it still deleted some.  (First, prune what earlier tests left, so that
-- those 500 are all there is to prune.)
ALTER SYSTEM SET scheduled_jobs.history_retention = '1s';
SELECT pg_reload_conf() AS r \gset
SELECT pg_temp.sj_wait($$NOT EXISTS (SELECT FROM scheduled_jobs.job_history
	WHERE state <> ALL (ARRAY['failed', 'dead']) AND finished_at < now() - interval '1 s')$$, 10) AS r \gset
ALTER SYSTEM SET scheduled_jobs.history_retention = 0;
SELECT pg_reload_conf() AS r \gset
SELECT count(pg_temp.old_job(-300000 - g, 'notified', '10 days')) AS n FROM generate_series(1, 500) g \gset
SELECT count(scheduled_jobs.schedule_job(clock_timestamp() + g * interval '2 ms', channel => 'tap_ret_follow'))
	AS n FROM generate_series(1, 4000) g \gset
ALTER SYSTEM SET scheduled_jobs.history_retention = '1s';
SELECT pg_reload_conf() AS r \gset
SELECT pg_sleep(5) AS r \gset
SELECT ok((SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'tap_ret_follow' AND finished_at < now() - interval '3 s') = 0
	AND EXISTS (SELECT FROM scheduled_jobs.job_history WHERE channel = 'tap_ret_follow')
	AND EXISTS (SELECT FROM scheduled_jobs.jobs WHERE channel = 'tap_ret_follow'),
	'under a steady stream, expired rows go within seconds');
ALTER SYSTEM SET scheduled_jobs.history_retention = '7d';
SELECT pg_reload_conf() AS r \gset
SELECT count(scheduled_jobs.cancel_job(id)) AS n FROM scheduled_jobs.jobs WHERE channel = 'tap_ret_follow' \gset
DELETE FROM scheduled_jobs.job_history WHERE channel = 'tap_ret_follow';

-- during a long backlog (every pass a full batch: batch_size 1 here) the
-- scheduler still reports its table statistics, without which autovacuum
-- never sees the rows that firing and pruning delete (bench/churn.sh: at
-- 20,000 jobs/s behind, jobs and job_history grew with no autovacuum)
ALTER SYSTEM SET scheduled_jobs.batch_size = 1;
ALTER SYSTEM SET scheduled_jobs.paused = on;
SELECT pg_reload_conf() AS r \gset
SELECT count(scheduled_jobs.schedule_job(now(), channel => 'tap_ret_stats')) AS n FROM generate_series(1, 10000) g \gset
SELECT pg_sleep(1.5) AS r \gset
SELECT pg_stat_clear_snapshot() AS r \gset
SELECT n_tup_ins AS base FROM pg_stat_user_tables WHERE relid = 'scheduled_jobs.job_history'::regclass \gset
ALTER SYSTEM RESET scheduled_jobs.paused;
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_wait(format($$(SELECT n_tup_ins > %s FROM pg_stat_user_tables WHERE relid = 'scheduled_jobs.job_history'::regclass)
		AND EXISTS (SELECT FROM scheduled_jobs.jobs WHERE channel = 'tap_ret_stats')$$, :base), 30),
	'statistics reported while a backlog of full batches still fires');
ALTER SYSTEM RESET scheduled_jobs.batch_size;
SELECT pg_reload_conf() AS r \gset
-- the rest are cancelled rather than waited for: a statement that waits
-- holds its snapshot, and the firing must then step over every job fired
-- since, which makes a long backlog slow
SELECT count(scheduled_jobs.cancel_job(id)) AS n FROM scheduled_jobs.jobs WHERE channel = 'tap_ret_stats' \gset
DELETE FROM scheduled_jobs.job_history WHERE channel = 'tap_ret_stats';

ALTER SYSTEM RESET scheduled_jobs.history_retention;
ALTER SYSTEM RESET scheduled_jobs.failed_retention;
SELECT pg_reload_conf() AS r \gset
DELETE FROM scheduled_jobs.job_history WHERE channel = 'tap_ret';
SELECT * FROM finish();
