
# Fault: kill -9 of the scheduler and of executors at random moments while
# recurring schedules fire fast, until about 1,000 occurrences have fired
# (each kill makes the postmaster restart every backend: crash recovery).
# Then every nominal instant is accounted for, against next_occurrences():
#  - catch_up all (a NOTIFY schedule, and a concurrent procedure schedule
#    whose procedure records current_job()'s occurrence under a UNIQUE
#    constraint): each instant fired exactly once, none lost, none doubled;
#  - catch_up latest (NOTIFY every 100 ms, cron '* * * * * *', and a
#    procedure schedule): each instant fired once or counted as skipped by
#    the late run that stood for it (runs + skipped = instants), the next
#    fired one is the first instant after the late run fired, none twice;
#  - after the kills, each schedule fires on time again.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $TARGET = 1000;    # occurrences fired in all, kills meanwhile

# A kill -9 of an executor inside a job charges that attempt (57P02, README
# guarantee 5): the procedure schedules have attempts to spare, retried soon.
my $node = sj_node('schedules_kill',
	conf => "log_statement = none\nscheduled_jobs.retry_base_delay = 10ms\n");
sj_setup_db($node, 'app');
# The procedure records the nominal instant it runs for; a second run of one
# occurrence would violate the constraint (and fail: see the 23505 check).
# It takes 20 ms, so that some kills of an executor land inside a job.
$node->safe_psql('app', q{
	CREATE TABLE sjt.occ (schedule text NOT NULL, occurrence timestamptz NOT NULL,
		done_at timestamptz NOT NULL DEFAULT clock_timestamp(), UNIQUE (schedule, occurrence));
	CREATE PROCEDURE sjt.occur(payload jsonb) LANGUAGE plpgsql AS $$
	DECLARE
		j jsonb := scheduled_jobs.current_job();
	BEGIN
		-- long enough for a kill to land inside the job's transaction
		PERFORM pg_sleep(0.02);
		INSERT INTO sjt.occ (schedule, occurrence)
		VALUES (j->>'schedule', (j->>'occurrence')::timestamptz);
	END $$;});

# name => [rule SQL for next_occurrences(), create_schedule arguments]
my %S = (
	n_all => [ q{interval '100 ms'},
		q{every => '100 ms', channel => 'k_all', catch_up => 'all', catch_up_limit => 100000} ],
	n_latest => [ q{interval '100 ms'}, q{every => '100 ms', channel => 'k_latest'} ],
	c_latest => [ q{'* * * * * *'}, q{cron => '* * * * * *', channel => 'k_cron'} ],
	p_all => [ q{interval '100 ms'},
		q{every => '100 ms', procedure => 'sjt.occur', catch_up => 'all', catch_up_limit => 100000,
		  overlap => 'concurrent', max_attempts => 20} ],
	p_latest => [ q{interval '100 ms'}, q{every => '100 ms', procedure => 'sjt.occur', max_attempts => 20} ],
);
my @NAMES = sort keys %S;

# All start at the same whole second, so that the first instant is start.
my $start = $node->safe_psql('app',
	q{SELECT date_trunc('second', now()) + interval '2 s'});
my %id;
for my $name (@NAMES)
{
	$id{$name} = $node->safe_psql('app', qq{
		SELECT scheduled_jobs.create_schedule('$name', $S{$name}[1],
			time_zone => 'UTC', start_at => '$start', payload => '{"s": "$name"}')});
}
my $ids = join(',', values %id);

# The nominal instants of a schedule in [start, upto] (SQL).
sub nominal_sql
{
	my ($name, $upto) = @_;
	my $rule = $S{$name}[0];
	my $extra = $rule =~ /^interval/ ? ", '$start'" : '';
	return qq{SELECT t FROM scheduled_jobs.next_occurrences($rule, 'UTC',
		'$start'::timestamptz - interval '1 microsecond', 5000$extra) t WHERE t <= $upto};
}

# The occurrences fired so far, in all (undef while the server is down).
sub fired
{
	my ($out, $err);
	my $ret = $node->psql('app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE schedule_id IN ($ids)",
		stdout => \$out, stderr => \$err);
	return $ret == 0 ? $out : undef;
}

# The scheduled_jobs processes of app now, by kind (empty while it restarts).
sub workers
{
	my ($out, $err);
	my $ret = $node->psql('postgres', q{
		SELECT backend_type, pid FROM pg_stat_activity
		WHERE backend_type IN ('scheduled_jobs scheduler', 'scheduled_jobs executor')
		  AND datname = 'app'},
		stdout => \$out, stderr => \$err);
	my %w = (scheduler => [], executor => []);
	return \%w if $ret != 0;
	for (split /\n/, $out)
	{
		my ($type, $pid) = split /\|/;
		push @{ $w{ $type =~ /scheduler/ ? 'scheduler' : 'executor' } }, $pid;
	}
	return \%w;
}

ok(sj_poll($node, 'app',
		"SELECT count(DISTINCT schedule_id) FROM scheduled_jobs.job_history WHERE schedule_id IN ($ids)",
		scalar(@NAMES), 30),
	'each schedule fires');

# kill -9 at random moments, a scheduler or an executor, until TARGET fired
my (@killed, %kills);
my $t0 = time();
my $deadline = $t0 + 150;
my $back = 1;
while (time() < $deadline)
{
	my $n = fired();
	last if defined $n && $n >= $TARGET;
	usleep(int((0.2 + rand(1.3)) * 1e6));
	my $w = workers();
	# (no executor at this moment, e.g. just after a restart: try again)
	my $kind = rand() < 0.5 ? 'executor' : 'scheduler';
	my @pids = @{ $w->{$kind} };
	next unless @pids;
	my $pid = $pids[ int(rand(@pids)) ];
	next unless kill('KILL', $pid);
	push @killed, $pid;
	$kills{$kind}++;
	# back: a scheduler that is none of the processes before the kill
	my $old = join(',', @{ $w->{scheduler} }, @{ $w->{executor} });
	$back = sj_poll($node, 'postgres', qq{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler' AND datname = 'app' AND pid NOT IN ($old)},
		't', 30);
	last unless $back;
}
my $n_fired = fired() // 0;
my $nkills = @killed;
note(sprintf('%d kills (%d scheduler, %d executor), %d occurrences fired in %.1fs',
		$nkills, $kills{scheduler} // 0, $kills{executor} // 0, $n_fired, time() - $t0));
ok($back, 'the workers came back after every kill');
ok($n_fired >= $TARGET, "$TARGET occurrences fired meanwhile ($n_fired)");
ok(($kills{scheduler} // 0) >= 3 && ($kills{executor} // 0) >= 3,
	'schedulers and executors were killed several times each');

# Quiet again: everything up to a cut-off 3 s from now must have fired (or,
# for latest, been decided) once every schedule has fired past it; the last
# 2 s before it, after the last restart, must be on time.
my $cut = $node->safe_psql('app', q{SELECT now() + interval '3 s'});
my $cutq = "'$cut'::timestamptz";
ok( sj_poll($node, 'app', qq{
		SELECT count(*) = 0 FROM unnest(ARRAY[$ids]::bigint[]) s
		WHERE NOT EXISTS (SELECT FROM scheduled_jobs.job_history h
			WHERE h.schedule_id = s AND h.occurrence_at > $cutq + interval '1 s')
		   OR EXISTS (SELECT FROM scheduled_jobs.jobs j
			WHERE j.schedule_id = s AND j.occurrence_at <= $cutq)},
		't', 30),
	'after the kills each schedule fires past the cut-off, nothing before it pending');

# catch_up all: the instants fired (and the effects) are exactly the nominal ones
my $caught_up = 0;
for my $name (qw(n_all p_all))
{
	my $nominal = nominal_sql($name, $cutq);
	my $expected = $node->safe_psql('app', "SELECT count(*) FROM ($nominal) n");
	my @sets = ([ 'fired', "SELECT occurrence_at AS t FROM scheduled_jobs.job_history WHERE schedule_id = $id{$name}" ]);
	push @sets, [ 'effects', "SELECT occurrence AS t FROM sjt.occ WHERE schedule = '$name'" ]
	  if $name =~ /^p_/;
	for my $set (@sets)
	{
		my ($what, $sql) = @$set;
		# count / distinct / nominal ones missing / off the rule
		is( $node->safe_psql('app', qq{
				WITH n AS ($nominal), f AS (SELECT t FROM ($sql) x WHERE t <= $cutq)
				SELECT (SELECT count(*) FROM f) || '/' || (SELECT count(DISTINCT t) FROM f)
					|| ' lost ' || (SELECT count(*) FROM n WHERE t NOT IN (SELECT t FROM f))
					|| ' off ' || (SELECT count(*) FROM f WHERE t NOT IN (SELECT t FROM n))}),
			"$expected/$expected lost 0 off 0",
			"$name (catch_up all): each of the $expected nominal instants $what exactly once");
	}
	is( $node->safe_psql('app', qq{
			SELECT skipped || ' ' || (SELECT string_agg(DISTINCT state, ',')
				FROM scheduled_jobs.job_history WHERE schedule_id = $id{$name})
			FROM scheduled_jobs.schedule_rules WHERE id = $id{$name}}),
		'0 ' . ($name =~ /^p_/ ? 'succeeded' : 'notified'),
		"$name: none skipped, every one " . ($name =~ /^p_/ ? 'succeeded' : 'notified'));
	# fired after the next instant was due: latest would have skipped it
	my $late = $node->safe_psql('app', qq{
		SELECT count(*) FROM scheduled_jobs.job_history
		WHERE schedule_id = $id{$name} AND fired_at >= occurrence_at + interval '100 ms'});
	note("$name: $expected instants, $late of them fired after the next was due");
	$caught_up += $late;
}
# (a restart can be quicker than 100 ms: counted over both schedules)
ok($caught_up > 0, "catch_up all: the kills made occurrences late, and they were caught up ($caught_up)");

# catch_up latest: in one snapshot, runs + skipped = the instants before the
# pending one, each fired once, and (NOTIFY) the one after a fired occurrence
# is the first instant after it fired: the late run stood for those between.
my $missed = 0;
for my $name (qw(n_latest c_latest p_latest))
{
	my $r = "scheduled_jobs.schedule_rules r";
	my $h = "scheduled_jobs.job_history h";
	my $nominal = nominal_sql($name, 'r.next_at');
	my ($runs, $hist, $distinct, $skipped, $instants, $off, $states) = split /\|/,
	  $node->safe_psql('app', qq{
		SELECT r.runs, (SELECT count(*) FROM $h WHERE h.schedule_id = r.id),
			(SELECT count(DISTINCT occurrence_at) FROM $h WHERE h.schedule_id = r.id), r.skipped,
			(SELECT count(*) FROM ($nominal) n WHERE t < r.next_at),
			(SELECT count(*) FROM $h WHERE h.schedule_id = r.id
				AND h.occurrence_at NOT IN (SELECT t FROM ($nominal) n)),
			(SELECT string_agg(DISTINCT state, ',') FROM $h WHERE h.schedule_id = r.id)
		FROM $r WHERE r.id = $id{$name}});
	note("$name: $instants instants, $runs fired, $skipped skipped");
	is("$hist/$distinct", "$runs/$runs", "$name: each fired occurrence in history once (runs = history rows = distinct instants)");
	is($runs + $skipped, $instants, "$name (catch_up latest): fired + skipped = every instant before the pending one");
	is($off, '0', "$name: every fired occurrence is a nominal instant");
	is($states, $name =~ /^p_/ ? 'succeeded' : 'notified', "$name: every one " . ($name =~ /^p_/ ? 'succeeded' : 'notified'));
	$missed += $skipped;
	next if $name =~ /^p_/;
	# the instant after each fired one is the first after its fired_at
	# (NOTIFY: fired_at is the start of the firing transaction, the now of
	# the catch_up decision)
	my $extra = $S{$name}[0] =~ /^interval/ ? ", '$start'" : '';
	is( $node->safe_psql('app', qq{
			SELECT count(*) FROM (
				SELECT fired_at, lead(occurrence_at) OVER (ORDER BY occurrence_at) AS next
				FROM $h WHERE h.schedule_id = $id{$name}) f
			WHERE next IS NOT NULL AND next <> (SELECT t FROM scheduled_jobs.next_occurrences(
				$S{$name}[0], 'UTC', f.fired_at, 1$extra) t)}),
		'0', "$name: after each run the next one fired is the first instant after it fired");
}

ok($missed > 0, "catch_up latest: the kills made occurrences missed, counted as skipped ($missed)");

# the effects of the procedure schedules are their succeeded occurrences
for my $name (qw(p_all p_latest))
{
	is( $node->safe_psql('app', qq{
			SELECT count(*) FROM (
				(SELECT occurrence_at FROM scheduled_jobs.job_history WHERE schedule_id = $id{$name}
				 EXCEPT ALL SELECT occurrence FROM sjt.occ WHERE schedule = '$name')
				UNION ALL
				(SELECT occurrence FROM sjt.occ WHERE schedule = '$name'
				 EXCEPT ALL SELECT occurrence_at FROM scheduled_jobs.job_history
				 WHERE schedule_id = $id{$name} AND state = 'succeeded')) d}),
		'0', "$name: one effect per succeeded occurrence, none without one");
}
is( $node->safe_psql('app', qq{
		SELECT count(*) FROM scheduled_jobs.job_history
		WHERE schedule_id IN ($ids) AND last_error_data->>'sqlstate' = '23505'}),
	'0', 'no occurrence ran a second time (no unique violation in any attempt)');
# the attempts the kills charged: 57P02, each then run again
note($node->safe_psql('app', qq{
	SELECT count(*) || ' occurrences were killed inside their job and run again (57P02 charged)'
	FROM scheduled_jobs.job_history
	WHERE schedule_id IN ($ids) AND last_error_data->>'sqlstate' = '57P02' AND state = 'succeeded'}));
# A concurrent schedule has the next occurrence pending as soon as one came
# due: "the future" is clock_timestamp(), read after the statement's
# snapshot.  now() is read before it: an occurrence coming due in between
# (its next one committed before the snapshot) looked like two pending in
# the future, which failed this once in CI.
is( $node->safe_psql('app', qq{
		SELECT count(*) FROM unnest(ARRAY[$ids]::bigint[]) s
		WHERE (SELECT count(*) FROM scheduled_jobs.jobs j WHERE j.schedule_id = s
			AND j.occurrence_at > clock_timestamp()) > 1}),
	'0', 'no schedule has two occurrences pending in the future')
  or diag($node->safe_psql('app', qq{
		SELECT now(), r.name, r.job_id, r.next_at, j.id, j.occurrence_at, j.run_at, j.attempts,
			j.created_at
		FROM scheduled_jobs.jobs j JOIN scheduled_jobs.schedule_rules r ON r.id = j.schedule_id
		WHERE j.schedule_id IN ($ids) ORDER BY r.name, j.occurrence_at}));

# on time again: the last 2 s before the cut-off, each instant of each
# schedule fired within 200 ms
is( $node->safe_psql('app', qq{
		SELECT string_agg(occurrence_at || ' fired ' || (fired_at - occurrence_at), ', ')
		FROM scheduled_jobs.job_history
		WHERE schedule_id IN ($ids) AND occurrence_at > $cutq - interval '2 s'
		  AND occurrence_at <= $cutq AND fired_at > occurrence_at + interval '200 ms'}),
	'', 'after the kills every occurrence fires on time');
for my $name (qw(n_latest p_latest))
{
	is( $node->safe_psql('app', qq{
			SELECT count(*) FROM (@{[ nominal_sql($name, $cutq) ]}) n
			WHERE t > $cutq - interval '2 s' AND t NOT IN (
				SELECT occurrence_at FROM scheduled_jobs.job_history WHERE schedule_id = $id{$name})}),
		'0', "$name: after the kills none is skipped");
}

sj_check_crash_free($node, 'schedules under kill -9', @killed);
sj_stop($node);
done_testing();
