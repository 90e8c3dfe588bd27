#!/bin/bash
# Peers (issue 5): graphile-worker, pg-boss and pg_cron on the same cluster
# as scheduled_jobs, the same workloads where they apply.  Not part of
# bench/run.sh's default run.  One row per workload and scheduled_jobs mode
# (procedure jobs with one commit each, group_commit, an acknowledged
# channel): measured = scheduled_jobs, limit column = every peer that does
# the workload, goal "ahead of" all of them.  Run alone, writes the report
# to bench/results/<date>_<time>[-quick]_peers.md, with a line on which
# mode to pick for which job.
#
#   lag      jobs due 200 ms after being added, Poisson ~20/s, lag = handler
#            (procedure) start - due time; scheduled_jobs: procedure jobs
#            (as bench/lag.sh)
#   backlog  N due jobs added while nothing runs, then the time until all
#            are done: a task inserting one row, and a no-op task;
#            scheduled_jobs: procedure jobs scheduled while paused, with and
#            without group_commit (as bench/backlog_procedure.sh)
#   pg_cron  lag of its finest schedule after the instant it was due, against
#            scheduled_jobs procedure jobs due at whole seconds
#
# The npm packages are pinned in bench/peers/package.json (+ lockfile) and
# installed by this script into bench/peers/node_modules.
. "$(dirname "$0")/common.sh"

PEERS=$BENCH_ROOT/bench/peers
# pg_cron must be preloaded: this script's cluster only (see bench_cluster_start)
BENCH_EXTRA_CONF="shared_preload_libraries = 'scheduled_jobs,pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
cron.max_running_jobs = 4"
if [ "${BENCH_CLUSTER_UP:-0}" != 1 ]; then
	sj_install_packages postgresql-15-cron || die "package postgresql-15-cron"
fi
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (Node 20)"
bench_init

N_LAG=100 N_BACKLOG=20000 N_GRID=20
quick && { N_LAG=50 N_BACKLOG=5000 N_GRID=10; }
W=$BENCH_TMP/peers
mkdir -p "$W"

log "peers: npm install (versions pinned in bench/peers/package.json)"
( cd "$PEERS" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi ) >&2 \
	|| die "npm install in bench/peers"
GW_VERSION=$(node -p "require('$PEERS/node_modules/graphile-worker/package.json').version")
BOSS_VERSION=$(node -p "require('$PEERS/node_modules/pg-boss/package.json').version")

bench_db bench_peers
qs <<'SQL' >/dev/null || die setup
CREATE TABLE bench.sink (id bigserial PRIMARY KEY, payload jsonb, at timestamptz DEFAULT clock_timestamp());
CREATE PROCEDURE bench.insert_one(p jsonb) LANGUAGE sql
AS $$ INSERT INTO bench.sink (payload) VALUES (p) $$;
CREATE PROCEDURE bench.noop(p jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE TABLE bench.lag (kind text, lag_ms numeric, at timestamptz DEFAULT clock_timestamp());
CREATE PROCEDURE bench.record_lag(p jsonb) LANGUAGE sql
AS $$ INSERT INTO bench.lag (kind, lag_ms) VALUES
	(p->>'kind', extract(epoch FROM clock_timestamp() - (p->>'run_at')::timestamptz) * 1000) $$;
CREATE TABLE bench.cron_runs (at timestamptz DEFAULT clock_timestamp());
CREATE TABLE bench.phases (name text, at timestamptz DEFAULT clock_timestamp());
SQL
phase() { q "INSERT INTO bench.phases (name) VALUES ('$1')" >/dev/null; }

peer() { node "$PEERS/peers.js" "$DB" "$@"; }

# "n p50 p99 max min mean" of bench.lag rows of one kind
lag_of() {
	q "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_ms)::numeric, 3),
		round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms)::numeric, 3),
		round(max(lag_ms), 3), round(min(lag_ms), 3), round(avg(lag_ms), 3)
	   FROM bench.lag WHERE kind = '$1'" | tr '|' ' '
}
f() { echo "$1" | awk -v i="$2" '{ print $i }'; }

# ahead_of "PEER|EXPR"...: pass if every EXPR (awk) holds, else FAIL naming
# the peers it does not hold for
ahead_of() {
	local behind="" p
	for p in "$@"; do
		awk "BEGIN { exit !(${p#*|}) }" || behind="$behind${behind:+, }${p%%|*}"
	done
	if [ -z "$behind" ]; then echo pass; else echo "FAIL (behind $behind)"; fi
}

# lag_row SJ_STATS "PEER|STATS"...: the lag row, every peer in its limit
# column: p50 / p99, ahead = both lower than each peer's
lag_row() {
	local s=$1 p name st lim="" rat="" n="" checks=()
	shift
	for p in "$@"; do
		name=${p%%|*} st=${p#*|}
		lim="$lim${lim:+; }$name $(fmt "$(f "$st" 2)") / $(fmt "$(f "$st" 3)")"
		rat="$rat${rat:+; }$(ratio "$(f "$s" 2)" "$(f "$st" 2)") / $(ratio "$(f "$s" 3)" "$(f "$st" 3)")"
		n="$n / $(f "$st" 1)"
		checks+=("$name|$(f "$s" 2) < $(f "$st" 2) && $(f "$s" 3) < $(f "$st" 3)")
	done
	bench_row_raw "lag: jobs 200 ms ahead, ~20/s — procedure jobs (n=$(f "$s" 1)$n)" \
		"lag ms p50 / p99 to handler start (sj: procedure CALL; peers: their handler)" \
		"$(fmt "$(f "$s" 2)") / $(fmt "$(f "$s" 3)")" "$lim" "$rat" \
		"ahead of every peer (p50 and p99 lower)" "$(ahead_of "${checks[@]}")"
}
# backlog_row WORKLOAD MODE SJ_RATE GW_RATE BOSS_RATE: one row, both peers
backlog_row() {
	bench_row_raw "backlog: $N_BACKLOG due jobs, $1 — $2 (best of 2 runs)" \
		"jobs/s until all done (peers: their fastest settings, bench/README.md)" \
		"$(fmt "$3")" "graphile-worker $(fmt "$4"); pg-boss $(fmt "$5")" \
		"$(ratio "$3" "$4") / $(ratio "$3" "$5")" "ahead of graphile-worker and pg-boss" \
		"$(ahead_of "graphile-worker|$3 > $4" "pg-boss|$3 > $5")"
}

# ------------------------------------------------------------ pg_cron, part 1
# pg_cron before 1.5 (Debian 12 has 1.4.2) has no seconds schedules: its
# finest is every minute, so that job runs through the whole script and
# every run is kept (tagged with the workload running then).  From 1.5 on,
# '1 seconds' runs in a quiet phase of its own, at the end.
CRON=0
if [ "$(DB=postgres q "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_cron'")" = 1 ] &&
	DB=postgres q "SHOW shared_preload_libraries" | grep -q pg_cron; then
	DB=postgres q "CREATE EXTENSION IF NOT EXISTS pg_cron" || die "create extension pg_cron"
	CRON_EXT=$(DB=postgres q "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'")
	# the package's version (1.4.2) says more than the SQL one (1.4-1)
	CRON_VERSION=$(dpkg-query -W -f='${Version}' postgresql-15-cron 2>/dev/null | sed 's/-[^-]*$//')
	CRON_VERSION=${CRON_VERSION:-$CRON_EXT}
	CRON=1
	if awk -v v="${CRON_EXT%%-*}" 'BEGIN { split(v, a, "."); exit !(a[1] > 1 || (a[1] == 1 && a[2] >= 5)) }'; then
		CRON_GRID=second CRON_SCHEDULE='1 seconds'
	else
		CRON_GRID=minute CRON_SCHEDULE='* * * * *'
		DB=postgres q "SELECT cron.schedule_in_database('bench_peers_lag', '$CRON_SCHEDULE',
			'INSERT INTO bench.cron_runs DEFAULT VALUES', '$DB')" >/dev/null || die "cron.schedule"
		log "peers: pg_cron $CRON_VERSION: '$CRON_SCHEDULE' job scheduled, runs all through the script"
	fi
else
	log "peers: pg_cron not preloaded in this cluster (run bench/peers.sh alone): skipped"
fi

# ------------------------------------------------------------ lag
phase "lag scheduled_jobs"
log "peers: lag, scheduled_jobs, $N_LAG procedure jobs 200 ms ahead, Poisson 20/s"
cat >"$W/pjob.sql" <<'SQL'
SELECT scheduled_jobs.schedule_job(t, NULL, 'bench.record_lag', jsonb_build_object('run_at', t, 'kind', 'sj200'))
FROM (SELECT clock_timestamp() + interval '200 ms' AS t) s;
SQL
pgbench -n -c 1 -R 20 -t "$N_LAG" -f "$W/pjob.sql" "$DB" >/dev/null 2>&1 || die "pgbench procedure jobs"
wait_for "$N_LAG procedure jobs" 60 "SELECT count(*) >= $N_LAG FROM bench.lag WHERE kind = 'sj200'"
SJ_LAG=$(lag_of sj200)
log "peers: scheduled_jobs lag n p50 p99 max min mean: $SJ_LAG"

# graphile-worker finds a job due later than its insertion's NOTIFY by
# polling: lag ~ pollInterval / 2.  Its default (2000 ms), and tighter ones
# (4 workers poll each on their own timer).
GW_POLLS="2000 100 10"
quick && GW_POLLS=100
for poll in $GW_POLLS; do
	phase "lag graphile-worker $poll"
	log "peers: lag, graphile-worker $GW_VERSION, pollInterval $poll ms"
	out=$(peer gw-lag "$N_LAG" "$poll") || die "graphile-worker lag"
	printf -v "GW_LAG_$poll" '%s' "$out"
	log "peers: graphile-worker lag (pollInterval $poll): $out"
done

phase "lag pg-boss"
log "peers: lag, pg-boss $BOSS_VERSION, pollingIntervalSeconds 0.5 (its minimum), 4 workers"
BOSS_LAG=$(peer boss-lag "$N_LAG" 100) || die "pg-boss lag"
log "peers: pg-boss lag: $BOSS_LAG"

LAG_PEERS=()
for poll in $GW_POLLS; do
	v=GW_LAG_$poll
	LAG_PEERS+=("graphile-worker (pollInterval $poll ms$([ "$poll" = 2000 ] && echo ", its default"))|${!v}")
done
LAG_PEERS+=("pg-boss (pollingIntervalSeconds 0.5)|$BOSS_LAG")
lag_row "$SJ_LAG" "${LAG_PEERS[@]}"

# ------------------------------------------------------------ backlog
# sj_backlog PROC GROUP_COMMIT: jobs/s from the unpausing reload to the last finished_at
sj_backlog() {
	q "TRUNCATE bench.sink; DELETE FROM scheduled_jobs.job_history WHERE procedure = '$1'; CHECKPOINT" >/dev/null
	bench_pause
	q "SELECT count(scheduled_jobs.schedule_job(now(), procedure => '$1',
		payload => jsonb_build_object('i', g, 'note', 'backlog'), group_commit => $2))
	   FROM generate_series(1, $N_BACKLOG) g" >/dev/null || die "schedule $1"
	q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
	local fired
	fired=$(q "SELECT count(*) FROM scheduled_jobs.job_history WHERE procedure = '$1'")
	[ "$fired" = 0 ] || log "WARNING: $fired jobs fired while paused"
	bench_unpause_prepare
	local t0
	t0=$(q "SELECT clock_timestamp()")
	bench_reload
	wait_for "$N_BACKLOG $1 jobs" 300 "SELECT count(*) >= $N_BACKLOG FROM scheduled_jobs.job_history WHERE procedure = '$1'"
	RATE=$(q "SELECT round(($N_BACKLOG / extract(epoch FROM max(finished_at) - '$t0'::timestamptz))::numeric, 1)
		FROM scheduled_jobs.job_history WHERE procedure = '$1'")
	SINK=$(q "SELECT count(*) FROM bench.sink")
	log "peers: scheduled_jobs $1 group_commit=$2: $RATE jobs/s ($SINK rows inserted)"
}
# peer_backlog PEER-MODE TASK [BATCH]: sets RATE
peer_backlog() {
	q "TRUNCATE bench.sink; CHECKPOINT" >/dev/null
	local out
	out=$(peer "$1" "$N_BACKLOG" "$2" ${3:+"$3"}) || die "$1 $2"
	RATE=$(f "$out" 1) SINK=$(f "$out" 3)
	log "peers: $1 $2: $RATE jobs/s in $(f "$out" 2) s ($SINK rows inserted)"
	[ "$2" = noop ] || [ "$SINK" = "$N_BACKLOG" ] || log "WARNING: $1 inserted $SINK rows, not $N_BACKLOG"
}

# best2 VAR CMD...: runs CMD twice, VAR = the better RATE (polling peers
# have run-to-run swings of whole poll intervals; both sides get two tries)
best2() {
	local var=$1 a
	shift
	"$@"; a=$RATE
	"$@"
	printf -v "$var" '%s' "$(awk -v a="$a" -v b="$RATE" 'BEGIN { print (a > b ? a : b) }')"
}

phase "backlog scheduled_jobs"
best2 SJ_INS sj_backlog bench.insert_one false
best2 SJ_INS_GC sj_backlog bench.insert_one true
best2 SJ_NOOP sj_backlog bench.noop false
best2 SJ_NOOP_GC sj_backlog bench.noop true
q "DELETE FROM scheduled_jobs.job_history" >/dev/null

# Acknowledged channels (issue 10): $N_BACKLOG jobs in flight, consumed by 4
# pgbench clients with claim + ack_many, one transaction per batch; against
# pg-boss's fetch + complete of no-op jobs below, with the same batch size
# (a quarter of the backlog, pg-boss's best case) and 100.  Sets RATE.
sj_ack_backlog() {
	local batch=$1 per=$(( N_BACKLOG / 4 / $1 )) t0 out
	q "SELECT scheduled_jobs.configure_channel('sjpeers', '1 hour')" >/dev/null || die "configure"
	q "SELECT count(scheduled_jobs.schedule_job(now(), 'sjpeers', NULL, jsonb_build_object('i', g)))
	   FROM generate_series(1, $N_BACKLOG) g" >/dev/null || die "schedule"
	wait_for "$N_BACKLOG jobs in flight" 60 \
		"SELECT count(*) >= $N_BACKLOG FROM scheduled_jobs.jobs WHERE channel = 'sjpeers' AND due_at IS NOT NULL"
	echo "SELECT scheduled_jobs.ack_many(array_agg(id)) FROM scheduled_jobs.claim('sjpeers', $batch, '1 minute');" >"$W/ack.sql"
	t0=$(now_us)
	out=$(pgbench -n -c 4 -j 2 -t "$per" -f "$W/ack.sql" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench ack"; }
	RATE=$(calc "$N_BACKLOG / (($(now_us) - $t0) / 1e6)")
	q "DELETE FROM scheduled_jobs.job_history WHERE channel = 'sjpeers'" >/dev/null
}
best2 SJ_ACK sj_ack_backlog $((N_BACKLOG / 4))
best2 SJ_ACK100 sj_ack_backlog 100

phase "backlog graphile-worker"
log "peers: backlog, graphile-worker: concurrency 4, localQueue.size 500, completeJobBatchDelay 0"
best2 GW_INS peer_backlog gw-backlog insert
best2 GW_NOOP peer_backlog gw-backlog noop

phase "backlog pg-boss"
# a worker that found jobs still waits out the rest of its poll interval:
# batchSize = a quarter of the backlog lets each of the 4 workers fetch its
# share in one poll (pg-boss's best case; 100 would cap it at 800 jobs/s)
BOSS_BATCH=$((N_BACKLOG / 4))
log "peers: backlog, pg-boss: 4 workers, batchSize $BOSS_BATCH, pollingIntervalSeconds 0.5"
best2 BOSS_INS peer_backlog boss-backlog insert "$BOSS_BATCH"
best2 BOSS_NOOP peer_backlog boss-backlog noop "$BOSS_BATCH"

backlog_row "task inserts one row" "procedure jobs, one commit each" "$SJ_INS" "$GW_INS" "$BOSS_INS"
backlog_row "task inserts one row" "procedure jobs, group_commit" "$SJ_INS_GC" "$GW_INS" "$BOSS_INS"
backlog_row "no-op task" "procedure jobs, one commit each" "$SJ_NOOP" "$GW_NOOP" "$BOSS_NOOP"
backlog_row "no-op task" "procedure jobs, group_commit" "$SJ_NOOP_GC" "$GW_NOOP" "$BOSS_NOOP"
backlog_row "no-op task" "acknowledged channel, claim + ack_many by 4 clients, batches of $((N_BACKLOG / 4))" \
	"$SJ_ACK" "$GW_NOOP" "$BOSS_NOOP"
backlog_row "no-op task" "acknowledged channel, claim + ack_many by 4 clients, batches of 100" \
	"$SJ_ACK100" "$GW_NOOP" "$BOSS_NOOP"

# ------------------------------------------------------------ pg_cron, part 2
# scheduled_jobs: N_GRID procedure jobs due at whole seconds, lag = CALL
# start - run_at; pg_cron: lag = its job's clock_timestamp() - the instant
# it was due (the whole second or minute).
phase "grid scheduled_jobs"
log "peers: scheduled_jobs, $N_GRID procedure jobs due at whole seconds"
q "SELECT count(scheduled_jobs.schedule_job(t, NULL, 'bench.record_lag', jsonb_build_object('run_at', t, 'kind', 'sjgrid')))
   FROM (SELECT date_trunc('second', now()) + g * interval '1 s' AS t FROM generate_series(2, $N_GRID + 1) g) s" >/dev/null \
	|| die "schedule grid jobs"
wait_for "$N_GRID whole-second jobs" $((N_GRID + 30)) "SELECT count(*) >= $N_GRID FROM bench.lag WHERE kind = 'sjgrid'"
SJ_GRID=$(lag_of sjgrid)
log "peers: scheduled_jobs whole-second lag n p50 p99 max min mean: $SJ_GRID"

if [ "$CRON" = 1 ]; then
	if [ "$CRON_GRID" = second ]; then
		phase "pg_cron 1 seconds"
		q "TRUNCATE bench.cron_runs" >/dev/null
		DB=postgres q "SELECT cron.schedule_in_database('bench_peers_lag', '$CRON_SCHEDULE',
			'INSERT INTO bench.cron_runs DEFAULT VALUES', '$DB')" >/dev/null || die "cron.schedule"
		wait_for "$N_GRID pg_cron runs" $((N_GRID + 30)) "SELECT count(*) >= $N_GRID FROM bench.cron_runs"
	else
		# at least 2 runs (3 without --quick): wait for the next minute if needed
		need=3; quick && need=2
		wait_for "$need pg_cron runs" 130 "SELECT count(*) >= $need FROM bench.cron_runs"
	fi
	DB=postgres q "SELECT cron.unschedule('bench_peers_lag')" >/dev/null
	CRON_LAG=$(q "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3),
		round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3),
		round(max(ms), 3), round(min(ms), 3), round(avg(ms), 3)
		FROM (SELECT extract(epoch FROM at - date_trunc('$CRON_GRID', at)) * 1000 AS ms FROM bench.cron_runs) s" | tr '|' ' ')
	log "peers: pg_cron $CRON_VERSION '$CRON_SCHEDULE' lag n p50 p99 max min mean: $CRON_LAG"
	# ahead: the median and the worst run both earlier
	bench_row_raw "lag of the finest schedule — procedure jobs at whole seconds (n=$(f "$SJ_GRID" 1) / $(f "$CRON_LAG" 1))" \
		"lag ms p50 / max after the due instant (sj: procedure jobs at whole seconds, to CALL start; pg_cron: clock_timestamp() in its job, after the whole $CRON_GRID)" \
		"$(fmt "$(f "$SJ_GRID" 2)") / $(fmt "$(f "$SJ_GRID" 4)")" "$(fmt "$(f "$CRON_LAG" 2)") / $(fmt "$(f "$CRON_LAG" 4)")" \
		"$(ratio "$(f "$SJ_GRID" 2)" "$(f "$CRON_LAG" 2)") / $(ratio "$(f "$SJ_GRID" 4)" "$(f "$CRON_LAG" 4)")" \
		"ahead of pg_cron $CRON_VERSION '$CRON_SCHEDULE' (p50 and max lower)" "$(verdict "$(f "$SJ_GRID" 2) < $(f "$CRON_LAG" 2) && $(f "$SJ_GRID" 4) < $(f "$CRON_LAG" 4)")"
	RUNS=$(q "SELECT string_agg(format('%s +%s ms (%s)', to_char(r.at, 'HH24:MI:SS'),
			round((extract(epoch FROM r.at - date_trunc('$CRON_GRID', r.at)) * 1000)::numeric, 1),
			coalesce((SELECT p.name FROM bench.phases p WHERE p.at <= r.at ORDER BY p.at DESC LIMIT 1), 'setup')), '; ' ORDER BY r.at)
		FROM bench.cron_runs r")
	[ "$CRON_GRID" = minute ] && printf '\npg_cron %s runs (during the workload named): %s\n' "$CRON_VERSION" "$RUNS" | bench_note
	DB=postgres q "DROP EXTENSION pg_cron" >/dev/null
fi

{
	# which mode for which job, from the rows above
	printf '\n**Which mode for which job.** Procedure jobs with one commit each (the default) for jobs that do real work in the database: each job'"'"'s effects and its completion commit together, one job at a time, so a failed job rolls back and is retried alone; that costs a WAL flush per job (%s jobs/s inserting a row, here). `group_commit => true` for short jobs that come in bulk: up to group_commit_size of them share that commit (%s jobs/s), each still under its own error boundary, but a job waits for its group. An acknowledged channel (`claim` + `ack`) when the work happens outside the database (mail, HTTP, a queue of your own): consumers take jobs in batches (%s jobs/s by batches of 100) and acknowledge each when its effect is done, and a job not acknowledged in time is delivered again.\n' \
		"$(fmt "$SJ_INS")" "$(fmt "$SJ_INS_GC")" "$(fmt "$SJ_ACK100")"
	printf '\nPeers: graphile-worker %s (concurrency 4; LISTEN/NOTIFY, prepared statements; lag: pollInterval %s ms; backlog: localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0), ' \
		"$GW_VERSION" "${GW_POLLS// / and }"
	printf 'pg-boss %s (4 workers; pollingIntervalSeconds 0.5; batchSize 100 for lag, %s for backlog; supervise and schedule off)' "$BOSS_VERSION" "$BOSS_BATCH"
	[ "$CRON" = 1 ] && printf ", pg_cron %s ('%s', cron.use_background_workers on)" "$CRON_VERSION" "$CRON_SCHEDULE"
	printf '; Node %s.\n' "$(node --version)"
	printf '\nLag, n p50 p99 max min mean (ms): scheduled_jobs %s' "$SJ_LAG"
	for poll in $GW_POLLS; do v=GW_LAG_$poll; printf '; graphile-worker (pollInterval %s) %s' "$poll" "${!v}"; done
	printf '; pg-boss %s; scheduled_jobs at whole seconds %s%s.\n' "$BOSS_LAG" "$SJ_GRID" "${CRON_LAG:+; pg_cron $CRON_LAG}"
} | bench_note

bench_db_drop
# run alone: the report, as run.sh writes its own
if [ "${BENCH_OWNER:-}" = $$ ]; then
	mkdir -p bench/results
	OUT=bench/results/$BENCH_RUN.md
	{
		echo "# scheduled_jobs vs peers, $(date '+%Y-%m-%d %H:%M %Z')"
		echo
		echo "\`bash bench/peers.sh$(quick && echo ' --quick')\`;" \
			"commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git --no-optional-locks diff-index --quiet HEAD -- src sql 2>/dev/null || echo ' + uncommitted src/sql changes');" \
			"graphile-worker $GW_VERSION, pg-boss $BOSS_VERSION${CRON_VERSION:+, pg_cron $CRON_VERSION (Debian)}, Node $(node --version);" \
			"concurrency 4 on every side; $(nproc) cores shared. See bench/README.md, section Peers."
		echo
		bench_table "$BENCH_ROWS"
		cat "$BENCH_NOTES"
	} >"$OUT"
	log "written to $OUT"
fi
bench_finish
