
# Fault: recurring schedules across a real stop of the server, and a
# schedule whose owner loses EXECUTE on its procedure.
#  - fast stop, down 6 s, start: for each catch_up policy of a NOTIFY
#    schedule every second, what fires after the start is exactly what the
#    policy says, checked against next_occurrences() and schedules.skipped,
#    and with a listener that receives every envelope (the server starts
#    with scheduled_jobs.paused on, so that it can LISTEN before anything
#    fires): latest fires one late run whose envelope says "missed": N,
#    all fires the missed ones in order (at most catch_up_limit, the oldest
#    skipped), none keeps the stale occurrence as expired; each then goes
#    on on time;
#  - the same after an immediate stop (a crash), without the pause;
#  - REVOKE EXECUTE from the owner: each occurrence fails (max_attempts 1),
#    the schedule goes on with the next; GRANT it back: they succeed again.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use JSON::PP;
use IO::Select;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $LIMIT = 5;     # catch_up_limit of the catch_up all schedules
my $DOWN  = 6;     # seconds the server stays down
my $ON_TIME = 0.5; # an occurrence fired within this many seconds is on time

my $node = sj_node('schedules_restart', conf => "log_statement = none\n");
sj_setup_db($node, 'app');

my %POLICY = (
	latest => q{catch_up => 'latest'},
	all    => qq{catch_up => 'all', catch_up_limit => $LIMIT},
	none   => q{catch_up => 'none'});
my (%id, %start, %pending, %skipped_before);

# Three NOTIFY schedules every second, one per policy, named and on channels
# $round_$policy, from the next whole second.
sub create_round
{
	my ($round) = @_;
	my $start = $node->safe_psql('app', q{SELECT date_trunc('second', now()) + interval '1 s'});
	for my $p (sort keys %POLICY)
	{
		my $name = "${round}_$p";
		$start{$name} = $start;
		$id{$name} = $node->safe_psql('app', qq{
			SELECT scheduled_jobs.create_schedule('$name', every => '1 second', channel => '$name',
				time_zone => 'UTC', start_at => '$start', $POLICY{$p})});
	}
	ok( sj_poll($node, 'app', qq{
			SELECT bool_and((SELECT count(*) FROM scheduled_jobs.job_history h
				WHERE h.schedule_id = s AND h.fired_at < h.occurrence_at + interval '$ON_TIME s') >= 2)
			FROM unnest(ARRAY[@{[ join(',', map { $id{"${round}_$_"} } sort keys %POLICY) ]}]) s},
			't', 20),
		"$round: each schedule fired twice on time before the stop");
	$skipped_before{"${round}_$_"} = $node->safe_psql('app',
		"SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = " . $id{"${round}_$_"})
	  for sort keys %POLICY;
	return;
}

# After the start (paused): the occurrence each schedule of the round waits
# for, which fell due while the server was down.
sub read_pending
{
	my ($round) = @_;
	for my $p (sort keys %POLICY)
	{
		my $name = "${round}_$p";
		my ($next, $last, $skipped) = split /\|/, $node->safe_psql('app', qq{
			SELECT extract(epoch FROM next_at), extract(epoch FROM last_at), skipped
			FROM scheduled_jobs.schedule_rules WHERE id = $id{$name}});
		$pending{$name} = $next;
		cmp_ok($next, '==', $last + 1, "$name: the occurrence pending at the start is the one after the last fired");
		cmp_ok($next, '<', time() - $DOWN + 1, "$name: it fell due while the server was down");
		is($skipped, $skipped_before{$name}, "$name: nothing skipped yet");
	}
	return;
}

# The instants of a schedule in [from, to] (epochs), from next_occurrences().
sub nominal
{
	my ($name, $from, $to) = @_;
	return split /\n/, $node->safe_psql('app', qq{
		SELECT extract(epoch FROM t) FROM scheduled_jobs.next_occurrences(interval '1 second', 'UTC',
			to_timestamp($from) - interval '1 microsecond', 1000, '$start{$name}') t
		WHERE t <= to_timestamp($to)});
}

# The history of a schedule from the instant `from` on, by instant:
# [id, occurrence, fired_at, state, finished_at] (epochs; fired_at '' if none).
sub history
{
	my ($name, $from) = @_;
	return map { [ split /\|/, $_, -1 ] } grep { length } split /\n/, $node->safe_psql('app', qq{
		SELECT id, extract(epoch FROM occurrence_at), extract(epoch FROM fired_at), state,
			extract(epoch FROM finished_at)
		FROM scheduled_jobs.job_history
		WHERE schedule_id = $id{$name} AND occurrence_at >= to_timestamp($from)
		ORDER BY occurrence_at, id});
}

# Wait until each schedule of the round fired an occurrence 2 s after now.
sub await_on_time
{
	my ($round, $listener) = @_;
	my $ids = join(',', map { $id{"${round}_$_"} } sort keys %POLICY);
	my $until = $node->safe_psql('app', q{SELECT now() + interval '2 s'});
	my $sql = qq{
		SELECT count(*) = 0 FROM unnest(ARRAY[$ids]) s WHERE NOT EXISTS (
			SELECT FROM scheduled_jobs.job_history WHERE schedule_id = s AND state = 'notified'
			  AND occurrence_at > '$until')};
	my $deadline = time() + 30;
	while (time() < $deadline)
	{
		my ($out, $err);
		return 1 if $node->psql('app', $sql, stdout => \$out, stderr => \$err) == 0 && $out eq 't';
		$listener ? $listener->drain(0.1) : usleep(100_000);
	}
	return 0;
}

# What the policies say, for the round's schedules after a start at epoch
# $resume; with the envelopes a listener received, if one ran.  S is when the
# scheduler first acted on the pending occurrence O (fired or expired it):
# the instants in [O, S] were missed.
sub check_round
{
	my ($round, $resume, $listener) = @_;
	my $env = $listener ? $listener->{env} : undef;
	for my $p (sort keys %POLICY)
	{
		my $name = "${round}_$p";
		my $o = $pending{$name};
		my @h = history($name, $o);
		my $skipped = $node->safe_psql('app',
			"SELECT skipped FROM scheduled_jobs.schedule_rules WHERE id = $id{$name}") - $skipped_before{$name};
		my $first = $h[0] or do { fail("$name: nothing in history after the start"); next; };
		note("$name: " . join(' ', map { sprintf('%s@%s', $_->[3], $_->[1] - $o) } @h));
		my $s = $first->[2] eq '' ? $first->[4] : $first->[2];
		cmp_ok($s, '>=', $resume, "$name: the scheduler acted on the pending occurrence after the start");
		my @missed = nominal($name, $o, $s);
		my @late = grep { $_->[1] <= $s } @h;
		my @rest = grep { $_->[1] > $s } @h;
		my @fired_late = map { $_->[1] - $o } grep { $_->[3] eq 'notified' } @late;
		my @notified = grep { $_->[3] eq 'notified' } @h;
		cmp_ok(scalar(@missed), '>=', $DOWN - 1, "$name: " . scalar(@missed) . " instants missed while down");
		if ($p eq 'latest')
		{
			# O fires once, late, standing for those after it
			my $n = @missed - 1;
			is("$first->[1] $first->[3]", "$o notified", "$name: the pending occurrence fired late");
			is(join(',', @fired_late), '0', "$name: and no other missed instant");
			is($skipped, $n, "$name: the $n missed after it counted as skipped");
			is($env->{ $first->[0] }{missed}, $n, qq{$name: its envelope says "missed": $n}) if $env;
		}
		elsif ($p eq 'all')
		{
			# the newest catch_up_limit missed instants fire, in order
			my @want = map { $_ - $o } (@missed > $LIMIT ? @missed[ -$LIMIT .. -1 ] : @missed);
			is(scalar(@fired_late), scalar(@want),
				"$name: of the " . scalar(@missed) . " missed instants, at most $LIMIT (catch_up_limit) fired late");
			is(join(',', @fired_late), join(',', @want),
				"$name: the newest of them, in order (seconds after the pending one)");
			is($skipped, @missed - @want, "$name: the older ones counted as skipped");
		}
		else
		{
			# O expires unfired, and so is every instant until S
			is("$first->[1] $first->[3] '$first->[2]'", "$o expired ''", "$name: the stale occurrence expired unfired");
			is(join(',', @fired_late), '', "$name: no missed instant fired");
			is($skipped, scalar(@missed), "$name: the " . scalar(@missed) . " missed counted as skipped");
		}
		# then every instant after S, once, on time
		my @want = nominal($name, $s + 1e-6, $rest[-1][1]);
		is( join(',', map { $_->[1] - $o } @rest), join(',', map { $_ - $o } @want),
			"$name: then every instant after that, once");
		is(scalar(grep { $_->[3] ne 'notified' || $_->[2] > $_->[1] + $ON_TIME } @rest), 0,
			"$name: on time (within $ON_TIME s)");
		next unless $env;
		# every notified occurrence was received once, with its instant (ids
		# grow with the instants of a schedule: those after the history read
		# are left out)
		my $deadline = time() + 10;
		$listener->drain(0.1) while time() < $deadline && grep { !$env->{ $_->[0] } } @notified;
		my @got = grep { $env->{$_}{schedule} eq $name && $_ <= $h[-1][0] } keys %$env;
		is( join(',', sort { $a <=> $b } @got), join(',', sort { $a <=> $b } map { $_->[0] } @notified),
			"$name: the listener received the envelope of each fired occurrence, and no other");
		is(scalar(grep { $env->{$_}{count} != 1 || $env->{$_}{channel} ne $name } @got), 0,
			"$name: each once, on its channel");
		is( scalar(grep { $env->{$_}{occurrence} ne $node->safe_psql('app',
						"SELECT to_json(occurrence_at) #>> '{}' FROM scheduled_jobs.job_history WHERE id = $_") } @got),
			0, "$name: each envelope names its occurrence");
		is(scalar(grep { $p ne 'latest' || $_ ne $first->[0] ? $env->{$_}{missed} != 0 : 0 } @got), 0,
			qq{$name: every other envelope says "missed": 0});
	}
	return;
}

# A listener on the channels of a round: envelopes by job id.
{
	package Listener;

	sub new
	{
		my ($class, $node, $round) = @_;
		my $self = bless { env => {}, dbh => FaultLib::sj_dbh($node, 'app') }, $class;
		$self->{dbh}->do("LISTEN ${round}_$_") for sort keys %POLICY;
		$self->{sel} = IO::Select->new($self->{dbh}->{pg_socket});
		return $self;
	}

	sub drain
	{
		my ($self, $wait) = @_;
		$self->{sel}->can_read($wait);
		while (my $n = $self->{dbh}->pg_notifies)
		{
			my $e = JSON::PP::decode_json($n->[2]);
			my $r = $self->{env}{ $e->{id} } //= { %$e, count => 0 };
			$r->{count}++;
			$r->{channel} = $n->[0];
		}
		return;
	}
}

# 1. fast stop; the listener connects before the scheduler may fire again
create_round('fast');
sj_stop($node, 'fast');
# the server is down: nothing to poll, the occurrences just fall due
usleep($DOWN * 1_000_000);
$node->append_conf('postgresql.conf', "scheduled_jobs.paused = on\n");
sj_start($node, 'fast restart');
read_pending('fast');
my $listener = Listener->new($node, 'fast');
my $resume = $node->safe_psql('app', q{SELECT extract(epoch FROM now())});
$node->append_conf('postgresql.conf', "scheduled_jobs.paused = off\n");
$node->reload;
ok(await_on_time('fast', $listener), 'fast restart: each schedule fires on time again');
check_round('fast', $resume, $listener);
$listener->{dbh}->disconnect;
$node->safe_psql('app', "SELECT scheduled_jobs.drop_schedule('fast_$_')") for sort keys %POLICY;

# 2. immediate stop (a crash): the scheduler fires as soon as it is back
create_round('crash');
sj_stop($node, 'immediate');
usleep($DOWN * 1_000_000);
sj_start($node, 'restart after the immediate stop');
$resume = $node->safe_psql('app', q{SELECT extract(epoch FROM pg_postmaster_start_time())});
ok(await_on_time('crash'), 'immediate stop: each schedule fires on time again');
# (nothing is paused now: the pending occurrences are read from history)
for my $p (sort keys %POLICY)
{
	my $name = "crash_$p";
	$pending{$name} = $node->safe_psql('app', qq{
		SELECT extract(epoch FROM min(occurrence_at)) FROM scheduled_jobs.job_history
		WHERE schedule_id = $id{$name} AND coalesce(fired_at, finished_at) > pg_postmaster_start_time()});
	my $before = $node->safe_psql('app', qq{
		SELECT extract(epoch FROM max(occurrence_at)) FROM scheduled_jobs.job_history
		WHERE schedule_id = $id{$name} AND coalesce(fired_at, finished_at) < pg_postmaster_start_time()});
	cmp_ok($pending{$name}, '==', $before + 1, "$name: the first occurrence after the start is the one after the last before it");
}
check_round('crash', $resume, undef);
$node->safe_psql('app', "SELECT scheduled_jobs.drop_schedule('crash_$_')") for sort keys %POLICY;

# 3. the owner loses EXECUTE on the procedure, then gets it back
$node->safe_psql('app', q{
	CREATE ROLE sj_owner;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_owner;
	CREATE TABLE sjt.owned (occurrence timestamptz PRIMARY KEY);
	GRANT USAGE ON SCHEMA sjt TO sj_owner;
	GRANT INSERT ON sjt.owned TO sj_owner;
	CREATE PROCEDURE sjt.owned_work(payload jsonb) LANGUAGE sql
	AS $$ INSERT INTO sjt.owned VALUES ((scheduled_jobs.current_job()->>'occurrence')::timestamptz) $$;
	REVOKE ALL ON PROCEDURE sjt.owned_work(jsonb) FROM PUBLIC;
	GRANT EXECUTE ON PROCEDURE sjt.owned_work(jsonb) TO sj_owner;});
my $oid = $node->safe_psql('app', q{
	SET ROLE sj_owner;
	SELECT scheduled_jobs.create_schedule('owned', every => '1 second', procedure => 'sjt.owned_work',
		time_zone => 'UTC', max_attempts => 1, start_at => date_trunc('second', now()) + interval '1 s')});
my $hq = "scheduled_jobs.job_history WHERE schedule_id = $oid";
ok(sj_poll($node, 'app', "SELECT count(*) > 0 FROM $hq AND state = 'succeeded'", 't', 10),
	'owned: an occurrence succeeds as its owner');
my $revoked = $node->safe_psql('app', q{
	REVOKE EXECUTE ON PROCEDURE sjt.owned_work(jsonb) FROM sj_owner; SELECT now()});
ok( sj_poll($node, 'app',
		"SELECT count(*) >= 2 FROM $hq AND state = 'failed' AND occurrence_at > '$revoked'", 't', 15),
	'owned, EXECUTE revoked: the occurrences fail, one after the other');
is( $node->safe_psql('app', qq{
		SELECT string_agg(DISTINCT attempts || ' ' || (last_error_data->>'sqlstate'), ',')
		FROM $hq AND state = 'failed'}),
	'1 42501', 'owned: each failed once (max_attempts 1), permission denied');
is( $node->safe_psql('app', q{
		SELECT last_state || ' ' || (last_error LIKE '%permission denied%')
			|| ' ' || (next_occurrence > last_occurrence) || ' ' || (next_run_at IS NOT NULL)
		FROM scheduled_jobs.schedules WHERE name = 'owned'}),
	'failed true true true',
	'owned: last_state failed with the error, the next occurrence pending');
my $granted = $node->safe_psql('app', q{
	GRANT EXECUTE ON PROCEDURE sjt.owned_work(jsonb) TO sj_owner; SELECT now()});
ok( sj_poll($node, 'app',
		"SELECT count(*) >= 2 FROM $hq AND state = 'succeeded' AND occurrence_at > '$granted'", 't', 15),
	'owned, EXECUTE granted back: the occurrences succeed again');
is($node->safe_psql('app', "SELECT last_state FROM scheduled_jobs.schedules WHERE name = 'owned'"),
	'succeeded', 'owned: last_state succeeded');
# every instant accounted for, in one snapshot: fired (succeeded or failed)
# or skipped, once, up to the one pending
like( $node->safe_psql('app', qq{
		SELECT (SELECT count(*) FROM $hq) || '/' || (SELECT count(DISTINCT occurrence_at) FROM $hq)
			|| '/' || r.runs || ' ' || (SELECT count(*) FROM scheduled_jobs.next_occurrences(
				interval '1 second', 'UTC', r.start_at - interval '1 microsecond', 1000, r.start_at) t
				WHERE t < r.next_at) - r.runs - r.skipped
		FROM scheduled_jobs.schedule_rules r WHERE r.id = $oid}),
	qr{^(\d+)/\1/\1 0$}, 'owned: each fired occurrence in history once, fired + skipped = every instant');
is( $node->safe_psql('app', qq{
		SELECT count(*) FROM (
			(SELECT occurrence_at FROM $hq AND state = 'succeeded' EXCEPT ALL SELECT occurrence FROM sjt.owned)
			UNION ALL
			(SELECT occurrence FROM sjt.owned EXCEPT ALL SELECT occurrence_at FROM $hq AND state = 'succeeded')) d}),
	'0', 'owned: one effect per succeeded occurrence, none for the failed ones');

sj_check_crash_free($node, 'schedules across restarts');
sj_stop($node);
done_testing();
