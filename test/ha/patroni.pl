# High availability under a real Patroni (issue 14).
#
# etcd and two Patroni nodes on loopback ports (56500-56599), the library
# preloaded through the DCS configuration, PostgreSQL from $SJ_PGBIN.  Under
# a steady load of procedure jobs, NOTIFY jobs and jobs on an acknowledged
# channel, all scheduled by a producer that reconnects to the leader, and
# consumed by a listener and a consumer that reconnect too (client.py), and
# two recurring procedure schedules (every 200 ms with catch_up all, every
# 300 ms with catch_up latest) whose procedure records each occurrence it
# runs under a unique key, each run goes through three faults:
#   1. the leader's node dies (kill -9 of its Patroni, its postmaster and
#      every child), the replica is promoted, the old node rejoins with
#      pg_rewind;
#   2. while the backlog of the first failover still drains on the new
#      leader, that node dies too: the second failover;
#   3. a planned switchover (POST /switchover).
# Checked on the surviving timeline: each procedure job's effect and each
# acknowledged job's handling exactly once, each NOTIFY job fired once, and
# each nominal instant of a schedule accounted for once (catch_up all: all
# of them fired, in order, none doubled; latest: fired or counted skipped).
# The run is made twice: with synchronous_mode (the checks must hold
# exactly) and without (what asynchronous replication loses or doubles is
# measured and reported, not failed on).  A watcher checks all along that
# no scheduled_jobs process runs on a node while it is a standby.
#
# Run by test/ha/run.sh (which installs the packages, makes the directory,
# and cleans up after this script whatever happens), as the postgres OS user:
#   SJ_HA_DIR=/tmp/dir prove -v test/ha/patroni.pl
use strict;
use warnings;

use FindBin;
use DBI;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG setsid);
use Time::HiRes qw(time usleep);
use Test::More;

my $DIR = $ENV{SJ_HA_DIR}
  // die "SJ_HA_DIR must name the test's directory (test/ha/run.sh makes it)\n";
my $PGBIN = $ENV{SJ_PGBIN} // '/usr/lib/postgresql/15/bin';
my $CLIENT = "$FindBin::RealBin/client.py";
my $PYTHON = '/usr/bin/python3';
my $T_START = time;

# Ports, from a base (SJ_HA_PORT, default 56500): etcd base (clients) and
# base + 1 (peers); node1 PostgreSQL base + 10, REST API base + 11; node2
# base + 20 and base + 21.  If one of a block is taken, the next block of
# 100 is tried, up to five.
sub port_taken
{
	return IO::Socket::INET->new(PeerAddr => "127.0.0.1:$_[0]", Proto => 'tcp') ? 1 : 0;
}
my $BASE = $ENV{SJ_HA_PORT} // 56500;
for my $try (1 .. 5)
{
	last unless grep { port_taken($BASE + $_) } (0, 1, 10, 11, 20, 21);
	$BASE += 100;
}
my $ETCD = $BASE;
my %NODE = (
	node1 => { name => 'node1', pg => $BASE + 10, rest => $BASE + 11 },
	node2 => { name => 'node2', pg => $BASE + 20, rest => $BASE + 21 });
my @NODES = map { $NODE{$_} } sort keys %NODE;
$_->{dir} = "$DIR/$_->{name}" for @NODES;

# Patroni's timing: the leader key lives TTL seconds; a dead leader is
# replaced at most that long after its last refresh.
my %DCS_TIMING = (ttl => 8, loop_wait => 1, retry_timeout => 3);
# the load: producer transactions per second (3 jobs each), and how long
# each procedure job takes with 2 executors, so that a failover's backlog
# drains for several seconds
my $RATE = 25;
my $SLEEP_MS = 40;
# the backlog of the first failover: jobs of each kind scheduled just before
# it, due while there is no leader
my %BACKLOG = (procedure => 400, notify => 200, ack => 200);
# the recurring schedules: every nominal instant of 'all' must run, through
# outages of about 8 s and the backlogs after them (catch_up_limit well
# above what piles up meanwhile, so that none is given up); 'latest' runs
# the late one once and counts the others as skipped
my %SCHEDULES = (
	all => { every => '200 ms', catch_up => 'all', catch_up_limit => 1000 },
	latest => { every => '300 ms', catch_up => 'latest', catch_up_limit => 100 });

# --- processes -----------------------------------------------------------
#
# Patroni starts the postmaster detached (its parent exits at once), so the
# postmaster and, once it is killed, its children are reparented to the
# nearest "subreaper": this script.  Without it they would go to pid 1,
# which in a container may never reap them, and Patroni would take a
# zombie postmaster for a live one.  So: become the subreaper, and reap
# every child as soon as it exits.
require 'syscall.ph';
syscall(SYS_prctl(), 36, 1, 0, 0, 0) == 0	# PR_SET_CHILD_SUBREAPER
  or die "prctl(PR_SET_CHILD_SUBREAPER): $!\n";
my %exited;
sub reap
{
	local ($!, $?);
	while ((my $pid = waitpid(-1, WNOHANG)) > 0) { $exited{$pid} = $?; }
}
# (Perl runs no signal handler in END blocks: poll() and alive() reap too)
$SIG{CHLD} = \&reap;
# END blocks run on an interrupt too, and stop everything
$SIG{$_} = sub { die "interrupted by SIG$_[0]\n" } for qw(INT TERM HUP);

my %procs;    # name => pid of what we started (etcd, patroni, clients)
mkdir "$DIR/pids";
# test/ha/run.sh signals us, not prove, when it is interrupted
open(my $pidfile, '>', "$DIR/pids/test.pid") or die;
print $pidfile "$$\n";
close($pidfile);

# spawn(name, log, command...): start a process in a session of its own,
# stdout and stderr appended to log; its pid is kept in $DIR/pids for
# test/ha/run.sh, which kills what is left if this script cannot.
sub spawn
{
	my ($name, $log, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		setsid();
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log) or POSIX::_exit(126);
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd) or POSIX::_exit(127);
	}
	$procs{$name} = $pid;
	open(my $f, '>', "$DIR/pids/$name.pid") or die;
	print $f "$pid\n";
	close($f);
	return $pid;
}

sub alive { my ($pid) = @_; reap(); return $pid && !exists $exited{$pid} && kill(0, $pid); }

# poll(seconds, sub): call sub every 50 ms until it returns true (then its
# value) or the deadline passes (then undef).  Errors count as false.
sub poll
{
	my ($seconds, $check) = @_;
	my $deadline = time + $seconds;
	while (1)
	{
		my $r = eval { $check->() };
		return $r if $r;
		return undef if time > $deadline;
		usleep(50_000);
		reap();
	}
}

# stop(name, signal, seconds): signal a process, wait for it to go, KILL it
# if it does not.  True if it went by itself.
sub stop
{
	my ($name, $sig, $seconds) = @_;
	my $pid = delete $procs{$name} or return 1;
	kill($sig, $pid);
	my $ok = poll($seconds, sub { !alive($pid) });
	kill('KILL', $pid) unless $ok;
	poll(5, sub { !alive($pid) });
	unlink("$DIR/pids/$name.pid");
	return $ok;
}

sub children_of
{
	my ($ppid) = @_;
	my @children;
	opendir(my $d, '/proc') or return;
	for my $pid (grep { /^\d+$/ } readdir($d))
	{
		open(my $f, '<', "/proc/$pid/stat") or next;
		my $stat = <$f> // '';
		push @children, $pid if $stat =~ /\)\s+\S+\s+(\d+)/ && $1 == $ppid;
	}
	return @children;
}

sub postmaster_pid
{
	my ($node) = @_;
	open(my $f, '<', "$node->{dir}/data/postmaster.pid") or return;
	my $pid = <$f> // '';
	chomp($pid);
	return alive($pid) ? $pid : undef;
}

# --- etcd, Patroni -------------------------------------------------------

my $http = HTTP::Tiny->new(timeout => 3);
my $json = JSON::PP->new->canonical;

# rest(node, method, path, body): the node's Patroni REST API; returns
# (status, decoded JSON or text).
sub rest
{
	my ($node, $method, $path, $body) = @_;
	my $r = $http->request($method, "http://127.0.0.1:$node->{rest}$path",
		$body ? { content => $json->encode($body), headers => { 'Content-Type' => 'application/json' } } : {});
	my $data = eval { $json->decode($r->{content}) };
	return ($r->{status}, $data // $r->{content});
}

# The members as the DCS sees them (asked of a node whose Patroni runs):
# name => { role => leader|sync_standby|replica, state => running|..., ... }
sub cluster
{
	for my $node (@NODES)
	{
		next unless alive($procs{ $node->{name} });
		my ($status, $data) = rest($node, 'GET', '/cluster');
		next unless $status == 200 && ref $data;
		return { map { $_->{name} => $_ } @{ $data->{members} } };
	}
	return {};
}

sub leader
{
	my $c = cluster();
	my ($l) = grep { $_->{role} eq 'leader' && $_->{state} eq 'running' } values %$c;
	return $l ? $NODE{ $l->{name} } : undef;
}

sub other { my ($node) = @_; return (grep { $_ != $node } @NODES)[0]; }

# etcd, in a data directory of its own.  It is up in a second, but once,
# on a machine busy with other work, it hung after its first log line: it
# gets a second try.
sub start_etcd
{
	my $peer = 'http://127.0.0.1:' . ($ETCD + 1);
	for my $try (1, 2)
	{
		spawn('etcd', "$DIR/etcd.log", 'etcd', '--name', 'sj-ha', '--data-dir', "$DIR/etcd$try",
			'--listen-client-urls', "http://127.0.0.1:$ETCD", '--advertise-client-urls', "http://127.0.0.1:$ETCD",
			'--listen-peer-urls', $peer, '--initial-advertise-peer-urls', $peer,
			'--initial-cluster', "sj-ha=$peer", '--initial-cluster-token', "sj-ha-$$",
			'--initial-cluster-state', 'new');
		my $up = poll(20, sub {
			my $r = $http->get("http://127.0.0.1:$ETCD/health");
			$r->{success} && $r->{content} =~ /"health":\s*"true"/;
		});
		return $up if $up;
		diag("etcd is not up after 20 s (try $try)");
		stop('etcd', 'KILL', 5);
	}
	return 0;
}

# The Patroni configuration of a node (JSON is YAML).  What matters for
# scheduled_jobs is in bootstrap.dcs: every node gets the same
# postgresql.parameters from the DCS, shared_preload_libraries among them.
sub write_config
{
	my ($node) = @_;
	mkdir($node->{dir});
	my $conf = {
		scope => 'sj_ha',
		namespace => '/sj_ha/',
		name => $node->{name},
		restapi => { listen => "127.0.0.1:$node->{rest}", connect_address => "127.0.0.1:$node->{rest}" },
		etcd3 => { hosts => ["127.0.0.1:$ETCD"] },
		bootstrap => {
			dcs => {
				%DCS_TIMING,
				maximum_lag_on_failover => 1048576,
				synchronous_mode => JSON::PP::true,
				postgresql => {
					use_pg_rewind => JSON::PP::true,
					use_slots => JSON::PP::true,
					parameters => {
						shared_preload_libraries => 'scheduled_jobs',
						# 1 launcher + per database 1 scheduler and up to
						# max_executors executors, and a probe of each
						# other database at start
						max_worker_processes => 16,
						'scheduled_jobs.max_executors' => 2,
						wal_log_hints => 'on',    # pg_rewind
						wal_keep_size => '256MB',
						# a killed node replays less WAL before its pg_rewind
						checkpoint_timeout => '30s',
						max_wal_senders => 10,
						max_replication_slots => 10,
						hot_standby => 'on',
						log_line_prefix => '%n [%p] %b ',
						log_min_messages => 'info',
					},
				},
			},
			initdb => [ { encoding => 'UTF8' }, { locale => 'C.UTF-8' } ],
		},
		postgresql => {
			listen => "127.0.0.1:$node->{pg}",
			connect_address => "127.0.0.1:$node->{pg}",
			data_dir => "$node->{dir}/data",
			bin_dir => $PGBIN,
			pgpass => "$node->{dir}/pgpass",
			authentication => {
				superuser => { username => 'postgres', password => 'sj-ha' },
				replication => { username => 'replicator', password => 'sj-ha' },
			},
			pg_hba => [
				'local all all trust',
				'host all all 127.0.0.1/32 trust',
				'host replication all 127.0.0.1/32 trust',
			],
			parameters => { unix_socket_directories => $node->{dir} },
		},
	};
	open(my $f, '>', "$node->{dir}/patroni.yml") or die;
	print $f JSON::PP->new->canonical->pretty->encode($conf);
	close($f);
}

sub log_size { my ($node) = @_; return -s "$node->{dir}/patroni.log" // 0; }

sub log_since
{
	my ($node, $offset) = @_;
	open(my $f, '<', "$node->{dir}/patroni.log") or return '';
	seek($f, $offset, 0);
	local $/;
	return <$f> // '';
}

sub start_node
{
	my ($node) = @_;
	spawn($node->{name}, "$node->{dir}/patroni.log", 'patroni', "$node->{dir}/patroni.yml");
}

# The node's death: its Patroni, its postmaster and every child of it at
# once, with SIGKILL, as a power cut would.
sub kill_node
{
	my ($node) = @_;
	my $patroni = delete $procs{ $node->{name} };
	my $pm = postmaster_pid($node);
	my @pids = ($patroni, $pm ? ($pm, children_of($pm)) : ());
	kill('KILL', @pids);
	unlink("$DIR/pids/$node->{name}.pid");
	poll(10, sub { !grep { alive($_) } @pids }) or die "the processes of $node->{name} survived SIGKILL\n";
}

sub dbh
{
	my ($node, $db) = @_;
	return DBI->connect("dbi:Pg:host=127.0.0.1;port=$node->{pg};dbname=$db;connect_timeout=3",
		'postgres', undef, { AutoCommit => 1, RaiseError => 1, PrintError => 0, PrintWarn => 0 });
}

# one row of one query on a node
sub row
{
	my ($node, $db, $sql, @bind) = @_;
	my $h = dbh($node, $db);
	my @r = $h->selectrow_array($sql, undef, @bind);
	$h->disconnect;
	return wantarray ? @r : $r[0];
}

# Wait until node is a streaming replica of leader, and in synchronous mode
# the synchronous standby in the DCS (the only member Patroni promotes).
sub wait_replica
{
	my ($node, $leader, $sync) = @_;
	return poll(90, sub {
		my $m = cluster()->{ $node->{name} } or return 0;
		return 0 unless $m->{state} eq 'running' && $m->{role} eq ($sync ? 'sync_standby' : 'replica');
		return row($leader, 'postgres', q{SELECT count(*) FROM pg_stat_replication
			WHERE application_name = ? AND state = 'streaming'}, $node->{name}) == 1;
	});
}

# --- the clients ---------------------------------------------------------

sub lines_of
{
	my ($file) = @_;
	open(my $f, '<', $file) or return ();
	chomp(my @lines = <$f>);
	return map { [ split / /, $_, 6 ] } @lines;
}

# lines of a client's log whose first word is one of @what
sub events { my ($name, @what) = @_; my %w = map { $_ => 1 } @what; return grep { $w{ $_->[0] } } lines_of("$DIR/$name.log"); }

# the listener's "effect" lines of procedure jobs (what = 'p': keys p:N and
# bp:N) or of occurrences (what = 'o', or 'o:NAME' for one schedule)
sub effects
{
	my ($mode, $what) = @_;
	my $re = $what eq 'p' ? qr/^b?p:/ : qr/^\Q$what\E:/;
	return grep { $_->[1] =~ $re } events("$mode-listen", 'effect');
}

# --- the faults ----------------------------------------------------------

# What is in flight on the leader, read the instant before a fault.
my $IN_FLIGHT_SQL = q{
	SELECT
	  (SELECT coalesce(string_agg(substring(query FROM '^job (\d+)'), ' '), '') FROM pg_stat_activity
	   WHERE backend_type = 'scheduled_jobs executor' AND datname = current_database()
	     AND state = 'active' AND query ~ '^job \d+'),
	  (SELECT coalesce(string_agg(id::text, ' '), '') FROM scheduled_jobs.jobs
	   WHERE channel = 'ha_ack' AND due_at IS NOT NULL),
	  (SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'ha_ack' AND lease_until > now()),
	  (SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = 'ha_notify' AND run_at <= now()),
	  (SELECT count(*) FROM scheduled_jobs.jobs WHERE procedure = 'ha.record' AND run_at <= now())};

# fault(mode, db, how): the leader dies ('kill') or hands over
# ('switchover'); wait for the other node to lead; measure.  Returns what
# it saw.
#
# Before a kill the replica falls behind, as over a slow network: the
# leader's WAL senders are stopped (SIGSTOP) until the producer saw 10 more
# commits, or 1 s passed.  Without synchronous replication the leader goes
# on committing what the replica does not have; with it, commits wait.
sub fault
{
	my ($mode, $db, $how) = @_;
	my $old = leader() or die "no leader before the fault\n";
	my $new = other($old);
	my $offset = log_size($new);
	my %ev = (how => $how, old => $old->{name}, new => $new->{name});
	if ($how eq 'kill')
	{
		my $h = dbh($old, 'postgres');
		my @walsenders = @{ $h->selectcol_arrayref('SELECT pid FROM pg_stat_replication') };
		$h->disconnect;
		my $confirmed = events("$mode-produce", 'confirmed');
		kill('STOP', @walsenders);
		poll(1, sub { events("$mode-produce", 'confirmed') >= $confirmed + 10 });
		$ev{committed_while_behind} = events("$mode-produce", 'confirmed') - $confirmed;
	}
	@ev{qw(running ack_in_flight ack_leased notify_due proc_due)} = row($old, $db, $IN_FLIGHT_SQL);
	$ev{t_fault} = time;
	if ($how eq 'kill')
	{
		kill_node($old);
	}
	else
	{
		my ($status, $body) = rest($old, 'POST', '/switchover',
			{ leader => $old->{name}, candidate => $new->{name} });
		die "switchover refused ($status): $body\n" unless $status == 200;
	}
	$ev{led} = poll(60, sub {
		my $l = leader();
		$l && $l == $new && row($new, 'postgres', 'SELECT NOT pg_is_in_recovery()');
	});
	die "$new->{name} did not become the leader after the $how of $old->{name}\n" unless $ev{led};
	$ev{t_led} = time;
	# the end of recovery: the startup process's "selected new timeline ID"
	my $log = log_since($new, $offset);
	($ev{t_promoted}, $ev{timeline}) = $log =~ /^(\d+\.\d+) \[\d+\] \S+ LOG:\s+selected new timeline ID: (\d+)/m;
	die "no promotion in the log of $new->{name}\n" unless $ev{t_promoted};
	# the first job fired on the new timeline, of each kind
	my $first = q{SELECT extract(epoch FROM min(fired_at)) FROM scheduled_jobs.job_history
		WHERE fired_at >= to_timestamp(?) AND state = ?};
	$ev{t_first_notify} = poll(10, sub { row($new, $db, $first, $ev{t_promoted}, 'notified') });
	$ev{t_first_proc} = poll(10, sub { row($new, $db, $first, $ev{t_promoted}, 'succeeded') });
	my @first = grep { defined } @ev{qw(t_first_notify t_first_proc)};
	$ev{first_firing} = @first ? (sort { $a <=> $b } @first)[0] - $ev{t_promoted} : undef;
	return \%ev;
}

# Restart the Patroni of a node that died and wait until it replicates again.
sub rejoin
{
	my ($node, $sync) = @_;
	my $offset = log_size($node);
	my $t0 = time;
	start_node($node);
	my $ok = wait_replica($node, other($node), $sync);
	my $log = log_since($node, $offset);
	return { ok => $ok, seconds => time - $t0, rewind => scalar($log =~ /running pg_rewind/) };
}

# --- one run ---------------------------------------------------------------

my $SETUP_SQL = <<'EOSQL';
CREATE EXTENSION scheduled_jobs;
CREATE SCHEMA ha;
-- one row per effect of a procedure job: a second effect of the same job
-- fails on the key (and would show as a failed attempt)
CREATE TABLE ha.effects (k text PRIMARY KEY, done_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE PROCEDURE ha.record(payload jsonb) LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ha.effects (k) VALUES (payload->>'k');
	PERFORM pg_sleep((payload->>'sleep_ms')::float8 / 1000);
	-- delivered when the effect commits: what an outside observer sees
	PERFORM pg_notify('ha_effects', payload->>'k');
END $$;
-- the consumer's effect of a job of the acknowledged channel: no key, so
-- that a second handling shows
CREATE TABLE ha.outbox (job_id bigint NOT NULL, k text NOT NULL, done_at timestamptz NOT NULL DEFAULT clock_timestamp());
SELECT scheduled_jobs.configure_channel('ha_ack', ack_timeout => '2 seconds', max_deliveries => 1000);
-- each occurrence a recurring schedule ran, by its nominal instant: a
-- second run of the same occurrence fails on the key (and would show as a
-- failed attempt); its pg_notify is what an outside observer sees
CREATE TABLE ha.occurrences (schedule text NOT NULL, occurrence timestamptz NOT NULL,
	job_id bigint NOT NULL, done_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	UNIQUE (schedule, occurrence));
CREATE PROCEDURE ha.tick(payload jsonb) LANGUAGE plpgsql AS $$
DECLARE
	job jsonb := scheduled_jobs.current_job();
BEGIN
	INSERT INTO ha.occurrences (schedule, occurrence, job_id)
	VALUES (job->>'schedule', (job->>'occurrence')::timestamptz, (job->>'id')::bigint);
	PERFORM pg_notify('ha_effects', 'o:' || (job->>'schedule') || ':' || (job->>'occurrence'));
END $$;
EOSQL

sub dsn
{
	my ($db) = @_;
	return sprintf('host=%s port=%s dbname=%s user=postgres target_session_attrs=read-write',
		join(',', map { '127.0.0.1' } @NODES), join(',', map { $_->{pg} } @NODES), $db);
}

sub count_by { my %n; $n{$_}++ for @_; return \%n; }

sub seconds { my ($s) = @_; return defined $s ? sprintf('%.2f s', $s) : 'none'; }

# The outcome of jobs by id on the final leader: id => [state, attempts,
# fired_at, finished_at, effects].
sub outcomes
{
	my ($node, $db, @ids) = @_;
	return {} unless @ids;
	my $h = dbh($node, $db);
	my $rows = $h->selectall_arrayref(q{
		SELECT h.id, h.state, h.attempts, extract(epoch FROM h.fired_at), extract(epoch FROM h.finished_at),
		       CASE WHEN h.schedule_id IS NOT NULL THEN (SELECT count(*) FROM ha.occurrences o
		              JOIN scheduled_jobs.schedule_rules r ON r.name = o.schedule
		              WHERE r.id = h.schedule_id AND o.occurrence = h.occurrence_at)
		            WHEN h.procedure IS NOT NULL THEN (SELECT count(*) FROM ha.effects e WHERE e.k = h.job_key)
		            ELSE (SELECT count(*) FROM ha.outbox o WHERE o.job_id = h.id) END
		FROM scheduled_jobs.job_history h WHERE h.id = ANY(?)}, undef, [@ids]);
	$h->disconnect;
	return { map { $_->[0] => [ @$_[1 .. 5] ] } @$rows };
}

# How the jobs in flight at a fault ended, in words.
sub describe_outcomes
{
	my ($ev, $kind, $out, @ids) = @_;
	return "none" unless @ids;
	my %how;
	for my $id (@ids)
	{
		my $o = $out->{$id};
		my $what;
		if (!$o) { $what = 'not finished'; }
		else
		{
			my ($state, $attempts, $fired, $finished, $effects) = @$o;
			my $where = $finished < $ev->{t_fault} ? 'before the fault' : 'on the new leader';
			$what = "$state $where, " . ($kind eq 'ack' ? "deliveries $attempts" : "attempts $attempts")
			  . ", effects $effects";
		}
		push @{ $how{$what} }, $id;
	}
	return join('; ', map { scalar(@{ $how{$_} }) . " $_ (ids @{ $how{$_} })" } sort keys %how);
}

sub run
{
	my ($mode) = @_;
	my $sync = $mode eq 'sync';
	my $db = "ha_$mode";
	my $t_run = time;

	my $leader = leader() or die "no leader\n";
	my ($status, $body) = rest($leader, 'PATCH', '/config',
		{ synchronous_mode => $sync ? JSON::PP::true : JSON::PP::false });
	die "PATCH /config: $status $body\n" unless $status == 200;
	ok(wait_replica(other($leader), $leader, $sync),
		"$mode: " . ($sync ? 'synchronous_mode on: the replica is the synchronous standby'
			: 'synchronous_mode off: the replica streams asynchronously'));

	my $admin = dbh($leader, 'postgres');
	$admin->do(qq{CREATE DATABASE $db});
	$admin->disconnect;
	my $setup = dbh($leader, $db);
	$setup->do($SETUP_SQL);
	# so that a node killed later replays (and pg_rewind rewinds) only the
	# WAL of this run
	$setup->do('CHECKPOINT');
	$setup->disconnect;
	ok(poll(20, sub { row($leader, 'postgres', q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler' AND datname = ?}, $db) }),
		"$mode: the scheduler of $db runs on the leader");
	# the recurring schedules, from now until the end of the run: through
	# all three faults
	$setup = dbh($leader, $db);
	$setup->do(q{SELECT scheduled_jobs.create_schedule(?, every => ?::interval, procedure => 'ha.tick',
		catch_up => ?, catch_up_limit => ?::int)}, undef, $_, @{ $SCHEDULES{$_} }{qw(every catch_up catch_up_limit)})
	  for sort keys %SCHEDULES;
	$setup->disconnect;

	for my $client (qw(listen consume produce))
	{
		spawn("$mode-$client", "$DIR/$mode-$client.log", $PYTHON, $CLIENT, $client,
			'--dsn', dsn($db), '--rate', $RATE, '--sleep-ms', $SLEEP_MS, '--work-ms', 10);
	}
	ok(poll(30, sub {
		events("$mode-listen", 'notify') >= 20 && effects($mode, 'p') >= 20
		  && events("$mode-consume", 'handled') >= 20
		  && !grep { effects($mode, "o:$_") < 3 } keys %SCHEDULES }),
		"$mode: jobs of each kind fire and are received before the first fault");

	my @faults;
	# 1. the leader's node dies; it rejoins with pg_rewind.  Just before, a
	# backlog is scheduled, due while there is no leader; the fault waits
	# until the replica has it.
	my $h = dbh($leader, $db);
	$h->do(q{SELECT count(scheduled_jobs.schedule_job(now() + interval '1 s', procedure => 'ha.record',
		payload => jsonb_build_object('k', 'bp:' || i, 'sleep_ms', ?::int), job_key => 'bp:' || i))
		FROM generate_series(1, ?::int) i}, undef, $SLEEP_MS, $BACKLOG{procedure});
	$h->do(q{SELECT count(scheduled_jobs.schedule_job(now() + interval '1 s', channel => 'ha_notify',
		job_key => 'bn:' || i)) FROM generate_series(1, ?::int) i}, undef, $BACKLOG{notify});
	$h->do(q{SELECT count(scheduled_jobs.schedule_job(now() + interval '1 s', channel => 'ha_ack',
		job_key => 'ba:' || i)) FROM generate_series(1, ?::int) i}, undef, $BACKLOG{ack});
	my $lsn = $h->selectrow_array('SELECT pg_current_wal_lsn()');
	$h->disconnect;
	poll(10, sub { row($leader, 'postgres', q{SELECT bool_and(replay_lsn >= ?::pg_lsn) FROM pg_stat_replication}, $lsn) })
	  or die "the replica did not replay the backlog\n";
	my $ev = fault($mode, $db, 'kill');
	$ev->{rejoin} = rejoin($NODE{ $ev->{old} }, $sync);
	push @faults, $ev;
	# 2. the new leader dies while the first backlog still drains on it
	$ev = fault($mode, $db, 'kill');
	$ev->{rejoin} = rejoin($NODE{ $ev->{old} }, $sync);
	push @faults, $ev;
	# 3. a planned switchover
	$ev = fault($mode, $db, 'switchover');
	$ev->{rejoin} = { ok => wait_replica($NODE{ $ev->{old} }, $NODE{ $ev->{new} }, $sync) };
	push @faults, $ev;

	for my $i (0 .. $#faults)
	{
		my $f = $faults[$i];
		ok($f->{rejoin}{ok}, "$mode: fault " . ($i + 1) . " ($f->{how}): $f->{old} replicates again afterwards");
	}
	ok($faults[1]{proc_due} > 0,
		"$mode: the second failover came while the first backlog still drained ($faults[1]{proc_due} procedure jobs due)");

	# a little more load on the final leader, then the producer stops and
	# everything drains
	my $confirmed = events("$mode-produce", 'confirmed');
	poll(10, sub { events("$mode-produce", 'confirmed') >= $confirmed + $RATE });
	stop("$mode-produce", 'TERM', 10);
	$leader = leader() or die "no leader at the end\n";
	my $t_drain = time;
	ok(poll(60, sub { row($leader, $db, 'SELECT count(*) = 0 FROM scheduled_jobs.jobs WHERE schedule_id IS NULL') }),
		"$mode: every job finished");
	note(sprintf('%s: the last jobs drained %.1f s after the producer stopped', $mode, time - $t_drain));
	# the schedules go on; catch_up all has caught up once its next
	# occurrence is not overdue by more than an interval or two
	ok(poll(30, sub { row($leader, $db, q{SELECT bool_and(next_occurrence > now() - 2 * every)
		FROM scheduled_jobs.schedules}) }), "$mode: the recurring schedules caught up");
	my %history;    # id => [state, job_key]
	my $rows = dbh($leader, $db)->selectall_arrayref(
		q{SELECT id, state, job_key, coalesce(channel, procedure), extract(epoch FROM fired_at)
		  FROM scheduled_jobs.job_history WHERE schedule_id IS NULL});
	$history{ $_->[0] } = $_ for @$rows;
	my @notify_ids = grep { $history{$_}[3] eq 'ha_notify' } keys %history;
	# the listener catches up on what it missed, by notification or by
	# reading job_history when it reconnected
	my $got = sub { count_by(map { $_->[1] } events("$mode-listen", 'notify', 'catchup')) };
	poll(15, sub { my $g = $got->(); !grep { !$g->{$_} } @notify_ids });
	stop("$mode-listen", 'TERM', 10);
	stop("$mode-consume", 'TERM', 10);

	# --- the checks on the surviving timeline
	my %key = map { $_->[2] => $_ } values %history;
	my @confirmed = map { $_->[1] } events("$mode-produce", 'confirmed');
	my @lost = grep { !$key{"p:$_"} || !$key{"n:$_"} || !$key{"a:$_"} } @confirmed;
	my %b = (procedure => 'bp', notify => 'bn', ack => 'ba');
	is(scalar(grep { my $kind = $_; grep { !$key{"$b{$kind}:$_"} } 1 .. $BACKLOG{$kind} } keys %b), 0,
		"$mode: the backlog scheduled before the first fault is all there");
	my $states = count_by(map { "$_->[3]:$_->[1]" } values %history);
	my $n = scalar(@confirmed);
	note("$mode: job_history: " . join(', ', map { "$_ $states->{$_}" } sort keys %$states));
	my ($p, $p_keys, $effects, $effect_keys, $dup_errors) = row($leader, $db, q{
		SELECT (SELECT count(*) FROM scheduled_jobs.job_history WHERE procedure = 'ha.record'),
		       (SELECT count(DISTINCT job_key) FROM scheduled_jobs.job_history WHERE procedure = 'ha.record'),
		       (SELECT count(*) FROM ha.effects),
		       (SELECT count(*) FROM ha.effects e JOIN scheduled_jobs.job_history h
		          ON h.job_key = e.k AND h.state = 'succeeded'),
		       (SELECT count(*) FROM scheduled_jobs.job_history WHERE procedure = 'ha.record'
		          AND last_error LIKE '%duplicate key%')});
	is($states->{'ha.record:succeeded'} // 0, $p, "$mode: every procedure job succeeded ($p)");
	is("$effects/$effect_keys/$p_keys", "$p/$p/$p", "$mode: each procedure job's effect exactly once");
	is($dup_errors, 0, "$mode: no attempt ran into an effect already there");
	my ($acked, $outbox, $outbox_ids) = row($leader, $db, q{
		SELECT (SELECT count(*) FROM scheduled_jobs.job_history WHERE channel = 'ha_ack'),
		       (SELECT count(*) FROM ha.outbox), (SELECT count(DISTINCT job_id) FROM ha.outbox)});
	is($states->{'ha_ack:acknowledged'} // 0, $acked,
		"$mode: every job of the acknowledged channel acknowledged ($acked)");
	is("$outbox/$outbox_ids", "$acked/$acked", "$mode: each acknowledged job handled exactly once");
	my $notify_keys = count_by(map { $history{$_}[2] } @notify_ids);
	is(scalar(grep { $notify_keys->{$_} > 1 } keys %$notify_keys), 0,
		"$mode: each NOTIFY job fired once in job_history (" . scalar(@notify_ids) . ")");
	my $g = $got->();
	my @missed = grep { !$g->{$_} } @notify_ids;

	# what an outside observer saw twice: a NOTIFY (id and key), a
	# procedure's effect, an acknowledged job's handling (after COMMIT)
	my $twice = sub { my $c = count_by(@_); scalar(grep { $c->{$_} > 1 } keys %$c) };
	my @notified = map { "$_->[1] $_->[2]" } events("$mode-listen", 'notify');
	# a NOTIFY job received before the surviving timeline fired it: it had
	# fired before, in a transaction that was lost
	my %refired = map { ("$_->[1] $_->[2]" => 1) } grep {
		my $h = $history{ $_->[1] };
		$h && $h->[2] eq $_->[2] && $h->[4] > $_->[4]
	} events("$mode-listen", 'notify');
	my $received = count_by(@notified);
	my %seen = (
		notify => scalar(grep { $received->{$_} > 1 || $refired{$_} } keys %$received),
		effect => $twice->(map { $_->[1] } effects($mode, 'p')),
		handled => $twice->(map { $_->[2] } events("$mode-consume", 'handled')),
		# received, but no such job on the surviving timeline: fired by a
		# transaction that was lost, or an id given again to another job
		ghost => scalar(grep { my ($id, $k) = split / /; !$history{$id} || ($history{$id}[2] // '') ne $k } @notified),
		lost => scalar(@lost),
		missed => scalar(@missed));
	my $catchup = events("$mode-listen", 'catchup');
	my @reconnects = map { scalar(events("$mode-$_", 'connect')) - 1 } qw(listen consume produce);
	my $unconfirmed = events("$mode-produce", 'unconfirmed');
	note("$mode: producer: $n transactions confirmed (3 jobs each), $unconfirmed cut off at COMMIT"
		  . " (outcome unknown to it), reconnects: producer $reconnects[2], listener $reconnects[0], consumer $reconnects[1]");
	note("$mode: listener: " . scalar(@notified) . " notifications of NOTIFY jobs, $catchup more caught up"
		  . " from job_history after a reconnect, " . scalar(effects($mode, 'p')) . " effect notifications of"
		  . " procedure jobs, " . scalar(effects($mode, 'o')) . " of occurrences");
	my $summary = "confirmed schedules lost: $seen{lost} of $n; seen twice: NOTIFY jobs $seen{notify},"
	  . " procedure effects $seen{effect}, acknowledged handlings $seen{handled};"
	  . " notifications of jobs not on the surviving timeline: $seen{ghost};"
	  . " NOTIFY jobs the listener never got (it catches up by id): $seen{missed}";
	if ($sync)
	{
		is($seen{missed}, 0, "$mode: the listener got every NOTIFY job at least once across its reconnects")
		  or diag("missed: @missed[0 .. ($#missed < 20 ? $#missed : 19)]");
		is($seen{lost}, 0, "$mode: every schedule_job the producer saw committed survived ($n)");
		is($seen{notify} + $seen{effect} + $seen{handled} + $seen{ghost}, 0,
			"$mode: nothing was seen twice from outside, nothing from a lost transaction")
		  or diag($summary);
	}
	note("$mode: $summary");

	# --- the recurring schedules, on the surviving timeline, in one
	# snapshot: the occurrences their procedure recorded, their nominal
	# instants from the schedule's start up to the pending one, their
	# counts and their rows in job_history
	my $sh = dbh($leader, $db);
	$sh->begin_work;
	$sh->do('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
	my $sched = $sh->selectall_hashref(q{
		SELECT r.name, r.runs, r.skipped, o.fired, n.nominal, o.list = n.list AS all_fired,
		       (SELECT count(*) FROM unnest(o.list) x WHERE x <> ALL (n.list)) AS odd,
		       (SELECT count(*) FROM unnest(n.list) x WHERE x <> ALL (o.list)) AS not_fired,
		       h.rows, h.occurrences, h.not_succeeded, h.dup_errors,
		       extract(epoch FROM o.max_late) AS max_late, o.late
		FROM scheduled_jobs.schedule_rules r
		CROSS JOIN LATERAL (SELECT count(*) AS fired, coalesce(array_agg(x.occurrence ORDER BY x.occurrence), '{}') AS list,
		                           max(x.done_at - x.occurrence) AS max_late,
		                           count(*) FILTER (WHERE x.done_at - x.occurrence > interval '1 s') AS late
		                    FROM ha.occurrences x WHERE x.schedule = r.name) o
		CROSS JOIN LATERAL (SELECT count(*) AS nominal, coalesce(array_agg(t ORDER BY t), '{}') AS list
		                    FROM scheduled_jobs.next_occurrences(r.every, r.time_zone, r.start_at, 100000, r.start_at) t
		                    WHERE t < r.next_at) n
		CROSS JOIN LATERAL (SELECT count(*) AS rows, count(DISTINCT j.occurrence_at) AS occurrences,
		                           count(*) FILTER (WHERE j.state <> 'succeeded') AS not_succeeded,
		                           count(*) FILTER (WHERE j.last_error LIKE '%duplicate key%') AS dup_errors
		                    FROM scheduled_jobs.job_history j WHERE j.schedule_id = r.id) h}, 'name');
	# what the listener saw of them: a key twice, or one the surviving
	# timeline did not run (its run was lost with its transaction)
	my @seen_occ = map { $_->[1] } effects($mode, 'o');
	my $seen_occ = count_by(@seen_occ);
	my $ghost_keys = $sh->selectcol_arrayref(q{
		SELECT k FROM unnest(?::text[]) k WHERE NOT EXISTS (SELECT FROM ha.occurrences x
		  WHERE x.schedule = substring(k FROM '^o:([^:]+):')
		    AND x.occurrence = substring(k FROM '^o:[^:]+:(.*)$')::timestamptz)}, undef, [ keys %$seen_occ ]);
	$sh->commit;
	$sh->disconnect;
	my $occ_twice = grep { $seen_occ->{$_} > 1 } keys %$seen_occ;
	for my $name (sort keys %SCHEDULES)
	{
		my $s = $sched->{$name} or die "schedule $name is gone\n";
		my $doubled = $s->{rows} - $s->{occurrences} + $s->{dup_errors};
		# nominal instants neither run nor counted as skipped
		my $lost = $s->{nominal} - $s->{fired} - $s->{skipped};
		note(sprintf('%s: schedule %s (every %s, catch_up %s): %d nominal instants up to the pending one,'
			  . ' %d run (runs %d), %d skipped, %d lost, %d doubled in the database (%d rows in job_history,'
			  . ' %d not succeeded); %d ran more than 1 s late (at most %.2f s)',
			$mode, $name, $SCHEDULES{$name}{every}, $SCHEDULES{$name}{catch_up}, $s->{nominal}, $s->{fired},
			$s->{runs}, $s->{skipped}, $lost, $doubled, $s->{rows}, $s->{not_succeeded}, $s->{late}, $s->{max_late} // 0));
		next unless $sync;
		is("$s->{rows}/$s->{occurrences}/$s->{runs}/$s->{not_succeeded}/$s->{dup_errors}",
			"$s->{fired}/$s->{fired}/$s->{fired}/0/0",
			"$mode: schedule $name: each occurrence run once and succeeded, none doubled ($s->{fired})");
		if ($SCHEDULES{$name}{catch_up} eq 'all')
		{
			ok($s->{fired} > 0 && $s->{all_fired} && $s->{skipped} == 0,
				"$mode: schedule $name: the occurrences run are exactly next_occurrences() from its start"
				  . " to the pending one, none lost ($s->{fired}; not run: $s->{not_fired}, not nominal: $s->{odd})");
		}
		else
		{
			ok($s->{fired} > 0 && $s->{odd} == 0 && $lost == 0,
				"$mode: schedule $name: run + skipped account for every nominal instant"
				  . " ($s->{fired} + $s->{skipped} of $s->{nominal}; not nominal: $s->{odd})");
		}
	}
	my $occ_ghosts = @$ghost_keys;
	my $by_schedule = sub {
		my $n = count_by(map { /^o:([^:]+):/ } @_);
		return join(', ', map { "$_ " . ($n->{$_} // 0) } sort keys %SCHEDULES);
	};
	note("$mode: occurrences the listener saw: " . scalar(keys %$seen_occ) . "; twice: $occ_twice ("
		  . $by_schedule->(grep { $seen_occ->{$_} > 1 } keys %$seen_occ) . ");"
		  . " not run on the surviving timeline: $occ_ghosts (" . $by_schedule->(@$ghost_keys) . ')');
	is($occ_twice + $occ_ghosts, 0, "$mode: no occurrence was seen twice from outside, none from a lost transaction")
	  if $sync;

	for my $i (0 .. $#faults)
	{
		my $f = $faults[$i];
		my $what = $f->{how} eq 'kill' ? "kill -9 of $f->{old}" : "switchover $f->{old} -> $f->{new}";
		my $first = $f->{first_firing};
		ok(defined $first && $first < 1.0,
			"$mode: fault " . ($i + 1) . " ($what): the new leader fired within a second of its promotion ("
			  . seconds($first) . ')');
		my @running = split / /, $f->{running};
		my @acks = split / /, $f->{ack_in_flight};
		my $out = outcomes($leader, $db, @running, @acks);
		note(sprintf("%s: fault %d (%s): %s promoted %.2f s after the fault (timeline %d),"
			  . " first NOTIFY fired %s and first procedure job %s after the promotion",
			$mode, $i + 1, $what, $f->{new}, $f->{t_promoted} - $f->{t_fault}, $f->{timeline},
			seconds(defined $f->{t_first_notify} ? $f->{t_first_notify} - $f->{t_promoted} : undef),
			seconds(defined $f->{t_first_proc} ? $f->{t_first_proc} - $f->{t_promoted} : undef)));
		my @back = map {
			my $client = $_;
			my ($c) = grep { $_->[2] > $f->{t_fault} } events("$mode-$client", 'connect');
			$c ? sprintf('%s %.2f s', $client, $c->[2] - $f->{t_promoted}) : "$client not";
		} qw(produce listen consume);
		note('    clients reconnected to the new leader after its promotion: ' . join(', ', @back));
		note("    in flight: procedure jobs running: " . describe_outcomes($f, 'proc', $out, @running));
		note("    acknowledged-channel jobs delivered, not yet acknowledged ($f->{ack_leased} claimed): "
			  . describe_outcomes($f, 'ack', $out, @acks));
		note("    due and not yet fired: $f->{notify_due} NOTIFY jobs; due or running: $f->{proc_due} procedure jobs");
		note("    the replica held back before the kill: the producer saw $f->{committed_while_behind} commits meanwhile")
		  if defined $f->{committed_while_behind};
		# the schedules after the promotion: the occurrences of 'all' due
		# while there was no leader, and when the last of them ran; the
		# first run of 'latest'
		my ($n_all, $all_done, $latest_first, $latest_late) = row($leader, $db, q{
			SELECT count(*) FILTER (WHERE schedule = 'all' AND occurrence BETWEEN to_timestamp(?) AND to_timestamp(?)),
			       extract(epoch FROM max(done_at) FILTER (WHERE schedule = 'all'
			         AND occurrence BETWEEN to_timestamp(?) AND to_timestamp(?))) - ?,
			       extract(epoch FROM min(done_at) FILTER (WHERE schedule = 'latest' AND done_at > to_timestamp(?))) - ?,
			       extract(epoch FROM (SELECT done_at - occurrence FROM ha.occurrences WHERE schedule = 'latest'
			         AND done_at > to_timestamp(?) ORDER BY done_at LIMIT 1))
			FROM ha.occurrences}, ($f->{t_fault}, $f->{t_promoted}) x 2, $f->{t_promoted}, ($f->{t_promoted}) x 3);
		note(sprintf('    recurring: %d occurrences of schedule all fell due between the fault and the promotion,'
			  . ' the last of them ran %s after the promotion; schedule latest first ran %s after it (%s late)',
			$n_all, seconds($all_done), seconds($latest_first), seconds($latest_late)));
		note(sprintf("    %s rejoined in %.1f s%s", $f->{old}, $f->{rejoin}{seconds},
			$f->{rejoin}{rewind} ? ', with pg_rewind' : ', without pg_rewind'))
		  if $f->{rejoin}{seconds};
	}
	# the schedules stop, so that the next run's database has the machine
	row($leader, $db, 'SELECT count(scheduled_jobs.drop_schedule(name)) FROM scheduled_jobs.schedules');
	note(sprintf('%s: run took %.1f s', $mode, time - $t_run));
	return;
}

# --- main ----------------------------------------------------------------

END
{
	my $rc = $?;
	# the clients first, then Patroni (which stops its PostgreSQL), then
	# etcd; whatever does not stop is killed, and so is a postmaster left
	for my $name (grep { !/^node|^etcd$/ } sort keys %procs) { stop($name, 'TERM', 5); }
	for my $node (@NODES) { stop($node->{name}, 'TERM', 30); }
	for my $node (@NODES)
	{
		my $pm = postmaster_pid($node) or next;
		kill('QUIT', $pm);
		poll(10, sub { !alive($pm) }) or kill('KILL', $pm, children_of($pm));
	}
	stop('etcd', 'TERM', 10);
	poll(5, sub { !children_of($$) });
	$? = $rc;
}

for my $port ($ETCD, $ETCD + 1, map { ($_->{pg}, $_->{rest}) } @NODES)
{
	BAIL_OUT("port $port is taken (and the blocks after it)") if port_taken($port);
}
ok(start_etcd(), 'etcd is up');
write_config($_) for @NODES;
# node1 bootstraps the cluster (initdb), then node2 joins it (pg_basebackup)
start_node($NODE{node1});
ok(poll(60, sub { my $l = leader(); $l && $l == $NODE{node1} }), 'node1 bootstrapped the cluster and leads it');
start_node($NODE{node2});
ok(wait_replica($NODE{node2}, $NODE{node1}, 1), 'node2 is its synchronous standby');
spawn('watch', "$DIR/watch.log", $PYTHON, $CLIENT, 'watch', map { "$_->{pg}:$_->{dir}/data" } @NODES);

run('sync');
run('async');

stop('watch', 'TERM', 10);
my @standby = events('watch', 'standby_samples');
my ($violations) = map { $_->[1] } events('watch', 'violations');
is($violations, 0, 'no scheduled_jobs process on a node while it was a standby, at any time')
  or diag(join("\n", map { "@$_" } events('watch', 'violation')));
ok(@standby == 2 && !(grep { $_->[2] == 0 } @standby),
	'each node was watched while a standby (' . join(', ', map { "port $_->[1]: $_->[2] samples" } @standby) . ')');
note(sprintf('wall time %.1f s', time - $T_START));
done_testing();
