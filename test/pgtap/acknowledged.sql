-- Acknowledged channels with the scheduler running: jobs stay in flight
-- after their NOTIFY until ack(); no ack by the deadline means another
-- delivery; after max_deliveries a dead letter; claim() leases, a stale
-- delivery cannot extend or give back; only owners and granted roles act.
\ir helpers.psql
SET client_min_messages = warning;
\set QUIET 1

-- leftovers of an aborted run
DELETE FROM scheduled_jobs.jobs WHERE channel LIKE 'sj\_ak%';
DELETE FROM scheduled_jobs.job_history WHERE channel LIKE 'sj\_ak%';
DELETE FROM scheduled_jobs.channel_settings WHERE channel LIKE 'sj\_ak%';
DELETE FROM scheduled_jobs.channel_grants WHERE channel LIKE 'sj\_ak%';
DROP SCHEMA IF EXISTS sj_ak CASCADE;
DO $$
DECLARE r name;
BEGIN
	FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'sj\_ak\_%' LOOP
		EXECUTE format('DROP OWNED BY %I CASCADE', r);
		EXECUTE format('DROP ROLE %I', r);
	END LOOP;
END $$;

SELECT plan(40);

CREATE ROLE sj_ak_app NOLOGIN;
CREATE ROLE sj_ak_mailer NOLOGIN;
CREATE ROLE sj_ak_other NOLOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_ak_app, sj_ak_mailer, sj_ak_other;
CREATE SCHEMA sj_ak;
GRANT USAGE ON SCHEMA sj_ak TO PUBLIC;
CREATE TABLE sj_ak.effects (job_id bigint, delivery int);
GRANT ALL ON sj_ak.effects TO PUBLIC;

SELECT scheduled_jobs.configure_channel('sj_ak', '300 ms', 4, 'sj_ak_dead') AS c \gset
SELECT scheduled_jobs.grant_channel('sj_ak', 'sj_ak_mailer') AS g \gset

-- 1. nobody listening: delivered, not acknowledged, delivered again
SET ROLE sj_ak_app;
SELECT scheduled_jobs.schedule_job(now(), channel => 'sj_ak', payload => '{"n": 1}') AS j1 \gset
RESET ROLE;
SELECT ok(pg_temp.sj_wait(format('(SELECT attempts FROM scheduled_jobs.jobs WHERE id = %s) >= 2', :j1), 5),
	'no ack by the deadline: delivered again (delivery 2)');
SELECT ok((SELECT due_at IS NOT NULL AND first_delivered_at IS NOT NULL AND run_at > due_at
		   FROM scheduled_jobs.jobs WHERE id = :j1),
	'in flight: its first run_at kept, its deadline as run_at');

-- 2. the granted consumer claims it and acks in the transaction of its effect
SET ROLE sj_ak_mailer;
SELECT id AS c1, delivery AS d1, envelope FROM scheduled_jobs.claim('sj_ak', 1, '1 minute') \gset
SELECT is(:c1::bigint, :j1::bigint, 'claim() returns the job to a granted consumer');
SELECT ok((:'envelope'::jsonb->>'delivery')::int = :d1 AND :'envelope'::jsonb ? 'deadline'
		  AND :'envelope'::jsonb->'payload' = '{"n": 1}',
	'its envelope has the delivery, the deadline and the payload');
SELECT is((SELECT count(*) FROM scheduled_jobs.claim('sj_ak', 1, '1 minute')), 0::bigint,
	'a claimed job is not claimed again while its lease holds');
BEGIN;
INSERT INTO sj_ak.effects VALUES (:c1, :d1);
SELECT ok(scheduled_jobs.ack(:c1), 'ack() returns true in the transaction');
ROLLBACK;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE id = :c1), 1::bigint,
	'an ack rolled back with its effect: the job is still in flight');
BEGIN;
INSERT INTO sj_ak.effects VALUES (:c1, :d1);
SELECT ok(scheduled_jobs.ack(:c1), 'acked again, committed');
COMMIT;
SELECT ok(NOT scheduled_jobs.ack(:c1), 'a second ack returns false');
RESET ROLE;
SELECT is((SELECT state || ' ' || attempts FROM scheduled_jobs.job_history WHERE id = :j1),
	'acknowledged ' || :d1, 'job_history: acknowledged, with its deliveries');
SELECT is((SELECT count(*) FROM sj_ak.effects WHERE job_id = :j1), 1::bigint, 'its effect exactly once');

-- 3. a role without the grant gets nothing
SET ROLE sj_ak_app;
SELECT scheduled_jobs.schedule_job(now(), channel => 'sj_ak', payload => '{"n": 3}') AS j3 \gset
RESET ROLE;
SELECT ok(pg_temp.sj_wait(format('(SELECT attempts FROM scheduled_jobs.jobs WHERE id = %s) >= 1', :j3), 5),
	'the next job is delivered');
SET ROLE sj_ak_other;
SELECT is((SELECT count(*) FROM scheduled_jobs.claim('sj_ak', 10)), 0::bigint, 'no grant: claim() gets nothing');
SELECT is((SELECT count(*) FROM scheduled_jobs.unacknowledged('sj_ak')), 0::bigint, 'no grant: nothing unacknowledged to see');
SELECT ok(NOT scheduled_jobs.ack(:j3), 'no grant: ack() returns false');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE id = :j3), 0::bigint, 'no grant: the row is invisible');
RESET ROLE;
SET ROLE sj_ak_mailer;
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE id = :j3), 1::bigint, 'the grant: the row is visible');
SELECT is((SELECT count(*) FROM scheduled_jobs.unacknowledged('sj_ak') WHERE id = :j3), 1::bigint,
	'unacknowledged() lists it without claiming it');

-- 4. lease expiry: claimed again with the next delivery; the stale one is refused
SELECT id AS c3, delivery AS d3 FROM scheduled_jobs.claim('sj_ak', 1, '200 ms') \gset
RESET ROLE;
SELECT ok(pg_temp.sj_wait(format('(SELECT attempts FROM scheduled_jobs.jobs WHERE id = %s) > %s', :c3, :d3), 5),
	'lease expired: delivered again');
SET ROLE sj_ak_mailer;
SELECT ok(NOT scheduled_jobs.extend_lease(:c3, :d3, '1 minute'), 'the stale delivery cannot extend the lease');
SELECT ok(NOT scheduled_jobs.nack(:c3, :d3), 'nor give the job back');
SELECT id AS c3b, delivery AS d3b FROM scheduled_jobs.claim('sj_ak', 1, '1 minute') \gset
SELECT ok(:d3b > :d3 AND scheduled_jobs.extend_lease(:c3b, :d3b, '2 minutes'), 'the current delivery can');
SELECT ok(scheduled_jobs.nack(:c3b, :d3b, '1 hour'), 'and give it back for an hour');
SELECT is((SELECT count(*) FROM scheduled_jobs.claim('sj_ak', 10)), 0::bigint, 'given back with a delay: not claimable meanwhile');
RESET ROLE;
SELECT scheduled_jobs.cancel_job(:c3b) AS x \gset

-- 5. dead letter after max_deliveries, and redrive
SET ROLE sj_ak_app;
SELECT scheduled_jobs.schedule_job(now(), channel => 'sj_ak', payload => '{"n": 5}') AS j5 \gset
RESET ROLE;
SELECT ok(pg_temp.sj_wait(format($$EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id = %s AND state = 'dead' AND attempts = 4)$$, :j5), 12),
	'after 4 unacknowledged deliveries: a dead letter');
SELECT is((SELECT dead_letters FROM scheduled_jobs.channels WHERE channel = 'sj_ak'), 1::bigint, 'counted in the channels view');
SELECT scheduled_jobs.redrive(:j5) AS redriven \gset
SELECT ok(:'redriven'::boolean AND pg_temp.sj_wait(format('(SELECT attempts FROM scheduled_jobs.jobs WHERE id = %s) >= 1', :j5), 5),
	'redrive(): pending again, delivered from delivery 1');

-- 6. replacing a job in flight by its job_key starts it afresh
SET ROLE sj_ak_app;
SELECT scheduled_jobs.schedule_job(now(), channel => 'sj_ak', job_key => 'sj_ak:k') AS j6 \gset
RESET ROLE;
SELECT ok(pg_temp.sj_wait(format('(SELECT due_at IS NOT NULL FROM scheduled_jobs.jobs WHERE id = %s)', :j6), 5),
	'a keyed job is delivered, in flight');
SET ROLE sj_ak_app;
SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'sj_ak', job_key => 'sj_ak:k') AS j6b \gset
RESET ROLE;
SELECT is((SELECT format('%s %s %s', due_at IS NULL, attempts, lease_until IS NULL) FROM scheduled_jobs.jobs WHERE id = :j6),
	't 0 t', 'replaced by its job_key: not in flight any more, no deliveries, not claimable until due');

-- 7. a consumer that keeps failing a job: no delivery past max_deliveries,
-- a dead letter (claims with short leases, never acked)
SET ROLE sj_ak_app;
SELECT scheduled_jobs.schedule_job(now(), channel => 'sj_ak', payload => '{"n": 7}', job_key => 'sj_ak:poison') AS j7 \gset
RESET ROLE;
SELECT pg_temp.sj_wait(format('(SELECT attempts FROM scheduled_jobs.jobs WHERE id = %s) >= 1', :j7), 5) AS w \gset
SET ROLE sj_ak_mailer;
CREATE TEMP TABLE deliveries (d int);
DO $$
BEGIN
	FOR i IN 1..30 LOOP
		INSERT INTO deliveries SELECT delivery FROM scheduled_jobs.claim('sj_ak', 10, '50 ms') WHERE envelope->>'job_key' = 'sj_ak:poison';
		PERFORM pg_sleep(0.06);
	END LOOP;
END $$;
SELECT ok(coalesce((SELECT max(d) FROM deliveries), 0) <= 4, 'claim() never hands out a delivery past max_deliveries');
DROP TABLE deliveries;
RESET ROLE;
SELECT ok(pg_temp.sj_wait(format($$EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id = %s AND state = 'dead')$$, :j7), 5),
	'the job a consumer keeps failing becomes a dead letter');

-- 8. nack wakes the scheduler: delivered again at once, not at max_sleep
SET ROLE sj_ak_app;
SELECT scheduled_jobs.schedule_job(now(), channel => 'sj_ak', payload => '{"n": 8}') AS j8 \gset
RESET ROLE;
SELECT pg_temp.sj_wait(format('(SELECT attempts FROM scheduled_jobs.jobs WHERE id = %s) >= 1', :j8), 5) AS w \gset
SET ROLE sj_ak_mailer;
SELECT delivery AS d8 FROM scheduled_jobs.claim('sj_ak', 1, '1 hour') \gset
SELECT scheduled_jobs.nack(:j8, :d8, '0') AS n8 \gset
RESET ROLE;
SELECT ok(pg_temp.sj_wait(format('(SELECT attempts FROM scheduled_jobs.jobs WHERE id = %s) > %s', :j8, :d8), 3),
	'given back with nack(): delivered again within 3 s');

-- 9. rescheduling a job in flight lands it: delivered anew at its new time
SELECT scheduled_jobs.reschedule_job(:j8, now() + interval '1 hour') AS r8 \gset
SET ROLE sj_ak_mailer;
SELECT is((SELECT count(*) FROM scheduled_jobs.claim('sj_ak', 10) WHERE id = :j8), 0::bigint,
	'rescheduled an hour ahead: not claimable now');
RESET ROLE;

-- 10. unacknowledged() and the channels view count the jobs in flight that
-- consumers hold and those nobody holds (two indexes), in due order
SELECT scheduled_jobs.configure_channel('sj_ak_mix', '1 hour') AS c \gset
SELECT array_agg(scheduled_jobs.schedule_job(now() - g * interval '1 second', channel => 'sj_ak_mix')
	ORDER BY g DESC) AS mix FROM generate_series(1, 4) g \gset
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM scheduled_jobs.jobs
		WHERE channel = 'sj_ak_mix' AND attempts = 1) = 4$$, 5),
	'four jobs in flight');
SELECT is((SELECT array_agg(id ORDER BY id) FROM scheduled_jobs.claim('sj_ak_mix', 2)),
	(SELECT array_agg(x ORDER BY x) FROM unnest((:'mix'::bigint[])[1:2]) x),
	'the two due first are claimed');
SELECT is((SELECT array_agg(id) FROM scheduled_jobs.unacknowledged('sj_ak_mix', 3)), (:'mix'::bigint[])[1:3],
	'unacknowledged() lists held and unheld jobs, in due order, up to max_jobs');
SELECT is((SELECT array_agg(id) FROM scheduled_jobs.unacknowledged('sj_ak_mix')), :'mix'::bigint[],
	'all four');
SELECT is((SELECT in_flight FROM scheduled_jobs.channels WHERE channel = 'sj_ak_mix'), 4::bigint,
	'the channels view counts both');

-- 11. the channels view counts only the jobs the caller may see: none of
-- another role's, all of a channel granted to it
SET ROLE sj_ak_other;
SELECT is((SELECT in_flight FROM scheduled_jobs.channels WHERE channel = 'sj_ak_mix'), 0::bigint,
	'another role counts none of the jobs in flight');
RESET ROLE;
SELECT scheduled_jobs.grant_channel('sj_ak_mix', 'sj_ak_other') AS g \gset
SET ROLE sj_ak_other;
SELECT is((SELECT in_flight FROM scheduled_jobs.channels WHERE channel = 'sj_ak_mix'), 4::bigint,
	'a consumer granted the channel counts them all');
RESET ROLE;
SELECT scheduled_jobs.revoke_channel('sj_ak_mix', 'sj_ak_other') AS r \gset

-- clean up
SELECT count(scheduled_jobs.cancel_job(id)) AS cancelled FROM scheduled_jobs.jobs WHERE channel LIKE 'sj\_ak%' \gset
DELETE FROM scheduled_jobs.job_history WHERE channel LIKE 'sj\_ak%';
SELECT scheduled_jobs.unconfigure_channel('sj_ak') AS u \gset
SELECT scheduled_jobs.unconfigure_channel('sj_ak_mix') AS u \gset
SELECT scheduled_jobs.revoke_channel('sj_ak', 'sj_ak_mailer') AS r \gset
DROP SCHEMA sj_ak CASCADE;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs FROM sj_ak_app, sj_ak_mailer, sj_ak_other;
DROP ROLE sj_ak_app;
DROP ROLE sj_ak_mailer;
DROP ROLE sj_ak_other;
SELECT * FROM finish();
