-- Corners of issue 8: jobs that re-arm, reschedule or cancel themselves;
-- cancel and reschedule inside a group commit; large objects left open by
-- one job of a group; the fast insert path after a rolled-back DDL in a
-- subtransaction; procedure targets that cannot run safely; read-only
-- transactions.
--
-- Runs outside a transaction block: the workers only see committed jobs.
-- Everything this file creates is named sj_co* (schema sj_co, roles
-- sj_co_owner, sj_co_alice and sj_co_bob, NOLOGIN, keys 'sj_co:...',
-- channel sj_co_fast), and is dropped at the end (and at the start, after an
-- aborted run).  Needs a superuser (DDL on scheduled_jobs.jobs) and the
-- contrib extension amcheck, which it creates if it is missing (and then
-- drops again at the end).
--
-- Group commit: the jobs of a group must be claimed by one executor.  To
-- keep the other executors from claiming a member of the group on their
-- own, max_executors - 1 "blocker" jobs hold them (they wait for an
-- advisory lock of this session) while the groups run; every job of a group
-- is due at the commit that schedules the group, and each group checks from
-- inside that its members were claimed by its own transaction.
\ir helpers.psql
\set QUIET 1
SET client_min_messages = warning;

-- leftovers of an aborted run (pending jobs of section 4 are left only by a
-- run aborted after its commit; see sj_co_repair_index)
CREATE TEMP TABLE sj_co_leftover AS
	SELECT EXISTS (SELECT FROM scheduled_jobs.jobs WHERE channel = 'sj_co_fast') AS fast_jobs;
CREATE FUNCTION pg_temp.sj_co_forget() RETURNS void LANGUAGE sql AS $$
	DELETE FROM scheduled_jobs.jobs
	WHERE starts_with(procedure, 'sj_co.') OR starts_with(job_key, 'sj_co:')
		OR starts_with(channel, 'sj_co') OR procedure LIKE 'pg\_temp\_%.sj\_co\_t';
	DELETE FROM scheduled_jobs.job_history
	WHERE starts_with(procedure, 'sj_co.') OR starts_with(job_key, 'sj_co:')
		OR starts_with(channel, 'sj_co') OR procedure LIKE 'pg\_temp\_%.sj\_co\_t';
$$;
SELECT pg_temp.sj_co_forget() \g /dev/null
DROP SCHEMA IF EXISTS sj_co CASCADE;
DO $$
DECLARE r name;
BEGIN
	FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'sj\_co\_%' LOOP
		EXECUTE format('DROP OWNED BY %I CASCADE', r);   -- also their large objects
		EXECUTE format('DROP ROLE %I', r);
	END LOOP;
END $$;
SELECT pg_temp.sj_co_forget() \g /dev/null

-- amcheck, for section 4; dropped at the end only if this file created it
CREATE TEMP TABLE sj_co_had_amcheck AS
	SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'amcheck') AS had;
CREATE EXTENSION IF NOT EXISTS amcheck;

-- A run of section 4 against broken code leaves rows of scheduled_jobs.jobs
-- without an entry in jobs_notify_run_at.  Deleting them is not enough:
-- amcheck goes on reporting them until they are pruned, and would fail the
-- next run (against fixed code) for them.  So rebuild the index when such a
-- run left them (force), or when amcheck finds it wrong.
CREATE FUNCTION pg_temp.sj_co_repair_index(force boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF to_regclass('scheduled_jobs.jobs_notify_run_at') IS NULL THEN
		RETURN;
	END IF;
	IF NOT force THEN
		BEGIN
			PERFORM bt_index_check('scheduled_jobs.jobs_notify_run_at', true);
			RETURN;
		EXCEPTION WHEN OTHERS THEN
			NULL;
		END;
	END IF;
	REINDEX INDEX scheduled_jobs.jobs_notify_run_at;
END $$;
SELECT pg_temp.sj_co_repair_index((SELECT fast_jobs FROM sj_co_leftover)) \g /dev/null
-- what amcheck said in section 4
CREATE TEMP TABLE sj_co_amcheck (error text NOT NULL DEFAULT 'none');
INSERT INTO sj_co_amcheck DEFAULT VALUES;

-- The error a statement raises, as 'SQLSTATE: message', or 'none'; the
-- statement is always rolled back.
CREATE FUNCTION pg_temp.sj_co_error(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE sql;
		RAISE EXCEPTION USING ERRCODE = 'SJCO0', MESSAGE = 'sj_co: no error';
	EXCEPTION WHEN OTHERS THEN
		IF SQLSTATE = 'SJCO0' THEN
			RETURN 'none';
		END IF;
		RETURN SQLSTATE || ': ' || SQLERRM;
	END;
END $$;

-- Run a schedule_job statement: its id, or NULL if it raised (the error is
-- recorded in sj_co.results under tag).
CREATE FUNCTION pg_temp.sj_co_try(tag text, sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
BEGIN
	EXECUTE sql INTO id;
	RETURN id;
EXCEPTION WHEN OTHERS THEN
	INSERT INTO sj_co.results (tag, value) VALUES (tag, SQLSTATE || ': ' || SQLERRM);
	RETURN NULL;
END $$;

CREATE ROLE sj_co_owner NOLOGIN;
CREATE ROLE sj_co_alice NOLOGIN;
CREATE ROLE sj_co_bob NOLOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_co_owner, sj_co_alice, sj_co_bob;

CREATE SCHEMA sj_co;
GRANT USAGE ON SCHEMA sj_co TO PUBLIC;
-- one row per run of a job
CREATE TABLE sj_co.runs (tag text NOT NULL, payload jsonb, txid bigint NOT NULL,
	ran_at timestamptz NOT NULL DEFAULT clock_timestamp());
-- what the jobs observed from inside
CREATE TABLE sj_co.results (tag text NOT NULL, value text,
	at timestamptz NOT NULL DEFAULT clock_timestamp());
-- ids of the jobs scheduled below, by name
CREATE TABLE sj_co.ids (name text PRIMARY KEY, id bigint);
GRANT INSERT, SELECT ON sj_co.runs, sj_co.results, sj_co.ids TO PUBLIC;

-- Was the pending job with this key claimed (row-locked) by the calling
-- job's own transaction?  NULL if no such job is pending.  Reads the row as
-- the superuser that owns the function: row-level security would hide
-- another owner's job.
CREATE FUNCTION sj_co.claimed_with_me(key text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
	SELECT j.xmax::text::bigint = txid_current() % 4294967296
	FROM scheduled_jobs.jobs j WHERE j.job_key = key
$$;
REVOKE ALL ON FUNCTION sj_co.claimed_with_me(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sj_co.claimed_with_me(text) TO sj_co_owner, sj_co_alice, sj_co_bob;

-- 1. re-arms itself with the same key
CREATE PROCEDURE sj_co.tick(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('tick', payload, txid_current());
	PERFORM scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'sj_co.tick',
		payload => '{"n": 2}', job_key => 'sj_co:tick');
END $$;
-- 1. reschedules itself by key
CREATE PROCEDURE sj_co.tock(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('tock', payload, txid_current());
	INSERT INTO sj_co.results (tag, value)
	VALUES ('tock:reschedule', scheduled_jobs.reschedule_job('sj_co:tock', now() + interval '1 hour')::text);
END $$;
-- 1. reschedules itself by id, found through the key in its payload
CREATE PROCEDURE sj_co.byid(payload jsonb) LANGUAGE plpgsql AS $$
DECLARE
	my_key text := payload->>'key';
	my_id bigint;
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('byid', payload, txid_current());
	SELECT j.id INTO my_id FROM scheduled_jobs.jobs j WHERE j.job_key = my_key;
	INSERT INTO sj_co.results (tag, value) VALUES ('byid:id', my_id::text);
	INSERT INTO sj_co.results (tag, value)
	VALUES ('byid:reschedule', scheduled_jobs.reschedule_job(my_id, now() + interval '1 hour')::text);
END $$;
-- 1. cancels itself, by id and by key: its run is not pending, so both
-- return false and the run goes on
CREATE PROCEDURE sj_co.selfcancel(payload jsonb) LANGUAGE plpgsql AS $$
DECLARE
	my_id bigint := (SELECT id FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:selfcancel');
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('selfcancel', payload, txid_current());
	INSERT INTO sj_co.results (tag, value)
	VALUES ('selfcancel', scheduled_jobs.cancel_job(my_id)::text || ' '
			|| scheduled_jobs.cancel_job('sj_co:selfcancel')::text);
END $$;

-- 2. and 3. hold an executor until this session releases its advisory lock
CREATE PROCEDURE sj_co.block(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock_shared(7270, 8);
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('block', payload, txid_current());
END $$;
-- 2. the first job of a group: cancels B and reschedules C, its group mates
CREATE PROCEDURE sj_co.ga(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('A', payload, txid_current());
	INSERT INTO sj_co.results (tag, value) VALUES
		('A:B claimed with me', coalesce(sj_co.claimed_with_me('sj_co:B')::text, 'not pending')),
		('A:C claimed with me', coalesce(sj_co.claimed_with_me('sj_co:C')::text, 'not pending'));
	INSERT INTO sj_co.results (tag, value)
	VALUES ('A:cancel B', scheduled_jobs.cancel_job('sj_co:B')::text);
	INSERT INTO sj_co.results (tag, value)
	VALUES ('A:reschedule C', scheduled_jobs.reschedule_job('sj_co:C', now() + interval '1 hour')::text);
END $$;
CREATE PROCEDURE sj_co.gb(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('B', payload, txid_current());
END $$;
CREATE PROCEDURE sj_co.gc(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('C', payload, txid_current());
END $$;
-- 3. alice leaves a large object descriptor open; bob, next in the group,
-- tries to read through it
CREATE PROCEDURE sj_co.alice_lo(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('alice', payload, txid_current());
	INSERT INTO sj_co.results (tag, value)
	VALUES ('alice:bob claimed with me', coalesce(sj_co.claimed_with_me('sj_co:bob')::text, 'not pending'));
	INSERT INTO sj_co.results (tag, value)
	VALUES ('alice:fd', lo_open(lo_create(0), x'60000'::int)::text);   -- INV_READ | INV_WRITE
END $$;
CREATE PROCEDURE sj_co.bob_lo(payload jsonb) LANGUAGE plpgsql AS $$
DECLARE
	fd integer;
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('bob', payload, txid_current());
	SELECT value::integer INTO fd FROM sj_co.results WHERE tag = 'alice:fd';
	BEGIN
		PERFORM loread(coalesce(fd, 0), 10);
		INSERT INTO sj_co.results (tag, value) VALUES ('bob:read', 'ok');
	EXCEPTION WHEN OTHERS THEN
		INSERT INTO sj_co.results (tag, value) VALUES ('bob:read', SQLSTATE);
	END;
END $$;

-- 5. targets that cannot be run safely, or at all, by name
CREATE PROCEDURE pg_temp.sj_co_t(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE PROCEDURE sj_co.over(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE PROCEDURE sj_co.over(payload jsonb, i integer DEFAULT 0) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE PROCEDURE sj_co.outp(payload jsonb, OUT r integer) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_co.runs (tag, payload, txid) VALUES ('outp', payload, txid_current());
	r := 1;
END $$;

SELECT plan(58);

---------------------------------------------------------------------------
-- 1. jobs that re-arm, reschedule or cancel themselves from inside their CALL
---------------------------------------------------------------------------
SET ROLE sj_co_owner;
INSERT INTO sj_co.ids
SELECT name, scheduled_jobs.schedule_job(now(), procedure => 'sj_co.' || name,
		payload => payload::jsonb, job_key => 'sj_co:' || name)
FROM (VALUES ('tick', '{"n": 1}'), ('tock', '{"tag": "tock"}'),
			 ('byid', '{"key": "sj_co:byid"}'), ('selfcancel', '{"tag": "selfcancel"}')) v(name, payload);
RESET ROLE;

SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history h JOIN sj_co.ids i USING (id)
		WHERE i.name IN ('tick', 'tock', 'byid', 'selfcancel')) = 4
		OR EXISTS (SELECT FROM scheduled_jobs.jobs WHERE starts_with(job_key, 'sj_co:') AND last_error IS NOT NULL)$$, 15),
		  'the four self-referring jobs ran and are in job_history');

-- re-armed with schedule_job(... job_key => its own key)
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'tick')),
		  'succeeded', 'tick: its run is in job_history as succeeded, under its id');
SELECT is((SELECT payload FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'tick')),
		  '{"n": 1}'::jsonb, 'tick: the finished run keeps its original payload');
SELECT is((SELECT job_key FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'tick')),
		  'sj_co:tick', 'tick: the finished run keeps its key');
SELECT ok((SELECT run_at < now() FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'tick')),
		  'tick: the finished run keeps the run_at it ran at');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:tick'), 1::bigint,
		  'tick: exactly one job with its key is pending');
SELECT ok(coalesce((SELECT id <> (SELECT id FROM sj_co.ids WHERE name = 'tick')
				   FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:tick'), false),
		  'tick: the pending job has a new id');
SELECT is((SELECT payload FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:tick'), '{"n": 2}'::jsonb,
		  'tick: the pending job has the new payload');
SELECT ok(coalesce((SELECT run_at BETWEEN now() + interval '50 minutes' AND now() + interval '70 minutes'
				   FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:tick'), false),
		  'tick: the pending job is due in an hour');
SELECT is((SELECT count(*) FROM sj_co.runs WHERE tag = 'tick'), 1::bigint, 'tick: it ran once');

-- reschedule_job(its own key, ...)
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'tock:reschedule'), 'true',
		  'tock: reschedule_job on its own key returned true');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'tock')),
		  'succeeded', 'tock: its run is in job_history as succeeded');
SELECT ok((SELECT run_at < now() FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'tock')),
		  'tock: the finished run keeps the run_at it ran at');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:tock'), 1::bigint,
		  'tock: exactly one job with its key is pending');
SELECT ok(coalesce((SELECT id <> (SELECT id FROM sj_co.ids WHERE name = 'tock')
					   AND procedure = 'sj_co.tock' AND payload = '{"tag": "tock"}'
					   AND run_at BETWEEN now() + interval '50 minutes' AND now() + interval '70 minutes'
				   FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:tock'), false),
		  'tock: the pending job has a new id, the same procedure and payload, and is due in an hour');

-- reschedule_job(its own id, ...)
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'byid:id'),
		  (SELECT id::text FROM sj_co.ids WHERE name = 'byid'), 'byid: the job found its own id');
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'byid:reschedule'), 'true',
		  'byid: reschedule_job on its own id returned true');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'byid')),
		  'succeeded', 'byid: its run is in job_history as succeeded');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:byid'), 1::bigint,
		  'byid: exactly one job with its key is pending');
SELECT ok(coalesce((SELECT id <> (SELECT id FROM sj_co.ids WHERE name = 'byid')
					   AND procedure = 'sj_co.byid' AND payload = '{"key": "sj_co:byid"}'
					   AND run_at BETWEEN now() + interval '50 minutes' AND now() + interval '70 minutes'
				   FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:byid'), false),
		  'byid: the pending job has a new id, the same procedure and payload, and is due in an hour');

-- cancel_job(its own key)
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'selfcancel'), 'false false',
		  'selfcancel: cancel_job on itself, by id and by key, returns false inside the job');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'selfcancel')),
		  'succeeded', 'selfcancel: the run goes on and succeeds');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:selfcancel'), 0::bigint,
		  'selfcancel: nothing with its key is pending');

---------------------------------------------------------------------------
-- 2. and 3. group commit: hold all executors but one with blocker jobs
---------------------------------------------------------------------------
SELECT pg_advisory_lock(7270, 8) \g /dev/null
SET ROLE sj_co_owner;
INSERT INTO sj_co.ids
SELECT 'block' || g, scheduled_jobs.schedule_job(now(), procedure => 'sj_co.block',
		payload => jsonb_build_object('n', g), job_key => 'sj_co:block:' || g)
FROM generate_series(1, current_setting('scheduled_jobs.max_executors')::integer - 1) g;
RESET ROLE;
SELECT ok(current_setting('scheduled_jobs.group_commit_size')::integer >= 3
		  AND pg_temp.sj_wait($$(SELECT count(*) FROM pg_stat_activity
				WHERE backend_type = 'scheduled_jobs executor' AND datname = current_database()
				AND query LIKE '%CALL sj_co.block' AND wait_event_type = 'Lock')
			= current_setting('scheduled_jobs.max_executors')::integer - 1$$, 15),
		  'setup: max_executors - 1 executors are held by blocker jobs; group_commit_size >= 3');

-- 2. A, B, C: one transaction, all due at its commit, A first, then B, C
SET ROLE sj_co_owner;
INSERT INTO sj_co.ids
SELECT name, scheduled_jobs.schedule_job(now() - interval '1 second' + ms * interval '1 millisecond',
		procedure => 'sj_co.g' || lower(name), payload => jsonb_build_object('tag', name),
		job_key => 'sj_co:' || name, group_commit => true)
FROM (VALUES ('A', 0), ('B', 1), ('C', 2)) v(name, ms);
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$EXISTS (SELECT FROM scheduled_jobs.job_history
		WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'A'))
		OR EXISTS (SELECT FROM scheduled_jobs.jobs WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'A')
				   AND last_error IS NOT NULL)$$, 15),
		  'group: A ran');
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'A:B claimed with me'), 'true',
		  'setup: B was claimed in A''s group');
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'A:C claimed with me'), 'true',
		  'setup: C was claimed in A''s group');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'A')),
		  'succeeded', 'group: A succeeded');
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'A:cancel B'), 'true',
		  'group: A''s cancel_job of B returned true');
SELECT is((SELECT count(*) FROM sj_co.runs WHERE tag = 'B'), 0::bigint,
		  'group: B, cancelled by A, never ran');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'B')),
		  'cancelled', 'group: B is in job_history as cancelled');
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'A:reschedule C'), 'true',
		  'group: A''s reschedule_job of C returned true');
SELECT is((SELECT count(*) FROM sj_co.runs WHERE tag = 'C'), 0::bigint,
		  'group: C, rescheduled by A to an hour later, did not run now');
SELECT ok(coalesce((SELECT run_at BETWEEN now() + interval '50 minutes' AND now() + interval '70 minutes'
				   FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:C'), false),
		  'group: C is pending, due in an hour');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'C')),
		  0::bigint, 'group: C is not in job_history');

-- 3. alice then bob, one group, one transaction
BEGIN;
SET LOCAL ROLE sj_co_alice;
INSERT INTO sj_co.ids
SELECT 'alice', scheduled_jobs.schedule_job(now() - interval '1 second', procedure => 'sj_co.alice_lo',
		job_key => 'sj_co:alice', group_commit => true);
SET LOCAL ROLE sj_co_bob;
INSERT INTO sj_co.ids
SELECT 'bob', scheduled_jobs.schedule_job(now() - interval '1 second' + interval '1 millisecond',
		procedure => 'sj_co.bob_lo', job_key => 'sj_co:bob', group_commit => true);
RESET ROLE;
COMMIT;
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history h JOIN sj_co.ids i USING (id)
		WHERE i.name IN ('alice', 'bob')) = 2
		OR EXISTS (SELECT FROM scheduled_jobs.jobs WHERE job_key IN ('sj_co:alice', 'sj_co:bob')
				   AND last_error IS NOT NULL)$$, 15),
		  'large objects: the jobs of alice and bob ran');
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'alice:bob claimed with me'), 'true',
		  'setup: bob''s job was claimed in alice''s group');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'alice')),
		  'succeeded', 'large objects: alice''s job, which left a descriptor open, succeeded');
SELECT isnt((SELECT value FROM sj_co.results WHERE tag = 'bob:read'), 'ok',
			'large objects: bob''s job cannot read through the descriptor alice''s job left open');
SELECT is((SELECT value FROM sj_co.results WHERE tag = 'bob:read'), '42704',
		  'large objects: for bob''s job it is an invalid descriptor (42704)');
SELECT is((SELECT state FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'bob')),
		  'succeeded', 'large objects: bob''s job succeeded');

-- release the blockers
SELECT pg_advisory_unlock(7270, 8) \g /dev/null
SELECT ok(pg_temp.sj_wait($$NOT EXISTS (SELECT FROM scheduled_jobs.jobs WHERE starts_with(job_key, 'sj_co:block:'))$$, 15),
		  'the blocker jobs finished');

---------------------------------------------------------------------------
-- 4. the fast (keyless) insert path after a DDL rolled back in a subtransaction
---------------------------------------------------------------------------
-- psql's ON_ERROR_ROLLBACK (pg_prove sets it) sends SAVEPOINT and RELEASE
-- around each statement of a transaction block; those are utility commands
-- too and would hide the case: off for this transaction.
\if :{?ON_ERROR_ROLLBACK}
\set sj_co_on_error_rollback :ON_ERROR_ROLLBACK
\else
\set sj_co_on_error_rollback off
\endif
\set ON_ERROR_ROLLBACK off
BEGIN;
INSERT INTO sj_co.ids
SELECT 'fast1', scheduled_jobs.schedule_job(now() + interval '2 seconds', channel => 'sj_co_fast',
		payload => '{"n": 1}');
DO $$
BEGIN
	DROP INDEX scheduled_jobs.jobs_notify_run_at;
	INSERT INTO sj_co.ids
	SELECT 'fast2', scheduled_jobs.schedule_job(now() + interval '2 seconds', channel => 'sj_co_fast',
			payload => '{"n": 2}');
	RAISE EXCEPTION 'sj_co: roll back the DDL';
EXCEPTION WHEN OTHERS THEN
	INSERT INTO sj_co.results (tag, value) VALUES ('fast:subtransaction', SQLERRM);
END $$;
INSERT INTO sj_co.ids
SELECT 'fast3', scheduled_jobs.schedule_job(now() + interval '2 seconds', channel => 'sj_co_fast',
		payload => '{"n": 3}');
INSERT INTO sj_co.ids
SELECT 'fast' || n, scheduled_jobs.schedule_job(now() + interval '2 seconds', channel => 'sj_co_fast',
		payload => jsonb_build_object('n', n))
FROM generate_series(4, 5) n;
COMMIT;
\set ON_ERROR_ROLLBACK :sj_co_on_error_rollback

SELECT is((SELECT value FROM sj_co.results WHERE tag = 'fast:subtransaction'), 'sj_co: roll back the DDL',
		  'fast path: setup: the DROP INDEX ran and was rolled back with its subtransaction');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs j JOIN sj_co.ids i USING (id)
		   WHERE i.name IN ('fast1', 'fast3', 'fast4', 'fast5')), 4::bigint,
		  'fast path: the four jobs are pending, the one of the subtransaction is not');
UPDATE sj_co_amcheck
SET error = pg_temp.sj_co_error($$SELECT bt_index_check('scheduled_jobs.jobs_notify_run_at', true)$$);
SELECT is((SELECT error FROM sj_co_amcheck), 'none',
		  'fast path: amcheck (heapallindexed) finds every pending NOTIFY job in jobs_notify_run_at');
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history h JOIN sj_co.ids i USING (id)
		WHERE i.name IN ('fast1', 'fast3', 'fast4', 'fast5') AND h.state = 'notified') = 4$$, 10),
		  'fast path: all four jobs fired');

---------------------------------------------------------------------------
-- 5. procedure targets
---------------------------------------------------------------------------
-- (run_at an hour ahead: if the code accepts one, it does not fire here)
SELECT diag('pg_temp procedure: schedule_job raises ' || pg_temp.sj_co_error(
	$$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'pg_temp.sj_co_t')$$));
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'pg_temp.sj_co_t')$$,
				 NULL, NULL, 'a procedure in pg_temp is refused at schedule time');
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'pg_temp.sj_co_t(jsonb)')$$,
				 NULL, NULL, 'a procedure in pg_temp is refused at schedule time, also named with its arguments');
SELECT diag('overloaded procedure: schedule_job raises ' || pg_temp.sj_co_error(
	$$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'sj_co.over')$$));
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'sj_co.over')$$,
				 NULL, NULL, 'a procedure whose CALL would be ambiguous (overloaded with a defaulted argument) is refused at schedule time');

-- with an OUT parameter: refused at schedule time, or it runs
SET ROLE sj_co_owner;
INSERT INTO sj_co.ids
SELECT 'outp', pg_temp.sj_co_try('outp:schedule', $$SELECT scheduled_jobs.schedule_job(now(),
		procedure => 'sj_co.outp', job_key => 'sj_co:outp', max_attempts => 1)$$);
RESET ROLE;
SELECT diag(CASE WHEN id IS NULL
				 THEN 'OUT parameter: refused at schedule time: ' || (SELECT value FROM sj_co.results WHERE tag = 'outp:schedule')
				 ELSE 'OUT parameter: accepted at schedule time' END)
FROM sj_co.ids WHERE name = 'outp';
-- if accepted, wait for its one attempt (in a statement of its own: the
-- assertion's snapshot must be taken after the job finished)
SELECT id IS NULL OR pg_temp.sj_wait($$EXISTS (SELECT FROM scheduled_jobs.job_history
		WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'outp'))$$, 15)
FROM sj_co.ids WHERE name = 'outp' \g /dev/null
SELECT ok(coalesce((SELECT id IS NULL FROM sj_co.ids WHERE name = 'outp'), false)
		  OR coalesce((SELECT state = 'succeeded' FROM scheduled_jobs.job_history
					   WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'outp')), false),
		  'a procedure with an OUT parameter is refused at schedule time, or its job succeeds');
SELECT diag('OUT parameter: the job ended ' || state || coalesce(': ' || last_error, ''))
FROM scheduled_jobs.job_history WHERE id = (SELECT id FROM sj_co.ids WHERE name = 'outp');

---------------------------------------------------------------------------
-- 6. read-only transactions: one clear error, 25006
---------------------------------------------------------------------------
BEGIN READ ONLY;
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'x')$$,
				 '25006', NULL, 'read-only: schedule_job without a key raises 25006');
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'x', job_key => 'sj_co:ro')$$,
				 '25006', NULL, 'read-only: schedule_job with a key raises 25006');
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'sj_co.gc')$$,
				 '25006', NULL, 'read-only: schedule_job of a procedure raises 25006');
SELECT throws_ok($$SELECT scheduled_jobs.cancel_job('sj_co:ro')$$,
				 '25006', NULL, 'read-only: cancel_job(key) raises 25006');
SELECT throws_ok($$SELECT scheduled_jobs.cancel_job(0::bigint)$$,
				 '25006', NULL, 'read-only: cancel_job(id) raises 25006');
SELECT throws_ok($$SELECT scheduled_jobs.reschedule_job('sj_co:ro', now() + interval '1 hour')$$,
				 '25006', NULL, 'read-only: reschedule_job(key) raises 25006');
SELECT throws_ok($$SELECT scheduled_jobs.reschedule_job(0::bigint, now() + interval '1 hour')$$,
				 '25006', NULL, 'read-only: reschedule_job(id) raises 25006');
-- commit, not roll back: pgTAP keeps its results in (temporary) tables
COMMIT;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_co:ro'), 0::bigint,
		  'read-only: nothing was scheduled');

SELECT * FROM finish();

-- clean up
SELECT pg_temp.sj_co_forget() \g /dev/null
DROP SCHEMA sj_co CASCADE;
DROP PROCEDURE pg_temp.sj_co_t(jsonb);
DROP OWNED BY sj_co_owner, sj_co_alice, sj_co_bob CASCADE;   -- alice's large object too
DROP ROLE sj_co_owner, sj_co_alice, sj_co_bob;
SELECT pg_temp.sj_co_forget() \g /dev/null
SELECT pg_temp.sj_co_repair_index((SELECT error <> 'none' FROM sj_co_amcheck)) \g /dev/null
SELECT CASE WHEN NOT had THEN 'DROP EXTENSION amcheck' END FROM sj_co_had_amcheck \gexec
