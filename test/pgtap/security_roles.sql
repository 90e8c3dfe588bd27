-- The security model: who may schedule what, who sees and changes which
-- jobs, no write access to the job tables, no escape from the job's role
-- through the executor, and nothing a job leaves in its session reaches the
-- next job.
--
-- Roles: sj_sr_alice and sj_sr_bob schedule jobs; sj_sr_carol is a member of
-- sj_sr_alice; sj_sr_noexec may call schedule_job but not the procedure.
-- Everything this file creates is named sj_sr*.
\ir helpers.psql
\set QUIET 1
SET client_min_messages = warning;

DELETE FROM scheduled_jobs.jobs WHERE procedure LIKE 'sj_sr.%' OR job_key LIKE 'sj_sr:%';
DELETE FROM scheduled_jobs.job_history WHERE procedure LIKE 'sj_sr.%' OR job_key LIKE 'sj_sr:%';
DROP SCHEMA IF EXISTS sj_sr CASCADE;
DROP SCHEMA IF EXISTS sj_sr_hidden CASCADE;
DO $$
DECLARE r name;
BEGIN
	FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'sj\_sr\_%' LOOP
		EXECUTE format('DROP OWNED BY %I CASCADE', r);
		EXECUTE format('DROP ROLE %I', r);
	END LOOP;
END $$;

CREATE ROLE sj_sr_alice NOLOGIN;
CREATE ROLE sj_sr_bob NOLOGIN;
CREATE ROLE sj_sr_carol NOLOGIN IN ROLE sj_sr_alice;
CREATE ROLE sj_sr_noexec NOLOGIN;
CREATE ROLE sj_sr_nobody NOLOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs
	TO sj_sr_alice, sj_sr_bob, sj_sr_carol, sj_sr_noexec;

CREATE SCHEMA sj_sr;
GRANT USAGE ON SCHEMA sj_sr TO PUBLIC;
CREATE TABLE sj_sr.ids (name text PRIMARY KEY, id bigint);
GRANT INSERT, SELECT ON sj_sr.ids TO PUBLIC;

CREATE PROCEDURE sj_sr.work(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	NULL;
END $$;
REVOKE EXECUTE ON PROCEDURE sj_sr.work(jsonb) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE sj_sr.work(jsonb) TO sj_sr_alice, sj_sr_bob;

-- a procedure in a schema the scheduling role has no USAGE on
CREATE SCHEMA sj_sr_hidden;
CREATE PROCEDURE sj_sr_hidden.work(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	NULL;
END $$;

CREATE FUNCTION sj_sr.done(name text) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
	SELECT EXISTS (SELECT FROM scheduled_jobs.job_history h JOIN sj_sr.ids i USING (id)
				   WHERE i.name = $1)
$$;
CREATE FUNCTION sj_sr.h(name text) RETURNS scheduled_jobs.job_history
LANGUAGE sql VOLATILE AS $$
	SELECT h.* FROM scheduled_jobs.job_history h JOIN sj_sr.ids i USING (id) WHERE i.name = $1
$$;

-- 'state sqlstate' of a finished job
CREATE FUNCTION sj_sr.outcome(name text) RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT h.state || ' ' || coalesce(h.last_error_data->>'sqlstate', '-')
	FROM scheduled_jobs.job_history h JOIN sj_sr.ids i USING (id) WHERE i.name = $1
$$;

-- escapes: each tries to become a superuser again inside the job
CREATE PROCEDURE sj_sr.esc_set_role(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	SET ROLE postgres;
	INSERT INTO sj_sr.escaped VALUES ('set_role', current_user);
END $$;
CREATE PROCEDURE sj_sr.esc_reset_role(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	RESET ROLE;
	INSERT INTO sj_sr.escaped VALUES ('reset_role', current_user);
END $$;
CREATE PROCEDURE sj_sr.esc_set_config(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('role', 'postgres', false);
	INSERT INTO sj_sr.escaped VALUES ('set_config', current_user);
END $$;
CREATE PROCEDURE sj_sr.esc_session_auth(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	SET SESSION AUTHORIZATION postgres;
	INSERT INTO sj_sr.escaped VALUES ('session_auth', current_user);
END $$;
CREATE PROCEDURE sj_sr.esc_alter_role(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	ALTER ROLE sj_sr_alice SUPERUSER;
	INSERT INTO sj_sr.escaped VALUES ('alter_role', current_user);
END $$;
CREATE TABLE sj_sr.escaped (how text, who name);
GRANT INSERT ON sj_sr.escaped TO sj_sr_alice;

-- session leftovers: job 1 leaves everything it can in its session, the
-- later jobs record what they find in theirs
CREATE TABLE sj_sr.session (
	tag text NOT NULL,
	pid integer NOT NULL,
	work_mem text NOT NULL,
	work_mem_is_default boolean NOT NULL,
	search_path text NOT NULL,
	temp_table boolean NOT NULL,
	prepared bigint NOT NULL,
	listening bigint NOT NULL,
	advisory bigint NOT NULL
);
GRANT INSERT ON sj_sr.session TO sj_sr_alice;
CREATE PROCEDURE sj_sr.observe(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_sr.session
	SELECT payload->>'tag', pg_backend_pid(), current_setting('work_mem'),
		   (SELECT setting = reset_val FROM pg_settings WHERE name = 'work_mem'),
		   current_setting('search_path'),
		   to_regclass('pg_temp.sj_sr_tmp') IS NOT NULL,
		   (SELECT count(*) FROM pg_prepared_statements),
		   (SELECT count(*) FROM pg_listening_channels()),
		   (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
			AND pid = pg_backend_pid() AND objid IN (4242017, 4242018));
END $$;
CREATE PROCEDURE sj_sr.litter(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('work_mem', '1234kB', false);
	PERFORM set_config('search_path', 'sj_sr_nowhere', false);
	PERFORM pg_catalog.pg_advisory_lock(4242017);
	CREATE TEMP TABLE sj_sr_tmp (x integer);
	EXECUTE 'PREPARE sj_sr_stmt AS SELECT 1';
	-- core refuses LISTEN in background workers (0A000); if it ever
	-- allows it, the observers below check that it does not leak
	BEGIN
		LISTEN sj_sr_channel;
	EXCEPTION WHEN feature_not_supported THEN
		NULL;
	END;
	SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;
	CALL sj_sr.observe('{"tag": "litter"}');
	SET TRANSACTION READ ONLY;
END $$;
-- the same, and then fails: what a failed attempt leaves must not leak either
CREATE PROCEDURE sj_sr.litter_fail(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('work_mem', '1235kB', false);
	PERFORM pg_catalog.pg_advisory_lock(4242018);
	EXECUTE 'PREPARE sj_sr_stmt_fail AS SELECT 1';
	SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;
	SET TRANSACTION READ ONLY;
	RAISE EXCEPTION 'littered and failed' USING DETAIL = pg_backend_pid();
END $$;
GRANT EXECUTE ON PROCEDURE sj_sr.litter(jsonb), sj_sr.litter_fail(jsonb), sj_sr.observe(jsonb) TO PUBLIC;

SELECT plan(58);

-- 1. scheduling needs EXECUTE on schedule_job and on the procedure
SET ROLE sj_sr_nobody;
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now(), procedure => 'sj_sr.work')$$,
				 '42501', NULL, 'a role without EXECUTE on schedule_job cannot schedule');
SELECT throws_ok($$SELECT scheduled_jobs.cancel_job(1::bigint)$$,
				 '42501', NULL, '... nor cancel');
RESET ROLE;
SET ROLE sj_sr_noexec;
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now(), procedure => 'sj_sr.work')$$,
				 '42501', NULL, 'a role without EXECUTE on the procedure cannot schedule it');
RESET ROLE;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE procedure = 'sj_sr.work'), 0::bigint,
		  'and nothing was scheduled');
GRANT EXECUTE ON PROCEDURE sj_sr_hidden.work(jsonb) TO sj_sr_noexec;
SET ROLE sj_sr_noexec;
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'sj_sr_hidden.work')$$,
				 '42501', NULL, 'a role without USAGE on the procedure''s schema cannot schedule it');
RESET ROLE;

-- 2. visibility and control of other roles' jobs
SET ROLE sj_sr_alice;
INSERT INTO sj_sr.ids VALUES
	('alice_pending', scheduled_jobs.schedule_job(now() + interval '1 hour',
		procedure => 'sj_sr.work', job_key => 'sj_sr:alice_pending')),
	('alice_done', scheduled_jobs.schedule_job(now(),
		procedure => 'sj_sr.work', job_key => 'sj_sr:alice_done'));
RESET ROLE;
SET ROLE sj_sr_bob;
INSERT INTO sj_sr.ids VALUES
	('bob_pending', scheduled_jobs.schedule_job(now() + interval '1 hour',
		procedure => 'sj_sr.work', job_key => 'sj_sr:bob_pending'));
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_sr.done('alice_done')$$, 30), 'alice''s immediate job finished');

SET ROLE sj_sr_bob;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key LIKE 'sj_sr:alice%'), 0::bigint,
		  'bob does not see alice''s pending jobs');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key LIKE 'sj_sr:alice%'), 0::bigint,
		  'bob does not see alice''s finished jobs');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_sr:bob_pending'), 1::bigint,
		  'bob sees his own job');
SELECT is(scheduled_jobs.cancel_job((SELECT id FROM sj_sr.ids WHERE name = 'alice_pending')), false,
		  'bob cannot cancel alice''s job by id');
SELECT is(scheduled_jobs.cancel_job('sj_sr:alice_pending'), false,
		  'bob cannot cancel alice''s job by key');
SELECT is(scheduled_jobs.reschedule_job((SELECT id FROM sj_sr.ids WHERE name = 'alice_pending'), now()),
		  false, 'bob cannot reschedule alice''s job by id');
SELECT is(scheduled_jobs.reschedule_job('sj_sr:alice_pending', now()), false,
		  'bob cannot reschedule alice''s job by key');
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now(), procedure => 'sj_sr.work',
					job_key => 'sj_sr:alice_pending')$$,
				 '23505', NULL, 'bob cannot replace alice''s job through its job_key');
RESET ROLE;
SELECT ok((SELECT run_at > now() + interval '50 minutes' AND owner = 'sj_sr_alice'::regrole
		   FROM scheduled_jobs.jobs WHERE job_key = 'sj_sr:alice_pending'),
		  'alice''s job is untouched');

SET ROLE sj_sr_alice;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_sr:bob_pending'), 0::bigint,
		  'alice does not see bob''s job');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'sj_sr:alice_done'), 1::bigint,
		  'alice sees her finished job');
RESET ROLE;

SET ROLE sj_sr_carol;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_sr:alice_pending'), 1::bigint,
		  'carol, a member of alice, sees alice''s pending job');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'sj_sr:alice_done'), 1::bigint,
		  '... and her finished job');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_sr:bob_pending'), 0::bigint,
		  '... but not bob''s');
SELECT is(scheduled_jobs.reschedule_job('sj_sr:alice_pending', now() + interval '2 hours'), true,
		  'carol can reschedule alice''s job');
SELECT is(scheduled_jobs.cancel_job((SELECT id FROM sj_sr.ids WHERE name = 'alice_pending')), true,
		  'carol can cancel alice''s job');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE job_key = 'sj_sr:alice_pending'), 'cancelled',
		  'carol sees it cancelled');
SELECT is(scheduled_jobs.cancel_job('sj_sr:bob_pending'), false, 'carol cannot cancel bob''s job');
RESET ROLE;

GRANT EXECUTE ON PROCEDURE sj_sr.work(jsonb) TO sj_sr_carol;
SET ROLE sj_sr_carol;
INSERT INTO sj_sr.ids VALUES ('carol_pending', scheduled_jobs.schedule_job(now() + interval '1 hour',
		procedure => 'sj_sr.work', job_key => 'sj_sr:carol_pending'));
RESET ROLE;
SET ROLE sj_sr_alice;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_sr:carol_pending'), 0::bigint,
		  'alice does not see the job of carol, her member');
SELECT is(scheduled_jobs.cancel_job('sj_sr:carol_pending'), false, '... nor cancel it');
RESET ROLE;

-- 3. the job tables are read-only for ordinary roles
SET ROLE sj_sr_alice;
SELECT throws_ok($$INSERT INTO scheduled_jobs.jobs (run_at, procedure, owner)
					VALUES (now(), 'sj_sr.work', 'postgres')$$,
				 '42501', NULL, 'alice cannot INSERT into jobs');
SELECT throws_ok($$UPDATE scheduled_jobs.jobs SET run_at = now()$$,
				 '42501', NULL, 'alice cannot UPDATE jobs');
SELECT throws_ok($$DELETE FROM scheduled_jobs.jobs$$,
				 '42501', NULL, 'alice cannot DELETE from jobs');
SELECT throws_ok($$TRUNCATE scheduled_jobs.jobs$$,
				 '42501', NULL, 'alice cannot TRUNCATE jobs');
SELECT throws_ok($$INSERT INTO scheduled_jobs.job_history (id, run_at, procedure, payload, max_attempts,
					owner, attempts, created_at, state, finished_at)
					VALUES (-1, now(), 'sj_sr.work', '{}', 1, 'postgres', 1, now(), 'succeeded', now())$$,
				 '42501', NULL, 'alice cannot INSERT into job_history');
SELECT throws_ok($$UPDATE scheduled_jobs.job_history SET state = 'failed'$$,
				 '42501', NULL, 'alice cannot UPDATE job_history');
SELECT throws_ok($$DELETE FROM scheduled_jobs.job_history$$,
				 '42501', NULL, 'alice cannot DELETE from job_history');
RESET ROLE;

-- 4. a job cannot take back the executor's superuser identity
SET ROLE sj_sr_alice;
INSERT INTO sj_sr.ids
SELECT p, scheduled_jobs.schedule_job(now(), procedure => 'sj_sr.' || p,
		job_key => 'sj_sr:' || p, max_attempts => 1)
FROM unnest(ARRAY['esc_set_role', 'esc_reset_role', 'esc_set_config', 'esc_session_auth',
				  'esc_alter_role']) p;
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_sr.done('esc_set_role') AND sj_sr.done('esc_reset_role')
		AND sj_sr.done('esc_set_config') AND sj_sr.done('esc_session_auth')
		AND sj_sr.done('esc_alter_role')$$, 30), 'the escape jobs finished');
SELECT is(sj_sr.outcome('esc_set_role'),
		  'failed 42501', 'SET ROLE postgres fails with 42501, recorded');
SELECT is(sj_sr.outcome('esc_reset_role'),
		  'failed 42501', 'RESET ROLE fails with 42501, recorded');
SELECT is(sj_sr.outcome('esc_set_config'),
		  'failed 42501', 'set_config(''role'', ...) fails with 42501, recorded');
SELECT is(sj_sr.outcome('esc_session_auth'),
		  'failed 42501', 'SET SESSION AUTHORIZATION postgres fails with 42501, recorded');
SELECT is(sj_sr.outcome('esc_alter_role'),
		  'failed 42501', 'ALTER ROLE ... SUPERUSER fails with 42501, recorded');
SELECT is((SELECT count(*) FROM sj_sr.escaped), 0::bigint, 'no escape got further');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'sj_sr_alice'), false,
		  'alice is still no superuser');

-- 5. EXECUTE revoked after scheduling: the job fails, as its owner
SET ROLE sj_sr_bob;
INSERT INTO sj_sr.ids VALUES ('revoked', scheduled_jobs.schedule_job(now() + interval '1 hour',
		procedure => 'sj_sr.work', job_key => 'sj_sr:revoked', max_attempts => 1));
RESET ROLE;
REVOKE EXECUTE ON PROCEDURE sj_sr.work(jsonb) FROM sj_sr_bob;
SET ROLE sj_sr_bob;
SELECT scheduled_jobs.reschedule_job('sj_sr:revoked', now()) \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_sr.done('revoked')$$, 30), 'the job whose EXECUTE was revoked finished');
SELECT is(sj_sr.outcome('revoked'),
		  'failed 42501', 'it failed with 42501');

-- 6. session leftovers do not reach the next job: job 1 litters its
-- session, then many jobs observe theirs, on every executor
SET ROLE sj_sr_alice;
INSERT INTO sj_sr.ids VALUES
	('litter', scheduled_jobs.schedule_job(now(),
		procedure => 'sj_sr.litter', job_key => 'sj_sr:litter', max_attempts => 1)),
	('litter_fail', scheduled_jobs.schedule_job(now(),
		procedure => 'sj_sr.litter_fail', job_key => 'sj_sr:litter_fail', max_attempts => 1));
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$sj_sr.done('litter') AND sj_sr.done('litter_fail')$$, 30),
		  'the littering jobs finished');
SELECT is((sj_sr.h('litter')).state, 'succeeded', 'one succeeded');
SELECT is(sj_sr.outcome('litter_fail'), 'failed P0001', 'the other failed, as it should');
SELECT ok((SELECT work_mem = '1234kB' AND search_path = 'sj_sr_nowhere' AND temp_table
		   AND prepared = 1 AND advisory = 1
		   FROM sj_sr.session WHERE tag = 'litter'),
		  'it left GUCs, a temp table, a prepared statement and an advisory lock');
SELECT is((SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid IN (4242017, 4242018)),
		  0::bigint, 'their advisory locks were released');
SELECT is((SELECT count(*) FROM pg_class WHERE relname = 'sj_sr_tmp'), 0::bigint,
		  'its temp table was dropped');

-- observers in rounds, until one ran in the executor of each littering job
CREATE FUNCTION sj_sr.observe_round(round integer) RETURNS void
LANGUAGE sql AS $$
	SELECT scheduled_jobs.schedule_job(now(), procedure => 'sj_sr.observe',
		payload => jsonb_build_object('tag', 'observer'), job_key => 'sj_sr:observe:' || round || ':' || g)
	FROM generate_series(1, 12) g
$$;
CREATE FUNCTION sj_sr.observed_litter_pid() RETURNS boolean
LANGUAGE sql VOLATILE AS $$
	SELECT (SELECT pid FROM sj_sr.session WHERE tag = 'litter')
			IN (SELECT pid FROM sj_sr.session WHERE tag = 'observer')
		AND (SELECT (h.last_error_data->>'detail')::integer FROM scheduled_jobs.job_history h
			 JOIN sj_sr.ids i USING (id) WHERE i.name = 'litter_fail')
			IN (SELECT pid FROM sj_sr.session WHERE tag = 'observer')
$$;
CREATE FUNCTION sj_sr.round_done(round integer) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
	SELECT count(*) = 12 FROM scheduled_jobs.job_history
	WHERE job_key LIKE 'sj_sr:observe:' || round || ':%'
$$;
SET ROLE sj_sr_alice;
SELECT sj_sr.observe_round(1) \g /dev/null
RESET ROLE;
SELECT pg_temp.sj_wait($$sj_sr.round_done(1)$$, 30) \g /dev/null
SELECT NOT sj_sr.observed_litter_pid() AS again \gset
\if :again
SET ROLE sj_sr_alice;
SELECT sj_sr.observe_round(2) \g /dev/null
RESET ROLE;
SELECT pg_temp.sj_wait($$sj_sr.round_done(2)$$, 30) \g /dev/null
\endif
SELECT NOT sj_sr.observed_litter_pid() AS again \gset
\if :again
SET ROLE sj_sr_alice;
SELECT sj_sr.observe_round(3) \g /dev/null
RESET ROLE;
SELECT pg_temp.sj_wait($$sj_sr.round_done(3)$$, 30) \g /dev/null
\endif
SELECT ok(sj_sr.observed_litter_pid(), 'observers ran in the executors of both littering jobs');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history
		   WHERE job_key LIKE 'sj_sr:observe:%' AND state <> 'succeeded'), 0::bigint,
		  'every observer succeeded');
SELECT is((SELECT count(*) FROM sj_sr.session WHERE tag = 'observer' AND work_mem = '1234kB'), 0::bigint,
		  'no observer has the littering job''s work_mem');
SELECT is((SELECT count(*) FROM sj_sr.session WHERE tag = 'observer' AND NOT work_mem_is_default), 0::bigint,
		  'every observer has the default work_mem');
SELECT is((SELECT count(*) FROM sj_sr.session WHERE tag = 'observer' AND search_path LIKE '%sj_sr_nowhere%'),
		  0::bigint, 'no observer has its search_path');
SELECT is((SELECT count(*) FROM sj_sr.session WHERE tag = 'observer' AND temp_table), 0::bigint,
		  'no observer sees its temp table');
SELECT is((SELECT count(*) FROM sj_sr.session WHERE tag = 'observer' AND prepared > 0), 0::bigint,
		  'no observer has a prepared statement');
SELECT is((SELECT count(*) FROM sj_sr.session WHERE tag = 'observer' AND listening > 0), 0::bigint,
		  'no observer listens');
SELECT is((SELECT count(*) FROM sj_sr.session WHERE tag = 'observer' AND advisory > 0), 0::bigint,
		  'no observer holds its advisory lock');

SELECT * FROM finish();

-- clean up
DELETE FROM scheduled_jobs.jobs WHERE procedure LIKE 'sj_sr%' OR job_key LIKE 'sj_sr:%';
DELETE FROM scheduled_jobs.job_history WHERE procedure LIKE 'sj_sr%' OR job_key LIKE 'sj_sr:%';
DROP SCHEMA sj_sr CASCADE;
DROP SCHEMA sj_sr_hidden CASCADE;
DROP OWNED BY sj_sr_alice, sj_sr_bob, sj_sr_carol, sj_sr_noexec, sj_sr_nobody CASCADE;
DROP ROLE sj_sr_carol, sj_sr_alice, sj_sr_bob, sj_sr_noexec, sj_sr_nobody;
