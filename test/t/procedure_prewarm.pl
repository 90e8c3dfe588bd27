#!/usr/bin/perl
# With no executor running, the scheduler starts one shortly before the next
# procedure job is due, so that the job does not wait for a fork and a
# connection.  Runs against the cluster given by PGHOST/PGPORT/PGUSER; uses
# the database sj_t_prewarm.
use strict;
use warnings;

use DBI;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;
use Time::HiRes qw(time);

alarm 60;

my $DB = 'sj_t_prewarm';
my $admin = connect_db('postgres');
$admin->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)");
$admin->do("CREATE DATABASE $DB");
END { $admin->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)") if $admin; }

my $dbh = connect_db($DB);
$dbh->do('CREATE EXTENSION scheduled_jobs');
$dbh->do('CREATE TABLE ran (at timestamptz)');
$dbh->do('CREATE PROCEDURE public.rec(p jsonb) LANGUAGE sql AS $$ INSERT INTO ran VALUES (clock_timestamp()) $$');

sub executors
{
	$dbh->do('SELECT pg_stat_clear_snapshot()');
	return $dbh->selectrow_array(
		"SELECT count(*) FROM pg_stat_activity
		 WHERE datname = current_database() AND backend_type = 'scheduled_jobs executor'");
}

is(executors(), 0, 'no executor runs in a new database');

my ($run_at) = $dbh->selectrow_array(
	"SELECT extract(epoch FROM t) FROM (SELECT clock_timestamp() + interval '4 s' AS t) s");
$dbh->do("SELECT scheduled_jobs.schedule_job(to_timestamp($run_at), procedure => 'public.rec')");

# the executor must be there before the job is due
my $seen;
while (time < $run_at)
{
	if (executors() > 0)
	{
		$seen = time;
		last;
	}
	select(undef, undef, undef, 0.02);
}
ok(defined $seen, 'an executor was started before the job was due');
ok(defined $seen && $seen > $run_at - 3, 'but not long before it');

my $deadline = time + 20;
my $ran;
while (time < $deadline)
{
	($ran) = $dbh->selectrow_array('SELECT count(*) FROM ran');
	last if $ran;
	select(undef, undef, undef, 0.02);
}
is($ran, 1, 'the job ran once');
my ($early) = $dbh->selectrow_array(
	"SELECT count(*) FROM ran WHERE at < to_timestamp($run_at)");
is($early, 0, 'not before its time');

$dbh->disconnect;
done_testing();
