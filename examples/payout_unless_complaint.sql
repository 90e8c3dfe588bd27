-- Use case: pay a worker three days after the task was done, unless a
-- complaint came in.
--
--   when:   tasks.done_at + 3 days; called off by a complaint
--   fires:  CALL payouts.pay(payload)
--
-- Money moves exactly once: the payment row and the job's completion commit
-- in one transaction, and a job is never claimed twice.
--
-- Run it as a role that may create a schema and has EXECUTE on the
-- scheduled_jobs functions (README: "Installing"), in a database where an
-- administrator ran CREATE EXTENSION scheduled_jobs:
--
--   psql -d yourdb -f examples/payout_unless_complaint.sql

\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;

SELECT count(scheduled_jobs.cancel_job(id)) AS "earlier jobs cancelled"
FROM scheduled_jobs.jobs WHERE procedure LIKE 'payouts.%';
DROP SCHEMA IF EXISTS payouts CASCADE;
CREATE SCHEMA payouts;

CREATE TABLE payouts.tasks (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	worker text NOT NULL,
	fee numeric(10,2) NOT NULL,
	done_at timestamptz
);

CREATE TABLE payouts.complaints (
	task_id bigint NOT NULL REFERENCES payouts.tasks,
	reason text NOT NULL,
	filed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payouts.payments (
	task_id bigint PRIMARY KEY REFERENCES payouts.tasks,
	worker text NOT NULL,
	amount numeric(10,2) NOT NULL,
	paid_at timestamptz NOT NULL DEFAULT now()
);

CREATE PROCEDURE payouts.pay(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO payouts.payments (task_id, worker, amount)
	SELECT t.id, t.worker, t.fee FROM payouts.tasks t
	WHERE t.id = (payload->>'task_id')::bigint
	  AND NOT EXISTS (SELECT FROM payouts.complaints c WHERE c.task_id = t.id);
END
$$;

CREATE FUNCTION payouts.task_done() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.schedule_job(
		NEW.done_at + interval '3 days',
		procedure => 'payouts.pay',
		payload => jsonb_build_object('task_id', NEW.id),
		job_key => format('task:%s:payout', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER task_done AFTER UPDATE OF done_at ON payouts.tasks
	FOR EACH ROW WHEN (OLD.done_at IS NULL AND NEW.done_at IS NOT NULL)
	EXECUTE FUNCTION payouts.task_done();

CREATE FUNCTION payouts.complaint_filed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.cancel_job(format('task:%s:payout', NEW.task_id));
	RETURN NULL;
END
$$;
CREATE TRIGGER complaint_filed AFTER INSERT ON payouts.complaints
	FOR EACH ROW EXECUTE FUNCTION payouts.complaint_filed();

INSERT INTO payouts.tasks (worker, fee) VALUES ('ann', 40), ('ben', 25);
UPDATE payouts.tasks SET done_at = now();
INSERT INTO payouts.complaints (task_id, reason)
SELECT id, 'left the job half done' FROM payouts.tasks WHERE worker = 'ben';

SELECT id, job_key, run_at, procedure, payload
FROM scheduled_jobs.jobs WHERE procedure = 'payouts.pay';

-- See it fire now rather than in three days.
SELECT scheduled_jobs.reschedule_job(format('task:%s:payout', id), now())
FROM payouts.tasks WHERE worker = 'ann';

DO $$
BEGIN
	FOR i IN 1..100 LOOP	-- at most 10 s
		EXIT WHEN NOT EXISTS (SELECT FROM scheduled_jobs.jobs WHERE procedure = 'payouts.pay');
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT task_id, worker, amount FROM payouts.payments ORDER BY task_id;
SELECT id, job_key, state FROM scheduled_jobs.job_history
WHERE procedure = 'payouts.pay' ORDER BY id;
