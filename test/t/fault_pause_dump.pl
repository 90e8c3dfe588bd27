
# Fault: operations.
#  - scheduled_jobs.paused = on + reload: due jobs stay pending (NOTIFY and
#    procedure); off + reload: they fire, once.
#  - pg_dump -Fc of a database with pending jobs, pg_restore into a new
#    database while paused: the jobs are there; after unpausing they fire
#    once in each database, and new ids do not collide with restored ones.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = sj_node('pause');
sj_setup_db($node, 'src');

# Set paused and wait until new sessions see it (the postmaster has
# processed the reload; it signals the workers at the same time).
sub set_paused
{
	my ($value) = @_;
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET scheduled_jobs.paused = $value; SELECT pg_reload_conf()");
	ok(sj_poll($node, 'postgres', 'SHOW scheduled_jobs.paused', $value, 10),
		"scheduled_jobs.paused = $value after reload");
	return;
}

sub schedule
{
	my ($db, $tag, $n, $delay) = @_;
	$node->safe_psql($db, qq{
		BEGIN;
		SELECT count(scheduled_jobs.schedule_job(now() + interval '$delay', procedure => 'sjt.record',
			payload => jsonb_build_object('n', g, 'token', '$tag'))) FROM generate_series(1, $n) g;
		SELECT count(scheduled_jobs.schedule_job(now() + interval '$delay', channel => 'pause',
			payload => jsonb_build_object('n', g, 'token', '$tag'))) FROM generate_series(1, $n) g;
		COMMIT;});
	return;
}

sub fired_once
{
	my ($db, $tag, $n, $what) = @_;
	ok( sj_poll($node, $db,
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$tag'",
			2 * $n, 30),
		"$what: all fired");
	is( $node->safe_psql($db,
			"SELECT count(*) || '/' || count(DISTINCT n) FROM sjt.effects WHERE token = '$tag'"),
		"$n/$n", "$what: procedure jobs ran exactly once");
	is( $node->safe_psql($db, qq{
			SELECT string_agg(state || ':' || c, ',' ORDER BY state) FROM
			(SELECT state, count(*) c FROM scheduled_jobs.job_history
			 WHERE payload->>'token' = '$tag' GROUP BY state) s}),
		"notified:$n,succeeded:$n", "$what: history states");
	return;
}

# A control job proves the scheduler works before pausing.
schedule('src', 'control', 10, '0 s');
fired_once('src', 'control', 10, 'before pausing');

# 1. paused: jobs due in 1 s stay pending for a while after they are due.
set_paused('on');
my $N = 500;
schedule('src', 'paused', $N, '1 s');
ok( sj_poll($node, 'src',
		"SELECT count(*) = 0 FROM scheduled_jobs.jobs WHERE run_at > now() - interval '2 s'",
		't', 20),
	'paused: the jobs are overdue by 2 s');
is( $node->safe_psql('src', q{
		SELECT (SELECT count(*) FROM scheduled_jobs.jobs WHERE payload->>'token' = 'paused') || '/' ||
		       (SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'paused') || '/' ||
		       (SELECT count(*) FROM sjt.effects WHERE token = 'paused')}),
	2 * $N . '/0/0', 'paused: due jobs stay pending (pending/history/effects)');
ok(scalar(sj_pids($node, 'src', 'scheduler')) == 1, 'paused: the scheduler still runs');

# 2. pg_dump -Fc while jobs are pending, pg_restore into a new database.
my $dump = PostgreSQL::Test::Utils::tempdir() . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump -Fc of a database with pending jobs');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
my ($stdout, $stderr);
my $ok = IPC::Run::run(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore into a new database') or diag($stderr);
is( $node->safe_psql('dst', q{
		SELECT count(*) FILTER (WHERE payload->>'token' = 'paused') || '/' || count(*)
		FROM scheduled_jobs.jobs}),
	2 * $N . '/' . 2 * $N, 'the restored database has the pending jobs');
is( $node->safe_psql('dst', q{SELECT string_agg(id::text, ',' ORDER BY id) FROM scheduled_jobs.jobs}),
	$node->safe_psql('src', q{SELECT string_agg(id::text, ',' ORDER BY id) FROM scheduled_jobs.jobs}),
	'with the same ids');
is($node->safe_psql('dst', q{SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'control'}),
	'20', 'and the history');
ok(scalar(sj_wait_pids($node, 'dst', 'scheduler', 1, 10)), 'the restored database gets a scheduler');

# A job scheduled after the restore must not take a restored id.
my ($ret, $newid, $err) = $node->psql('dst',
	"SELECT scheduled_jobs.schedule_job(now(), channel => 'pause', payload => '{\"token\": \"new\"}')");
is($ret, 0, 'schedule_job works in the restored database') or diag($err);
ok( $ret == 0 && $node->safe_psql('dst', qq{
		SELECT $newid > max(id) FROM scheduled_jobs.jobs WHERE id <> $newid}) eq 't',
	'a new job id is above the restored ids (the sequence was restored)');

# 3. unpause: everything fires once, in both databases.
set_paused('off');
fired_once('src', 'paused', $N, 'unpaused source');
fired_once('dst', 'paused', $N, 'unpaused restored copy');
ok( sj_poll($node, 'dst',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'new'", '1', 10),
	'the new job fired in the restored database');
is($node->safe_psql('dst', 'SELECT count(*) FROM scheduled_jobs.jobs'), '0',
	'nothing pending in the restored database');

# 4. pause again while procedure executors are idle-warm: they stop claiming.
set_paused('on');
schedule('src', 'paused2', 50, '0 s');
ok( sj_poll($node, 'src',
		"SELECT count(*) = 0 FROM scheduled_jobs.jobs WHERE run_at > now() - interval '1.5 s'",
		't', 20),
	'paused again: the jobs are overdue');
is($node->safe_psql('src',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'paused2'"),
	'0', 'paused again: warm executors claim nothing');
set_paused('off');
fired_once('src', 'paused2', 50, 'unpaused again');

sj_check_crash_free($node, 'pause/dump');
sj_stop($node);
done_testing();
