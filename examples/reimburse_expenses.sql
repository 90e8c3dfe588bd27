-- Use case: reimburse an expense once the supervisor accepted it, but not
-- before three days after the purchase.
--
--   when:   the later of expenses.purchased_at + 3 days and the acceptance
--   fires:  CALL expenses.reimburse(payload)
--
-- A time *and* an event: the event (the acceptance) schedules the job, at
-- the later of the two times.  (Jobs gated on named signals are planned.)
--
-- Run it as a role that may create a schema and has EXECUTE on the
-- scheduled_jobs functions (README: "Installing"), in a database where an
-- administrator ran CREATE EXTENSION scheduled_jobs:
--
--   psql -d yourdb -f examples/reimburse_expenses.sql

\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;

SELECT count(scheduled_jobs.cancel_job(id)) AS "earlier jobs cancelled"
FROM scheduled_jobs.jobs WHERE procedure LIKE 'expenses.%';
DROP SCHEMA IF EXISTS expenses CASCADE;
CREATE SCHEMA expenses;

CREATE TABLE expenses.expenses (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	employee text NOT NULL,
	amount numeric(10,2) NOT NULL,
	purchased_at timestamptz NOT NULL,
	accepted_at timestamptz,
	reimbursed_at timestamptz
);

CREATE PROCEDURE expenses.reimburse(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE expenses.expenses SET reimbursed_at = now()
	WHERE id = (payload->>'expense_id')::bigint
	  AND accepted_at IS NOT NULL AND reimbursed_at IS NULL;
END
$$;

CREATE FUNCTION expenses.expense_accepted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.schedule_job(
		greatest(NEW.purchased_at + interval '3 days', NEW.accepted_at),
		procedure => 'expenses.reimburse',
		payload => jsonb_build_object('expense_id', NEW.id),
		job_key => format('expense:%s:reimburse', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER expense_accepted AFTER UPDATE OF accepted_at ON expenses.expenses
	FOR EACH ROW WHEN (OLD.accepted_at IS NULL AND NEW.accepted_at IS NOT NULL)
	EXECUTE FUNCTION expenses.expense_accepted();

INSERT INTO expenses.expenses (employee, amount, purchased_at) VALUES
	('ann', 120, now() - interval '5 days'),	-- accepted late: paid at once
	('ben', 80, now() - interval '1 day');	-- accepted early: paid in 2 days
UPDATE expenses.expenses SET accepted_at = now();

SELECT id, job_key, run_at, procedure, payload
FROM scheduled_jobs.jobs WHERE procedure = 'expenses.reimburse';

DO $$
BEGIN
	FOR i IN 1..100 LOOP	-- at most 10 s
		EXIT WHEN EXISTS (SELECT FROM scheduled_jobs.job_history
						  WHERE procedure = 'expenses.reimburse');
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT id, employee, amount, purchased_at::date, reimbursed_at IS NOT NULL AS reimbursed
FROM expenses.expenses ORDER BY id;
SELECT id, job_key, state FROM scheduled_jobs.job_history
WHERE procedure = 'expenses.reimburse' ORDER BY id;
