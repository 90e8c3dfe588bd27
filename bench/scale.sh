#!/bin/bash
# Workload 5: scale.  With 1,000,000 future jobs pending (10,000,000 with
# --large, 200,000 with --quick), repeat the lag and NOTIFY backlog
# workloads (same limits, same goals), and print EXPLAIN of the worker's
# query shapes on the big table to show they use the partial indexes.
# The query shapes mirror src/scheduler.c and src/executor.c; the workers
# run them with enable_seqscan and enable_bitmapscan off (src/worker.c), so
# the plans are shown both ways.
. "$(dirname "$0")/common.sh"
bench_init

PENDING=1000000
quick && PENDING=200000
large && PENDING=10000000
export PENDING BENCH_DB=bench_scale
DB=bench_scale
DB=postgres q "DROP DATABASE IF EXISTS bench_scale" >/dev/null 2>&1
unset BENCH_DB; bench_db bench_scale; export BENCH_DB=bench_scale
T0=$(date +%s)
bench_preload "$PENDING"
log "scale: preloaded $PENDING in $(( $(date +%s) - T0 ))s; $(q "SELECT pg_size_pretty(pg_total_relation_size('scheduled_jobs.jobs'))") with indexes"

explain() {
	# $1 title, $2 settings, $3 query
	printf '\n**%s** (%s)\n\n```\n' "$1" "${2:-planner defaults}"
	q "BEGIN; $2 EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) $3; ROLLBACK;"
	printf '```\n'
}
WORKER="SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL max_parallel_workers_per_gather = 0;"
# The floor of the claims (src/shmem.c) as the scheduler has it when it starts: -infinity.
FLOOR="'-infinity'::timestamptz"
FIRE="SELECT id FROM scheduled_jobs.jobs WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) pg_catalog.now() AND run_at OPERATOR(pg_catalog.>=) $FLOOR ORDER BY run_at LIMIT 1000 FOR UPDATE SKIP LOCKED"
# the scan horizon (src/clock.c): scheduled_jobs.max_sleep ahead, 60 s by default
HORIZON="pg_catalog.now() + interval '60 s'"
EARLIEST="SELECT run_at FROM scheduled_jobs.jobs WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.>=) $FLOOR AND run_at OPERATOR(pg_catalog.<) $HORIZON ORDER BY run_at LIMIT 1"
CLAIM="SELECT * FROM scheduled_jobs.jobs WHERE channel IS NULL AND run_at OPERATOR(pg_catalog.<=) pg_catalog.now() AND run_at OPERATOR(pg_catalog.>=) $FLOOR ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED"
DISPATCH="SELECT (SELECT count(*) FROM (SELECT 1 FROM scheduled_jobs.jobs WHERE channel IS NULL AND run_at <= now() AND run_at >= $FLOOR ORDER BY run_at LIMIT 4) d), (SELECT run_at FROM scheduled_jobs.jobs WHERE channel IS NULL AND run_at > now() AND run_at < $HORIZON ORDER BY run_at LIMIT 1), (SELECT run_at FROM scheduled_jobs.jobs WHERE channel IS NULL AND run_at >= $FLOOR AND run_at < $HORIZON ORDER BY run_at LIMIT 1)"
{
	printf '\n### EXPLAIN of the worker query shapes with %s jobs pending\n' "$PENDING"
	explain "scheduler: claim due NOTIFY jobs" "" "$FIRE"
	explain "scheduler: claim due NOTIFY jobs" "$WORKER" "$FIRE"
	explain "scheduler: the whole firing statement (nothing due; rolled back)" "$WORKER" "$FIRE_ALL"
	explain "scheduler: earliest pending NOTIFY job" "" "$EARLIEST"
	explain "executor: claim one due procedure job" "" "$CLAIM"
	explain "scheduler: count due procedure jobs, next one" "" "$DISPATCH"
	explain "schedule_job upsert shape: job_key lookup" "" "SELECT id FROM scheduled_jobs.jobs WHERE job_key = 'order:42:cancel'"
	printf '\nThese are fresh plans on an analyzed table.  The workers keep the plans they\n'
	printf 'prepared, which were made when the table was small: see the "plans cached on an\n'
	printf 'empty table" row of the NOTIFY backlog.\n'
} >"$BENCH_TMP/explain.md"
cat "$BENCH_TMP/explain.md" >&2
bench_note <"$BENCH_TMP/explain.md"

LABEL="[$PENDING pending] " bash bench/lag.sh || die "scale lag"
LABEL="[$PENDING pending] " bash bench/backlog_notify.sh || die "scale backlog"

unset BENCH_DB
DB=bench_scale bench_db_drop
bench_finish
