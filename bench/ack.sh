#!/bin/bash
# Acknowledged channels.
#  1. Firing: N due NOTIFY jobs on an acknowledged channel (each stays in
#     flight) beside N on a plain channel (each moves to job_history), both
#     scheduled while paused, timed from unpausing until a listener got them
#     all.  Goal: >= 0.8x the plain-channel rate, in the same run.
#  2. Consumers: 4 pgbench clients claim and ack the in-flight jobs, in
#     batches of 1 and of 100 (those four times over, copies, so that the
#     run lasts seconds), one transaction per batch.  Limit: the same
#     rows (copies of those jobs, every column) in a plain table with a
#     primary key and an index on run_at, drained by UPDATE ... FOR UPDATE
#     SKIP LOCKED (the lease) and a DELETE of the leased rows into another
#     table of the same columns, in the same transaction, the same batches
#     and clients.  Goal: >= 0.8x.  For information, the same drain of a
#     narrow queue (id, run_at, lease_until, payload) of as many rows.
. "$(dirname "$0")/common.sh"
bench_init

N=${N:-50000}
quick && N=10000
CLIENTS=4
W=$BENCH_TMP/ack
mkdir -p "$W"

bench_db bench_ack
q "SELECT scheduled_jobs.configure_channel('sja', '1 hour')" >/dev/null || die configure

# fire N due jobs on channel $1 while paused, then unpause; sets RATE and
# keeps the receipt times as raw samples ack_fire_$2
fire_run() {
	local ch=$1 t0
	bench_pause
	q "SELECT count(scheduled_jobs.schedule_job(now(), '$ch', NULL, jsonb_build_object('i', g)))
	   FROM generate_series(1, $N) g" >/dev/null || die "schedule"
	q "VACUUM ANALYZE scheduled_jobs.jobs; CHECKPOINT" >/dev/null
	listen_start "$W/fire.tsv" "$N" 600 "$ch"
	bench_unpause_prepare
	t0=$(now_us)
	bench_reload
	listen_wait || die "listener incomplete on $ch"
	tput_samples "$t0" <"$W/fire.tsv" | raw_samples "ack_fire_$2"
	rm -f "$W/fire.tsv"
	set -- $LISTEN_OUT
	RATE=$(calc "$1 / (($3 - $t0) / 1e6)")
}

log "ack: firing $N jobs on a plain channel"
fire_run sjp plain1; P1=$RATE
log "ack: firing $N jobs on an acknowledged channel"
fire_run sja ack; A=$RATE
in_flight=$(q "SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'sja' AND due_at IS NOT NULL")
[ "$in_flight" = "$N" ] || die "expected $N jobs in flight, found $in_flight"
q "DELETE FROM scheduled_jobs.job_history WHERE channel = 'sjp'" >/dev/null
log "ack: firing $N jobs on a plain channel again"
fire_run sjp plain2; P2=$RATE
P=$(mean "$P1" "$P2")
raw_plot tput ack_fire "firing $N due NOTIFY jobs on an acknowledged channel (they stay in flight): receipts" \
	"the unpausing reload, on both channels"
raw_series ack_fire sj ack_fire_ack "scheduled_jobs, acknowledged channel"
raw_series ack_fire limit ack_fire_plain1 "limit: scheduled_jobs, plain channel (before)"
raw_series ack_fire limit ack_fire_plain2 "limit: scheduled_jobs, plain channel (after)"
bench_row "acknowledged channel: firing $N due jobs" "jobs/s until all received (limit: the same on a plain channel, before and after)" \
	"$A" "$P" "≥ 0.8× plain" "$(verdict "$A >= 0.8 * $P")"

# claim + ack, batches of $1: the in-flight jobs of sja (copied first, to be
# drained again by the limit); sets RATE
qs <<'SQL' >/dev/null || die setup
CREATE TABLE bench.q (LIKE scheduled_jobs.jobs);
ALTER TABLE bench.q ADD PRIMARY KEY (id);
CREATE INDEX ON bench.q (run_at);
CREATE TABLE bench.done (LIKE scheduled_jobs.jobs);
CREATE TABLE bench.nq (id bigint PRIMARY KEY, run_at timestamptz NOT NULL, lease_until timestamptz, payload jsonb);
CREATE INDEX ON bench.nq (run_at);
CREATE TABLE bench.ndone (id bigint, payload jsonb);
SQL
# jobs a consumer run drains: batches of 100 four times N, so that their
# runs last seconds, as those of batches of 1 do, not one
drained() { if [ "$1" -ge 100 ]; then echo $((N * 4)); else echo "$N"; fi; }
consume_run() {
	local batch=$1 per_client=$(( $(drained "$1") / CLIENTS / $1 )) out
	cat >"$W/ack_$batch.sql" <<SQL
BEGIN;
SELECT scheduled_jobs.ack_many(array_agg(id)) FROM scheduled_jobs.claim('sja', $batch, '1 minute');
COMMIT;
SQL
	out=$(pgbench -n -c "$CLIENTS" -j 2 -t "$per_client" -f "$W/ack_$batch.sql" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench ack"; }
	RATE=$(calc "$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1) * $batch")
}
# limit_run BATCH COPY: the drain of the rows of COPY (the jobs in flight)
# in bench.q; limit_run BATCH narrow: of as many in bench.nq.  Either with
# 1000 rows more, so that the last batches find some.  Sets RATE.
limit_run() {
	local batch=$1 per_client=$(( $(drained "$1") / CLIENTS / $1 )) out q=bench.q done=bench.done cols='q.*'
	if [ "$2" = narrow ]; then
		q=bench.nq done=bench.ndone cols='q.id, q.payload'
		q "TRUNCATE $q, $done; INSERT INTO $q SELECT g, now() - interval '1 s', NULL, jsonb_build_object('i', g)
		   FROM generate_series(1, $(drained "$1") + 1000) g" >/dev/null
	else
		q "TRUNCATE $q, $done; INSERT INTO $q SELECT * FROM $2;
		   UPDATE $q SET id = -id WHERE id IN (SELECT id FROM $2 ORDER BY id LIMIT 1000);
		   INSERT INTO $q SELECT * FROM $2 ORDER BY id LIMIT 1000;
		   UPDATE $q SET run_at = now() - interval '1 s', lease_until = NULL" >/dev/null
	fi
	q "VACUUM ANALYZE $q; CHECKPOINT" >/dev/null
	# Two statements, as claim() and ack_many() are: one UPDATE cannot be
	# followed by a DELETE of the same rows in the same statement (the
	# DELETE of a row the statement already updated does nothing), so the
	# lease hands its ids to the DELETE.  BEGIN goes with the first, so that
	# both sides make three round trips per transaction.
	cat >"$W/raw_$batch.sql" <<SQL
BEGIN \\;
WITH c AS (SELECT id FROM $q WHERE run_at <= now() ORDER BY run_at LIMIT $batch FOR UPDATE SKIP LOCKED),
l AS (UPDATE $q q SET lease_until = now() + interval '1 minute', run_at = now() + interval '1 minute'
      FROM c WHERE q.id = c.id RETURNING q.id)
SELECT array_agg(id) AS ids FROM l \\gset
WITH d AS (DELETE FROM $q q WHERE q.id = ANY (':ids'::bigint[]) RETURNING $cols)
INSERT INTO $done SELECT * FROM d;
COMMIT;
SQL
	out=$(pgbench -n -c "$CLIENTS" -j 2 -t "$per_client" -f "$W/raw_$batch.sql" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench raw"; }
	RATE=$(calc "$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1) * $batch")
	# the drain must have moved the rows, not only leased them
	[ "$(q "SELECT count(*) FROM $done")" -ge $((per_client * CLIENTS * batch)) ] || die "the limit's drain moved too few rows"
}
q "CREATE TABLE bench.inflight AS SELECT * FROM scheduled_jobs.jobs WHERE channel = 'sja'" >/dev/null
# the in-flight jobs four times over, the copies under ids past the others'
off=$(q "SELECT max(id) FROM scheduled_jobs.jobs")
q "CREATE TABLE bench.inflight4 AS SELECT * FROM bench.inflight" >/dev/null
for k in 1 2 3; do
	q "UPDATE bench.inflight SET id = id + $off; INSERT INTO bench.inflight4 SELECT * FROM bench.inflight" >/dev/null
done
q "UPDATE bench.inflight SET id = id - 3 * $off" >/dev/null
# The limit runs before and after each consumer run, and the row shows their
# mean (as the firing row does).
for batch in 1 100; do
	copy=bench.inflight; [ "$(drained "$batch")" = "$N" ] || copy=bench.inflight4
	log "ack: limit, batches of $batch ($(drained "$batch") jobs)"
	limit_run "$batch" "$copy"; L1=$RATE
	q "DELETE FROM scheduled_jobs.jobs WHERE channel = 'sja'; DELETE FROM scheduled_jobs.job_history WHERE channel = 'sja';
	   INSERT INTO scheduled_jobs.jobs OVERRIDING SYSTEM VALUE SELECT * FROM $copy; VACUUM ANALYZE scheduled_jobs.jobs; CHECKPOINT" >/dev/null
	log "ack: claim + ack, batches of $batch"
	consume_run "$batch"; C=$RATE
	log "ack: limit again, batches of $batch"
	limit_run "$batch" "$copy"; L2=$RATE
	L=$(mean "$L1" "$L2")
	log "ack: the narrow queue, batches of $batch"
	limit_run "$batch" narrow; LN=$RATE
	bench_row "acknowledged channel: claim + ack, $CLIENTS clients, batches of $batch ($(drained "$batch") jobs)" \
		"jobs/s (limit: the same rows in a plain table, UPDATE … FOR UPDATE SKIP LOCKED, then DELETE of the leased rows into another, before and after)" \
		"$C" "$L" "≥ 0.8× limit" "$(verdict "$C >= 0.8 * $L")"
	bench_row "acknowledged channel: the same beside a narrow queue" \
		"jobs/s (limit: the same drain of a queue of id, run_at, lease_until, payload, after)" \
		"$C" "$LN" "information" "-"
done

bench_db_drop
bench_finish
