#!/bin/bash
# Workload 9: statistics (issue 12).
#  - What keeping them costs: the NOTIFY backlog (N due jobs scheduled while
#    paused, unpaused, time to the listener's last receipt) and the procedure
#    backlog (NP due jobs that insert a row each, time to the last
#    finished_at), each run with scheduled_jobs.track_stats off, on, on, off,
#    off, on, on, off (--quick: the first four), so that a drift of the
#    machine falls on both alike, after one warm-up run of each.  Each run
#    is timed, and the scheduler's and executors' CPU per 1000 jobs is
#    read from /proc.  Limit: the same backlog with track_stats off.
#    Goals: on >= 0.95x off; CPU on <= 1.05x off.
#  - Many targets: MANY (40,000) NOTIFY jobs due over 4 s, each on a channel
#    of its own; their lag p99 with track_stats on beside off.
#  - What reading them costs: SELECT * FROM scheduled_jobs.stats with
#    HISTORY rows in job_history (10,000,000; --quick 1,000,000) and the
#    job_stats rows a day of them leaves (TARGETS targets, 4 writers: the
#    10-second rows of the last 2 minutes, minute rows of the last hour,
#    hour rows of the day), then again with PENDING future jobs; the median
#    of 5.  Limit: the same figures computed from job_history for the last
#    day (the query one would write without stats), once; with PENDING, the
#    read without them.
. "$(dirname "$0")/common.sh"
bench_init

N=${N:-100000}
NP=${NP:-20000}
HISTORY=${HISTORY:-10000000}
PENDING=${PENDING:-1000000}
TARGETS=${TARGETS:-50}
if quick; then
	N=${N_QUICK:-20000}
	NP=${NP_QUICK:-5000}
	HISTORY=${HISTORY_QUICK:-1000000}
	PENDING=${PENDING_QUICK:-100000}
fi

bench_db bench_stats
qs <<'SQL' >/dev/null || die setup
CREATE TABLE bench.effects (n bigint);
CREATE PROCEDURE bench.one(p jsonb) LANGUAGE sql AS $$INSERT INTO bench.effects VALUES ((p->>'i')::bigint)$$;
SQL

track_stats() {
	DB=postgres q "ALTER SYSTEM SET scheduled_jobs.track_stats = $1" && DB=postgres q "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
}

# notify_run: the NOTIFY backlog once; sets RATE (jobs/s).
notify_run() {
	q "TRUNCATE scheduled_jobs.job_history, scheduled_jobs.job_stats" >/dev/null
	bench_pause
	q "SELECT count(scheduled_jobs.schedule_job(now(), 'sjs', NULL, jsonb_build_object('i', g)))
	   FROM generate_series(1, $N) g" >/dev/null || die "schedule"
	q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
	DB=postgres q "CHECKPOINT" >/dev/null
	listen_start "$BENCH_TMP/stats_notify.tsv" "$N" 600 sjs
	bench_unpause_prepare
	local t0
	t0=$(now_us)
	bench_reload
	listen_wait || die "listener incomplete"
	set -- $LISTEN_OUT
	RATE=$(calc "$1 / (($3 - $t0) / 1e6)")
	rm -f "$BENCH_TMP/stats_notify.tsv"
}

# procedure_run: the procedure backlog once; sets RATE (jobs/s).
procedure_run() {
	q "TRUNCATE scheduled_jobs.job_history, scheduled_jobs.job_stats, bench.effects" >/dev/null
	bench_pause
	q "SELECT count(scheduled_jobs.schedule_job(now(), NULL, 'bench.one', jsonb_build_object('i', g)))
	   FROM generate_series(1, $NP) g" >/dev/null || die "schedule"
	q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
	DB=postgres q "CHECKPOINT" >/dev/null
	bench_unpause_prepare
	local t0 t1
	t0=$(now_us)
	bench_reload
	wait_for "$NP procedure jobs" 600 "SELECT count(*) = $NP FROM scheduled_jobs.job_history"
	t1=$(q "SELECT (extract(epoch FROM max(finished_at)) * 1000000)::bigint FROM scheduled_jobs.job_history")
	RATE=$(calc "$NP / (($t1 - $t0) / 1e6)")
}

# "pid cpu_ms" of each of the extension's processes; cpu_since FILE N: the
# CPU ms per 1000 jobs they used since that snapshot, for N jobs (a process
# started since counts from 0).  Throughput alone moves by up to 40% from run to
# run on a shared machine; the workers' CPU is what keeping counts costs.
cpu_snapshot() { local p; for p in $(sj_pids); do echo "$p $(proc_figures "$p" | cut -d' ' -f1)"; done; }
cpu_since() {
	cpu_snapshot | awk -v n="$2" 'NR == FNR { a[$1] = $2; next }
		{ d += $2 - ($1 in a ? a[$1] : 0) } END { printf "%.2f", d * 1000 / n }' "$1" -
}

# one run of each, not counted: the first backlog on a new cluster pays
# for what the later ones find ready (the tables' first pages, caches,
# plans), and came out up to 30% slower than the next
track_stats on
notify_run
log "stats: NOTIFY backlog, warm-up, not counted: $RATE jobs/s"
procedure_run
log "stats: procedure backlog, warm-up, not counted: $RATE jobs/s"

declare -A SUM CNT
ORDER="off on on off off on on off"
quick && ORDER="off on on off"
for mode in $ORDER; do
	track_stats "$mode"
	cpu_snapshot >"$BENCH_TMP/cpu0"
	notify_run
	if [ $mode = on ]; then
		# the counts written are part of the cost (and a real lag
		# histogram, for the rows of the reading part below)
		wait_for "the scheduler's counts" 10 \
			"SELECT COALESCE(sum(fired), 0) = $N FROM scheduled_jobs.job_stats WHERE target = 'sjs'"
		HIST=$(q "SELECT encode(scheduled_jobs.histogram_sum(lag), 'hex') FROM scheduled_jobs.job_stats WHERE target = 'sjs'")
	fi
	CPU=$(cpu_since "$BENCH_TMP/cpu0" "$N")
	log "stats: NOTIFY backlog, track_stats $mode: $RATE jobs/s, workers' CPU $CPU ms per 1000 jobs"
	SUM[notify_$mode]=$(calc "${SUM[notify_$mode]:-0} + $RATE")
	SUM[notify_cpu_$mode]=$(calc "${SUM[notify_cpu_$mode]:-0} + $CPU")
	cpu_snapshot >"$BENCH_TMP/cpu0"
	procedure_run
	if [ $mode = on ]; then
		wait_for "the executors' counts" 10 \
			"SELECT COALESCE(sum(succeeded), 0) = $NP FROM scheduled_jobs.job_stats WHERE target = 'bench.one'"
	fi
	CPU=$(cpu_since "$BENCH_TMP/cpu0" "$NP")
	log "stats: procedure backlog, track_stats $mode: $RATE jobs/s, workers' CPU $CPU ms per 1000 jobs"
	SUM[proc_$mode]=$(calc "${SUM[proc_$mode]:-0} + $RATE")
	SUM[proc_cpu_$mode]=$(calc "${SUM[proc_cpu_$mode]:-0} + $CPU")
	CNT[$mode]=$((${CNT[$mode]:-0} + 1))
done

# --- many targets ----------------------------------------------------------
# MANY NOTIFY jobs due over 4 s, each on a channel of its own (a channel per
# user): the scheduler writes a second's counts of MANY targets in batches
# of 1000, one per pass, in between firing.  Their firing lag (fired_at -
# run_at, job_history; many_run sets P99) with track_stats on, off, off,
# on, on, off.
MANY=${MANY:-40000}
many_run() {
	q "TRUNCATE scheduled_jobs.job_history, scheduled_jobs.job_stats" >/dev/null
	q "SELECT count(scheduled_jobs.schedule_job(now() + interval '1 second' + g * (interval '4 seconds' / $MANY),
		channel => 'sjm_' || g)) FROM generate_series(1, $MANY) g" >/dev/null || die "schedule"
	wait_for "$MANY jobs on as many channels" 60 "SELECT count(*) = $MANY FROM scheduled_jobs.job_history"
	P99=$(q "SELECT round((extract(epoch FROM percentile_disc(0.99) WITHIN GROUP (ORDER BY fired_at - run_at)) * 1000)::numeric, 2)
	   FROM scheduled_jobs.job_history")
}
declare -A MSUM
for mode in on off off on on off; do
	track_stats "$mode"
	many_run
	log "stats: $MANY jobs on as many channels, track_stats $mode: lag p99 $P99 ms"
	MSUM[$mode]=$(calc "${MSUM[$mode]:-0} + $P99")
done
bench_row "stats: $MANY NOTIFY jobs due over 4 s, each on a channel of its own, track_stats on" \
	"lag p99 ms (fired_at − run_at), mean of 3 runs (limit: track_stats off, 3 runs; in the order on off off on on off)" \
	"$(calc "${MSUM[on]} / 3")" "$(calc "${MSUM[off]} / 3")" "information (test/t/stats_load.pl checks that all are counted)" "-"
DB=postgres q "ALTER SYSTEM RESET scheduled_jobs.track_stats" && DB=postgres q "SELECT pg_reload_conf()" >/dev/null
for k in notify proc; do
	ON=$(calc "${SUM[${k}_on]} / ${CNT[on]}")
	OFF=$(calc "${SUM[${k}_off]} / ${CNT[off]}")
	if [ $k = notify ]; then
		what="NOTIFY backlog, $N due jobs"
	else
		what="procedure backlog, $NP due jobs (each inserts a row), 4 executors"
	fi
	bench_row "stats: $what, track_stats on" "jobs/s, mean of ${CNT[on]} runs (limit: track_stats off, ${CNT[off]} runs; in the order $ORDER)" \
		"$ON" "$OFF" "≥ 0.95× off" "$(verdict "$ON >= 0.95 * $OFF")"
	ON=$(calc "${SUM[${k}_cpu_on]} / ${CNT[on]}")
	OFF=$(calc "${SUM[${k}_cpu_off]} / ${CNT[off]}")
	bench_row "stats: the same, the workers' CPU" "ms per 1000 jobs, utime + stime of the scheduler and executors (/proc), counts written included, mean of ${CNT[on]} runs (limit: track_stats off)" \
		"$ON" "$OFF" "≤ 1.05× off" "$(verdict "$ON <= 1.05 * $OFF")"
done

# --- reading ---------------------------------------------------------------
log "stats: $HISTORY rows of history, the job_stats of a day over $TARGETS targets"
q "TRUNCATE scheduled_jobs.job_history, scheduled_jobs.job_stats" >/dev/null
qs <<SQL >/dev/null || die "history"
INSERT INTO scheduled_jobs.job_history (id, run_at, channel, payload, max_attempts, owner, attempts,
	created_at, state, fired_at, finished_at)
SELECT -g, t, 'target_' || (g % $TARGETS), '{}', 3, 'postgres'::regrole, 1, t, 'notified',
	t + interval '1 ms' * (1 + g % 7), t + interval '1 ms' * (1 + g % 7)
FROM (SELECT g, now() - interval '1 day' * g / $HISTORY AS t FROM generate_series(1, $HISTORY) g) s;
-- what a day of them leaves in job_stats once folded: per target, the
-- 10-second rows of the last 2 minutes by 4 writers, minute rows of the
-- last hour, hour rows of the day (the lag histogram of each: that of a
-- backlog above)
INSERT INTO scheduled_jobs.job_stats (bucket, seconds, kind, target, schedule_id, writer, fired, succeeded,
	failed, cancelled, expired, dead, lag, lag_max)
SELECT b, w, 'channel', 'target_' || t, 0, wr, 100, 100, 0, 0, 0, 0,
	decode('$HIST', 'hex'), interval '5 ms'
FROM generate_series(0, $TARGETS - 1) t,
	LATERAL (SELECT date_bin('10 seconds', now(), 'epoch') - s * interval '10 seconds' AS b, 10 AS w, wr
		FROM generate_series(0, 11) s, generate_series(1, 4) wr
		UNION ALL SELECT date_bin('1 minute', now() - interval '2 minutes', 'epoch') - s * interval '1 minute', 60, 0
		FROM generate_series(0, 60) s
		UNION ALL SELECT date_bin('1 hour', now() - interval '1 hour', 'epoch') - s * interval '1 hour', 3600, 0
		FROM generate_series(0, 24) s) r;
ANALYZE scheduled_jobs.job_history;
ANALYZE scheduled_jobs.job_stats;
SQL
STATS_ROWS=$(q "SELECT count(*) FROM scheduled_jobs.job_stats")

# median of 5 timings of a statement, ms
median_ms() {
	local i t=()
	for i in 1 2 3 4 5; do t+=("$(q_time_ms "$1")"); done
	printf '%s\n' "${t[@]}" | sort -g | sed -n 3p
}
READ=$(median_ms "SELECT * FROM scheduled_jobs.stats")
NAIVE=$(q_time_ms "SELECT COALESCE(channel, procedure), count(*) FILTER (WHERE fired_at IS NOT NULL),
	count(*) FILTER (WHERE state = 'failed'), percentile_disc(0.5) WITHIN GROUP (ORDER BY fired_at - run_at),
	percentile_disc(0.99) WITHIN GROUP (ORDER BY fired_at - run_at), max(fired_at - run_at)
	FROM scheduled_jobs.job_history WHERE finished_at > now() - interval '1 day' GROUP BY 1")
bench_row "stats: reading SELECT * FROM stats, $HISTORY history rows, $STATS_ROWS job_stats rows ($TARGETS targets, a day)" \
	"ms, median of 5 (limit: the day's counts and lag percentiles from job_history, once)" \
	"$READ" "$NAIVE" "milliseconds" "$(verdict "$READ < 50")"
bench_preload "$PENDING"
READ_P=$(median_ms "SELECT * FROM scheduled_jobs.stats")
bench_row "stats: the same with $PENDING future jobs pending" \
	"ms, median of 5 (limit: the same without them)" \
	"$READ_P" "$READ" "information: pending and backlog_age scan jobs" "-"
bench_db_drop
bench_finish
