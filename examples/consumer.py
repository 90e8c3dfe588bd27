#!/usr/bin/python3
"""A consumer of an acknowledged scheduled_jobs channel (psycopg 3).

    /usr/bin/python3 examples/consumer.py --dsn 'host=127.0.0.1 dbname=app user=mailer' event_reminders

On every (re)connect it follows the reconnect protocol of the README:
LISTEN (autocommit: committed at once), then claim what is pending, then
wait for notifications, claiming again on each. Each job is handled in one
transaction with its acknowledgement: the effect (here a row in --outbox, if
given, else a line on stdout) commits together with ack(), or not at all, so
a job is handled exactly once however often the connection drops. A dropped
connection is retried with a growing delay.

Apt: python3-psycopg (Debian 12: psycopg 3.1).
"""
import argparse
import json
import select
import sys
import time

import psycopg
from psycopg import sql


def handle(conn, job_id, envelope, outbox):
    """The job's effect and its ack, in one transaction. True if handled."""
    with conn.transaction() as tx:
        if outbox:
            conn.execute(sql.SQL("INSERT INTO {} (job_id, payload) VALUES (%s, %s)")
                         .format(sql.Identifier(*outbox.split("."))),
                         (job_id, json.dumps(envelope["payload"])))
        else:
            print(json.dumps(envelope), flush=True)
        if not conn.execute("SELECT scheduled_jobs.ack(%s)", (job_id,)).fetchone()[0]:
            # someone else acknowledged it first: undo our effect
            raise psycopg.Rollback(tx)
    return True


def drain(conn, channel, outbox, batch, lease):
    """Claim and handle jobs until none is left. Returns how many."""
    n = 0
    while True:
        rows = conn.execute(
            "SELECT id, envelope FROM scheduled_jobs.claim(%s, %s, %s::interval)",
            (channel, batch, lease)).fetchall()
        for job_id, envelope in rows:
            handle(conn, job_id, envelope, outbox)
            n += 1
        if len(rows) < batch:
            return n


def consume(args, connected):
    conn = psycopg.connect(args.dsn, autocommit=True,
                           application_name=args.application_name)
    # the notification only wakes us: the claim below gets its job
    conn.add_notify_handler(lambda notify: None)
    try:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(args.channel)))
        connected()
        drain(conn, args.channel, args.outbox, args.batch, args.lease)
        while True:
            # a notification, or a second without one: claim again
            select.select([conn.fileno()], [], [], 1.0)
            conn.execute("SELECT 1")        # reads what arrived
            drain(conn, args.channel, args.outbox, args.batch, args.lease)
            if args.until_idle and not conn.execute(
                    "SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = %s",
                    (args.channel,)).fetchone()[0]:
                return
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("channel")
    p.add_argument("--dsn", default="")
    p.add_argument("--outbox", help="schema.table (job_id bigint, payload jsonb) to write each job to")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--lease", default="1 minute",
                   help="how long a claimed job is ours before it is delivered again")
    p.add_argument("--application-name", default="scheduled_jobs consumer")
    p.add_argument("--until-idle", action="store_true",
                   help="exit once the channel has no job left (for tests)")
    args = p.parse_args()
    # the delay grows while reconnecting fails, and starts again at 0.1 s
    # once a connection is listening
    retry = {"delay": 0.1}
    while True:
        try:
            consume(args, lambda: retry.update(delay=0.1))
            return 0
        except psycopg.OperationalError as e:
            print(f"consumer: connection lost ({str(e).strip()}), reconnecting",
                  file=sys.stderr, flush=True)
            time.sleep(retry["delay"])
            retry["delay"] = min(retry["delay"] * 2, 5.0)


if __name__ == "__main__":
    sys.exit(main())
