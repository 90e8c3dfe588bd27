--
-- schedules: recurring schedules and firing deadlines, pinned: the rules a
-- schedule gets, its first occurrence, replacing, pausing and dropping in
-- the caller's transaction, and every invalid input with its SQLSTATE and
-- message.  (Firing, catch-up and overlap with the scheduler running:
-- test/pgtap/schedules.sql; the rules themselves: cron.sql.)
--
\pset null '(null)'
SET TimeZone = 'UTC';
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
CREATE SCHEMA rg_sched;
CREATE PROCEDURE rg_sched.work(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE TABLE rg_sched.t (n int);

-- a cron schedule far in the future, in a zone of its own
SELECT scheduled_jobs.create_schedule('rg_yearly', cron => '0 9 1 1 *', channel => 'rg_sched',
	time_zone => 'America/New_York', start_at => '2030-01-01 00:00+00') > 0 AS created;
SELECT name, cron, every, time_zone, channel, procedure, catch_up, overlap, paused,
	next_occurrence, next_run_at = next_occurrence AS due_at_nominal, runs, skipped
FROM scheduled_jobs.schedules;
-- it is the first instant next_occurrences gives
SELECT next_occurrence = (SELECT min(t) FROM scheduled_jobs.next_occurrences('0 9 1 1 *', 'America/New_York', '2030-01-01 00:00+00', 1) t) AS agrees
FROM scheduled_jobs.schedules WHERE name = 'rg_yearly';
-- its pending occurrence is an ordinary job
SELECT j.channel, j.schedule_id = s.id AS of_it, j.occurrence_at = s.next_occurrence AS nominal, j.expires_at
FROM scheduled_jobs.jobs j JOIN scheduled_jobs.schedules s ON s.id = j.schedule_id;

-- replaced in a rolled-back transaction: the old rule and its occurrence stay
SELECT id AS old_job FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL \gset
BEGIN;
SELECT scheduled_jobs.create_schedule('rg_yearly', every => '1 day', procedure => 'rg_sched.work',
	start_at => '2031-06-01 12:00+00') > 0 AS replaced;
SELECT cron, every, procedure, next_occurrence FROM scheduled_jobs.schedules;
ROLLBACK;
SELECT cron, every, channel, next_occurrence, (SELECT id FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL) = :old_job AS same_job
FROM scheduled_jobs.schedules;
-- committed: the new rule, and only its occurrence is pending
SELECT scheduled_jobs.create_schedule('rg_yearly', every => '1 day', procedure => 'rg_sched.work',
	start_at => '2031-06-01 12:00+00', catch_up => 'none') > 0 AS replaced;
SELECT cron, every, procedure, catch_up, next_occurrence FROM scheduled_jobs.schedules;
SELECT count(*) AS pending, min(occurrence_at) AS occurrence, min(expires_at) AS expires_at
FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL;

-- pause withdraws the occurrence; resume puts the next one back
SELECT scheduled_jobs.pause_schedule('rg_yearly') AS paused;
SELECT scheduled_jobs.pause_schedule('rg_yearly') AS paused_again;
SELECT paused, next_occurrence, (SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL) AS pending
FROM scheduled_jobs.schedules;
SELECT scheduled_jobs.resume_schedule('rg_yearly') AS resumed;
SELECT paused, next_occurrence, (SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL) AS pending
FROM scheduled_jobs.schedules;
SELECT scheduled_jobs.pause_schedule('rg_nonesuch') AS paused, scheduled_jobs.resume_schedule('rg_nonesuch') AS resumed;

-- cancel_job of an occurrence skips it: the schedule goes on with the next
SELECT id AS occ FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL \gset
SELECT scheduled_jobs.cancel_job(:occ) AS cancelled;
SELECT state, occurrence_at FROM scheduled_jobs.job_history WHERE id = :occ;
SELECT next_occurrence, skipped, last_state FROM scheduled_jobs.schedules;

-- drop
SELECT scheduled_jobs.drop_schedule('rg_yearly') AS dropped;
SELECT scheduled_jobs.drop_schedule('rg_yearly') AS dropped_again;
SELECT count(*) AS schedules, (SELECT count(*) FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL) AS pending
FROM scheduled_jobs.schedules;

-- one-off jobs with a firing deadline
SELECT scheduled_jobs.schedule_job('2030-01-01 00:00+00', channel => 'rg_sched',
	expires_at => '2030-01-01 00:05+00') > 0 AS scheduled;
SELECT expires_at FROM scheduled_jobs.jobs WHERE channel = 'rg_sched';
SELECT scheduled_jobs.schedule_job('2030-01-01 00:00+00', channel => 'rg_sched', job_key => 'rg_deadline',
	expires_at => '2030-01-01 00:06+00') > 0 AS scheduled;
SELECT expires_at FROM scheduled_jobs.jobs WHERE job_key = 'rg_deadline';
SELECT scheduled_jobs.cancel_job(id) FROM scheduled_jobs.jobs WHERE channel = 'rg_sched';

-- command jobs: SQL text run as the owner, in the job's transaction or,
-- for statements that cannot run in one, alone outside any
SELECT scheduled_jobs.create_schedule('rg_vacuum', cron => '@daily', command => 'VACUUM rg_sched.t') > 0 AS created;
SELECT name, cron, command, channel, procedure, next_occurrence::time AS at FROM scheduled_jobs.schedules;
SELECT command FROM scheduled_jobs.jobs WHERE schedule_id IS NOT NULL;
SELECT scheduled_jobs.drop_schedule('rg_vacuum') AS dropped;
SELECT scheduled_jobs.schedule_job('2030-01-01 00:00+00', command => 'DELETE FROM rg_sched.t; INSERT INTO rg_sched.t VALUES (1)',
	group_commit => true) > 0 AS scheduled;
SELECT scheduled_jobs.cancel_job(id) FROM scheduled_jobs.jobs WHERE command IS NOT NULL;
SELECT try($$SELECT scheduled_jobs.schedule_job(now(), command => 'VACUUM rg_sched.t; ANALYZE rg_sched.t')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now(), command => 'CREATE INDEX CONCURRENTLY ON rg_sched.t (n)', group_commit => true)$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now(), command => 'BEGIN; DELETE FROM rg_sched.t; COMMIT')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now(), command => 'DELET FROM rg_sched.t')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now(), command => ' ; ')$$);
SELECT try($$SELECT scheduled_jobs.schedule_job(now(), command => 'SELECT 1', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', command => 'SELECT 1', procedure => 'rg_sched.work')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', command => 'REINDEX DATABASE x; SELECT 1')$$);

-- REASSIGN OWNED refuses to give a role a second schedule of the same name
CREATE ROLE rg_sched_a;
CREATE ROLE rg_sched_b;
GRANT EXECUTE ON FUNCTION scheduled_jobs.create_schedule(text, text, interval, text, text, text, jsonb, text, text, text, integer, timestamptz, interval, integer, interval)
	TO rg_sched_a, rg_sched_b;
SET ROLE rg_sched_a;
SELECT scheduled_jobs.create_schedule('rg_same', cron => '@daily', channel => 'rg_sched') > 0 AS created;
SET ROLE rg_sched_b;
SELECT scheduled_jobs.create_schedule('rg_same', cron => '@hourly', channel => 'rg_sched') > 0 AS created;
RESET ROLE;
SELECT try($$REASSIGN OWNED BY rg_sched_a TO rg_sched_b$$);
SELECT name, owner, cron FROM scheduled_jobs.schedules ORDER BY owner::text;
DROP OWNED BY rg_sched_a, rg_sched_b;
DROP ROLE rg_sched_a, rg_sched_b;

-- invalid input
SELECT try($$SELECT scheduled_jobs.create_schedule(NULL, cron => '* * * * *', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('', cron => '* * * * *', channel => 'c')$$);
SELECT try(format($$SELECT scheduled_jobs.create_schedule(%L, cron => '* * * * *', channel => 'c')$$, repeat('n', 64)));
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', every => '1 minute', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * * * *', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '0 0 30 2 *', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', every => '0', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', every => '-1 minute', channel => 'c')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', procedure => 'rg_sched.work')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', procedure => 'rg_sched.nonesuch')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', time_zone => 'Mars/Olympus')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', catch_up => 'some')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', procedure => 'rg_sched.work', overlap => 'queue')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', overlap => 'skip')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', catch_up_limit => 0)$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', start_at => 'infinity')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', expires_after => '0')$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', payload => NULL)$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', procedure => 'rg_sched.work', max_attempts => 0)$$);
SELECT try($$SELECT scheduled_jobs.create_schedule('rg_x', cron => '* * * * *', channel => 'c', payload => jsonb_build_object('x', repeat('x', 7600)))$$);
SELECT try($$SELECT scheduled_jobs.schedule_job('2030-01-01 00:00+00', channel => 'c', expires_at => '2030-01-01 00:00+00')$$);
SELECT try($$SELECT scheduled_jobs.drop_schedule(NULL)$$);
SELECT count(*) AS nothing_left FROM scheduled_jobs.schedules;

DROP SCHEMA rg_sched CASCADE;
DROP FUNCTION try(text);
