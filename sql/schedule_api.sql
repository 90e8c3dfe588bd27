--
-- schedule_api: the SQL surface of scheduled_jobs, pinned.
--
-- Function signatures, tables, columns, indexes, constraints, policies,
-- privileges and comments, read from the catalogs in a stable order; every
-- invalid input with its exact SQLSTATE, message, detail and hint.
--
-- The scheduler is running while this test runs: every job here is due far in
-- the future (now() + 1 day) so that nothing fires, and all are cancelled at
-- the end.
--
\pset null '(null)'

-- try(statement): run it; print "ok" or the error as
-- "ERROR <sqlstate>: message", then its DETAIL and HINT lines if any.
CREATE FUNCTION try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN 'ERROR ' || st || ': ' || msg
		|| CASE WHEN det <> '' THEN E'\nDETAIL:  ' || det ELSE '' END
		|| CASE WHEN hnt <> '' THEN E'\nHINT:  ' || hnt ELSE '' END;
END $$;

---------------------------------------------------------------------------
-- The catalog: what the extension installs
---------------------------------------------------------------------------

-- the extension's objects, by kind
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'scheduled_jobs')
ORDER BY 1;

-- functions: signature, result, properties
SELECT p.proname AS name,
       pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result,
       p.prokind AS kind, l.lanname AS lang, p.provolatile AS vol,
       p.proisstrict AS strict, p.proparallel AS par, p.prosecdef AS secdef,
       p.proconfig AS config
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'scheduled_jobs'::regnamespace
ORDER BY p.proname, pg_get_function_identity_arguments(p.oid);

-- functions: nobody but the owner may execute them until granted, but for
-- next_occurrences() (pure functions) and current_job() (a job reads itself),
-- which everyone may execute
SELECT p.oid::regprocedure AS function,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p
WHERE p.pronamespace = 'scheduled_jobs'::regnamespace
ORDER BY p.proname, pg_get_function_identity_arguments(p.oid);

-- tables and their columns
SELECT c.relname AS "table", a.attnum AS n, a.attname AS "column",
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       a.attidentity AS ident, pg_get_expr(d.adbin, d.adrelid) AS "default"
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'scheduled_jobs'::regnamespace AND c.relkind = 'r'
ORDER BY c.relname, a.attnum;

-- tables: row level security, storage options
SELECT relname, relrowsecurity, relforcerowsecurity, reloptions
FROM pg_class
WHERE relnamespace = 'scheduled_jobs'::regnamespace AND relkind = 'r'
ORDER BY relname;

-- constraints
SELECT conrelid::regclass AS "table", conname, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE connamespace = 'scheduled_jobs'::regnamespace
ORDER BY conrelid::regclass::text, conname;

-- indexes
SELECT tablename, indexname, indexdef
FROM pg_indexes
WHERE schemaname = 'scheduled_jobs'
ORDER BY tablename, indexname;

-- policies
SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
FROM pg_policies
WHERE schemaname = 'scheduled_jobs'
ORDER BY tablename, policyname;

-- table privileges of PUBLIC: read only
SELECT c.relname, p.priv, has_table_privilege('public', c.oid, p.priv) AS granted
FROM pg_class c,
     unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)
WHERE c.relnamespace = 'scheduled_jobs'::regnamespace AND c.relkind = 'r'
ORDER BY c.relname, p.priv;

-- tables that pg_dump keeps the contents of
SELECT t::regclass::text AS config_table
FROM pg_extension, unnest(extconfig) AS t
WHERE extname = 'scheduled_jobs'
ORDER BY 1;

-- COMMENT ON: every schema, function, table, column and policy has one
-- (no rows expected)
SELECT 'schema' AS kind, 'scheduled_jobs' AS object
WHERE obj_description('scheduled_jobs'::regnamespace, 'pg_namespace') IS NULL
UNION ALL
SELECT 'function', p.oid::regprocedure::text
FROM pg_proc p
WHERE p.pronamespace = 'scheduled_jobs'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT 'relation', c.oid::regclass::text
FROM pg_class c
WHERE c.relnamespace = 'scheduled_jobs'::regnamespace AND c.relkind IN ('r', 'v', 'm')
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'column', c.oid::regclass::text || '.' || a.attname
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'scheduled_jobs'::regnamespace AND c.relkind IN ('r', 'v', 'm')
  AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
SELECT 'policy', pol.polname || ' on ' || pol.polrelid::regclass::text
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
WHERE c.relnamespace = 'scheduled_jobs'::regnamespace
  AND obj_description(pol.oid, 'pg_policy') IS NULL
ORDER BY 1, 2;

-- GUCs
SELECT name, setting, unit, context, vartype, min_val, max_val
FROM pg_settings WHERE name LIKE 'scheduled\_jobs.%'
ORDER BY name;

---------------------------------------------------------------------------
-- Invalid input to schedule_job, with SQLSTATE, message, detail and hint
---------------------------------------------------------------------------
\pset tuples_only on
\pset format unaligned

-- invalid: both channel and procedure
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', procedure => 'public.p')$$);
-- invalid: neither channel nor procedure
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => NULL, procedure => NULL)$$);
-- invalid: NULL run_at
SELECT try($$SELECT scheduled_jobs.schedule_job(NULL, channel => 'c')$$);
-- invalid: infinite run_at, both signs
SELECT try($$SELECT scheduled_jobs.schedule_job('infinity', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job('-infinity', channel => 'c')$$);
-- invalid: empty channel
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => '')$$);
-- invalid: channel of 64 bytes (NOTIFY allows 63)
SELECT try(format($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => %L)$$, repeat('c', 64)));
-- invalid: channel of 64 bytes in 32 two-byte characters
SELECT try(format($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => %L)$$, repeat('é', 32)));
-- valid: channel of 63 bytes
SELECT try(format($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => %L)$$, repeat('c', 63)));
-- invalid: envelope over the NOTIFY limit with a big payload
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c',
	payload => jsonb_build_object('x', repeat('x', 8000)))$$);
-- valid: the largest payload whose envelope fits, without a job_key: its text
-- is 7802 bytes, the envelope at most 7999 (with the delivery and deadline
-- an acknowledged channel adds)
SELECT length(jsonb_build_object('x', repeat('x', 7793))::text) AS payload_bytes;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c',
	payload => jsonb_build_object('x', repeat('x', 7793)))$$);
-- invalid: one byte more
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c',
	payload => jsonb_build_object('x', repeat('x', 7794)))$$);
-- valid: same payload with a job_key of 2 characters ("kk" is as long as null)
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => 'kk',
	payload => jsonb_build_object('x', repeat('x', 7793)))$$);
-- invalid: a job_key of 3 characters pushes it over
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => 'kkk',
	payload => jsonb_build_object('x', repeat('x', 7793)))$$);
-- invalid: a job_key that is large once escaped as JSON (1000 bytes, 6000 escaped)
SELECT try(format($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => %L,
	payload => jsonb_build_object('t', repeat('x', 2000)))$$, repeat(E'\x01', 1000)));
-- invalid: a job_key over 1024 bytes
SELECT try(format($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => %L)$$,
	repeat('k', 1025)));
-- invalid: empty job_key
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => '')$$);
-- invalid: max_attempts 0, negative, NULL
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', max_attempts => 0)$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', max_attempts => -1)$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', max_attempts => NULL)$$);
-- invalid: NULL payload (SQL NULL; a JSON null is a payload)
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', payload => NULL)$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', payload => 'null')$$);
-- invalid: negative timeout, and one too long
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', timeout => '-1 second')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', timeout => '30 days')$$);
-- valid: a timeout of 0 (none)
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', timeout => '0')$$);
-- invalid: group_commit for a NOTIFY job
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', group_commit => true)$$);

---------------------------------------------------------------------------
-- Procedure targets: validated when the job is scheduled
---------------------------------------------------------------------------
CREATE SCHEMA sj_regress;
CREATE PROCEDURE sj_regress.ok_proc(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE PROCEDURE sj_regress.int_proc(payload integer) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE PROCEDURE sj_regress.two_args(payload jsonb, extra integer) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE FUNCTION sj_regress.a_function(payload jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE PROCEDURE sj_regress."Mixed Case"(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;

-- invalid: unknown procedure, unknown schema, unqualified and not on search_path
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.nope')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'no_schema.ok_proc')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'ok_proc')$$);
-- invalid: a function, not a procedure
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.a_function')$$);
-- invalid: wrong signature (integer argument; two arguments)
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.int_proc')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.two_args')$$);
-- invalid: a name that is not a name
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => '')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'a.b.c.d')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.ok_proc(jsonb)')$$);
-- invalid: the name with an argument list that is not (jsonb), or not a procedure
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.int_proc(integer)')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.ok_proc(integer)')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.a_function(jsonb)')$$);
-- valid: stored under its canonical qualified name
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.ok_proc', job_key => 'proc-1')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'SJ_REGRESS.OK_PROC', job_key => 'proc-2')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress."Mixed Case"', job_key => 'proc-3')$$);
-- invalid: a temporary procedure (another session may own its name when the job runs)
CREATE PROCEDURE pg_temp.tmp_proc(payload jsonb) LANGUAGE sql AS $$ SELECT 1 $$;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'pg_temp.tmp_proc')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'pg_temp.tmp_proc(jsonb)')$$);
-- invalid: CALL name(payload) would be ambiguous between overloads
CREATE PROCEDURE sj_regress.over(payload jsonb) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE PROCEDURE sj_regress.over(payload jsonb, n integer DEFAULT 0) LANGUAGE sql AS $$ SELECT 1 $$;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.over')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.over(jsonb)')$$);
-- invalid: an OUT parameter, which CALL name(payload) cannot fill
CREATE PROCEDURE sj_regress.out_proc(payload jsonb, OUT r integer) LANGUAGE sql AS $$ SELECT 1 $$;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.out_proc')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.out_proc(jsonb)')$$);
-- invalid: a second parameter, even with a default: the signature is (jsonb)
CREATE PROCEDURE sj_regress.with_default(payload jsonb, n integer DEFAULT 0) LANGUAGE sql AS $$ SELECT 1 $$;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.with_default', job_key => 'proc-6')$$);
-- valid: group_commit for a procedure job
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.ok_proc', job_key => 'proc-5', group_commit => true)$$);
SET search_path = sj_regress, public;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'ok_proc', job_key => 'proc-4')$$);
RESET search_path;
SELECT job_key, procedure, channel, group_commit FROM scheduled_jobs.jobs
WHERE job_key LIKE 'proc-%' ORDER BY job_key;

---------------------------------------------------------------------------
-- Privileges: a role without EXECUTE, a role with it, other roles' jobs
---------------------------------------------------------------------------
CREATE ROLE regress_sj_nobody;
CREATE ROLE regress_sj_app;
CREATE ROLE regress_sj_other;
GRANT USAGE ON SCHEMA sj_regress TO regress_sj_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO regress_sj_app, regress_sj_other;
REVOKE EXECUTE ON PROCEDURE sj_regress.ok_proc(jsonb) FROM PUBLIC;

-- invalid: no EXECUTE on the API functions
SET ROLE regress_sj_nobody;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.cancel_job(1::bigint)$$);
SELECT try($$SELECT scheduled_jobs.cancel_job('k')$$);
SELECT try($$SELECT scheduled_jobs.reschedule_job(1::bigint, now())$$);
SELECT try($$SELECT scheduled_jobs.reschedule_job('k', now())$$);
-- invalid: writing the tables directly
SELECT try($$INSERT INTO scheduled_jobs.jobs (run_at, channel, owner) VALUES (now(), 'c', 'regress_sj_nobody')$$);
SELECT try($$DELETE FROM scheduled_jobs.jobs$$);
SELECT try($$UPDATE scheduled_jobs.job_history SET state = 'failed'$$);
RESET ROLE;

-- invalid: no EXECUTE privilege on the procedure
SET ROLE regress_sj_app;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress.ok_proc')$$);
-- valid: a procedure it may execute; a NOTIFY job
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', procedure => 'sj_regress."Mixed Case"', job_key => 'app-proc')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => 'app-1')$$);
-- it sees its own jobs only
SELECT job_key, owner FROM scheduled_jobs.jobs ORDER BY job_key;
-- it cannot cancel or reschedule the jobs of others: false, as for unknown jobs
SELECT scheduled_jobs.cancel_job('proc-1') AS cancel_others;
SELECT scheduled_jobs.reschedule_job('proc-1', now() + '2 days') AS reschedule_others;
RESET ROLE;

SET ROLE regress_sj_other;
-- invalid: replacing a job_key pending for another role
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => 'app-1')$$);
SELECT count(*) AS sees_jobs FROM scheduled_jobs.jobs;
RESET ROLE;

-- the owner role's jobs are untouched
SELECT job_key, owner, payload FROM scheduled_jobs.jobs WHERE job_key LIKE 'app-%' ORDER BY job_key;

-- a member of the owning role acts on its jobs
GRANT regress_sj_app TO regress_sj_other;
SET ROLE regress_sj_other;
SELECT scheduled_jobs.cancel_job('app-proc') AS member_cancels;
RESET ROLE;

---------------------------------------------------------------------------
-- cancel_job and reschedule_job
---------------------------------------------------------------------------
-- unknown id or key: false
SELECT scheduled_jobs.cancel_job(-1::bigint) AS cancel_unknown_id,
       scheduled_jobs.cancel_job('no such key') AS cancel_unknown_key,
       scheduled_jobs.reschedule_job(-1::bigint, now() + '1 day') AS reschedule_unknown_id,
       scheduled_jobs.reschedule_job('no such key', now() + '1 day') AS reschedule_unknown_key;
-- NULL arguments: NULL (the functions are strict)
SELECT scheduled_jobs.cancel_job(NULL::bigint) IS NULL AS cancel_null_id,
       scheduled_jobs.cancel_job(NULL::text) IS NULL AS cancel_null_key,
       scheduled_jobs.reschedule_job(NULL::bigint, now()) IS NULL AS reschedule_null_id,
       scheduled_jobs.reschedule_job('app-1', NULL) IS NULL AS reschedule_null_time;

-- invalid: rescheduling to infinity, by id and by key, known job or not
SELECT try($$SELECT scheduled_jobs.reschedule_job('app-1', 'infinity')$$);
SELECT try($$SELECT scheduled_jobs.reschedule_job('app-1', '-infinity')$$);
SELECT try(format($$SELECT scheduled_jobs.reschedule_job(%s::bigint, 'infinity')$$,
	(SELECT id FROM scheduled_jobs.jobs WHERE job_key = 'app-1')));
SELECT try($$SELECT scheduled_jobs.reschedule_job(-1::bigint, 'infinity')$$);

-- reschedule by key and by id moves run_at
SELECT scheduled_jobs.schedule_job('2100-01-01 00:00:00+00', channel => 'c', job_key => 'move') > 0 AS scheduled;
SELECT scheduled_jobs.reschedule_job('move', '2100-01-02 00:00:00+00') AS moved_by_key;
SELECT run_at = '2100-01-02 00:00:00+00' AS run_at_moved FROM scheduled_jobs.jobs WHERE job_key = 'move';
SELECT scheduled_jobs.reschedule_job(id, '2100-01-03 00:00:00+00') AS moved_by_id
FROM scheduled_jobs.jobs WHERE job_key = 'move';
SELECT run_at = '2100-01-03 00:00:00+00' AS run_at_moved FROM scheduled_jobs.jobs WHERE job_key = 'move';

-- a replaced job_key keeps one pending row: same id, new run_at, target and payload
CREATE TEMP TABLE ids (n int, id bigint);
INSERT INTO ids SELECT 1, scheduled_jobs.schedule_job('2100-01-01 00:00:00+00', channel => 'first',
	payload => '{"v": 1}', job_key => 'replace-me');
INSERT INTO ids SELECT 2, scheduled_jobs.schedule_job('2100-02-01 00:00:00+00', channel => 'second',
	payload => '{"v": 2}', job_key => 'replace-me');
SELECT count(DISTINCT id) AS distinct_ids FROM ids;
SELECT count(*) AS pending, min(channel) AS channel, min(payload::text) AS payload,
       bool_and(run_at = '2100-02-01 00:00:00+00') AS new_run_at
FROM scheduled_jobs.jobs WHERE job_key = 'replace-me';
-- replacing a NOTIFY job with a procedure job
SELECT scheduled_jobs.schedule_job('2100-03-01 00:00:00+00', procedure => 'sj_regress.ok_proc',
	payload => '{"v": 3}', job_key => 'replace-me') = (SELECT id FROM ids WHERE n = 1) AS same_id;
SELECT count(*) AS pending, min(channel) AS channel, min(procedure) AS procedure,
       min(payload::text) AS payload
FROM scheduled_jobs.jobs WHERE job_key = 'replace-me';
SELECT count(*) AS in_history FROM scheduled_jobs.job_history WHERE job_key = 'replace-me';

-- cancel moves the row to job_history as 'cancelled', not fired
SELECT scheduled_jobs.cancel_job('replace-me') AS cancelled;
SELECT scheduled_jobs.cancel_job('replace-me') AS cancelled_twice;
SELECT count(*) AS pending FROM scheduled_jobs.jobs WHERE job_key = 'replace-me';
SELECT state, procedure, payload, attempts, fired_at IS NULL AS not_fired,
       finished_at IS NOT NULL AS finished, id = (SELECT id FROM ids WHERE n = 1) AS same_id
FROM scheduled_jobs.job_history WHERE job_key = 'replace-me';
-- cancel by id; a cancelled job cannot be rescheduled
SELECT scheduled_jobs.cancel_job(id) AS cancelled_by_id FROM scheduled_jobs.jobs WHERE job_key = 'move';
SELECT scheduled_jobs.reschedule_job('move', now() + '1 day') AS reschedule_cancelled;
SELECT state FROM scheduled_jobs.job_history WHERE job_key = 'move';
-- a cancelled key is free again
SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => 'move') > 0 AS rescheduled;

-- a job scheduled in a rolled-back transaction never existed
BEGIN;
SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => 'rolled-back') > 0 AS scheduled;
ROLLBACK;
SELECT count(*) AS rolled_back FROM scheduled_jobs.jobs WHERE job_key = 'rolled-back';

-- invalid: any change in a read-only transaction (as on a standby), one clear error
BEGIN READ ONLY;
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c', job_key => 'ro')$$);
SELECT try($$SELECT scheduled_jobs.cancel_job(1)$$);
SELECT try($$SELECT scheduled_jobs.cancel_job('ro')$$);
SELECT try($$SELECT scheduled_jobs.reschedule_job(1, now() + '1 day')$$);
SELECT try($$SELECT scheduled_jobs.reschedule_job('ro', now() + '1 day')$$);
COMMIT;

-- TRUNCATE ... RESTART IDENTITY keeps ids unique with job_history: the
-- sequence moves past every id in use (here the cancelled 'move' job's)
BEGIN;
TRUNCATE scheduled_jobs.jobs RESTART IDENTITY;
SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c')
	> (SELECT max(id) FROM scheduled_jobs.job_history) AS new_id_past_history;
ROLLBACK;
BEGIN;
ALTER SEQUENCE scheduled_jobs.jobs_id_seq RESTART;
SELECT scheduled_jobs.schedule_job(now() + '1 day', channel => 'c')
	> (SELECT max(id) FROM scheduled_jobs.job_history) AS new_id_past_history;
ROLLBACK;

---------------------------------------------------------------------------
-- Clean up: cancel every pending job, drop what the test made
---------------------------------------------------------------------------
SELECT count(*) > 0 AS cancelled_all
FROM (SELECT scheduled_jobs.cancel_job(id) FROM scheduled_jobs.jobs) c;
SELECT count(*) AS pending FROM scheduled_jobs.jobs;
SELECT count(*) AS notified FROM scheduled_jobs.job_history WHERE state <> 'cancelled';
SET client_min_messages = warning;
DROP SCHEMA sj_regress CASCADE;
RESET client_min_messages;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs FROM regress_sj_app, regress_sj_other;
DROP ROLE regress_sj_nobody;
DROP ROLE regress_sj_other;
DROP ROLE regress_sj_app;
DROP FUNCTION try(text);
