--
-- Statistics: the SQL surface of scheduled_jobs.stats and its histograms,
-- who may read them, who may turn counting off.  (Counting with the workers
-- running: test/pgtap/stats.sql.)
--
\set VERBOSITY terse

-- the view, one row per target, its columns in order
SELECT attnum, attname, format_type(atttypid, atttypmod)
FROM pg_attribute WHERE attrelid = 'scheduled_jobs.stats'::regclass AND attnum > 0 ORDER BY attnum;

-- histograms: NULL is empty; an empty one has no percentile
SELECT scheduled_jobs.histogram_merge(NULL, NULL) IS NULL AS null_and_null;
SELECT scheduled_jobs.histogram_merge('\x'::bytea, NULL) AS empty_and_null;
SELECT scheduled_jobs.histogram_percentile('\x'::bytea, 0.5) IS NULL AS empty_has_none;
SELECT scheduled_jobs.histogram_sum(h) IS NULL AS sum_of_nothing FROM (SELECT NULL::bytea AS h) s;

-- the last error: the value of the latest time, rows without a time skipped
SELECT scheduled_jobs.last_by(v, t::timestamptz) AS last
FROM (VALUES ('a', '2026-01-01'), ('c', NULL), ('b', '2026-06-01'), ('d', '2026-03-01')) x (v, t);
SELECT scheduled_jobs.last_by(v, NULL::timestamptz) IS NULL AS none FROM (VALUES ('a')) x (v);

-- retention settings: negative or unit-less nonsense is refused
ALTER SYSTEM SET scheduled_jobs.history_retention = -1;
ALTER SYSTEM SET scheduled_jobs.failed_retention = '-1 d';
ALTER SYSTEM SET scheduled_jobs.history_retention = '1 fortnight';

-- bad input
SELECT scheduled_jobs.histogram_percentile('\x'::bytea, 1.5);
SELECT scheduled_jobs.histogram_percentile('\x'::bytea, -0.1);
SELECT scheduled_jobs.histogram_percentile('\x'::bytea, 'NaN');
SELECT scheduled_jobs.histogram_percentile('\x010203'::bytea, 0.5);
SELECT scheduled_jobs.histogram_merge('\x01'::bytea, '\x'::bytea);
-- invalid: a bucket past that of the longest duration (any bytea may come in)
SELECT scheduled_jobs.histogram_percentile('\xffffffffffffffff'::bytea, 0.5);
-- invalid: an entry that counts nothing
SELECT scheduled_jobs.histogram_percentile('\x0000000000000000'::bytea, 0.5);

-- ordinary roles read neither the view nor its table, and cannot stop counting
CREATE ROLE sj_stats_app;
CREATE ROLE sj_stats_monitor IN ROLE pg_monitor;
SET ROLE sj_stats_app;
SELECT count(*) FROM scheduled_jobs.stats;
SELECT count(*) FROM scheduled_jobs.job_stats;
SET scheduled_jobs.track_stats = off;
RESET ROLE;
SET ROLE sj_stats_monitor;
SELECT count(*) >= 0 AS monitor_reads FROM scheduled_jobs.stats;
RESET ROLE;
DROP ROLE sj_stats_app;
DROP ROLE sj_stats_monitor;
