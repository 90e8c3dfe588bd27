
# Fault: streaming replication (README guarantee 8).  Jobs are replicated to a hot standby;
# nothing fires there (no scheduled_jobs process, the jobs stay); after the
# standby is promoted, everything due fires exactly once on the new primary.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

# The primary is paused: the due jobs must reach the standby unfired.
my $primary = sj_node('primary', allows_streaming => 1,
	conf => "scheduled_jobs.paused = on\n");
sj_setup_db($primary, 'app');

my $N = 500;
$primary->safe_psql('app', qq{
	BEGIN;
	SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
		payload => jsonb_build_object('n', g, 'token', 'repl'))) FROM generate_series(1, $N) g;
	SELECT count(scheduled_jobs.schedule_job(now(), channel => 'repl',
		payload => jsonb_build_object('n', g, 'token', 'repl'))) FROM generate_series(1, $N) g;
	-- due while the standby is a standby
	SELECT count(scheduled_jobs.schedule_job(now() + interval '2 s', procedure => 'sjt.record',
		payload => jsonb_build_object('n', g, 'token', 'soon'))) FROM generate_series(1, 100) g;
	COMMIT;});

$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
# the standby fires nothing because it is a standby, not because it is paused
$standby->append_conf('postgresql.conf', "scheduled_jobs.paused = off\n");
sj_start($standby, 'standby');

# More jobs after the backup: they come by streaming.
$primary->safe_psql('app', q{
	SELECT count(scheduled_jobs.schedule_job(now(), channel => 'repl',
		payload => jsonb_build_object('n', g, 'token', 'streamed'))) FROM generate_series(1, 100) g});
$primary->wait_for_catchup($standby);

my $total = 2 * $N + 200;
is($standby->safe_psql('app', 'SELECT count(*) FROM scheduled_jobs.jobs'),
	$total, 'the standby has every pending job');
is($standby->safe_psql('app', 'SELECT pg_is_in_recovery()'), 't', 'it is a hot standby');

# Let every job fall due (the 'soon' ones in 2 s), then watch the standby for
# a while: nothing may fire and no worker may run.  The standby cannot write,
# but its launcher must not even start (BgWorkerStart_RecoveryFinished).
ok( sj_poll($standby, 'app',
		"SELECT count(*) = 0 FROM scheduled_jobs.jobs WHERE run_at > now() - interval '1 s'",
		't', 20),
	'every job is due on the standby');
my $workers = "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'scheduled_jobs%'";
is($standby->safe_psql('postgres', $workers), '0', 'no scheduled_jobs process on the standby');
is($standby->safe_psql('app', 'SELECT count(*) FROM scheduled_jobs.jobs'),
	$total, 'the standby jobs are unchanged');
is( $standby->safe_psql('app',
		'SELECT (SELECT count(*) FROM scheduled_jobs.job_history) + (SELECT count(*) FROM sjt.effects)'),
	'0', 'nothing fired on the standby');
my ($ret, $out, $err) = $standby->psql('app',
	"SELECT scheduled_jobs.schedule_job(now(), channel => 'x')");
like($err, qr/read-only transaction/, 'schedule_job on the standby fails as read-only');
unlike(sj_log_since($standby), qr/scheduled_jobs (scheduler|launcher|executor)/,
	'the standby log shows no scheduled_jobs worker');

# Promote the standby after stopping the primary: the new primary fires.
sj_stop($primary);
my $t0 = time();
$standby->promote;
ok( sj_poll($standby, 'app', 'SELECT count(*) FROM scheduled_jobs.jobs', '0', 60),
	'after promotion every job fired');
note(sprintf('backlog of %d jobs fired %.1fs after promotion', $total, time() - $t0));
is( $standby->safe_psql('app', q{
		SELECT string_agg(state || ':' || c, ',' ORDER BY state) FROM
		(SELECT state, count(*) c FROM scheduled_jobs.job_history GROUP BY state) s}),
	sprintf('notified:%d,succeeded:%d', $N + 100, $N + 100), 'history states on the new primary');
is( $standby->safe_psql('app', q{
		SELECT count(*) || '/' || count(DISTINCT (token, n)) FROM sjt.effects}),
	sprintf('%d/%d', $N + 100, $N + 100), 'each procedure job ran exactly once');
is( $standby->safe_psql('app', q{
		SELECT count(*) FROM scheduled_jobs.job_history WHERE fired_at < (
			SELECT pg_postmaster_start_time())}),
	'0', 'nothing fired before the standby started');

# The new primary schedules and fires new jobs on time.
$standby->safe_psql('app',
	"SELECT scheduled_jobs.schedule_job(now(), channel => 'after', payload => '{\"token\": \"after\"}')");
ok( sj_poll($standby, 'app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'after'", '1', 10),
	'a new job fires on the new primary');
is( $standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs scheduler' AND datname = 'app'"),
	'1', 'one scheduler on the new primary');

sj_check_crash_free($standby, 'standby');
sj_stop($standby);
done_testing();
