#!/bin/bash
# Run every benchmark workload against one throwaway cluster and write the
# table to bench/results/<run>.md (and print it), <run> being <date>_<time>
# of the start (-quick, -large); the raw samples to bench/results/raw/<run>/
# (git-ignored) and their plots to bench/results/<run>_*.png (bench/plot.sh).
#
#   bash bench/run.sh [--quick] [--large]
#
# --quick: a ~6 minute smoke run (smaller counts, shorter windows).
# --large: workload 5 with 10,000,000 pending jobs, memory up to 1,000,000 fired.
# Each workload is also runnable alone: bash bench/lag.sh [--quick], ...
. "$(dirname "$0")/common.sh"
# pg_cron preloaded for recurring.sh's part 3 (idle until it schedules its job)
if [ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ] || sj_install_packages postgresql-15-cron; then
	BENCH_EXTRA_CONF="shared_preload_libraries = 'scheduled_jobs,pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on"
fi
BENCH_RUN=$(bench_run_name "")
bench_init

WORKLOADS="lag backlog_notify backlog_procedure ack schedule scale idle memory recurring stats snapshot"
START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for w in $WORKLOADS; do
	log "=== $w"
	t=$(date +%s)
	if ! bash "bench/$w.sh"; then
		bench_row_raw "$w" "workload failed (see the log above and $BENCH_TMP/server.log)" "-" "-" "-" "-" "FAIL"
		cp "$BENCH_TMP/server.log" "$BENCH_ROOT/bench/results/server-$w-failed.log" 2>/dev/null
	fi
	log "=== $w took $(( $(date +%s) - t ))s"
done

mkdir -p bench/results
OUT=bench/results/$BENCH_RUN.md
{
	echo "# scheduled_jobs benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
	echo
	echo "\`bash bench/run.sh$(quick && echo ' --quick')$(large && echo ' --large')\`;" \
		"commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git --no-optional-locks diff-index --quiet HEAD -- src sql 2>/dev/null || echo ' + uncommitted src/sql changes');" \
		"$(psql -X -At -d postgres -c 'SHOW server_version' | cut -d' ' -f1);" \
		"$(nproc) cores, load average $LOAD0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end;" \
		"$(( $(date +%s) - START )) s in all."
	echo "Cluster: fsync on, synchronous_commit on, shared_buffers 256MB, max_worker_processes 32," \
		"scheduled_jobs.max_executors $(psql -X -At -d postgres -c 'SHOW scheduled_jobs.max_executors')," \
		"batch_size $(psql -X -At -d postgres -c 'SHOW scheduled_jobs.batch_size')."
	echo "Every limit is measured in the same run, before and after its workload (mean shown);" \
		"ratio = measured / limit. See bench/README.md."
	echo
	bench_table "$BENCH_ROWS"
	echo
	echo "Plots of the samples behind the lag and backlog rows (bench/plot.sh, from bench/results/raw/$BENCH_RUN/):"
	echo
	PNGS=$(bash bench/plot.sh "$BENCH_RAW") || log "some plots failed"
	for png in $PNGS; do
		echo "- [$(basename "$png" .png | sed "s/^${BENCH_RUN}_//")]($(basename "$png"))"
	done
	cat "$BENCH_NOTES"
} >"$OUT"
cat "$OUT"
log "written to $OUT"
grep -q $'\tFAIL' "$BENCH_ROWS" && log "some goals were missed or workloads failed"
exit 0
