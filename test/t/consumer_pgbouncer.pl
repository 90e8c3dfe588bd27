# Three competing psql consumers (examples/consumer.sh) claim and ack
# through a real PgBouncer in transaction pooling mode, while the test
# terminates their server connections at random: every job handled exactly
# once, none left.  PgBouncer (Debian's pgbouncer) is started here on a free
# loopback port in front of the shared cluster, and stopped at the end.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;
use IO::Socket::INET;

my $repo = $ENV{SJ_REPO} // "$FindBin::RealBin/../..";
my $dir = ($ENV{TESTDIR} // '/tmp') . "/pgbouncer";
my $db = 'sj_consumer_bouncer';

mkdir $dir or die "$dir: $!" unless -d $dir;
open(my $users, '>', "$dir/userlist.txt") or die "$dir/userlist.txt: $!";
print $users qq{"$ENV{PGUSER}" ""\n};
close($users);

# Start pgbouncer on a free port; if it does not listen within 10 s (its
# bind can still lose a race for the port), show its log and try the next.
sub start_pgbouncer
{
	my ($port) = @_;
	open(my $ini, '>', "$dir/pgbouncer.ini") or die "$dir/pgbouncer.ini: $!";
	print $ini <<EOINI;
[databases]
$db = host=$ENV{PGHOST} port=$ENV{PGPORT} dbname=$db
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 20
default_pool_size = 2
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
admin_users = $ENV{PGUSER}
EOINI
	close($ini);
	system('/usr/sbin/pgbouncer', '-d', "$dir/pgbouncer.ini") == 0 or return 0;
	return 1 if poll(10, sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp') });
	diag("pgbouncer did not listen on 127.0.0.1:$port; its log:\n" . `cat '$dir/pgbouncer.log' 2>&1`);
	system("kill \$(cat '$dir/pgbouncer.pid' 2>/dev/null) 2>/dev/null");
	return 0;
}
END { system("kill \$(cat '$dir/pgbouncer.pid' 2>/dev/null) 2>/dev/null") if $dir; }

my $port = 56600;
my $up = 0;
for my $attempt (1 .. 5)
{
	$port = free_port($port);
	last if ($up = start_pgbouncer($port));
	$port++;
}
ok($up, "pgbouncer listens on 127.0.0.1:$port (transaction pooling)") or do { done_testing(); exit; };

consumers_exactly_once(name => 'pgbouncer', db => $db, port => $port, consumers => 3, command => sub {
	$ENV{PGAPPNAME} = 'sjc_consumer';
	$ENV{UNTIL_IDLE} = 1;
	$ENV{BATCH} = 5;
	$ENV{LEASE} = '2 seconds';
	return ('bash', "$repo/examples/consumer.sh", 'sjc', 'sjc.outbox');
});
# pgbouncer's own count: the rounds of the consumers went through it
my $stats = `psql -X -At -h 127.0.0.1 -p $port -d pgbouncer -c 'SHOW STATS' 2>&1`;
my ($xacts) = $stats =~ /^\Q$db\E\|(\d+)\|/m;
ok(($xacts // 0) >= 60, 'pgbouncer counted the consumers\' transactions (' . ($xacts // 'none') . ')')
  or diag($stats);
done_testing();
