#!/bin/bash
# Workload 3: procedure backlog.  N due procedure jobs (each CALLs a procedure
# that inserts one row) are scheduled while paused; then unpause and time
# until all have finished (job_history).  Limit: pgbench with as many clients
# as executors, each transaction claiming one row FOR UPDATE SKIP LOCKED from
# a plain queue table, inserting one row, deleting the claimed row and
# committing; measured before and after.  Goal: >= 0.7x the limit.
. "$(dirname "$0")/common.sh"
bench_init

N=20000
quick && N=5000
EXECUTORS=$(DB=postgres q "SHOW scheduled_jobs.max_executors")
W=$BENCH_TMP/backlog_procedure
mkdir -p "$W"

bench_db bench_backlog_procedure
procedure_backlog_setup "$W"
# Every client runs the same number of transactions; a few spare rows make
# sure SKIP LOCKED always finds one.
PER_CLIENT=$(( (N + EXECUTORS - 1) / EXECUTORS ))

# limit_run TAG: sets RATE; keeps the commit times of the transactions (s
# from pgbench's start, from its --log) as raw samples backlog_procedure_TAG.
limit_run() {
	local t0 tag=$1
	q "TRUNCATE bench.pq, bench.sink;
	   INSERT INTO bench.pq (run_at, payload) SELECT now() - interval '1 s', jsonb_build_object('i', g, 'note', 'backlog')
	   FROM generate_series(1, $((PER_CLIENT * EXECUTORS + 100))) g;
	   VACUUM ANALYZE bench.pq" >/dev/null || die "limit setup"
	local out lsn
	rm -f "$W/pgl_$tag".*
	lsn=$(q "SELECT pg_current_wal_lsn()")
	t0=$(now_us)
	out=$(PGOPTIONS=${LIMIT_PGOPTIONS:-} pgbench -n -c "$EXECUTORS" -j 2 -t "$PER_CLIENT" -l --log-prefix="$W/pgl_$tag" -f "$W/claim.sql" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench limit"; }
	RATE=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
	WAL=$(wal_per "$lsn" $((PER_CLIENT * EXECUTORS)))
	# a --log line: client, transaction, latency us, script, end time s, its us
	cat "$W/pgl_$tag".* | awk -v t0="$t0" '{ printf "%.6f\n", ($5 * 1000000 + $6 - t0) / 1e6 }' |
		sort -g | raw_samples "backlog_procedure_$tag"
	rm -f "$W/pgl_$tag".*
}

log "backlog_procedure: limit (before), pgbench -c $EXECUTORS"
limit_run before; L1=$RATE LWAL=$WAL
log "backlog_procedure: limit $L1 tx/s; scheduling $N procedure jobs while paused"
q "TRUNCATE bench.sink" >/dev/null
bench_pause
q "SELECT count(scheduled_jobs.schedule_job(now(), NULL, 'bench.insert_one', jsonb_build_object('i', g, 'note', 'backlog')))
   FROM generate_series(1, $N) g" >/dev/null || die "schedule"
q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
fired=$(q "SELECT count(*) FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one'")
[ "$fired" = 0 ] || log "WARNING: $fired jobs fired while paused"
bench_unpause_prepare
T0=$(q "SELECT clock_timestamp()")
LSN0=$(q "SELECT pg_current_wal_lsn()")
bench_reload
wait_for "$N procedure jobs" 600 "SELECT count(*) >= $N FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one'"
MWAL=$(wal_per "$LSN0" "$N")
M=$(q "SELECT $N / extract(epoch FROM max(finished_at) - '$T0'::timestamptz) FROM scheduled_jobs.job_history")
STATES=$(q "SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM scheduled_jobs.job_history GROUP BY 1) s")
SINK=$(q "SELECT count(*) FROM bench.sink")
log "backlog_procedure: $M jobs/s ($STATES; $SINK rows inserted)"
# finished_at of each job, s from the reload: the figure's own clock
q "SELECT round(extract(epoch FROM finished_at - '$T0'::timestamptz)::numeric, 6) FROM scheduled_jobs.job_history
   WHERE procedure = 'bench.insert_one' ORDER BY 1" | raw_samples backlog_procedure_sj
log "backlog_procedure: limit (after)"
limit_run after; L2=$RATE
L=$(mean "$L1" "$L2")
bench_row "procedure backlog, $N due jobs, $EXECUTORS executors" "jobs/s until all finished (limit: pgbench -c $EXECUTORS SKIP LOCKED claim+insert+delete)" \
	"$M" "$L" "≥ 0.7× limit" "$(verdict "$M >= 0.7 * $L")"
# where the per-job cost goes: the WAL each job writes, beside the limit's
bench_row "procedure backlog, WAL per job" "bytes of WAL per job (limit: per pgbench transaction, before)" \
	"$MWAL" "$LWAL" "information" "-"

# The same backlog with group_commit => true: up to group_commit_size jobs
# share one commit, each in its own subtransaction.  Goal (issue 5): at least
# 16,000 jobs/s, ahead of the best peer measured (graphile-worker, batched).
log "backlog_procedure: $N group-commit jobs while paused"
q "TRUNCATE bench.sink; DELETE FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one'" >/dev/null
bench_pause
q "SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'bench.insert_one',
	payload => jsonb_build_object('i', g, 'note', 'backlog'), group_commit => true))
   FROM generate_series(1, $N) g" >/dev/null || die "schedule group commit"
q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
bench_unpause_prepare
T0=$(q "SELECT clock_timestamp()")
bench_reload
wait_for "$N group-commit jobs" 600 "SELECT count(*) >= $N FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one'"
G=$(q "SELECT $N / extract(epoch FROM max(finished_at) - '$T0'::timestamptz) FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one'")
SINK=$(q "SELECT count(*) FROM bench.sink")
log "backlog_procedure: group commit $G jobs/s ($SINK rows inserted)"
q "SELECT round(extract(epoch FROM finished_at - '$T0'::timestamptz)::numeric, 6) FROM scheduled_jobs.job_history
   WHERE procedure = 'bench.insert_one' ORDER BY 1" | raw_samples backlog_procedure_group_sj
LIMITL="limit: pgbench -c $EXECUTORS, SKIP LOCKED claim + insert + delete"
raw_plot tput backlog_procedure "procedure backlog, $N due jobs inserting a row, $EXECUTORS executors: finished_at"
raw_series backlog_procedure sj backlog_procedure_sj "scheduled_jobs"
raw_series backlog_procedure limit backlog_procedure_before "$LIMITL (before)"
raw_series backlog_procedure limit backlog_procedure_after "$LIMITL (after)"
raw_plot tput backlog_procedure_group "procedure backlog, group_commit => true, $N due jobs inserting a row, $EXECUTORS executors: finished_at"
raw_series backlog_procedure_group sj backlog_procedure_group_sj "scheduled_jobs, group_commit"
raw_series backlog_procedure_group limit backlog_procedure_before "$LIMITL (before)"
raw_series backlog_procedure_group limit backlog_procedure_after "$LIMITL (after)"
bench_row "procedure backlog, group_commit, $N due jobs, $EXECUTORS executors" "jobs/s until all finished (limit: as above)" \
	"$G" "$L" "≥ 16,000 jobs/s" "$(verdict "$G >= 16000 && $SINK == $N")"

# The same backlog of a procedure declared SET synchronous_commit = off: each
# job its own transaction, committed without waiting for its WAL flush.
# Limit: the pgbench drain with synchronous_commit = off, measured after.
log "backlog_procedure: $N jobs of a procedure declared synchronous_commit = off, while paused"
q "TRUNCATE bench.sink; DELETE FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one_async'" >/dev/null
bench_pause
q "SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'bench.insert_one_async',
	payload => jsonb_build_object('i', g, 'note', 'backlog')))
   FROM generate_series(1, $N) g" >/dev/null || die "schedule async"
q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
bench_unpause_prepare
T0=$(q "SELECT clock_timestamp()")
bench_reload
wait_for "$N asynchronous jobs" 600 "SELECT count(*) >= $N FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one_async'"
A=$(q "SELECT $N / extract(epoch FROM max(finished_at) - '$T0'::timestamptz) FROM scheduled_jobs.job_history WHERE procedure = 'bench.insert_one_async'")
ASINK=$(q "SELECT count(*) FROM bench.sink")
q "SELECT round(extract(epoch FROM finished_at - '$T0'::timestamptz)::numeric, 6) FROM scheduled_jobs.job_history
   WHERE procedure = 'bench.insert_one_async' ORDER BY 1" | raw_samples backlog_procedure_async_sj
log "backlog_procedure: asynchronous $A jobs/s ($ASINK rows inserted); limit with synchronous_commit = off"
LIMIT_PGOPTIONS="-c synchronous_commit=off" limit_run async; LA=$RATE
raw_plot tput backlog_procedure_async "procedure backlog, procedure declared synchronous_commit = off, $N due jobs, $EXECUTORS executors: finished_at"
raw_series backlog_procedure_async sj backlog_procedure_async_sj "scheduled_jobs, synchronous_commit = off"
raw_series backlog_procedure_async limit backlog_procedure_async "$LIMITL, synchronous_commit = off"
bench_row "procedure backlog, procedure declared synchronous_commit = off, $N due jobs, $EXECUTORS executors" \
	"jobs/s until all finished (limit: the pgbench drain with synchronous_commit = off, after)" \
	"$A" "$LA" "≥ 0.7× limit; information: graphile-worker batched 15,828/s" "$(verdict "$A >= 0.7 * $LA && $ASINK == $N")"

bench_db_drop
bench_finish
