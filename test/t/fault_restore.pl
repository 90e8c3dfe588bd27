
# Fault: a restored copy fires nothing until the operator says so (issue 8,
# item 10).  The per-database pause:
#  - prod has pending NOTIFY and procedure jobs, some due in a few seconds,
#    some in an hour; pg_dump -Fc prod;
#  - CREATE DATABASE staging; ALTER DATABASE staging SET
#    scheduled_jobs.paused = on; pg_restore -d staging: prod's jobs fire in
#    prod, and nothing fires in staging, also well after they are due;
#  - ALTER DATABASE staging RESET scheduled_jobs.paused: staging's due jobs
#    fire (they were only paused), once;
#  - ALTER DATABASE prod SET scheduled_jobs.paused = on pauses prod alone
#    (a running scheduler obeys it); RESET: prod fires.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = sj_node('restore', conf => "scheduled_jobs.max_sleep = 10s\n");
sj_setup_db($node, 'prod');

sub count_of
{
	my ($db, $table, $tag) = @_;
	my $sql = $table eq 'effects'
	  ? "SELECT count(*) FROM sjt.effects WHERE token = '$tag'"
	  : "SELECT count(*) FROM scheduled_jobs.$table WHERE payload->>'token' = '$tag'";
	return $node->safe_psql($db, $sql);
}

# Schedule n NOTIFY and n procedure jobs tagged $tag, due in $delay; returns
# the epoch they are due at.
sub schedule
{
	my ($db, $tag, $n, $delay) = @_;
	my $out = $node->safe_psql($db, qq{
		SELECT count(scheduled_jobs.schedule_job(now() + interval '$delay', channel => 'restore',
			payload => jsonb_build_object('n', g, 'token', '$tag'))) FROM generate_series(1, $n) g;
		SELECT count(scheduled_jobs.schedule_job(now() + interval '$delay', procedure => 'sjt.record',
			payload => jsonb_build_object('n', g, 'token', '$tag'))) FROM generate_series(1, $n) g;
		SELECT extract(epoch FROM now() + interval '$delay');});
	return (split /\n/, $out)[-1];
}

sub fired_once
{
	my ($db, $tag, $n, $what, $timeout) = @_;
	ok( sj_poll($node, $db,
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$tag'",
			2 * $n, $timeout // 10),
		"$what: all fired");
	is( $node->safe_psql($db, qq{
			SELECT (SELECT count(*) FROM scheduled_jobs.job_history
			        WHERE payload->>'token' = '$tag' AND state = 'notified') || '/' ||
			       (SELECT count(*) FROM scheduled_jobs.job_history
			        WHERE payload->>'token' = '$tag' AND state = 'succeeded') || '/' ||
			       (SELECT count(*) || '/' || count(DISTINCT n) FROM sjt.effects WHERE token = '$tag')}),
		"$n/$n/$n/$n", "$what: notified/succeeded/effect rows/distinct effects");
	return;
}

# nothing of $tag fired in $db (pending 2n, no history, no effects)
sub nothing_fired
{
	my ($db, $tag, $n, $what) = @_;
	is( join('/', count_of($db, 'jobs', $tag), count_of($db, 'job_history', $tag),
			count_of($db, 'effects', $tag)),
		2 * $n . '/0/0', "$what: nothing fired (pending/history/effects)");
	return;
}

# Wait until the wall clock passes $epoch (a watch window: nothing to poll for).
sub wait_until
{
	my ($epoch) = @_;
	usleep(100_000) while time() < $epoch;
	return;
}

# A control round proves prod fires; its history is dumped along.
schedule('prod', 'control', 3, '0 s');
fired_once('prod', 'control', 3, 'prod before the dump');

my $N = 10;
my $due = schedule('prod', 'soon', $N, '4 s');
schedule('prod', 'later', 5, '1 hour');
my $dump = PostgreSQL::Test::Utils::tempdir() . '/prod.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('prod') ],
	'pg_dump -Fc prod with pending jobs');
ok(time() < $due - 1, 'the dump was taken before the jobs were due');

$node->safe_psql('postgres', 'CREATE DATABASE staging');
my ($ret, $out, $err) = $node->psql('postgres',
	'ALTER DATABASE staging SET scheduled_jobs.paused = on');
is($ret, 0, 'ALTER DATABASE staging SET scheduled_jobs.paused = on is accepted') or diag($err);
my ($stdout, $stderr);
my $ok = IPC::Run::run(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('staging'), $dump ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore -d staging') or diag($stderr);
is($node->safe_psql('staging', 'SHOW scheduled_jobs.paused'), 'on',
	'a new session in staging sees scheduled_jobs.paused = on');
my $hist0 = $node->safe_psql('staging', 'SELECT count(*) FROM scheduled_jobs.job_history');
is($hist0, '6', 'staging has the restored history (the control round)');
is( $node->safe_psql('staging', q{
		SELECT count(*) FILTER (WHERE payload->>'token' = 'soon') || '/' ||
		       count(*) FILTER (WHERE payload->>'token' = 'later') FROM scheduled_jobs.jobs}),
	2 * $N . '/10', 'staging has the pending jobs (soon/later)');
# scheduling works in the paused copy; a job due now waits too
$node->safe_psql('staging', q{
	SELECT scheduled_jobs.schedule_job(now(), channel => 'restore', payload => '{"token": "staging_new"}')});

fired_once('prod', 'soon', $N, 'prod after the dump');

# Watch staging until 5 s after the jobs were due.
wait_until($due + 5);
nothing_fired('staging', 'soon', $N, 'staging paused, 5 s after due');
is($node->safe_psql('staging', 'SELECT count(*) FROM scheduled_jobs.job_history'),
	$hist0, 'staging paused: job_history gained no row');
is(count_of('staging', 'jobs', 'staging_new'), '1', 'staging paused: a job scheduled there waits too');
note('staging paused: schedulers in staging: '
	  . scalar(sj_pids($node, 'staging', 'scheduler')) . ', executors: '
	  . scalar(sj_pids($node, 'staging', 'executor')));

# The operator says so.
$node->safe_psql('postgres', 'ALTER DATABASE staging RESET scheduled_jobs.paused');
my $t0 = time();
fired_once('staging', 'soon', $N, 'staging after RESET');
note(sprintf('staging after RESET: fired within %.1f s', time() - $t0));
ok( sj_poll($node, 'staging',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'staging_new'", '1', 5),
	'staging after RESET: the job scheduled there fires too');
is(count_of('staging', 'jobs', 'later'), '10', 'staging after RESET: the jobs due in an hour still wait');
is(count_of('prod', 'jobs', 'later'), '10', 'prod: the jobs due in an hour still wait');

# Pause prod alone, its scheduler running.
($ret, $out, $err) = $node->psql('postgres', 'ALTER DATABASE prod SET scheduled_jobs.paused = on');
is($ret, 0, 'ALTER DATABASE prod SET scheduled_jobs.paused = on is accepted') or diag($err);
$due = schedule('prod', 'prod_paused', 3, '2 s');
schedule('staging', 'staging_live', 3, '2 s');
fired_once('staging', 'staging_live', 3, 'prod paused: staging still fires');
wait_until($due + 3);
nothing_fired('prod', 'prod_paused', 3, 'prod paused, 3 s after due');
$node->safe_psql('postgres', 'ALTER DATABASE prod RESET scheduled_jobs.paused');
fired_once('prod', 'prod_paused', 3, 'prod after RESET');

is($node->safe_psql('postgres', 'SHOW scheduled_jobs.paused'), 'off',
	'the server-wide setting was never changed');
sj_check_crash_free($node, 'restore');
sj_stop($node);
done_testing();
