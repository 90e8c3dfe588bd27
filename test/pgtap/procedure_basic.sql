-- Procedure jobs: they run once, at their time, each in its own transaction,
-- as the role that scheduled them (current_user at scheduling).
--
-- Runs outside a transaction block: the executors only see committed jobs.
-- Everything this file creates is named sj_pb*, and is dropped at the end
-- (and at the start, after an aborted run).
\ir helpers.psql
\set QUIET 1
SET client_min_messages = warning;

-- leftovers of an aborted run
DELETE FROM scheduled_jobs.jobs WHERE procedure LIKE 'sj_pb.%' OR procedure LIKE '"sj_pb Odd".%';
DELETE FROM scheduled_jobs.job_history WHERE procedure LIKE 'sj_pb.%' OR procedure LIKE '"sj_pb Odd".%';
DROP SCHEMA IF EXISTS sj_pb CASCADE;
DROP SCHEMA IF EXISTS "sj_pb Odd" CASCADE;
DO $$
DECLARE r name;
BEGIN
	FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'sj\_pb\_%' LOOP
		EXECUTE format('DROP OWNED BY %I CASCADE', r);
		EXECUTE format('DROP ROLE %I', r);
	END LOOP;
END $$;

-- sj_pb_owner, sj_pb_a, sj_pb_b, sj_pb_t schedule jobs; sj_pb_app only
-- inserts orders.  None can log in.
CREATE ROLE sj_pb_owner NOLOGIN;
CREATE ROLE sj_pb_a NOLOGIN;
CREATE ROLE sj_pb_b NOLOGIN;
CREATE ROLE sj_pb_t NOLOGIN;
CREATE ROLE sj_pb_app NOLOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_pb_owner, sj_pb_a, sj_pb_b, sj_pb_t;

CREATE SCHEMA sj_pb;
GRANT USAGE ON SCHEMA sj_pb TO PUBLIC;

-- one row per run of a job
CREATE TABLE sj_pb.runs (
	tag text NOT NULL,
	n integer,
	txid bigint NOT NULL,
	cur name NOT NULL,
	sess name NOT NULL,
	ran_at timestamptz NOT NULL
);
GRANT INSERT, SELECT ON sj_pb.runs TO PUBLIC;

CREATE PROCEDURE sj_pb.record(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_pb.runs VALUES (payload->>'tag', (payload->>'n')::integer,
		txid_current(), current_user, session_user, clock_timestamp());
END $$;

-- a name that needs quoting
CREATE SCHEMA "sj_pb Odd";
GRANT USAGE ON SCHEMA "sj_pb Odd" TO PUBLIC;
CREATE PROCEDURE "sj_pb Odd"."Re-cord"(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_pb.runs VALUES (payload->>'tag', NULL,
		txid_current(), current_user, session_user, clock_timestamp());
END $$;

-- owned by sj_pb_a, executable by sj_pb_b only
CREATE PROCEDURE sj_pb.a_proc(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO sj_pb.runs VALUES (payload->>'tag', NULL,
		txid_current(), current_user, session_user, clock_timestamp());
END $$;
ALTER PROCEDURE sj_pb.a_proc(jsonb) OWNER TO sj_pb_a;
REVOKE EXECUTE ON PROCEDURE sj_pb.a_proc(jsonb) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE sj_pb.a_proc(jsonb) TO sj_pb_b;

-- a SECURITY DEFINER trigger owned by sj_pb_t schedules a job per order
CREATE TABLE sj_pb.orders (id integer PRIMARY KEY);
GRANT INSERT ON sj_pb.orders TO sj_pb_app;
CREATE FUNCTION sj_pb.on_order() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
	PERFORM scheduled_jobs.schedule_job(now(), procedure => 'sj_pb.record',
		payload => jsonb_build_object('tag', 'trigger', 'n', NEW.id),
		job_key => 'sj_pb:order:' || NEW.id);
	RETURN NEW;
END $$;
ALTER FUNCTION sj_pb.on_order() OWNER TO sj_pb_t;
CREATE TRIGGER on_order AFTER INSERT ON sj_pb.orders
	FOR EACH ROW EXECUTE FUNCTION sj_pb.on_order();

-- ids of the jobs scheduled below, by name
CREATE TABLE sj_pb.ids (name text PRIMARY KEY, id bigint, run_at timestamptz);
GRANT INSERT, SELECT ON sj_pb.ids TO PUBLIC;

SELECT plan(32);

-- 1. one job, due in 1 s, scheduled by a NOLOGIN role
SET ROLE sj_pb_owner;
INSERT INTO sj_pb.ids
SELECT 'once', scheduled_jobs.schedule_job(t, procedure => 'sj_pb.record',
		payload => '{"tag": "once"}'), t
FROM (SELECT clock_timestamp() + interval '1 second' AS t) s;
RESET ROLE;

SELECT is((SELECT owner::text FROM scheduled_jobs.jobs
		   WHERE id = (SELECT id FROM sj_pb.ids WHERE name = 'once')),
		  'sj_pb_owner', 'the job is owned by the role that scheduled it');
SELECT ok(pg_temp.sj_wait($$EXISTS (SELECT FROM scheduled_jobs.job_history
		WHERE id = (SELECT id FROM sj_pb.ids WHERE name = 'once') AND state = 'succeeded')$$, 30),
		  'the job succeeded');
SELECT is((SELECT count(*) FROM sj_pb.runs WHERE tag = 'once'), 1::bigint,
		  'it ran exactly once');
SELECT ok((SELECT ran_at >= i.run_at FROM sj_pb.runs, sj_pb.ids i
		   WHERE tag = 'once' AND i.name = 'once'),
		  'it ran at its time, not before');
SELECT ok((SELECT h.fired_at >= i.run_at AND h.finished_at >= h.fired_at AND h.attempts = 1
		   FROM scheduled_jobs.job_history h JOIN sj_pb.ids i USING (id) WHERE i.name = 'once'),
		  'history: fired at or after run_at, one attempt');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs
		   WHERE id = (SELECT id FROM sj_pb.ids WHERE name = 'once')), 0::bigint,
		  'it is no longer pending');
SELECT is((SELECT cur::text FROM sj_pb.runs WHERE tag = 'once'), 'sj_pb_owner',
		  'it ran as its owner (current_user), a NOLOGIN role');
SELECT isnt((SELECT sess::text FROM sj_pb.runs WHERE tag = 'once'), NULL,
			'session_user is recorded');
-- the procedure's effects and the job's completion are one transaction
SELECT is((SELECT r.txid % 4294967296 FROM sj_pb.runs r WHERE tag = 'once'),
		  (SELECT h.xmin::text::bigint FROM scheduled_jobs.job_history h
		   WHERE id = (SELECT id FROM sj_pb.ids WHERE name = 'once')),
		  'the procedure ran in the transaction that completed the job');

-- 2. two jobs: two transactions, none of them the scheduling one
SET ROLE sj_pb_owner;
INSERT INTO sj_pb.ids
SELECT 'tx' || g, scheduled_jobs.schedule_job(now(), procedure => 'sj_pb.record',
		payload => jsonb_build_object('tag', 'tx' || g)), now()
FROM generate_series(1, 2) g;
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history h JOIN sj_pb.ids i USING (id)
		WHERE i.name IN ('tx1', 'tx2') AND h.state = 'succeeded') = 2$$, 30),
		  'two jobs succeeded');
SELECT is((SELECT count(DISTINCT txid) FROM sj_pb.runs WHERE tag IN ('tx1', 'tx2')), 2::bigint,
		  'each ran in its own transaction');
SELECT is((SELECT count(*) FROM sj_pb.runs WHERE tag IN ('tx1', 'tx2')
		   AND txid = (SELECT r.txid FROM sj_pb.runs r WHERE r.tag = 'once')), 0::bigint,
		  'and not in the transaction of an earlier job');

-- 3. 300 jobs, each runs exactly once
SET ROLE sj_pb_owner;
INSERT INTO sj_pb.ids
SELECT 'bulk' || g, scheduled_jobs.schedule_job(now() + interval '200 ms',
		procedure => 'sj_pb.record', payload => jsonb_build_object('tag', 'bulk', 'n', g)), now()
FROM generate_series(1, 300) g;
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history h JOIN sj_pb.ids i USING (id)
		WHERE i.name LIKE 'bulk%' AND h.state = 'succeeded') = 300$$, 120),
		  '300 jobs succeeded');
SELECT is((SELECT count(*) FROM sj_pb.runs WHERE tag = 'bulk'), 300::bigint,
		  '300 runs recorded');
SELECT is((SELECT count(DISTINCT n) FROM sj_pb.runs WHERE tag = 'bulk'), 300::bigint,
		  'no job ran twice');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history h JOIN sj_pb.ids i USING (id)
		   WHERE i.name LIKE 'bulk%' AND (h.attempts <> 1 OR h.last_error IS NOT NULL)), 0::bigint,
		  'each at the first attempt, without error');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs j JOIN sj_pb.ids i USING (id)
		   WHERE i.name LIKE 'bulk%'), 0::bigint,
		  'none left pending');

-- 4. procedure owned by sj_pb_a, scheduled by sj_pb_b: runs as sj_pb_b
SET ROLE sj_pb_b;
INSERT INTO sj_pb.ids
SELECT 'a_by_b', scheduled_jobs.schedule_job(now(), procedure => 'sj_pb.a_proc',
		payload => '{"tag": "a_by_b"}'), now();
RESET ROLE;
SELECT ok(pg_temp.sj_wait($$EXISTS (SELECT FROM scheduled_jobs.job_history
		WHERE id = (SELECT id FROM sj_pb.ids WHERE name = 'a_by_b') AND state = 'succeeded')$$, 30),
		  'job of a procedure owned by another role succeeded');
SELECT is((SELECT cur::text FROM sj_pb.runs WHERE tag = 'a_by_b'), 'sj_pb_b',
		  'it ran as the scheduling role, not as the procedure''s owner');
SELECT is((SELECT owner::text FROM scheduled_jobs.job_history
		   WHERE id = (SELECT id FROM sj_pb.ids WHERE name = 'a_by_b')), 'sj_pb_b',
		  'its owner is the scheduling role');

-- 5. a SECURITY DEFINER trigger owned by sj_pb_t schedules as sj_pb_t,
-- although the inserting role may not call schedule_job itself
SET ROLE sj_pb_app;
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now(), channel => 'x')$$, '42501',
				 NULL, 'the inserting role cannot schedule by itself');
INSERT INTO sj_pb.orders VALUES (7);
RESET ROLE;
SELECT is((SELECT owner::text FROM scheduled_jobs.jobs WHERE job_key = 'sj_pb:order:7'
		   UNION ALL
		   SELECT owner::text FROM scheduled_jobs.job_history WHERE job_key = 'sj_pb:order:7'),
		  'sj_pb_t', 'the trigger''s job is owned by the trigger function''s owner');
SELECT ok(pg_temp.sj_wait($$EXISTS (SELECT FROM scheduled_jobs.job_history
		WHERE job_key = 'sj_pb:order:7' AND state = 'succeeded')$$, 30),
		  'the trigger''s job succeeded');
SELECT is((SELECT cur::text FROM sj_pb.runs WHERE tag = 'trigger' AND n = 7), 'sj_pb_t',
		  'it ran as the trigger function''s owner');

-- a rolled-back insert schedules nothing
BEGIN;
SET LOCAL ROLE sj_pb_app;
INSERT INTO sj_pb.orders VALUES (8);
ROLLBACK;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'sj_pb:order:8'), 0::bigint,
		  'an order rolled back leaves no job');

-- 6. procedure names: resolved through the scheduler's search_path, quoted
SET ROLE sj_pb_owner;
SET search_path = sj_pb, public;
INSERT INTO sj_pb.ids
SELECT 'unqualified', scheduled_jobs.schedule_job(now(), procedure => 'record',
		payload => '{"tag": "unqualified"}'), now();
RESET search_path;
INSERT INTO sj_pb.ids
SELECT 'quoted', scheduled_jobs.schedule_job(now(), procedure => '"sj_pb Odd"."Re-cord"',
		payload => '{"tag": "quoted"}'), now();
SELECT throws_ok($$SELECT scheduled_jobs.schedule_job(now(), procedure => 'sj_pb.record(''{}''); DROP TABLE sj_pb.runs; --')$$,
				 NULL, NULL, 'a procedure name with SQL in it is rejected');
RESET ROLE;
SELECT is((SELECT procedure FROM scheduled_jobs.jobs JOIN sj_pb.ids USING (id) WHERE name = 'unqualified'
		   UNION ALL
		   SELECT procedure FROM scheduled_jobs.job_history JOIN sj_pb.ids USING (id) WHERE name = 'unqualified'),
		  'sj_pb.record', 'an unqualified name is stored qualified, as resolved at scheduling');
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.job_history h JOIN sj_pb.ids i USING (id)
		WHERE i.name IN ('unqualified', 'quoted') AND h.state = 'succeeded') = 2$$, 30),
		  'the jobs of an unqualified and of a quoted name succeeded');
SELECT is((SELECT count(*) FROM sj_pb.runs WHERE tag IN ('unqualified', 'quoted')), 2::bigint,
		  'both ran');
SELECT has_table('sj_pb', 'runs', 'the SQL in the name did not run');

-- 7. no job ran as a superuser, and every run is accounted for
SELECT is((SELECT count(*) FROM sj_pb.runs r JOIN pg_roles ro ON ro.rolname = r.cur
		   WHERE ro.rolsuper), 0::bigint, 'no job ran as a superuser');
SELECT is((SELECT count(*) FROM sj_pb.runs), 307::bigint, 'exactly 307 runs in all');

SELECT * FROM finish();

-- clean up
DELETE FROM scheduled_jobs.jobs WHERE procedure LIKE 'sj_pb.%' OR procedure LIKE '"sj_pb Odd".%';
DELETE FROM scheduled_jobs.job_history WHERE procedure LIKE 'sj_pb.%' OR procedure LIKE '"sj_pb Odd".%';
DROP SCHEMA sj_pb CASCADE;
DROP SCHEMA "sj_pb Odd" CASCADE;
DROP OWNED BY sj_pb_owner, sj_pb_a, sj_pb_b, sj_pb_t, sj_pb_app CASCADE;
DROP ROLE sj_pb_owner, sj_pb_a, sj_pb_b, sj_pb_t, sj_pb_app;
