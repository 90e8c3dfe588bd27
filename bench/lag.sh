#!/bin/bash
# Workload 1: firing lag.  NOTIFY jobs scheduled 200 ms ahead at Poisson
# times (pgbench --rate), received by a LISTEN client that timestamps
# receipt; jobs scheduled 1-3 minutes ahead (the scheduler's sleep path: 2-10 s
# with --quick), 100 of them, so that their p99 means something; procedure
# jobs, whose procedure records clock_timestamp() - run_at (run_at passed in
# the payload).  Limit: a raw pg_notify(clock_timestamp()) received by the
# same client, measured before and after.  A second, durable limit: the same
# NOTIFY sent by a statement that also deletes a row, so that its commit
# flushes WAL as any firing that records what it fired must.
#
# Env: PENDING=N preloads N future jobs (workload 5), LABEL prefixes the rows.
. "$(dirname "$0")/common.sh"
bench_init

N=300 REF_N=100 SLEEP_N=100 SLEEP_MIN=60 SLEEP_SPAN=120
quick && { N=100 REF_N=50 SLEEP_MIN=2 SLEEP_SPAN=8; }
LABEL=${LABEL:-}
PENDING=${PENDING:-0}
W=$BENCH_TMP/lag
mkdir -p "$W"

bench_db bench_lag
bench_preload "$PENDING"
qs <<'SQL' >/dev/null || die setup
CREATE TABLE bench.proc_lag (lag_ms numeric, at timestamptz DEFAULT clock_timestamp());
CREATE TABLE bench.lagq (id bigserial PRIMARY KEY);
INSERT INTO bench.lagq SELECT FROM generate_series(1, 1000);
CREATE PROCEDURE bench.record_lag(p jsonb) LANGUAGE sql
AS $$ INSERT INTO bench.proc_lag (lag_ms) VALUES
	(extract(epoch FROM clock_timestamp() - (p->>'run_at')::timestamptz) * 1000) $$;
SQL

cat >"$W/ref.sql" <<'SQL'
SELECT pg_notify('lagref', clock_timestamp()::text);
SQL
cat >"$W/dref.sql" <<'SQL'
WITH d AS (DELETE FROM bench.lagq WHERE id = (SELECT min(id) FROM bench.lagq) RETURNING id)
SELECT pg_notify('lagdref', clock_timestamp()::text) FROM d;
SQL
cat >"$W/job.sql" <<'SQL'
SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '200 ms', 'lagjob', NULL, '{}'::jsonb);
SQL
cat >"$W/pjob.sql" <<'SQL'
SELECT scheduled_jobs.schedule_job(t, NULL, 'bench.record_lag', jsonb_build_object('run_at', t))
FROM (SELECT clock_timestamp() + interval '200 ms' AS t) s;
SQL

# The limit: raw NOTIFY from an autocommitted statement to the listener.
ref_run() {
	listen_start "$W/ref$1.tsv" "$REF_N" 60 lagref
	pgbench -n -c 1 -R 20 -t "$REF_N" -f "$W/ref.sql" "$DB" >/dev/null 2>&1 || die "pgbench ref"
	listen_wait || die "ref: listener incomplete"
	REF=$(lag_stats "$W/ref$1.tsv" "payload")
}

# The durable limit: the same, from a statement that writes (a WAL flush at commit).
dref_run() {
	listen_start "$W/dref$1.tsv" "$REF_N" 60 lagdref
	pgbench -n -c 1 -R 20 -t "$REF_N" -f "$W/dref.sql" "$DB" >/dev/null 2>&1 || die "pgbench durable ref"
	listen_wait || die "durable ref: listener incomplete"
	DREF=$(lag_stats "$W/dref$1.tsv" "payload")
}

log "lag: limit (before)"
ref_run 1; REF1=$REF
dref_run 1; DREF1=$DREF

log "lag: $N NOTIFY jobs 200 ms ahead, Poisson 20/s"
listen_start "$W/jobs.tsv" "$N" $((N / 20 + 30)) lagjob
pgbench -n -c 1 -R 20 -t "$N" -f "$W/job.sql" "$DB" >/dev/null 2>&1 || die "pgbench jobs"
listen_wait || die "listener incomplete"
JOBS=$(lag_stats "$W/jobs.tsv" "payload::jsonb->>'run_at'")
# Where the lag goes: run_at -> fired_at (the firing transaction's start:
# the wake-up) -> finished_at (the fire statement) -> receipt (commit, WAL
# flush, delivery).
SPLIT=$(qs <<SQL
CREATE TEMP TABLE recv (recv_us bigint, channel text, payload text);
\copy recv FROM '$W/jobs.tsv'
SELECT string_agg(format('%s p50 %s / p99 %s', name, p50, p99), '; ' ORDER BY ord) FROM (
SELECT ord, name, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS p50,
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS p99
FROM (SELECT 1 AS ord, 'run_at → fired_at (wake-up)' AS name, extract(epoch FROM h.fired_at - h.run_at) * 1000 AS ms
	FROM recv r JOIN scheduled_jobs.job_history h ON h.id = (r.payload::jsonb->>'id')::bigint
	UNION ALL
	SELECT 2, 'fired_at → finished_at (fire statement)', extract(epoch FROM h.finished_at - h.fired_at) * 1000
	FROM recv r JOIN scheduled_jobs.job_history h ON h.id = (r.payload::jsonb->>'id')::bigint
	UNION ALL
	SELECT 3, 'finished_at → receipt (commit, delivery)', r.recv_us / 1000.0 - extract(epoch FROM h.finished_at) * 1000
	FROM recv r JOIN scheduled_jobs.job_history h ON h.id = (r.payload::jsonb->>'id')::bigint) s
GROUP BY ord, name) t;
SQL
)
log "lag split, ms: $SPLIT"
printf '\n%sNOTIFY lag, where it goes (ms): %s\n' "$LABEL" "$SPLIT" | bench_note

log "lag: $N NOTIFY jobs 200 ms ahead, Poisson 20/s, on an acknowledged channel"
q "SELECT scheduled_jobs.configure_channel('lagack', '1 hour')" >/dev/null || die "configure"
sed 's/lagjob/lagack/' "$W/job.sql" >"$W/ackjob.sql"
listen_start "$W/acks.tsv" "$N" $((N / 20 + 30)) lagack
pgbench -n -c 1 -R 20 -t "$N" -f "$W/ackjob.sql" "$DB" >/dev/null 2>&1 || die "pgbench acknowledged jobs"
listen_wait || die "listener incomplete (acknowledged)"
ACKS=$(lag_stats "$W/acks.tsv" "payload::jsonb->>'run_at'")

log "lag: $N procedure jobs 200 ms ahead, Poisson 20/s"
pgbench -n -c 1 -R 20 -t "$N" -f "$W/pjob.sql" "$DB" >/dev/null 2>&1 || die "pgbench procedure jobs"
wait_for "procedure jobs" 60 "SELECT count(*) >= $N FROM bench.proc_lag"
PROCS=$(q "SELECT count(*),
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_ms)::numeric, 3),
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms)::numeric, 3),
	round(max(lag_ms), 3), round(min(lag_ms), 3) FROM bench.proc_lag")

if [ -z "$LABEL" ]; then
	log "lag: $SLEEP_N NOTIFY jobs ${SLEEP_MIN}-$((SLEEP_MIN + SLEEP_SPAN)) s ahead (sleep path)"
	listen_start "$W/sleep.tsv" "$SLEEP_N" $((SLEEP_MIN + SLEEP_SPAN + 30)) lagsleep
	q "SELECT scheduled_jobs.schedule_job(now() + make_interval(secs => $SLEEP_MIN + random() * $SLEEP_SPAN), 'lagsleep', NULL, '{}'::jsonb)
	   FROM generate_series(1, $SLEEP_N)" >/dev/null
	listen_wait || die "listener incomplete"
	SLEEP=$(lag_stats "$W/sleep.tsv" "payload::jsonb->>'run_at'")
fi

log "lag: limit (after)"
ref_run 2; REF2=$REF
dref_run 2; DREF2=$DREF

# Rows: "n|p50|p99|max|min" -> "p50 / p99 / max (min)" against the limit's mean.
f() { echo "$1" | cut -d'|' -f"$2"; }
LIM=() DLIM=()
for i in 2 3 4 5; do
	LIM[$i]=$(mean "$(f "$REF1" $i)" "$(f "$REF2" $i)")
	DLIM[$i]=$(mean "$(f "$DREF1" $i)" "$(f "$DREF2" $i)")
done
# lag_row WORKLOAD STATS [durable]: a row against the raw limit, or with
# "durable" against the durable one (what a firing costs beyond the WAL
# flush that recording it needs).
lag_row() {
	local w=$1 s=$2 m l r what="raw pg_notify"
	local -n lim=LIM
	if [ "${3:-}" = durable ]; then
		local -n lim=DLIM
		what="pg_notify from a statement that writes"
	fi
	m="$(fmt "$(f "$s" 2)") / $(fmt "$(f "$s" 3)") / $(fmt "$(f "$s" 4)") (min $(fmt "$(f "$s" 5)"))"
	l="$(fmt "${lim[2]}") / $(fmt "${lim[3]}") / $(fmt "${lim[4]}") (min $(fmt "${lim[5]}"))"
	r="$(ratio "$(f "$s" 2)" "${lim[2]}") / $(ratio "$(f "$s" 3)" "${lim[3]}") / $(ratio "$(f "$s" 4)" "${lim[4]}")"
	# issue 5: never early; p50 within 0.5 ms and p99 within 1 ms of the limit's
	bench_row_raw "$w (n=$(f "$s" 1))" "lag ms p50 / p99 / max (limit: $what)" "$m" "$l" "$r" \
		"min ≥ 0, p50 ≤ limit + 0.5, p99 ≤ limit + 1" \
		"$(verdict "$(f "$s" 5) >= 0 && $(f "$s" 2) <= ${lim[2]} + 0.5 && $(f "$s" 3) <= ${lim[3]} + 1")"
}
lag_row "${LABEL}lag: NOTIFY jobs 200 ms ahead, 20/s" "$JOBS"
lag_row "${LABEL}lag: NOTIFY jobs 200 ms ahead, 20/s, vs durable limit" "$JOBS" durable
[ -z "$LABEL" ] && lag_row "lag: NOTIFY jobs ${SLEEP_MIN}-$((SLEEP_MIN + SLEEP_SPAN)) s ahead (sleep path)" "$SLEEP"
lag_row "${LABEL}lag: procedure jobs 200 ms ahead, to CALL start" "$PROCS"
# issue 10: the first delivery on an acknowledged channel within 0.1 ms
# (p50) of a plain channel's, measured in the same run
bench_row_raw "${LABEL}lag: acknowledged channel, first delivery (n=$(f "$ACKS" 1))" \
	"lag ms p50 / p99 (limit: plain NOTIFY jobs, same run)" \
	"$(fmt "$(f "$ACKS" 2)") / $(fmt "$(f "$ACKS" 3)")" "$(fmt "$(f "$JOBS" 2)") / $(fmt "$(f "$JOBS" 3)")" \
	"$(ratio "$(f "$ACKS" 2)" "$(f "$JOBS" 2)") / $(ratio "$(f "$ACKS" 3)" "$(f "$JOBS" 3)")" \
	"p50 ≤ plain + 0.1" "$(verdict "$(f "$ACKS" 2) <= $(f "$JOBS" 2) + 0.1")"

# The samples, for the plots: each lag workload beside its limit (both
# limit runs, before and after, in one series).
P=$(raw_slug "$LABEL")
{ lag_samples "$W/ref1.tsv" payload; lag_samples "$W/ref2.tsv" payload; } | raw_samples "${P}lag_ref"
{ lag_samples "$W/dref1.tsv" payload; lag_samples "$W/dref2.tsv" payload; } | raw_samples "${P}lag_dref"
lag_samples "$W/jobs.tsv" "payload::jsonb->>'run_at'" | raw_samples "${P}lag_jobs"
lag_samples "$W/acks.tsv" "payload::jsonb->>'run_at'" | raw_samples "${P}lag_acks"
q "SELECT round(lag_ms, 3) FROM bench.proc_lag" | raw_samples "${P}lag_procs"
REFL="limit: raw pg_notify (before and after)"
raw_plot lag "${P}lag_notify" "${LABEL}NOTIFY jobs 200 ms ahead at 20/s (Poisson): receipt − run_at"
raw_series "${P}lag_notify" sj "${P}lag_jobs" "scheduled_jobs NOTIFY jobs"
raw_series "${P}lag_notify" limit "${P}lag_ref" "$REFL"
raw_series "${P}lag_notify" limit "${P}lag_dref" "limit: pg_notify from a statement that writes (durable)"
raw_plot lag "${P}lag_procedure" "${LABEL}procedure jobs 200 ms ahead at 20/s (Poisson): CALL start − run_at"
raw_series "${P}lag_procedure" sj "${P}lag_procs" "scheduled_jobs procedure jobs"
raw_series "${P}lag_procedure" limit "${P}lag_ref" "$REFL"
raw_plot lag "${P}lag_ack" "${LABEL}acknowledged channel, first delivery, 200 ms ahead at 20/s: receipt − run_at"
raw_series "${P}lag_ack" sj "${P}lag_acks" "scheduled_jobs, acknowledged channel"
raw_series "${P}lag_ack" limit "${P}lag_jobs" "limit: scheduled_jobs, plain channel (same run)"
if [ -z "$LABEL" ]; then
	lag_samples "$W/sleep.tsv" "payload::jsonb->>'run_at'" | raw_samples lag_sleep_jobs
	raw_plot lag lag_sleep "NOTIFY jobs ${SLEEP_MIN}–$((SLEEP_MIN + SLEEP_SPAN)) s ahead (the scheduler's sleep path): receipt − run_at"
	raw_series lag_sleep sj lag_sleep_jobs "scheduled_jobs NOTIFY jobs"
	raw_series lag_sleep limit lag_ref "$REFL"
fi

bench_db_drop
bench_finish
