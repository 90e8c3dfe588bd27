
# Moving from pg_cron: the rows of cron.job become schedules with the query
# the README gives ("Moving from pg_cron"), against Debian's pg_cron 1.4.2 in
# the same cluster.  Each job keeps its name, rule and command, runs as the
# role that owned it, in the zone pg_cron read it in, and fires through
# scheduled_jobs, while pg_cron has nothing left to run.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = sj_node('pgcron',
	conf => "shared_preload_libraries = 'pg_cron,scheduled_jobs'\n"
	  . "cron.database_name = 'app'\n");
sj_setup_db($node, 'app');

# the README's migration, run by each role that owns pg_cron jobs
my $migrate = <<'EOSQL';
BEGIN;
SELECT count(scheduled_jobs.create_schedule(
		coalesce(j.jobname, 'pg_cron ' || j.jobid),
		cron => j.schedule, command => j.command,
		time_zone => coalesce(current_setting('cron.timezone', true), 'UTC')))
FROM cron.job j
WHERE j.database = current_database() AND j.username = current_user AND j.active;
SELECT count(cron.unschedule(j.jobid))
FROM cron.job j
WHERE j.database = current_database() AND j.username = current_user AND j.active;
COMMIT;
EOSQL

$node->safe_psql('app', q{
	CREATE EXTENSION pg_cron;
	CREATE ROLE app_owner;
	GRANT USAGE ON SCHEMA cron TO app_owner;
	GRANT USAGE ON SCHEMA sjt TO app_owner;
	GRANT INSERT ON sjt.effects TO app_owner;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO app_owner;
	SELECT cron.schedule('every-minute', '* * * * *', $$INSERT INTO sjt.effects (n, token) VALUES (1, 'minute')$$);
	SELECT cron.schedule('*/5 * * * *', $$INSERT INTO sjt.effects (n, token) VALUES (2, 'five')$$);
	SELECT cron.schedule('nightly-vacuum', '30 3 * * *', 'VACUUM sjt.effects');
	SELECT cron.schedule('weekdays', '0 9 * * mon-fri', 'SELECT 1');
	SELECT cron.schedule('owned', '*/2 * * * *', $$INSERT INTO sjt.effects (n, token) VALUES (3, 'owned')$$);
	UPDATE cron.job SET username = 'app_owner' WHERE jobname = 'owned';
	SELECT cron.schedule('inactive', '0 0 * * *', 'SELECT 1');
	UPDATE cron.job SET active = false WHERE jobname = 'inactive';
});
my $jobs = $node->safe_psql('app', q{
	SELECT string_agg(coalesce(jobname, 'pg_cron ' || jobid) || '|' || schedule || '|' || command, E'\n'
		ORDER BY coalesce(jobname, 'pg_cron ' || jobid))
	FROM cron.job WHERE active});

$node->safe_psql('app', $migrate);
$node->safe_psql('app', "SET ROLE app_owner;\n$migrate");
# what pg_cron had run by the time the jobs moved
my $last_run = $node->safe_psql('app', 'SELECT coalesce(max(runid), 0) FROM cron.job_run_details');

is( $node->safe_psql('app', q{
		SELECT string_agg(name || '|' || cron || '|' || command, E'\n' ORDER BY name)
		FROM scheduled_jobs.schedules}),
	$jobs, 'every active pg_cron job became a schedule with its name, rule and command');
is( $node->safe_psql('app', q{
		SELECT string_agg(coalesce(jobname, '?'), ',') FROM cron.job}),
	'inactive', 'pg_cron keeps only the inactive job, which was not moved');
is( $node->safe_psql('app', q{
		SELECT string_agg(name || ':' || owner::text, ',' ORDER BY name)
		FROM scheduled_jobs.schedules WHERE owner <> 'postgres'::regrole}),
	'owned:app_owner', 'a job keeps the role it ran as');
is( $node->safe_psql('app', q{
		SELECT bool_and(time_zone = 'UTC'
			AND next_occurrence = (SELECT min(t) FROM scheduled_jobs.next_occurrences(cron, 'UTC', now(), 1) t))
		FROM scheduled_jobs.schedules}),
	't', 'read in UTC, as pg_cron 1.4 reads them, each next occurrence as next_occurrences() gives it');
is( $node->safe_psql('app', q{
		SELECT next_occurrence::time FROM scheduled_jobs.schedules WHERE name = 'nightly-vacuum'}),
	'03:30:00', 'the nightly VACUUM is due at 03:30');

# a minute later, as far as scheduled_jobs is concerned: the jobs fire
$node->safe_psql('app', q{ALTER SYSTEM SET scheduled_jobs.clock_offset = '61s'; SELECT pg_reload_conf()});
ok( sj_poll($node, 'app', q{
		SELECT count(*) FROM scheduled_jobs.job_history h
		JOIN scheduled_jobs.schedules s ON s.id = h.schedule_id
		WHERE s.name = 'every-minute' AND h.state = 'succeeded'},
		'1', 30),
	'the every-minute job runs as a schedule');
is( $node->safe_psql('app', q{SELECT count(*) FROM sjt.effects WHERE token = 'minute'
		AND done_at > (SELECT min(created_at) FROM scheduled_jobs.schedules)}),
	'1', 'its command ran once');
is( $node->safe_psql('app', qq{
		SELECT count(*) FROM cron.job_run_details WHERE runid > $last_run}),
	'0', 'pg_cron ran nothing since the jobs moved');

sj_check_crash_free($node, 'pg_cron migration');
sj_stop($node);
done_testing();
