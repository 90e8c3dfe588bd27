#!/bin/bash
# Workload 13: where a procedure job's cost goes (issue 13).  A backlog of N
# due procedure jobs that insert one row, in the default mode (one commit
# each), beside the limit of workload 3 (pgbench: claim FOR UPDATE SKIP
# LOCKED + insert + delete, one commit each), run the same way:
#  - WAL: pg_waldump --stats=record over the LSN range of each run, per job;
#  - CPU: perf record of the executors (the limit: of the backends serving
#    pgbench) while the backlog drains, the functions that take the most.
# Both drains commit synchronously; the figures say what a job writes and
# spends beside a transaction that does the least a job must.
#
# Env: N overrides the backlog size; ASYNC=1 declares the procedure (and
# the limit's session) synchronous_commit = off.
. "$(dirname "$0")/common.sh"
[ "${ASYNC:-0}" = 1 ] && [ "${BENCH_CLUSTER_UP:-0}" != 1 ] && BENCH_RUN=${BENCH_RUN:-$(bench_run_name _profile_async)}
bench_init

DEFAULT_N=20000
quick && DEFAULT_N=5000
N=${N:-$DEFAULT_N}
ASYNC=${ASYNC:-0}
EXECUTORS=$(DB=postgres q "SHOW scheduled_jobs.max_executors")
W=$BENCH_TMP/profile
mkdir -p "$W"
command -v perf >/dev/null || log "perf not found: CPU profiles are left out"

bench_db bench_profile
procedure_backlog_setup "$W"
PROC=bench.insert_one
[ "$ASYNC" = 1 ] && PROC=bench.insert_one_async
PER_CLIENT=$(( (N + EXECUTORS - 1) / EXECUTORS ))

# The functions whose inclusive time tells the phases of a job apart: the
# worker's own statements (SPI), the CALL, parsing and planning, the commit
# and its WAL flush, the sending of rows and waiting for the client (pgbench).
PHASES="sj_call_job ExecuteCallStmt sj_record_succeeded standard_ExecutorStart raw_parser pg_analyze_and_rewrite_fixedparams pg_plan_queries GetCachedPlan CommitTransactionCommand XLogFlush secure_read secure_write"

# The WAL flushes (fdatasync) and their mean time, from pg_stat_wal with
# track_wal_io_timing, since wal_reset: "flushes ms".  A backend reports
# them at most once a second and when it exits.
DB=postgres q "ALTER SYSTEM SET track_wal_io_timing = on" >/dev/null && DB=postgres q "SELECT pg_reload_conf()" >/dev/null
wal_reset() { q "SELECT pg_stat_reset_shared('wal')" >/dev/null; }
wal_flushes() { q "SELECT wal_sync || ' ' || round((wal_sync_time / GREATEST(wal_sync, 1))::numeric, 3) FROM pg_stat_wal"; }

# cpu_ms PIDS: sets CPU_MS to the CPU time (user + system) the processes
# used so far, in ms (no process forked: it is read every 20 ms below).
CLK_TCK=$(getconf CLK_TCK)
cpu_ms() {
	local pid line f total=0
	for pid in $1; do
		read -r line 2>/dev/null <"/proc/$pid/stat" || continue
		read -ra f <<<"${line##*) }"
		total=$((total + f[11] + f[12]))
	done
	CPU_MS=$((total * 1000 / CLK_TCK))
}

# perf_start PIDS: profile those processes in the background; perf_stop
# TAG: stop, and write the report of the top functions to $W/perf_TAG.txt.
perf_start() {
	PERF_PID=""
	command -v perf >/dev/null || return 0
	perf record -q -F 499 --call-graph dwarf,16384 -o "$W/perf.data" -p "$(echo "$1" | tr ' ' ',')" >/dev/null 2>&1 &
	PERF_PID=$!
	BENCH_CHILDREN="$BENCH_CHILDREN $PERF_PID"
	sleep 0.5
}
perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	perf report -q -i "$W/perf.data" --stdio --no-children --sort symbol 2>/dev/null |
		grep -E '^ +[0-9.]+%' | sed 's/[ -]*$//' | head -25 >"$W/perf_$1.txt"
	# the share of the kernel (WAL flush, locks, network), of libc, of postgres
	perf report -q -i "$W/perf.data" --stdio --no-children --sort dso 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -8 >"$W/dso_$1.txt"
	# the phases of a job: time spent in (under) each of these functions
	perf report -q -i "$W/perf.data" --stdio --children --sort symbol -g none 2>/dev/null |
		awk -v want="$PHASES" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) keep[w[i]] = i }
			{ for (i = 1; i <= NF; i++) if ($i in keep) { printf "%s\t%s\n", $i, $1; break } }' |
		sort -u -t"$(printf '\t')" -k1,1 >"$W/phases_$1.txt"
	# kept for perf report -i (bench/results/raw is not committed)
	mv "$W/perf.data" "$BENCH_RAW/perf_$1.data"
}

# waldump_stats LSN0 LSN1 N TAG: the WAL records between the LSNs, by record
# type, per one of N, into $W/wal_TAG.txt ("type count/job bytes/job").
# (no checkpoint before it: one would recycle the run's WAL segments)
waldump_stats() {
	# a line: Type N (%) Record size (%) FPI size (%) Combined size (%)
	pg_waldump --stats=record -p "$BENCH_TMP/data/pg_wal" -s "$1" -e "$2" 2>/dev/null |
		awk -v n="$3" '{ gsub(/\([^)]*\)/, ""); }
			NF == 5 && $2 ~ /^[0-9]+$/ && $1 != "Total" {
			printf "%s\t%.2f\t%.0f\n", $1, $2 / n, $5 / n }' |
		sort -t"$(printf '\t')" -k3 -gr >"$W/wal_$4.txt"
}

# The limit, profiled: the backends that serve pgbench.
log "profile: limit, pgbench -c $EXECUTORS, $((PER_CLIENT * EXECUTORS)) transactions"
q "INSERT INTO bench.pq (run_at, payload) SELECT now() - interval '1 s', jsonb_build_object('i', g, 'note', 'backlog')
   FROM generate_series(1, $((PER_CLIENT * EXECUTORS + 100))) g; VACUUM ANALYZE bench.pq" >/dev/null || die "limit setup"
q "CHECKPOINT" >/dev/null
LOPT=""
[ "$ASYNC" = 1 ] && LOPT="-c synchronous_commit=off"
# pgbench's connections exist before its transactions start: -C is not
# wanted, so the profile attaches to the backends after a first transaction
wal_reset
PGOPTIONS="$LOPT" pgbench -n -c "$EXECUTORS" -j 2 -t "$PER_CLIENT" -f "$W/claim.sql" "$DB" >"$W/pgbench.out" 2>&1 &
PGB=$!
wait_for "pgbench's backends" 20 "SELECT count(*) >= $EXECUTORS FROM pg_stat_activity WHERE application_name = 'pgbench'"
LSN0=$(q "SELECT pg_current_wal_lsn()")
DONE0=$(q "SELECT count(*) FROM bench.sink")
PIDS="$(q "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE application_name = 'pgbench'") $PGB"
cpu_ms "$PIDS"; CPU0=$CPU_MS
perf_start "$PIDS"
# (the processes exit with the last transaction: their CPU is the last
# reading of each, every 20 ms)
declare -A LAST
while kill -0 "$PGB" 2>/dev/null; do
	for pid in $PIDS; do
		cpu_ms "$pid"
		[ "$CPU_MS" -gt "${LAST[$pid]:-0}" ] && LAST[$pid]=$CPU_MS
	done
	sleep 0.02
done
LCPU=$((-CPU0))
for pid in $PIDS; do LCPU=$((LCPU + ${LAST[$pid]:-0})); done
wait "$PGB" || { cat "$W/pgbench.out" >&2; die "pgbench"; }
perf_stop limit
read -r LFLUSHES LFLUSH_MS <<<"$(wal_flushes)"
LSN1=$(q "SELECT pg_current_wal_lsn()")
LN=$(( $(q "SELECT count(*) FROM bench.sink") - DONE0 ))
LRATE=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$W/pgbench.out" | head -1)
waldump_stats "$LSN0" "$LSN1" "$LN" limit

# scheduled_jobs: the same backlog as procedure jobs.  A first small batch
# starts the executors, so that the profile can attach before the backlog.
log "profile: $N procedure jobs"
q "TRUNCATE bench.sink" >/dev/null
q "SELECT count(scheduled_jobs.schedule_job(now(), procedure => '$PROC', payload => '{}')) FROM generate_series(1, 1000)" >/dev/null
wait_for "the first batch" 60 "SELECT count(*) >= 1000 FROM bench.sink"
log "profile: $(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs executor' AND datname = current_database()") executors running"
bench_pause
q "SELECT count(scheduled_jobs.schedule_job(now(), procedure => '$PROC',
	payload => jsonb_build_object('i', g, 'note', 'backlog'))) FROM generate_series(1, $N) g" >/dev/null || die "schedule"
q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
q "CHECKPOINT" >/dev/null
bench_unpause_prepare
LSN0=$(q "SELECT pg_current_wal_lsn()")
PIDS=$(q "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type IN ('scheduled_jobs executor', 'scheduled_jobs scheduler') AND datname = current_database()")
cpu_ms "$PIDS"; CPU0=$CPU_MS
perf_start "$PIDS"
T0=$(q "SELECT clock_timestamp()")
wal_reset
bench_reload
wait_for "$N procedure jobs" 600 "SELECT count(*) >= $N + 1000 FROM bench.sink"
cpu_ms "$PIDS"; MCPU=$((CPU_MS - CPU0))
perf_stop sj
# the executors report their WAL statistics when they exit
q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs executor'" >/dev/null
wait_for "the executors to exit" 30 "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs executor'"
read -r FLUSHES FLUSH_MS <<<"$(wal_flushes)"
LSN1=$(q "SELECT pg_current_wal_lsn()")
M=$(q "SELECT $N / extract(epoch FROM max(at) - '$T0'::timestamptz) FROM bench.sink")
waldump_stats "$LSN0" "$LSN1" "$N" sj

total() { awk -F'\t' '{ c += $2; b += $3 } END { printf "%.1f records, %.0f bytes", c, b }' "$1"; }
bench_row "profile: procedure backlog, $N jobs inserting a row, $EXECUTORS executors$([ "$ASYNC" = 1 ] && echo ', synchronous_commit = off')" \
	"jobs/s while profiled (limit: pgbench -c $EXECUTORS claim + insert + delete)" "$M" "$LRATE" "information" "-"
bench_row_raw "profile: WAL per job" "records and bytes (pg_waldump --stats)" "$(total "$W/wal_sj.txt")" \
	"$(total "$W/wal_limit.txt")" "-" "information" "-"
bench_row_raw "profile: CPU per job" "µs of CPU per job (limit: per transaction, its backends and pgbench)" \
	"$(calc "$MCPU * 1000 / $N")" "$(calc "$LCPU * 1000 / $LN")" "-" "information" "-"
bench_row_raw "profile: WAL flushes" "flushes per job, mean flush ms (pg_stat_wal, track_wal_io_timing)" \
	"$(calc "$FLUSHES / $N") per job, $FLUSH_MS ms" "$(calc "$LFLUSHES / $LN") per transaction, $LFLUSH_MS ms" "-" "information" "-"
{
	printf '\n### Where a procedure job goes (bench/profile.sh)\n\n'
	printf 'WAL per job, by record type (`pg_waldump --stats=record`; types of at least a byte a job), scheduled_jobs beside the limit:\n\n'
	printf '| record type | scheduled_jobs: records / bytes per job | limit: records / bytes per transaction |\n|---|---:|---:|\n'
	join -t"$(printf '\t')" -a1 -a2 -e 0 -o 0,1.2,1.3,2.2,2.3 \
		<(sort "$W/wal_sj.txt") <(sort "$W/wal_limit.txt") |
		sort -t"$(printf '\t')" -k3 -gr |
		awk -F'\t' '$3 >= 1 || $5 >= 1 { printf "| %s | %s / %s | %s / %s |\n", $1, $2, $3, $4, $5 }'
	for tag in sj limit; do
		[ -s "$W/perf_$tag.txt" ] || continue
		printf '\nCPU of %s (perf record -g, self time; by binary: %s):\n\n```\n' \
			"$([ $tag = sj ] && echo 'the scheduler and the executors' || echo "pgbench's backends")" \
			"$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$W/dso_$tag.txt")"
		cat "$W/perf_$tag.txt"
		printf '```\n'
	done
	if [ -s "$W/phases_sj.txt" ]; then
		printf '\nTime under each phase (perf, inclusive: a function and what it calls), share of the profile:\n\n'
		printf '| function | scheduled_jobs | limit |\n|---|---:|---:|\n'
		join -t"$(printf '\t')" -a1 -a2 -e - -o 0,1.2,2.2 "$W/phases_sj.txt" "$W/phases_limit.txt" |
			awk -F'\t' '{ printf "| `%s` | %s | %s |\n", $1, $2, $3 }'
	fi
} | bench_note
bench_db_drop
bench_report "where a procedure job goes" "$([ "$ASYNC" = 1 ] && echo 'ASYNC=1 ')" "$(perf --version 2>/dev/null)" <<EOF
Cluster: fsync on, synchronous_commit on, shared_buffers 256MB, max_wal_size 4GB. Both drains run while perf samples them, which slows both. See bench/README.md, workload 13.
EOF
bench_finish
