-- Use case: end a free trial 14 days after sign-up, unless the customer
-- subscribed.
--
--   when:   accounts.signed_up_at + 14 days; called off by a subscription
--   fires:  CALL billing.expire_trial(payload)
--
-- Run it as a role that may create a schema and has EXECUTE on the
-- scheduled_jobs functions (README: "Installing"), in a database where an
-- administrator ran CREATE EXTENSION scheduled_jobs:
--
--   psql -d yourdb -f examples/trial_expiry.sql

\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;

SELECT count(scheduled_jobs.cancel_job(id)) AS "earlier jobs cancelled"
FROM scheduled_jobs.jobs WHERE procedure LIKE 'billing.%';
DROP SCHEMA IF EXISTS billing CASCADE;
CREATE SCHEMA billing;

CREATE TABLE billing.accounts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email text NOT NULL UNIQUE,
	plan text NOT NULL DEFAULT 'trial' CHECK (plan IN ('trial', 'paid', 'expired')),
	signed_up_at timestamptz NOT NULL DEFAULT now()
);

-- The procedure job.  An executor CALLs it as the role that scheduled the
-- job, in one transaction with the job's completion: the account changes if
-- and only if the job is recorded as succeeded.  It checks the state it acts
-- on, and names its objects with their schema (jobs run with
-- search_path = "$user", public).
CREATE PROCEDURE billing.expire_trial(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE billing.accounts SET plan = 'expired'
	WHERE id = (payload->>'account_id')::bigint AND plan = 'trial';
END
$$;

CREATE FUNCTION billing.account_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.plan = 'trial' THEN
		PERFORM scheduled_jobs.schedule_job(
			NEW.signed_up_at + interval '14 days',
			procedure => 'billing.expire_trial',
			payload => jsonb_build_object('account_id', NEW.id),
			job_key => format('account:%s:trial', NEW.id));
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER account_created AFTER INSERT ON billing.accounts
	FOR EACH ROW EXECUTE FUNCTION billing.account_created();

CREATE FUNCTION billing.account_subscribed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.cancel_job(format('account:%s:trial', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER account_subscribed AFTER UPDATE OF plan ON billing.accounts
	FOR EACH ROW WHEN (OLD.plan = 'trial' AND NEW.plan = 'paid')
	EXECUTE FUNCTION billing.account_subscribed();

INSERT INTO billing.accounts (email) VALUES ('ann@example.com'), ('ben@example.com');
UPDATE billing.accounts SET plan = 'paid' WHERE email = 'ben@example.com';

SELECT id, job_key, run_at, procedure, payload
FROM scheduled_jobs.jobs WHERE procedure = 'billing.expire_trial';

-- See it fire now rather than in two weeks.
SELECT scheduled_jobs.reschedule_job(format('account:%s:trial', id), now())
FROM billing.accounts WHERE email = 'ann@example.com';

DO $$
BEGIN
	FOR i IN 1..100 LOOP	-- at most 10 s
		EXIT WHEN NOT EXISTS (SELECT FROM scheduled_jobs.jobs
							  WHERE procedure = 'billing.expire_trial');
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT id, email, plan FROM billing.accounts ORDER BY id;
SELECT id, job_key, state, attempts, last_error
FROM scheduled_jobs.job_history WHERE procedure = 'billing.expire_trial' ORDER BY id;
