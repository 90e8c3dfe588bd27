
# Fault: concurrent load.  8 pgbench clients schedule (NOTIFY and procedure
# jobs, keys from a small range so that they replace each other), cancel (by
# key and by id), reschedule, and schedule in transactions that roll back,
# for 60 s (SJ_LOAD_SECONDS) while the jobs fire.  Then:
#  - no doubles: each NOTIFY job id reaches the listener and job_history once;
#    each procedure job's effect is there once per succeeded history row;
#  - nothing lost: every id schedule_job returned is in jobs or job_history,
#    and every job finishes;
#  - rolled-back schedules never fire (README guarantee 1);
#  - no error at all: neither pgbench nor the server log reports one.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use IO::Select;
use IPC::Run;
use JSON::PP;

my $SECONDS = $ENV{SJ_LOAD_SECONDS} // 60;
my $CLIENTS = 8;
my $RATE    = 300;    # transactions per second, all clients together

my $node = sj_node('load', conf => "log_statement = none\nlog_min_error_statement = error\n");
sj_setup_db($node, 'app');
$node->safe_psql('app', q{
	CREATE SEQUENCE sjt.tok;
	CREATE TABLE sjt.returned (id bigint NOT NULL, token bigint NOT NULL);
	CREATE INDEX ON sjt.returned (id);});

my $dir = PostgreSQL::Test::Utils::tempdir();
my %scripts = (
	# weight => script
	'notify_key@3' => q{
\set k random(1, 150)
\set d random(0, 1500)
INSERT INTO sjt.returned (id, token)
SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms', channel => 'load',
	payload => jsonb_build_object('token', t), job_key => 'k' || :k), t FROM nextval('sjt.tok') t;
},
	'proc_key@3' => q{
\set k random(1, 150)
\set d random(0, 1500)
INSERT INTO sjt.returned (id, token)
SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms', procedure => 'sjt.record',
	payload => jsonb_build_object('token', t), job_key => 'k' || :k), t FROM nextval('sjt.tok') t;
},
	'nokey@2' => q{
\set d random(0, 1500)
INSERT INTO sjt.returned (id, token)
SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms', procedure => 'sjt.record',
	payload => jsonb_build_object('token', t)), t FROM nextval('sjt.tok') t;
INSERT INTO sjt.returned (id, token)
SELECT scheduled_jobs.schedule_job(now() + :d * interval '1 ms', channel => 'load',
	payload => jsonb_build_object('token', t)), t FROM nextval('sjt.tok') t;
},
	'cancel_key@1' => q{
\set k random(1, 150)
SELECT scheduled_jobs.cancel_job('k' || :k);
},
	'cancel_id@1' => q{
\set r random(0, 30)
SELECT scheduled_jobs.cancel_job(coalesce((SELECT max(id) FROM sjt.returned), 0) - :r);
},
	'reschedule@2' => q{
\set k random(1, 150)
\set d random(0, 1500)
SELECT scheduled_jobs.reschedule_job('k' || :k, now() + :d * interval '1 ms');
},
	# tokens from 1e12 up are only ever scheduled in rolled-back transactions
	'rollback@1' => q{
\set k random(1, 150)
\set t random(1000000000000, 2000000000000)
BEGIN;
SELECT scheduled_jobs.schedule_job(now(), channel => 'load',
	payload => jsonb_build_object('token', :t), job_key => 'k' || :k);
SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.record',
	payload => jsonb_build_object('token', :t + 1));
SELECT scheduled_jobs.cancel_job('k' || (:k + 1));
ROLLBACK;
},
);
my @fargs;
for my $name (sort keys %scripts)
{
	my ($file, $weight) = split /@/, $name;
	PostgreSQL::Test::Utils::append_to_file("$dir/$file.sql", $scripts{$name});
	push @fargs, '-f', "$dir/$file.sql\@$weight";
}

my ($listener, $sel, $lost);
my (%received, $dups, $bad, %env_token);
$dups = $bad = $lost = 0;

sub listen_again
{
	$listener = eval { sj_dbh($node, 'app') } or return 0;
	$listener->do('LISTEN load');
	$sel = IO::Select->new($listener->{pg_socket});
	return 1;
}
listen_again() or die 'cannot connect the listener';

# Read what arrived.  If the connection broke (a server crash), note it and
# connect again: notifications sent meanwhile are lost for this listener.
sub drain
{
	my ($wait) = @_;
	if (!$listener)
	{
		Time::HiRes::sleep($wait);
		listen_again();
		return;
	}
	$sel->can_read($wait);
	while (my $n = eval { $listener->pg_notifies })
	{
		my $env = eval { decode_json($n->[2]) };
		if (!$env || !defined $env->{id} || !exists $env->{payload})
		{
			$bad++;
			next;
		}
		$dups++ if $received{ $env->{id} }++;
		$env_token{ $env->{id} } = $env->{payload}{token};
	}
	if ($@)
	{
		$lost++;
		note("listener connection lost: $@");
		$listener = undef;
	}
	return;
}

my ($out, $err) = ('', '');
my @cmd = ('pgbench', '-n', '-h', $node->host, '-p', $node->port,
	'-c', $CLIENTS, '-j', 2, '-T', $SECONDS, '-R', $RATE, '-P', 10, @fargs, 'app');
note("running: @cmd");
my $t0 = time();
my $h  = IPC::Run::start(\@cmd, '>', \$out, '2>', \$err);
while ($h->pumpable)
{
	$h->pump_nb;
	drain(0.2);
	last if time() - $t0 > $SECONDS + 30;
}
$h->finish;
my $rc = $h->result(0);
note($out);
is($rc, 0, 'pgbench exits with 0') or diag($err);
like($out, qr/number of failed transactions: 0 /, 'no failed transaction');
unlike($err, qr/ERROR|FATAL/, 'pgbench reports no error') or diag($err);
my ($tx) = $out =~ /number of transactions actually processed: (\d+)/;
ok(($tx // 0) > $SECONDS * $RATE / 3, 'pgbench ran its transactions (' . ($tx // 0) . ')');

# Every job falls due within 1.5 s of its scheduling: wait until all fired.
ok(sj_poll($node, 'app', 'SELECT count(*) FROM scheduled_jobs.jobs', '0', 60),
	'every job finished after the load');
my $deadline = time() + 10;
my $notified = $node->safe_psql('app',
	"SELECT count(*) FROM scheduled_jobs.job_history WHERE state = 'notified'");
drain(0.2) while keys(%received) < $notified && time() < $deadline;

note('history: ' . $node->safe_psql('app', q{
	SELECT string_agg(state || ' ' || c, ', ' ORDER BY state) FROM
	(SELECT state, count(*) c FROM scheduled_jobs.job_history GROUP BY state) s}));
note('schedule_job calls: ' . $node->safe_psql('app',
	'SELECT count(*) || ' . "' returning '" . ' || count(DISTINCT id) || ' . "' distinct ids'" . ' FROM sjt.returned'));

# nothing lost
is( $node->safe_psql('app', q{
		SELECT count(*) FROM (SELECT DISTINCT id FROM sjt.returned) r
		WHERE NOT EXISTS (SELECT 1 FROM scheduled_jobs.job_history h WHERE h.id = r.id)
		  AND NOT EXISTS (SELECT 1 FROM scheduled_jobs.jobs j WHERE j.id = r.id)}),
	'0', 'every id returned by schedule_job is in jobs or job_history');
is($node->safe_psql('app', "SELECT count(*) FROM scheduled_jobs.job_history WHERE state = 'failed'"),
	'0', 'no job failed');

# no doubles: NOTIFY
is($dups, 0, 'no NOTIFY job id was received twice');
is($bad,  0, 'every envelope parses');
is($lost, 0, 'the listener stayed connected (no server crash)');
is(scalar(keys %received), $notified, 'the listener received every notified job');
my %hist = map { split /:/, $_, 2 } split /\n/, $node->safe_psql('app', q{
	SELECT id || ':' || (payload->>'token') FROM scheduled_jobs.job_history WHERE state = 'notified'});
my @wrong = grep { !exists $hist{$_} || ($hist{$_} // '') ne ($env_token{$_} // '') } keys %received;
is(scalar(@wrong), 0, 'every received envelope is a notified job with its payload')
  or diag('e.g. ids ' . join(',', @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]));

# no doubles: procedures
is( $node->safe_psql('app',
		'SELECT count(*) FROM (SELECT token FROM sjt.effects GROUP BY token HAVING count(*) > 1) d'),
	'0', 'no procedure effect twice');
is( $node->safe_psql('app', q{
		SELECT count(*) FROM sjt.effects e WHERE NOT EXISTS (
			SELECT 1 FROM scheduled_jobs.job_history h
			WHERE h.state = 'succeeded' AND h.payload->>'token' = e.token)}),
	'0', 'every procedure effect belongs to a succeeded job');
is( $node->safe_psql('app', q{
		SELECT count(*) FROM scheduled_jobs.job_history h
		WHERE h.state = 'succeeded' AND NOT EXISTS (
			SELECT 1 FROM sjt.effects e WHERE h.payload->>'token' = e.token)}),
	'0', 'every succeeded job left its effect');

# rolled back: never fired
is( $node->safe_psql('app', q{
		SELECT (SELECT count(*) FROM scheduled_jobs.job_history
		        WHERE (payload->>'token')::bigint >= 1000000000000) +
		       (SELECT count(*) FROM sjt.effects WHERE token::bigint >= 1000000000000)}),
	'0', 'jobs scheduled in rolled-back transactions never fired');

my @errors = grep { /ERROR:|FATAL:/ } split /\n/, sj_log_since($node);
is(scalar(@errors), 0, 'no ERROR in the server log')
  or diag(join("\n", @errors[0 .. ($#errors < 9 ? $#errors : 9)]));

$listener->disconnect;
sj_check_crash_free($node, 'load');
sj_stop($node);
done_testing();
