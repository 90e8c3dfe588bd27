-- The workers: visible in pg_stat_activity by backend_type; DROP EXTENSION
-- stops this database's scheduler and CREATE EXTENSION brings it back.
-- (Other databases, created after start, renamed or dropped: test/t/notify_databases.pl.)
\ir helpers.psql
SET client_min_messages = warning;
SELECT pg_temp.sj_forget('tap40-') \gset
\set QUIET 1

SELECT plan(8);

SELECT is((SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs launcher'), 1::bigint,
	'one launcher, backend_type ''scheduled_jobs launcher''');
SELECT ok((SELECT datname IS NULL FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs launcher'),
	'the launcher is connected to no database');
SELECT is(pg_temp.sj_schedulers(), 1::bigint,
	'one scheduler in this database, backend_type ''scheduled_jobs scheduler''');

-- a pending job survives neither DROP EXTENSION nor its scheduler
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '1 day', channel => 'tap40') IS NOT NULL AS s \gset
DROP EXTENSION scheduled_jobs;
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_schedulers() = 0$$, 5), 'DROP EXTENSION stops the scheduler within 5 s');
SELECT ok(pg_temp.sj_never($$pg_temp.sj_schedulers() > 0$$, 1.5)
	AND (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs launcher') = 1,
	'it stays stopped for 1.5 s, the launcher runs on');

CREATE EXTENSION scheduled_jobs;
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_schedulers() = 1$$, 3), 'CREATE EXTENSION starts it again within 3 s');
SELECT scheduled_jobs.schedule_job(clock_timestamp(), channel => 'tap40', job_key => 'tap40-after') IS NOT NULL AS s \gset
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap40-after')$$, 5), 'and it fires jobs');
SELECT is(pg_temp.sj_schedulers(), 1::bigint, 'still one scheduler');

SELECT * FROM finish();
