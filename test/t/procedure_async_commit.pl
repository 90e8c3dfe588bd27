#!/usr/bin/perl
# A procedure declared with SET synchronous_commit = off has its jobs commit
# asynchronously, each job's effects with its completion: 600 such jobs make
# far fewer WAL flushes (pg_stat_wal.wal_sync) than 600 jobs of the same
# procedure without the declaration, and every job still ran exactly once.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one), in a database of its own, sj_t_async.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;

alarm 180;

my $DB = 'sj_t_async';
my $N = 600;
my $admin = connect_db('postgres');
$admin->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)");
$admin->do("CREATE DATABASE $DB");
END
{
	if ($admin)
	{
		$admin->do('ALTER SYSTEM RESET scheduled_jobs.executor_idle_timeout');
		$admin->do('SELECT pg_reload_conf()');
		$admin->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)");
	}
}
# executors exit (and so report their WAL statistics) soon after each round
$admin->do(q{ALTER SYSTEM SET scheduled_jobs.executor_idle_timeout = '200ms'});
$admin->do('SELECT pg_reload_conf()');

my $dbh = connect_db($DB);
$dbh->do('CREATE EXTENSION scheduled_jobs');
$dbh->do('CREATE TABLE effects (tag text, n int)');
$dbh->do(q{CREATE PROCEDURE public.durable(p jsonb) LANGUAGE sql
	AS $$INSERT INTO effects VALUES (p->>'tag', (p->>'n')::int)$$});
$dbh->do(q{CREATE PROCEDURE public.quick(p jsonb) LANGUAGE sql SET synchronous_commit = off
	AS $$INSERT INTO effects VALUES (p->>'tag', (p->>'n')::int)$$});

sub executors
{
	return $admin->selectrow_array(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs executor' AND datname = $1}, undef, $DB);
}

# WAL flushes while N jobs of $procedure run, and their effects
sub round
{
	my ($procedure, $tag) = @_;
	(my $key = $tag) =~ s/ /_/g;
	ok(poll(20, sub { executors() == 0 }), "$tag: no executor left from before");
	$admin->do('SELECT pg_stat_clear_snapshot()');
	my $before = $admin->selectrow_array('SELECT wal_sync FROM pg_stat_wal');
	$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), procedure => $1, payload => jsonb_build_object('tag', $2::text, 'n', g))
		FROM generate_series(1, $3) g}, undef, $procedure, $key, $N);
	ok(poll(60, sub { $dbh->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
		WHERE payload->>'tag' = $1 AND state = 'succeeded'}, undef, $key) == $N }), "$tag: all $N jobs succeeded");
	ok(poll(20, sub { executors() == 0 }), "$tag: the executors exited, reporting their statistics");
	$admin->do('SELECT pg_stat_clear_snapshot()');
	my $after = $admin->selectrow_array('SELECT wal_sync FROM pg_stat_wal');
	is($dbh->selectrow_array(q{SELECT count(*) || '/' || count(DISTINCT n) FROM effects WHERE tag = $1}, undef, $key),
		"$N/$N", "$tag: each job's effect once");
	return $after - $before;
}

my $sync = round('public.durable', 'durable');
my $async = round('public.quick', 'quick');
note("WAL flushes: $sync for $N synchronous jobs, $async for $N declared synchronous_commit = off");
cmp_ok($sync, '>=', $N / 4, 'synchronous jobs flush WAL about once each (group commit may share some)');
cmp_ok($async, '<', $sync / 4, 'jobs of a procedure declared synchronous_commit = off flush WAL far less often');

# The same executors run asynchronous jobs, write their statistics (which
# commit asynchronously too), then synchronous jobs, which must still flush:
# an asynchronous commit must end with its transaction, not stay the
# process's setting.  So must the scheduler's, after it wrote its own
# statistics: NOTIFY jobs fired one by one then flush each.
$admin->do(q{ALTER SYSTEM SET scheduled_jobs.executor_idle_timeout = '30s'});
$admin->do('SELECT pg_reload_conf()');
ok(poll(20, sub { executors() == 0 }), 'mixed: no executor left from before');
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), procedure => 'public.quick',
	payload => jsonb_build_object('tag', 'mixed_quick', 'n', g)) FROM generate_series(1, $1) g}, undef, $N);
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), channel => 'mixed_first') FROM generate_series(1, 10)});
ok(poll(60, sub { $dbh->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
	WHERE payload->>'tag' = 'mixed_quick' OR channel = 'mixed_first'}) == $N + 10 }),
	'mixed: the asynchronous jobs ran, and a few NOTIFY jobs');
ok(poll(20, sub { $dbh->selectrow_array(q{SELECT COALESCE(sum(fired), 0) FROM scheduled_jobs.job_stats
	WHERE target IN ('public.quick', 'mixed_first')}) == 2 * $N + 10 }),
	'mixed: the executors and the scheduler wrote their statistics');
my $pids = $admin->selectcol_arrayref(q{SELECT pid FROM pg_stat_activity
	WHERE backend_type = 'scheduled_jobs executor' AND datname = $1 ORDER BY pid}, undef, $DB);

# WAL flushes while $sql's jobs ($n of them, matched by $cond) run
sub flushes
{
	my ($what, $sql, $cond, $n) = @_;
	$admin->do('SELECT pg_stat_clear_snapshot()');
	my $before = $admin->selectrow_array('SELECT wal_sync FROM pg_stat_wal');
	$dbh->do($sql);
	ok(poll(60, sub { $dbh->selectrow_array("SELECT count(*) FROM scheduled_jobs.job_history WHERE $cond") == $n }),
		"mixed: $what ran");
	return $before;
}
my $before = flushes('the synchronous jobs', qq{SELECT scheduled_jobs.schedule_job(now(), procedure => 'public.durable',
	payload => jsonb_build_object('tag', 'mixed_durable', 'n', g)) FROM generate_series(1, $N) g},
	q{payload->>'tag' = 'mixed_durable'}, $N);
my $same = $admin->selectcol_arrayref(q{SELECT pid FROM pg_stat_activity
	WHERE backend_type = 'scheduled_jobs executor' AND datname = $1 ORDER BY pid}, undef, $DB);
is("@$same", "@$pids", 'mixed: by the same executors');
$admin->do(q{ALTER SYSTEM SET scheduled_jobs.executor_idle_timeout = '200ms'});
$admin->do('SELECT pg_reload_conf()');
ok(poll(20, sub { executors() == 0 }), 'mixed: the executors exited, reporting their statistics');
$admin->do('SELECT pg_stat_clear_snapshot()');
my $durable = $admin->selectrow_array('SELECT wal_sync FROM pg_stat_wal') - $before;
cmp_ok($durable, '>=', $N / 4, "mixed: the synchronous jobs after the asynchronous ones flush WAL ($durable times)");

$before = flushes('200 NOTIFY jobs, 5 ms apart', q{SELECT scheduled_jobs.schedule_job(clock_timestamp() + g * interval '5 ms',
	channel => 'mixed_notify') FROM generate_series(1, 200) g}, q{channel = 'mixed_notify'}, 200);
# (the scheduler reports its statistics before a sleep of a second or more)
my $notify;
poll(10, sub {
	$admin->do('SELECT pg_stat_clear_snapshot()');
	$notify = $admin->selectrow_array('SELECT wal_sync FROM pg_stat_wal') - $before;
	return $notify >= 50;
});
cmp_ok($notify, '>=', 50, "mixed: NOTIFY jobs fired one by one after the scheduler wrote its statistics flush WAL ($notify times)");
done_testing();
