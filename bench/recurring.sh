#!/bin/bash
# Workload 8: recurring schedules (issue 11).
#
#  1. Lag of occurrences: 1 NOTIFY schedule every '200 ms' and 15 every
#     '1 second' at random instants within the second (20 firings/s), while
#     pgbench schedules one-off NOTIFY jobs 200 ms ahead at 20/s (Poisson),
#     all received by one listener; occurrence lag = receipt - the envelope's
#     "occurrence", one-off lag = receipt - "run_at".  Limit: the one-off
#     jobs of the same seconds; and lag.sh's raw pg_notify, before and after.
#  2. N schedules (100,000, --quick 20,000) on '* * * * *': the time from the
#     whole minute to the receipt of the last occurrence, each occurrence's
#     lag, and, when pg_stat_statements is loaded, the scheduler's statements
#     (fire vs lock + apply of the next occurrence).  Limit: N one-off NOTIFY
#     jobs due at one instant, before and after.  Also create_schedule()
#     calls/s against the same rows written with plain SQL.
#  3. pg_cron (when preloaded: it is when this script runs alone): a
#     '* * * * *' job SELECT pg_notify('cronlag', clock_timestamp()::text)
#     beside a scheduled_jobs schedule on the same cron, both received by a
#     listener running through the whole script; lag = receipt - the whole
#     minute.  Minutes with nothing else at their boundary (the phases above
#     keep clear of boundaries) are the measurement; the minutes of workload
#     2's bursts are reported apart.
. "$(dirname "$0")/common.sh"

# Run alone: this cluster also preloads pg_cron and pg_stat_statements
# (track = all, to see the statements the scheduler runs through SPI).
if [ "${BENCH_CLUSTER_UP:-0}" != 1 ]; then
	BENCH_EXTRA_CONF="shared_preload_libraries = 'scheduled_jobs,pg_cron,pg_stat_statements'
cron.database_name = 'postgres'
cron.use_background_workers = on
pg_stat_statements.track = all"
	if [ ! -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
		sj_install_packages postgresql-15-cron || die "package postgresql-15-cron"
	fi
fi
bench_init

N=100000 BURSTS=2 QUIET=3 LAG_SECS=15 PGB_SECS=10 BULK_FRESH=2000
quick && { N=20000 BURSTS=1 QUIET=1 LAG_SECS=5 PGB_SECS=3 BULK_FRESH=1000; }
W=$BENCH_TMP/recurring
mkdir -p "$W"

bench_db bench_recurring
PRELOAD=$(q "SHOW shared_preload_libraries")
PGSS=0 CRON=0
case $PRELOAD in *pg_stat_statements*) PGSS=1 ;; esac
case $PRELOAD in *pg_cron*) CRON=1 ;; esac
[ "$PGSS" = 1 ] && q "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
qs <<'SQL' >/dev/null || die setup
CREATE SEQUENCE bench.sname;
CREATE TABLE bench.rules_copy (LIKE scheduled_jobs.schedule_rules INCLUDING ALL);
CREATE TABLE bench.jobs_copy (LIKE scheduled_jobs.jobs INCLUDING ALL);
SQL

# Seconds to the next whole minute; clear_of_boundary SECS: if a phase of
# at most SECS would reach the next boundary (or start within 2 s after
# one), wait until 3 s past it, so that boundaries stay quiet for part 3.
to_boundary() { echo $((60 - $(date +%-S))); }
clear_of_boundary() {
	local left
	left=$(to_boundary)
	if [ "$left" -le $(($1 + 2)) ] || [ "$left" -ge 58 ]; then
		log "recurring: waiting ${left}s for the minute to pass"
		sleep $((left % 60 + 3))
	fi
}
stats5() { echo "$1" | cut -d'|' -f"$2"; }
lagcell() { echo "$(fmt "$(stats5 "$1" 2)") / $(fmt "$(stats5 "$1" 3)") / $(fmt "$(stats5 "$1" 4)")"; }
lagratio() { echo "$(ratio "$(stats5 "$1" 2)" "$(stats5 "$2" 2)") / $(ratio "$(stats5 "$1" 3)" "$(stats5 "$2" 3)") / $(ratio "$(stats5 "$1" 4)" "$(stats5 "$2" 4)")"; }

# ------------------------------------------------------------ part 3 setup
# The '* * * * *' pair and its listener, for the whole script; stopped at
# the end by 3000 distinct 'stop' notifications (its count).
if [ "$CRON" = 1 ]; then
	DB=postgres q "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null || die "create extension pg_cron"
	CRON_VERSION=$(DB=postgres q "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'")
	CRON_PKG=$(dpkg-query -W -f='${Version}' postgresql-15-cron 2>/dev/null | sed 's/-[^-]*$//')
	rm -f "$W/cron.ready"
	"$BENCH_LISTENER" "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB" "$W/cron.ready" "$W/cron.tsv" \
		3000 900 cronlag cronlag_sj >"$W/cron.result" &
	CRON_LPID=$!
	BENCH_CHILDREN="$BENCH_CHILDREN $CRON_LPID"
	for i in $(seq 200); do [ -f "$W/cron.ready" ] && break; sleep 0.05; done
	[ -f "$W/cron.ready" ] || die "cron listener not ready"
	DB=postgres q "SELECT cron.schedule_in_database('sj_bench_cronlag', '* * * * *',
		\$\$SELECT pg_notify('cronlag', clock_timestamp()::text)\$\$, '$DB')" >/dev/null || die "cron.schedule"
	q "SELECT scheduled_jobs.create_schedule('cronlag', cron => '* * * * *', channel => 'cronlag_sj')" >/dev/null \
		|| die "create_schedule cronlag"
	CRON_FROM=$(q "SELECT date_trunc('minute', now()) + interval '1 minute'")
	log "recurring: pg_cron $CRON_VERSION ('* * * * *') and the same schedule in scheduled_jobs, from $CRON_FROM"
else
	log "recurring: pg_cron not preloaded in this cluster (run bench/recurring.sh alone): part 3 skipped"
fi

# ------------------------------------------------------------ part 1: lag
cat >"$W/ref.sql" <<'SQL'
SELECT pg_notify('lagref', clock_timestamp()::text);
SQL
cat >"$W/job.sql" <<'SQL'
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '200 ms', 'onelag', NULL, '{}'::jsonb);
SQL
REF_N=$((LAG_SECS * 20 / 3))
ref_run() {
	listen_start "$W/ref$1.tsv" "$REF_N" 60 lagref
	pgbench -n -c 1 -R 20 -t "$REF_N" -f "$W/ref.sql" "$DB" >/dev/null 2>&1 || die "pgbench ref"
	listen_wait || die "ref: listener incomplete"
	REF=$(lag_stats "$W/ref$1.tsv" "payload")
}
clear_of_boundary 8
log "recurring: limit (before), raw pg_notify"
ref_run 1; REF1=$REF
clear_of_boundary $((LAG_SECS + 5))

log "recurring: 16 schedules (20 occurrences/s) beside one-off jobs at 20/s, ${LAG_SECS}s"
listen_start "$W/lag.tsv" 1000000 $((LAG_SECS + 4)) occlag onelag
qs <<SQL >/dev/null || die "create the lag schedules"
SELECT scheduled_jobs.create_schedule('lag200ms', every => '200 ms', channel => 'occlag',
	payload => '{"s": "200ms"}', start_at => date_trunc('second', now()) + interval '2 s');
SELECT scheduled_jobs.create_schedule('lag1s_' || g, every => '1 second', channel => 'occlag',
	payload => '{"s": "1s"}', start_at => date_trunc('second', now()) + interval '2 s' + random() * interval '1 s')
FROM generate_series(1, 15) g;
SQL
sleep 2
pgbench -n -c 1 -R 20 -T "$LAG_SECS" -f "$W/job.sql" "$DB" >/dev/null 2>&1 || die "pgbench one-off jobs"
q "SELECT count(scheduled_jobs.drop_schedule(name)) FROM scheduled_jobs.schedule_rules WHERE name LIKE 'lag%'" >/dev/null
listen_wait >/dev/null 2>&1 # ends at its timeout
awk -F'\t' '$2 == "occlag"' "$W/lag.tsv" >"$W/occ.tsv"
awk -F'\t' '$2 == "occlag" && $3 ~ /"200ms"/' "$W/lag.tsv" >"$W/occ200.tsv"
awk -F'\t' '$2 == "onelag"' "$W/lag.tsv" >"$W/one.tsv"
OCC=$(lag_stats "$W/occ.tsv" "payload::jsonb->>'occurrence'")
OCC200=$(lag_stats "$W/occ200.tsv" "payload::jsonb->>'occurrence'")
ONE=$(lag_stats "$W/one.tsv" "payload::jsonb->>'run_at'")
log "recurring: lag n|p50|p99|max|min: occurrences $OCC; every 200 ms $OCC200; one-off $ONE"
# Where the lag goes, as lag.sh splits it: run_at -> fired_at (the wake-up)
# -> finished_at (the fire statement's clock_timestamp(), before the next
# occurrence is made) -> receipt (for an occurrence: lock + apply, then
# commit and delivery).
lag_split() {
	qs <<SQL
CREATE TEMP TABLE recv (recv_us bigint, channel text, payload text);
\copy recv FROM '$1'
SELECT string_agg(format('%s p50 %s / p99 %s', name, p50, p99), '; ' ORDER BY ord) FROM (
SELECT ord, name, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS p50,
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS p99
FROM (SELECT 1 AS ord, 'run_at → fired_at' AS name, extract(epoch FROM h.fired_at - h.run_at) * 1000 AS ms
	FROM recv r JOIN scheduled_jobs.job_history h ON h.id = (r.payload::jsonb->>'id')::bigint
	UNION ALL
	SELECT 2, '→ finished_at', extract(epoch FROM h.finished_at - h.fired_at) * 1000
	FROM recv r JOIN scheduled_jobs.job_history h ON h.id = (r.payload::jsonb->>'id')::bigint
	UNION ALL
	SELECT 3, '→ receipt', r.recv_us / 1000.0 - extract(epoch FROM h.finished_at) * 1000
	FROM recv r JOIN scheduled_jobs.job_history h ON h.id = (r.payload::jsonb->>'id')::bigint) s
GROUP BY ord, name) t;
SQL
}
SPLIT_OCC=$(lag_split "$W/occ.tsv")
SPLIT_ONE=$(lag_split "$W/one.tsv")
log "recurring: lag split, ms: occurrences: $SPLIT_OCC; one-off: $SPLIT_ONE"

clear_of_boundary 8
log "recurring: limit (after), raw pg_notify"
ref_run 2; REF2=$REF
for i in 2 3 4 5; do RAW[$i]=$(mean "$(stats5 "$REF1" $i)" "$(stats5 "$REF2" $i)"); done
RAWS="x|${RAW[2]}|${RAW[3]}|${RAW[4]}|${RAW[5]}"

occ_row() {
	bench_row_raw "$1 (n=$(stats5 "$2" 1), min $(fmt "$(stats5 "$2" 5)"))" \
		"lag ms p50 / p99 / max (limit: one-off NOTIFY jobs, same seconds, n=$(stats5 "$ONE" 1))" \
		"$(lagcell "$2")" "$(lagcell "$ONE")" "$(lagratio "$2" "$ONE")" \
		"never early, p50 ≤ one-off + 0.1" \
		"$(verdict "$(stats5 "$2" 5) >= 0 && $(stats5 "$2" 2) <= $(stats5 "$ONE" 2) + 0.1")"
}
occ_row "recurring: lag, 16 NOTIFY schedules (every 200 ms + 15 × every 1 s)" "$OCC"
occ_row "recurring: lag, the every '200 ms' schedule" "$OCC200"
bench_row_raw "recurring: lag, the one-off jobs beside them (n=$(stats5 "$ONE" 1))" \
	"lag ms p50 / p99 / max (limit: raw pg_notify, before and after)" \
	"$(lagcell "$ONE")" "$(lagcell "$RAWS")" "$(lagratio "$ONE" "$RAWS")" "information (lag.sh has the goal)" "-"

# ------------------------------------------------------------ part 2a: create_schedule()
# The plain SQL that writes what create_schedule() writes: the rule, its
# first occurrence as a job, the rule pointing at it.
cat >"$W/create.sql" <<'SQL'
SELECT scheduled_jobs.create_schedule('c' || nextval('bench.sname'), cron => '* * * * *', channel => 'created',
	start_at => now() + interval '1 day');
SQL
cat >"$W/create_plain.sql" <<'SQL'
BEGIN;
INSERT INTO bench.rules_copy (name, owner, cron, time_zone, start_at, channel, payload, max_attempts,
	catch_up, catch_up_limit, overlap)
VALUES ('c' || nextval('bench.sname'), 'postgres', '* * * * *', current_setting('TimeZone'), now() + interval '1 day',
	'created', '{}', 3, 'latest', 100, 'wait') RETURNING id AS rid \gset
INSERT INTO bench.jobs_copy (run_at, channel, payload, owner, schedule_id, occurrence_at)
VALUES (date_trunc('minute', now()) + interval '1 day 1 minute', 'created', '{}', 'postgres', :rid,
	date_trunc('minute', now()) + interval '1 day 1 minute') RETURNING id AS jid \gset
UPDATE bench.rules_copy SET job_id = :jid, next_at = date_trunc('minute', now()) + interval '1 day 1 minute' WHERE id = :rid;
COMMIT;
SQL
plain_bulk() {
	q_sum_ms "BEGIN;
INSERT INTO bench.rules_copy (name, owner, cron, time_zone, start_at, channel, payload, max_attempts,
	catch_up, catch_up_limit, overlap)
SELECT 'p$2_' || g, 'postgres', '* * * * *', current_setting('TimeZone'), now() + interval '1 day', 'created', '{}', 3,
	'latest', 100, 'wait' FROM generate_series(1, $1) g;
WITH j AS (INSERT INTO bench.jobs_copy (run_at, channel, payload, owner, schedule_id, occurrence_at)
	SELECT date_trunc('minute', now()) + interval '1 day 1 minute', 'created', '{}', 'postgres', id,
		date_trunc('minute', now()) + interval '1 day 1 minute'
	FROM bench.rules_copy WHERE name LIKE 'p$2\\_%' RETURNING id, schedule_id)
UPDATE bench.rules_copy r SET job_id = j.id, next_at = date_trunc('minute', now()) + interval '1 day 1 minute'
FROM j WHERE r.id = j.schedule_id;
COMMIT;"
}
# the milliseconds of all the statements of $1 (psql's \timing, summed)
q_sum_ms() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" <<EOF | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{ s += $1 } END { print s }'
\\timing on
$1
EOF
}
pgb_tps() {
	local out
	out=$(pgbench -n -c 1 -T "$PGB_SECS" -f "$1" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench $1"; }
	echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

# schedules made by a session that starts with (almost) no schedules: its
# cached plans are those of a nearly empty table
clear_of_boundary 30
log "recurring: create_schedule() × $BULK_FRESH in one SELECT, a fresh session, nearly no schedules yet"
MS=$(q_time_ms "SELECT count(scheduled_jobs.create_schedule('f' || g, cron => '* * * * *', channel => 'created',
	start_at => now() + interval '1 day')) FROM generate_series(1, $BULK_FRESH) g")
FRESH_RATE=$(calc "$BULK_FRESH * 1000 / $MS")
MS=$(plain_bulk "$BULK_FRESH" 1)
FRESH_LIM=$(calc "$BULK_FRESH * 1000 / $MS")
log "recurring: create_schedule() from 1 pgbench client, ${PGB_SECS}s; plain SQL the same"
clear_of_boundary $((PGB_SECS + 2)); C1=$(pgb_tps "$W/create.sql")
clear_of_boundary $((PGB_SECS + 2)); P1=$(pgb_tps "$W/create_plain.sql")
clear_of_boundary $((PGB_SECS + 2)); C1b=$(pgb_tps "$W/create.sql")
clear_of_boundary $((PGB_SECS + 2)); P1b=$(pgb_tps "$W/create_plain.sql")
bench_row "recurring: create_schedule(), 1 pgbench client" "calls/s (limit: the same rows by plain INSERT + UPDATE, one transaction)" \
	"$(mean "$C1" "$C1b")" "$(mean "$P1" "$P1b")" "information (schedule_job's: ≥ 0.7×)" "-"
bench_row "recurring: create_schedule() × $BULK_FRESH in one SELECT, session started with no schedules" \
	"calls/s (limit: the same rows by INSERT … SELECT generate_series + UPDATE)" \
	"$FRESH_RATE" "$FRESH_LIM" "information (schedule_job's: ≥ 0.7×)" "-"

# ------------------------------------------------------------ part 2b: one-off burst (limit)
# pg_stat_statements: the scheduler's statements over a phase
pgss_reset() { [ "$PGSS" = 1 ] && q "SELECT pg_stat_statements_reset()" >/dev/null; return 0; }
# "fire_ms fire_calls lock_ms apply_ms" of the statements of src/fire.c
# (fire_sql_0_4) and src/occurrence.c (lock_sql, apply_sql)
pgss_read() {
	[ "$PGSS" = 1 ] || { echo "- - - -"; return; }
	q "SELECT coalesce(round(sum(total_exec_time) FILTER (WHERE query LIKE 'WITH due AS (%')::numeric, 1), 0),
		coalesce(sum(calls) FILTER (WHERE query LIKE 'WITH due AS (%'), 0),
		coalesce(round(sum(total_exec_time) FILTER (WHERE query LIKE 'SELECT id, job_id, name, cron, every%')::numeric, 1), 0),
		coalesce(round(sum(total_exec_time) FILTER (WHERE query LIKE 'WITH u AS MATERIALIZED (SELECT u.*, CASE WHEN u.next_at%')::numeric, 1), 0)
	FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())" | tr '|' ' '
}
# burst_stats FILE REF: "n|p50|p99|max|min|drain_ms" where drain is the last
# receipt after the instant the jobs were due (per instant, summed)
burst_stats() {
	qs <<EOF
CREATE TEMP TABLE recv (recv_us bigint, channel text, payload text);
\\copy recv FROM '$1'
WITH l AS (SELECT (payload::jsonb->>'$2')::timestamptz AS due,
	(recv_us - extract(epoch FROM (payload::jsonb->>'$2')::timestamptz) * 1000000) / 1000.0 AS lag FROM recv),
d AS (SELECT max(lag) AS drain FROM l GROUP BY due)
SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag)::numeric, 3),
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)::numeric, 3),
	round(max(lag), 3), round(min(lag), 3), (SELECT round(sum(drain), 1) FROM d) FROM l;
EOF
}
oneoff_burst() {
	clear_of_boundary 20
	DB=postgres q "CHECKPOINT" >/dev/null
	listen_start "$W/oneburst$1.tsv" "$N" 60 oneburst
	local at
	at=$(q "SELECT clock_timestamp() + interval '5 s'")
	q "SELECT count(scheduled_jobs.schedule_job('$at', 'oneburst', NULL, '{}'::jsonb)) FROM generate_series(1, $N)" >/dev/null
	pgss_reset
	listen_wait || die "one-off burst: listener incomplete"
	ONEB=$(burst_stats "$W/oneburst$1.tsv" run_at)
	read -r ONEB_PGSS <<<"$(pgss_read)"
	log "recurring: one-off burst $1: n|p50|p99|max|min|drain $ONEB; pg_stat_statements fire ms, calls, lock ms, apply ms: $ONEB_PGSS"
}
log "recurring: limit (before): $N one-off NOTIFY jobs due at one instant"
oneoff_burst 1; ONEB1=$ONEB; ONEB1_PGSS=$ONEB_PGSS

# ------------------------------------------------------------ part 3: quiet minutes
if [ "$CRON" = 1 ]; then
	want=$QUIET
	until [ "$(q "SELECT count(*) >= $want FROM generate_series('$CRON_FROM'::timestamptz, now() - interval '3 s', '1 minute')")" = t ]; do
		sleep 1
	done
	CRON_QUIET_UNTIL=$(q "SELECT now()")
	log "recurring: $QUIET quiet minute(s) of pg_cron beside scheduled_jobs, until $CRON_QUIET_UNTIL"
fi

# ------------------------------------------------------------ part 2c: the N schedules
# The rest of the N schedules, in one SELECT from a session that starts with
# the worker's planner settings (enable_seqscan, enable_bitmapscan off; see
# the notes), first occurrence at the whole minute T after they are made.
q "ANALYZE scheduled_jobs.schedule_rules; ANALYZE scheduled_jobs.jobs" >/dev/null
REST=$N
# made at about 1,000/s (the notes of the first runs), and 10 s to spare
EST=$((REST / 1000 + 10))
T=$(q "SELECT date_trunc('minute', now() + interval '$EST s') + interval '1 minute'")
log "recurring: create_schedule() × $REST in one SELECT (worker's planner settings), first occurrence at $T"
MS=$(q_time_ms "SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(scheduled_jobs.create_schedule('b' || g, cron => '* * * * *', channel => 'burst',
	start_at => '$T')) FROM generate_series(1, $N) g")
REST_RATE=$(calc "$REST * 1000 / $MS")
MS=$(plain_bulk "$REST" 2)
REST_LIM=$(calc "$REST * 1000 / $MS")
bench_row "recurring: create_schedule() × $REST in one SELECT, the worker's planner settings" \
	"calls/s (limit: the same rows by INSERT … SELECT generate_series + UPDATE)" \
	"$REST_RATE" "$REST_LIM" "information (schedule_job's: ≥ 0.7×)" "-"
[ "$(q "SELECT now() < '$T'::timestamptz - interval '3 s'")" = t ] || log "recurring: the schedules were made too late for $T: its lag counts the wait"
q "VACUUM ANALYZE scheduled_jobs.jobs; VACUUM ANALYZE scheduled_jobs.schedule_rules" >/dev/null
DB=postgres q "CHECKPOINT" >/dev/null
[ "$(q "SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'burst' AND run_at = '$T'")" = "$N" ] \
	|| die "not $N occurrences pending at $T"

log "recurring: $N schedules '* * * * *', $BURSTS minute(s) from $T"
left=$(q "SELECT extract(epoch FROM '$T'::timestamptz - now())::int")
listen_start "$W/burst.tsv" $((N * BURSTS)) $((left + 60 * BURSTS + 30)) burst
sleep $((left > 5 ? left - 5 : 0))
pgss_reset
listen_wait || log "recurring: not every occurrence arrived"
read -r OCCB_PGSS <<<"$(pgss_read)"
OCCB=$(burst_stats "$W/burst.tsv" occurrence)
# every minute's own figures, for the notes
PER_MIN=$(qs <<EOF
CREATE TEMP TABLE recv (recv_us bigint, channel text, payload text);
\\copy recv FROM '$W/burst.tsv'
SELECT string_agg(format('%s: %s received, last %s ms after the minute, p50 %s / p99 %s ms', to_char(o, 'HH24:MI'), n, d, p50, p99), '; ' ORDER BY o) FROM (
	SELECT o, count(*) AS n, round(max(lag), 1) AS d, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag)::numeric, 1) AS p50,
		round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)::numeric, 1) AS p99
	FROM (SELECT (payload::jsonb->>'occurrence')::timestamptz AS o,
		(recv_us - extract(epoch FROM (payload::jsonb->>'occurrence')::timestamptz) * 1000000) / 1000.0 AS lag FROM recv) s
	GROUP BY o) t;
EOF
)
MISSED=$(q "SELECT coalesce(sum(skipped), 0) FROM scheduled_jobs.schedule_rules WHERE channel = 'burst'")
log "recurring: bursts n|p50|p99|max|min|drain $OCCB; $PER_MIN; skipped $MISSED; pg_stat_statements $OCCB_PGSS"

log "recurring: limit (after): $N one-off NOTIFY jobs due at one instant (between two minutes of the schedules)"
oneoff_burst 2; ONEB2=$ONEB; ONEB2_PGSS=$ONEB_PGSS

# The floor of materialising: the INSERTs of the next occurrences alone, no
# rule read or written, $N rows shaped as occurrence.c's apply_sql writes
# them, into a copy of jobs with all its indexes, one statement per batch of
# 1000 (the scheduler's batch_size), as the firing writes them, prepared.
log "recurring: the floor of materialising: $N occurrence rows INSERTed into a copy of jobs, 1000 per statement"
q "DROP TABLE IF EXISTS bench.jobs_copy; CREATE TABLE bench.jobs_copy (LIKE scheduled_jobs.jobs INCLUDING ALL)" >/dev/null \
	|| die "jobs_copy"
{
	echo "PREPARE floor_ins (int8) AS INSERT INTO bench.jobs_copy (id, run_at, channel, payload, max_attempts,
		owner, schedule_id, occurrence_at)
	OVERRIDING SYSTEM VALUE SELECT g, now() + interval '1 minute', 'burst', '{}', 3, 10, g, now() + interval '1 minute'
	FROM generate_series(\$1 * 1000 + 1, \$1 * 1000 + 1000) g;"
	echo '\timing on'
	for ((k = 0; k < N / 1000; k++)); do echo "EXECUTE floor_ins($k);"; done
} >"$W/floor.sql"
FLOOR_MS=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -f "$W/floor.sql" |
	sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{ s += $1 } END { printf "%.1f", s }')
[ -n "$FLOOR_MS" ] || die "the floor of materialising"
q "DROP TABLE bench.jobs_copy" >/dev/null

# rows of part 2
b() { echo "$1" | cut -d'|' -f"$2"; }
LIM_P50=$(mean "$(b "$ONEB1" 2)" "$(b "$ONEB2" 2)")
LIM_P99=$(mean "$(b "$ONEB1" 3)" "$(b "$ONEB2" 3)")
LIM_MAX=$(mean "$(b "$ONEB1" 4)" "$(b "$ONEB2" 4)")
LIM_RATE=$(mean "$(calc "$N * 1000 / $(b "$ONEB1" 6)")" "$(calc "$N * 1000 / $(b "$ONEB2" 6)")")
OCC_RATE=$(calc "$(b "$OCCB" 1) * 1000 / $(b "$OCCB" 6)")
LIMS="x|$LIM_P50|$LIM_P99|$LIM_MAX"
bench_row_raw "recurring: $N schedules '* * * * *', lag at the minute (n=$(b "$OCCB" 1), $BURSTS minute(s))" \
	"lag ms p50 / p99 / max (limit: $N one-off NOTIFY jobs due at one instant, before and after)" \
	"$(lagcell "$OCCB")" "$(lagcell "$LIMS")" "$(lagratio "$OCCB" "$LIMS")" \
	"all fired, p99 ≤ 2× one-off" \
	"$(verdict "$(b "$OCCB" 1) == $N * $BURSTS && $(b "$OCCB" 3) <= 2 * $LIM_P99")"
bench_row "recurring: $N schedules '* * * * *', firing throughput" \
	"occurrences/s, the minute to the last receipt (limit: one-off jobs/s, the same way); 1 − ratio = share of materialising" \
	"$OCC_RATE" "$LIM_RATE" "≥ 0.8× (materialising ≤ 20%), keeps up (≥ $N/60 s)" \
	"$(verdict "$OCC_RATE >= 0.8 * $LIM_RATE && $OCC_RATE * 60 >= $N")"
if [ "$PGSS" = 1 ]; then
	read -r f_ms f_calls l_ms a_ms <<<"$OCCB_PGSS"
	read -r f1_ms f1_calls l1 a1 <<<"$ONEB1_PGSS"
	read -r f2_ms f2_calls l2 a2 <<<"$ONEB2_PGSS"
	share=$(calc "($l_ms + $a_ms) / ($f_ms + $l_ms + $a_ms)")
	bench_row_raw "recurring: $N schedules '* * * * *', the scheduler's statements (pg_stat_statements)" \
		"lock_sql + apply_sql ms / (fire_sql_0_4 + lock + apply) ms, over the minutes (limit: fire_sql_0_4 ms of the one-off bursts, mean)" \
		"$(fmt "$l_ms") + $(fmt "$a_ms") / $(fmt "$(calc "$f_ms + $l_ms + $a_ms")") = $(calc "$share * 100" | awk '{ printf "%.1f%%", $1 }')" \
		"fire $(fmt "$(mean "$f1_ms" "$f2_ms")") per $N (occurrences: $(fmt "$(calc "$f_ms / $BURSTS")"))" \
		"$(ratio "$(calc "($f_ms + $l_ms + $a_ms) / $BURSTS")" "$(mean "$f1_ms" "$f2_ms")")" \
		"materialising ≤ 20% of the firing (its statements found)" "$(verdict "$share <= 0.2 && $l_ms > 0 && $a_ms > 0")"
	fire1=$(mean "$f1_ms" "$f2_ms")
	bench_row_raw "recurring: the floor of materialising $N occurrences" \
		"ms of their INSERTs alone, no rule read or written, into a copy of jobs with its indexes, 1000 per statement; share = floor / (fire + floor) (limit: fire_sql_0_4 ms per $N, one-off bursts)" \
		"$(fmt "$FLOOR_MS") ms, share $(calc "$FLOOR_MS / ($fire1 + $FLOOR_MS) * 100" | awk '{ printf "%.1f%%", $1 }')" \
		"$(fmt "$fire1") ms" "$(ratio "$FLOOR_MS" "$fire1")" \
		"information: what materialising costs at the least" "-"
fi

# the samples of parts 1 and 2, for the plots
lag_samples "$W/occ.tsv" "payload::jsonb->>'occurrence'" | raw_samples recurring_lag_occ
lag_samples "$W/occ200.tsv" "payload::jsonb->>'occurrence'" | raw_samples recurring_lag_occ200
lag_samples "$W/one.tsv" "payload::jsonb->>'run_at'" | raw_samples recurring_lag_one
raw_plot lag recurring_lag "16 NOTIFY schedules (every 200 ms + 15 × every 1 s) beside one-off jobs 200 ms ahead at 20/s: receipt − occurrence"
raw_series recurring_lag sj recurring_lag_occ "scheduled_jobs occurrences, all 16 schedules"
raw_series recurring_lag sj recurring_lag_occ200 "scheduled_jobs occurrences, the every '200 ms' schedule"
raw_series recurring_lag limit recurring_lag_one "limit: one-off NOTIFY jobs, same seconds"
lag_samples "$W/burst.tsv" "payload::jsonb->>'occurrence'" | raw_samples recurring_burst_occ
{ lag_samples "$W/oneburst1.tsv" "payload::jsonb->>'run_at'"; lag_samples "$W/oneburst2.tsv" "payload::jsonb->>'run_at'"; } |
	raw_samples recurring_burst_one
raw_plot lag recurring_burst_lag "$N schedules '* * * * *': receipt − the minute ($BURSTS minute(s))"
raw_series recurring_burst_lag sj recurring_burst_occ "scheduled_jobs occurrences"
raw_series recurring_burst_lag limit recurring_burst_one "limit: $N one-off NOTIFY jobs due at one instant (before and after)"
# throughput: the first minute, and each one-off burst, from its due instant
awk '{ print $1 / 1000 }' "$BENCH_RAW/recurring_burst_occ.dat" | sort -g | head -n "$N" | raw_samples recurring_burst_tput_occ
lag_samples "$W/oneburst1.tsv" "payload::jsonb->>'run_at'" | awk '{ print $1 / 1000 }' | raw_samples recurring_burst_tput_one1
lag_samples "$W/oneburst2.tsv" "payload::jsonb->>'run_at'" | awk '{ print $1 / 1000 }' | raw_samples recurring_burst_tput_one2
raw_plot tput recurring_burst "$N schedules '* * * * *': occurrences received per second after the minute" \
	"the whole minute for the occurrences, the due instant for the one-off jobs"
raw_series recurring_burst sj recurring_burst_tput_occ "scheduled_jobs occurrences (the first minute)"
raw_series recurring_burst limit recurring_burst_tput_one1 "limit: $N one-off NOTIFY jobs due at one instant (before)"
raw_series recurring_burst limit recurring_burst_tput_one2 "limit: the same (after)"

# ------------------------------------------------------------ part 3: rows
if [ "$CRON" = 1 ]; then
	DB=postgres q "SELECT cron.unschedule('sj_bench_cronlag')" >/dev/null
	q "SELECT scheduled_jobs.drop_schedule('cronlag')" >/dev/null
	q "SELECT pg_notify('cronlag', 'stop ' || g) FROM generate_series(1, 3000) g" >/dev/null
	wait "$CRON_LPID"
	CRON_STATS() {
		# $1 channel, $2 condition on the minute: "n|p50|p99|max|min"
		qs <<EOF
CREATE TEMP TABLE recv (recv_us bigint, channel text, payload text);
\\copy recv FROM '$W/cron.tsv'
SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag)::numeric, 3),
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)::numeric, 3), round(max(lag), 3), round(min(lag), 3)
FROM (SELECT (recv_us - extract(epoch FROM m) * 1000000) / 1000.0 AS lag, m
	FROM (SELECT recv_us, date_trunc('minute', to_timestamp(recv_us / 1e6)) AS m FROM recv
		WHERE channel = '$1' AND payload NOT LIKE 'stop%') r) s
WHERE m >= '$CRON_FROM' AND $2;
EOF
	}
	QC="m < '$CRON_QUIET_UNTIL'"
	LC="m >= '$CRON_QUIET_UNTIL'"
	SJQ=$(CRON_STATS cronlag_sj "$QC") PCQ=$(CRON_STATS cronlag "$QC")
	SJL=$(CRON_STATS cronlag_sj "$LC") PCL=$(CRON_STATS cronlag "$LC")
	log "recurring: '* * * * *' quiet minutes: scheduled_jobs $SJQ, pg_cron $PCQ; later minutes: scheduled_jobs $SJL, pg_cron $PCL"
	bench_row_raw "recurring: '* * * * *' beside pg_cron ${CRON_PKG:-$CRON_VERSION}, quiet minutes (n=$(stats5 "$SJQ" 1) / $(stats5 "$PCQ" 1))" \
		"NOTIFY receipt after the whole minute, ms p50 / p99 / max (limit: pg_cron's job pg_notify(), same minutes)" \
		"$(lagcell "$SJQ")" "$(lagcell "$PCQ")" "$(lagratio "$SJQ" "$PCQ")" "ahead of pg_cron (p50 and max lower)" \
		"$(verdict "$(stats5 "$SJQ" 1) >= 1 && $(stats5 "$SJQ" 2) < $(stats5 "$PCQ" 2) && $(stats5 "$SJQ" 4) < $(stats5 "$PCQ" 4)")"
	bench_row_raw "recurring: '* * * * *' beside pg_cron, minutes of the $N-schedule bursts and after (n=$(stats5 "$SJL" 1) / $(stats5 "$PCL" 1))" \
		"as above (scheduled_jobs' schedule is one of the $((N + 1)) due at the minute)" \
		"$(lagcell "$SJL")" "$(lagcell "$PCL")" "$(lagratio "$SJL" "$PCL")" "information" "-"
fi

bench_note <<EOF

Recurring schedules (recurring.sh), where the lag goes (ms): occurrences: $SPLIT_OCC; one-off jobs: $SPLIT_ONE.
$N schedules '* * * * *' per minute: $PER_MIN; occurrences skipped (catch-up) $MISSED.
One-off bursts of $N (n|p50|p99|max|min|drain ms): before $ONEB1, after $ONEB2.
pg_stat_statements (fire_sql_0_4 ms, its calls, lock_sql ms, apply_sql ms): schedules $OCCB_PGSS; one-off before $ONEB1_PGSS, after $ONEB2_PGSS.
$BULK_FRESH schedules are made by one SELECT in a session that starts with no schedules: the plans of
occurrence.c's lock_sql and apply_sql that it caches at its first calls are those of a nearly empty
schedule_rules (sequential scans) and stay, so each call reads every rule made before it. The $N
are made with enable_seqscan and enable_bitmapscan off, the worker's settings.
EOF

bench_db_drop
# run alone: the report, as run.sh writes its own
bench_report "recurring schedules" "" "pg_cron ${CRON_PKG:-${CRON_VERSION:-not loaded}}" <<EOF
Cluster: fsync on, synchronous_commit on, shared_buffers 256MB, scheduled_jobs.max_executors 4, batch_size $(DB=postgres q 'SHOW scheduled_jobs.batch_size'); shared_preload_libraries '$PRELOAD' $([ "$PGSS" = 1 ] && echo '(pg_stat_statements.track = all)').
Every limit is measured in the same run; ratio = measured / limit. See bench/README.md, workload 8.
EOF
bench_finish
