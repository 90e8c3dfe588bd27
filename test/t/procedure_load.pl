#!/usr/bin/perl
# Procedure jobs under concurrent load: several clients schedule jobs at
# once, in transactions that commit or roll back, and cancel some of them;
# the executors must run every committed, uncancelled job exactly once, never
# a rolled-back or cancelled one, and as the scheduling role.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one); creates and drops a database of its own, sj_t_proc_load, and a role
# sj_t_proc_app.
use strict;
use warnings;

use DBI;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Time::HiRes qw(time);
use POSIX ();

alarm 300;          # the whole test; a hang fails it

my $DB = 'sj_t_proc_load';
my $ROLE = 'sj_t_proc_app';
my $CLIENTS = 4;
my $PER_XACT = 100;           # jobs per transaction
my @XACTS = qw(commit rollback commit);

my $admin = connect_db('postgres');
sub drop_all
{
	$admin->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)");
	$admin->do("DROP ROLE IF EXISTS $ROLE");
}
drop_all();
END { drop_all() if $admin && $$ == $main::PARENT; }
$main::PARENT = $$;

$admin->do("CREATE DATABASE $DB");
$admin->do("CREATE ROLE $ROLE NOLOGIN");
my $db = connect_db($DB);
$db->do($_) for (
	"CREATE EXTENSION scheduled_jobs",
	"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO $ROLE",
	"CREATE SCHEMA app",
	"GRANT USAGE ON SCHEMA app TO $ROLE",
	"CREATE TABLE app.runs (client integer, n integer, who name, pid integer)",
	"GRANT INSERT ON app.runs TO $ROLE",
	q{CREATE PROCEDURE app.work(payload jsonb) LANGUAGE sql AS $$
		INSERT INTO app.runs VALUES ((payload->>'client')::integer, (payload->>'n')::integer,
			current_user, pg_backend_pid())
	$$},
);

# each client: its transactions, jobs due within 2 s; then cancels every
# tenth committed job by key
my @pids;
for my $client (1 .. $CLIENTS)
{
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		my $ok = eval {
			my $c = connect_db($DB);
			$c->do("SET ROLE $ROLE");
			my $n = 0;
			for my $end (@XACTS)
			{
				$c->begin_work;
				my $sth = $c->prepare(q{SELECT scheduled_jobs.schedule_job(
					clock_timestamp() + random() * interval '2 s', procedure => 'app.work',
					payload => jsonb_build_object('client', ?::integer, 'n', ?::integer),
					job_key => 'load:' || ?::integer || ':' || ?::integer)});
				for (1 .. $PER_XACT)
				{
					$n++;
					$sth->execute($client, $n, $client, $n);
				}
				$end eq 'commit' ? $c->commit : $c->rollback;
			}
			for my $k (grep { $_ % 10 == 0 } 1 .. $n)
			{
				$c->do("SELECT scheduled_jobs.cancel_job(?::text)", undef, "load:$client:$k");
			}
			$c->disconnect;
			1;
		};
		print STDERR "client $client: $@" unless $ok;
		POSIX::_exit($ok ? 0 : 1);
	}
	push @pids, $pid;
}
my $clients_ok = 1;
for (@pids) { waitpid($_, 0); $clients_ok = 0 if $? != 0; }
ok($clients_ok, "$CLIENTS clients scheduled their jobs concurrently");

# the jobs expected to run: committed transactions (the 1st and 3rd), not
# cancelled ones (keys multiple of 10, if cancelled in time)
my ($committed) = $db->selectrow_array(q{
	SELECT count(*) FROM (SELECT id FROM scheduled_jobs.jobs UNION ALL
						  SELECT id FROM scheduled_jobs.job_history) j});
is($committed, $CLIENTS * $PER_XACT * 2, 'every committed job exists, no rolled-back one');

ok(poll(120, sub {
	my ($pending) = $db->selectrow_array("SELECT count(*) FROM scheduled_jobs.jobs");
	return $pending == 0;
}), 'every job finished');

my ($cancelled) = $db->selectrow_array(
	"SELECT count(*) FROM scheduled_jobs.job_history WHERE state = 'cancelled'");
my ($succeeded) = $db->selectrow_array(
	"SELECT count(*) FROM scheduled_jobs.job_history WHERE state = 'succeeded'");
my ($other) = $db->selectrow_array(
	"SELECT count(*) FROM scheduled_jobs.job_history WHERE state NOT IN ('cancelled', 'succeeded')");
is($cancelled + $succeeded, $committed, 'every job succeeded or was cancelled');
is($other, 0, 'none failed');
ok($cancelled > 0, "some jobs were cancelled before they ran ($cancelled)");

my ($runs, $distinct) = $db->selectrow_array(
	"SELECT count(*), count(DISTINCT (client, n)) FROM app.runs");
is($runs, $succeeded, 'one run per succeeded job');
is($distinct, $runs, 'no job ran twice');
my ($cancelled_ran) = $db->selectrow_array(q{
	SELECT count(*) FROM app.runs r JOIN scheduled_jobs.job_history h
	  ON h.job_key = 'load:' || r.client || ':' || r.n
	WHERE h.state = 'cancelled'});
is($cancelled_ran, 0, 'no cancelled job ran');
my ($rolled_back_ran) = $db->selectrow_array(
	"SELECT count(*) FROM app.runs WHERE n BETWEEN $PER_XACT + 1 AND 2 * $PER_XACT");
is($rolled_back_ran, 0, 'no job of a rolled-back transaction ran');
my ($who) = $db->selectrow_array("SELECT string_agg(DISTINCT who::text, ',') FROM app.runs");
is($who, $ROLE, 'every job ran as the scheduling role');
my ($executors) = $db->selectrow_array("SELECT count(DISTINCT pid) FROM app.runs");
note("jobs ran in $executors executor(s)");

$db->disconnect;
# the database goes away with its executors, without FORCE
my $t0 = time;
$admin->do("DROP DATABASE $DB");
ok(time - $t0 < 30, 'DROP DATABASE with executors did not hang');

done_testing();
