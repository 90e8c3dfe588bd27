#!/bin/bash
# Render a benchmark run's raw samples as PNG plots with gnuplot.
#
#   bash bench/plot.sh RAW_DIR [OUT_DIR]
#
# RAW_DIR is bench/results/raw/<run>/ as the workload scripts leave it
# (common.sh: raw_samples, raw_plot, raw_series): NAME.dat files of one
# sample a line, and plots.tsv naming the plots and their series.  Writes
# OUT_DIR/<run>_<plot>.png (default OUT_DIR bench/results) and prints their
# paths.  bench/run.sh calls it at the end, a workload script run alone in
# its bench_finish.
#   lag plots: the CDF of each series (fraction of jobs with lag <= x), x on a
#     log scale; the legend gives n, min, p50 and p99 (interpolated as
#     percentile_cont does, the tables' figures).
#   tput plots: above, jobs done per 100 ms bucket, as jobs/s, from the start
#     (10, 20 or 50 ms buckets when the longest series is too short for 30 of
#     100 ms, as --quick backlogs are: the ylabel says which); below, the jobs
#     done so far (the slope is the rate, readable at any bucket size); the
#     legend gives n, the time of the last one and the mean rate.
#   xy plots: each series a line through its "x y" samples, one a line;
#     the plot's START field holds "XLABEL|YLABEL"; the legend gives the
#     last and the largest y.
set -e
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAW=${1:?usage: bench/plot.sh RAW_DIR [OUT_DIR]}
RAW=$(cd "$RAW" && pwd)
OUT=${2:-$ROOT/bench/results}
RUN=$(basename "$RAW")
[ -s "$RAW/plots.tsv" ] || { echo "plot.sh: nothing to plot in $RAW" >&2; exit 0; }
if ! command -v gnuplot >/dev/null; then
	. "$ROOT/test/lib.sh"
	sj_install_packages gnuplot-nox >&2
fi
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/sj-plot-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# Lags below this are drawn at it (a log axis has no zero); the legend's
# min is the real one, so an early job (negative lag) still shows there.
FLOOR=0.01

# gp_str TEXT: TEXT as a gnuplot double-quoted string.
gp_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# lag_series DAT OUT: writes the CDF points to OUT, prints "n min p50 p99 max".
lag_series() {
	sort -g "$1" | awk -v floor="$FLOOR" -v out="$2" '
		NF { v[++n] = $1 }
		function pct(p,   r, lo) {
			r = 1 + p * (n - 1); lo = int(r)
			return lo >= n ? v[n] : v[lo] + (r - lo) * (v[lo + 1] - v[lo])
		}
		END {
			if (n == 0) { print "0 - - - -"; exit }
			printf "%.6g 0\n", (v[1] < floor ? floor : v[1]) > out
			for (i = 1; i <= n; i++)
				printf "%.6g %.6g\n", (v[i] < floor ? floor : v[i]), i / n > out
			printf "%d %.3g %.3g %.3g %.3g\n", n, v[1], pct(0.5), pct(0.99), v[n]
		}'
}

# tput_series DAT OUT WIDTH_S: jobs/s per bucket of WIDTH_S from 0 to the
# last one (empty buckets as 0, so that stalls show), prints "n last_s
# mean_rate peak_rate".
tput_series() {
	awk -v out="$2" -v w="$3" '
		function floor(x) { return x < 0 ? -int(-x) - (int(-x) != -x) : int(x) }
		NF {
			b = floor($1 / w); c[b]++; n++
			if (n == 1 || b < lo) lo = b
			if (n == 1 || b > hi) hi = b
			if (n == 1 || $1 > last) last = $1
		}
		END {
			if (n == 0) { print "0 - - -"; exit }
			if (lo > 0) lo = 0
			peak = 0
			for (b = lo; b <= hi; b++) {
				printf "%.3f %.0f\n", b * w, c[b] / w > out
				if (c[b] / w > peak) peak = c[b] / w
			}
			# the step of the last bucket ends at its end
			printf "%.3f %.0f\n", (hi + 1) * w, c[hi] / w > out
			printf "%d %.3g %.0f %d\n", n, last, (last > 0 ? n / last : 0), peak
		}' "$1"
}

SJ_COLORS=('#1f5fb4' '#ff7f0e')
LIMIT_COLORS=('#d62728' '#555555' '#2ca02c' '#9467bd')

# gp_plot CURVE...: a gnuplot plot command.
gp_plot() {
	local sep="" c
	printf 'plot '
	for c in "$@"; do
		printf '%s%s' "$sep" "$c"
		sep=", \\"$'\n'"     "
	done
	echo
}

plot_one() {
	local plot=$1 kind=$2 title=$3 start=$4 gp=$TMP/$1.gp png=$OUT/${RUN}_$1.png
	[ -n "$start" ] || start="the unpausing reload for scheduled_jobs, the limit's CALL or pgbench start"
	local i=0 nlim=0 nsj=0 role name label plots=() cums=() style file width=0.1 ms
	if [ "$kind" = tput ]; then
		# the bucket: 100 ms, finer when that gives fewer than 30
		local longest
		longest=$(awk -v m=0 '$1 > m { m = $1 } END { print m }' \
			$(awk -F'\t' -v p="$plot" -v d="$RAW" '$1 == "series" && $2 == p { print d "/" $4 ".dat" }' "$RAW/plots.tsv"))
		for ms in 100 50 20 10; do
			width=$(awk -v ms=$ms 'BEGIN { print ms / 1000 }')
			awk -v l="$longest" -v w="$width" 'BEGIN { exit !(l / w >= 30) }' && break
		done
	fi
	while IFS=$'\t' read -r what p role name label; do
		[ "$what" = series ] && [ "$p" = "$plot" ] || continue
		i=$((i + 1))
		file=$TMP/$plot.$i.xy
		if [ ! -s "$RAW/$name.dat" ]; then
			echo "plot.sh: $plot: no samples in $name.dat" >&2
			continue
		fi
		if [ "$kind" = xy ]; then
			cp "$RAW/$name.dat" "$file"
			label="$label ($(awk 'NF { last = $2; if (n++ == 0 || $2 > max) max = $2 }
				END { printf "last %.4g, max %.4g", last, max }' "$file"))"
		elif [ "$kind" = lag ]; then
			set -- $(lag_series "$RAW/$name.dat" "$file")
			label="$label (n=$1; min $2, p50 $3, p99 $4, max $5 ms)"
		else
			set -- $(tput_series "$RAW/$name.dat" "$file" "$width")
			label="$label ($1 jobs, last at $2 s: $3 jobs/s)"
			# jobs done so far, at most ~2000 points
			sort -g "$RAW/$name.dat" | awk -v n="$1" 'BEGIN { k = int(n / 2000) + 1; print 0, 0 }
				NF { i++; if (i % k == 0 || i == n) print $1, i }' >"$file.cum"
		fi
		if [ "$role" = sj ]; then
			style="lc rgb '${SJ_COLORS[$((nsj % ${#SJ_COLORS[@]}))]}' lw 2.5 dt 1"
			nsj=$((nsj + 1))
		else
			style="lc rgb '${LIMIT_COLORS[$((nlim % ${#LIMIT_COLORS[@]}))]}' lw 1.8 dt $((2 + nlim % 3))"
			nlim=$((nlim + 1))
		fi
		if [ "$kind" = xy ]; then
			plots+=("'$file' using 1:2 with lines $style title $(gp_str "$label")")
		else
			plots+=("'$file' using 1:2 with steps $style title $(gp_str "$label")")
		fi
		cums+=("'$file.cum' using 1:2 with lines $style title $(gp_str "$label")")
	done <"$RAW/plots.tsv"
	[ ${#plots[@]} -gt 0 ] || return 0
	{
		local sub="run $RUN" titlecmd
		[ -f "$ROOT/bench/results/$RUN.md" ] && sub="$sub, bench/results/$RUN.md"
		titlecmd="title $(gp_str "$title") . \"\\n\" . $(gp_str "$sub")"
		if [ "$kind" != tput ]; then
			echo "set terminal pngcairo size 1100,650 font 'DejaVu Sans,10' noenhanced"
			echo "set output '$png'"
			echo "set $titlecmd"
		else
			echo "set terminal pngcairo size 1100,850 font 'DejaVu Sans,10' noenhanced"
			echo "set output '$png'"
		fi
		echo "set key below left Left reverse samplen 4 spacing 1.2"
		echo "set grid xtics ytics mxtics lc rgb '#dddddd'"
		echo "set border 3; set tics nomirror"
		if [ "$kind" = xy ]; then
			echo "set xlabel $(gp_str "${start%%|*}")"
			echo "set ylabel $(gp_str "${start#*|}")"
			echo "set yrange [0:*]"
		elif [ "$kind" = lag ]; then
			echo "set logscale x 10"
			echo "set format x '%g'"
			echo "set xlabel 'lag (ms, log scale; below $FLOOR ms drawn at $FLOOR)'"
			echo "set ylabel 'fraction of jobs with lag ≤ x (CDF)'"
			echo "set yrange [0:1.005]"
			echo "set ytics (0, 0.1, 0.2, 0.3, 0.4, 'p50 0.5' 0.5, 0.6, 0.7, 0.8, 0.9, 'p99 0.99' 0.99)"
			echo "set arrow from graph 0, first 0.5 to graph 1, first 0.5 nohead lc rgb '#aaaaaa' dt 3"
			echo "set arrow from graph 0, first 0.99 to graph 1, first 0.99 nohead lc rgb '#aaaaaa' dt 3"
		else
			echo "set multiplot layout 2,1 $titlecmd"
			echo "set lmargin 12"
			echo "set xrange [0:$(awk -v l="$longest" 'BEGIN { print l * 1.02 }')]"
			echo "set yrange [0:*]"
			echo "set format y '%.0f'"
			echo "unset key"
			echo "set ylabel 'jobs done per second ($ms ms buckets)'"
		fi
		gp_plot "${plots[@]}"
		if [ "$kind" = tput ]; then
			echo "set key below left Left reverse samplen 4 spacing 1.2"
			echo "set xlabel $(gp_str "time from the start (s): $start")"
			echo "set ylabel 'jobs done so far'"
			gp_plot "${cums[@]}"
			echo "unset multiplot"
		fi
	} >"$gp"
	gnuplot "$gp" || { echo "plot.sh: gnuplot failed on $gp" >&2; cp "$gp" "$RAW/" ; return 1; }
	echo "$png"
}

rc=0
while IFS=$'\t' read -r what plot kind title start; do
	[ "$what" = plot ] || continue
	plot_one "$plot" "$kind" "$title" "$start" || rc=1
done <"$RAW/plots.tsv"
exit $rc
