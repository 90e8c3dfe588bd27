#!/usr/bin/perl
# A LISTEN client receives every NOTIFY job exactly once, as a JSON envelope
# {"id", "job_key", "run_at", "payload"} that matches the job, never before
# its run_at.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one), in a database of its own that it creates and drops.
use strict;
use warnings;

use DBI;
use IO::Select;
use JSON::PP;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Time::HiRes qw(time);
use Time::Local qw(timegm);

use constant {
	DB      => 'sj_t_listen',
	CHANNEL => 'sj_t_listen',
	JOBS    => 300,
	SPREAD  => 2.0,     # seconds over which the jobs are due
	DEADLINE => 20,     # seconds to receive them all after the last is due
};

alarm 120;          # the whole test; a hang fails it

# Seconds since the epoch of a JSON timestamptz, e.g.
# "2026-11-28T04:40:25.123456+00:00".
sub parse_ts
{
	my ($s) = @_;
	my ($y, $mo, $d, $h, $mi, $sec, $frac, $sign, $oh, $om, $os) = $s =~
	  /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?|Z)$/
	  or return undef;
	my $t = timegm($sec, $mi, $h, $d, $mo - 1, $y) + ($frac // 0);
	if (defined $sign)
	{
		my $off = $oh * 3600 + ($om // 0) * 60 + ($os // 0);
		$t -= $sign eq '+' ? $off : -$off;
	}
	return $t;
}

my $admin = connect_db('postgres');
$admin->do('DROP DATABASE IF EXISTS ' . DB . ' WITH (FORCE)');
$admin->do('CREATE DATABASE ' . DB);
END { $admin->do('DROP DATABASE IF EXISTS ' . DB . ' WITH (FORCE)') if $admin; }

my $app = connect_db(DB);
$app->do('CREATE EXTENSION scheduled_jobs');
ok(poll(5, sub {
	$admin->selectrow_array(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler' AND datname = $1}, undef, DB) == 1 }),
	'the scheduler of the new database runs');

my $listener = connect_db(DB);
$listener->do('LISTEN ' . CHANNEL);
my $sock = IO::Select->new($listener->{pg_socket});

# the jobs, in one transaction: id, key, payload, run_at as epoch seconds
my $jobs = $app->selectall_arrayref(q{
	SELECT scheduled_jobs.schedule_job(run_at, channel => $2, payload => payload, job_key => job_key),
		job_key, payload::text, extract(epoch FROM run_at)::float8
	FROM (SELECT clock_timestamp() + random() * $1 * interval '1 second' AS run_at,
			jsonb_build_object('i', i, 'text', 'job "' || i || '"') AS payload,
			'listen-' || i AS job_key
		  FROM generate_series(1, $3) i) s}, undef, SPREAD, CHANNEL, JOBS);
my $scheduled_at = time;
is(scalar @$jobs, JOBS, JOBS . ' jobs scheduled');
my %job = map { $_->[0] => { key => $_->[1], payload => decode_json($_->[2]), run_at => $_->[3] } } @$jobs;

# receive until every job came, or the deadline
my (%seen, @lags, @bad, $sentinel_id, $sentinel_seen);
my $json = JSON::PP->new;
sub receive
{
	my ($until) = @_;
	while (time < $until)
	{
		$sock->can_read(0.1);
		while (my $n = $listener->func('pg_notifies'))
		{
			my $now = time;
			my ($chan, $pid, $payload) = @$n;
			my $env = eval { $json->decode($payload) };
			if (!$env || ref $env ne 'HASH')
			{
				push @bad, "not a JSON object: $payload";
				next;
			}
			if (defined $sentinel_id && $env->{id} == $sentinel_id)
			{
				$sentinel_seen = 1;
				next;
			}
			$seen{ $env->{id} }++;
			my $j = $job{ $env->{id} };
			if (!$j)
			{
				push @bad, "unknown job id in $payload";
				next;
			}
			my $keys = join ',', sort keys %$env;
			push @bad, "envelope fields are $keys" if $keys ne 'id,job_key,payload,run_at';
			push @bad, "job_key of $env->{id} is " . ($env->{job_key} // 'null')
			  if ($env->{job_key} // '') ne $j->{key};
			push @bad, "payload of $env->{id} differs: " . $json->canonical->encode($env->{payload})
			  if $json->canonical->encode($env->{payload}) ne $json->canonical->encode($j->{payload});
			my $run_at = parse_ts($env->{run_at} // '');
			if (!defined $run_at || abs($run_at - $j->{run_at}) > 0.000002)
			{
				push @bad, "run_at of $env->{id} is " . ($env->{run_at} // 'null');
			}
			push @lags, $now - $j->{run_at};
		}
		return 1 if !defined $sentinel_id && keys %seen >= JOBS;
		return 1 if $sentinel_seen;
	}
	return 0;
}

ok(receive($scheduled_at + SPREAD + DEADLINE), 'every job was received within ' . DEADLINE . ' s of its time');

# NOTIFYs arrive in commit order: once a sentinel fired after them arrives,
# a duplicate would have arrived too
$sentinel_id = $app->selectrow_array(
	q{SELECT scheduled_jobs.schedule_job(clock_timestamp(), channel => $1, job_key => 'listen-sentinel')},
	undef, CHANNEL);
ok(receive(time + 10), 'a sentinel job fired after them was received');

is(scalar(keys %seen), JOBS, 'received ' . JOBS . ' distinct jobs');
my @twice = grep { $seen{$_} > 1 } keys %seen;
is(scalar @twice, 0, 'none received twice') or diag("received more than once: @twice[0 .. ($#twice < 9 ? $#twice : 9)]");
is(scalar @bad, 0, 'every envelope is a JSON object {id, job_key, run_at, payload} matching its job')
  or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

# lag = receipt - run_at: never negative beyond clock rounding (1 ms)
my @sorted = sort { $a <=> $b } @lags;
if (@sorted)
{
	my $pct = sub { $sorted[ int($_[0] * $#sorted + 0.5) ] * 1000 };
	cmp_ok($sorted[0], '>=', -0.001, 'no job was received before its run_at');
	diag(sprintf('lag (receipt - run_at) of %d jobs: min %.1f ms, median %.1f ms, p99 %.1f ms, max %.1f ms',
		scalar @sorted, $pct->(0), $pct->(0.5), $pct->(0.99), $pct->(1)));
}
else
{
	fail('no job was received before its run_at');
}

is($app->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
	WHERE starts_with(job_key, 'listen-') AND job_key <> 'listen-sentinel' AND state = 'notified'}),
	JOBS, 'job_history holds each job once, notified');
is($app->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.jobs}), 0, 'nothing is left pending');

$listener->disconnect;
$app->disconnect;
done_testing();
