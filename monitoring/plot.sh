#!/bin/bash
# Pictures of a live database's jobs, from scheduled_jobs.job_stats, without
# Grafana: jobs finished per minute and the p99 lag per minute of the most
# active targets (and of the schedules), over the last hours, as PNGs.
#
#   bash monitoring/plot.sh [-d DBNAME] [-H HOURS] [-n TARGETS] [OUT_DIR]
#
# Connects with psql as libpq's environment says (PGHOST, PGPORT, PGUSER,
# PGDATABASE, ...), as a role that may read scheduled_jobs.job_stats (a
# superuser, or GRANT SELECT ON scheduled_jobs.job_stats TO the monitoring
# role).  HOURS: 1 (default) to 24; TARGETS:
# the n targets with most jobs (default 8).  Writes OUT_DIR (default .)
# /scheduled_jobs_throughput.png and /scheduled_jobs_lag.png and prints
# their paths.  Needs gnuplot (Debian: gnuplot-nox).
set -euo pipefail

db=${PGDATABASE:-}
hours=1
top=8
while getopts "d:H:n:" opt; do
	case $opt in
		d) db=$OPTARG ;;
		H) hours=$OPTARG ;;
		n) top=$OPTARG ;;
		*) echo "usage: $0 [-d DBNAME] [-H HOURS] [-n TARGETS] [OUT_DIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
out=${1:-.}
case $hours in ''|*[!0-9]*) echo "$0: HOURS must be a whole number of hours, 1 to 24" >&2; exit 2 ;; esac
[ "$hours" -ge 1 ] && [ "$hours" -le 24 ] || { echo "$0: HOURS must be 1 to 24" >&2; exit 2; }
case $top in ''|*[!0-9]*|0) echo "$0: TARGETS must be a positive number" >&2; exit 2 ;; esac
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (Debian: apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

psql_q() { psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 ${db:+-d "$db"} "$@"; }

# One line per (target, minute): minute as Unix time, target, jobs finished
# (0 if none), p99 lag in ms (empty if none).  A row counts in each minute
# it overlaps, in proportion: a 10-second row in its minute, an hour row (of
# the hours before the last) as a sixtieth in each of its minutes.
psql_q -v hours="$hours" -v top="$top" >"$tmp/minutes.tsv" <<'SQL'
WITH r AS (
	SELECT CASE WHEN s.schedule_id <> 0 THEN 'schedule #' || s.schedule_id
		ELSE s.kind || ' ' || s.target END AS t, s.*
	FROM scheduled_jobs.job_stats s
	WHERE s.bucket > now() - make_interval(hours => :hours) - interval '1 hour'
),
top AS (
	SELECT t FROM r GROUP BY t
	ORDER BY sum(fired + cancelled + expired) DESC, t LIMIT :top
),
minutes AS (
	SELECT generate_series(date_bin('1 minute', now() - make_interval(hours => :hours), 'epoch'),
		now(), interval '1 minute') AS minute
)
SELECT extract(epoch FROM m.minute)::bigint, top.t,
	round(COALESCE(sum((r.fired + r.cancelled + r.expired) * extract(epoch FROM
		least(m.minute + interval '1 minute', r.bucket + make_interval(secs => r.seconds))
		- greatest(m.minute, r.bucket)) / r.seconds), 0)::numeric, 1),
	round((extract(epoch FROM scheduled_jobs.histogram_percentile(scheduled_jobs.histogram_sum(r.lag), 0.99))
		* 1000)::numeric, 3)
FROM top CROSS JOIN minutes m
LEFT JOIN r ON r.t = top.t AND r.bucket < m.minute + interval '1 minute'
	AND r.bucket + make_interval(secs => r.seconds) > m.minute
GROUP BY m.minute, top.t ORDER BY top.t, m.minute;
SQL

if ! awk -F'\t' '$3 > 0 { found = 1 } END { exit !found }' "$tmp/minutes.tsv"; then
	echo "$0: no finished jobs in job_stats over the last $hours hour(s)" >&2
	exit 1
fi

# one data file per target
mapfile -t targets < <(cut -f2 "$tmp/minutes.tsv" | awk '!seen[$0]++')
plots_t=()
plots_l=()
i=0
for t in "${targets[@]}"; do
	i=$((i + 1))
	awk -F'\t' -v t="$t" '$2 == t { print $1 "\t" $3 "\t" ($4 == "" ? "NaN" : $4) }' "$tmp/minutes.tsv" >"$tmp/t$i.dat"
	title=${t//\"/\\\"}
	plots_t+=("'$tmp/t$i.dat' using 1:2 with lines lw 2 title \"$title\"")
	plots_l+=("'$tmp/t$i.dat' using 1:3 with linespoints title \"$title\"")
done
join_plots() { local IFS=,; echo "$*"; }

db_name=$(psql_q -c 'SELECT current_database()')
common="set terminal pngcairo size 1100,500 noenhanced font ',10'
set xdata time
set timefmt '%s'
set format x '%H:%M'
set xlabel 'UTC'
set grid
set key outside right top
set datafile separator '\t'"
gnuplot <<EOF
$common
set output '$out/scheduled_jobs_throughput.png'
set title "scheduled_jobs in $db_name: jobs finished per minute, last $hours h (from job_stats)"
set ylabel 'jobs per minute'
set yrange [0:*]
plot $(join_plots "${plots_t[@]}")
EOF
gnuplot <<EOF
$common
set output '$out/scheduled_jobs_lag.png'
set title "scheduled_jobs in $db_name: p99 lag (fired_at - run_at) per minute, last $hours h"
set ylabel 'p99 lag, ms (log)'
set logscale y
plot $(join_plots "${plots_l[@]}")
EOF
echo "$out/scheduled_jobs_throughput.png"
echo "$out/scheduled_jobs_lag.png"
