
# Fault: resource pressure.
#  - max_worker_processes too small for any executor (3 = the launcher, the
#    logical replication launcher and the database's scheduler): procedure
#    jobs wait, the log says why ('could not start a scheduled_jobs
#    executor'), NOTIFY jobs (fired by the scheduler itself) still fire,
#    nothing is lost; after a restart with more workers all procedure jobs run
#    exactly once.  (max_worker_processes needs a restart to change.)
#  - NOTIFY queue pressure: a listener sits in an open transaction while
#    3,000 NOTIFY jobs fire.  Jobs keep firing (the queue holds them for the
#    listener); once its transaction ends it receives every envelope once.
#    (PostgreSQL 15's queue is 8 GB: filling it is out of reach of a bounded
#    test, so this checks that a stuck listener does not stop firing.)
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use JSON::PP;

my $node = sj_node('pressure', conf => "max_worker_processes = 3\n");
sj_setup_db($node, 'app');
is($node->safe_psql('postgres', 'SHOW max_worker_processes'), '3', 'max_worker_processes = 3');

my $N = 500;
my $log_offset = -s $node->logfile;
$node->safe_psql('app', qq{
	BEGIN;
	SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
		payload => jsonb_build_object('n', g, 'token', 'starved'))) FROM generate_series(1, $N) g;
	SELECT count(scheduled_jobs.schedule_job(now(), channel => 'starved',
		payload => jsonb_build_object('n', g, 'token', 'starved'))) FROM generate_series(1, $N) g;
	COMMIT;});

ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'starved' AND state = 'notified'",
		$N, 30),
	'no worker slot for executors: NOTIFY jobs still fire');
ok($node->wait_for_log(qr/WARNING:  could not start a scheduled_jobs executor/, $log_offset),
	'the log says why procedure jobs wait');
like(sj_log_since($node, $log_offset), qr/HINT:  Raise max_worker_processes/, 'with a hint');
is( $node->safe_psql('app', q{
		SELECT (SELECT count(*) FROM scheduled_jobs.jobs WHERE payload->>'token' = 'starved') || '/' ||
		       (SELECT count(*) FROM sjt.effects)}),
	"$N/0", 'procedure jobs wait pending (pending/effects)');
is(scalar(sj_pids($node, 'app', 'executor')), 0, 'no executor runs');
# one warning per 10 s at most, not one per pass
my $warnings = () = sj_log_since($node, $log_offset) =~ /could not start a scheduled_jobs executor/g;
note("executor start warnings so far: $warnings");

# Raise it: needs a restart.
$node->append_conf('postgresql.conf', "max_worker_processes = 32\n");
$node->restart;
ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'starved'",
		2 * $N, 60),
	'after the restart with more worker processes every job finished');
is($node->safe_psql('app', "SELECT count(*) || '/' || count(DISTINCT n) FROM sjt.effects WHERE token = 'starved'"),
	"$N/$N", 'each procedure job ran exactly once');
is( $node->safe_psql('app', q{
		SELECT string_agg(state || ':' || c, ',' ORDER BY state) FROM
		(SELECT state, count(*) c FROM scheduled_jobs.job_history
		 WHERE payload->>'token' = 'starved' GROUP BY state) s}),
	"notified:$N,succeeded:$N", 'history states');

# NOTIFY queue pressure: a listener stuck in an open transaction.
{
	my $M        = 3000;
	my $listener = sj_dbh($node, 'app');
	$listener->do('LISTEN pressure');
	$listener->begin_work;
	$listener->do('SELECT 1');    # a snapshot: the transaction is open

	my $filler = 'x' x 1000;
	$node->safe_psql('app', qq{
		SELECT count(scheduled_jobs.schedule_job(now(), channel => 'pressure',
			payload => jsonb_build_object('n', g, 'token', 'pressure', 'fill', '$filler')))
		FROM generate_series(1, $M) g});
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'pressure'",
			$M, 60),
		'a listener in an open transaction does not stop NOTIFY jobs from firing');
	my $usage = $node->safe_psql('app', 'SELECT pg_notification_queue_usage()');
	ok($usage > 0, "the queue holds the notifications for the stuck listener (usage $usage)");
	my @early;
	while (my $n = $listener->pg_notifies) { push @early, $n; }
	is(scalar(@early), 0, 'the stuck listener received nothing inside its transaction');

	$listener->commit;
	my (%seen, $dups, $bad);
	my $deadline = time() + 30;
	$dups = $bad = 0;
	while (keys(%seen) < $M && time() < $deadline)
	{
		my $got = 0;
		while (my $n = shift(@early) // $listener->pg_notifies)
		{
			$got++;
			my $env = eval { decode_json($n->[2]) };
			if (!$env || !defined $env->{id} || !exists $env->{job_key}
				|| !$env->{run_at} || ($env->{payload}{token} // '') ne 'pressure')
			{
				$bad++;
				next;
			}
			$dups++ if $seen{ $env->{id} }++;
		}
		next if $got;
		$listener->do('SELECT 1');    # lets libpq read what arrived
		usleep(20_000);
	}
	is(scalar(keys %seen), $M, 'after its transaction the listener received every job');
	is($dups, 0, 'none twice');
	is($bad,  0, 'every envelope is {"id", "job_key", "run_at", "payload"}');
	my $ids = join(',', sort { $a <=> $b } keys %seen);
	is($ids, $node->safe_psql('app', q{
			SELECT string_agg(id::text, ',' ORDER BY id) FROM scheduled_jobs.job_history
			WHERE payload->>'token' = 'pressure'}),
		'the received ids are the notified jobs');
	$listener->disconnect;
	ok( sj_poll($node, 'app', 'SELECT pg_notification_queue_usage() = 0', 't', 20),
		'the queue drains once the listener caught up');
}

sj_check_crash_free($node, 'pressure');
sj_stop($node);
done_testing();
