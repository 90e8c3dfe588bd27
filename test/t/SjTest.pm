# Helpers of the Perl tests that run against the shared cluster given by
# PGHOST/PGPORT/PGUSER (test/run.sh starts it).
package SjTest;

use strict;
use warnings;

use DBI;
use Exporter 'import';
use Time::HiRes qw(time);

use IO::Socket::INET;

our @EXPORT = qw(connect_db poll free_port consumers_exactly_once reconnects_quickly);

# connect_db($db): a connection in autocommit mode that raises on error;
# retried for up to 10 s while the server is not ready (e.g. in crash
# recovery after an earlier test crashed it).
sub connect_db
{
	my ($db) = @_;
	my $deadline = time + 10;
	while (1)
	{
		my $dbh = eval { DBI->connect("dbi:Pg:dbname=$db", undef, undef,
			{ AutoCommit => 1, RaiseError => 1, PrintError => 0, PrintWarn => 0 }) };
		return $dbh if $dbh;
		die "could not connect to $db: " . ($@ || $DBI::errstr) if time > $deadline;
		select(undef, undef, undef, 0.1);
	}
}

# poll($seconds, $sub): call $sub every 10 ms until it returns true (then
# the seconds it took, a true string) or the deadline passes (then undef).
sub poll
{
	my ($seconds, $check) = @_;
	my $start = time;
	while (1)
	{
		return sprintf('%.3f', time - $start) if $check->();
		return undef if time > $start + $seconds;
		select(undef, undef, undef, 0.01);
	}
}

# free_port($port): the first port from $port up that nobody uses on
# 127.0.0.1: bound here, then let go for a server to bind (with
# SO_REUSEADDR, as servers bind, so that connections of an earlier run in
# TIME_WAIT do not count).  A connection attempt would not do: it misses a
# client's connection whose ephemeral local port that is, which makes the
# server's bind fail.
sub free_port
{
	my ($port) = @_;
	while (1)
	{
		my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Proto => 'tcp',
			Listen => 1, ReuseAddr => 1);
		if ($s)
		{
			close($s);
			return $port;
		}
		$port++;
	}
}

# consumer_db($db): ($admin, $dbh), connections to postgres and to $db,
# made anew with the extension and an outbox table sjc.outbox for the
# consumers' effects.
sub consumer_db
{
	my ($db) = @_;
	my $admin = connect_db('postgres');
	$admin->do("DROP DATABASE IF EXISTS $db");
	$admin->do("CREATE DATABASE $db");
	my $dbh = connect_db($db);
	$dbh->do(q{CREATE EXTENSION scheduled_jobs});
	$dbh->do(q{CREATE SCHEMA sjc});
	$dbh->do(q{CREATE TABLE sjc.outbox (job_id bigint NOT NULL, payload jsonb NOT NULL)});
	return ($admin, $dbh);
}

# start_consumer($command, $db, $port, $log): the pid of a consumer run as
# $command->($dsn) (a list for exec; PGPORT and PGDATABASE set for it), its
# stderr in $TESTDIR/$log.
sub start_consumer
{
	my ($command, $db, $port, $log) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	return $pid if $pid;
	$ENV{PGDATABASE} = $db;
	$ENV{PGPORT} = $port;
	open(STDERR, '>', "$ENV{TESTDIR}/$log") if $ENV{TESTDIR};
	my @cmd = $command->("host=$ENV{PGHOST} port=$port user=$ENV{PGUSER} dbname=$db");
	exec(@cmd) or die "exec $cmd[0]: $!";
}

# consumers_exactly_once(name => ..., command => sub { my ($dsn) = @_; ... },
#                        consumers => 2, port => $ENV{PGPORT}, db => ...)
# The scenario of the consumer tests (consumer_*.pl): a database with an
# acknowledged channel and an outbox table, 300 jobs due over 3 s, the
# consumers started with command->($dsn) (a list for exec; PGPORT and
# PGDATABASE set for them), their server connections (application_name
# 'sjc_consumer') terminated at random for 5 s; then every job must have
# been handled exactly once.
sub consumers_exactly_once
{
	my (%opt) = @_;
	my $N = 300;
	my $db = $opt{db} // "sj_consumer_$opt{name}";
	my $port = $opt{port} // $ENV{PGPORT};
	my ($admin, $dbh) = consumer_db($db);
	$dbh->do(q{SELECT scheduled_jobs.configure_channel('sjc', '1 second', 50)});
	# due over the next 3 seconds, so that consumers are cut off in the middle
	$dbh->do(qq{SELECT scheduled_jobs.schedule_job(now() + (i % 30) * interval '100 ms',
		channel => 'sjc', payload => jsonb_build_object('i', i)) FROM generate_series(1, $N) i});

	my @pids = map { start_consumer($opt{command}, $db, $port, "consumer_$opt{name}_$_.log") }
		1 .. ($opt{consumers} // 2);

	my $kills = 0;
	my $until = time() + 5;
	while (time() < $until)
	{
		select(undef, undef, undef, 0.1 + rand(0.3));
		$kills += $admin->selectrow_array(q{
			SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = 'sjc_consumer' ORDER BY random() LIMIT 1) t});
	}
	Test::More::note("terminated $kills consumer connections");
	Test::More::ok($kills >= 5, "$opt{name}: the consumers' connections were terminated several times ($kills)");

	my $deadline = time() + 60;
	my @left = @pids;
	while (@left && time() < $deadline)
	{
		@left = grep { waitpid($_, 1) == 0 } @left;
		select(undef, undef, undef, 0.05);
	}
	Test::More::ok(!@left, "$opt{name}: the consumers drained the channel and exited");
	kill 'TERM', @left if @left;

	Test::More::is($dbh->selectrow_array(q{SELECT count(*) FROM sjc.outbox}), $N, "$opt{name}: $N effects");
	Test::More::is($dbh->selectrow_array(q{SELECT count(DISTINCT job_id) FROM sjc.outbox}), $N,
		"$opt{name}: each job handled exactly once");
	Test::More::is($dbh->selectrow_array(q{
		SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'sjc' AND state = 'acknowledged'}),
		$N, "$opt{name}: $N jobs acknowledged in job_history");
	Test::More::is($dbh->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'sjc'}),
		0, "$opt{name}: none left");
	Test::More::is($dbh->selectrow_array(q{
		SELECT count(*) FROM sjc.outbox o JOIN scheduled_jobs.job_history h ON h.id = o.job_id
		WHERE o.payload <> h.payload}), 0, "$opt{name}: each effect has its job's payload");
	$dbh->disconnect;
	$admin->do("DROP DATABASE $db");
	return;
}

# reconnects_quickly(name => ..., command => sub { my ($dsn) = @_; ... })
# One consumer on a channel that keeps a job for later (so that
# --until-idle never ends it), its connection terminated 8 times in a row,
# each time once it is back: each reconnect must take under 2.5 s (the
# first takes some 0.1 s).  A retry delay that kept growing after a
# successful reconnect would reach 3.2 s at the sixth and 5 s after.
sub reconnects_quickly
{
	my (%opt) = @_;
	my $db = "sj_reconnect_$opt{name}";
	my ($admin, $dbh) = consumer_db($db);
	$dbh->do(q{SELECT scheduled_jobs.configure_channel('sjc', '1 second')});
	$dbh->do(q{SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'sjc')});
	my $pid = start_consumer($opt{command}, $db, $ENV{PGPORT}, "reconnect_$opt{name}.log");
	my $backend = sub {
		my ($not) = @_;
		my $deadline = time() + 10;
		while (time() < $deadline)
		{
			my $be = $admin->selectrow_array(q{
				SELECT pid FROM pg_stat_activity WHERE datname = ? AND application_name = 'sjc_consumer'
				  AND pid <> ? AND state IS NOT NULL LIMIT 1}, undef, $db, $not);
			return $be if $be;
			select(undef, undef, undef, 0.01);
		}
		return undef;
	};
	my $be = $backend->(0);
	my @took;
	for my $i (1 .. 8)
	{
		last unless $be;
		$admin->do(q{SELECT pg_terminate_backend(?)}, undef, $be);
		my $t0 = time();
		$be = $backend->($be);
		push @took, time() - $t0;
	}
	my $slowest = (sort { $b <=> $a } @took)[0] // 99;
	Test::More::ok(@took == 8 && $slowest < 2.5,
		sprintf("$opt{name}: reconnected within 2.5 s after each of 8 terminations in a row (%d, the slowest in %.2f s)",
			scalar @took, $slowest));
	kill 'TERM', $pid;
	waitpid($pid, 0);
	$dbh->disconnect;
	$admin->do("DROP DATABASE $db WITH (FORCE)");
	return;
}

1;
