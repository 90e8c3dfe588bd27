#!/bin/bash
#
# examples/demo.sh: see scheduled_jobs work, on a fresh Debian 12 machine.
#
#   bash examples/demo.sh        install what is missing, build and install the
#                                extension, start a throwaway PostgreSQL 15 with
#                                it preloaded, run the demo (about 15 s), and
#                                leave the server running for you to try things
#   bash examples/demo.sh stop   stop the demo server and remove it
#
# Run it as root or as a user with sudo (for apt-get and make install).  The
# server runs as the postgres OS user (as yourself if you are not root), on
# 127.0.0.1 only, with trust authentication: it is a toy, not for real data.
#
#   SJ_DEMO_DIR   where the server lives (default /tmp/scheduled_jobs_demo)
#   SJ_DEMO_PORT  its port (default 55432; the next free one if taken)
#
# A second run throws the previous demo server away and starts afresh, so
# that it always runs the extension just built.
#
# The demo is a small shop.  A trigger on orders schedules, in the same
# transaction as the order, a reminder (a NOTIFY job) and the cancellation of
# the order if it is still unpaid (a CALL of shop.cancel_unpaid); a trigger on
# payments cancels both.  examples/listen.pl LISTENs and prints what arrives.

set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

DIR=${SJ_DEMO_DIR:-/tmp/scheduled_jobs_demo}
PORT=${SJ_DEMO_PORT:-55432}
DB=shop
APP=shop_app
CHANNELS="order_reminders order_events shop_news"

if [ -t 1 ] && [ "$(tput colors 2>/dev/null || echo 0)" -ge 8 ]; then
	B=$(tput bold) D=$(tput dim) G=$(tput setaf 2) C=$(tput setaf 6) Y=$(tput setaf 3) R=$(tput setaf 1) N=$(tput sgr0)
else
	B= D= G= C= Y= R= N=
fi

title() { printf '\n%s%s%s\n' "$B" "$*" "$N"; }
say() { printf '  %s\n' "$*"; }
sqlshow() { printf '%s' "$D"; sed 's/^/    | /'; printf '%s' "$N"; }
pace() { sleep 0.5; }	# time to read, between the steps
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

# stop_server: stop the demo server and remove its directory.
stop_server() {
	[ -e "$DIR" ] || return 0
	# refuse to remove a directory that is not ours
	[ -f "$DIR/data/PG_VERSION" ] || [ -z "$(ls -A "$DIR")" ] ||
		die "$DIR exists and does not look like a demo server; remove it yourself"
	sj_cluster_stop "$DIR"
	rm -rf "$DIR"
}

if [ "${1:-}" = stop ]; then
	if [ -e "$DIR" ]; then
		stop_server
		echo "demo server stopped; $DIR removed"
	else
		echo "no demo server in $DIR"
	fi
	exit 0
elif [ $# -gt 0 ]; then
	echo "usage: bash examples/demo.sh [stop]" >&2
	exit 2
fi

listener=
cleanup() {
	if [ -n "$listener" ] && kill -0 "$listener" 2>/dev/null; then
		kill -TERM "$listener" 2>/dev/null || true
		wait "$listener" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_as() {
	local user=$1; shift
	"$SJ_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U "$user" "$@"
}
app() { psql_as "$APP" -d "$DB" "$@"; }
val() { app -At -c "$1"; }
# as the administrator: only it sees other roles' backends in pg_stat_activity
adminval() { psql_as postgres -d "$DB" -At -c "$1"; }

# wait_for SECONDS SQL: until the SQL (run as the administrator) returns t, or fail.
wait_for() {
	local deadline=$((SECONDS + $1))
	until [ "$(adminval "$2")" = t ]; do
		[ $SECONDS -lt $deadline ] || die "timed out waiting for: $2 (server log: $DIR/server.log)"
		sleep 0.1
	done
}

# ---------------------------------------------------------------------------
title "scheduled_jobs demo"

say "packages: checking (postgresql-15, postgresql-server-dev-15, libdbd-pg-perl, ...)"
if [ "$(id -u)" = 0 ]; then
	sj_install_packages
else
	sj_install_packages 2>/dev/null || sudo bash -c '. test/lib.sh && sj_install_packages'
fi

say "extension: make && make install"
sj_build_install || die "the build failed (if someone is editing src/, retry in a minute)"

if [ -e "$DIR" ]; then
	say "server: removing the previous demo server in $DIR"
	stop_server
fi
say "server: starting PostgreSQL 15 in $DIR (shared_preload_libraries = 'scheduled_jobs')"
SJ_PORT=$PORT sj_cluster_start "$DIR" || die "the server did not start; see $DIR/server.log"
[ "$PGPORT" = "$PORT" ] || say "${Y}port $PORT is taken: using $PGPORT${N}"

# As the administrator: an application role, its database, the extension,
# and the right to call the scheduled_jobs functions.
psql_as postgres -d postgres <<SQL
CREATE ROLE $APP LOGIN;
CREATE DATABASE $DB OWNER $APP;
\connect $DB
CREATE EXTENSION scheduled_jobs;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO $APP;
SQL
say "database: '$DB', owned by role $APP; CREATE EXTENSION scheduled_jobs;"
say "          GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO $APP;"

# As the application: the shop.
app <<'SQL'
CREATE SCHEMA shop;

-- How long things take in this shop.  A real shop would wait a day and
-- 48 hours; the demo waits seconds so that you can watch.
CREATE TABLE shop.settings (
	remind_after interval NOT NULL,
	cancel_after interval NOT NULL
);
INSERT INTO shop.settings VALUES ('6 seconds', '9 seconds');

CREATE TABLE shop.orders (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer text NOT NULL,
	amount numeric(10,2) NOT NULL,
	status text NOT NULL DEFAULT 'awaiting_payment'
		CHECK (status IN ('awaiting_payment', 'paid', 'cancelled')),
	created_at timestamptz NOT NULL DEFAULT now(),
	cancelled_at timestamptz
);

CREATE TABLE shop.payments (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	order_id bigint NOT NULL REFERENCES shop.orders,
	amount numeric(10,2) NOT NULL,
	paid_at timestamptz NOT NULL DEFAULT now()
);

-- A new order gets two jobs, in the transaction that inserts it: a reminder
-- (NOTIFY, for a mailer that LISTENs) and its cancellation if it is still
-- unpaid then (CALL shop.cancel_unpaid).  No order, no jobs.
CREATE FUNCTION shop.order_placed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	s shop.settings;
BEGIN
	SELECT * INTO s FROM shop.settings;
	PERFORM scheduled_jobs.schedule_job(
		NEW.created_at + s.remind_after,
		channel => 'order_reminders',
		payload => jsonb_build_object('order_id', NEW.id, 'customer', NEW.customer,
									  'amount', NEW.amount),
		job_key => format('order:%s:remind', NEW.id));
	PERFORM scheduled_jobs.schedule_job(
		NEW.created_at + s.cancel_after,
		procedure => 'shop.cancel_unpaid',
		payload => jsonb_build_object('order_id', NEW.id, 'customer', NEW.customer),
		job_key => format('order:%s:cancel', NEW.id));
	RETURN NULL;
END
$$;
CREATE TRIGGER order_placed AFTER INSERT ON shop.orders
	FOR EACH ROW EXECUTE FUNCTION shop.order_placed();

-- A payment marks the order paid and calls both jobs off.
CREATE FUNCTION shop.payment_received() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE shop.orders SET status = 'paid'
	WHERE id = NEW.order_id AND status = 'awaiting_payment';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % is not awaiting payment', NEW.order_id;
	END IF;
	PERFORM scheduled_jobs.cancel_job(format('order:%s:remind', NEW.order_id));
	PERFORM scheduled_jobs.cancel_job(format('order:%s:cancel', NEW.order_id));
	RETURN NULL;
END
$$;
CREATE TRIGGER payment_received AFTER INSERT ON shop.payments
	FOR EACH ROW EXECUTE FUNCTION shop.payment_received();

-- The procedure job.  An executor CALLs it as shop_app (the role that
-- scheduled it), in one transaction with the job's completion.  It checks
-- the order's state itself, and tells listeners what it did: its NOTIFY
-- commits with the cancellation, or not at all.
CREATE PROCEDURE shop.cancel_unpaid(payload jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	o shop.orders;
BEGIN
	UPDATE shop.orders SET status = 'cancelled', cancelled_at = clock_timestamp()
	WHERE id = (payload->>'order_id')::bigint AND status = 'awaiting_payment'
	RETURNING * INTO o;
	IF FOUND THEN
		PERFORM pg_notify('order_events', jsonb_build_object(
			'event', 'order_cancelled', 'order_id', o.id,
			'customer', o.customer, 'reason', 'unpaid')::text);
	END IF;
END
$$;
SQL
say "schema:   shop.orders, shop.payments, their triggers and shop.cancel_unpaid(jsonb)"

wait_for 10 "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = '$DB'"
say "workers:  $(adminval "SELECT string_agg(backend_type || ' (pid ' || pid || ')', ', ' ORDER BY backend_type) FROM pg_stat_activity WHERE backend_type LIKE 'scheduled_jobs%' AND (datname = '$DB' OR datname IS NULL)")"

# The consumer, printing every notification with its lag (receipt - run_at).
perl examples/listen.pl --prefix "${C}  >> ${N}" \
	--dsn "dbi:Pg:host=127.0.0.1;port=$PGPORT;dbname=$DB;user=$APP" $CHANNELS &
listener=$!
wait_for 10 "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'listen.pl' AND state = 'idle' AND query LIKE 'LISTEN%'"

# ---------------------------------------------------------------------------
title "1. Three customers order; each order's trigger schedules its two jobs"
for o in "alice 30.00" "bob 12.50" "carol 99.90"; do
	set -- $o
	id=$(val "INSERT INTO shop.orders (customer, amount) VALUES ('$1', $2) RETURNING id")
	say "$1 places order $id ($2)"
done
app <<'SQL' | sqlshow
SELECT id, job_key,
       coalesce('NOTIFY ' || channel, 'CALL ' || procedure) AS fires_as,
       to_char(run_at, 'HH24:MI:SS.MS') AS run_at, payload
FROM scheduled_jobs.jobs ORDER BY run_at, id;
SQL

pace
title "2. A transaction that rolls back leaves no job behind"
app <<'SQL' | sqlshow
BEGIN;
INSERT INTO shop.orders (customer, amount) VALUES ('mallory', 1000.00);
SELECT count(*) AS "mallory's jobs, inside" FROM scheduled_jobs.jobs WHERE payload->>'customer' = 'mallory';
ROLLBACK;
SELECT count(*) AS "mallory's jobs, after ROLLBACK" FROM scheduled_jobs.jobs WHERE payload->>'customer' = 'mallory';
SQL

pace
title "3. Jobs scheduled straight from SQL; the same job_key replaces the pending job"
first=$(val "SELECT scheduled_jobs.schedule_job(now() + interval '3 seconds', channel => 'shop_news',
	payload => '{\"text\": \"Weekend sale tomorrow\"}', job_key => 'news:weekend-sale')")
second=$(val "SELECT scheduled_jobs.schedule_job(now() + interval '7 seconds', channel => 'shop_news',
	payload => '{\"text\": \"Weekend sale: 20% off everything\"}', job_key => 'news:weekend-sale')")
say "schedule_job(now() + '3 s', channel => 'shop_news', job_key => 'news:weekend-sale') = $first"
say "schedule_job(now() + '7 s', same key, new text)                                  = $second"
say "one pending job, same id, new time and payload: it fires once, in 7 s"

pace
title "4. bob pays; the payment trigger cancels his reminder and cancellation"
val "INSERT INTO shop.payments (order_id, amount) SELECT id, amount FROM shop.orders WHERE customer = 'bob'" >/dev/null
app <<'SQL' | sqlshow
SELECT job_key, state FROM scheduled_jobs.job_history
WHERE payload->>'customer' = 'bob' ORDER BY id;
SQL

pace
title "5. carol asks for more time: her cancellation moves to 9 s from now"
moved=$(val "SELECT scheduled_jobs.reschedule_job(format('order:%s:cancel', id), now() + interval '9 seconds') FROM shop.orders WHERE customer = 'carol'")
say "reschedule_job('order:3:cancel', now() + '9 s') = $moved"

# ---------------------------------------------------------------------------
pace
title "6. Waiting for the jobs to fire (the listener prints what arrives: >>)"
say "expected: reminders for alice and carol (6 s after their orders), the news,"
say "alice's order cancelled (9 s after it), carol's later; nothing for bob, who paid."
declare -A shown=()
deadline=$((SECONDS + 30))
while :; do
	done_now=0
	while IFS='|' read -r key state customer status; do
		[ -n "$key" ] || continue
		done_now=$((done_now + 1))
		[ -z "${shown[$key]:-}" ] || continue
		shown[$key]=1
		printf '%s  ## %s  %s: CALL shop.cancel_unpaid %s; %s'"'"'s order is now %s%s\n' \
			"$G" "$(date +%H:%M:%S.%3N)" "$key" "$state" "$customer" "$status" "$N"
	done < <(val "SELECT h.job_key, h.state, o.customer, o.status
		FROM scheduled_jobs.job_history h
		JOIN shop.orders o ON o.id = (h.payload->>'order_id')::bigint
		WHERE h.procedure IS NOT NULL AND h.state <> 'cancelled' ORDER BY h.id")
	fired=$(val "SELECT count(*) FROM scheduled_jobs.job_history WHERE state = 'notified'")
	[ "$done_now" -ge 2 ] && [ "$fired" -ge 3 ] && break
	if [ $SECONDS -ge $deadline ]; then
		printf '%s  procedure jobs still pending after 30 s: %s%s\n' "$Y" \
			"$(val "SELECT coalesce(string_agg(job_key, ', '), 'none') FROM scheduled_jobs.jobs WHERE procedure IS NOT NULL")" "$N"
		say "(an extension without executors leaves procedure jobs pending)"
		break
	fi
	sleep 0.2
done
sleep 0.3	# let the listener print the last notification

# ---------------------------------------------------------------------------
title "7. Where everything ended up"
app <<'SQL' | sqlshow
SELECT id, customer, amount, status FROM shop.orders ORDER BY id;
SELECT id, job_key, coalesce(channel, procedure) AS target, state, attempts,
       to_char(run_at, 'HH24:MI:SS.MS') AS run_at,
       round(extract(epoch FROM fired_at - run_at) * 1000, 1) AS "fired_at - run_at (ms)"
FROM scheduled_jobs.job_history ORDER BY id;
SQL

kill -TERM "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
listener=

# ---------------------------------------------------------------------------
cat <<EOF

${B}The demo server keeps running.${N}  Connect with:

    psql -h 127.0.0.1 -p $PGPORT -U $APP $DB    # as the application
    psql -h 127.0.0.1 -p $PGPORT -U postgres $DB    # as the administrator

Watch what fires, in another terminal:

    perl examples/listen.pl --dsn 'dbi:Pg:host=127.0.0.1;port=$PGPORT;dbname=$DB;user=$APP' $CHANNELS

Things to try in psql:

    INSERT INTO shop.orders (customer, amount) VALUES ('dave', 5);   -- reminder in 6 s, cancelled in 9 s
    INSERT INTO shop.payments (order_id, amount)
        SELECT max(id), 5 FROM shop.orders;                          -- ... unless paid in time
    SELECT scheduled_jobs.schedule_job(now() + interval '10 seconds',
        channel => 'shop_news', payload => '{"text": "hello"}');
    SELECT * FROM scheduled_jobs.jobs;                               -- pending
    SELECT * FROM scheduled_jobs.job_history ORDER BY id DESC;       -- finished
    UPDATE shop.settings SET cancel_after = '48 hours';              -- a real shop
    SELECT pid, datname, backend_type, wait_event FROM pg_stat_activity
        WHERE backend_type LIKE 'scheduled_jobs%';                   -- the workers (as postgres)

Stop it and remove it:

    bash examples/demo.sh stop

EOF
