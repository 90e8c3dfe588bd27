
# Fault: statistics (scheduled_jobs.stats) under two-phase commit, worker
# exits and a failing compaction.  The counts of job_stats agree with
# job_history, and nothing that goes wrong with statistics holds up an ack
# or the pruning of job_history.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = sj_node('stats', conf => "max_prepared_transactions = 5\n");
sj_setup_db($node, 'app');

# the jobs of job_history and the counts of job_stats for targets LIKE $like:
# "target:fired/succeeded/cancelled" each
sub history
{
	my ($like) = @_;
	return $node->safe_psql('app', qq{
		SELECT string_agg(t || ':' || f || '/' || s || '/' || c, ',' ORDER BY t) FROM (
		SELECT COALESCE(channel, procedure) t, count(fired_at) f,
			count(*) FILTER (WHERE state IN ('notified', 'succeeded', 'acknowledged')) s,
			count(*) FILTER (WHERE state = 'cancelled') c
		FROM scheduled_jobs.job_history WHERE COALESCE(channel, procedure) LIKE '$like' GROUP BY 1) h});
}

sub counted
{
	my ($like) = @_;
	return $node->safe_psql('app', qq{
		SELECT string_agg(t || ':' || f || '/' || s || '/' || c, ',' ORDER BY t) FROM (
		SELECT target t, sum(fired) f, sum(succeeded) s, sum(cancelled) c
		FROM scheduled_jobs.job_stats WHERE target LIKE '$like' GROUP BY 1) h});
}

# whether job_stats agrees with job_history for targets LIKE $like within
# $timeout seconds (the workers write a second after the jobs finished)
sub agree
{
	my ($like, $timeout) = @_;
	my $deadline = time() + $timeout;
	while (counted($like) ne history($like))
	{
		if (time() > $deadline)
		{
			diag('job_history: ' . history($like) . ', job_stats: ' . counted($like));
			return 0;
		}
		usleep(100_000);
	}
	return 1;
}

# --- two-phase commit ------------------------------------------------------
# A prepared ack keeps its job_stats row locked until COMMIT PREPARED: the
# session that prepared it (and, once it is gone, the next backend with its
# proc number) acks again at once, and the counts follow the prepared
# transactions' outcome.
$node->safe_psql('app', q{
	SELECT scheduled_jobs.configure_channel('st_2pc', '10 minutes');
	SELECT scheduled_jobs.schedule_job(now(), channel => 'st_2pc', job_key => 'st_2pc_' || g)
	FROM generate_series(1, 4) g;
	SELECT scheduled_jobs.schedule_job(now() + interval '1 hour', channel => 'st_2pc_later', job_key => 'st_2pc_later_' || g)
	FROM generate_series(1, 2) g;});
ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'st_2pc' AND due_at IS NOT NULL",
		'4', 30),
	'2pc: the jobs are delivered, in flight');

my $s = sj_dbh($node, 'app');
$s->do("SET lock_timeout = '5s'");
my $id_of = sub {
	$s->selectrow_array('SELECT id FROM scheduled_jobs.jobs WHERE job_key = ?', undef, shift);
};
$s->begin_work;
$s->do('SELECT scheduled_jobs.ack(?::bigint)', undef, $id_of->('st_2pc_1'));
$s->do('SELECT scheduled_jobs.cancel_job(?::bigint)', undef, $id_of->('st_2pc_later_1'));
$s->do("PREPARE TRANSACTION 'st_2pc_a'");
$s->{AutoCommit} = 1;
ok(eval { $s->do('SELECT scheduled_jobs.ack(?::bigint)', undef, $id_of->('st_2pc_2')); 1 },
	'2pc: the session acks again after PREPARE TRANSACTION, without waiting for it')
  or diag($@);
ok(eval { $s->do('SELECT scheduled_jobs.cancel_job(?::bigint)', undef, $id_of->('st_2pc_later_2')); 1 },
	'2pc: and cancels')
  or diag($@);
$s->begin_work;
$s->do('SELECT scheduled_jobs.ack(?::bigint)', undef, $id_of->('st_2pc_3'));
$s->do("PREPARE TRANSACTION 'st_2pc_b'");
$s->{AutoCommit} = 1;
$s->disconnect;
# a new session, likely with the same proc number
my $s2 = sj_dbh($node, 'app');
$s2->do("SET lock_timeout = '5s'");
ok( eval {
		$s2->do(q{SELECT scheduled_jobs.ack(id) FROM scheduled_jobs.jobs WHERE job_key = 'st_2pc_4'});
		1;
	},
	'2pc: a new session acks while both are prepared')
  or diag($@);
$s2->disconnect;
$node->safe_psql('app', "COMMIT PREPARED 'st_2pc_a'");
$node->safe_psql('app', "ROLLBACK PREPARED 'st_2pc_b'");
is(history('st\_2pc%'), 'st_2pc:3/3/0,st_2pc_later:0/0/2', '2pc: job_history');
is(counted('st\_2pc%'), history('st\_2pc%'),
	'2pc: job_stats agrees: the committed prepared ack and cancel count, the rolled-back one does not');

# --- worker exits ---------------------------------------------------------
# The scheduler and the executors keep their counts for up to a second:
# stopped (pg_terminate_backend(), a fast shutdown) with counts kept, they
# write them on their way out.
for my $how (qw(terminate fast))
{
	my $c = "st_exit_$how";
	$node->safe_psql('app', qq{
		SELECT count(scheduled_jobs.schedule_job(now(), channel => '$c')) FROM generate_series(1, 100);
		SELECT count(scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
			payload => jsonb_build_object('token', '$c'))) FROM generate_series(1, 20);});
	ok( sj_poll($node, 'app', qq{
			SELECT count(*) FROM scheduled_jobs.job_history
			WHERE channel = '$c' OR payload->>'token' = '$c'}, '120', 30),
		"$how: the jobs finished");
	if ($how eq 'terminate')
	{
		$node->safe_psql('app', q{
			SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE backend_type IN ('scheduled_jobs scheduler', 'scheduled_jobs executor')});
	}
	else
	{
		sj_stop($node, 'fast');
		sj_start($node, 'fast restart');
	}
	ok( sj_poll($node, 'app', qq{
			SELECT COALESCE(sum(fired), 0) || '/' || COALESCE(sum(succeeded), 0)
			FROM scheduled_jobs.job_stats WHERE target = '$c'}, '100/100', 10),
		"$how: the scheduler's counts were written");
	is(counted('sjt.record'), history('sjt.record'),
		"$how: the executors' counts were written");
}

# --- a stop inside a transaction ------------------------------------------
# A scheduler stopped inside a step rolls the step back and writes the
# counts it keeps all the same.  Here the step is the pass it begins with
# when its counts are due, waiting for a lock on jobs, while another lock on
# job_stats kept the counts from being written before.
{
	my $c = 'st_exit_in_step';
	my $stats_lock = sj_dbh($node, 'app');
	$stats_lock->begin_work;
	$stats_lock->do('LOCK TABLE scheduled_jobs.job_stats IN SHARE MODE');
	$node->safe_psql('app', qq{
		SELECT count(scheduled_jobs.schedule_job(now(), channel => '$c')) FROM generate_series(1, 100)});
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = '$c'", '100', 30),
		'in a step: the jobs fired');
	my $jobs_lock = sj_dbh($node, 'app');
	$jobs_lock->begin_work;
	$jobs_lock->do('LOCK TABLE scheduled_jobs.jobs IN EXCLUSIVE MODE');
	ok( sj_poll($node, 'app', q{
			SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'scheduled_jobs scheduler' AND wait_event_type = 'Lock'}, '1', 10),
		'in a step: the scheduler waits for the lock on jobs');
	$stats_lock->commit;
	$stats_lock->disconnect;
	$node->safe_psql('app', q{
		SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler'});
	$jobs_lock->commit;
	$jobs_lock->disconnect;
	ok( sj_poll($node, 'app',
			"SELECT COALESCE(sum(fired), 0) FROM scheduled_jobs.job_stats WHERE target = '$c'",
			'100', 10),
		"in a step: the scheduler's counts were written");
}

# --- job_stats locked -------------------------------------------------------
# An administrator's lock on job_stats (CREATE INDEX, VACUUM FULL, LOCK)
# holds up no firing: the workers keep their counts until they can write
# them.
my $locker = sj_dbh($node, 'app');
$locker->begin_work;
$locker->do('LOCK TABLE scheduled_jobs.job_stats IN SHARE MODE');
$node->safe_psql('app', q{
	SELECT count(scheduled_jobs.schedule_job(now() + g * interval '300 ms', channel => 'st_locked'))
	FROM generate_series(1, 10) g;
	SELECT count(scheduled_jobs.schedule_job(now() + g * interval '300 ms', procedure => 'sjt.record',
		payload => jsonb_build_object('token', 'st_locked'))) FROM generate_series(1, 5) g;});
ok( sj_poll($node, 'app', q{
		SELECT count(*) FILTER (WHERE fired_at - run_at < interval '1 second') FROM scheduled_jobs.job_history
		WHERE channel = 'st_locked' OR payload->>'token' = 'st_locked'}, '15', 10),
	'locked: the jobs fire and run on time while job_stats is locked');
$locker->commit;
$locker->disconnect;
ok( sj_poll($node, 'app',
		"SELECT COALESCE(sum(fired), 0) FROM scheduled_jobs.job_stats WHERE target = 'st_locked'",
		'10', 10),
	'locked: then the counts are written');
ok(agree('sjt.record', 10), "locked: the executors' too");

# --- an executor that exits when idle ---------------------------------------
# With executor_idle_timeout 0 an executor exits once idle, after writing
# the counts it keeps: it waits for them, it does not spin claiming jobs
# until they are due.
$node->safe_psql('app', q{
	ALTER SYSTEM SET scheduled_jobs.executor_idle_timeout = 0; SELECT pg_reload_conf();});
sleep(1);
my $commits = q{SELECT xact_commit FROM pg_stat_database WHERE datname = 'app'};
my $before = $node->safe_psql('app', $commits);
$node->safe_psql('app', q{
	SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
		payload => jsonb_build_object('token', 'st_idle'))});
ok( sj_poll($node, 'app', q{
		SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'scheduled_jobs executor'},
		'0', 10),
	'idle: the executor exits');
ok(agree('sjt.record', 5), 'idle: after writing its counts');
sleep(1);    # (pg_stat_database lags up to a second)
cmp_ok($node->safe_psql('app', $commits) - $before, '<', 100,
	'idle: the database committed few transactions meanwhile');
$node->safe_psql('app', q{
	ALTER SYSTEM RESET scheduled_jobs.executor_idle_timeout; SELECT pg_reload_conf();});

# --- a compaction that fails ------------------------------------------------
# Folding job_stats fails (here on a trigger an administrator added: any
# error of the fold would do): job_history is still pruned, and the rows are
# folded once the fold can go through.
$node->safe_psql('app', q{
	CREATE FUNCTION sjt.no_fold() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN RAISE EXCEPTION 'sjt: no folding'; END $$;
	CREATE TRIGGER no_fold BEFORE INSERT ON scheduled_jobs.job_stats
		FOR EACH ROW WHEN (NEW.seconds <> 10) EXECUTE FUNCTION sjt.no_fold();
	INSERT INTO scheduled_jobs.job_stats (bucket, seconds, kind, target, schedule_id, writer,
		fired, succeeded, failed, cancelled, expired, dead)
	SELECT date_bin('1 minute', now() - interval '3 minutes', 'epoch') + s * interval '10 seconds',
		10, 'channel', 'st_fold', 0, 1, 1, 1, 0, 0, 0, 0
	FROM generate_series(0, 5) s;
	SELECT count(scheduled_jobs.schedule_job(now(), channel => 'st_prune')) FROM generate_series(1, 10);});
ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'st_prune'", '10', 30),
	'fold: the jobs to prune are in job_history');
my $log_at = -s $node->logfile;
$node->safe_psql('app', q{
	UPDATE scheduled_jobs.job_history SET finished_at = now() - interval '8 days' WHERE channel = 'st_prune';
	SELECT pg_reload_conf();});
ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'st_prune'", '0', 20),
	'fold: job_history is pruned while job_stats cannot be folded');
like(sj_log_since($node, $log_at), qr/sjt: no folding/, 'fold: the fold did fail');
$node->safe_psql('app', 'DROP TRIGGER no_fold ON scheduled_jobs.job_stats');
ok( sj_poll($node, 'app', q{
		SELECT string_agg(seconds || ':' || fired, ',') FROM scheduled_jobs.job_stats
		WHERE target = 'st_fold'}, '60:6', 30),
	'fold: once it can, the fold goes through');

sj_check_crash_free($node, 'stats');
sj_stop($node);
done_testing();
