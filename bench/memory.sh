#!/bin/bash
# Workload 7: memory.  Resident memory of the scheduler and of the executors
# after 10,000 and after 100,000 fired jobs of each kind (1,000,000 NOTIFY
# jobs with --large): VmRSS (includes the shared buffers a process touched)
# and RssAnon (its private memory: what a leak grows).  There is no raw-SQL
# equivalent of "a process that fired N jobs", so the reference shown is a
# fresh idle backend's RssAnon.  Goal: RssAnon grows by <= 2 MB from the
# first stage to the last (no per-job leak).
. "$(dirname "$0")/common.sh"
bench_init

NOTIFY_STAGES="10000 100000"
PROC_STAGES="10000 100000"
quick && { NOTIFY_STAGES="10000 30000"; PROC_STAGES="2000 6000"; }
large && NOTIFY_STAGES="10000 100000 1000000"

bench_db bench_memory
qs <<'SQL' >/dev/null || die setup
CREATE PROCEDURE bench.touch(p jsonb) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM (p->>'i')::int + 1;
END $$;
SQL

# rss_of TYPE: "max VmRSS kB, max RssAnon kB" over this database's processes of that type.
rss_of() {
	local pids p best_rss=0 best_anon=0 f
	pids=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs $1' AND datname = current_database()")
	for p in $pids; do
		f=($(proc_figures "$p"))
		[ "${f[3]}" != - ] && [ "${f[3]}" -gt $best_rss ] && best_rss=${f[3]}
		[ "${f[4]}" != - ] && [ "${f[4]}" -gt $best_anon ] && best_anon=${f[4]}
	done
	echo "$best_rss $best_anon $(echo $pids | wc -w)"
}

# Stages: fire up to the next count of each kind, wait, read the RSS.
done_n=0 done_p=0
set -- $PROC_STAGES
RESULTS=()
for target in $NOTIFY_STAGES; do
	ptarget=${1:-$done_p}
	[ $# -gt 0 ] && shift
	log "memory: firing up to $target NOTIFY and $ptarget procedure jobs"
	q "SELECT count(scheduled_jobs.schedule_job(now(), 'mem', NULL, jsonb_build_object('i', g))) FROM generate_series(1, $((target - done_n))) g;
	   SELECT count(scheduled_jobs.schedule_job(now(), NULL, 'bench.touch', jsonb_build_object('i', g))) FROM generate_series(1, $((ptarget - done_p))) g" >/dev/null
	wait_for "jobs of stage $target" 900 "SELECT NOT EXISTS (SELECT FROM scheduled_jobs.jobs)"
	done_n=$target done_p=$ptarget
	read -r srss sanon _ <<<"$(rss_of scheduler)"
	read -r erss eanon en <<<"$(rss_of executor)"
	log "memory: scheduler VmRSS ${srss} kB RssAnon ${sanon} kB; executors ($en) max VmRSS ${erss} kB RssAnon ${eanon} kB"
	RESULTS+=("$done_n $done_p $srss $sanon $erss $eanon")
done
ref_backend_start bench_mem_ref
f=($(proc_figures "$REF_PID"))
REF_ANON=${f[4]}
ref_backend_stop

printf '%s\n' "${RESULTS[@]}" >"$BENCH_TMP/memory.txt"
# row WHO N_COLUMN RSS_COLUMN ANON_COLUMN KIND
row() {
	local cells growth
	cells=$(awk -v n="$2" -v r="$3" -v a="$4" '{ printf "%s%d: %.1f MB (%.0f)", (NR > 1 ? " → " : ""), $n, $a / 1024, $r / 1024 }' "$BENCH_TMP/memory.txt")
	growth=$(awk -v a="$4" 'NR == 1 { f = $a } { l = $a } END { print l - f }' "$BENCH_TMP/memory.txt")
	bench_row_raw "memory: $1 after N fired $5 jobs" "RssAnon MB (VmRSS MB) at N (limit: fresh backend's RssAnon)" \
		"$cells" "$(awk -v k="$REF_ANON" 'BEGIN { printf "%.1f MB", k / 1024 }')" "-" "RssAnon growth ≤ 2 MB" \
		"$(verdict "$growth <= 2048") ($(awk -v g="$growth" 'BEGIN { printf "%+.1f MB", g / 1024 }'))"
}
row scheduler 1 3 4 NOTIFY
row executor 2 5 6 procedure

bench_db_drop
bench_finish
