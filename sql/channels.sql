--
-- channels: acknowledged channels, their administration and the consumer
-- functions, pinned: every invalid input with its SQLSTATE and message.
-- (Delivery, redelivery, leases and dead letters with the scheduler
-- running: test/pgtap/acknowledged.sql.)
--
\pset null '(null)'
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

-- valid: a channel, then its settings changed by calling again
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_mail', '30 seconds')$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_mail', '1 minute', 5, 'rg_mail_dead')$$);
SELECT channel, ack_timeout, max_deliveries, dead_letter_channel, in_flight, dead_letters, consumers
FROM scheduled_jobs.channels ORDER BY channel;

-- invalid settings
SELECT try($$SELECT scheduled_jobs.configure_channel('', '30 seconds')$$);
SELECT try($$SELECT scheduled_jobs.configure_channel(NULL, '30 seconds')$$);
SELECT try(format($$SELECT scheduled_jobs.configure_channel(%L, '30 seconds')$$, repeat('c', 64)));
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', NULL)$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', '0')$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', '-1 second')$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', '2 years')$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', '1 second', 0)$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', '1 second', NULL)$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', '1 second', 3, 'rg_x')$$);
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_x', '1 second', 3, '')$$);
SELECT count(*) AS not_configured FROM scheduled_jobs.channel_settings WHERE channel = 'rg_x';

-- grants
CREATE ROLE regress_sj_mailer;
SELECT try($$SELECT scheduled_jobs.grant_channel('rg_mail', 'regress_sj_mailer')$$);
SELECT try($$SELECT scheduled_jobs.grant_channel('rg_mail', 'regress_sj_mailer')$$);
SELECT consumers FROM scheduled_jobs.channels WHERE channel = 'rg_mail';
SELECT scheduled_jobs.revoke_channel('rg_mail', 'regress_sj_mailer') AS revoked,
	scheduled_jobs.revoke_channel('rg_mail', 'regress_sj_mailer') AS again;
SELECT try($$SELECT scheduled_jobs.grant_channel('rg_mail', 'regress_sj_nobody_at_all')$$);
SELECT try($$SELECT scheduled_jobs.grant_channel('rg_mail', 0::oid::regrole)$$);

-- invalid: the administration needs the tables' privileges
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO regress_sj_mailer;
SET ROLE regress_sj_mailer;
SELECT try($$SELECT scheduled_jobs.configure_channel('rg_y', '1 second')$$);
SELECT try($$SELECT scheduled_jobs.grant_channel('rg_mail', 'regress_sj_mailer')$$);
-- the consumer functions on an unknown or plain channel, and bad arguments
SELECT try($$SELECT * FROM scheduled_jobs.claim('rg_plain')$$);
SELECT try($$SELECT * FROM scheduled_jobs.unacknowledged('rg_plain')$$);
SELECT try($$SELECT * FROM scheduled_jobs.claim('rg_mail', 0)$$);
SELECT try($$SELECT * FROM scheduled_jobs.claim('rg_mail', 1, '0')$$);
SELECT try($$SELECT * FROM scheduled_jobs.claim('rg_mail', 1, '-1 minute')$$);
SELECT try($$SELECT * FROM scheduled_jobs.unacknowledged('rg_mail', 0)$$);
SELECT try($$SELECT scheduled_jobs.extend_lease(1, 1, '0')$$);
SELECT try($$SELECT scheduled_jobs.nack(1, 1, '-1 second')$$);
-- valid, and nothing there: false or no rows, never an error
SELECT * FROM scheduled_jobs.claim('rg_mail', 10);
SELECT scheduled_jobs.ack_many(ARRAY[1, 2]) AS ack_many_unknown;
SELECT scheduled_jobs.ack(1) AS ack_unknown, scheduled_jobs.extend_lease(1, 1, '1 minute') AS extend_unknown,
	scheduled_jobs.nack(1, 1) AS nack_unknown;
-- NULL arguments: NULL (STRICT)
SELECT scheduled_jobs.ack(NULL) IS NULL AS ack_null;
-- invalid: read-only transactions
BEGIN READ ONLY;
SELECT try($$SELECT scheduled_jobs.ack(1)$$);
SELECT try($$SELECT * FROM scheduled_jobs.claim('rg_mail')$$);
SELECT try($$SELECT scheduled_jobs.extend_lease(1, 1, '1 minute')$$);
SELECT try($$SELECT scheduled_jobs.nack(1, 1)$$);
COMMIT;
RESET ROLE;

-- a granted role is like one holding privileges: DROP ROLE refuses,
-- DROP OWNED BY takes the grant back
CREATE ROLE regress_sj_granted;
SELECT scheduled_jobs.grant_channel('rg_mail', 'regress_sj_granted') AS g \gset
SELECT try($$DROP ROLE regress_sj_granted$$);
DROP OWNED BY regress_sj_granted;
SELECT count(*) AS grants_left FROM scheduled_jobs.channel_grants WHERE consumer::text = 'regress_sj_granted';
SELECT try($$DROP ROLE regress_sj_granted$$);

-- plain again
SELECT scheduled_jobs.unconfigure_channel('rg_mail') AS unconfigured,
	scheduled_jobs.unconfigure_channel('rg_mail') AS again;
SELECT count(*) AS channels FROM scheduled_jobs.channels;
SELECT scheduled_jobs.redrive(1) AS redrive_unknown;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs FROM regress_sj_mailer;
DROP ROLE regress_sj_mailer;
DROP FUNCTION try(text);
