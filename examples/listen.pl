#!/usr/bin/perl
#
# listen.pl: a LISTEN consumer for scheduled_jobs.
#
# Prints every notification on the given channels as it arrives.  A
# scheduled_jobs envelope ({"id": .., "job_key": .., "run_at": .., "payload": ..})
# is printed with its lag: the time it was received minus its run_at.  Any
# other payload (e.g. a pg_notify() sent by a procedure job) is printed as is.
#
# usage: perl examples/listen.pl [options] channel [channel ...]
#   --dsn DSN       DBI data source (default "dbi:Pg:", i.e. the libpq
#                   environment: PGHOST, PGPORT, PGUSER, PGDATABASE, ...)
#   --count N       exit after N notifications
#   --timeout SECS  exit after SECS seconds
#   --json          print one JSON object per notification (for scripts)
#   --prefix TEXT   print TEXT at the start of every line (e.g. a colour)
#
# On exit (SIGINT, SIGTERM, --count, --timeout) it prints a lag summary.
#
# NOTIFY reaches only the sessions listening when it commits.  A consumer that
# must not miss a job remembers the last id it handled and, after connecting,
# reads what it missed from scheduled_jobs.job_history (state 'notified').
#
# Needs DBD::Pg (Debian: libdbd-pg-perl).

use strict;
use warnings;

use DBI;
use Getopt::Long;
use IO::Select;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(time);
use Time::Local qw(timegm);

my $dsn = 'dbi:Pg:';
my ($count, $timeout, $json_out, $prefix) = (undef, undef, undef, '');
GetOptions(
	'dsn=s'     => \$dsn,
	'count=i'   => \$count,
	'timeout=f' => \$timeout,
	'json'      => \$json_out,
	'prefix=s'  => \$prefix,
) and @ARGV or die "usage: $0 [--dsn DSN] [--count N] [--timeout SECS] [--json] channel...\n";

$| = 1;
binmode STDOUT, ':encoding(UTF-8)';
binmode STDERR, ':encoding(UTF-8)';
STDERR->autoflush(1);
my $json = JSON::PP->new->canonical;

my $dbh = DBI->connect($dsn, undef, undef,
	{ AutoCommit => 1, RaiseError => 1, PrintError => 0,
	  pg_enable_utf8 => 1 })
  or die "could not connect: $DBI::errstr\n";
$dbh->do("SET application_name = 'listen.pl'");
$dbh->do('LISTEN ' . $dbh->quote_identifier($_)) for @ARGV;
print STDERR $prefix, "listen.pl: listening on ", join(', ', @ARGV), "\n" unless $json_out;

my $stop = 0;
$SIG{INT} = $SIG{TERM} = sub { $stop = 1 };

my $sel = IO::Select->new($dbh->{pg_socket});
my $deadline = defined $timeout ? time + $timeout : undef;
my ($received, @lags) = (0);

# Seconds since the epoch of an ISO 8601 timestamp as JSON dates are written
# by PostgreSQL: 2025-01-31T12:34:56.789012+01:00 (or Z).
sub epoch_of
{
	my ($ts) = @_;
	$ts =~ /^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(?:(Z)|([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)$/
	  or return undef;
	my $t = timegm($6, $5, $4, $3, $2 - 1, $1) + ($7 // 0);
	unless ($8)
	{
		my $off = $10 * 3600 + ($11 // 0) * 60 + ($12 // 0);
		$t -= $9 eq '+' ? $off : -$off;
	}
	return $t;
}

sub clock
{
	my ($t) = @_;
	return strftime('%H:%M:%S', localtime $t) . sprintf('.%03d', ($t - int $t) * 1000);
}

sub handle
{
	my ($channel, $pid, $payload, $at) = @_;
	my $msg = eval { $json->decode($payload) };
	my $is_envelope = ref $msg eq 'HASH' && exists $msg->{id} && exists $msg->{run_at}
	  && exists $msg->{payload};
	my $lag;
	if ($is_envelope)
	{
		my $due = epoch_of($msg->{run_at});
		$lag = ($at - $due) * 1000 if defined $due;
		push @lags, $lag if defined $lag;
	}

	if ($json_out)
	{
		print $json->encode({ channel => $channel, received_at => $at,
			message => $msg // $payload, defined $lag ? (lag_ms => $lag) : () }), "\n";
	}
	elsif ($is_envelope)
	{
		# the payload as the server wrote it (a decoded 30.00 would print as 30)
		my ($raw) = $payload =~ /"payload": (.*)\}\z/s;
		printf "%s%s  %-16s job %-4s %-22s lag %s  payload %s\n",
		  $prefix, clock($at), $channel, $msg->{id}, $msg->{job_key} // '(no key)',
		  defined $lag ? sprintf('%4.0f ms', $lag) : '   ? ms',
		  $raw // $json->encode($msg->{payload});
	}
	else
	{
		printf "%s%s  %-16s %s\n", $prefix, clock($at), $channel, $payload;
	}
}

while (!$stop)
{
	my $wait = 1;
	if (defined $deadline)
	{
		$wait = $deadline - time;
		last if $wait <= 0;
		$wait = 1 if $wait > 1;
	}
	my $readable = $sel->can_read($wait);
	last if $stop;
	my $got = 0;
	while (my $n = $dbh->pg_notifies)
	{
		handle($n->[0], $n->[1], $n->[2], time);
		$got++;
		$received++;
		$stop = 1 if defined $count && $received >= $count;
		last if $stop;
	}
	# a readable socket with nothing on it: the server may have gone
	die "listen.pl: lost the connection to the server\n"
	  if $readable && !$got && !$dbh->ping;
}

if (!$json_out)
{
	my @s = sort { $a <=> $b } @lags;
	if (@s)
	{
		printf STDERR "%slisten.pl: %d notifications, %d job envelopes, lag min %.0f ms, median %.0f ms, max %.0f ms\n",
		  $prefix, $received, scalar @s, $s[0], $s[$#s / 2], $s[-1];
	}
	else
	{
		printf STDERR "%slisten.pl: %d notifications\n", $prefix, $received;
	}
}
$dbh->disconnect;
exit 0;
