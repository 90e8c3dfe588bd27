# Shared shell functions of the benchmarks.  Sourced by every bench/*.sh.
#
# A workload script run alone starts its own throwaway cluster, prints its
# rows and stops the cluster.  Run from bench/run.sh it finds the cluster
# already running (BENCH_CLUSTER_UP=1) and appends its rows to $BENCH_ROWS.
#
# Rows are tab-separated: workload, figure, measured, limit, ratio, goal, verdict.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$BENCH_ROOT" || exit 1
. test/lib.sh
# Another PostgreSQL installation: SJ_PGBIN (test/lib.sh: initdb, pg_ctl; here
# also psql and pgbench) and PG_CONFIG (the build), e.g. a relocated copy.
PG_CONFIG=${PG_CONFIG:-pg_config}
PATH=$SJ_PGBIN:$PATH
export PG_CONFIG SJ_PGBIN PATH

# Flags: --quick, --large (also passed down as BENCH_QUICK / BENCH_LARGE).
for arg in "$@"; do
	case $arg in
		--quick) export BENCH_QUICK=1 ;;
		--large) export BENCH_LARGE=1 ;;
		*) echo "unknown option: $arg (use --quick, --large)" >&2; exit 2 ;;
	esac
done
: "${BENCH_QUICK:=0}" "${BENCH_LARGE:=0}"
export BENCH_QUICK BENCH_LARGE

quick() { [ "$BENCH_QUICK" = 1 ]; }
large() { [ "$BENCH_LARGE" = 1 ]; }

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# Build the LISTEN client (needs libpq-fe.h from postgresql-server-dev-15's libpq-dev).
bench_build_listener() {
	BENCH_LISTENER=$BENCH_TMP/listener
	gcc -O2 -Wall -o "$BENCH_LISTENER" bench/listener.c \
		-I"$("$PG_CONFIG" --includedir)" -L"$("$PG_CONFIG" --libdir)" -lpq || die "could not build bench/listener.c"
	export BENCH_LISTENER
}

# Build and install the extension from a clean copy of the working tree:
# PGXS does not track header dependencies, so objects left in src/ by an
# earlier build can disagree with a changed header (e.g. a shared memory
# struct).  A copy also leaves the shared checkout's build products alone.
bench_build_install() {
	local b=$BENCH_TMP/build
	mkdir -p "$b"
	tar -C "$BENCH_ROOT" --exclude=.git --exclude=bench --exclude=test --exclude='*.o' \
		--exclude='*.bc' --exclude='*.so' -cf - . | tar -C "$b" -xf - || die "copy the tree"
	log "building and installing the extension (clean build of the working tree)"
	(cd "$b" && make -s PG_CONFIG="$PG_CONFIG" >/dev/null && make -s install PG_CONFIG="$PG_CONFIG" >/dev/null) || die "build"
}

# The cluster: fsync and synchronous_commit on (the defaults), the library
# preloaded, room for the workers.  BENCH_EXTRA_CONF (not exported: set by
# a script for its own cluster only) holds more postgresql.conf lines, one a
# line, written last so that they win (bench/peers.sh: pg_cron).
# A port that sj_free_port found free can be taken before the server binds
# it: ports of the ephemeral range (32768-60999 on Linux) are also the local
# ends of other programs' connections.  Then it tries the next port, 5 times.
bench_cluster_start() {
	export SJ_PORT=${SJ_PORT:-55600}
	local extra=() try
	[ -n "${BENCH_EXTRA_CONF:-}" ] && mapfile -t extra <<<"$BENCH_EXTRA_CONF"
	for try in 1 2 3 4 5; do
		sj_cluster_start "$BENCH_TMP" \
			"fsync = on" "synchronous_commit = on" "max_connections = 60" \
			"shared_buffers = 256MB" "max_wal_size = 4GB" \
			"scheduled_jobs.max_executors = 4" "${extra[@]}" && break
		grep -q 'could not bind' "$BENCH_TMP/server.log" && [ $try -lt 5 ] ||
			die "could not start the cluster (see $BENCH_TMP/server.log)"
		log "port $PGPORT was taken while the server started; trying $((PGPORT + 1))"
		rm -rf "$BENCH_TMP/data" "$BENCH_TMP/server.log"
		SJ_PORT=$((PGPORT + 1))
	done
	log "cluster on 127.0.0.1:$PGPORT in $BENCH_TMP"
}

bench_cleanup() {
	local pid
	for pid in $BENCH_CHILDREN; do kill "$pid" 2>/dev/null; done
	sj_cluster_stop "$BENCH_TMP"
	rm -rf "$BENCH_TMP"
}

# The run's name: the stem of its report and its plots (bench/run.sh sets it
# before bench_init; a script run alone gets one of its own).
bench_run_name() {
	echo "$(date +%Y-%m-%d_%H%M)$(quick && echo -quick)$(large && echo -large)$1"
}

# bench_init: for a workload script.  Starts everything when run alone.
bench_init() {
	BENCH_CHILDREN=""
	if [ "${BENCH_CLUSTER_UP:-0}" = 1 ]; then
		return 0
	fi
	# raw samples for bench/plot.sh, kept after the run (git-ignored)
	BENCH_RUN=${BENCH_RUN:-$(bench_run_name "_$(basename "$0" .sh)")}
	BENCH_RAW=$BENCH_ROOT/bench/results/raw/$BENCH_RUN
	mkdir -p "$BENCH_RAW"
	: >"$BENCH_RAW/plots.tsv"
	export BENCH_RUN BENCH_RAW
	sj_install_packages || die "packages"
	BENCH_TMP=$(mktemp -d /tmp/sj-bench-XXXXXX)
	chown postgres:postgres "$BENCH_TMP"
	export BENCH_TMP
	trap bench_cleanup EXIT
	bench_build_install
	trap 'exit 130' INT TERM
	bench_build_listener
	bench_cluster_start
	BENCH_ROWS=$BENCH_TMP/rows.tsv
	BENCH_NOTES=$BENCH_TMP/notes.md
	: >"$BENCH_ROWS"
	: >"$BENCH_NOTES"
	# workload scripts started by this one use the same cluster
	export BENCH_ROWS BENCH_NOTES BENCH_CLUSTER_UP=1 BENCH_OWNER=$$
	# for the report of a script run alone (bench_report)
	BENCH_START=$(date +%s) BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
}

# bench_finish: print this script's rows when run alone, and plot its samples.
bench_finish() {
	if [ "${BENCH_OWNER:-}" = $$ ]; then
		bench_table "$BENCH_ROWS"
		[ -s "$BENCH_NOTES" ] && cat "$BENCH_NOTES"
		bash "$BENCH_ROOT/bench/plot.sh" "$BENCH_RAW" || log "could not plot $BENCH_RAW"
	fi
	return 0
}

# bench_report TITLE [ENV] [PARTS]: a script run alone (not by run.sh, whose
# report has its rows) writes bench/results/$BENCH_RUN.md: the title; a line
# on the run: the command as run (ENV before it, e.g. "ASYNC=1 "), the
# commit (and whether src or sql had changes not committed), the server's
# version, PARTS (versions of other parts), the cores and the load average
# at start and end, the time it took; the lines on stdin (the cluster, what
# the limits are); the table and the notes (bench_note).
bench_report() {
	local out=bench/results/$BENCH_RUN.md
	[ "${BENCH_OWNER:-}" = $$ ] || { cat >/dev/null; return 0; }
	mkdir -p bench/results
	{
		echo "# scheduled_jobs benchmark: $1, $(date '+%Y-%m-%d %H:%M %Z')"
		echo
		echo "\`${2:-}bash bench/$(basename "$0")$(quick && echo ' --quick')\`;" \
			"commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git --no-optional-locks diff-index --quiet HEAD -- src sql 2>/dev/null || echo ' + uncommitted src/sql changes');" \
			"$(DB=postgres q 'SHOW server_version' | cut -d' ' -f1);${3:+ $3;}" \
			"$(nproc) cores, load average $BENCH_LOAD0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end;" \
			"$(( $(date +%s) - BENCH_START )) s in all."
		cat
		echo
		bench_table "$BENCH_ROWS"
		cat "$BENCH_NOTES"
	} >"$out"
	log "written to $out"
}

# Raw samples, for the plots (bench/plot.sh).  Each series is a file
# $BENCH_RAW/NAME.dat of one sample a line; $BENCH_RAW/plots.tsv says which
# plot shows which series, with what title and legend.
#   raw_samples NAME: stdin -> NAME.dat.
#   raw_plot KIND PLOT TITLE [START]: a plot, bench/results/<run>_PLOT.png.
#     KIND lag: samples are lags in ms (drawn as CDFs); KIND tput: samples are
#     the seconds from the start at which each job was done (drawn as jobs/s
#     per 100 ms), START saying what the start is (default: the unpausing
#     reload, the limit's CALL or pgbench start).  KIND xy: samples are "x y"
#     lines (drawn as lines), START is "XLABEL|YLABEL" (bench/churn.sh).
#   raw_series PLOT ROLE NAME LABEL: series NAME in PLOT; ROLE is sj (the
#     extension, drawn solid) or limit (dashed).
# PLOT names with a LABEL (workload 5) get its slug as a prefix: raw_slug.
raw_samples() {
	cat >"$BENCH_RAW/$1.dat"
}
raw_plot() {
	printf 'plot\t%s\t%s\t%s\t%s\n' "$2" "$1" "$3" "${4:-}" >>"$BENCH_RAW/plots.tsv"
}
raw_series() {
	printf 'series\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_RAW/plots.tsv"
}
raw_slug() {
	echo "$1" | tr -cs 'A-Za-z0-9' '_' | sed 's/^_*//'
}
# tput_samples T0_US: listener output on stdin -> seconds from T0_US of each receipt.
tput_samples() {
	awk -v t0="$1" '{ printf "%.6f\n", ($1 - t0) / 1e6 }'
}

# psql in database $DB (default postgres): q "SQL" -> unaligned tuples.
q() {
	printf '%s\n' "$1" | psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-postgres}"
}
# qf FILE-or-heredoc on stdin
qs() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-postgres}" "$@"
}

# Milliseconds a statement takes, measured by psql's \timing in one session.
q_time_ms() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-postgres}" <<EOF | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
\\timing on
$1
EOF
}

# bench_db NAME: a fresh database with the extension and a "bench" schema;
# waits (with a deadline) until its scheduler runs.  Sets DB.
#   With BENCH_DB set (workload 5), that database is used instead and kept.
bench_db() {
	if [ -n "${BENCH_DB:-}" ]; then
		DB=$BENCH_DB
		[ "$(DB=postgres q "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 1 ] && return 0
	else
		DB=$1
	fi
	q "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
	DB=postgres q "CREATE DATABASE $DB" || die "create database $DB"
	q "CREATE EXTENSION scheduled_jobs; CREATE SCHEMA bench;" || die "create extension"
	wait_for "scheduler of $DB" 20 \
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = current_database()"
}

bench_db_drop() {
	local db=$DB
	[ -n "${BENCH_DB:-}" ] && return 0
	DB=postgres q "DROP DATABASE IF EXISTS $db" >/dev/null || log "could not drop $db"
}

# procedure_backlog_setup DIR: in $DB, the tables and procedures of the
# procedure backlogs (workloads 3 and 13): bench.sink, bench.insert_one(p)
# inserting p into it, bench.insert_one_async, the same declared
# synchronous_commit = off (README, Procedure jobs), and the limit's queue
# bench.pq; and the limit's pgbench transaction, DIR/claim.sql: claim the
# earliest due row FOR UPDATE SKIP LOCKED, insert its payload, delete it.
procedure_backlog_setup() {
	qs <<'SQL' >/dev/null || die "procedure backlog setup"
CREATE TABLE bench.sink (id bigserial PRIMARY KEY, payload jsonb, at timestamptz DEFAULT clock_timestamp());
CREATE PROCEDURE bench.insert_one(p jsonb) LANGUAGE sql
AS $$ INSERT INTO bench.sink (payload) VALUES (p) $$;
CREATE PROCEDURE bench.insert_one_async(p jsonb) LANGUAGE sql SET synchronous_commit = off
AS $$ INSERT INTO bench.sink (payload) VALUES (p) $$;
CREATE TABLE bench.pq (id bigserial PRIMARY KEY, run_at timestamptz NOT NULL, payload jsonb NOT NULL);
CREATE INDEX ON bench.pq (run_at);
SQL
	cat >"$1/claim.sql" <<'SQL'
BEGIN;
SELECT id AS claimed FROM bench.pq WHERE run_at <= now() ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED \gset
INSERT INTO bench.sink (payload) SELECT payload FROM bench.pq WHERE id = :claimed;
DELETE FROM bench.pq WHERE id = :claimed;
COMMIT;
SQL
}

# wait_for WHAT SECONDS SQL: poll SQL until it returns t, or die.
wait_for() {
	local what=$1 secs=$2 sql=$3 end
	end=$(($(date +%s) + secs))
	until [ "$(q "$sql")" = t ]; do
		[ "$(date +%s)" -ge "$end" ] && die "timed out after ${secs}s waiting for $what"
		sleep 0.05
	done
}

# Pausing goes through ALTER SYSTEM + reload; pg_reload_conf() returns before
# the workers have read the file, so give them a moment.  Callers that rely
# on the pause check afterwards that nothing fired.
bench_pause() {
	DB=postgres q "ALTER SYSTEM SET scheduled_jobs.paused = on" && DB=postgres q "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
}
# Unpausing is two steps, so that a timer can start between them: the
# ALTER SYSTEM has no effect until the reload.
bench_unpause_prepare() {
	DB=postgres q "ALTER SYSTEM RESET scheduled_jobs.paused"
}
bench_unpause() {
	DB=postgres q "ALTER SYSTEM RESET scheduled_jobs.paused" && DB=postgres q "SELECT pg_reload_conf()" >/dev/null
}
bench_reload() {
	DB=postgres q "SELECT pg_reload_conf()" >/dev/null
}

now_us() { date +%s%6N; }

# listen_start OUT COUNT TIMEOUT CHANNEL...: starts the listener in the
# background and waits until it listens.  listen_wait waits for it and sets
# LISTEN_OUT to "count first_us last_us" (no subshell: it must be our child).
listen_start() {
	local out=$1 count=$2 timeout=$3
	shift 3
	LISTEN_READY=$BENCH_TMP/ready.$$.$RANDOM
	LISTEN_RESULT=$BENCH_TMP/result.$$.$RANDOM
	rm -f "$LISTEN_READY"
	"$BENCH_LISTENER" "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB" \
		"$LISTEN_READY" "$out" "$count" "$timeout" "$@" >"$LISTEN_RESULT" &
	LISTEN_PID=$!
	BENCH_CHILDREN="$BENCH_CHILDREN $LISTEN_PID"
	local i
	for i in $(seq 200); do
		[ -f "$LISTEN_READY" ] && return 0
		kill -0 "$LISTEN_PID" 2>/dev/null || die "listener exited"
		sleep 0.05
	done
	die "listener not ready"
}
listen_wait() {
	wait "$LISTEN_PID"
	local rc=$?
	LISTEN_OUT=$(cat "$LISTEN_RESULT")
	[ $rc = 0 ] || log "listener: not all notifications arrived before its timeout ($LISTEN_OUT)"
	return $rc
}

# Arithmetic on decimals.
calc() { awk "BEGIN { x = $1; printf \"%.6g\", x }"; }
mean() { calc "($1 + $2) / 2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# verdict EXPR: pass if the awk expression is true.
verdict() { awk "BEGIN { exit !($1) }" && echo pass || echo FAIL; }
fmt() { awk -v x="$1" 'BEGIN { if (x == "") print "-"; else if (x >= 1000) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else printf "%.3g", x }'; }

# bench_row WORKLOAD FIGURE MEASURED LIMIT GOAL VERDICT [RATIO]
bench_row() {
	local r=${7:-$(ratio "$3" "$4")}
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(fmt "$3")" "$(fmt "$4")" "$r" "$5" "$6" >>"$BENCH_ROWS"
	log "row: $1 | $2 | $(fmt "$3") | $(fmt "$4") | $r | $5 | $6"
}

# Append a markdown section to the report.
bench_note() {
	cat >>"$BENCH_NOTES"
}

# bench_table ROWS_FILE: the markdown table.
bench_table() {
	echo "| workload | figure | measured | limit (same run) | ratio | goal | result |"
	echo "|---|---|---:|---:|---:|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$1"
}

# Lag statistics of a listener output file: "n p50 p99 max min" in ms.
#   $1 file, $2 how to get the reference time from the payload (SQL over
#   column "payload" text): the envelope's run_at or the payload itself.
lag_stats() {
	local file=$1 ref=$2
	qs <<EOF
CREATE TEMP TABLE recv (recv_us bigint, channel text, payload text);
\\copy recv FROM '$file'
SELECT count(*),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag)::numeric, 3),
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)::numeric, 3),
	round(max(lag), 3), round(min(lag), 3)
FROM (SELECT (recv_us - extract(epoch FROM ($ref)::timestamptz) * 1000000) / 1000.0 AS lag FROM recv) s;
EOF
}

# lag_samples FILE REF: the lags of lag_stats, in ms, one a line.
lag_samples() {
	local file=$1 ref=$2
	qs <<EOF
CREATE TEMP TABLE recv (recv_us bigint, channel text, payload text);
\\copy recv FROM '$file'
SELECT round(((recv_us - extract(epoch FROM ($ref)::timestamptz) * 1000000) / 1000.0)::numeric, 3) FROM recv;
EOF
}

# bench_preload N: N NOTIFY jobs due 1 to 31 days ahead, inserted directly
# (as the superuser, which owns the tables) since only their presence matters.
bench_preload() {
	local n=$1
	[ "${n:-0}" -gt 0 ] || return 0
	[ "$(q "SELECT count(*) >= $n FROM scheduled_jobs.jobs WHERE channel = 'future'")" = t ] && return 0
	log "preloading $n future jobs in $DB"
	qs <<EOF2 >/dev/null || die "preload"
INSERT INTO scheduled_jobs.jobs (run_at, channel, payload, owner)
SELECT now() + interval '1 day' + random() * interval '30 days', 'future', jsonb_build_object('i', g), 'postgres'::regrole
FROM generate_series(1, $n) g;
EOF2
	# BENCH_NO_ANALYZE=1: leave the table unanalyzed, so the workers keep the
	# plans they cached while it was empty (as until autovacuum analyzes it)
	[ "${BENCH_NO_ANALYZE:-0}" = 1 ] || q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null
	# write the load out now, not in a checkpoint during the measurement
	DB=postgres q "CHECKPOINT" >/dev/null
}

# wal_per LSN N: bytes of WAL written since LSN (cluster-wide), per one of N.
wal_per() {
	q "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$1') / $2)"
}

# Per-process figures from /proc: "utime+stime ms, schedstat cpu ms,
# voluntary context switches, VmRSS kB, RssAnon kB".
proc_figures() {
	local pid=$1 tck
	tck=$(getconf CLK_TCK)
	[ -r /proc/$pid/stat ] || { echo "- - - - -"; return; }
	local stat cpu sched vcs rss anon
	stat=$(sed 's/.*) //' /proc/$pid/stat)
	cpu=$(echo "$stat" | awk -v t="$tck" '{ printf "%.1f", ($12 + $13) * 1000 / t }')
	sched=$(awk '{ printf "%.3f", $1 / 1e6 }' /proc/$pid/schedstat 2>/dev/null)
	vcs=$(awk '/^voluntary_ctxt_switches/ { print $2 }' /proc/$pid/status)
	rss=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)
	anon=$(awk '/^RssAnon/ { print $2 }' /proc/$pid/status)
	echo "$cpu ${sched:--} $vcs $rss $anon"
}

# Pids of this extension's processes (launcher, schedulers, executors).
sj_pids() {
	DB=postgres q "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'scheduled_jobs%' ORDER BY pid"
}

# bench_row_raw WORKLOAD FIGURE MEASURED LIMIT RATIO GOAL VERDICT: preformatted cells.
bench_row_raw() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_ROWS"
	log "row: $1 | $2 | $3 | $4 | $5 | $6 | $7"
}

# ref_backend_start APPNAME: an ordinary backend left idle (psql waiting on a
# fifo), as a reference; sets REF_PID.  ref_backend_stop ends it.
ref_backend_start() {
	REF_FIFO=$BENCH_TMP/fifo.$$
	rm -f "$REF_FIFO"
	mkfifo "$REF_FIFO"
	PGAPPNAME=$1 psql -X -q -d "$DB" <"$REF_FIFO" >/dev/null &
	REF_PSQL=$!
	BENCH_CHILDREN="$BENCH_CHILDREN $REF_PSQL"
	exec 7>"$REF_FIFO"
	wait_for "reference backend" 10 "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = '$1'"
	REF_PID=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'")
}
ref_backend_stop() {
	exec 7>&-
	wait "$REF_PSQL" 2>/dev/null
	rm -f "$REF_FIFO"
}

# The scheduler's firing statement (src/scheduler.c, batch 1000), for EXPLAIN.
FIRE_ALL="WITH fired AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT id FROM scheduled_jobs.jobs WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) pg_catalog.now() AND run_at OPERATOR(pg_catalog.>=) '-infinity'::timestamptz ORDER BY run_at LIMIT 1000 FOR UPDATE SKIP LOCKED)) RETURNING *) INSERT INTO scheduled_jobs.job_history (id, run_at, channel, payload, job_key, max_attempts, timeout_ms, owner, attempts, created_at, state, fired_at, finished_at) SELECT id, run_at, channel, payload, job_key, max_attempts, timeout_ms, owner, attempts OPERATOR(pg_catalog.+) 1, created_at, 'notified', pg_catalog.now(), pg_catalog.clock_timestamp() FROM fired ORDER BY run_at, id RETURNING id, channel, job_key, run_at, payload::pg_catalog.text"
