#!/usr/bin/perl
# The README's quick start is tested: every examples/*.sql runs to the end as
# an ordinary application role, in a database of its own, and every job it
# left due has fired, none failed.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one); creates and drops databases named sj_t_ex_* and the role sj_t_ex_app.
use strict;
use warnings;

use DBI;
use File::Basename;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;
use Time::HiRes qw(time);

alarm 300;

my $repo = $ENV{SJ_REPO} // "$FindBin::RealBin/../..";
my @files = sort glob("$repo/examples/*.sql");
plan skip_all => 'no examples' unless @files;

my $admin = connect_db('postgres');
my $ROLE = 'sj_t_ex_app';
my @dbs;

END
{
	if ($admin)
	{
		$admin->do("DROP DATABASE IF EXISTS $_ WITH (FORCE)") for @dbs;
		$admin->do("DROP ROLE IF EXISTS $ROLE");
	}
}

$admin->do("DROP ROLE IF EXISTS $ROLE");
$admin->do("CREATE ROLE $ROLE LOGIN");

for my $file (@files)
{
	my $name = basename($file, '.sql');
	(my $db = "sj_t_ex_$name") =~ s/[^a-z0-9_]/_/g;
	push @dbs, $db;
	$admin->do("DROP DATABASE IF EXISTS $db WITH (FORCE)");
	$admin->do("CREATE DATABASE $db OWNER $ROLE");
	my $dbh = connect_db($db);
	$dbh->do('CREATE EXTENSION scheduled_jobs');
	$dbh->do("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO $ROLE");

	# as the application role, as the file's header says
	my $out = `psql -X -q -v ON_ERROR_STOP=1 -U $ROLE -d $db -f '$file' 2>&1`;
	is($?, 0, "$name runs to the end as an application role") or diag($out);

	my $deadline = time + 15;
	my $due;
	while (1)
	{
		$due = $dbh->selectrow_array(
			'SELECT count(*) FROM scheduled_jobs.jobs WHERE run_at <= now()');
		last if $due == 0 || time > $deadline;
		select(undef, undef, undef, 0.05);
	}
	is($due, 0, "$name: every job it left due has fired");
	my ($fired, $failed) = $dbh->selectrow_array(
		"SELECT count(*) FILTER (WHERE state IN ('notified', 'succeeded')),
		        count(*) FILTER (WHERE state = 'failed')
		 FROM scheduled_jobs.job_history");
	ok($fired > 0, "$name: jobs fired ($fired)");
	is($failed, 0, "$name: none failed");
	$dbh->disconnect;
	$admin->do("DROP DATABASE $db");
	@dbs = grep { $_ ne $db } @dbs;
}

done_testing();
