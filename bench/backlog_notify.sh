#!/bin/bash
# Workload 2: NOTIFY backlog.  N due NOTIFY jobs are scheduled while
# scheduled_jobs.paused is on; then unpause and time until a listener has
# received them all.  Limit: the same rows in a plain table, drained by
# DELETE ... RETURNING pg_notify(...) in 1000-row transactions (a procedure
# looping with COMMIT), measured before and after.  Goal: >= 0.8x the limit.
#
# Env: N overrides the backlog size, PENDING=N preloads N future jobs
# (workload 5), LABEL prefixes the rows.
. "$(dirname "$0")/common.sh"
bench_init

N=${N:-100000}
quick && N=${N_QUICK:-20000}
LABEL=${LABEL:-}
PENDING=${PENDING:-0}
W=$BENCH_TMP/backlog_notify
mkdir -p "$W"

bench_db bench_backlog_notify
bench_preload "$PENDING"
qs <<'SQL' >/dev/null || die setup
CREATE TABLE bench.template (id bigint, run_at timestamptz, channel text, payload jsonb, job_key text);
CREATE TABLE bench.q (LIKE bench.template);
CREATE INDEX ON bench.q (run_at);
-- for the diagnostic variant: a history table like the extension's
CREATE TABLE bench.hist (LIKE scheduled_jobs.job_history INCLUDING ALL);
CREATE PROCEDURE bench.drain_hist(ch text) LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	LOOP
		WITH d AS (
			DELETE FROM bench.q WHERE id IN
				(SELECT id FROM bench.q WHERE run_at <= now() ORDER BY run_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
			RETURNING *),
		h AS (
			INSERT INTO bench.hist (id, run_at, channel, payload, job_key, max_attempts, owner, attempts,
				created_at, state, fired_at, finished_at)
			SELECT id, run_at, channel, payload, job_key, 3, 'postgres'::regrole, 1, now(), 'notified', now(),
				statement_timestamp() FROM d
			RETURNING *)
		SELECT count(pg_notify(ch, json_build_object('id', id, 'job_key', job_key,
			'run_at', run_at, 'payload', payload)::text)) INTO n FROM h;
		COMMIT;
		EXIT WHEN n = 0;
	END LOOP;
END $$;
CREATE PROCEDURE bench.drain(ch text) LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	LOOP
		WITH d AS (
			DELETE FROM bench.q WHERE id IN
				(SELECT id FROM bench.q WHERE run_at <= now() ORDER BY run_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
			RETURNING *)
		SELECT count(pg_notify(ch, json_build_object('id', id, 'job_key', job_key,
			'run_at', run_at, 'payload', payload)::text)) INTO n FROM d;
		COMMIT;
		EXIT WHEN n = 0;
	END LOOP;
END $$;
SQL

bench_pause
log "backlog_notify: scheduling $N due jobs while paused"
q "SELECT count(scheduled_jobs.schedule_job(now(), 'sjq', NULL, jsonb_build_object('i', g, 'note', 'backlog')))
   FROM generate_series(1, $N) g" >/dev/null || die "schedule"
q "INSERT INTO bench.template SELECT id, run_at, channel, payload, job_key FROM scheduled_jobs.jobs WHERE channel = 'sjq'"
fired=$(q "SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'sjq'")
[ "$fired" = 0 ] || log "WARNING: $fired jobs fired while paused"
q "VACUUM ANALYZE scheduled_jobs.jobs" >/dev/null

# limit_run TAG [PROC]: the raw drain; sets RATE (jobs/s), keeps the
# receipt times (s from the CALL) as raw samples ${P}backlog_notify_TAG.
P=$(raw_slug "$LABEL")
limit_run() {
	q "TRUNCATE bench.q, bench.hist; INSERT INTO bench.q SELECT * FROM bench.template; VACUUM ANALYZE bench.q; CHECKPOINT" >/dev/null
	listen_start "$W/limit_$1.tsv" "$N" 300 rawq
	local t0 res
	t0=$(now_us)
	q "CALL bench.${2:-drain}('rawq')" >/dev/null || die "drain"
	listen_wait || die "limit: listener incomplete"
	tput_samples "$t0" <"$W/limit_$1.tsv" | raw_samples "${P}backlog_notify_$1"
	rm -f "$W/limit_$1.tsv"
	set -- $LISTEN_OUT
	RATE=$(calc "$1 / (($3 - $t0) / 1e6)")
}

q "CHECKPOINT" >/dev/null
log "backlog_notify: limit (before)"
limit_run before; L1=$RATE
log "backlog_notify: limit $L1 jobs/s; firing $N jobs"
listen_start "$W/sj.tsv" "$N" 600 sjq
bench_unpause_prepare
t0=$(now_us)
bench_reload
listen_wait || die "scheduled_jobs: listener incomplete"
tput_samples "$t0" <"$W/sj.tsv" | raw_samples "${P}backlog_notify_sj"
rm -f "$W/sj.tsv"
set -- $LISTEN_OUT
M=$(calc "$1 / (($3 - $t0) / 1e6)")
SERVER=$(q "SELECT count(DISTINCT fired_at), round((extract(epoch FROM max(finished_at) - min(fired_at)) * 1000)::numeric, 1)
	FROM scheduled_jobs.job_history WHERE channel = 'sjq'")
log "backlog_notify: $M jobs/s; server side: $(echo "$SERVER" | cut -d'|' -f1) transactions, first fired_at to last finished_at $(echo "$SERVER" | cut -d'|' -f2) ms"
log "backlog_notify: limit (after)"
limit_run after; L2=$RATE
if [ -z "$LABEL" ]; then
	log "backlog_notify: diagnostic limit that also writes a job_history-like table"
	limit_run hist drain_hist; H=$RATE
fi
LIMITL="limit: DELETE…RETURNING pg_notify, 1000/tx"
raw_plot tput "${P}backlog_notify" "${LABEL}NOTIFY backlog, $N due jobs: receipts at the listener"
raw_series "${P}backlog_notify" sj "${P}backlog_notify_sj" "scheduled_jobs"
raw_series "${P}backlog_notify" limit "${P}backlog_notify_before" "$LIMITL (before)"
raw_series "${P}backlog_notify" limit "${P}backlog_notify_after" "$LIMITL (after)"
[ -z "$LABEL" ] && raw_series backlog_notify limit backlog_notify_hist "diagnostic: the same, also INSERTing each row into a job_history copy"
L=$(mean "$L1" "$L2")
bench_row "${LABEL}NOTIFY backlog, $N due jobs" "jobs/s until all received (limit: DELETE…RETURNING pg_notify, 1000/tx)" \
	"$M" "$L" "≥ 0.8× limit" "$(verdict "$M >= 0.8 * $L")"
[ -n "${H:-}" ] && bench_row "NOTIFY backlog, diagnostic" "same, limit also INSERTs each row into a job_history copy (1 run, after)" \
	"$M" "$H" "information" "-"

bench_db_drop

# Variant: the scheduler's plans were cached while the jobs table was nearly
# empty and nothing analyzed it since (autovacuum off for the table, as in
# the minute before autoanalyze comes): the same backlog, the same limit.
if [ -z "$LABEL" ]; then
	log "backlog_notify: variant with the plan cached on an empty, unanalyzed table"
	bench_db bench_backlog_stale
	q "ALTER TABLE scheduled_jobs.jobs SET (autovacuum_enabled = off)" >/dev/null
	# one job fired now: the scheduler plans its statements on a 1-row table
	listen_start - 1 30 sjq
	q "SELECT scheduled_jobs.schedule_job(now(), 'sjq', NULL, '{}'::jsonb)" >/dev/null
	listen_wait || die "stale: first job"
	bench_pause
	# the evidence: the firing statement prepared now, on the same table,
	# run (and rolled back) once the backlog is in
	qs <<SQL >"$W/stale_explain.txt" 2>&1 || die "schedule"
SET enable_seqscan = off; SET enable_bitmapscan = off; SET max_parallel_workers_per_gather = 0;
PREPARE fire AS $FIRE_ALL;
EXPLAIN (COSTS OFF) EXECUTE fire;
SELECT count(scheduled_jobs.schedule_job(now(), 'sjq', NULL, jsonb_build_object('i', g, 'note', 'backlog')))
FROM generate_series(1, $N) g \\g /dev/null
BEGIN;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE fire;
ROLLBACK;
SQL
	{
		printf '\n### The firing statement as planned on an empty table, run with %s jobs due\n\n```\n' "$N"
		sed -n '/Insert on job_history (actual/,$p' "$W/stale_explain.txt"
		printf '```\n'
	} | bench_note
	q "CHECKPOINT" >/dev/null
	listen_start "$W/stale.tsv" "$N" 600 sjq
	bench_unpause_prepare
	t0=$(now_us)
	bench_reload
	listen_wait || die "stale: listener incomplete"
	tput_samples "$t0" <"$W/stale.tsv" | raw_samples backlog_notify_stale_sj
	rm -f "$W/stale.tsv"
	raw_plot tput backlog_notify_stale "NOTIFY backlog, $N due jobs, plans cached on an empty table, no ANALYZE since"
	raw_series backlog_notify_stale sj backlog_notify_stale_sj "scheduled_jobs, stale plans"
	raw_series backlog_notify_stale limit backlog_notify_before "$LIMITL (before)"
	raw_series backlog_notify_stale limit backlog_notify_after "$LIMITL (after)"
	set -- $LISTEN_OUT
	S=$(calc "$1 / (($3 - $t0) / 1e6)")
	bench_row "NOTIFY backlog, $N due jobs, plans cached on an empty table, no ANALYZE since" \
		"jobs/s until all received (limit: as above)" "$S" "$L" "≥ 0.8× limit" "$(verdict "$S >= 0.8 * $L")"
	bench_db_drop
fi
bench_finish
