
# Fault: retention and status() when things go wrong (issue 12).
#  - a crash in the middle of a long prune (100,000 old rows, deleted 500 a
#    transaction): after the restart the prune goes on until every old row
#    is gone, no younger row goes, and jobs fire meanwhile;
#  - a scheduler that cannot start (no free background worker slot):
#    status() says so (no pid, "not running") and counts the jobs that are
#    due; with room again, it starts and they fire.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = sj_node('retention', conf => "scheduled_jobs.history_retention = 0\n");
sj_setup_db($node, 'ret');

# 100,000 finished jobs 10 days old, 50 of yesterday
$node->safe_psql('ret', q{
	INSERT INTO scheduled_jobs.job_history (id, run_at, channel, payload, max_attempts, owner,
		attempts, created_at, state, fired_at, finished_at)
	SELECT -g, t, 'old', '{}', 1, current_user::regrole, 1, t, 'notified', t, t
	FROM (SELECT g, now() - interval '10 days' - g * interval '1 second' AS t
		FROM generate_series(1, 100000) g) s;
	INSERT INTO scheduled_jobs.job_history (id, run_at, channel, payload, max_attempts, owner,
		attempts, created_at, state, fired_at, finished_at)
	SELECT -100000 - g, t, 'young', '{}', 1, current_user::regrole, 1, t, 'notified', t, t
	FROM (SELECT g, now() - interval '1 day' AS t FROM generate_series(1, 50) g) s;
});

# start pruning, slowed down (2 ms a row: a second a batch) so that the
# crash surely comes while it is under way
$node->safe_psql('ret', q{
	CREATE FUNCTION public.slow_delete() RETURNS trigger LANGUAGE plpgsql
		AS $$BEGIN PERFORM pg_sleep(0.002); RETURN OLD; END$$;
	CREATE TRIGGER slow_delete BEFORE DELETE ON scheduled_jobs.job_history
		FOR EACH ROW EXECUTE FUNCTION public.slow_delete();
});
$node->safe_psql('ret', q{ALTER SYSTEM SET scheduled_jobs.history_retention = '7d'; SELECT pg_reload_conf()});
ok( sj_poll($node, 'ret',
		q{SELECT count(*) BETWEEN 1 AND 99500 FROM scheduled_jobs.job_history WHERE channel = 'old'}, 't', 30),
	'the prune is under way');
my $left = $node->safe_psql('ret', q{SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'old'});
$node->stop('immediate');
sj_start($node, 'after the crash mid-prune');
$node->safe_psql('ret', 'DROP TRIGGER slow_delete ON scheduled_jobs.job_history');
note("crashed with $left of 100000 old rows left");
cmp_ok($left, '>', 0, 'the crash came before the prune ended');

$node->safe_psql('ret', q{SELECT scheduled_jobs.schedule_job(now() + interval '200 ms', channel => 'live',
	job_key => 'live')});
ok( sj_poll($node, 'ret', q{SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'old'}, '0', 60),
	'after the restart the prune went on: every old row is gone');
is($node->safe_psql('ret', q{SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'young'}), '50',
	'no younger row went');
ok( sj_poll($node, 'ret', q{SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'live'}, '1', 10),
	'a job due meanwhile fired');

# no room for a scheduler: two worker slots, which the launcher and the
# logical replication launcher take
$node->append_conf('postgresql.conf', "max_worker_processes = 2\n");
$node->restart;
$node->safe_psql('ret', q{SELECT scheduled_jobs.schedule_job(now(), channel => 'live', job_key => 'stuck')});
ok( sj_poll($node, 'ret', q{SELECT scheduler_pid IS NULL AND scheduler_state = 'not running' AND due_jobs = 1
		AND oldest_due_at <= now() FROM scheduled_jobs.status()}, 't', 10),
	'status(): no scheduler, not running, one job due');
ok( sj_poll($node, 'postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler'}, 't', 5),
	'indeed no scheduler runs');
like(sj_log_since($node), qr/could not start the scheduled_jobs scheduler of database/,
	'the log says the scheduler could not start');
is($node->safe_psql('ret', q{SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'stuck'}), '0',
	'the job waits');

$node->append_conf('postgresql.conf', "max_worker_processes = 32\n");
$node->restart;
ok( sj_poll($node, 'ret', q{SELECT count(*) FROM scheduled_jobs.job_history WHERE job_key = 'stuck'}, '1', 20),
	'with room again, the scheduler starts and the job fires');
ok( sj_poll($node, 'ret', q{SELECT scheduler_pid IS NOT NULL AND due_jobs = 0 FROM scheduled_jobs.status()}, 't', 10),
	'status(): the scheduler runs, nothing due');

sj_check_crash_free($node, 'retention');
sj_stop($node);
done_testing();
