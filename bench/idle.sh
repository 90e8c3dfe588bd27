#!/bin/bash
# Workload 6: idle cost.  With many future jobs pending and nothing due, sum
# the CPU time (utime+stime from /proc/<pid>/stat, and the finer
# /proc/<pid>/schedstat) and wake-ups (voluntary context switches) of every
# scheduled_jobs process (launcher, schedulers, executors) over a window.
# Limit: the same figures for an idle ordinary backend (a psql session
# waiting for input) over the same window.  Goal: <= 10 ms CPU.
# IN_FLIGHT=1: the future jobs are instead in flight on an acknowledged
# channel, delivered and waiting for an ack until their deadline (issue 10:
# 1,000,000 jobs in flight cost no periodic work).
. "$(dirname "$0")/common.sh"
bench_init

PENDING=1000000 SECS=60
quick && { PENDING=100000 SECS=20; }
W=$BENCH_TMP/idle
mkdir -p "$W"

bench_db bench_idle
bench_preload "$PENDING"
WHAT="future jobs"
if [ "${IN_FLIGHT:-0}" = 1 ]; then
	WHAT="jobs in flight on an acknowledged channel"
	q "SELECT scheduled_jobs.configure_channel('future', '1 day');
	   UPDATE scheduled_jobs.jobs SET due_at = run_at - interval '1 day', first_delivered_at = now(), attempts = 1
	   WHERE channel = 'future'; VACUUM ANALYZE scheduled_jobs.jobs; CHECKPOINT" >/dev/null || die "in flight"
fi
# one job through the API, so the scheduler has been woken with it as earliest
q "SELECT scheduled_jobs.schedule_job(now() + interval '90 days', 'future', NULL, '{}'::jsonb)" >/dev/null
# an idle ordinary backend as the reference
ref_backend_start bench_idle_ref
q "CHECKPOINT" >/dev/null
sleep 2

# The extension's processes: by backend_type, plus by process title (the
# launcher has no database; pg_stat_activity lists it all the same in PG15).
PM=$(head -1 "$PGDATA/postmaster.pid")
PIDS=$( { sj_pids; ps --ppid "$PM" -o pid=,args= | awk '/scheduled_jobs/ { print $1 }'; } | sort -un)
[ -n "$PIDS" ] || die "no scheduled_jobs processes found"
TYPES=$(ps -o pid=,args= -p "$(echo $PIDS | tr ' ' ,)")
log "idle: ${SECS}s with $PENDING $WHAT; processes:"
echo "$TYPES" >&2

snap() { for p in $PIDS $REF_PID; do echo "$p $(proc_figures "$p")"; done; }
snap >"$W/before"
sleep "$SECS"
snap >"$W/after"
ref_backend_stop

# per pid: cpu_ms sched_ms wakeups
deltas=$(join "$W/before" "$W/after" | awk '{ printf "%s %.1f %.3f %d\n", $1, $7 - $2, $8 - $3, $9 - $4 }')
echo "$deltas" | while read -r p c s v; do
	log "  pid $p: utime+stime ${c} ms, schedstat ${s} ms, ${v} wake-ups ($(echo "$TYPES" | awk -v p="$p" '$1 == p { $1 = ""; print }'))"
done
sum() { echo "$deltas" | awk -v ref="$REF_PID" -v col="$1" -v want="$2" '($1 == ref) == want { s += $col } END { printf "%.3f", s }'; }
CPU=$(sum 2 0) SCHED=$(sum 3 0) WAKE=$(sum 4 0)
RCPU=$(sum 2 1) RSCHED=$(sum 3 1) RWAKE=$(sum 4 1)
bench_row_raw "idle ${SECS}s, $PENDING $WHAT, $(echo $PIDS | wc -w) processes" \
	"CPU ms utime+stime / schedstat, wake-ups (limit: an idle backend)" \
	"$(fmt "$CPU") / $(fmt "$SCHED"), ${WAKE%.*} wake-ups" "$(fmt "$RCPU") / $(fmt "$RSCHED"), ${RWAKE%.*} wake-ups" "-" \
	"≤ 10 ms" "$(verdict "$CPU <= 10 && $SCHED <= 10")"

bench_db_drop
bench_finish
