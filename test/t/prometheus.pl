#!/usr/bin/perl
# The Prometheus queries file (monitoring/prometheus-postgres-exporter.yaml)
# in Debian's real prometheus-postgres-exporter: every scheduled_jobs metric
# of /metrics equals what the SQL shows at about the same moment (status(),
# the views schedules and channels, counts from job_history), for a database
# with fired, failed, acknowledged, dead and in-flight jobs, schedules, and a
# job due while the database is paused.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one), in a database and with a login role of its own that it creates and
# drops.  The exporter (installed by the suite, test/lib.sh) runs as that
# role, read-only, on a free loopback port from PGPORT + 1 up, and is
# stopped at the end, also when the test fails.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use constant {
	DB       => 'sj_t_prometheus',
	ROLE     => 'sj_t_prometheus',    # the exporter's login role
	EXPORTER => '/usr/bin/prometheus-postgres-exporter',
	AGREE    => 20,                   # seconds for a metric to agree with the SQL
	TOLERANCE => 2,                   # seconds, for the ages and times to come
};

my $repo = $ENV{SJ_REPO} // "$FindBin::RealBin/../..";
my $queries = "$repo/monitoring/prometheus-postgres-exporter.yaml";
my $log = ($ENV{TESTDIR} // '/tmp') . '/prometheus-postgres-exporter.log';
my $parent = $$;
my ($admin, $exporter_pid);

# stop the exporter (TERM, then KILL after 10 s) and wait for it
sub stop_exporter
{
	return unless $exporter_pid;
	kill 'TERM', $exporter_pid;
	my $deadline = time + 10;
	while (waitpid($exporter_pid, POSIX::WNOHANG()) == 0)
	{
		if (time > $deadline)
		{
			kill 'KILL', $exporter_pid;
			waitpid($exporter_pid, 0);
			last;
		}
		select(undef, undef, undef, 0.05);
	}
	$exporter_pid = undef;
}

# on every exit of the test, passed, failed or died: the exporter goes
# first (it holds a connection to the database), then the database and role
END
{
	if ($$ == $parent)
	{
		local $?;
		stop_exporter();
		if ($admin)
		{
			eval {
				$admin->do('DROP DATABASE IF EXISTS ' . DB . ' WITH (FORCE)');
				$admin->do('DROP ROLE IF EXISTS ' . ROLE);
			};
			diag("cleanup: $@") if $@;
		}
	}
}
# a signal, or the end of whoever reads our output (a killed prove: SIGPIPE),
# ends the test through the END block above
$SIG{ALRM} = sub { die "the test timed out\n" };
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { die "interrupted by SIG$_[0]\n" };
$SIG{PIPE} = sub { $SIG{PIPE} = 'IGNORE'; die "its output was closed\n" };
alarm 180;

if (!ok(-x EXPORTER, EXPORTER . ' is installed (test/lib.sh SJ_PACKAGES)'))
{
	done_testing();
	exit 1;
}

# --- a database with a bit of everything --------------------------------

$admin = connect_db('postgres');
$admin->do('DROP DATABASE IF EXISTS ' . DB . ' WITH (FORCE)');
$admin->do('DROP ROLE IF EXISTS ' . ROLE);
$admin->do('CREATE DATABASE ' . DB);
# the exporter's role, as README.md (Operating it, Prometheus) sets it up:
# sees every job (BYPASSRLS), may call status(), reads stats (pg_monitor),
# and runs read-only
$admin->do('CREATE ROLE ' . ROLE . ' LOGIN BYPASSRLS');
$admin->do('ALTER ROLE ' . ROLE . ' SET default_transaction_read_only = on');

my $dbh = connect_db(DB);
$dbh->do('CREATE EXTENSION scheduled_jobs');
$dbh->do('GRANT EXECUTE ON FUNCTION scheduled_jobs.status() TO ' . ROLE);
$admin->do('GRANT pg_monitor TO ' . ROLE);
ok(poll(10, sub { $dbh->selectrow_array(q{SELECT scheduler_pid IS NOT NULL FROM scheduled_jobs.status()}) }),
	'the scheduler of the new database runs');

$dbh->do(q{CREATE SCHEMA sjp});
$dbh->do(q{CREATE PROCEDURE sjp.ok(payload jsonb) LANGUAGE plpgsql AS $$BEGIN NULL; END$$});
$dbh->do(q{CREATE PROCEDURE sjp.fail(payload jsonb) LANGUAGE plpgsql AS
	$$BEGIN RAISE EXCEPTION 'sjp.fail(%)', payload; END$$});
$dbh->do(q{SELECT scheduled_jobs.configure_channel('sjp_ack', '1 hour')});
$dbh->do(q{SELECT scheduled_jobs.configure_channel('sjp_dead', '100 ms', 1)});
# due now: 3 NOTIFY, 2 procedure jobs that succeed, 1 that fails for good,
# 1 command, 3 on an acknowledged channel (one acknowledged below, two left
# in flight), 1 dead letter
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), channel => 'sjp_plain', payload => jsonb_build_object('i', i))
	FROM generate_series(1, 3) i});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjp.ok') FROM generate_series(1, 2)});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjp.fail', max_attempts => 1)});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), command => 'SELECT 1')});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), channel => 'sjp_ack') FROM generate_series(1, 3)});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now(), channel => 'sjp_dead')});
# pending, due in an hour: one of each kind
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'sjp_ack')});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', procedure => 'sjp.ok')});
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', command => 'SELECT 2')});
# a schedule whose first occurrence fires at once and whose second is
# cancelled (skipped), and a paused one
$dbh->do(q{SELECT scheduled_jobs.create_schedule('sjp_hourly', every => '1 hour', channel => 'sjp_sched',
	start_at => now() + interval '100 ms')});
$dbh->do(q{SELECT scheduled_jobs.create_schedule('sjp_yearly', cron => '0 0 1 1 *', procedure => 'sjp.ok')});
$dbh->do(q{SELECT scheduled_jobs.pause_schedule('sjp_yearly')});

my $state_count = sub {
	my ($state, $target) = @_;
	return $dbh->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
		WHERE state = $1 AND coalesce(channel, procedure, '') = $2}, undef, $state, $target);
};
ok(poll(30, sub {
	$state_count->('notified', 'sjp_plain') == 3 && $state_count->('succeeded', 'sjp.ok') == 2
	  && $state_count->('failed', 'sjp.fail') == 1 && $state_count->('succeeded', '') == 1
	  && $state_count->('dead', 'sjp_dead') == 1 && $state_count->('notified', 'sjp_sched') == 1
	  && $dbh->selectrow_array(q{SELECT in_flight FROM scheduled_jobs.channels WHERE channel = 'sjp_ack'}) == 3 }),
	'the due jobs fired: notified, succeeded, failed, dead, in flight');
ok($dbh->selectrow_array(q{SELECT scheduled_jobs.ack(min(id)) FROM scheduled_jobs.jobs
	WHERE channel = 'sjp_ack' AND due_at IS NOT NULL}), 'one job of sjp_ack acknowledged');
ok($dbh->selectrow_array(q{SELECT scheduled_jobs.cancel_job(j.id) FROM scheduled_jobs.jobs j
	JOIN scheduled_jobs.schedule_rules r ON r.id = j.schedule_id WHERE r.name = 'sjp_hourly'}),
	'the next occurrence of sjp_hourly cancelled');

# paused, with a job due 30 s ago
$admin->do('ALTER DATABASE ' . DB . ' SET scheduled_jobs.paused = on');
ok(poll(10, sub { $dbh->selectrow_array(q{SELECT paused FROM scheduled_jobs.status()}) }), 'the database is paused');
$dbh->do(q{SELECT scheduled_jobs.schedule_job(now() - interval '30 seconds', channel => 'sjp_plain', job_key => 'sjp-late')});

# --- the exporter --------------------------------------------------------

my $http = HTTP::Tiny->new(timeout => 10);
my ($port, $url);
my $try_port = ($ENV{PGPORT} // 5432) + 1;
for my $attempt (1 .. 5)
{
	$port = free_port($try_port);
	$url = "http://127.0.0.1:$port/metrics";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		alarm 0;
		open(STDOUT, '>>', $log) and open(STDERR, '>&', \*STDOUT) or POSIX::_exit(2);
		$ENV{DATA_SOURCE_NAME} = "host=$ENV{PGHOST} port=$ENV{PGPORT} user=" . ROLE
		  . ' dbname=' . DB . ' sslmode=disable';
		# bounded, so that it ends even if this test is killed
		exec('timeout', '-k', '5', '300', EXPORTER,
			"--web.listen-address=127.0.0.1:$port", "--extend.query-path=$queries",
			'--disable-default-metrics', '--disable-settings-metrics', '--no-auto-discover-databases',
			'--no-collector.database', '--no-collector.bgwriter') or POSIX::_exit(127);
	}
	$exporter_pid = $pid;
	my $exited;
	poll(10, sub {
		$exited = waitpid($pid, POSIX::WNOHANG()) == $pid;
		return $exited || $http->get($url)->{success};
	});
	last if !$exited && $http->get($url)->{success};
	$exporter_pid = undef if $exited;
	stop_exporter();
	note("the exporter did not come up on port $port; trying the next one");
	$try_port = $port + 1;
	$port = undef;
}
if (!ok($port, "the exporter serves $url"))
{
	diag(`tail -20 '$log'`);
	done_testing();
	exit 1;
}

# Scrape /metrics: { name => [ [ {labels}, value ], ... ] }
sub scrape
{
	my $res = $http->get($url);
	die "GET $url: $res->{status} $res->{reason}\n" unless $res->{success};
	my %m;
	for my $line (split /\n/, $res->{content})
	{
		next if $line =~ /^#/ || $line !~ /\S/;
		my ($name, $labels, $value) = $line =~ /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
		  or die "unparsable metrics line: $line\n";
		my %l;
		while (($labels // '') =~ /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)
		{
			my ($k, $v) = ($1, $2);
			$v =~ s/\\n/\n/g;
			$v =~ s/\\(.)/$1/g;
			$l{$k} = $v;
		}
		push @{ $m{$name} }, [ \%l, $value ];
	}
	return \%m;
}

# a series' labels as a string, without those the exporter adds (server)
sub label_key
{
	my ($l) = @_;
	return join ',', sort map { "$_=$l->{$_}" } grep { $_ ne 'server' } keys %$l;
}

sub same_value
{
	my ($got, $want, $tolerance) = @_;
	return 0 unless defined $got;
	return $got eq 'NaN' if !defined $want;
	return 0 if $got !~ /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
	return abs($got - $want) <= ($tolerance // 0);
}

# agree($description, $sql): scrape, then run $sql right after; each row
# (metric, label columns as "k=v" pairs in one string, value, tolerance)
# is a series the scrape must show with that value (undef: NaN); a metric
# named in the rows has no other series.  Retried until they agree or AGREE
# seconds pass (executors come and go, a pass of the scheduler resets an
# age); returns the last rows.
sub agree
{
	my ($what, $sql, @bind) = @_;
	my (@bad, $rows);
	my $ok = poll(AGREE, sub {
		my $m = scrape();
		$rows = $dbh->selectall_arrayref($sql, undef, @bind);
		@bad = ();
		my %want;
		for my $r (@$rows)
		{
			my ($name, $labels, $value, $tolerance) = @$r;
			my $key = join ',', sort('database=' . DB, grep { length } split(/,/, $labels));
			$want{$name}{$key} = 1;
			my ($series) = grep { label_key($_->[0]) eq $key } @{ $m->{$name} // [] };
			push @bad, "$name\{$key} is " . ($series ? $series->[1] : 'missing') . ', SQL says ' . ($value // 'NULL')
			  unless $series && same_value($series->[1], $value, $tolerance);
		}
		for my $name (keys %want)
		{
			push @bad, map { "$name\{" . label_key($_->[0]) . "} is not in the SQL" }
			  grep { !$want{$name}{ label_key($_->[0]) } } @{ $m->{$name} };
		}
		return !@bad;
	});
	ok($ok, "$what: the metrics agree with the SQL") or diag(join "\n", @bad);
	return $rows;
}

my $m = scrape();
is($m->{pg_up}[0][1], '1', 'pg_up 1: the exporter reaches the database');
is($m->{pg_exporter_last_scrape_error}[0][1], '0', 'no query of the scrape failed');
my ($load) = grep { $_->[0]{filename} eq $queries } @{ $m->{pg_exporter_user_queries_load_error} // [] };
is($load && $load->[1], '0', 'the queries file loaded without error');
my @others = grep { !/^(scheduled_jobs_|pg_up$|pg_exporter_|postgres_exporter_build_info$|go_|process_|promhttp_)/ }
  sort keys %$m;
is("@others", '', 'no default metrics of the exporter');
for my $ns (qw(status pending schedule channel stats))
{
	ok((grep { /^scheduled_jobs_${ns}_/ } keys %$m), "scheduled_jobs_${ns}_* metrics are there");
}

# --- each metric against the SQL -----------------------------------------

my $status_sql = q{
	SELECT m, '', v, t FROM scheduled_jobs.status() s, LATERAL (VALUES
		('scheduled_jobs_status_scheduler_up', CASE WHEN s.scheduler_pid IS NULL THEN 0 ELSE 1 END::float8, 0),
		('scheduled_jobs_status_due_jobs', s.due_jobs, 0),
		('scheduled_jobs_status_backlog_age_seconds', coalesce(extract(epoch FROM now() - s.oldest_due_at), 0), $1::float8),
		('scheduled_jobs_status_executors_running', s.executors_running, 0),
		('scheduled_jobs_status_executors_idle', s.executors_idle, 0),
		('scheduled_jobs_status_executors_max', s.executors_max, 0),
		('scheduled_jobs_status_notify_queue_usage_ratio', s.notify_queue_usage, 0.0001),
		('scheduled_jobs_status_paused', CASE WHEN s.paused THEN 1 ELSE 0 END, 0),
		('scheduled_jobs_status_last_pass_age_seconds', extract(epoch FROM now() - s.last_pass_at), $1::float8),
		('scheduled_jobs_status_last_error_timestamp_seconds', coalesce(extract(epoch FROM s.last_error_at), 0), 0.001)
	) AS x (m, v, t)};
my %status = map { $_->[0] => $_->[2] } @{ agree('status()', $status_sql, TOLERANCE) };
is($status{scheduled_jobs_status_scheduler_up}, 1, 'status: the scheduler is up');
is($status{scheduled_jobs_status_paused}, 1, 'status: paused');
is($status{scheduled_jobs_status_due_jobs}, 1, 'status: one job due');
cmp_ok($status{scheduled_jobs_status_backlog_age_seconds}, '>=', 30, 'status: due for 30 s and more');
is($status{scheduled_jobs_status_executors_max},
	$dbh->selectrow_array(q{SELECT current_setting('scheduled_jobs.max_executors')::int}),
	'status: executors_max is scheduled_jobs.max_executors');

# pending jobs by kind from the table, in flight from the view channels
my %pending = map { ("$_->[0]/$_->[1]" => $_->[2]) } @{ agree('pending jobs', q{
	SELECT 'scheduled_jobs_pending_jobs', 'kind=' || k.kind,
		(SELECT count(*) FROM scheduled_jobs.jobs j WHERE CASE k.kind
			WHEN 'channel' THEN j.channel IS NOT NULL
			WHEN 'procedure' THEN j.procedure IS NOT NULL
			ELSE j.command IS NOT NULL END)::float8, 0
	FROM (VALUES ('channel'), ('procedure'), ('command')) k (kind)
	UNION ALL
	SELECT 'scheduled_jobs_pending_in_flight', 'kind=' || k.kind,
		CASE WHEN k.kind = 'channel' THEN (SELECT coalesce(sum(in_flight), 0) FROM scheduled_jobs.channels) ELSE 0 END, 0
	FROM (VALUES ('channel'), ('procedure'), ('command')) k (kind)}) };
# channel: 2 in flight + 1 in an hour on sjp_ack, the late one, the next
# occurrence of sjp_hourly
is($pending{'scheduled_jobs_pending_jobs/kind=channel'}, 5, 'pending: 5 NOTIFY jobs');
is($pending{'scheduled_jobs_pending_jobs/kind=procedure'}, 1, 'pending: 1 procedure job');
is($pending{'scheduled_jobs_pending_jobs/kind=command'}, 1, 'pending: 1 command job');
is($pending{'scheduled_jobs_pending_in_flight/kind=channel'}, 2, 'pending: 2 in flight');

my %schedule = map { ("$_->[0]/$_->[1]" => $_->[2]) } @{ agree('schedules', q{
	SELECT m, 'schedule=' || s.name || ',owner=' || s.owner::text, v, t
	FROM scheduled_jobs.schedules s, LATERAL (VALUES
		('scheduled_jobs_schedule_runs_total', s.runs::float8, 0),
		('scheduled_jobs_schedule_skipped_total', s.skipped, 0),
		('scheduled_jobs_schedule_next_occurrence_seconds', extract(epoch FROM s.next_occurrence - now()), $1::float8),
		('scheduled_jobs_schedule_paused', CASE WHEN s.paused THEN 1 ELSE 0 END, 0)
	) AS x (m, v, t)}, TOLERANCE) };
my $me = $dbh->selectrow_array('SELECT current_user');
my $hourly = "schedule=sjp_hourly,owner=$me";
is($schedule{"scheduled_jobs_schedule_runs_total/$hourly"}, 1, 'schedules: sjp_hourly ran once');
is($schedule{"scheduled_jobs_schedule_skipped_total/$hourly"}, 1, 'schedules: and skipped once');
cmp_ok($schedule{"scheduled_jobs_schedule_next_occurrence_seconds/$hourly"}, '>', 3600,
	'schedules: its next occurrence is the one after the cancelled one');
ok(!defined $schedule{"scheduled_jobs_schedule_next_occurrence_seconds/schedule=sjp_yearly,owner=$me"},
	'schedules: a paused schedule has no next occurrence (NaN)');

my %channel = map { ("$_->[0]/$_->[1]" => $_->[2]) } @{ agree('acknowledged channels', q{
	SELECT m, 'channel=' || c.channel, v, 0
	FROM scheduled_jobs.channels c, LATERAL (VALUES
		('scheduled_jobs_channel_in_flight', c.in_flight::float8),
		('scheduled_jobs_channel_dead_letters', c.dead_letters)
	) AS x (m, v)}) };
is($channel{'scheduled_jobs_channel_in_flight/channel=sjp_ack'}, 2, 'channels: 2 in flight on sjp_ack');
is($channel{'scheduled_jobs_channel_dead_letters/channel=sjp_dead'}, 1, 'channels: 1 dead letter on sjp_dead');

my $stats_sql = q{
	SELECT m, 'kind=' || s.kind || ',target=' || s.target, v, t
	FROM scheduled_jobs.stats s, LATERAL (VALUES
		('scheduled_jobs_stats_fired_1m', s.fired_1m::float8, 0),
		('scheduled_jobs_stats_succeeded_1h', s.succeeded_1h, 0),
		('scheduled_jobs_stats_failed_1h', s.failed_1h, 0),
		('scheduled_jobs_stats_cancelled_1h', s.cancelled_1h, 0),
		('scheduled_jobs_stats_dead_1h', s.dead_1h, 0),
		('scheduled_jobs_stats_lag_max_1m_seconds', extract(epoch FROM s.lag_max_1m), 0.000001),
		('scheduled_jobs_stats_run_p99_1h_seconds', extract(epoch FROM s.run_p99_1h), 0.000001),
		('scheduled_jobs_stats_pending', s.pending, 0),
		('scheduled_jobs_stats_backlog_age_seconds', coalesce(extract(epoch FROM s.backlog_age), 0), $1::float8),
		('scheduled_jobs_stats_last_error_timestamp_seconds', coalesce(extract(epoch FROM s.last_error_at), 0), 0.001)
	) AS x (m, v, t)};
# (the workers write their counts within a second or so)
ok(poll(AGREE, sub { $dbh->selectrow_array(q{SELECT string_agg(target || '=' || (succeeded_1h + failed_1h + dead_1h),
	',' ORDER BY target) FROM scheduled_jobs.stats WHERE target IN ('sjp.ok', 'sjp.fail', 'sjp_plain', 'sjp_ack', 'sjp_dead')})
	eq 'sjp.fail=1,sjp.ok=2,sjp_ack=1,sjp_dead=1,sjp_plain=3' }), 'stats count the finished jobs');
my %stats = map { ("$_->[0]/$_->[1]" => $_->[2]) } @{ agree('stats', $stats_sql, TOLERANCE) };
is($stats{'scheduled_jobs_stats_failed_1h/kind=procedure,target=sjp.fail'}, 1, 'stats: the failed procedure job');
is($stats{'scheduled_jobs_stats_succeeded_1h/kind=procedure,target=sjp.ok'}, 2,
	'stats: the procedure jobs that succeeded');
is($stats{'scheduled_jobs_stats_succeeded_1h/kind=channel,target=sjp_plain'}, 3, 'stats: the NOTIFY jobs');
is($stats{'scheduled_jobs_stats_succeeded_1h/kind=channel,target=sjp_ack'}, 1, 'stats: the acknowledged job');
is($stats{'scheduled_jobs_stats_dead_1h/kind=channel,target=sjp_dead'}, 1, 'stats: the dead letter');
is($stats{'scheduled_jobs_stats_cancelled_1h/kind=schedule,target=sjp_hourly'}, 1,
	'stats: the cancelled occurrence, under its schedule');
ok($stats{'scheduled_jobs_stats_last_error_timestamp_seconds/kind=procedure,target=sjp.fail'} > 0,
	'stats: when sjp.fail failed');
is($stats{'scheduled_jobs_stats_pending/kind=channel,target=sjp_plain'}, 1, 'stats: the late job is pending');
cmp_ok($stats{'scheduled_jobs_stats_backlog_age_seconds/kind=channel,target=sjp_plain'}, '>=', 30,
	'stats: and due for 30 s and more');

# resumed: the late job fires, and the exporter shows it
$admin->do('ALTER DATABASE ' . DB . ' RESET scheduled_jobs.paused');
ok(poll(AGREE, sub { $state_count->('notified', 'sjp_plain') == 4 }), 'resumed: the late job fired');
%status = map { $_->[0] => $_->[2] } @{ agree('status() after resuming', $status_sql, TOLERANCE) };
is($status{scheduled_jobs_status_paused} . ',' . $status{scheduled_jobs_status_due_jobs}, '0,0',
	'status: not paused, nothing due');
# (the scheduler writes its counts within a second or so)
ok(poll(AGREE, sub { $dbh->selectrow_array(q{SELECT succeeded_1h FROM scheduled_jobs.stats
	WHERE kind = 'channel' AND target = 'sjp_plain'}) == 4 }), 'resumed: stats count the late job');
%stats = map { ("$_->[0]/$_->[1]" => $_->[2]) } @{ agree('stats after resuming', $stats_sql, TOLERANCE) };
is($stats{'scheduled_jobs_stats_succeeded_1h/kind=channel,target=sjp_plain'}, 4,
	'stats: 4 NOTIFY jobs on sjp_plain');

# --- the end: the exporter stops ------------------------------------------

$dbh->disconnect;
stop_exporter();
ok(!$http->get($url)->{success}, 'the exporter stopped');
done_testing();
