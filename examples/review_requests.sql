-- Use case: ask for a review a month after a purchase.
--
--   when:   purchases.purchased_at + 1 month; called off by a refund
--   fires:  NOTIFY review_requests, for a mailer that LISTENs
--
-- Run it as a role that may create a schema and has EXECUTE on the
-- scheduled_jobs functions (README: "Installing"), in a database where an
-- administrator ran CREATE EXTENSION scheduled_jobs:
--
--   psql -d yourdb -f examples/review_requests.sql

\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;

SELECT count(scheduled_jobs.cancel_job(id)) AS "earlier requests cancelled"
FROM scheduled_jobs.jobs WHERE channel = 'review_requests';
DROP SCHEMA IF EXISTS reviews CASCADE;
CREATE SCHEMA reviews;

CREATE TABLE reviews.purchases (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer text NOT NULL,
	product text NOT NULL,
	purchased_at timestamptz NOT NULL DEFAULT now(),
	refunded_at timestamptz
);

-- The request is scheduled in the transaction that records the purchase:
-- no purchase, no request; and no table scan every night to find the
-- purchases of a month ago.
CREATE FUNCTION reviews.purchase_made() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.schedule_job(
		NEW.purchased_at + interval '1 month',
		channel => 'review_requests',
		payload => jsonb_build_object('purchase_id', NEW.id, 'customer', NEW.customer,
									  'product', NEW.product),
		job_key => format('purchase:%s:review', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER purchase_made AFTER INSERT ON reviews.purchases
	FOR EACH ROW EXECUTE FUNCTION reviews.purchase_made();

-- Nobody reviews what they sent back.
CREATE FUNCTION reviews.purchase_refunded() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.cancel_job(format('purchase:%s:review', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER purchase_refunded AFTER UPDATE OF refunded_at ON reviews.purchases
	FOR EACH ROW WHEN (OLD.refunded_at IS NULL AND NEW.refunded_at IS NOT NULL)
	EXECUTE FUNCTION reviews.purchase_refunded();

INSERT INTO reviews.purchases (customer, product) VALUES
	('ann', 'kettle'), ('ben', 'toaster');
UPDATE reviews.purchases SET refunded_at = now() WHERE customer = 'ben';

SELECT id, job_key, run_at, payload FROM scheduled_jobs.jobs WHERE channel = 'review_requests';
SELECT job_key, state FROM scheduled_jobs.job_history WHERE channel = 'review_requests';

-- See it fire now rather than next month.
LISTEN review_requests;
SELECT scheduled_jobs.reschedule_job(format('purchase:%s:review', id), now())
FROM reviews.purchases WHERE customer = 'ann';

DO $$
BEGIN
	FOR i IN 1..100 LOOP	-- at most 10 s
		EXIT WHEN EXISTS (SELECT FROM scheduled_jobs.job_history
						  WHERE channel = 'review_requests' AND state = 'notified');
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT id, job_key, state, fired_at - run_at AS lag
FROM scheduled_jobs.job_history WHERE channel = 'review_requests' ORDER BY id;
