#!/usr/bin/env bash
# The test suite of scheduled_jobs: the one command the README gives.
#
#   bash test/run.sh            everything
#   bash test/run.sh --quick    everything but the fault tests (test/t/fault_*.pl),
#                               which start and kill clusters of their own
#
# Runs from any directory, as root (CI: the cluster runs as the postgres OS
# user) or as a normal user with sudo (for apt-get and make install).  It
# installs missing packages, builds and installs the extension, starts one
# throwaway cluster on 127.0.0.1 (port from $SJ_PORT, default 55400, or the
# next free one), and runs in turn:
#   1. pg_regress  (make installcheck TEMP_INSTANCE=: sql/<test>.sql against
#                   expected/<test>.out, on the shared cluster)
#   2. pgTAP       (pg_prove test/pgtap/*.sql in a database with pgtap installed)
#   3. Perl TAP    (prove test/t/*.pl; notify_*.pl use the shared cluster through
#                   PGHOST/PGPORT/PGUSER, fault_*.pl start their own clusters with
#                   PostgreSQL::Test::Cluster)
#   4. Debian package (test/package.sh: builds the .deb, installs it, and runs
#                   pg_regress against it on a temporary instance of its own)
# The cluster and every temporary directory are removed on exit, also on
# failure or interrupt; the logs of a failed run are kept and their place
# printed.  Exits non-zero if anything failed.
set -u

QUICK=0
for arg in "$@"; do
	case $arg in
		--quick) QUICK=1 ;;
		-h|--help) sed -n '2,23p' "$0"; exit 0 ;;
		*) echo "usage: bash test/run.sh [--quick]" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)
. test/lib.sh

export SJ_PORT=${SJ_PORT:-55400}
PERL_TEST_LIB=/usr/lib/postgresql/15/lib/pgxs/src/test/perl
# Bounds of each step, so that a hang fails the run instead of stalling CI.
REGRESS_TIMEOUT=${SJ_REGRESS_TIMEOUT:-300}
PGTAP_TIMEOUT=${SJ_PGTAP_TIMEOUT:-600}
PROVE_TIMEOUT=${SJ_PROVE_TIMEOUT:-1800}
PACKAGE_TIMEOUT=${SJ_PACKAGE_TIMEOUT:-300}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
T0=$(now_ms)
WORK=$(mktemp -d /tmp/sj-test-$$.XXXX)
# the cluster and the Perl tests run as postgres when we are root
[ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK"
CLUSTER=$WORK/cluster
RESULTS=()
FAILED=0
KEEP_LOGS=

elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

cleanup() {
	local rc=$?
	sj_cluster_stop "$CLUSTER"
	# a fast stop can fail, e.g. while the server is in crash recovery
	[ -f "$CLUSTER/data/postmaster.pid" ] &&
		sj_as_pg $SJ_PGBIN/pg_ctl -D "$CLUSTER/data" -m immediate -w stop >/dev/null 2>&1
	# a Perl test that died may have left a cluster of its own running
	if [ -d "$WORK/tap" ]; then
		local pid
		for pid in $(find "$WORK/tap" -name postmaster.pid 2>/dev/null); do
			sj_as_pg $SJ_PGBIN/pg_ctl -D "$(dirname "$pid")" -m immediate -w stop >/dev/null 2>&1
		done
	fi
	if [ -n "$KEEP_LOGS" ]; then
		mkdir -p "$KEEP_LOGS"
		cp "$CLUSTER/server.log" "$KEEP_LOGS/" 2>/dev/null
		cp -r "$WORK/regress" "$KEEP_LOGS/" 2>/dev/null
		[ -d "$WORK/tap/tmp_check/log" ] && cp -r "$WORK/tap/tmp_check/log" "$KEEP_LOGS/tap-log"
		echo "logs of the failed run kept in $KEEP_LOGS"
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# step NAME COMMAND...: run one step, time it, record the result
step() {
	local name=$1 t rc; shift
	echo
	echo "=== $name"
	t=$(now_ms)
	"$@"
	rc=$?
	if [ $rc = 0 ]; then
		RESULTS+=("ok    $name ($(elapsed "$t") s)")
	else
		RESULTS+=("FAIL  $name ($(elapsed "$t") s, exit $rc)")
		FAILED=1
	fi
	return $rc
}

summary() {
	echo
	echo "=== summary"
	printf '%s\n' "${RESULTS[@]}"
	if [ $FAILED = 0 ]; then
		echo "ALL PASSED in $(elapsed "$T0") s"
	else
		KEEP_LOGS=/tmp/sj-test-logs-$$
		echo "FAILED in $(elapsed "$T0") s"
	fi
	# the plain closing line: steps passed and failed
	local failed
	failed=$(printf '%s\n' "${RESULTS[@]}" | grep -c '^FAIL')
	echo "steps: $((${#RESULTS[@]} - failed)) passed, $failed failed"
}

# --- the steps ---------------------------------------------------------

install_packages() { sj_install_packages; }

build_install() { sj_build_install; }

start_cluster() {
	sj_cluster_start "$CLUSTER" || { cat "$CLUSTER/server.log" 2>/dev/null; return 1; }
	echo "cluster on 127.0.0.1:$PGPORT in $CLUSTER"
}

# pg_regress runs on the shared cluster (TEMP_INSTANCE=: no instance of its
# own), so that the server log step sees a crash, and writes its results and
# diffs outside the checkout, so that runs of several engineers in one
# checkout do not mix.
run_regress() {
	local out=$WORK/regress rc
	mkdir -p "$out"
	timeout "$REGRESS_TIMEOUT" make -s installcheck TEMP_INSTANCE= EXTRA_REGRESS_OPTS="--outputdir=$out"
	rc=$?
	if [ $rc != 0 ] && [ -f "$out/regression.diffs" ]; then
		echo "--- $out/regression.diffs"
		cat "$out/regression.diffs"
	fi
	return $rc
}

# Wait up to 60 s for the server to accept connections (after a crash of an
# earlier step it restarts and recovers first; the crash is reported anyway).
wait_ready() {
	local i
	for i in $(seq 600); do
		$SJ_PGBIN/pg_isready -q -h "$PGHOST" -p "$PGPORT" && return 0
		sleep 0.1
	done
	echo "the server does not accept connections"; return 1
}

# No server process may have crashed during the run.
check_log() {
	if grep -E "terminated by signal|exited with exit code [2-9]|PANIC" "$CLUSTER/server.log"; then
		echo "the server log of the shared cluster shows a crash (above)"; return 1
	fi
	echo "no crash in $CLUSTER/server.log"
}

run_pgtap() {
	local db=sj_pgtap files
	wait_ready || return 1
	files=$(ls test/pgtap/*.sql 2>/dev/null)
	[ -z "$files" ] && { echo "no pgTAP files"; return 0; }
	psql -XqAt -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" &&
		psql -XqAt -v ON_ERROR_STOP=1 -d "$db" \
			-c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION scheduled_jobs" || return 1
	PGDATABASE=$db timeout "$PGTAP_TIMEOUT" pg_prove --ext .sql -d "$db" $files
}

# Perl tests run as the postgres OS user when we are root (initdb refuses
# root), in a temporary directory it owns; if it cannot read the checkout
# (e.g. a clone under /root), they run from a copy of it.  The tests on the
# shared cluster run first, then the fault tests, in a prove of their own so
# that a fault test that bails out does not hide the others.
run_perl() {
	local shared=() faults=() t dir=$REPO as_pg=() rc=0
	for t in test/t/*.pl; do
		[ -e "$t" ] || continue
		case ${t##*/} in
			fault_*) if [ $QUICK = 1 ]; then echo "--quick: skipping $t"; else faults+=("$t"); fi ;;
			*) shared+=("$t") ;;
		esac
	done
	[ $((${#shared[@]} + ${#faults[@]})) = 0 ] && { echo "no Perl tests"; return 0; }
	wait_ready || return 1
	mkdir -p "$WORK/tap"
	if [ "$(id -u)" = 0 ]; then
		as_pg=(runuser -u postgres --)
		chown postgres:postgres "$WORK/tap"
		if ! runuser -u postgres -- test -r "$REPO/test/t/notify_listen.pl"; then
			dir=$WORK/tap/repo
			mkdir -p "$dir"
			tar -C "$REPO" --exclude=.git -cf - . | tar -C "$dir" -xf -
			chown -R postgres:postgres "$dir"
		fi
	fi
	prove_as_pg() {
		(cd "$dir" && timeout "$PROVE_TIMEOUT" "${as_pg[@]}" env \
			PATH="$SJ_PGBIN:$PATH" TESTDIR="$WORK/tap" HOME="$WORK/tap" \
			PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" PGDATABASE=postgres \
			SJ_REPO="$dir" \
			prove -v -I "$PERL_TEST_LIB" -I test/t "$@")
	}
	if [ ${#shared[@]} -gt 0 ]; then prove_as_pg "${shared[@]}" || rc=1; fi
	if [ ${#faults[@]} -gt 0 ]; then prove_as_pg "${faults[@]}" || rc=1; fi
	return $rc
}

step "packages" install_packages || { summary; exit 1; }
step "build and install" build_install || { summary; exit 1; }
step "cluster start" start_cluster || { summary; exit 1; }
step "pg_regress" run_regress
step "pgTAP" run_pgtap
step "Perl TAP$([ $QUICK = 1 ] && echo ' (--quick: no fault tests)')" run_perl
# etcd and two Patroni nodes of its own, failovers under load (about 2
# minutes); like the fault tests, not with --quick
if [ $QUICK = 1 ]; then echo; echo "--quick: skipping test/ha/run.sh (Patroni)"
else step "Patroni failover" bash test/ha/run.sh; fi
step "server log" check_log
step "pgindent layout" bash test/indent.sh
# last, so that the package's files, installed over those of make install,
# cannot disturb the other steps
step "Debian package" timeout "$PACKAGE_TIMEOUT" bash test/package.sh
summary
exit $FAILED
