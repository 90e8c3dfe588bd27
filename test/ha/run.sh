#!/usr/bin/env bash
# High availability under a real Patroni: etcd and two Patroni nodes on
# 127.0.0.1 (ports 56500-56599), failovers and a switchover under load, with
# synchronous_mode on and then off (test/ha/patroni.pl says what it checks).
#
#   bash test/ha/run.sh        (test/run.sh runs it, except with --quick)
#
# Installs patroni, etcd-server and python3-etcd if missing (root), runs the
# test as the postgres OS user in a temporary directory it owns, and
# afterwards, also on failure or interrupt, stops whatever of etcd, Patroni,
# PostgreSQL and the clients is left and removes the directory.  Uses the
# PostgreSQL of $SJ_PGBIN (default /usr/lib/postgresql/15/bin), with the
# extension installed into it.  About 2 minutes; bounded by $SJ_HA_TIMEOUT
# seconds (default 300).
set -u
cd "$(dirname "$0")/../.." || exit 2
. test/lib.sh

sj_install_packages patroni etcd-server python3-etcd || exit 1

DIR=$(mktemp -d /tmp/sj-ha-$$.XXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
	as_pg=(runuser -u postgres --)
	chown postgres:postgres "$DIR"
fi

# Kill a pid only if it is one of ours: its command line names $DIR (etcd,
# Patroni, the clients, the postmaster), or it is a child of such a
# postmaster.
ours() { tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline" | grep -qF "$DIR"; }

cleanup() {
	local rc=$? f pid pids=() left
	for f in "$DIR"/pids/*.pid "$DIR"/node*/data/postmaster.pid; do
		[ -f "$f" ] || continue
		pid=$(head -n 1 "$f")
		case $pid in ''|*[!0-9]*) continue ;; esac
		ours "$pid" || continue
		pids+=("$pid")
		# a postmaster's children do not name $DIR
		[ "${f##*/}" = postmaster.pid ] && pids+=($(ps -o pid= --ppid "$pid"))
	done
	if [ ${#pids[@]} -gt 0 ]; then
		echo "test/ha/run.sh: killing what the test left running: ${pids[*]}"
		kill -KILL "${pids[@]}" 2>/dev/null
		for _ in $(seq 50); do
			left=$(ps -o pid= -p "$(IFS=,; echo "${pids[*]}")" 2>/dev/null)
			[ -z "$left" ] && break
			sleep 0.1
		done
	fi
	if [ $rc != 0 ] && [ -z "${SJ_HA_KEEP:-}" ]; then
		for f in "$DIR"/*.log "$DIR"/node*/patroni.log; do
			[ -f "$f" ] || continue
			echo "--- last lines of $f"
			tail -n 30 "$f"
		done
	fi
	if [ -n "${SJ_HA_KEEP:-}" ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP    # until the test runs

# the test's files, where postgres can read them whatever the checkout's
# permissions
cp -r test/ha "$DIR/src"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DIR/src"

# In the background, so that a signal to this script is handled at once:
# the test (its pid in $DIR/pids/test.pid) is told to stop, stops what it
# started, and is waited for; the EXIT trap then kills whatever is left.
timeout -s TERM "${SJ_HA_TIMEOUT:-300}" "${as_pg[@]}" env HOME="$DIR" SJ_HA_DIR="$DIR" SJ_PGBIN="$SJ_PGBIN" \
	PATH="$SJ_PGBIN:/usr/bin:/bin" prove -v "$DIR/src/patroni.pl" &
TEST=$!
interrupted() {
	local pid
	pid=$(head -n 1 "$DIR/pids/test.pid" 2>/dev/null)
	[ -n "$pid" ] && ours "$pid" && kill -TERM "$pid"
	for _ in $(seq 600); do kill -0 $TEST 2>/dev/null || break; sleep 0.1; done
	exit 130
}
trap interrupted INT TERM HUP
wait $TEST
