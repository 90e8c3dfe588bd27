-- Recurring schedules with the workers running: each nominal occurrence
-- fired once and in order, the envelope a procedure reads, overlap, pause,
-- catch-up after the clock jumps (scheduled_jobs.clock_offset), and firing
-- deadlines.  (The SQL surface and its errors: sql/schedules.sql.)
\ir helpers.psql
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT count(scheduled_jobs.drop_schedule(name)) AS d FROM scheduled_jobs.schedules WHERE name LIKE 'tap_s_%' \gset
DROP SCHEMA IF EXISTS sj_sched CASCADE;
\set QUIET 1

SELECT plan(39);

CREATE SCHEMA sj_sched;
CREATE TABLE sj_sched.runs (schedule text, envelope jsonb, started timestamptz, ended timestamptz);
CREATE PROCEDURE sj_sched.pause_resume(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.pause_schedule(payload->>'name');
	PERFORM scheduled_jobs.resume_schedule(payload->>'name');
	INSERT INTO sj_sched.runs (schedule) VALUES (payload->>'name');
END $$;
CREATE PROCEDURE sj_sched.record(payload jsonb) LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	PERFORM pg_sleep((payload->>'sleep')::float8);
	INSERT INTO sj_sched.runs VALUES (payload->>'s', scheduled_jobs.current_job(), t0, clock_timestamp());
END $$;

-- 1. a fast NOTIFY schedule: every nominal instant once, in order, no gap
SELECT now() + interval '300 ms' AS start \gset
SELECT scheduled_jobs.create_schedule('tap_s_fast', every => '200 ms', channel => 'tap_s',
	start_at => :'start') AS fast_id \gset
SELECT ok(pg_temp.sj_wait(format($$(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = %s) >= 8$$, :fast_id), 10),
	'every 200 ms: eight occurrences fired');
SELECT scheduled_jobs.drop_schedule('tap_s_fast') AS d \gset
SELECT is((SELECT array_agg(occurrence_at ORDER BY occurrence_at) FROM (
		SELECT occurrence_at FROM scheduled_jobs.job_history WHERE schedule_id = :fast_id ORDER BY occurrence_at LIMIT 8) h),
	(SELECT array_agg(t ORDER BY t) FROM scheduled_jobs.next_occurrences(interval '200 ms', 'UTC',
		:'start'::timestamptz - interval '1 microsecond', 8, :'start') t),
	'the occurrences fired are exactly what next_occurrences gives');
SELECT is((SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = :fast_id),
	(SELECT count(DISTINCT occurrence_at) FROM scheduled_jobs.job_history WHERE schedule_id = :fast_id),
	'no occurrence fired twice');
SELECT ok((SELECT bool_and(state = 'notified' AND fired_at >= run_at) FROM scheduled_jobs.job_history WHERE schedule_id = :fast_id),
	'each was NOTIFYed, not before its instant');
SELECT is((SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = :fast_id), 0::bigint,
	'dropped: no occurrence left pending');

-- 2. a cron procedure schedule: the job reads its own envelope
SELECT scheduled_jobs.create_schedule('tap_s_cron', cron => '* * * * * *', procedure => 'sj_sched.record',
	payload => '{"s": "cron", "sleep": 0}') AS cron_id \gset
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM sj_sched.runs WHERE schedule = 'cron') >= 2$$, 10),
	'a cron rule with seconds runs every second');
SELECT scheduled_jobs.drop_schedule('tap_s_cron') AS d \gset
SELECT ok((SELECT bool_and(envelope->>'schedule' = 'tap_s_cron'
		AND date_part('microseconds', (envelope->>'occurrence')::timestamptz)::int % 1000000 = 0)
		FROM sj_sched.runs WHERE schedule = 'cron'),
	'current_job() names the schedule and the whole second of the occurrence');
SELECT is((SELECT count(*) FROM sj_sched.runs WHERE schedule = 'cron'),
	(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = :cron_id AND state = 'succeeded'),
	'one effect per succeeded occurrence');

-- 3. overlap, with a procedure that runs 0.6 s every 0.2 s
SELECT scheduled_jobs.create_schedule('tap_s_wait', every => '200 ms', procedure => 'sj_sched.record',
	payload => '{"s": "wait", "sleep": 0.6}') AS wait_id \gset
SELECT scheduled_jobs.create_schedule('tap_s_skip', every => '200 ms', procedure => 'sj_sched.record',
	payload => '{"s": "skip", "sleep": 0.6}', overlap => 'skip') AS skip_id \gset
SELECT scheduled_jobs.create_schedule('tap_s_conc', every => '200 ms', procedure => 'sj_sched.record',
	payload => '{"s": "conc", "sleep": 0.6}', overlap => 'concurrent') AS conc_id \gset
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM sj_sched.runs WHERE schedule = 'wait') >= 3
		AND (SELECT count(*) FROM sj_sched.runs WHERE schedule = 'skip') >= 3
		AND (SELECT count(*) FROM sj_sched.runs WHERE schedule = 'conc') >= 3$$, 15),
	'each overlap policy keeps running');
SELECT ok((SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = :wait_id) > 0
		AND (SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = :skip_id) > 0,
	'the occurrences due during a run are counted as skipped (coalesced into the next run for wait)');
SELECT bool_and(scheduled_jobs.drop_schedule(n)) AS d FROM unnest(ARRAY['tap_s_wait', 'tap_s_skip', 'tap_s_conc']) n \gset
SELECT ok(NOT EXISTS (SELECT FROM sj_sched.runs a JOIN sj_sched.runs b ON a.schedule = b.schedule AND a.started < b.started
		AND b.started < a.ended WHERE a.schedule IN ('wait', 'skip')),
	'wait and skip: never two runs at once');
SELECT ok(EXISTS (SELECT FROM sj_sched.runs a JOIN sj_sched.runs b ON a.schedule = b.schedule AND a.started < b.started
		AND b.started < a.ended WHERE a.schedule = 'conc'),
	'concurrent: runs overlap');
-- an occurrence that pauses and resumes its own schedule still counts as a run
SELECT scheduled_jobs.create_schedule('tap_s_self', every => '200 ms', procedure => 'sj_sched.pause_resume',
	payload => '{"name": "tap_s_self"}') AS self_id \gset
SELECT ok(pg_temp.sj_wait($$(SELECT count(*) FROM sj_sched.runs WHERE schedule = 'tap_s_self') >= 2
		AND (SELECT runs FROM scheduled_jobs.schedule_rules WHERE name = 'tap_s_self') >= 2$$, 10),
	'a run that pauses and resumes its own schedule is counted');
SELECT scheduled_jobs.drop_schedule('tap_s_self') AS d \gset

-- concurrent: no more than catch_up_limit occurrences pending when runs cannot keep up
SELECT scheduled_jobs.create_schedule('tap_s_cap', every => '100 ms', procedure => 'sj_sched.record',
	payload => '{"s": "cap", "sleep": 1.5}', overlap => 'concurrent', catch_up_limit => 3) AS cap_id \gset
SELECT ok(pg_temp.sj_wait(format($$(SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = %s) = 3$$, :cap_id), 5)
		AND pg_temp.sj_never(format($$(SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = %s) > 3$$, :cap_id), 1),
	'concurrent: at most catch_up_limit occurrences pending or running');
SELECT scheduled_jobs.drop_schedule('tap_s_cap') AS d \gset

-- a role's open transaction on its schedule holds up nobody else's jobs
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT scheduled_jobs.create_schedule('tap_s_held', every => '200 ms', channel => 'tap_s') AS held_id \gset
SELECT dblink_connect('tap_s_hold', format('dbname=%s port=%s', current_database(), current_setting('port'))) AS c \gset
SELECT dblink_exec('tap_s_hold', 'BEGIN') AS b \gset
SELECT r AS h FROM dblink('tap_s_hold', $$SELECT scheduled_jobs.resume_schedule('tap_s_held')$$) AS t(r boolean) \gset
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '300 ms', channel => 'tap_s', job_key => 'tap_s_other') AS other \gset
SELECT ok(pg_temp.sj_wait($$pg_temp.sj_fired('tap_s_other')$$, 5),
	'a job fires while another transaction holds a schedule''s rule');
SELECT dblink_exec('tap_s_hold', 'COMMIT') AS e \gset
SELECT dblink_disconnect('tap_s_hold') AS d \gset
SELECT ok(pg_temp.sj_wait(format($$(SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = %s) = 1
		AND (SELECT runs FROM scheduled_jobs.schedule_rules WHERE id = %s) >= 2$$, :held_id, :held_id), 5),
	'and the held schedule goes on once it is released');
SELECT is((SELECT runs FROM scheduled_jobs.schedule_rules WHERE id = :held_id),
	(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = :held_id),
	'the occurrence that fired while its rule was held counts as a run');
SELECT scheduled_jobs.drop_schedule('tap_s_held') AS d \gset
DELETE FROM scheduled_jobs.job_history WHERE job_key = 'tap_s_other';

-- an acknowledged channel: an occurrence delivered while its rule is held
-- stays in flight, and the schedule goes on once the rule is released
SELECT scheduled_jobs.configure_channel('tap_s_ackheld', '1 hour') AS c \gset
SELECT scheduled_jobs.create_schedule('tap_s_ackheld', every => '200 ms', channel => 'tap_s_ackheld') AS ah_id \gset
SELECT ok(pg_temp.sj_wait(format('(SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = %s AND due_at IS NOT NULL) >= 1',
		:ah_id), 5),
	'acknowledged: an occurrence in flight');
SELECT dblink_connect('tap_s_hold', format('dbname=%s port=%s', current_database(), current_setting('port'))) AS c \gset
SELECT dblink_exec('tap_s_hold', 'BEGIN') AS b \gset
SELECT r AS h FROM dblink('tap_s_hold', $$SELECT scheduled_jobs.resume_schedule('tap_s_ackheld')$$) AS t(r boolean) \gset
SELECT ok(pg_temp.sj_wait(format('(SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = %s AND due_at IS NULL) = 0',
		:ah_id), 5),
	'the next one is delivered while another transaction holds the rule');
SELECT count(*) AS in_flight FROM scheduled_jobs.jobs WHERE schedule_id = :ah_id \gset
SELECT dblink_exec('tap_s_hold', 'COMMIT') AS e \gset
SELECT dblink_disconnect('tap_s_hold') AS d \gset
SELECT ok(pg_temp.sj_wait(format('(SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = %s AND due_at IS NOT NULL) > %s',
		:ah_id, :in_flight), 5),
	'released: the schedule goes on while that occurrence is still in flight');
SELECT is((SELECT runs FROM scheduled_jobs.schedule_rules WHERE id = :ah_id),
	(SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id = :ah_id AND due_at IS NOT NULL),
	'each delivered occurrence counts as a run');
SELECT scheduled_jobs.drop_schedule('tap_s_ackheld') AS d \gset
SELECT count(scheduled_jobs.cancel_job(id)) AS c FROM scheduled_jobs.jobs WHERE channel = 'tap_s_ackheld' \gset
DELETE FROM scheduled_jobs.job_history WHERE channel = 'tap_s_ackheld';
SELECT scheduled_jobs.unconfigure_channel('tap_s_ackheld') AS u \gset

-- an acknowledged channel, its occurrence claimed before the scheduler sends it
SELECT scheduled_jobs.configure_channel('tap_s_ack', '1 minute') AS c \gset
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET scheduled_jobs.paused = on;
SELECT scheduled_jobs.create_schedule('tap_s_acked', every => '200 ms', channel => 'tap_s_ack') AS acked_id \gset
SELECT pg_temp.sj_wait(format($$(SELECT run_at < clock_timestamp() FROM scheduled_jobs.jobs WHERE schedule_id = %s)$$, :acked_id), 5) AS due \gset
SELECT envelope FROM scheduled_jobs.claim('tap_s_ack', 10) \gset
SELECT is(:'envelope'::jsonb->>'schedule', 'tap_s_acked', 'a claimed occurrence''s envelope names its schedule');
SELECT ok((SELECT count(*) = 2 AND count(*) FILTER (WHERE due_at IS NULL) = 1 FROM scheduled_jobs.jobs WHERE schedule_id = :acked_id),
	'the claim, its first delivery, materialised the next occurrence');
SELECT scheduled_jobs.ack((:'envelope'::jsonb->>'id')::bigint) AS a \gset
SELECT is((SELECT schedule_id FROM scheduled_jobs.job_history WHERE id = (:'envelope'::jsonb->>'id')::bigint), :acked_id::bigint,
	'acknowledged, it stays an occurrence of its schedule in job_history');
ALTER DATABASE :"db" RESET scheduled_jobs.paused;
SELECT scheduled_jobs.drop_schedule('tap_s_acked') AS d \gset
SELECT scheduled_jobs.unconfigure_channel('tap_s_ack') AS u \gset

-- 4. pause and resume
SELECT scheduled_jobs.create_schedule('tap_s_pause', every => '100 ms', channel => 'tap_s') AS pause_id \gset
SELECT ok(pg_temp.sj_wait(format($$EXISTS (SELECT FROM scheduled_jobs.job_history WHERE schedule_id = %s)$$, :pause_id), 5),
	'it fires');
SELECT scheduled_jobs.pause_schedule('tap_s_pause') AS p \gset
SELECT count(*) AS before_pause FROM scheduled_jobs.job_history WHERE schedule_id = :pause_id \gset
SELECT ok(pg_temp.sj_never(format($$(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = %s) > %s$$,
		:pause_id, :before_pause), 0.6),
	'paused: nothing fires');
SELECT scheduled_jobs.resume_schedule('tap_s_pause') AS r \gset
SELECT ok(pg_temp.sj_wait(format($$(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = %s) > %s$$,
		:pause_id, :before_pause), 5)
		AND (SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = :pause_id) >= 4,
	'resumed: it fires again, and the pause''s occurrences were counted as skipped');
SELECT scheduled_jobs.drop_schedule('tap_s_pause') AS d \gset

-- 5. command jobs: in the job's transaction, or (VACUUM) outside one, once
SELECT scheduled_jobs.schedule_job(now(), command => $$INSERT INTO sj_sched.runs (schedule) VALUES ('cmd')$$) AS cmd_ok \gset
SELECT scheduled_jobs.schedule_job(now(), command => 'INSERT INTO sj_sched.nonesuch VALUES (1)', max_attempts => 1) AS cmd_bad \gset
SELECT scheduled_jobs.schedule_job(now(), command => 'VACUUM sj_sched.runs') AS vac_ok \gset
SELECT scheduled_jobs.schedule_job(now(), command => 'VACUUM sj_sched.nonesuch', max_attempts => 3) AS vac_bad \gset
SELECT ok(pg_temp.sj_wait(format($$(SELECT array_agg(state ORDER BY id) FROM scheduled_jobs.job_history
		WHERE id IN (%s, %s)) = '{succeeded,failed}'
		AND (SELECT count(*) FROM sj_sched.runs WHERE schedule = 'cmd') = 1$$, :cmd_ok, :cmd_bad), 10),
	'a command runs once in the job''s transaction; a failing one is kept as failed');
SELECT ok(pg_temp.sj_wait(format($$(SELECT state FROM scheduled_jobs.job_history WHERE id = %s) = 'succeeded'$$, :vac_ok), 10),
	'VACUUM runs outside a transaction block');
SELECT ok(pg_temp.sj_wait(format($$(SELECT state = 'failed' AND attempts = 1 AND last_error LIKE '%%nonesuch%%'
		FROM scheduled_jobs.job_history WHERE id = %s)$$, :vac_bad), 10),
	'a failing VACUUM is kept as failed after one attempt: at most once, never retried');
SELECT is((SELECT last_error FROM scheduled_jobs.job_history WHERE id = :cmd_bad),
	'relation "sj_sched.nonesuch" does not exist', 'with its error');

-- 6. the server "down" for ten minutes: the clock jumps 10.5 minutes
SELECT scheduled_jobs.create_schedule('tap_s_latest', every => '1 minute', channel => 'tap_s') AS latest_id \gset
SELECT scheduled_jobs.create_schedule('tap_s_all', every => '1 minute', channel => 'tap_s', catch_up => 'all') AS all_id \gset
SELECT scheduled_jobs.create_schedule('tap_s_none', every => '1 minute', channel => 'tap_s', catch_up => 'none') AS none_id \gset
SELECT scheduled_jobs.create_schedule('tap_s_limit', every => '1 minute', channel => 'tap_s', catch_up => 'all',
	catch_up_limit => 3) AS limit_id \gset
SELECT scheduled_jobs.create_schedule('tap_s_platest', every => '1 minute', procedure => 'sj_sched.record',
	payload => '{"s": "platest", "sleep": 0}') AS platest_id \gset
SELECT scheduled_jobs.create_schedule('tap_s_pall', every => '1 minute', procedure => 'sj_sched.record',
	payload => '{"s": "pall", "sleep": 0}', catch_up => 'all') AS pall_id \gset
SELECT scheduled_jobs.schedule_job(now() + interval '5 minutes', channel => 'tap_s',
	expires_at => now() + interval '6 minutes') AS expiring_notify \gset
SELECT scheduled_jobs.schedule_job(now() + interval '5 minutes', procedure => 'sj_sched.record',
	payload => '{"s": "expired", "sleep": 0}', expires_at => now() + interval '6 minutes') AS expiring_call \gset
ALTER SYSTEM SET scheduled_jobs.clock_offset = '630s';
SELECT pg_reload_conf() AS r \gset
SELECT ok(pg_temp.sj_wait(format($$(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = %s) = 10$$, :all_id), 10),
	'catch_up all: each of the ten missed occurrences fires');
SELECT ok(pg_temp.sj_wait(format($$(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = %s AND state = 'notified') = 1
		AND (SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = %s) = 9$$, :latest_id, :latest_id), 10),
	'catch_up latest: one late run, standing for the nine after it');
SELECT ok(pg_temp.sj_wait(format($$(SELECT array_agg(state) FROM scheduled_jobs.job_history WHERE schedule_id = %s) = '{expired}'
		AND (SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = %s) = 10$$, :none_id, :none_id), 10),
	'catch_up none: the missed occurrence expired unfired, all ten counted as skipped');
SELECT ok(pg_temp.sj_wait(format($$(SELECT string_agg(state, ',' ORDER BY occurrence_at) FROM scheduled_jobs.job_history
		WHERE schedule_id = %s) = 'expired,notified,notified,notified'
		AND (SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = %s) = 7$$, :limit_id, :limit_id), 10),
	'catch_up all with catch_up_limit 3: the newest three run, the seven older ones are skipped (the pending one expired)');
SELECT ok(pg_temp.sj_wait(format($$(SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = %s AND state = 'succeeded') = 1
		AND (SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = %s) = 9
		AND (SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id = %s AND state = 'succeeded') = 10$$,
		:platest_id, :platest_id, :pall_id), 10),
	'the same for procedure schedules: latest runs once for nine, all runs each');
SELECT is((SELECT string_agg(envelope->>'missed', ',') FROM sj_sched.runs WHERE schedule = 'platest'), '9',
	'the late procedure run reads, with current_job(), that it stands for nine missed occurrences');
SELECT ok((SELECT bool_and(next_occurrence > now() + interval '10 minutes') FROM scheduled_jobs.schedules
		WHERE id IN (:latest_id, :all_id, :none_id, :limit_id, :platest_id, :pall_id)),
	'each goes on at its next occurrence after the jump');
SELECT ok(pg_temp.sj_wait(format($$(SELECT array_agg(state ORDER BY id) FROM scheduled_jobs.job_history
		WHERE id IN (%s, %s)) = '{expired,expired}'$$, :expiring_notify, :expiring_call), 10)
		AND NOT EXISTS (SELECT FROM sj_sched.runs WHERE schedule = 'expired'),
	'one-off jobs past their expires_at are kept as expired and never fire');
ALTER SYSTEM RESET scheduled_jobs.clock_offset;
SELECT pg_reload_conf() AS r \gset

SELECT count(scheduled_jobs.drop_schedule(name)) AS d FROM scheduled_jobs.schedules WHERE name LIKE 'tap_s_%' \gset
DROP SCHEMA sj_sched CASCADE;
DROP EXTENSION dblink;
SELECT * FROM finish();
