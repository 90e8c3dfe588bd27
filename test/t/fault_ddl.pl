
# Fault: database-level DDL on a database whose scheduler runs and whose
# executors are busy (a job in pg_sleep(2)):  ALTER DATABASE RENAME, ALTER
# DATABASE SET TABLESPACE, CREATE DATABASE ... TEMPLATE and DROP DATABASE
# (without FORCE) succeed within a few seconds; the workers come back after
# RENAME / SET TABLESPACE / TEMPLATE; DROP EXTENSION stops the database's
# workers and CREATE EXTENSION starts them again (README guarantee 7).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $FEW = 5;    # seconds a DDL statement may take

my $node = sj_node('ddl', conf => "log_statement = ddl\n");
sj_setup_db($node, 'ddl1');
sj_setup_db($node, 'other');

my $seq = 0;

# Schedule two slow jobs in db and wait until an executor runs one.
sub make_busy
{
	my ($db, $tag) = @_;
	$node->safe_psql($db, qq{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.slow',
			payload => jsonb_build_object('n', g, 'token', '$tag', 'sleep', 2))
		FROM generate_series(1, 2) g});
	my $pid = sj_wait_value($node, 'postgres', qq{
		SELECT pid FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs executor' AND datname = '$db'
		  AND query LIKE '%CALL%slow%' AND state = 'active' LIMIT 1}, 8);
	ok($pid, "$tag: an executor is busy in $db");
	return $pid;
}

# Run a DDL statement, timed.
sub timed_ddl
{
	my ($db, $sql, $what) = @_;
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql($db, $sql);
	my $took = time() - $t0;
	is($ret, 0, "$what succeeds") or diag($err);
	ok($took < $FEW, sprintf("%s takes %.2fs (< %ds)", $what, $took, $FEW));
	return;
}

sub scheduler_back
{
	my ($db, $what) = @_;
	my $t0 = time();
	my $back = ok(scalar(sj_wait_pids($node, $db, 'scheduler', 1, 10)),
		"$what: the scheduler of $db is back");
	note(sprintf('%s: scheduler back after %.1fs', $what, time() - $t0)) if $back;
	return $back;
}

# The two slow jobs of tag finished exactly once each.
sub slow_jobs_done
{
	my ($db, $tag, $what, $back) = @_;
	SKIP:
	{
		skip "$what: no scheduler, so the jobs cannot run", 2 unless $back;
	ok( sj_poll($node, $db,
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$tag' AND state = 'succeeded'",
			'2', 30),
		"$what: the interrupted jobs ran again");
	is($node->safe_psql($db,
			"SELECT count(*) || '/' || count(DISTINCT n) FROM sjt.effects WHERE token = '$tag'"),
		'2/2', "$what: each exactly once");
	}
	return;
}

# 1. ALTER DATABASE RENAME
make_busy('ddl1', 'rename');
timed_ddl('postgres', 'ALTER DATABASE ddl1 RENAME TO ddl1b', 'ALTER DATABASE RENAME');
my $back = scheduler_back('ddl1b', 'RENAME');
slow_jobs_done('ddl1b', 'rename', 'RENAME', $back);

# 2. ALTER DATABASE SET TABLESPACE
my $tsdir = PostgreSQL::Test::Utils::tempdir_short();
$node->safe_psql('postgres', "CREATE TABLESPACE ts1 LOCATION '$tsdir'");
make_busy('ddl1b', 'tablespace');
timed_ddl('postgres', 'ALTER DATABASE ddl1b SET TABLESPACE ts1', 'ALTER DATABASE SET TABLESPACE');
is($node->safe_psql('postgres',
		"SELECT spcname FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE datname = 'ddl1b'"),
	'ts1', 'the database moved');
$back = scheduler_back('ddl1b', 'SET TABLESPACE');
slow_jobs_done('ddl1b', 'tablespace', 'SET TABLESPACE', $back);

# 3. CREATE DATABASE ... TEMPLATE of a database with the extension
make_busy('ddl1b', 'template');
timed_ddl('postgres', 'CREATE DATABASE ddlcopy TEMPLATE ddl1b', 'CREATE DATABASE TEMPLATE');
$back = scheduler_back('ddl1b', 'TEMPLATE source');
slow_jobs_done('ddl1b', 'template', 'TEMPLATE source', $back);
# the copy has its own copy of the pending jobs: they run there once too
$back = scheduler_back('ddlcopy', 'TEMPLATE copy');
slow_jobs_done('ddlcopy', 'template', 'TEMPLATE copy', $back);

# 4. DROP EXTENSION stops the database's workers; CREATE EXTENSION restarts.
{
	make_busy('other', 'dropext');
	my @exec = sj_pids($node, 'other', 'executor');
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql('other', 'DROP EXTENSION scheduled_jobs');
	is($ret, 0, 'DROP EXTENSION with a busy executor succeeds') or diag($err);
	note(sprintf('DROP EXTENSION took %.2fs (waits for the running job)', time() - $t0));
	ok(sj_wait_gone($node, 'other', 'scheduler', 5), 'DROP EXTENSION: the scheduler stops');
	ok(sj_wait_gone($node, 'other', 'executor', 10),
		'DROP EXTENSION: the executors stop (within 10 s)');
	note('executors still in "other": ' . join(',', sj_pids($node, 'other', 'executor')));

	$t0 = time();
	$node->safe_psql('other', 'CREATE EXTENSION scheduled_jobs');
	ok(scalar(sj_wait_pids($node, 'other', 'scheduler', 1, 5)),
		'CREATE EXTENSION again starts a scheduler');
	note(sprintf('scheduler up %.2fs after CREATE EXTENSION', time() - $t0));
	$node->safe_psql('other', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.record', payload => '{"n": 1, "token": "recreated"}');
		SELECT scheduled_jobs.schedule_job(now(), channel => 'c', payload => '{"n": 1, "token": "recreated"}');});
	ok( sj_poll($node, 'other',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'recreated'", '2', 12),
		'jobs fire after CREATE EXTENSION again');
	is($node->safe_psql('other', "SELECT count(*) FROM sjt.effects WHERE token = 'recreated'"),
		'1', 'its procedure job ran once');
}

# 5. DROP DATABASE (no FORCE) with a busy executor
{
	make_busy('ddl1b', 'dropdb');
	my $oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'ddl1b'");
	timed_ddl('postgres', 'DROP DATABASE ddl1b', 'DROP DATABASE');
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE datid = $oid"),
		'0', 'DROP DATABASE: nothing is connected to the dropped database');
	ok(scalar(sj_pids($node, undef, 'launcher')) == 1, 'DROP DATABASE: the launcher still runs');
	ok(scalar(sj_pids($node, 'other', 'scheduler')) == 1, 'DROP DATABASE: other databases keep their scheduler');
	$node->safe_psql('other',
		q{SELECT scheduled_jobs.schedule_job(now(), channel => 'c', payload => '{"token": "after_drop"}')});
	ok( sj_poll($node, 'other',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'after_drop'", '1', 10),
		'DROP DATABASE: other databases keep firing');
	timed_ddl('postgres', 'DROP DATABASE ddlcopy', 'DROP DATABASE of the copy');
}

unlike(sj_log_since($node), qr/is being accessed by other users/,
	'no DDL was refused because of the workers');
sj_check_crash_free($node, 'ddl');
sj_stop($node);
done_testing();
