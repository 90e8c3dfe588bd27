#!/usr/bin/perl
# Statistics with many targets: 40,000 NOTIFY jobs due over 4 seconds, each
# on a channel of its own (a channel per user, say), all fire and stats
# counts every one of them, target by target.  The scheduler writes the
# counts of each second in statements of a thousand targets, one per pass,
# in between firing; how promptly they fire beside statistics off is
# measured by bench/stats.sh (many targets), not asserted here: the lag is
# printed only.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one), in a database of its own that it creates and drops.
use strict;
use warnings;

use DBI;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;

use constant {
	DB     => 'sj_t_stats_load',
	JOBS   => 40000,
	SPREAD => 4,      # seconds over which they are due
};

alarm 120;

my $admin = connect_db('postgres');
$admin->do('DROP DATABASE IF EXISTS ' . DB . ' WITH (FORCE)');
$admin->do('CREATE DATABASE ' . DB);
END { $admin->do('DROP DATABASE IF EXISTS ' . DB . ' WITH (FORCE)') if $admin; }

my $dbh = connect_db(DB);
$dbh->do('CREATE EXTENSION scheduled_jobs');
ok(poll(30, sub {
	$dbh->selectrow_array(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler' AND datname = current_database()}) }),
	'the scheduler runs');

$dbh->do(q{
	SELECT count(scheduled_jobs.schedule_job(now() + interval '1 second' + g * ($2 * interval '1 second' / $1),
		channel => 'sj_t_load_' || g))
	FROM generate_series(1, $1) g}, undef, JOBS, SPREAD);
ok(poll(SPREAD + 30, sub {
	$dbh->selectrow_array('SELECT count(*) FROM scheduled_jobs.job_history') == JOBS }),
	'every job fired');
my ($p50, $p99, $max) = $dbh->selectrow_array(q{
	SELECT extract(epoch FROM percentile_disc(0.5) WITHIN GROUP (ORDER BY fired_at - run_at)) * 1000,
		extract(epoch FROM percentile_disc(0.99) WITHIN GROUP (ORDER BY fired_at - run_at)) * 1000,
		extract(epoch FROM max(fired_at - run_at)) * 1000
	FROM scheduled_jobs.job_history});
diag(sprintf('lag of %d jobs on as many channels: p50 %.1f ms, p99 %.1f ms, max %.1f ms',
	JOBS, $p50, $p99, $max));
ok(poll(10, sub {
	my ($fired, $targets) = $dbh->selectrow_array(q{
		SELECT sum(fired_1m), count(*) FROM scheduled_jobs.stats WHERE target LIKE 'sj\_t\_load\_%'});
	($fired // 0) == JOBS && $targets == JOBS }),
	'stats counts every one, target by target');

$dbh->disconnect;
done_testing();
