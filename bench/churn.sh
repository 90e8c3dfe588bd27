#!/bin/bash
# Workload 9: churn (issue 12, retention).  TOTAL NOTIFY jobs (10,000,000;
# --quick 1,000,000) pushed through the system at a steady RATE (10,000/s;
# --quick 4,000/s), with scheduled_jobs.history_retention = RET (60 s;
# --quick 15 s), so that the retention window fills early and the rest of
# the run is its steady state.  Does job_history (heap and indexes) stay
# flat, and does pruning delay firing?
#
#  - Producer: a procedure that every 100 ms schedules RATE/10 jobs with one
#    SELECT schedule_job(...) FROM generate_series, due from 200 ms later,
#    spread evenly over the next 100 ms (so that jobs are due all the time,
#    as under a real load), to a channel nobody listens on, and commits.
#    Every 10th batch (once a second) it also schedules a probe job due
#    200 ms ahead on a channel a listener (bench/listener.c) receives: lag =
#    receipt - run_at.
#  - Sampler: every SAMPLE seconds (5; --quick 2): jobs fired so far
#    (produced - pending), pg_relation_size and pg_indexes_size of
#    job_history, its n_live_tup, n_dead_tup and autovacuum count, the
#    NOTIFY queue usage, the size of jobs, WAL written, the scheduler's CPU
#    time (/proc), and the p99 / max of fired_at - run_at of the jobs that
#    finished in the last 2 s (the scheduler's wake-up lag), and the dead
#    rows and autovacuum count of jobs; when run alone, autovacuum's runs
#    (log_autovacuum_min_duration = 0) go from the server log to the raw
#    directory and the notes.
#  - Then a backlog: SAT_N (1,000,000; --quick 200,000) due jobs scheduled
#    while paused, drained after the unpausing reload (which also makes the
#    scheduler prune at once), jobs/s from the reload to the last
#    finished_at, with the churn's expired history being pruned meanwhile.
#  - The same again with retention 0 (off), in a fresh database, as the
#    limit (OFF=1, the default; --quick: OFF=0 unless set).
# The scheduler looks for expired history once a minute while it finds
# none, once a second while it does (SJ_PRUNE_INTERVAL_MS and _FOLLOW_MS,
# src/scheduler.c): its first prune that deletes comes up to a minute after
# the window filled, then the history holds about RET + 1 s of jobs.  The
# window is full from the first sample after that first prune caught up
# (rows deleted, live rows down to (RET + 10 s) x RATE).  The heap also
# holds the rows deleted since autovacuum last came, and autovacuum
# truncates it now and then: flat = the largest size in the second half of
# the steady state (window full to the end) within 20% of the largest in
# the first half; the sizes once the window was full and at the end are
# reported beside it.
#
# Env: TOTAL, RATE, RET (seconds), SAMPLE, SAT_N, OFF override the above.
. "$(dirname "$0")/common.sh"
# run alone: autovacuum's runs in the server log, to set beside the samples
[ "${BENCH_CLUSTER_UP:-0}" != 1 ] && BENCH_EXTRA_CONF="log_autovacuum_min_duration = 0"
bench_init

if quick; then
	TOTAL=${TOTAL:-1000000} RATE=${RATE:-4000} RET=${RET:-15} SAMPLE=${SAMPLE:-2}
	SAT_N=${SAT_N:-200000} OFF=${OFF:-0}
else
	TOTAL=${TOTAL:-10000000} RATE=${RATE:-10000} RET=${RET:-60} SAMPLE=${SAMPLE:-5}
	SAT_N=${SAT_N:-1000000} OFF=${OFF:-1}
fi
BATCHES=$(( (TOTAL + RATE / 10 - 1) / (RATE / 10) ))
PROBES=$(( (BATCHES + 9) / 10 ))
W=$BENCH_TMP/churn
mkdir -p "$W"
log "churn: $TOTAL jobs at $RATE/s ($BATCHES batches, $PROBES probes), retention ${RET}s, samples every ${SAMPLE}s"

SETUP_SQL=$(cat <<'SQL'
CREATE TABLE bench.progress (produced bigint NOT NULL, late_ms float8 NOT NULL);
INSERT INTO bench.progress VALUES (0, 0);
-- total jobs at rate/s: batch k (rate/10 jobs) is scheduled at t0 + k * 100 ms,
-- its jobs due from 200 ms later, spread evenly over 100 ms; every 10th batch
-- also schedules a probe job due 200 ms ahead.  late_ms: how far behind its
-- timetable the producer fell at most (it does not catch up by bursts).
CREATE PROCEDURE bench.produce(total bigint, rate int) LANGUAGE plpgsql AS $$
DECLARE
	b int := greatest(rate / 10, 1);
	done bigint := 0;
	t0 timestamptz := clock_timestamp();
	k bigint := 0;
	n int;
	late float8;
BEGIN
	WHILE done < total LOOP
		n := least(b, total - done);
		PERFORM count(scheduled_jobs.schedule_job(
			t0 + k * interval '100 ms' + interval '200 ms' + (g - 1) * (interval '100 ms' / n),
			'churn', NULL, jsonb_build_object('n', done + g, 'note', 'churn')))
		FROM generate_series(1, n) g;
		IF k % 10 = 0 THEN
			PERFORM scheduled_jobs.schedule_job(clock_timestamp() + interval '200 ms',
				'churn_probe', NULL, jsonb_build_object('k', k));
		END IF;
		done := done + n;
		k := k + 1;
		late := extract(epoch FROM clock_timestamp() - (t0 + k * interval '100 ms')) * 1000;
		UPDATE bench.progress SET produced = done, late_ms = greatest(late_ms, late);
		COMMIT;
		IF late < 0 THEN
			PERFORM pg_sleep(-late / 1000);
		END IF;
	END LOOP;
END $$;
SQL
)

# One sample: epoch s, produced, pending, heap, indexes, live, dead,
# n_tup_del, autovacuums, queue usage, jobs size, WAL bytes, wake-up lag
# p99 and max ms over the last 2 s (empty if none finished), jobs' dead
# rows and autovacuums (then, column 17, the scheduler's CPU ms, /proc).
# Of job_history unless said otherwise.
SAMPLE_SQL="SELECT round(extract(epoch FROM clock_timestamp())::numeric, 3), p.produced,
	(SELECT count(*) FROM scheduled_jobs.jobs),
	pg_relation_size('scheduled_jobs.job_history'), pg_indexes_size('scheduled_jobs.job_history'),
	s.n_live_tup, s.n_dead_tup, s.n_tup_del, s.autovacuum_count,
	round(pg_notification_queue_usage()::numeric, 6),
	pg_total_relation_size('scheduled_jobs.jobs'), pg_current_wal_lsn() - '0/0'::pg_lsn,
	l.p99, l.max, j.n_dead_tup, j.autovacuum_count
FROM bench.progress p, pg_stat_user_tables s, pg_stat_user_tables j,
	(SELECT round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - run_at)) * 1000)::numeric, 2) AS p99,
		round((extract(epoch FROM max(fired_at - run_at)) * 1000)::numeric, 2) AS max
	 FROM scheduled_jobs.job_history WHERE finished_at > clock_timestamp() - interval '2 s' AND channel = 'churn') l
WHERE s.relid = 'scheduled_jobs.job_history'::regclass AND j.relid = 'scheduled_jobs.jobs'::regclass"

sched_cpu_ms() {
	set -- $(proc_figures "$1")
	echo "$1"
}

# sampler OUT PID: a line every SAMPLE s (tab-separated) until $W/stop exists.
sampler() {
	local out=$1 pid=$2 line
	while [ ! -f "$W/stop" ]; do
		line=$(q "$SAMPLE_SQL" | tr '|' '\t') && printf '%s\t%s\n' "$line" "$(sched_cpu_ms "$pid")" >>"$out"
		sleep "$SAMPLE"
	done
}

# The prune statement of src/retention.c, with literal arguments.
prune_sql() {
	echo "WITH d AS (DELETE FROM scheduled_jobs.job_history WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY(
	SELECT id FROM scheduled_jobs.job_history WHERE finished_at OPERATOR(pg_catalog.<) $1
	AND (state OPERATOR(pg_catalog.=) ANY (ARRAY['failed', 'dead'])) OPERATOR(pg_catalog.=) false
	ORDER BY finished_at LIMIT 500)) RETURNING 1) SELECT pg_catalog.count(*) FROM d"
}

# phase TAG RETENTION_S: the churn and the backlog in database bench_churn_TAG;
# leaves $W/TAG.samples, $W/TAG.probe.tsv, and sets ${TAG}_* figures.
phase() {
	local tag=$1 ret=$2 pid t0 t1 c0 c1 before after n0 n1 d0 d1
	bench_db "bench_churn_$tag"
	qs <<<"$SETUP_SQL" >/dev/null || die "setup"
	DB=postgres q "ALTER SYSTEM SET scheduled_jobs.history_retention = '${ret}s'" || die "retention"
	bench_reload
	sleep 0.5
	pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = current_database()")
	[ -n "$pid" ] || die "no scheduler in $DB"
	q "CHECKPOINT" >/dev/null
	rm -f "$W/stop"
	: >"$W/$tag.samples"
	listen_start "$W/$tag.probe.tsv" "$PROBES" $((TOTAL / RATE + 300)) churn_probe
	c0=$(sched_cpu_ms "$pid")
	t0=$(now_us)
	sampler "$W/$tag.samples" "$pid" &
	local spid=$!
	BENCH_CHILDREN="$BENCH_CHILDREN $spid"
	log "churn [$tag]: producing $TOTAL jobs at $RATE/s (retention ${ret}s)"
	q "CALL bench.produce($TOTAL, $RATE)" || die "producer"
	log "churn [$tag]: produced; waiting for the last to fire"
	wait_for "the last churn jobs to fire" 600 "SELECT NOT EXISTS (SELECT FROM scheduled_jobs.jobs)"
	t1=$(now_us)
	c1=$(sched_cpu_ms "$pid")
	sleep "$SAMPLE"
	touch "$W/stop"
	wait "$spid"
	# the last sample, all fired (the sampler may have stopped before it)
	printf '%s\t%s\n' "$(q "$SAMPLE_SQL" | tr '|' '\t')" "$(sched_cpu_ms "$pid")" >>"$W/$tag.samples"
	listen_wait || log "churn [$tag]: not every probe arrived"
	eval "${tag}_T0=$t0 ${tag}_SECS=$(calc "($t1 - $t0) / 1e6") ${tag}_CPU=$(calc "$c1 - $c0")"
	eval "${tag}_CPU_K=$(calc "($c1 - $c0) / $TOTAL * 1000")"
	eval "${tag}_LATE=$(q "SELECT round(late_ms::numeric, 1) FROM bench.progress")"
	eval "${tag}_ROWS=$(q "SELECT count(*) FROM scheduled_jobs.job_history")"
	eval "${tag}_PROBE='$(lag_stats "$W/$tag.probe.tsv" "payload::jsonb->>'run_at'")'"
	lag_samples "$W/$tag.probe.tsv" "payload::jsonb->>'run_at'" | raw_samples "churn_probe_$tag"

	# the backlog, while the churn's expired history is pruned
	bench_pause
	if [ "$ret" != 0 ]; then
		# the prune batch as it runs at the end, against the table the churn
		# left: the 500 oldest rows (rolled back), while paused, so that the
		# scheduler does not prune the same rows meanwhile
		{
			printf '\n### A prune batch on the table the churn left (%s rows, %s dead not yet vacuumed; rolled back)\n\n```\n' \
				"$(eval echo "\$${tag}_ROWS")" "$(q "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'scheduled_jobs.job_history'::regclass")"
			q "SET enable_seqscan = off; SET enable_bitmapscan = off; BEGIN; EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $(prune_sql 'pg_catalog.now()'); ROLLBACK;"
			printf '```\n'
		} >"$W/explain.md"
	fi

	log "churn [$tag]: scheduling a backlog of $SAT_N due jobs while paused"
	q "SELECT count(scheduled_jobs.schedule_job(now(), 'sat', NULL, jsonb_build_object('n', g, 'note', 'churn')))
	   FROM generate_series(1, $SAT_N) g" >/dev/null || die "backlog"
	q "VACUUM ANALYZE scheduled_jobs.jobs; CHECKPOINT" >/dev/null
	n0=$(q "SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'churn'")
	bench_unpause_prepare
	t0=$(now_us)
	bench_reload
	wait_for "the backlog to fire" 600 "SELECT NOT EXISTS (SELECT FROM scheduled_jobs.jobs WHERE channel = 'sat')"
	t1=$(q "SELECT round(extract(epoch FROM max(finished_at)) * 1e6) FROM scheduled_jobs.job_history WHERE channel = 'sat'")
	n1=$(q "SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'churn'")
	eval "${tag}_SAT=$(calc "$SAT_N / (($t1 - $t0) / 1e6)") ${tag}_SAT_PRUNED=$((n0 - n1))"
	log "churn [$tag]: backlog $(eval echo "\$${tag}_SAT") jobs/s, $((n0 - n1)) expired rows pruned meanwhile"
	cp "$W/$tag.samples" "$BENCH_RAW/churn_$tag.samples.tsv"
	# autovacuum's runs in this database (server log, when run alone)
	grep -A1 "automatic vacuum of table \"$DB\." "$BENCH_TMP/server.log" >"$BENCH_RAW/churn_$tag.autovacuum.log" 2>/dev/null
	eval "${tag}_AV_JOBS=$(grep -c "automatic vacuum of table \"$DB.scheduled_jobs.jobs\"" "$BENCH_TMP/server.log")"
	eval "${tag}_AV_HIST=$(grep -c "automatic vacuum of table \"$DB.scheduled_jobs.job_history\"" "$BENCH_TMP/server.log")"
	DB=postgres q "ALTER SYSTEM RESET scheduled_jobs.history_retention" && bench_reload
	bench_db_drop
}

phase on "$RET"
[ "$OFF" = 1 ] && phase off 0

# Figures from the samples (columns: see SAMPLE_SQL; 17 = scheduler CPU ms).
#   at TAG SECS: the first sample at least SECS after the start, as
#   "t_s fired heap_MB index_MB live dead autovacuums".
at() {
	awk -F'\t' -v t0="$(eval echo "\$${1}_T0")" -v s="$2" '
		$1 - t0 / 1e6 >= s { printf "%.0f %d %.1f %.1f %d %d %d\n", $1 - t0 / 1e6, $2 - $3, $4 / 1048576, $5 / 1048576, $6, $7, $9; found = 1; exit }
		END { if (!found) print "- - - - - - -" }' "$W/$1.samples"
}
last() {
	awk -F'\t' -v t0="$(eval echo "\$${1}_T0")" '
		{ l = sprintf("%.0f %d %.1f %.1f %d %d %d", $1 - t0 / 1e6, $2 - $3, $4 / 1048576, $5 / 1048576, $6, $7, $9) }
		END { print l }' "$W/$1.samples"
}
# max_after TAG SECS: the largest heap and index MB from SECS on; the largest
# queue usage; the largest wake-up lag p99 and max (whole run); jobs' size
# MB at SECS, at the end and its largest.
max_after() {
	awk -F'\t' -v t0="$(eval echo "\$${1}_T0")" -v s="$2" '
		$1 - t0 / 1e6 >= s { if ($4 > h) h = $4; if ($5 > x) x = $5; if (!jf) jf = $11 }
		{ if ($10 > qu) qu = $10; if ($13 > p) p = $13; if ($14 > m) m = $14; if ($11 > jm) jm = $11; je = $11 }
		END { printf "%.1f %.1f %.6f %.2f %.2f %.1f %.1f %.1f\n", h / 1048576, x / 1048576, qu, p, m,
			jf / 1048576, je / 1048576, jm / 1048576 }' "$W/$1.samples"
}
# rates TAG: jobs/s between samples, from the first sample with jobs fired
# to the last with jobs pending or produced since: "min mean max" after
# the first 10 s.
rates() {
	awk -F'\t' -v t0="$(eval echo "\$${1}_T0")" '
		NR > 1 && $1 - t0 / 1e6 > 10 && $2 - $3 > pf && $3 > 0 {
			r = (($2 - $3) - pf) / ($1 - pt); n++; sum += r
			if (n == 1 || r < mn) mn = r; if (r > mx) mx = r }
		{ pt = $1; pf = $2 - $3 }
		END { if (n) printf "%.0f %.0f %.0f\n", mn, sum / n, mx; else print "- - -" }' "$W/$1.samples"
}
# full_at TAG: seconds from the start of the first sample after the first
# prune caught up: rows deleted (n_tup_del), live rows <= (RET + 10) x RATE.
full_at() {
	awk -F'\t' -v t0="$(eval echo "\$${1}_T0")" -v most=$(((RET + 10) * RATE)) '
		$8 > 0 && $6 <= most { printf "%.0f\n", $1 - t0 / 1e6; exit }' "$W/$1.samples"
}
stat() { echo "$1" | cut -d' ' -f"$2"; }
NAPTIME=$(DB=postgres q "SELECT setting FROM pg_settings WHERE name = 'autovacuum_naptime'")
probe() { echo "$1" | cut -d'|' -f"$2"; }   # n p50 p99 max min

FULL_AT=$(full_at on)
[ -n "$FULL_AT" ] || { log "churn: no prune caught up during the churn"; FULL_AT=$((RET + 70)); }
FULL_ON=$(at on "$FULL_AT") END_ON=$(last on) RATES_ON=$(rates on)
HFULL=$(stat "$FULL_ON" 3) XFULL=$(stat "$FULL_ON" 4) HEND=$(stat "$END_ON" 3) XEND=$(stat "$END_ON" 4)
# the steady state in two halves, from the window full to the end: its
# largest heap and indexes in the first half, then in the second (autovacuum
# truncates the heap now and then, so the size at one instant says less)
MID_AT=$(( (FULL_AT + $(stat "$END_ON" 1)) / 2 ))
MAX_ON=$(max_after on "$FULL_AT") HALF2=$(max_after on "$MID_AT")
HALF1=$(awk -F'\t' -v t0="$on_T0" -v a="$FULL_AT" -v b="$MID_AT" '
	$1 - t0 / 1e6 >= a && $1 - t0 / 1e6 < b { if ($4 > h) h = $4; if ($5 > x) x = $5 }
	END { printf "%.1f %.1f\n", h / 1048576, x / 1048576 }' "$W/on.samples")
RUN_ON=$(calc "$TOTAL / $on_SECS")
if [ "$OFF" = 1 ]; then
	END_OFF=$(last off) MAX_OFF=$(max_after off 0) RATES_OFF=$(rates off)
	RUN_OFF=$(calc "$TOTAL / $off_SECS")
fi
fig() { [ "$OFF" = 1 ] && eval echo "\$$1" || echo ""; }
# flat A B: pass if A <= 1.2 B (FAIL if B is missing)
flat() { [ "$2" = - ] && echo FAIL || verdict "$1 <= 1.2 * $2"; }

bench_row "churn: $TOTAL NOTIFY jobs at $RATE/s, retention ${RET}s: job_history heap" \
	"MB at the end (limit: once the window was full, at ${FULL_AT} s, $(stat "$FULL_ON" 5) live rows); largest from ${FULL_AT} to ${MID_AT} s / from then to the end: $(stat "$HALF1" 1) / $(stat "$HALF2" 1)" \
	"$HEND" "$HFULL" "flat: largest of the second half ≤ 1.2× the first's" "$(flat "$(stat "$HALF2" 1)" "$(stat "$HALF1" 1)")"
bench_row "churn: job_history indexes (pkey, finished_at, job_key)" \
	"MB at the end (limit: once the window was full); largest in the first / second half: $(stat "$HALF1" 2) / $(stat "$HALF2" 2)" \
	"$XEND" "$XFULL" "flat: largest of the second half ≤ 1.2× the first's" "$(flat "$(stat "$HALF2" 2)" "$(stat "$HALF1" 2)")"
[ "$OFF" = 1 ] && bench_row "churn: the same with retention 0 (off)" \
	"heap + indexes MB at the end (limit: retention ${RET}s, heap + indexes at the end)" \
	"$(calc "$(stat "$END_OFF" 3) + $(stat "$END_OFF" 4)")" "$(calc "$HEND + $XEND")" "information" "-"
bench_row "churn: jobs/s, retention ${RET}s" \
	"all $TOTAL fired, from the first batch to the last firing; per ${SAMPLE}-s sample min $(stat "$RATES_ON" 1) / max $(stat "$RATES_ON" 3) (limit: retention 0)" \
	"$RUN_ON" "$(fig RUN_OFF)" "keeps up with $RATE/s (≥ 0.98×)" "$(verdict "$RUN_ON >= 0.98 * $RATE")"
bench_row "churn: the scheduler's CPU, retention ${RET}s" \
	"ms per 1000 jobs fired, /proc utime+stime (limit: retention 0)" \
	"$on_CPU_K" "$(fig off_CPU_K)" "information" "-" \
	"$([ "$OFF" = 1 ] && ratio "$on_CPU" "$off_CPU" || echo -)"
lagcell() { echo "$(probe "$1" 2) / $(probe "$1" 3) / $(probe "$1" 4)"; }
bench_row_raw "churn: probe jobs 200 ms ahead, once a second (n=$(probe "$on_PROBE" 1), min $(probe "$on_PROBE" 5))" \
	"lag ms p50 / p99 / max, receipt − run_at (limit: retention 0$([ "$OFF" = 1 ] && echo ", n=$(probe "$off_PROBE" 1)"))" \
	"$(lagcell "$on_PROBE")" "$([ "$OFF" = 1 ] && lagcell "$off_PROBE" || echo -)" \
	"$([ "$OFF" = 1 ] && echo "$(ratio "$(probe "$on_PROBE" 2)" "$(probe "$off_PROBE" 2)") / $(ratio "$(probe "$on_PROBE" 3)" "$(probe "$off_PROBE" 3)") / $(ratio "$(probe "$on_PROBE" 4)" "$(probe "$off_PROBE" 4)")" || echo -)" \
	"never early, all received" "$(verdict "$(probe "$on_PROBE" 5) >= 0 && $(probe "$on_PROBE" 1) == $PROBES")"
bench_row "churn: then a backlog of $SAT_N due jobs, retention ${RET}s" \
	"jobs/s, the unpausing reload to the last finished_at, while $on_SAT_PRUNED expired rows were pruned (limit: retention 0)" \
	"$on_SAT" "$(fig off_SAT)" "information" "-"
bench_row "churn: the jobs table (pending jobs; the churn's deletes), retention ${RET}s" \
	"heap + indexes MB at the end (limit: once the window was full); largest $(stat "$MAX_ON" 8)$([ "$OFF" = 1 ] && echo "; retention 0: at the end $(stat "$MAX_OFF" 7), max $(stat "$MAX_OFF" 8)")" \
	"$(stat "$MAX_ON" 7)" "$(stat "$MAX_ON" 6)" "information" "-"
bench_row "churn: NOTIFY queue, no listener on the churn channel" \
	"largest pg_notification_queue_usage() sampled (limit: retention 0)" \
	"$(stat "$MAX_ON" 3)" "$([ "$OFF" = 1 ] && stat "$MAX_OFF" 3)" "stays low (< 0.01)" "$(verdict "$(stat "$MAX_ON" 3) < 0.01")" "-"

# Milestones: every 10% of the jobs fired.
milestones() {
	local tag=$1
	echo "| $tag: t (s) | jobs fired | heap MB | indexes MB | live rows | dead rows | autovacuums |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' -v t0="$(eval echo "\$${tag}_T0")" -v total="$TOTAL" '
		{ f = $2 - $3; while (next_m <= 10 && f >= next_m * total / 10) {
			if (next_m > 0) printf "| %.0f | %d | %.1f | %.1f | %d | %d | %d |\n", $1 - t0 / 1e6, f, $4 / 1048576, $5 / 1048576, $6, $7, $9
			next_m++ } }' "$W/$tag.samples"
}
{
	echo
	echo "Churn (churn.sh): $TOTAL jobs at $RATE/s in batches of $((RATE / 10)) every 100 ms, due 200–300 ms after"
	echo "scheduling, to a channel nobody listens on; history_retention ${RET}s (failed_retention left at 30 days)."
	echo "The scheduler looks for expired history once a minute while it finds none, once a second while it does"
	echo "(at once after the reload that set the retention), so its first prune that deletes comes up to a minute after"
	echo "the window filled; the window counts as full from the first sample after that prune caught up (rows deleted,"
	echo "live rows down to (${RET} + 10 s) × ${RATE}): at $FULL_AT s. The heap holds the window plus the rows deleted"
	echo "since autovacuum last came (every autovacuum_naptime, ${NAPTIME} s), and autovacuum truncates it now and then,"
	echo "so the size at one instant says less than the largest of each half of the steady state, ${FULL_AT}–${MID_AT} s"
	echo "and ${MID_AT} s to the end: flat if the second is within 20% of the first. The producer fell at most"
	echo "$on_LATE ms behind its timetable$([ "$OFF" = 1 ] && echo " ($off_LATE ms with retention 0)"). Rows left in job_history at the end: $on_ROWS$([ "$OFF" = 1 ] && echo " ($off_ROWS with retention 0)")."
	echo "Churn $on_SECS s$([ "$OFF" = 1 ] && echo " ($off_SECS s with retention 0)"); the scheduler's wake-up lag (fired_at − run_at) of the jobs of each"
	echo "sample's last 2 s, largest p99 / max sampled: $(stat "$MAX_ON" 4) / $(stat "$MAX_ON" 5) ms$([ "$OFF" = 1 ] && echo " (retention 0: $(stat "$MAX_OFF" 4) / $(stat "$MAX_OFF" 5) ms)")."
	echo "Autovacuum runs (server log) of jobs: ${on_AV_JOBS:--}, of job_history: ${on_AV_HIST:--}$([ "$OFF" = 1 ] && echo " (retention 0: ${off_AV_JOBS:--}, ${off_AV_HIST:--})")."
	echo
	milestones on
	if [ "$OFF" = 1 ]; then
		echo
		milestones off
	fi
	[ -f "$W/explain.md" ] && cat "$W/explain.md"
} | bench_note

# Plots (bench/plot.sh, kind xy): sizes against jobs fired, jobs/s and the
# scheduler's wake-up lag against time; the probes' lag as CDFs.
series() {
	# series TAG NAME AWK_X AWK_Y [AWK_COND]: columns as in SAMPLE_SQL,
	# t = s from the start, f = jobs fired
	awk -F'\t' -v t0="$(eval echo "\$${1}_T0")" "{ t = \$1 - t0 / 1e6; f = \$2 - \$3 } ${5:-1} { printf \"%.3f %.3f\\n\", $3, $4 }" \
		"$W/$1.samples" | raw_samples "$2"
}
ratesamples() {
	awk -F'\t' -v t0="$(eval echo "\$${1}_T0")" 'NR > 1 { printf "%.1f %.0f\n", $1 - t0 / 1e6, (($2 - $3) - pf) / ($1 - pt) } { pt = $1; pf = $2 - $3 }' \
		"$W/$1.samples" | raw_samples "$2"
}
raw_plot xy churn_size "churn: job_history size against jobs fired, $TOTAL jobs at $RATE/s" "jobs fired (millions)|MB"
raw_plot xy churn_rate "churn: jobs fired per second, between samples ${SAMPLE} s apart" "time from the start (s)|jobs/s"
raw_plot xy churn_rows "churn: job_history rows (thousands), as pg_stat_user_tables counts them" "time from the start (s)|thousands of rows"
raw_plot xy churn_wake "churn: the scheduler's wake-up lag fired_at − run_at, jobs of the last 2 s before each sample" "time from the start (s)|ms"
raw_plot lag churn_probe "churn: probe jobs 200 ms ahead, once a second, during the churn: receipt − run_at"
for tag in on off; do
	[ "$tag" = off ] && [ "$OFF" != 1 ] && continue
	role=sj label="retention ${RET}s"
	[ "$tag" = off ] && role=limit label="retention 0 (off)"
	series "$tag" "churn_heap_$tag" 'f / 1e6' '$4 / 1048576'
	series "$tag" "churn_index_$tag" 'f / 1e6' '$5 / 1048576'
	ratesamples "$tag" "churn_rate_$tag"
	series "$tag" "churn_live_$tag" 't' '$6 / 1000'
	series "$tag" "churn_dead_$tag" 't' '$7 / 1000'
	series "$tag" "churn_wakep99_$tag" 't' '$13' '$13 != ""'
	series "$tag" "churn_wakemax_$tag" 't' '$14' '$14 != ""'
	raw_series churn_size "$role" "churn_heap_$tag" "heap, $label"
	raw_series churn_size "$role" "churn_index_$tag" "indexes, $label"
	raw_series churn_rate "$role" "churn_rate_$tag" "$label"
	raw_series churn_rows "$role" "churn_live_$tag" "live rows, $label"
	raw_series churn_rows "$role" "churn_dead_$tag" "dead rows, $label"
	raw_series churn_wake "$role" "churn_wakep99_$tag" "p99, $label"
	raw_series churn_wake "$role" "churn_wakemax_$tag" "max, $label"
	raw_series churn_probe "$role" "churn_probe_$tag" "$label"
done

# run alone: the report, as run.sh writes its own
[ "${BENCH_OWNER:-}" = $$ ] && {
	printf '\nPlots (bench/plot.sh, from bench/results/raw/%s/):\n\n' "$BENCH_RUN"
	for p in churn_size churn_rate churn_rows churn_wake churn_probe; do
		echo "- [$p](${BENCH_RUN}_$p.png)"
	done
} | bench_note
bench_report "churn and retention" <<EOF
Cluster: fsync on, synchronous_commit on, shared_buffers 256MB, max_wal_size 4GB, autovacuum defaults, scheduled_jobs.max_executors 4, batch_size $(DB=postgres q 'SHOW scheduled_jobs.batch_size').
The limit is the same run with retention 0 (off) where there is one; ratio = measured / limit. See bench/README.md, workload 11.
EOF
bench_finish
