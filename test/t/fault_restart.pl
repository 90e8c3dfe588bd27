
# Fault: the server is down when jobs fall due (fast and immediate shutdown),
# and an immediate shutdown in the middle of a backlog.  Guarantee README guarantee 3/README guarantee 4:
# after start every job fires, late but exactly once.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = sj_node('restart');
sj_setup_db($node, 'app');

my $N = 300;    # per kind and round

# Schedule N procedure and N NOTIFY jobs due in $delay_ms, tagged by round.
sub schedule_round
{
	my ($round, $delay_ms) = @_;
	my $due = $node->safe_psql('app', qq{
		SELECT count(scheduled_jobs.schedule_job(now() + interval '$delay_ms ms',
			procedure => 'sjt.record', payload => jsonb_build_object('n', g, 'token', '$round')))
		FROM generate_series(1, $N) g;
		SELECT count(scheduled_jobs.schedule_job(now() + interval '$delay_ms ms',
			channel => 'restart_$round', payload => jsonb_build_object('n', g, 'token', '$round')))
		FROM generate_series(1, $N) g;
		SELECT extract(epoch FROM now() + interval '$delay_ms ms');});
	return (split /\n/, $due)[-1];
}

# All of the round fired exactly once, after the server (re)started at $since.
sub check_round
{
	my ($round, $what) = @_;
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$round'",
			2 * $N, 60),
		"$what: all jobs reached job_history");
	is( $node->safe_psql('app',
			"SELECT count(*) FROM scheduled_jobs.jobs WHERE payload->>'token' = '$round'"),
		'0', "$what: no job left pending");
	is( $node->safe_psql('app', qq{
			SELECT count(*) || '/' || count(DISTINCT n) FROM sjt.effects WHERE token = '$round'}),
		"$N/$N", "$what: each procedure job ran exactly once");
	is( $node->safe_psql('app', qq{
			SELECT string_agg(state || ':' || c, ',' ORDER BY state) FROM
			(SELECT state, count(*) c FROM scheduled_jobs.job_history
			 WHERE payload->>'token' = '$round' GROUP BY state) s}),
		"notified:$N,succeeded:$N", "$what: history states");
	return;
}

# Sleep until the wall clock passes $epoch: the server is down, so there is
# nothing to poll; this only lets the jobs fall due while it is.
sub sleep_until
{
	my ($epoch) = @_;
	my $left = $epoch - time() + 0.2;
	usleep(int($left * 1e6)) if $left > 0;
	return;
}

for my $mode (qw(fast immediate))
{
	my $round = "down_$mode";
	my $due = schedule_round($round, 2500);
	is( $node->safe_psql('app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$round'"),
		'0', "$mode: nothing fired before the shutdown");
	sj_stop($node, $mode);
	sleep_until($due);
	sj_start($node, "$mode restart");
	check_round($round, "$mode shutdown, jobs due while down");
	is( $node->safe_psql('app', qq{
			SELECT count(*) FROM scheduled_jobs.job_history
			WHERE payload->>'token' = '$round' AND fired_at < pg_postmaster_start_time()}),
		'0', "$mode: every job fired after the restart");
}

# Immediate shutdown while a backlog of due jobs is firing.
{
	my $round = 'mid_backlog';
	$node->safe_psql('app', q{
		CREATE OR REPLACE PROCEDURE sjt.record(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN
			PERFORM pg_sleep(0.003);
			INSERT INTO sjt.effects (n, token) VALUES ((payload->>'n')::bigint, payload->>'token');
		END $$;});
	schedule_round($round, 0);
	ok( sj_poll($node, 'app',
			"SELECT count(*) > 0 FROM sjt.effects WHERE token = '$round'", 't', 30),
		'backlog: executors started');
	my $done = $node->safe_psql('app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$round'");
	note("immediate shutdown with $done of " . 2 * $N . " jobs finished");
	sj_stop($node, "immediate");
	sj_start($node, "mid-backlog restart");
	check_round($round, 'immediate shutdown mid-backlog');
}

# The worker is still alive and on time after all that.
my $t0 = time();
$node->safe_psql('app',
	"SELECT scheduled_jobs.schedule_job(now(), channel => 'after', payload => '{\"token\": \"after\"}')");
ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'after'", '1', 10),
	'a new job fires after the restarts');
note(sprintf('new job fired within %.2fs', time() - $t0));

sj_check_crash_free($node, 'restart');
sj_stop($node);
done_testing();
