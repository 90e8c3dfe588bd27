#!/usr/bin/python3
"""The clients of the Patroni test (test/ha/patroni.pl), psycopg 3.

    client.py produce --dsn DSN --rate N --sleep-ms MS
    client.py listen  --dsn DSN
    client.py consume --dsn DSN
    client.py watch   PORT:DATADIR ...

produce, listen and consume connect with a multi-host DSN and
target_session_attrs=read-write, so each (re)connect finds the leader; each
reconnects after a dropped connection within 0.1 s.  Each writes one line
per event to stdout, and only what it knows happened: a line "confirmed"
or "handled" is written after the COMMIT returned, so a key that appears
twice was done twice, and one that is missing from the surviving timeline
was lost.  SIGTERM ends a client after its current step.

  produce  one transaction per tick schedules three jobs due in 1 s: a
           procedure job (key p:N), a NOTIFY job (n:N) and a job on the
           acknowledged channel (a:N).  "confirmed N PORT" after COMMIT.
  listen   LISTEN ha_notify (the NOTIFY jobs) and ha_effects (what the
           procedure sends when its effect commits); on every (re)connect
           it catches up on NOTIFY jobs from job_history (the README's
           reconnect protocol for plain channels).  Lines: "notify ID KEY PORT TIME",
           "catchup ID KEY", "effect KEY".
  consume  the acknowledged channel ha_ack: LISTEN, claim, handle each job
           (a row in ha.outbox, and --work-ms of work) in the transaction of
           its ack; "handled ID KEY" after COMMIT.
  watch    every 100 ms, on each node: is it in recovery, and how many
           scheduled_jobs processes does it run, by pg_stat_activity and by
           the process list (children of its postmaster).  A worker seen
           while the node is in recovery before and after the look is a
           violation.  Lines: "role PORT T primary|standby|down" on each
           change, "violation ...", and "standby_samples PORT N" at the end.
"""
import argparse
import json
import os
import select
import signal
import sys
import time

import psycopg

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def out(*words):
    print(*words, flush=True)


def connect(dsn, name):
    """A connection to the leader, retried every 0.1 s until one is found."""
    while not stop:
        try:
            return psycopg.connect(dsn, autocommit=True, application_name=name,
                                   connect_timeout=2)
        except psycopg.OperationalError:
            time.sleep(0.1)
    return None


def wait_readable(conn, timeout):
    """Wait for input on conn; read it (notifications included)."""
    select.select([conn.fileno()], [], [], timeout)
    conn.pgconn.consume_input()
    if conn.pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError("connection lost")


def notifies(conn):
    while True:
        n = conn.pgconn.notifies()
        if n is None:
            return
        yield n.relname.decode(), n.extra.decode()


def produce(args):
    n = 0
    tick = 1.0 / args.rate
    sql = """SELECT scheduled_jobs.schedule_job(now() + interval '1 s', procedure => 'ha.record',
                 payload => jsonb_build_object('k', 'p:' || %(n)s, 'sleep_ms', %(s)s), job_key => 'p:' || %(n)s),
             scheduled_jobs.schedule_job(now() + interval '1 s', channel => 'ha_notify',
                 job_key => 'n:' || %(n)s),
             scheduled_jobs.schedule_job(now() + interval '1 s', channel => 'ha_ack',
                 job_key => 'a:' || %(n)s)"""
    while not stop:
        conn = connect(args.dsn, "ha_producer")
        if conn is None:
            break
        port = conn.info.port
        out("connect", port, "%.3f" % time.time())
        try:
            next_at = time.time()
            while not stop:
                n += 1
                with conn.transaction():
                    conn.execute(sql, {"n": n, "s": args.sleep_ms})
                out("confirmed", n, port)
                next_at += tick
                time.sleep(max(0.0, next_at - time.time()))
        except psycopg.Error as e:
            out("unconfirmed", n, port, "%.3f" % time.time(), str(e).strip().splitlines()[0])
        finally:
            conn.close()


def listen(args):
    seen = set()
    while not stop:
        conn = connect(args.dsn, "ha_listener")
        if conn is None:
            break
        port = conn.info.port
        out("connect", port, "%.3f" % time.time())
        try:
            conn.execute("LISTEN ha_notify")
            conn.execute("LISTEN ha_effects")
            # what fired while we were away (or before we listened)
            for job_id, key in conn.execute(
                    """SELECT id, job_key FROM scheduled_jobs.job_history
                       WHERE channel = 'ha_notify' AND state = 'notified'"""):
                if job_id not in seen:
                    seen.add(job_id)
                    out("catchup", job_id, key, port)
            while not stop:
                wait_readable(conn, 0.5)
                for channel, payload in notifies(conn):
                    if channel == "ha_notify":
                        envelope = json.loads(payload)
                        seen.add(envelope["id"])
                        out("notify", envelope["id"], envelope["job_key"], port, "%.6f" % time.time())
                    else:
                        out("effect", payload, port)
        except psycopg.Error as e:
            out("lost", port, "%.3f" % time.time(), str(e).strip().splitlines()[0])
        finally:
            conn.close()


def consume(args):
    while not stop:
        conn = connect(args.dsn, "ha_consumer")
        if conn is None:
            break
        port = conn.info.port
        out("connect", port, "%.3f" % time.time())
        try:
            conn.execute("LISTEN ha_ack")
            while not stop:
                rows = conn.execute(
                    "SELECT id, envelope FROM scheduled_jobs.claim('ha_ack', 20, '3 seconds')").fetchall()
                for job_id, envelope in rows:
                    acked = False
                    with conn.transaction() as tx:
                        conn.execute("INSERT INTO ha.outbox (job_id, k) VALUES (%s, %s)",
                                     (job_id, envelope["job_key"]))
                        time.sleep(args.work_ms / 1000.0)
                        acked = conn.execute("SELECT scheduled_jobs.ack(%s)", (job_id,)).fetchone()[0]
                        if not acked:
                            raise psycopg.Rollback(tx)
                    if acked:
                        out("handled", job_id, envelope["job_key"], port)
                if len(rows) < 20:
                    wait_readable(conn, 0.2)
                    for _ in notifies(conn):
                        pass
        except psycopg.Error as e:
            out("lost", port, "%.3f" % time.time(), str(e).strip().splitlines()[0])
        finally:
            conn.close()


def scheduled_jobs_children(datadir):
    """pids of the scheduled_jobs processes among the postmaster's children."""
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            pm = f.readline().strip()
    except OSError:
        return []
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
            if ppid != pm:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if b"scheduled_jobs" in f.read():
                    found.append(pid)
        except (OSError, IndexError):
            pass
    return found


def watch(args):
    nodes = [(int(p), d) for p, d in (a.split(":", 1) for a in args.nodes)]
    conns = {}
    role = {}
    standby_samples = {p: 0 for p, _ in nodes}
    violations = 0
    q = """SELECT pg_is_in_recovery(),
                  (SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'scheduled_jobs%%'),
                  pg_is_in_recovery()"""
    while not stop:
        for port, datadir in nodes:
            now = role.get(port, "unknown")
            try:
                if port not in conns:
                    conns[port] = psycopg.connect(
                        "host=127.0.0.1 port=%d dbname=postgres user=postgres" % port,
                        autocommit=True, application_name="ha_watch", connect_timeout=1)
                c = conns[port]
                before = c.execute("SELECT pg_is_in_recovery()").fetchone()[0]
                procs = scheduled_jobs_children(datadir)
                r1, n, r2 = c.execute(q).fetchone()
                now = "standby" if r2 else "primary"
                if before and r1 and procs:
                    violations += 1
                    out("violation", port, "%.3f" % time.time(), "processes", ",".join(procs))
                if r1 and r2:
                    standby_samples[port] += 1
                    if n:
                        violations += 1
                        out("violation", port, "%.3f" % time.time(), "pg_stat_activity", n)
            except psycopg.Error:
                now = "down"
                c = conns.pop(port, None)
                if c is not None:
                    c.close()
            if now != role.get(port):
                role[port] = now
                out("role", port, "%.3f" % time.time(), now)
        time.sleep(0.1)
    for port, n in standby_samples.items():
        out("standby_samples", port, n)
    out("violations", violations)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["produce", "listen", "consume", "watch"])
    p.add_argument("nodes", nargs="*", help="watch: PORT:DATADIR of each node")
    p.add_argument("--dsn", default="")
    p.add_argument("--rate", type=float, default=25.0, help="produce: transactions per second")
    p.add_argument("--sleep-ms", type=int, default=40, help="produce: how long each procedure job takes")
    p.add_argument("--work-ms", type=int, default=10, help="consume: how long handling each job takes")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    {"produce": produce, "listen": listen, "consume": consume, "watch": watch}[args.mode](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
