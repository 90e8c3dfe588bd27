
# Fault: poison and runaway procedure jobs (issue 8, item 3).
#  - a job whose CALL terminates its own executor (FATAL 57P01) is charged an
#    attempt each time: after max_attempts it is 'failed', with the error
#    recorded, and it ran no more than max_attempts times;
#  - a job whose executor is killed by kill -9 (the crash restart of the
#    server, 57P02) is charged too, and ends 'failed' after max_attempts;
#    a job that merely ran beside it in another executor is not charged;
#  - a job running when the server is stopped with pg_ctl stop -m fast is
#    not charged: it runs again after the start;
#  - cancel_job on a running job stops it promptly (its transaction rolls
#    back), records it cancelled; a cancel that rolls back leaves the job
#    pending, and it runs again, once.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# Low retry delays so that max_attempts are used up within the test;
# max_sleep lowered so that a lost wake-up still ends within the deadlines.
my $CONF = "scheduled_jobs.retry_base_delay = 100ms\n"
  . "scheduled_jobs.retry_max_delay = 1s\n"
  . "scheduled_jobs.max_executors = 4\n"
  . "scheduled_jobs.max_sleep = 10s\n";

sub history_of
{
	my ($node, $id) = @_;
	return $node->safe_psql('app', qq{
		SELECT state || ' ' || attempts || ' ' || (last_error IS NOT NULL) || ' ' ||
		       coalesce(last_error_data->>'sqlstate', '-')
		FROM scheduled_jobs.job_history WHERE id = $id});
}

sub executor_running
{
	my ($proc, $extra) = @_;
	$extra //= '';
	return qq{SELECT pid FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs executor' AND datname = 'app'
		  AND query LIKE '%CALL%$proc%' AND wait_event = 'PgSleep' $extra
		ORDER BY pid LIMIT 1};
}

# --- 1. a job that terminates its own executor ---------------------------
{
	my $node = sj_node('poison', conf => $CONF);
	sj_setup_db($node, 'app');
	# The sequence counts the runs (nextval is not rolled back); the row in
	# sjt.effects is, with the rest of the attempt.
	$node->safe_psql('app', q{
		CREATE SEQUENCE sjt.suicide_runs;
		CREATE PROCEDURE sjt.suicide(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN
			PERFORM nextval('sjt.suicide_runs');
			INSERT INTO sjt.effects (n, token) VALUES (1, 'suicide');
			PERFORM pg_terminate_backend(pg_backend_pid());
			PERFORM pg_sleep(5);
		END $$;});
	my $runs = q{SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM sjt.suicide_runs};
	my $id = $node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.suicide', max_attempts => 3)});
	my $t0 = time();
	# ends when the job is failed, or as soon as it ran more than 3 times
	sj_poll($node, 'app', qq{
		SELECT EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id = $id AND state = 'failed')
		    OR ($runs) > 3}, 't', 30);
	note(sprintf('self-terminating job: %.1f s, %s runs so far', time() - $t0,
		$node->safe_psql('app', $runs)));
	is(history_of($node, $id), 'failed 3 true 57P01',
		'self-terminating job: failed after 3 attempts, error 57P01 recorded (state attempts has_error sqlstate)');
	my $n = $node->safe_psql('app', $runs);
	ok($n >= 1 && $n <= 3, "self-terminating job: ran at most max_attempts = 3 times (ran $n)");
	# a little later still: it must not run again once failed
	my $later = time() + 1;
	usleep(100_000) while time() < $later;
	my $n2 = $node->safe_psql('app', $runs);
	is($n2, $n, 'self-terminating job: no run after it was charged its last attempt');
	is($node->safe_psql('app', "SELECT count(*) FROM scheduled_jobs.jobs WHERE id = $id"),
		'0', 'self-terminating job: not pending any more');
	is($node->safe_psql('app', "SELECT count(*) FROM sjt.effects WHERE token = 'suicide'"),
		'0', 'self-terminating job: the effects of its attempts were rolled back');
	my $row = $node->safe_psql('app',
		"SELECT coalesce(last_error, '(none)') FROM scheduled_jobs.job_history WHERE id = $id");
	note("self-terminating job: last_error = $row");

	# The database keeps working: a normal job after it.
	$node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
			payload => '{"n": 1, "token": "after_poison"}')});
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM sjt.effects WHERE token = 'after_poison'", '1', 20),
		'self-terminating job: a normal job still runs afterwards');
	sj_check_crash_free($node, 'self-terminating job');
	# immediate: on a build that never charges it, the job would still loop
	sj_stop($node, 'immediate');
}

# --- 2. cancel_job on a running job --------------------------------------
{
	my $node = sj_node('cancel', conf => $CONF);
	sj_setup_db($node, 'app');
	$node->safe_psql('app', q{
		CREATE PROCEDURE sjt.hang(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN
			INSERT INTO sjt.effects (n, token) VALUES (1, 'hang');
			PERFORM pg_sleep(3600);
		END $$;
		CREATE PROCEDURE sjt.rbjob(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN
			INSERT INTO sjt.effects (n, token) VALUES (1, 'rollback_cancel');
			PERFORM pg_sleep(3);
		END $$;});

	# 2a. a job sleeping for an hour
	my $id = $node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.hang', max_attempts => 3)});
	my $pid = sj_wait_value($node, 'postgres', executor_running('sjt.hang'), 20);
	ok($pid, 'running job: an executor runs it (sleeping)');
	my $dbh = sj_dbh($node, 'app');
	# bounds the wait of a cancel_job that waits for the job to end
	$dbh->do("SET statement_timeout = '8s'");
	my $t0 = time();
	my ($res) = eval { $dbh->selectrow_array("SELECT scheduled_jobs.cancel_job(${id}::bigint)::text") };
	my $err = $@;
	my $elapsed = time() - $t0;
	note(sprintf('cancel_job of the running job took %.2f s%s', $elapsed,
		$err ? ", error: $err" : ''));
	is($res // "error: $err", 'true', 'running job: cancel_job returns true');
	ok($elapsed < 5, sprintf('running job: cancel_job returns within 5 s (%.2f s)', $elapsed));
	is( $node->safe_psql('app',
			"SELECT coalesce((SELECT state FROM scheduled_jobs.job_history WHERE id = $id), 'none')"),
		'cancelled', "running job: job_history says 'cancelled'");
	is($node->safe_psql('app', "SELECT count(*) FROM scheduled_jobs.jobs WHERE id = $id"),
		'0', 'running job: not pending any more');
	ok( sj_poll($node, 'postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%CALL%sjt.hang%' AND backend_type = 'scheduled_jobs executor'",
			'0', 5),
		'running job: no executor runs it any more (within 5 s)');
	is($node->safe_psql('app', "SELECT count(*) FROM sjt.effects WHERE token = 'hang'"),
		'0', 'running job: nothing of it stays (its insert rolled back)');
	$dbh->disconnect;

	# the executors still work
	$node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
			payload => '{"n": 1, "token": "after_cancel"}')});
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM sjt.effects WHERE token = 'after_cancel'", '1', 20),
		'running job cancelled: a new job still runs');

	# 2b. cancel inside a transaction that rolls back
	my $rid = $node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.rbjob', max_attempts => 1)});
	my $rpid = sj_wait_value($node, 'postgres', executor_running('sjt.rbjob'), 20);
	ok($rpid, 'rolled-back cancel: an executor runs the job');
	$dbh = sj_dbh($node, 'app');
	$dbh->do("SET statement_timeout = '8s'");
	$dbh->begin_work;
	$t0 = time();
	($res) = eval { $dbh->selectrow_array("SELECT scheduled_jobs.cancel_job(${rid}::bigint)::text") };
	$err = $@;
	$elapsed = time() - $t0;
	note(sprintf('cancel_job in a transaction took %.2f s%s', $elapsed, $err ? ", error: $err" : ''));
	is($res // "error: $err", 'true', 'rolled-back cancel: cancel_job returns true inside the transaction');
	ok($elapsed < 2.5, sprintf('rolled-back cancel: it returned before the job could end (%.2f s)', $elapsed));
	ok( sj_poll($node, 'postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%CALL%sjt.rbjob%' AND backend_type = 'scheduled_jobs executor'",
			'0', 5),
		'rolled-back cancel: the running attempt was stopped');
	eval { $dbh->rollback };
	$dbh->disconnect;
	my $t_rb = time();
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE id = $rid", '1', 20),
		'rolled-back cancel: the job finishes after the rollback');
	# it sleeps 3 s; a lost wake-up would add up to max_sleep (10 s)
	ok(time() - $t_rb < 6.5,
		sprintf('rolled-back cancel: it ran again at once (finished %.1f s after the rollback)', time() - $t_rb));
	is( $node->safe_psql('app',
			"SELECT state || ' ' || attempts FROM scheduled_jobs.job_history WHERE id = $rid"),
		'succeeded 1', 'rolled-back cancel: it ran again and succeeded, the stopped attempt not charged (state attempts)');
	is($node->safe_psql('app', "SELECT count(*) FROM sjt.effects WHERE token = 'rollback_cancel'"),
		'1', 'rolled-back cancel: its effect exists exactly once');
	# 2c. a role that may not see the job: its cancel_job is false and the
	# job is left alone (not interrupted, not charged)
	$node->safe_psql('app', q{
		CREATE ROLE sj_outsider NOLOGIN;
		GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_outsider;});
	my $oid = $node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.rbjob', max_attempts => 1,
			payload => '{"other": true}')});
	ok(sj_wait_value($node, 'postgres', executor_running('sjt.rbjob'), 20), 'outsider: the job runs');
	my $falses = $node->safe_psql('app', qq{
		SET ROLE sj_outsider;
		SELECT count(*) FILTER (WHERE NOT c) FROM (
			SELECT scheduled_jobs.cancel_job(${oid}::bigint) AS c, pg_sleep(0.05)
			FROM generate_series(1, 20)) s});
	is($falses, '20', 'outsider: cancel_job returns false every time');
	ok( sj_poll($node, 'app',
			"SELECT state || ' ' || attempts FROM scheduled_jobs.job_history WHERE id = $oid",
			'succeeded 1', 20),
		'outsider: the job was not interrupted (succeeded, 1 attempt)');

	sj_check_crash_free($node, 'cancel');
	sj_stop($node, 'immediate');
}

# --- 3. kill -9 of the executor, twice; a bystander; pg_ctl stop -m fast ---
{
	my $node = sj_node('crash', conf => $CONF);
	sj_setup_db($node, 'app');
	$node->safe_psql('app', q{
		CREATE PROCEDURE sjt.victim(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN
			PERFORM pg_sleep(30);
			INSERT INTO sjt.effects (n, token) VALUES (1, 'victim');
		END $$;
		CREATE PROCEDURE sjt.bystander(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN
			PERFORM pg_sleep(3);
			INSERT INTO sjt.effects (n, token) VALUES (1, 'bystander');
		END $$;});
	my @killed;

	my $vid = $node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.victim', max_attempts => 2)});
	my $pid1 = sj_wait_value($node, 'postgres', executor_running('sjt.victim'), 20);
	ok($pid1, 'kill -9: an executor runs the victim');
	my $bid = $node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.bystander', max_attempts => 1)});
	my $bpid = sj_wait_value($node, 'postgres', executor_running('sjt.bystander'), 20);
	ok($bpid && $pid1 && $bpid != $pid1, 'kill -9: another executor runs the bystander at the same time');

	SKIP:
	{
		skip 'no victim executor', 6 unless $pid1;
		kill 'KILL', $pid1;
		push @killed, $pid1;
		# the crash restart clears pg_stat_activity of the killed process
		ok( sj_poll($node, 'postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid1", '0', 30),
			'first kill -9: the server is back after crash recovery');
		my $pid2 = sj_wait_value($node, 'postgres', executor_running('sjt.victim', "AND pid <> $pid1"), 30);
		ok($pid2, 'first kill -9: the victim runs again (second attempt)');
		note('after the first kill the pending victim reads: ' . $node->safe_psql('app', qq{
			SELECT coalesce((SELECT attempts || ' attempts, error ' || coalesce(last_error_data->>'sqlstate', '-')
			FROM scheduled_jobs.jobs WHERE id = $vid), 'not pending')}));
		skip 'the victim did not run again', 4 unless $pid2;
		kill 'KILL', $pid2;
		push @killed, $pid2;
		ok( sj_poll($node, 'postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid2", '0', 30),
			'second kill -9: the server is back after crash recovery');
		# ends when the job is failed, or as soon as it runs (sleeps) a third time
		my $third_run = qq{SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'scheduled_jobs executor' AND query LIKE '%CALL%sjt.victim%'
			  AND wait_event = 'PgSleep' AND pid NOT IN ($pid1, $pid2)};
		sj_poll($node, 'app', qq{
			SELECT EXISTS (SELECT FROM scheduled_jobs.job_history WHERE id = $vid AND state = 'failed')
			    OR ($third_run) > 0}, 't', 30);
		is($node->safe_psql('app', $third_run), '0', 'second kill -9: the victim does not run a third time');
		is(history_of($node, $vid), 'failed 2 true 57P02',
			'second kill -9: the victim is failed after 2 attempts, error 57P02 recorded (state attempts has_error sqlstate)');
	}
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE id = $bid", '1', 30),
		'kill -9: the bystander finishes');
	is(history_of($node, $bid) =~ s/ \S+ \S+$//r, 'succeeded 1',
		'kill -9: the bystander (max_attempts 1) was not charged for the crashes: succeeded, attempts 1');
	is($node->safe_psql('app', "SELECT count(*) FROM sjt.effects WHERE token = 'bystander'"),
		'1', 'kill -9: the bystander ran exactly once');
	is($node->safe_psql('app', "SELECT count(*) FROM sjt.effects WHERE token = 'victim'"),
		'0', 'kill -9: the victim never committed anything');

	# pg_ctl stop -m fast while a job runs: not charged.
	my $fid = $node->safe_psql('app', q{
		SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.slow',
			payload => '{"n": 1, "token": "fast_stop", "sleep": 5}', max_attempts => 1)});
	my $fpid = sj_wait_value($node, 'postgres', executor_running('sjt.slow'), 20);
	ok($fpid, 'fast stop: an executor runs the job');
	ok($node->stop('fast', fail_ok => 1), 'fast stop: pg_ctl stop -m fast');
	sj_start($node, 'fast stop');
	ok( sj_poll($node, 'app',
			"SELECT count(*) FROM scheduled_jobs.job_history WHERE id = $fid", '1', 30),
		'fast stop: the job finishes after the start');
	is(history_of($node, $fid) =~ s/ \S+ \S+$//r, 'succeeded 1',
		'fast stop: the interrupted attempt was not charged: succeeded, attempts 1');
	is($node->safe_psql('app', "SELECT count(*) FROM sjt.effects WHERE token = 'fast_stop'"),
		'1', 'fast stop: its effect exists exactly once');

	sj_check_crash_free($node, 'kill -9', @killed);
	sj_stop($node, 'immediate');
}

done_testing();
