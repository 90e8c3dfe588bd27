# Fault: jobs of an acknowledged channel in flight across an immediate stop
# (a crash, as far as the data is concerned), a kill -9 of the scheduler and
# a promotion of a streaming standby.  Deliveries, deadlines and leases are
# data: after each, every in-flight job is still there with its delivery
# count, is delivered again, and once claimed and acknowledged is handled
# exactly once; nothing lost, nothing left.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $N = 200;
my $node = sj_node('ack', allows_streaming => 1, conf => "scheduled_jobs.max_sleep = 10s\n");
sj_setup_db($node, 'app');
$node->safe_psql('app', qq{
	CREATE TABLE sjt.outbox (job_id bigint NOT NULL);
	SELECT scheduled_jobs.configure_channel('acks', '1 second', 100);
	SELECT scheduled_jobs.schedule_job(now(), channel => 'acks', payload => jsonb_build_object('i', i))
	FROM generate_series(1, $N) i;});
my $in_flight = "SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'acks' AND due_at IS NOT NULL";
ok(sj_poll($node, 'app', $in_flight, $N, 20), "all $N jobs delivered and in flight");

# consume half of them now, with claim and ack in the transaction of the effect
my $consume = qq{
	INSERT INTO sjt.outbox SELECT c.id FROM scheduled_jobs.claim('acks', 100, '1 minute') c
	WHERE scheduled_jobs.ack(c.id)};
$node->safe_psql('app', $consume);
is($node->safe_psql('app', $in_flight), $N - 100, 'half of them acknowledged');
# a lease that the crash must not forget
$node->safe_psql('app', q{SELECT count(*) FROM scheduled_jobs.claim('acks', 10, '1 hour')});

my $deliveries = $node->safe_psql('app',
	"SELECT sum(attempts) FROM scheduled_jobs.jobs WHERE channel = 'acks'");

# 1. immediate stop and start: the data is what the WAL has
$node->stop('immediate');
sj_start($node, 'immediate stop');
is($node->safe_psql('app', $in_flight), $N - 100, 'after an immediate stop: the same jobs in flight');
ok($node->safe_psql('app', "SELECT sum(attempts) FROM scheduled_jobs.jobs WHERE channel = 'acks'") >= $deliveries,
	'their delivery counts kept');
is($node->safe_psql('app',
	"SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'acks' AND lease_until > now() + interval '50 minutes'"),
	10, 'the leases kept');
ok(sj_poll($node, 'app',
	"SELECT count(*) > 0 FROM scheduled_jobs.jobs WHERE channel = 'acks' AND attempts >= 2 AND lease_until IS NULL", 't', 20),
	'unleased jobs are delivered again after the restart');

# 2. kill -9 of the scheduler while it redelivers
my ($sched) = sj_pids($node, 'app', 'scheduler');
kill 'KILL', $sched if $sched;
ok(sj_poll($node, 'app', 'SELECT 1', '1', 60), 'server back after the crash');
sj_wait_pids($node, 'app', 'scheduler', 1);

# 3. a streaming standby, promoted: the jobs in flight are there too
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('ack_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->safe_psql('app', $consume);
$node->wait_for_catchup($standby);
my $left = $node->safe_psql('app', $in_flight);
$node->stop('immediate');
$standby->promote;
ok(sj_poll($standby, 'app', 'SELECT NOT pg_is_in_recovery()', 't', 30), 'the standby is promoted');
is($standby->safe_psql('app', $in_flight), $left, 'the promoted standby has the same jobs in flight');

# drain everything on the new primary: two hours later, as far as
# scheduled_jobs is concerned (the test clock), the 1-hour leases are over
$standby->safe_psql('postgres', q{ALTER SYSTEM SET scheduled_jobs.clock_offset = '2h'});
$standby->reload;
ok( sj_poll($standby, 'app', qq{
		WITH d AS ($consume RETURNING 1) SELECT (SELECT count(*) FROM d) = 0
		AND NOT EXISTS (SELECT FROM scheduled_jobs.jobs WHERE channel = 'acks')}, 't', 30),
	'every job is claimed and acknowledged in the end');
is($standby->safe_psql('app', 'SELECT count(*), count(DISTINCT job_id) FROM sjt.outbox'), "$N|$N",
	"each of the $N jobs handled exactly once");
is($standby->safe_psql('app',
	"SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'acks' AND state = 'acknowledged'"),
	$N, 'all acknowledged in job_history');
sj_check_crash_free($standby, 'ack standby');
$standby->stop('fast');
done_testing();
