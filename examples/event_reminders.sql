-- Use case: remind participants 10 minutes before an event starts.
--
--   when:   events.starts_at - 10 minutes; moves with the event, goes with it
--   fires:  NOTIFY event_reminders, for a mailer that LISTENs
--
-- Run it as a role that may create a schema and has EXECUTE on the
-- scheduled_jobs functions (README: "Installing"), in a database where an
-- administrator ran CREATE EXTENSION scheduled_jobs:
--
--   psql -d yourdb -f examples/event_reminders.sql

\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;

-- Start afresh: call off reminders of an earlier run, drop its schema.
SELECT count(scheduled_jobs.cancel_job(id)) AS "earlier reminders cancelled"
FROM scheduled_jobs.jobs WHERE channel = 'event_reminders';
DROP SCHEMA IF EXISTS events CASCADE;
CREATE SCHEMA events;

CREATE TABLE events.events (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	title text NOT NULL,
	starts_at timestamptz NOT NULL
);

CREATE TABLE events.participants (
	event_id bigint NOT NULL REFERENCES events.events ON DELETE CASCADE,
	email text NOT NULL,
	PRIMARY KEY (event_id, email)
);

-- One reminder per event, keyed 'event:<id>:remind'.  Scheduling the same
-- key again replaces the pending reminder, so a moved event simply schedules
-- again.  An event starting in less than 10 minutes is reminded at once.
-- The payload carries the key only: the mailer reads the participants (a
-- NOTIFY payload is at most 8000 bytes).
CREATE FUNCTION events.schedule_reminder() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM scheduled_jobs.cancel_job(format('event:%s:remind', OLD.id));
	ELSE
		PERFORM scheduled_jobs.schedule_job(
			NEW.starts_at - interval '10 minutes',
			channel => 'event_reminders',
			payload => jsonb_build_object('event_id', NEW.id, 'title', NEW.title,
										  'starts_at', NEW.starts_at),
			job_key => format('event:%s:remind', NEW.id));
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER reminder
	AFTER INSERT OR DELETE OR UPDATE OF starts_at ON events.events
	FOR EACH ROW EXECUTE FUNCTION events.schedule_reminder();

-- Some events.
INSERT INTO events.events (title, starts_at) VALUES
	('Team offsite', now() + interval '3 days'),
	('Webinar', now() + interval '1 hour');
INSERT INTO events.participants
SELECT id, 'ann@example.com' FROM events.events;

UPDATE events.events SET starts_at = starts_at + interval '1 day'
WHERE title = 'Team offsite';	-- its reminder moves along
DELETE FROM events.events WHERE title = 'Webinar';	-- its reminder is cancelled

SELECT id, job_key, run_at, payload
FROM scheduled_jobs.jobs WHERE channel = 'event_reminders';

-- See it fire now rather than in four days: LISTEN, as the mailer does, and
-- move the reminder to now.  psql prints the notification after the next
-- statement.
LISTEN event_reminders;
SELECT scheduled_jobs.reschedule_job(format('event:%s:remind', id), now())
FROM events.events WHERE title = 'Team offsite';

DO $$
BEGIN
	FOR i IN 1..100 LOOP	-- at most 10 s
		EXIT WHEN EXISTS (SELECT FROM scheduled_jobs.job_history
						  WHERE channel = 'event_reminders' AND state = 'notified');
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT id, job_key, state, fired_at - run_at AS lag
FROM scheduled_jobs.job_history WHERE channel = 'event_reminders' ORDER BY id;
