#!/bin/bash
# Partitioning job_history by finished_at against the batched DELETE of
# src/retention.c (issue 12): a measurement on plain SQL tables shaped like
# scheduled_jobs.job_history, not a change to the extension.
#
#  - Two tables with the columns, constraints and indexes of job_history:
#    bench.h_plain (LIKE ... INCLUDING ALL: primary key (id), indexes on
#    finished_at and, partial, job_key), and bench.h_part, PARTITION BY
#    RANGE (finished_at), one partition a day, with the same indexes; its
#    primary key must be (id, finished_at), since a partitioned table's
#    unique keys contain the partition key.  Both hold the same rows:
#    PER_DAY a day (1,000,000; --quick 100,000) for the DAYS days of the
#    retention window (7, history_retention's default) and 3 expired days
#    before it, half of them with a job_key; today's and tomorrow's
#    partitions are empty.  Autovacuum is off on both, so that each cost is
#    paid where it is measured.
#  - Insert: rows as the firing writes them (finished_at = clock_timestamp(),
#    into today's partition) by a procedure that inserts BATCH rows with one
#    statement at RATE rows/s and commits each batch (a WAL flush per
#    batch, as a firing does): 1 row at 500/s (procedure jobs, one a
#    transaction), 100 rows at 20,000/s (a steady NOTIFY load), 1,000 at
#    20,000/s (a backlog's full batches); SECS s each (10; --quick 3), in
#    the order plain, partitioned, partitioned, plain.  Figures: µs per row
#    of the INSERT statement (its commit apart), the mean of both runs; WAL
#    bytes per row, commits included.
#  - Prune an expired day (PER_DAY rows).  Plain: the prune statement of
#    src/retention.c in a loop, 500 rows a transaction, until that day is
#    gone, then the VACUUM it needs before the space can be reused;
#    partitioned: ALTER TABLE ... DETACH PARTITION and DROP TABLE of the
#    day in one transaction, or DETACH PARTITION ... CONCURRENTLY, then DROP
#    TABLE.  Days 0 and 2 of the plain table and day 0 of the partitioned
#    one are pruned alone, for the time and the WAL per pruned row (the
#    cluster then writes nothing else); day 1 of each, and day 2 of the
#    partitioned one (CONCURRENTLY), while an inserter writes 100 rows every
#    5 ms into the same table (20,000 rows/s), timing each batch (insert +
#    commit): its p99 and largest batch beside the same inserter with
#    nothing pruned show what pruning holds up.
#  - Lookup of one row by id (attempt.c updates job_history by id), a cached
#    plan in a loop of 20,000 random ids of the window: µs each on both.
. "$(dirname "$0")/common.sh"
bench_init

DAYS=${DAYS:-7} EXPIRED=3
if quick; then
	PER_DAY=${PER_DAY:-100000} SECS=${SECS:-3}
else
	PER_DAY=${PER_DAY:-1000000} SECS=${SECS:-10}
fi
ROWS=$(( (DAYS + EXPIRED) * PER_DAY ))
W=$BENCH_TMP/partition
mkdir -p "$W"
bench_db bench_partition
log "partition: $ROWS rows in each table ($DAYS + $EXPIRED days of $PER_DAY)"

qs <<SQL >/dev/null || die setup
CREATE TABLE bench.h_plain (LIKE scheduled_jobs.job_history INCLUDING ALL) WITH (autovacuum_enabled = off);
CREATE TABLE bench.h_part (LIKE scheduled_jobs.job_history INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
	PARTITION BY RANGE (finished_at);
ALTER TABLE bench.h_part ADD PRIMARY KEY (id, finished_at);
CREATE INDEX ON bench.h_part (finished_at);
CREATE INDEX ON bench.h_part (job_key) WHERE job_key IS NOT NULL;
-- day i from the base: 0 .. EXPIRED - 1 expired, then the DAYS of the
-- window, then today and tomorrow
CREATE TABLE bench.days AS
	SELECT i, date_trunc('day', now()) + (i - $DAYS - $EXPIRED) * interval '1 day' AS lo,
		date_trunc('day', now()) + (i - $DAYS - $EXPIRED + 1) * interval '1 day' AS hi
	FROM generate_series(0, $DAYS + $EXPIRED + 1) i;
DO \$\$
DECLARE
	d record;
BEGIN
	FOR d IN SELECT * FROM bench.days ORDER BY i LOOP
		EXECUTE format('CREATE TABLE bench.h_part_%s PARTITION OF bench.h_part FOR VALUES FROM (%L) TO (%L) WITH (autovacuum_enabled = off)',
			d.i, d.lo, d.hi);
	END LOOP;
END \$\$;
CREATE SEQUENCE bench.hid START $((ROWS + 1));
CREATE TABLE bench.ctl (stop boolean NOT NULL);
INSERT INTO bench.ctl VALUES (false);

-- Insert rows as the firing does, batch rows a statement and a commit, at
-- rate rows/s, for secs s or until bench.ctl.stop; statement times in ms.
CREATE PROCEDURE bench.insert_paced(part boolean, batch int, rate int, secs float8,
	INOUT n bigint DEFAULT 0, INOUT ins_ms float8 DEFAULT 0, INOUT p99_ms float8 DEFAULT 0,
	INOUT max_ms float8 DEFAULT 0, INOUT tx_p99_ms float8 DEFAULT 0, INOUT tx_max_ms float8 DEFAULT 0)
LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz := clock_timestamp();
	k bigint := 0;
	t timestamptz;
	d float8;
	lat float8[] := '{}';
	txlat float8[] := '{}';
	late float8;
BEGIN
	WHILE clock_timestamp() < t0 + secs * interval '1 s' AND NOT (SELECT stop FROM bench.ctl) LOOP
		t := clock_timestamp();
		IF part THEN
			INSERT INTO bench.h_part (id, run_at, channel, payload, job_key, max_attempts, owner, attempts,
				created_at, state, fired_at, finished_at)
			SELECT i, now() - interval '2 ms', 'ch', jsonb_build_object('order_id', i, 'note', 'partition'),
				CASE WHEN i % 2 = 0 THEN 'order:' || i || ':remind' END, 3, 'postgres'::regrole, 1,
				now() - interval '1 hour', 'notified', now(), clock_timestamp()
			FROM (SELECT nextval('bench.hid') AS i FROM generate_series(1, batch)) s;
		ELSE
			INSERT INTO bench.h_plain (id, run_at, channel, payload, job_key, max_attempts, owner, attempts,
				created_at, state, fired_at, finished_at)
			SELECT i, now() - interval '2 ms', 'ch', jsonb_build_object('order_id', i, 'note', 'partition'),
				CASE WHEN i % 2 = 0 THEN 'order:' || i || ':remind' END, 3, 'postgres'::regrole, 1,
				now() - interval '1 hour', 'notified', now(), clock_timestamp()
			FROM (SELECT nextval('bench.hid') AS i FROM generate_series(1, batch)) s;
		END IF;
		d := extract(epoch FROM clock_timestamp() - t) * 1000;
		ins_ms := ins_ms + d;
		lat := lat || d;
		n := n + batch;
		COMMIT;
		txlat := txlat || extract(epoch FROM clock_timestamp() - t) * 1000;
		k := k + 1;
		late := extract(epoch FROM (t0 + (k * batch)::float8 / rate * interval '1 s') - clock_timestamp());
		IF late > 0 THEN
			PERFORM pg_sleep(late);
		END IF;
	END LOOP;
	SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY x), max(x) INTO p99_ms, max_ms FROM unnest(lat) x;
	SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY x), max(x) INTO tx_p99_ms, tx_max_ms FROM unnest(txlat) x;
END \$\$;

-- The prune of src/retention.c on the plain table: 500 rows a transaction,
-- oldest first, until a batch is not full.
CREATE PROCEDURE bench.prune_delete(cutoff timestamptz, INOUT n bigint DEFAULT 0, INOUT ms float8 DEFAULT 0,
	INOUT batches int DEFAULT 0, INOUT max_ms float8 DEFAULT 0)
LANGUAGE plpgsql AS \$\$
DECLARE
	t timestamptz;
	c bigint;
	d float8;
BEGIN
	LOOP
		t := clock_timestamp();
		WITH del AS (DELETE FROM bench.h_plain WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY(
			SELECT id FROM bench.h_plain WHERE finished_at OPERATOR(pg_catalog.<) cutoff
			  AND (state OPERATOR(pg_catalog.=) ANY (ARRAY['failed', 'dead'])) OPERATOR(pg_catalog.=) false
			ORDER BY finished_at LIMIT 500)) RETURNING 1)
		SELECT count(*) INTO c FROM del;
		COMMIT;
		d := extract(epoch FROM clock_timestamp() - t) * 1000;
		ms := ms + d;
		max_ms := greatest(max_ms, d);
		n := n + c;
		batches := batches + 1;
		EXIT WHEN c < 500;
	END LOOP;
END \$\$;

-- lookups of k random ids from lo to hi by a cached plan: µs each
CREATE FUNCTION bench.lookups(part boolean, k int, lo bigint, hi bigint) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
	t timestamptz := clock_timestamp();
	r record;
	v bigint;
BEGIN
	FOR j IN 1 .. k LOOP
		-- a parameter, not random() in the WHERE clause: that is volatile and
		-- makes each lookup a sequential scan
		v := lo + (random() * (hi - lo))::bigint;
		IF part THEN
			SELECT * INTO r FROM bench.h_part WHERE id = v;
		ELSE
			SELECT * INTO r FROM bench.h_plain WHERE id = v;
		END IF;
	END LOOP;
	RETURN extract(epoch FROM clock_timestamp() - t) * 1e6 / k;
END \$\$;
SQL

T=$(date +%s)
q "INSERT INTO bench.h_plain (id, run_at, channel, payload, job_key, max_attempts, owner, attempts,
	created_at, state, fired_at, finished_at)
SELECT g, f - interval '2 ms', 'ch', jsonb_build_object('order_id', g, 'note', 'partition'),
	CASE WHEN g % 2 = 0 THEN 'order:' || g || ':remind' END, 3, 'postgres'::regrole, 1,
	f - interval '1 hour', 'notified', f - interval '1 ms', f
FROM (SELECT g, (SELECT lo FROM bench.days WHERE i = 0) + (g - 1) * (86400.0 / $PER_DAY) * interval '1 s' AS f
	  FROM generate_series(1, $ROWS) g) s" >/dev/null || die "fill h_plain"
q "INSERT INTO bench.h_part SELECT * FROM bench.h_plain" >/dev/null || die "fill h_part"
q "VACUUM ANALYZE bench.h_plain; VACUUM ANALYZE bench.h_part; CHECKPOINT" >/dev/null
log "partition: filled both in $(( $(date +%s) - T )) s; plain $(q "SELECT pg_size_pretty(pg_total_relation_size('bench.h_plain'))"), partitioned $(q "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('bench.h_part')")"

wal() { q "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"; }
# q_ms SQL...: psql's \timing of each statement, summed (ms).
q_ms() {
	local out
	out=$({ echo '\timing on'; printf '%s\n' "$@"; } | psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB") || return 1
	echo "$out" | awk '/^Time: / { s += $2 } END { printf "%.3f\n", s }'
}
# size TABLE: heap + indexes + TOAST bytes, of every partition if partitioned
# (pg_partition_tree has no rows for a plain table)
size() { q "SELECT CASE WHEN relkind = 'p' THEN (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(oid))
	ELSE pg_total_relation_size(oid) END FROM pg_class WHERE oid = '$1'::regclass"; }

# insert_run PART BATCH RATE: "n ins_ms p99 max tx_p99 tx_max wal_bytes"
insert_run() {
	local w0 w1 r
	q "CHECKPOINT" >/dev/null
	w0=$(wal)
	r=$(q "CALL bench.insert_paced($1, $2, $3, $SECS)") || die "insert"
	w1=$(wal)
	echo "$(echo "$r" | tr '|' ' ') $(calc "$w1 - $w0")"
}
f() { echo "$1" | cut -d' ' -f"$2"; }

for cfg in "1 500" "100 20000" "1000 20000"; do
	set -- $cfg
	b=$1 r=$2
	log "partition: inserts, $b rows a statement at $r rows/s, ${SECS} s each: plain, partitioned, partitioned, plain"
	p1=$(insert_run false "$b" "$r") a1=$(insert_run true "$b" "$r") a2=$(insert_run true "$b" "$r") p2=$(insert_run false "$b" "$r")
	us_plain=$(calc "($(f "$p1" 2) + $(f "$p2" 2)) * 1000 / ($(f "$p1" 1) + $(f "$p2" 1))")
	us_part=$(calc "($(f "$a1" 2) + $(f "$a2" 2)) * 1000 / ($(f "$a1" 1) + $(f "$a2" 1))")
	wal_plain=$(calc "($(f "$p1" 7) + $(f "$p2" 7)) / ($(f "$p1" 1) + $(f "$p2" 1))")
	wal_part=$(calc "($(f "$a1" 7) + $(f "$a2" 7)) / ($(f "$a1" 1) + $(f "$a2" 1))")
	log "partition: plain $us_plain µs/row ($p1 / $p2), partitioned $us_part ($a1 / $a2)"
	bench_row "partition: insert, $b row(s) a statement at $r rows/s, a commit each" \
		"µs per row of the INSERT, mean of 2 × ${SECS} s; its p99 ms per statement $(fmt "$(f "$a1" 3)") / $(fmt "$(f "$a2" 3)") (limit: plain table, $(fmt "$(f "$p1" 3)") / $(fmt "$(f "$p2" 3)"))" \
		"$us_part" "$us_plain" "information (routing overhead)" "-"
	bench_row "partition: WAL, $b row(s) a statement" "bytes per row, commits included (limit: plain table)" \
		"$wal_part" "$wal_plain" "information" "-"
done

# prune ALONGSIDE PART TAG SQL...: runs the SQL (psql, \timing), alone
# (ALONGSIDE 0: its WAL is then all the cluster writes) or while an
# inserter puts 100 rows every 5 ms into the table (1); sets PR_MS (the
# statements' times summed), PR_WAL and PR_INS ("n ins_ms p99 max tx_p99
# tx_max" of the inserter).
prune() {
	local alongside=$1 part=$2 tag=$3 w0 w1 ipid=""
	shift 3
	q "UPDATE bench.ctl SET stop = false; CHECKPOINT" >/dev/null
	if [ "$alongside" = 1 ]; then
		q "CALL bench.insert_paced($part, 100, 20000, 600)" >"$W/ins_$tag" &
		ipid=$!
		BENCH_CHILDREN="$BENCH_CHILDREN $ipid"
		sleep 2
	fi
	w0=$(wal)
	PR_MS=$(q_ms "$@") || die "prune $tag"
	w1=$(wal)
	PR_WAL=$(calc "$w1 - $w0") PR_INS="- - - - - -"
	if [ -n "$ipid" ]; then
		sleep 1
		q "UPDATE bench.ctl SET stop = true" >/dev/null
		wait "$ipid"
		PR_INS=$(tr '|' ' ' <"$W/ins_$tag")
	fi
	log "partition: $tag: $PR_MS ms, WAL $PR_WAL bytes${ipid:+, inserter $PR_INS}"
}
cut_of() { q "SELECT hi FROM bench.days WHERE i = $1"; }

log "partition: the inserter alone, ${SECS} s on each table"
q "UPDATE bench.ctl SET stop = false" >/dev/null
BASE_PLAIN=$(q "CALL bench.insert_paced(false, 100, 20000, $SECS)" | tr '|' ' ')
BASE_PART=$(q "CALL bench.insert_paced(true, 100, 20000, $SECS)" | tr '|' ' ')

# plain: days 0 and 2 alone, day 1 beside the inserter; each DELETE, then VACUUM
S0=$(size bench.h_plain)
prune 0 false del0 "CALL bench.prune_delete('$(cut_of 0)')"; DEL0_MS=$PR_MS DEL0_WAL=$PR_WAL
DEL0_N=$(q "SELECT $PER_DAY - count(*) FROM bench.h_plain WHERE finished_at < '$(cut_of 0)'")
prune 0 false vac0 "VACUUM bench.h_plain"; VAC0_MS=$PR_MS VAC0_WAL=$PR_WAL
S1=$(size bench.h_plain)
prune 1 false del1 "CALL bench.prune_delete('$(cut_of 1)')"; DEL1_MS=$PR_MS DEL1_INS=$PR_INS
prune 1 false vac1 "VACUUM bench.h_plain"; VAC1_MS=$PR_MS VAC1_INS=$PR_INS
prune 0 false del2 "CALL bench.prune_delete('$(cut_of 2)')"; DEL2_MS=$PR_MS DEL2_WAL=$PR_WAL
prune 0 false vac2 "VACUUM bench.h_plain"; VAC2_MS=$PR_MS VAC2_WAL=$PR_WAL
S2=$(size bench.h_plain)

# partitioned: day 0 alone, day 1 beside the inserter (DETACH + DROP in one
# transaction), day 2 beside it (DETACH CONCURRENTLY, then DROP)
P0=$(size bench.h_part)
prune 0 true drop0 "BEGIN;" "ALTER TABLE bench.h_part DETACH PARTITION bench.h_part_0;" "DROP TABLE bench.h_part_0;" "COMMIT;"
DROP0_MS=$PR_MS DROP0_WAL=$PR_WAL
prune 1 true drop1 "BEGIN;" "ALTER TABLE bench.h_part DETACH PARTITION bench.h_part_1;" "DROP TABLE bench.h_part_1;" "COMMIT;"
DROP1_MS=$PR_MS DROP1_INS=$PR_INS
prune 1 true conc2 "ALTER TABLE bench.h_part DETACH PARTITION bench.h_part_2 CONCURRENTLY;" "DROP TABLE bench.h_part_2;"
CONC2_MS=$PR_MS CONC2_INS=$PR_INS
P2=$(size bench.h_part)

# lookups of ids of the window (present in both tables)
LK="$((EXPIRED * PER_DAY + 1)), $ROWS"
LK_PLAIN=$(q "SELECT bench.lookups(false, 20000, $LK)") LK_PART=$(q "SELECT bench.lookups(true, 20000, $LK)")
LK_PLAIN2=$(q "SELECT bench.lookups(false, 20000, $LK)") LK_PART2=$(q "SELECT bench.lookups(true, 20000, $LK)")
NPARTS=$(q "SELECT count(*) FROM pg_partition_tree('bench.h_part') WHERE isleaf")

us_row() { calc "$1 * 1000 / $PER_DAY"; }
b_row() { calc "$1 / $PER_DAY"; }
inscell() { echo "$(fmt "$(f "$1" 5)") / $(fmt "$(f "$1" 6)")"; }
DEL_MS=$(mean "$DEL0_MS" "$DEL2_MS") VAC_MS=$(mean "$VAC0_MS" "$VAC2_MS")
DEL_WAL=$(mean "$DEL0_WAL" "$DEL2_WAL") VAC_WAL=$(mean "$VAC0_WAL" "$VAC2_WAL")
bench_row "partition: prune a day ($PER_DAY rows), plain: batched DELETE (retention.c's statement, 500 a transaction)" \
	"µs per pruned row, alone, mean of days 0 and 2: $(fmt "$(us_row "$DEL0_MS")"), $(fmt "$(us_row "$DEL2_MS")"); beside the inserter $(fmt "$(us_row "$DEL1_MS")")" \
	"$(us_row "$DEL_MS")" "" "information" "-"
bench_row "partition: the VACUUM after each DELETE (it scans every index whole)" \
	"µs per pruned row, alone: $(fmt "$(us_row "$VAC0_MS")"), $(fmt "$(us_row "$VAC2_MS")"); beside the inserter $(fmt "$(us_row "$VAC1_MS")")" \
	"$(us_row "$VAC_MS")" "" "information" "-"
bench_row "partition: prune a day, partitioned: DETACH PARTITION + DROP TABLE, one transaction" \
	"µs per pruned row, alone; beside the inserter $(fmt "$(us_row "$DROP1_MS")") (limit: DELETE + VACUUM, alone)" \
	"$(us_row "$DROP0_MS")" "$(us_row "$(calc "$DEL_MS + $VAC_MS")")" "information" "-"
bench_row "partition: prune a day, partitioned: DETACH PARTITION CONCURRENTLY, then DROP TABLE" \
	"µs per pruned row, beside the inserter (limit: DELETE + VACUUM beside it)" \
	"$(us_row "$CONC2_MS")" "$(us_row "$(calc "$DEL1_MS + $VAC1_MS")")" "information" "-"
bench_row "partition: WAL per pruned row, DETACH + DROP, alone" \
	"bytes (limit: DELETE $(fmt "$(b_row "$DEL_WAL")") + VACUUM $(fmt "$(b_row "$VAC_WAL")"), alone, mean of 2 days)" \
	"$(b_row "$DROP0_WAL")" "$(b_row "$(calc "$DEL_WAL + $VAC_WAL")")" "information" "-"
bench_row_raw "partition: an inserter (100 rows every 5 ms, a commit each) beside the prune, plain table" \
	"batch (insert + commit) p99 / max ms: during DELETE; during VACUUM $(inscell "$VAC1_INS") (limit: nothing pruned)" \
	"$(inscell "$DEL1_INS")" "$(inscell "$BASE_PLAIN")" "-" "information" "-"
bench_row_raw "partition: the same inserter, partitioned table" \
	"batch p99 / max ms: during DETACH + DROP; during DETACH CONCURRENTLY + DROP $(inscell "$CONC2_INS") (limit: nothing pruned)" \
	"$(inscell "$DROP1_INS")" "$(inscell "$BASE_PART")" "-" "information" "-"
bench_row "partition: disk after pruning 3 of 10 days" \
	"heap + indexes + TOAST MB, % of before: partitioned $(fmt "$(calc "$P2 / 1048576")") of $(fmt "$(calc "$P0 / 1048576")") (limit: plain, DELETE + VACUUM: $(fmt "$(calc "$S2 / 1048576")") of $(fmt "$(calc "$S0 / 1048576")"), the space kept for new rows)" \
	"$(calc "100 * $P2 / $P0")" "$(calc "100 * $S2 / $S0")" "information" "-"
bench_row "partition: lookup of a row by id, cached plan ($NPARTS partitions left)" \
	"µs each, 2 × 20,000 (limit: plain table)" \
	"$(mean "$LK_PART" "$LK_PART2")" "$(mean "$LK_PLAIN" "$LK_PLAIN2")" "information" "-"

mb() { calc "$1 / 1048576"; }
bench_note <<EOF

Partitioning (partition.sh): $((DAYS + EXPIRED)) days of $PER_DAY rows in each table, the window of $DAYS days
and $EXPIRED expired days; autovacuum off on both tables. Sizes (heap + indexes + TOAST): plain $(fmt "$(mb "$S0")") MB
before the DELETEs, $(fmt "$(mb "$S1")") MB after the first DELETE + VACUUM, $(fmt "$(mb "$S2")") MB after the third
(the space is free for new rows, not returned); partitioned $(fmt "$(mb "$P0")") MB before, $(fmt "$(mb "$P2")") MB
after dropping three days (returned to the file system).
Alone, plain: DELETE of day 0 ($DEL0_N rows) $(fmt "$DEL0_MS") ms, WAL $(fmt "$(mb "$DEL0_WAL")") MB, then VACUUM
$(fmt "$VAC0_MS") ms, $(fmt "$(mb "$VAC0_WAL")") MB; day 2: $(fmt "$DEL2_MS") ms, $(fmt "$(mb "$DEL2_WAL")") MB, VACUUM
$(fmt "$VAC2_MS") ms, $(fmt "$(mb "$VAC2_WAL")") MB. Partitioned: DETACH + DROP of day 0 $(fmt "$DROP0_MS") ms,
$(fmt "$DROP0_WAL") bytes of WAL. Beside the inserter: DELETE $(fmt "$DEL1_MS") ms + VACUUM $(fmt "$VAC1_MS") ms;
DETACH + DROP $(fmt "$DROP1_MS") ms; DETACH CONCURRENTLY + DROP $(fmt "$CONC2_MS") ms.
The inserter (rows, statement ms summed, statement p99, max, batch p99, max ms): alone on plain
$BASE_PLAIN; alone on partitioned $BASE_PART; during DELETE $DEL1_INS; during VACUUM $VAC1_INS;
during DETACH + DROP $DROP1_INS; during DETACH CONCURRENTLY + DROP $CONC2_INS.
EOF

bench_db_drop
bench_report "partitioning job_history" <<EOF
Cluster: fsync on, synchronous_commit on, shared_buffers 256MB, max_wal_size 4GB. Measured = the partitioned table, limit = the plain one (today's job_history) unless a row says otherwise. See bench/README.md, workload 12.
EOF
bench_finish
