
# Fault: the claims' floors never lose a job (issue 13).  The claims read
# their run_at index from a floor, a lower bound that the scheduler raises to
# the earliest pending job it sees and that every commit of an earlier
# run_at lowers (src/shmem.c).  A job left below the floor would wait for the
# scheduler's scan from -infinity, which comes at least every
# scheduled_jobs.max_sleep: 1 hour here, so that within this test's
# deadlines only the floor can let a job fire.
#  1. NOTIFY jobs: with a job due in an hour pending (the floor rises to it),
#     a job scheduled an hour in the past fires; so does the pending one
#     rescheduled into the past, and a job whose job_key is replaced by one in
#     the past.
#  2. procedure jobs: the same, with the executors' floor.
#  3. a due job locked by another transaction while a later one fires: the
#     floor stays at the locked job, which fires once the lock goes.
#  4. a job scheduled in the past by a prepared transaction fires at COMMIT
#     PREPARED; a job COPYed into the table in the past fires.
#  5. load: 4 clients schedule NOTIFY and procedure jobs for 6 s at random
#     instants from an hour in the past to 2 s ahead, moving keyed jobs into
#     the past, then for 6 s an hour in the past in the order they are
#     scheduled, beside jobs due in the next 2 s: every job fires, once.
#  6. a job inserted by plain SQL below the floor (nothing lowers it) fires
#     within max_sleep (set to 2 s), from the scheduler's scan from -infinity.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = sj_node('floor',
	conf => "scheduled_jobs.max_sleep = '1h'\nmax_prepared_transactions = 4\n"
	  . "log_statement = none\n");
sj_setup_db($node, 'app');
my $me = $node->safe_psql('app', 'SELECT current_user');

sub sql { return $node->safe_psql('app', $_[0]); }

# history rows and effects of a token
sub fired
{
	my ($token) = @_;
	return sql(qq{SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$token'});
}

sub fires_once
{
	my ($token, $what, $timeout) = @_;
	ok( sj_poll($node, 'app',
			qq{SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = '$token'},
			'1', $timeout // 10),
		"$what: fires");
	return;
}

# schedule(run_at SQL, token, kind, key): a NOTIFY ('n') or procedure ('p') job
sub schedule
{
	my ($at, $token, $kind, $key) = @_;
	my $target = $kind eq 'p' ? "procedure => 'sjt.record'" : "channel => 'floor'";
	$key = defined $key ? ", job_key => '$key'" : '';
	return sql(qq{SELECT scheduled_jobs.schedule_job($at, $target,
		payload => '{"token": "$token"}'$key)});
}

# A job due now fires, and the pass after it raises the floors to the
# earliest pending job (due in an hour); then wait out the plan step.
sub raise_floors
{
	my ($tag) = @_;
	schedule('now()', "raise_$tag", 'n');
	schedule('now()', "raise_${tag}_p", 'p');
	fires_once("raise_$tag",   "$tag: a job due now");
	fires_once("raise_${tag}_p", "$tag: a procedure job due now");
	usleep(300_000);
	return;
}

# 1, 2: jobs in the past below a raised floor, of both kinds.
for my $kind ('n', 'p')
{
	my $k = $kind eq 'n' ? 'NOTIFY' : 'procedure';
	schedule("now() + interval '1 hour'", "later_$kind", $kind, "later_$kind");
	schedule("now() + interval '1 hour'", "key_$kind", $kind, "key_$kind");
	raise_floors("$k 1");
	schedule("now() - interval '1 hour'", "past_$kind", $kind);
	fires_once("past_$kind", "$k: a job scheduled an hour in the past, below the floor");

	raise_floors("$k 2");
	is(sql(qq{SELECT scheduled_jobs.reschedule_job('later_$kind', now() - interval '30 minutes')}),
		't', "$k: the job due in an hour is rescheduled into the past");
	fires_once("later_$kind", "$k: the rescheduled job");

	raise_floors("$k 3");
	schedule("now() - interval '10 minutes'", "key_$kind", $kind, "key_$kind");
	fires_once("key_$kind", "$k: the job replaced by job_key with one in the past");
}
is(sql(q{SELECT count(*) FROM sjt.effects WHERE token IN ('past_p', 'later_p', 'key_p')}),
	'3', 'procedure: the three jobs ran, once each');

# 3. A due job locked by another transaction: the scheduler skips it while
# it fires the next one, and the floor must not pass it.
schedule("now() + interval '1 hour'", 'pending', 'n', 'pending');
my $s = $node->background_psql('app');
schedule("now() + interval '2 s'", 'locked', 'n');
$s->query_safe('BEGIN');
is($s->query_safe(q{SELECT count(*) FROM (SELECT 1 FROM scheduled_jobs.jobs
	WHERE payload->>'token' = 'locked' FOR UPDATE) l}), '1', 'locked: another transaction locks a job due in 2 s');
schedule("now() + interval '2500 ms'", 'after_locked', 'n');
fires_once('after_locked', 'locked: the job due after it');
usleep(500_000);
is(fired('locked'), '0', 'locked: the locked job waits');
$s->query_safe('ROLLBACK');
$s->quit;
fires_once('locked', 'locked: the job, once its lock is gone', 5);

# 4. A prepared transaction's commit-time callbacks are lost with its
# session: COMMIT PREPARED lowers the floors.  COPY writes rows that no
# function lowered them for.
raise_floors('prepared');
sql(qq{BEGIN;
	SELECT scheduled_jobs.schedule_job(now() - interval '1 hour', channel => 'floor',
		payload => '{"token": "prepared"}');
	PREPARE TRANSACTION 'floor';});
usleep(300_000);
is(fired('prepared'), '0', 'prepared: nothing fires before COMMIT PREPARED');
sql(q{COMMIT PREPARED 'floor'});
fires_once('prepared', 'prepared: the job in the past, after COMMIT PREPARED');

raise_floors('copy');
sql(qq{COPY scheduled_jobs.jobs (run_at, channel, payload, owner) FROM STDIN;
2000-01-01 00:00:00+00	floor	{"token": "copied"}	$me
\\.
});
fires_once('copied', 'COPY: a job in the past');

# 5. Load: commits of earlier run_ats race with the scheduler's raises.
# First at random instants (a job left below the floor would be found again
# when a later commit lowers the floor further), then all an hour in the
# past, in the order they are scheduled, beside jobs due in the next 2 s
# that the floor rises to: there a job left below the floor by a lost
# lowering stays there.
sql(q{CREATE TABLE sjt.returned (id bigint NOT NULL)});
my $dir = PostgreSQL::Test::Utils::tempdir();
my %scripts = (
	'random/notify@3' => q{
\set d random(-3600000, 2000)
INSERT INTO sjt.returned SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms',
	channel => 'floorload', payload => '{"token": "load"}');
},
	'random/proc@3' => q{
\set d random(-3600000, 2000)
INSERT INTO sjt.returned SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms',
	procedure => 'sjt.record', payload => '{"token": "load"}');
},
	'random/keyed@1' => q{
\set k random(1, 50)
SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'floorload',
	payload => '{"token": "keyed"}', job_key => 'lk' || :k);
},
	'random/move@1' => q{
\set k random(1, 50)
\set d random(1, 3600000)
SELECT scheduled_jobs.reschedule_job('lk' || :k, now() - :d * interval '1 ms');
},
	'ordered/notify@2' => q{
INSERT INTO sjt.returned SELECT scheduled_jobs.schedule_job(now() - interval '1 hour',
	channel => 'floorload', payload => '{"token": "load"}');
},
	'ordered/proc@2' => q{
INSERT INTO sjt.returned SELECT scheduled_jobs.schedule_job(now() - interval '1 hour',
	procedure => 'sjt.record', payload => '{"token": "load"}');
},
	'ordered/soon@1' => q{
\set d random(0, 2000)
INSERT INTO sjt.returned SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms',
	channel => 'floorload', payload => '{"token": "load"}');
INSERT INTO sjt.returned SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms',
	procedure => 'sjt.record', payload => '{"token": "load"}');
},
);
my $t0 = time();
for my $kind ('random', 'ordered')
{
	my @fargs;
	for my $name (sort grep { m{^$kind/} } keys %scripts)
	{
		my ($file, $weight) = split /@/, $name;
		$file =~ s{/}{_};
		PostgreSQL::Test::Utils::append_to_file("$dir/$file.sql", $scripts{$name});
		push @fargs, '-f', "$dir/$file.sql\@$weight";
	}
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '6', '-R', '400', @fargs,
			'-h', $node->host, '-p', $node->port, 'app' ],
		'>', \$out, '2>', \$err);
	ok($ok, "load: pgbench ran, $kind instants") or diag($err);
}
my $n = sql('SELECT count(*) FROM sjt.returned');
note(sprintf('load: %d jobs without a key in %.1f s', $n, time() - $t0));
ok( sj_poll($node, 'app',
		q{SELECT count(*) FROM scheduled_jobs.jobs WHERE run_at <= now() AND payload->>'token' <> 'pending'},
		'0', 20),
	'load: nothing due is left pending');
ok( sj_poll($node, 'app',
		q{SELECT count(*) FROM sjt.returned r WHERE NOT EXISTS
			(SELECT FROM scheduled_jobs.job_history h WHERE h.id = r.id)}, '0', 20),
	'load: every job fired');
is( sql(q{SELECT count(*) FROM (SELECT id FROM scheduled_jobs.job_history GROUP BY id HAVING count(*) > 1) d}),
	'0', 'load: no job fired twice');
is( sql(q{SELECT (SELECT count(*) FROM sjt.effects WHERE token = 'load') =
		(SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'load' AND procedure IS NOT NULL)}),
	't', 'load: one effect per procedure job run');
is( sql(q{SELECT count(*) FROM scheduled_jobs.job_history WHERE state NOT IN ('notified', 'succeeded')}),
	'0', 'load: every job notified or succeeded');

# 6. Plain SQL lowers nothing: the scan from -infinity, every max_sleep,
# finds the job.
sql(q{ALTER SYSTEM SET scheduled_jobs.max_sleep = '2s'; SELECT pg_reload_conf()});
raise_floors('direct');
sql(qq{INSERT INTO scheduled_jobs.jobs (run_at, channel, payload, owner)
	VALUES (now() - interval '1 hour', 'floor', '{"token": "direct"}', '$me')});
fires_once('direct', 'plain SQL: a job inserted below the floor, within max_sleep', 8);

sj_check_crash_free($node, 'floor');
sj_stop($node);
done_testing();
