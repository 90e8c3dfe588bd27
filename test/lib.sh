# Shared shell functions of the test, demo and benchmark scripts.
# Source it from the repository root: . test/lib.sh

SJ_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl libdbd-pg-perl libipc-run-perl make gcc python3-psycopg pgbouncer postgresql-15-cron prometheus-postgres-exporter gnuplot-nox"
SJ_PGBIN=${SJ_PGBIN:-/usr/lib/postgresql/15/bin}

# Install the Debian packages that are missing (needs root, or nothing missing).
sj_install_packages() {
	local missing="" p
	for p in $SJ_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages:$missing; run as root or install them" >&2
		return 1
	fi
	echo "installing:$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

# Build and install the extension (make install needs root).
sj_build_install() {
	make -s
	if [ "$(id -u)" = 0 ]; then make -s install >/dev/null; else sudo make -s install >/dev/null; fi
}

# Run a command as the postgres OS user (PostgreSQL refuses to run as root).
sj_as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A free TCP port on 127.0.0.1, from $1 upwards.
sj_free_port() {
	local port=${1:-54320}
	while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
	echo $port
}

# sj_cluster_start DIR [extra postgresql.conf lines...]
# Creates and starts a throwaway cluster in DIR on a free loopback port, with
# the library preloaded; exports PGHOST, PGPORT, PGUSER, PGDATA.
sj_cluster_start() {
	local dir=$1; shift
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
	export PGDATA=$dir/data PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres
	export PGPORT=$(sj_free_port "${SJ_PORT:-54320}")
	sj_as_pg $SJ_PGBIN/initdb -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $PGPORT"
		echo "unix_socket_directories = '$dir'"
		echo "shared_preload_libraries = 'scheduled_jobs'"
		echo "max_worker_processes = 32"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] %b '"
		for line in "$@"; do echo "$line"; done
	} >> "$PGDATA/postgresql.conf"
	sj_as_pg $SJ_PGBIN/pg_ctl -D "$PGDATA" -l "$dir/server.log" -w -t 60 start >/dev/null
}

# sj_cluster_stop DIR: stop the cluster in DIR if it runs.
sj_cluster_stop() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] && sj_as_pg $SJ_PGBIN/pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1
	return 0
}
