--
-- The upgrade walk: install the first release, schedule jobs, update to the
-- current version; the jobs stay pending, and the updated extension is the
-- same as a fresh install (compared by a fingerprint of its catalog entries).
--
\set VERBOSITY terse
\set fingerprint 'SELECT md5(string_agg(obj, E''\\n'' ORDER BY obj)) AS fingerprint FROM (SELECT pg_describe_object(classid, objid, 0) || coalesce('' '' || obj_description(objid, classid::regclass::name), '''') AS obj FROM pg_depend WHERE refclassid = ''pg_extension''::regclass AND deptype = ''e'' AND refobjid = (SELECT oid FROM pg_extension WHERE extname = ''scheduled_jobs'') UNION ALL SELECT attrelid::regclass || '' '' || attnum || '' '' || attname || '' '' || format_type(atttypid, atttypmod) || '' '' || attnotnull || '' '' || coalesce(pg_get_expr(d.adbin, d.adrelid), '''') || '' '' || coalesce(col_description(attrelid, attnum), '''') FROM pg_attribute LEFT JOIN pg_attrdef d ON d.adrelid = attrelid AND d.adnum = attnum WHERE attrelid IN (''scheduled_jobs.jobs''::regclass, ''scheduled_jobs.job_history''::regclass) AND attnum > 0 AND NOT attisdropped UNION ALL SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid IN (''scheduled_jobs.jobs''::regclass, ''scheduled_jobs.job_history''::regclass) UNION ALL SELECT p.oid::regprocedure || '' '' || pg_get_function_arguments(p.oid) || '' '' || coalesce(p.proacl::text, '''') FROM pg_proc p WHERE pronamespace = ''scheduled_jobs''::regnamespace UNION ALL SELECT c.oid::regclass || '' '' || coalesce(c.relacl::text, '''') || '' '' || c.relrowsecurity || '' '' || coalesce(c.reloptions::text, '''') FROM pg_class c WHERE relnamespace = ''scheduled_jobs''::regnamespace UNION ALL SELECT polname || '' '' || pg_get_expr(polqual, polrelid) FROM pg_policy) o'

CREATE DATABASE sj_fresh;
\c sj_fresh
CREATE EXTENSION scheduled_jobs;
:fingerprint \gset fresh_

CREATE DATABASE sj_upgrade;
\c sj_upgrade
CREATE EXTENSION scheduled_jobs VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'scheduled_jobs';

-- jobs pending across the update, with and without a key (far in the future)
SELECT scheduled_jobs.schedule_job(now() + interval '1 day', channel => 'up', payload => '{"n": 1}') > 0 AS scheduled;
SELECT scheduled_jobs.schedule_job(now() + interval '1 day', channel => 'up', job_key => 'up:2') > 0 AS scheduled;

ALTER EXTENSION scheduled_jobs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'scheduled_jobs';
SELECT channel, payload, job_key, group_commit FROM scheduled_jobs.jobs ORDER BY id;

-- the new argument works after the update
CREATE PROCEDURE public.up_proc(p jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;
SELECT scheduled_jobs.schedule_job(now() + interval '1 day', procedure => 'public.up_proc', group_commit => true) > 0 AS scheduled;
SELECT count(*) AS pending FROM scheduled_jobs.jobs;

-- same objects, columns (in the same order), indexes, privileges, comments
:fingerprint \gset upgraded_
SELECT :'fresh_fingerprint' = :'upgraded_fingerprint' AS same_as_fresh_install;

\c contrib_regression
DROP DATABASE sj_upgrade;
DROP DATABASE sj_fresh;
