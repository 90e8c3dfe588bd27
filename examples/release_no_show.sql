-- Use case: release a reservation if nobody has checked in 15 minutes after
-- the slot started.
--
--   when:   reservations.slot_start + 15 minutes; moves with the slot,
--           called off by the check-in
--   fires:  CALL bookings.release_no_show(payload)
--
-- Run it as a role that may create a schema and has EXECUTE on the
-- scheduled_jobs functions (README: "Installing"), in a database where an
-- administrator ran CREATE EXTENSION scheduled_jobs:
--
--   psql -d yourdb -f examples/release_no_show.sql

\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;

SELECT count(scheduled_jobs.cancel_job(id)) AS "earlier jobs cancelled"
FROM scheduled_jobs.jobs WHERE procedure LIKE 'bookings.%';
DROP SCHEMA IF EXISTS bookings CASCADE;
CREATE SCHEMA bookings;

CREATE TABLE bookings.reservations (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	guest text NOT NULL,
	slot_start timestamptz NOT NULL,
	status text NOT NULL DEFAULT 'booked'
		CHECK (status IN ('booked', 'checked_in', 'released')),
	checked_in_at timestamptz
);

CREATE PROCEDURE bookings.release_no_show(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE bookings.reservations SET status = 'released'
	WHERE id = (payload->>'reservation_id')::bigint AND status = 'booked';
END
$$;

-- A new reservation, or a moved slot: schedule under the same key, which
-- replaces the pending job (same id, new run_at).
CREATE FUNCTION bookings.slot_booked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'booked' THEN
		PERFORM scheduled_jobs.schedule_job(
			NEW.slot_start + interval '15 minutes',
			procedure => 'bookings.release_no_show',
			payload => jsonb_build_object('reservation_id', NEW.id),
			job_key => format('reservation:%s:no-show', NEW.id));
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER slot_booked AFTER INSERT OR UPDATE OF slot_start ON bookings.reservations
	FOR EACH ROW EXECUTE FUNCTION bookings.slot_booked();

CREATE FUNCTION bookings.checked_in() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.cancel_job(format('reservation:%s:no-show', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER checked_in AFTER UPDATE OF status ON bookings.reservations
	FOR EACH ROW WHEN (NEW.status = 'checked_in')
	EXECUTE FUNCTION bookings.checked_in();

INSERT INTO bookings.reservations (guest, slot_start) VALUES
	('ann', now() + interval '2 hours'),
	('ben', now() + interval '3 hours');
UPDATE bookings.reservations SET slot_start = slot_start + interval '30 minutes'
WHERE guest = 'ann';	-- the job moves along, keeping its id
UPDATE bookings.reservations SET status = 'checked_in', checked_in_at = now()
WHERE guest = 'ben';	-- ben came: no release

SELECT id, job_key, run_at, procedure, payload
FROM scheduled_jobs.jobs WHERE procedure = 'bookings.release_no_show';

-- See it fire now.
SELECT scheduled_jobs.reschedule_job(format('reservation:%s:no-show', id), now())
FROM bookings.reservations WHERE guest = 'ann';

DO $$
BEGIN
	FOR i IN 1..100 LOOP	-- at most 10 s
		EXIT WHEN NOT EXISTS (SELECT FROM scheduled_jobs.jobs
							  WHERE procedure = 'bookings.release_no_show');
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT id, guest, status FROM bookings.reservations ORDER BY id;
SELECT id, job_key, state FROM scheduled_jobs.job_history
WHERE procedure = 'bookings.release_no_show' ORDER BY id;
