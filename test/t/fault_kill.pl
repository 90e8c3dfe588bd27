
# Fault: workers die in the middle of a backlog.
#  - kill -9 of the scheduler, then of an executor, while 3,000 procedure and
#    3,000 NOTIFY jobs due now are firing: the postmaster restarts everything
#    (crash recovery); every job then ran exactly once (README guarantee 3, README guarantee 4);
#  - pg_terminate_backend() of the scheduler, of an executor running a job,
#    and of the launcher: each comes back (or is restarted), nothing is lost.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# Small NOTIFY batches and a procedure that takes a few ms, so that a backlog
# lasts long enough to be killed in its middle.
# max_sleep is lowered from 60 s so that a job whose wake-up was lost still
# runs within the test (the prompt checks below tell a lost wake-up apart).
my $node = sj_node('kill', conf => "restart_after_crash = on\n"
	  . "scheduled_jobs.batch_size = 20\nlog_statement = none\n"
	  . "scheduled_jobs.max_sleep = 20s\n");
sj_setup_db($node, 'app');
$node->safe_psql('app', q{
	CREATE OR REPLACE PROCEDURE sjt.record(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN
		PERFORM pg_sleep(0.002);
		INSERT INTO sjt.effects (n, token) VALUES ((payload->>'n')::bigint, payload->>'token');
	END $$;});

my @killed;

sub schedule_backlog
{
	my ($round, $n) = @_;
	$node->safe_psql('app', qq{
		BEGIN;
		SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
			payload => jsonb_build_object('n', g, 'token', '$round'))) FROM generate_series(1, $n) g;
		SELECT count(scheduled_jobs.schedule_job(now(), channel => 'kill_$round',
			payload => jsonb_build_object('n', g, 'token', '$round'))) FROM generate_series(1, $n) g;
		COMMIT;});
	return;
}

sub progress
{
	my ($round) = @_;
	return $node->safe_psql('app', qq{
		SELECT (SELECT count(*) FROM sjt.effects WHERE token = '$round') || ' procedure, ' ||
		       (SELECT count(*) FROM scheduled_jobs.job_history
		        WHERE payload->>'token' = '$round' AND state = 'notified') || ' NOTIFY'});
}

sub check_backlog
{
	my ($round, $n, $what) = @_;
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$round'",
			2 * $n, 90),
		"$what: every job reached job_history");
	is( $node->safe_psql('app',
			"SELECT count(*) FROM scheduled_jobs.jobs WHERE payload->>'token' = '$round'"),
		'0', "$what: none left pending");
	is( $node->safe_psql('app',
			"SELECT count(*) || '/' || count(DISTINCT n) FROM sjt.effects WHERE token = '$round'"),
		"$n/$n", "$what: each procedure job ran exactly once (rows/distinct)");
	is( $node->safe_psql('app', qq{
			SELECT string_agg(state || ':' || c, ',' ORDER BY state) FROM
			(SELECT state, count(*) c FROM scheduled_jobs.job_history
			 WHERE payload->>'token' = '$round' GROUP BY state) s}),
		"notified:$n,succeeded:$n", "$what: history states");
	return;
}

# kill -9 in the middle of a backlog, of the scheduler and of an executor.
for my $kind (qw(scheduler executor))
{
	my $round = "kill9_$kind";
	my $n     = 3000;
	schedule_backlog($round, $n);
	my ($pid) = sj_wait_pids($node, 'app', $kind, 1);
	# poll fast on one connection: NOTIFY batches go by quickly
	my $dbh = sj_dbh($node, 'app');
	my $started = 0;
	my $deadline = time() + 30;
	my $probe = $kind eq 'scheduler'
	  ? "SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$round'"
	  : "SELECT count(*) FROM sjt.effects WHERE token = '$round'";
	my $threshold = $kind eq 'scheduler' ? 0 : 50;
	while (time() < $deadline)
	{
		($started) = $dbh->selectrow_array($probe);
		last if $started > $threshold;
		usleep(2000);
	}
	$dbh->disconnect;
	ok($started > $threshold, "kill -9 $kind: backlog is firing");
	# the executor pid may have changed meanwhile: take a current one
	($pid) = sj_pids($node, 'app', $kind);
	ok($pid, "kill -9 $kind: a $kind runs");
	next unless $pid;
	my $before = progress($round);
	kill 'KILL', $pid;
	push @killed, $pid;
	note("kill -9 $kind $pid with $before of $n each done");
	ok( $node->poll_query_until('app', 'SELECT true'),
		"kill -9 $kind: server back after crash recovery");
	ok( sj_poll($node, 'postgres',
			"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND pid <> $pid",
			't', 30),
		"kill -9 $kind: a scheduler runs again");
	check_backlog($round, $n, "kill -9 $kind");
}

# pg_terminate_backend of the scheduler in the middle of a backlog.
{
	my $round = 'term_scheduler';
	my $n     = 1000;
	schedule_backlog($round, $n);
	my ($pid) = sj_wait_pids($node, 'app', 'scheduler', 1);
	sj_poll($node, 'app',
		"SELECT count(*) > 0 FROM scheduled_jobs.job_history WHERE payload->>'token' = '$round'", 't', 30);
	is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"), 't',
		'pg_terminate_backend(scheduler)');
	note("terminated scheduler $pid with " . progress($round) . " done");
	ok( sj_poll($node, 'postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = 'app' AND pid <> $pid",
			't', 20),
		'terminated scheduler: the launcher starts a new one');
	check_backlog($round, $n, 'terminated scheduler');
}

# pg_terminate_backend of an executor running a job: the job's transaction
# rolls back, the attempt is counted (57P01, as any attempt that ends its
# executor: see fault_poison.pl), it runs again and its effect is there once.
{
	$node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.slow',
			payload => '{"n": 1, "token": "term_executor", "sleep": 1.5}')});
	my $pid = sj_wait_value($node, 'postgres', q{
		SELECT pid FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs executor' AND datname = 'app'
		  AND query LIKE '%CALL%slow%' AND state = 'active'}, 30);
	ok($pid, 'an executor runs the slow job');
	is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"), 't',
		'pg_terminate_backend(executor)') if $pid;
	my $t0 = time();
	my $q = q{SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'term_executor'};
	# The executor may have been started by the scheduler terminated above:
	# the postmaster then tells nobody that it died, and a lost wake-up
	# leaves the job waiting for scheduled_jobs.max_sleep.
	ok(sj_poll($node, 'app', $q, '1', 10),
		'terminated executor: the job runs again promptly (within 10 s)');
	ok(sj_poll($node, 'app', $q, '1', 30), 'terminated executor: the job runs again eventually');
	note(sprintf('terminated executor: job finished %.1fs after the termination', time() - $t0));
	is( $node->safe_psql('app', q{
			SELECT state || ' ' || attempts || ' ' || (last_error_data->>'sqlstate')
			FROM scheduled_jobs.job_history WHERE payload->>'token' = 'term_executor'}),
		'succeeded 2 57P01', 'terminated executor: the terminated attempt was counted (state, attempts, sqlstate)');
	is($node->safe_psql('app', "SELECT count(*) FROM sjt.effects WHERE token = 'term_executor'"),
		'1', 'terminated executor: effect exactly once');
}

# pg_terminate_backend of the launcher: the postmaster restarts it (restart
# time 5 s); the new launcher restarts a scheduler that stops.
{
	my ($lpid) = sj_pids($node, undef, 'launcher');
	ok($lpid, 'a launcher runs');
	is($node->safe_psql('postgres', "SELECT pg_terminate_backend($lpid)"), 't',
		'pg_terminate_backend(launcher)');
	ok( sj_poll($node, 'postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs launcher' AND pid <> $lpid",
			't', 20),
		'terminated launcher: a new launcher runs');
	my ($spid) = sj_wait_pids($node, 'app', 'scheduler', 1);
	ok($spid, 'the scheduler kept running meanwhile');
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($spid)");
	ok( sj_poll($node, 'postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = 'app' AND pid <> $spid",
			't', 20),
		'the new launcher restarts a terminated scheduler');
	schedule_backlog('after_launcher', 200);
	check_backlog('after_launcher', 200, 'after the launcher restart');
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = 'app'"),
		'1', 'one scheduler in the database, not two');
}

sj_check_crash_free($node, 'kill', @killed);
sj_stop($node);
done_testing();
