#!/bin/bash
# Workload 4: scheduling throughput.  schedule_job() calls per second from 1
# and 8 pgbench clients (jobs far in the future, so nothing fires), and
# 100,000 jobs in one SELECT ... FROM generate_series.  Limit: plain INSERTs
# into a table with the same columns and indexes (CREATE TABLE ... (LIKE
# scheduled_jobs.jobs INCLUDING ALL)), measured before and after.
# Goal: >= 0.7x the limit.
. "$(dirname "$0")/common.sh"
bench_init

SECS=10 BULK=100000
quick && SECS=3
W=$BENCH_TMP/schedule
mkdir -p "$W"

bench_db bench_schedule
q "CREATE TABLE bench.jobs_plain (LIKE scheduled_jobs.jobs INCLUDING ALL)" >/dev/null || die setup

cat >"$W/sj.sql" <<'SQL'
SELECT scheduled_jobs.schedule_job(now() + interval '30 days' + random() * interval '30 days', 'far', NULL, '{"k": 1}'::jsonb);
SQL
cat >"$W/plain.sql" <<'SQL'
INSERT INTO bench.jobs_plain (run_at, channel, payload, owner)
VALUES (now() + interval '30 days' + random() * interval '30 days', 'far', '{"k": 1}'::jsonb, current_user::regrole)
RETURNING id;
SQL

reset_tables() {
	q "TRUNCATE scheduled_jobs.jobs, bench.jobs_plain; CHECKPOINT" >/dev/null
}

# tps SCRIPT CLIENTS
tps() {
	reset_tables
	local out
	out=$(pgbench -n -c "$2" -j 2 -T "$SECS" -f "$W/$1" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench $1"; }
	echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1
}

for c in 1 8; do
	log "schedule: $c client(s), ${SECS}s each: limit, schedule_job, limit"
	L1=$(tps plain.sql $c)
	M=$(tps sj.sql $c)
	L2=$(tps plain.sql $c)
	L=$(mean "$L1" "$L2")
	bench_row "schedule_job(), $c pgbench client(s)" "calls/s (limit: INSERT into same columns+indexes)" \
		"$M" "$L" "≥ 0.7× limit" "$(verdict "$M >= 0.7 * $L")"
done

bulk() {
	reset_tables
	if [ "$1" = sj ]; then
		q_time_ms "SELECT count(scheduled_jobs.schedule_job(now() + interval '30 days' + random() * interval '30 days', 'far', NULL, jsonb_build_object('i', g))) FROM generate_series(1, $BULK) g"
	else
		q_time_ms "INSERT INTO bench.jobs_plain (run_at, channel, payload, owner) SELECT now() + interval '30 days' + random() * interval '30 days', 'far', jsonb_build_object('i', g), current_user::regrole FROM generate_series(1, $BULK) g"
	fi
}
log "schedule: $BULK in one statement"
L1=$(bulk plain)
M=$(bulk sj)
L2=$(bulk plain)
MR=$(calc "$BULK / ($M / 1000)")
LR=$(calc "$BULK / ($(mean "$L1" "$L2") / 1000)")
bench_row "schedule_job() × $BULK in one SELECT" "jobs/s (limit: INSERT … SELECT generate_series)" \
	"$MR" "$LR" "≥ 0.7× limit" "$(verdict "$MR >= 0.7 * $LR")"

bench_db_drop
bench_finish
