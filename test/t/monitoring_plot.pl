#!/usr/bin/perl
# monitoring/plot.sh draws a live database's jobs from job_stats: after a few
# NOTIFY and procedure jobs, both PNGs are written (gnuplot, Debian
# gnuplot-nox) and name the targets; bad arguments and a database with no
# finished jobs are refused with a message.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one), in a database of its own, sj_t_plot.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;

alarm 120;

my $repo = $ENV{SJ_REPO} // "$FindBin::RealBin/../..";
my $out = ($ENV{TESTDIR} // '/tmp') . '/monitoring_plot';
my $DB = 'sj_t_plot';
my $admin = connect_db('postgres');
$admin->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)");
$admin->do("CREATE DATABASE $DB");
END { $admin->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)") if $admin; }

my $dbh = connect_db($DB);
$dbh->do('CREATE EXTENSION scheduled_jobs');
$dbh->do(q{CREATE PROCEDURE public.plot_ok(p jsonb) LANGUAGE sql AS $$SELECT 1$$});

# nothing finished yet: refused
my $msg = `bash '$repo/monitoring/plot.sh' -d $DB '$out' 2>&1`;
isnt($?, 0, 'no finished jobs: plot.sh fails');
like($msg, qr/no finished jobs/, '... and says so');

$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), channel => 'plot_chan') FROM generate_series(1, 20)});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), procedure => 'public.plot_ok') FROM generate_series(1, 5)});
ok(poll(20, sub { $dbh->selectrow_array(q{SELECT COALESCE(sum(fired), 0) = 25 FROM scheduled_jobs.job_stats}) }),
	'the workers counted the 25 jobs in job_stats');

system('rm', '-rf', $out);
my @files = split /\n/, `bash '$repo/monitoring/plot.sh' -d $DB -H 2 '$out' 2>&1`;
is($?, 0, 'plot.sh -H 2 succeeds') or diag("@files");
is_deeply(\@files, [ "$out/scheduled_jobs_throughput.png", "$out/scheduled_jobs_lag.png" ], 'it names both PNGs');
for my $f (@files)
{
	open(my $fh, '<', $f) or do { fail("$f: $!"); next; };
	binmode $fh;
	read($fh, my $magic, 8);
	close $fh;
	is($magic, "\x89PNG\r\n\x1a\n", "$f is a PNG");
	cmp_ok(-s $f, '>', 5000, "$f has a picture in it");
}

$msg = `bash '$repo/monitoring/plot.sh' -d $DB -H 0 '$out' 2>&1`;
isnt($?, 0, 'HOURS 0: refused');
like($msg, qr/HOURS must be/, '... with a message');
$msg = `bash '$repo/monitoring/plot.sh' -d $DB -n x '$out' 2>&1`;
isnt($?, 0, 'TARGETS x: refused');
done_testing();
