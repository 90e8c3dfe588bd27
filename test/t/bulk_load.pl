#!/usr/bin/perl
# A bulk load of jobs far ahead that has not committed yet (one transaction
# scheduling 100,000 NOTIFY and 100,000 procedure jobs a day ahead, held
# open) holds up no other job: the scheduler's scans for its next job look
# no further than scheduled_jobs.max_sleep ahead, so they do not walk the
# index entries of those rows, which they cannot see (they once read every
# one of them, for each job fired: minutes with 10,000,000).  Measured as
# the entries the run_at indexes returned (pg_stat_user_indexes) while a few
# jobs due now fire, against the size of the load.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one); creates and drops a database of its own, sj_t_bulk.
use strict;
use warnings;

use DBI;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;

alarm 180;

my $LOAD = 100_000;
my $admin = connect_db('postgres');
$admin->do('DROP DATABASE IF EXISTS sj_t_bulk WITH (FORCE)');
END { $admin->do('DROP DATABASE IF EXISTS sj_t_bulk WITH (FORCE)') if $admin; }
$admin->do('CREATE DATABASE sj_t_bulk');
my $db = connect_db('sj_t_bulk');
$db->do('CREATE EXTENSION scheduled_jobs');
$db->do(q{CREATE TABLE public.ran (at timestamptz DEFAULT clock_timestamp())});
$db->do(q{CREATE PROCEDURE public.run(p jsonb) LANGUAGE sql AS $$ INSERT INTO public.ran DEFAULT VALUES $$});
ok( poll(30, sub { $admin->selectrow_array(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler' AND datname = 'sj_t_bulk'}) == 1 }),
	'a scheduler');

# the load, left uncommitted
my $load = connect_db('sj_t_bulk');
$load->begin_work;
$load->do(qq{SELECT count(scheduled_jobs.schedule_job(now() + interval '1 day' + g * interval '1 ms',
	channel => 'sj_t_bulk_far')) FROM generate_series(1, $LOAD) g});
$load->do(qq{SELECT count(scheduled_jobs.schedule_job(now() + interval '1 day' + g * interval '1 ms',
	procedure => 'public.run')) FROM generate_series(1, $LOAD) g});

# index entries the run_at indexes returned so far (as the workers report
# them, at most once a second and before a long sleep)
sub entries_read
{
	my $r = $db->selectall_arrayref(q{SELECT indexrelname, idx_tup_read FROM pg_stat_user_indexes
		WHERE schemaname = 'scheduled_jobs' AND indexrelname IN ('jobs_notify_run_at', 'jobs_call_run_at')});
	$db->do('SELECT pg_stat_clear_snapshot()');
	return { map { $_->[0] => $_->[1] } @$r };
}
my $before = entries_read();

# jobs due now, one at a time, each after the last one fired: each firing is
# followed by a scan for the next job, which finds none but the load's
for my $i (1 .. 5)
{
	$db->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '50 ms', channel => 'sj_t_bulk_now')});
	$db->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '50 ms', procedure => 'public.run')});
	ok( poll(30, sub { $db->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
			WHERE channel = 'sj_t_bulk_now' OR procedure = 'public.run'}) == 2 * $i }),
		"job pair $i fires while the load is in progress");
}

# All the scans for a next job are the scheduler's (the executors' claims
# read up to now only), and it reports its reads before a sleep of more than
# a second: wait for one, then read them.
ok( poll(30, sub { $db->selectrow_array(q{SELECT next_wakeup > now() + interval '2 s'
		FROM scheduled_jobs.status()}) }),
	'the scheduler sleeps, its reads reported');
my $after = entries_read();
for my $index (qw(jobs_notify_run_at jobs_call_run_at))
{
	my $read = $after->{$index} - $before->{$index};
	cmp_ok($read, '<', $LOAD / 10,
		"$index: the scans read $read entries for 5 jobs, not the $LOAD of the load");
}

$load->rollback;
$load->disconnect;
$db->disconnect;
done_testing();
