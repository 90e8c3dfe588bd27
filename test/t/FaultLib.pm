
# FaultLib.pm: shared helpers of the fault tests (test/t/fault_*.pl).
#
# Each fault test creates its own cluster(s) with PostgreSQL::Test::Cluster.
# Cluster.pm needs PG_REGRESS (init() runs "pg_regress --config-auth"); when it
# is not set we point it at the Debian postgresql-server-dev-15 copy, so the
# tests run with just TESTDIR and PATH set (as test/run.sh does).
package FaultLib;

use strict;
use warnings;

use Exporter 'import';
use Time::HiRes qw(time usleep);

our $PGBIN;
BEGIN
{
	$PGBIN = '/usr/lib/postgresql/15/bin';
	$ENV{PG_REGRESS} //=
	  '/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress';
	$ENV{PATH} = "$PGBIN:$ENV{PATH}"
	  unless ($ENV{PATH} // '') =~ m{(^|:)\Q$PGBIN\E/?(:|$)};
	# every poll_query_until of a fault test is bounded well below the
	# 2 minutes a file may take; a hang fails instead of stalling
	$ENV{PG_TEST_TIMEOUT_DEFAULT} //= 60;
}

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(sj_node sj_setup_db sj_sql sj_pids sj_wait_pids sj_wait_gone
  sj_poll sj_check_crash_free sj_log_since sj_wait_value sj_dbh sj_start sj_stop
  sj_crash_lines $PGBIN);

# sj_node(name, conf => "extra lines", allows_streaming => 1, start => 0)
# A new cluster with the library preloaded, started unless start => 0.
sub sj_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $opt{allows_streaming} // 0);
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'scheduled_jobs'\n"
		  . "max_worker_processes = 32\n"
		  . "log_min_messages = info\n"
		  # a crashing worker must not end the test early: the crash is
		  # reported by sj_check_crash_free, and the rest still checked
		  . "restart_after_crash = on\n");
	$node->append_conf('postgresql.conf', $opt{conf}) if $opt{conf};
	$node->start if $opt{start} // 1;
	return $node;
}

# The objects the tests count with: a procedure that inserts one row per run
# into sjt.effects (no unique constraint: doubles must show), and one that
# sleeps first.
our $SETUP_SQL = <<'EOSQL';
CREATE EXTENSION IF NOT EXISTS scheduled_jobs;
CREATE SCHEMA sjt;
CREATE TABLE sjt.effects (n bigint, token text, done_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE PROCEDURE sjt.record(payload jsonb) LANGUAGE sql
AS $$ INSERT INTO sjt.effects (n, token) VALUES ((payload->>'n')::bigint, payload->>'token') $$;
CREATE PROCEDURE sjt.slow(payload jsonb) LANGUAGE plpgsql
AS $$ BEGIN
	PERFORM pg_sleep(coalesce((payload->>'sleep')::float8, 2));
	INSERT INTO sjt.effects (n, token) VALUES ((payload->>'n')::bigint, payload->>'token');
END $$;
EOSQL

# sj_setup_db(node, db): create db (unless it is 'postgres') with the
# extension and the sjt objects, and wait for its scheduler.
sub sj_setup_db
{
	my ($node, $db, %opt) = @_;
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"}) if $db ne 'postgres';
	$node->safe_psql($db, $SETUP_SQL);
	sj_wait_pids($node, $db, 'scheduler', 1) unless $opt{no_wait};
	return;
}

sub sj_sql { my ($node, $db, $sql) = @_; return $node->safe_psql($db, $sql); }

# pids of the scheduled_jobs processes of a kind ('launcher', 'scheduler',
# 'executor') in database db (undef: any database), as a sorted list.
sub sj_pids
{
	my ($node, $db, $kind) = @_;
	my $dbcond = defined $db ? "AND datname = '$db'" : '';
	my $out = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs $kind' $dbcond ORDER BY pid"
	);
	return grep { length } split /\n/, $out;
}

# Wait until at least n processes of that kind run in db; returns their pids.
sub sj_wait_pids
{
	my ($node, $db, $kind, $n, $timeout) = @_;
	my $dbcond = defined $db ? "AND datname = '$db'" : '';
	sj_poll($node, 'postgres',
		"SELECT count(*) >= $n FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs $kind' $dbcond",
		't', $timeout // 30)
	  or return ();
	return sj_pids($node, $db, $kind);
}

# Wait until no process of that kind runs in db; true if so within timeout s.
sub sj_wait_gone
{
	my ($node, $db, $kind, $timeout) = @_;
	my $dbcond = defined $db ? "AND datname = '$db'" : '';
	return sj_poll($node, 'postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs $kind' $dbcond",
		't', $timeout);
}

# sj_poll(node, db, sql, expected, timeout_s): like poll_query_until with its
# own deadline (and tolerant of a server that is restarting).  True if the
# query returned expected before the deadline.
sub sj_poll
{
	my ($node, $db, $sql, $expected, $timeout) = @_;
	$expected //= 't';
	$timeout  //= 30;
	my $deadline = time() + $timeout;
	my $last     = '';
	while (time() < $deadline)
	{
		my ($stdout, $stderr);
		# a psql that cannot connect (the server restarts after a kill -9)
		# may exit before it reads its query: IPC::Run dies on the broken
		# pipe; that is one more failed try
		my $ret = eval {
			$node->psql($db, $sql,
				stdout => \$stdout, stderr => \$stderr, on_error_stop => 1);
		} // 1;
		$stdout //= '';
		$stderr //= $@;
		$last = $ret == 0 ? $stdout : "error: $stderr";
		return 1 if $ret == 0 && $stdout eq $expected;
		usleep(100_000);
	}
	diag("sj_poll gave up after ${timeout}s on: $sql\n  last result: $last\n  expected: $expected");
	return 0;
}

# sj_wait_value(node, db, sql, timeout): poll until sql returns a non-empty
# value; returns it (or undef).
sub sj_wait_value
{
	my ($node, $db, $sql, $timeout) = @_;
	my $deadline = time() + ($timeout // 30);
	while (time() < $deadline)
	{
		my ($stdout, $stderr);
		my $ret = eval {
			$node->psql($db, $sql, stdout => \$stdout, stderr => \$stderr);
		} // 1;
		return $stdout if $ret == 0 && length($stdout // '');
		usleep(50_000);
	}
	return undef;
}

# The server log from byte offset $from (0: all).
sub sj_log_since
{
	my ($node, $from) = @_;
	return PostgreSQL::Test::Utils::slurp_file($node->logfile, $from // 0);
}

# No crash in the log: "terminated by signal" only for the pids we killed.
sub sj_check_crash_free
{
	my ($node, $what, @killed) = @_;
	my @bad = grep {
		my $line = $_;
		!grep { $line =~ /\(PID $_\)/ } @killed
	} grep { /terminated by signal|was terminated by exception|PANIC:|TRAP:/ }
	  split /\n/, sj_log_since($node);
	ok(!@bad, "$what: no crash in the server log")
	  or diag(join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]));
	return !@bad;
}

# Crash lines of the log (a worker killed by a signal, PANIC, assertion).
sub sj_crash_lines
{
	my ($node) = @_;
	return grep { /terminated by signal|terminated by exception|PANIC:|TRAP:|Failed process was running/ }
	  split /\n/, sj_log_since($node);
}

# Start a node; if it fails (e.g. a worker crashed at start-up and
# restart_after_crash is off), fail the test with the reason and end the
# file: later checks would only fail for the same reason.
sub sj_start
{
	my ($node, $what) = @_;
	return 1 if $node->start(fail_ok => 1);
	fail("$what: server started");
	diag($_) for sj_crash_lines($node);
	done_testing();
	exit(1);
}

# Stop a node without bailing out of the whole run if it is already down.
# After a crash, stop it 'immediate': a fast shutdown that arrives during the
# crash recovery can wait a minute for the end-of-recovery checkpoint.
sub sj_stop
{
	my ($node, $mode) = @_;
	$mode = 'immediate' if !defined $mode && sj_crash_lines($node);
	return $node->stop($mode // 'fast', fail_ok => 1);
}

# A DBD::Pg connection to db of node (for LISTEN and SQLSTATEs).
sub sj_dbh
{
	my ($node, $db, %attr) = @_;
	require DBI;
	my $dsn = sprintf('dbi:Pg:dbname=%s;host=%s;port=%d', $db, $node->host, $node->port);
	return DBI->connect($dsn, undef, undef,
		{ AutoCommit => 1, RaiseError => 1, PrintError => 0, %attr });
}

1;
