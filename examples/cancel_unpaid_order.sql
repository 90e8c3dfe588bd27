-- Use case: cancel an order that is still unpaid 48 hours after it was
-- placed.
--
--   when:   orders.created_at + 48 hours; called off by the payment
--   fires:  CALL orders.cancel_unpaid(payload)
--
-- Both the scheduling and the calling off are triggers, so no code path
-- that creates an order or records a payment can forget them.
-- examples/demo.sh runs the same shop with seconds instead of hours.
--
-- Run it as a role that may create a schema and has EXECUTE on the
-- scheduled_jobs functions (README: "Installing"), in a database where an
-- administrator ran CREATE EXTENSION scheduled_jobs:
--
--   psql -d yourdb -f examples/cancel_unpaid_order.sql

\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;

SELECT count(scheduled_jobs.cancel_job(id)) AS "earlier jobs cancelled"
FROM scheduled_jobs.jobs WHERE procedure LIKE 'orders.%';
DROP SCHEMA IF EXISTS orders CASCADE;
CREATE SCHEMA orders;

CREATE TABLE orders.orders (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer text NOT NULL,
	amount numeric(10,2) NOT NULL,
	status text NOT NULL DEFAULT 'awaiting_payment'
		CHECK (status IN ('awaiting_payment', 'paid', 'cancelled')),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders.payments (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	order_id bigint NOT NULL REFERENCES orders.orders,
	amount numeric(10,2) NOT NULL,
	paid_at timestamptz NOT NULL DEFAULT now()
);

-- Run by an executor, as the role that placed the order, in one transaction
-- with the job's completion.  It re-checks the status: a payment that
-- commits while the job runs waits for it (its cancel_job() then returns
-- false), and finds the order cancelled.
CREATE PROCEDURE orders.cancel_unpaid(payload jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE orders.orders SET status = 'cancelled'
	WHERE id = (payload->>'order_id')::bigint AND status = 'awaiting_payment';
END
$$;

CREATE FUNCTION orders.order_placed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM scheduled_jobs.schedule_job(
		NEW.created_at + interval '48 hours',
		procedure => 'orders.cancel_unpaid',
		payload => jsonb_build_object('order_id', NEW.id),
		job_key => format('order:%s:cancel', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER order_placed AFTER INSERT ON orders.orders
	FOR EACH ROW EXECUTE FUNCTION orders.order_placed();

CREATE FUNCTION orders.payment_received() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE orders.orders SET status = 'paid'
	WHERE id = NEW.order_id AND status = 'awaiting_payment';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % is not awaiting payment', NEW.order_id;
	END IF;
	PERFORM scheduled_jobs.cancel_job(format('order:%s:cancel', NEW.order_id));
	RETURN NULL;
END
$$;
CREATE TRIGGER payment_received AFTER INSERT ON orders.payments
	FOR EACH ROW EXECUTE FUNCTION orders.payment_received();

INSERT INTO orders.orders (customer, amount) VALUES ('ann', 30), ('ben', 12.50);
INSERT INTO orders.payments (order_id, amount)
SELECT id, amount FROM orders.orders WHERE customer = 'ben';

-- An order placed in a transaction that rolls back leaves no job.
BEGIN;
INSERT INTO orders.orders (customer, amount) VALUES ('cid', 99);
ROLLBACK;

SELECT id, job_key, run_at, procedure, payload
FROM scheduled_jobs.jobs WHERE procedure = 'orders.cancel_unpaid';

-- See it fire now rather than in two days.
SELECT scheduled_jobs.reschedule_job(format('order:%s:cancel', id), now())
FROM orders.orders WHERE customer = 'ann';

DO $$
BEGIN
	FOR i IN 1..100 LOOP	-- at most 10 s
		EXIT WHEN NOT EXISTS (SELECT FROM scheduled_jobs.jobs
							  WHERE procedure = 'orders.cancel_unpaid');
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

SELECT id, customer, amount, status FROM orders.orders ORDER BY id;
SELECT id, job_key, state, attempts
FROM scheduled_jobs.job_history WHERE procedure = 'orders.cancel_unpaid' ORDER BY id;
