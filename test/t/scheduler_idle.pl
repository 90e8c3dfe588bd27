#!/usr/bin/perl
# A scheduler with nothing it can do stays idle: in a database still at an
# earlier version (0.3.0, before ALTER EXTENSION ... UPDATE), in one whose
# fire step keeps failing on a due job (here a trigger an administrator
# added to job_history): it tries again after a growing delay instead of
# spinning; and in a paused database, with a job due and history to prune
# (a prune that the pause holds back once spun the scheduler).  Measured as the scheduler's CPU time over a few
# seconds (/proc/<pid>/stat), and, for the failing step, its errors in that
# time.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one); creates and drops databases of its own, named sj_t_idle*.
use strict;
use warnings;

use DBI;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Time::HiRes qw(time);

alarm 120;

my @DBS = qw(sj_t_idle_old sj_t_idle_fail sj_t_idle_paused);
my $admin = connect_db('postgres');
sub drop_all { $admin->do("DROP DATABASE IF EXISTS $_ WITH (FORCE)") for @DBS; }
drop_all();
END { drop_all() if $admin; }

sub scheduler_pid
{
	my ($db) = @_;
	my $pid;
	poll(30, sub {
		$pid = $admin->selectrow_array(q{SELECT pid FROM pg_stat_activity
			WHERE backend_type = 'scheduled_jobs scheduler' AND datname = $1}, undef, $db);
		defined $pid });
	return $pid;
}

# CPU seconds (user + system) of process $pid so far.
sub cpu_seconds
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return undef;
	my $stat = <$fh>;
	close $fh;
	$stat =~ s/^.*\) //;	# after the command name, which may hold spaces
	my @f = split / /, $stat;
	return ($f[11] + $f[12]) / 100;	# utime, stime: fields 14, 15
}

# CPU seconds the scheduler of $db uses over $seconds.
sub cpu_over
{
	my ($db, $seconds) = @_;
	my $pid = scheduler_pid($db);
	my $before = cpu_seconds($pid);
	select(undef, undef, undef, $seconds);
	my $after = cpu_seconds($pid);
	return defined $before && defined $after ? $after - $before : undef;
}

# 1. a database at 0.3.0
$admin->do("CREATE DATABASE sj_t_idle_old");
my $old = connect_db('sj_t_idle_old');
$old->do(q{CREATE EXTENSION scheduled_jobs VERSION '0.3.0'});
ok(scheduler_pid('sj_t_idle_old'), 'a database at 0.3.0 gets a scheduler');
# let it start (a first pass, a prune), then measure
select(undef, undef, undef, 0.5);
my $cpu = cpu_over('sj_t_idle_old', 3);
ok(defined $cpu && $cpu <= 0.1, "idle at 0.3.0: $cpu s of CPU in 3 s");
$old->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp(), channel => 'sj_t_idle', job_key => 'k')});
ok(poll(5, sub { $old->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
		WHERE job_key = 'k' AND state = 'notified'}) == 1 }),
	'and it still fires the jobs of 0.3.0');
$old->disconnect;

# 2. a fire step that keeps failing: a trigger on job_history refuses the
# job with an error that is not the job's (SQLSTATE class 55), so the whole
# step fails and is retried
$admin->do("CREATE DATABASE sj_t_idle_fail");
my $fail = connect_db('sj_t_idle_fail');
$fail->do(q{CREATE EXTENSION scheduled_jobs});
$fail->do(q{CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN RAISE EXCEPTION 'sj_t_idle refuses' USING ERRCODE = '55000'; END $$});
$fail->do(q{CREATE TRIGGER refuse BEFORE INSERT ON scheduled_jobs.job_history
	FOR EACH ROW EXECUTE FUNCTION public.refuse()});
ok(scheduler_pid('sj_t_idle_fail'), 'a scheduler');
$fail->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp(), channel => 'sj_t_idle', job_key => 'stuck')});
# past the first retries, then measure
select(undef, undef, undef, 1);
my $t0 = $fail->selectrow_array(q{SELECT last_error_at FROM scheduled_jobs.status()});
ok(defined $t0, 'the failing step shows as the last error in status()');
$cpu = cpu_over('sj_t_idle_fail', 3);
ok(defined $cpu && $cpu <= 0.3, "a fire step that keeps failing does not spin: $cpu s of CPU in 3 s");
is($fail->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'stuck'}), 1,
	'the job it cannot fire stays pending');
like($fail->selectrow_array(q{SELECT last_error FROM scheduled_jobs.status()}), qr/^55000: sj_t_idle refuses/,
	'with its SQLSTATE and message');
$fail->do(q{DROP TRIGGER refuse ON scheduled_jobs.job_history});
ok(poll(15, sub { $fail->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
		WHERE job_key = 'stuck' AND state = 'notified'}) == 1 }),
	'once the trigger is gone, the job fires (within the retry delay)');
$fail->disconnect;

# 3. a paused database (paused before its scheduler started, so that its
# first prune is due at once), with a job due
$admin->do("CREATE DATABASE sj_t_idle_paused");
$admin->do("ALTER DATABASE sj_t_idle_paused SET scheduled_jobs.paused = on");
my $paused = connect_db('sj_t_idle_paused');
$paused->do(q{CREATE EXTENSION scheduled_jobs});
$paused->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp(), channel => 'sj_t_idle', job_key => 'held')});
ok(scheduler_pid('sj_t_idle_paused'), 'a paused database gets a scheduler');
select(undef, undef, undef, 0.5);
$cpu = cpu_over('sj_t_idle_paused', 3);
ok(defined $cpu && $cpu <= 0.1, "paused, with a job due: $cpu s of CPU in 3 s");
is($paused->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'held'}), 1,
	'the due job waits for the end of the pause');
$admin->do("ALTER DATABASE sj_t_idle_paused RESET scheduled_jobs.paused");
ok(poll(15, sub { $paused->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
		WHERE job_key = 'held' AND state = 'notified'}) == 1 }),
	'then it fires');
$paused->disconnect;

done_testing();
