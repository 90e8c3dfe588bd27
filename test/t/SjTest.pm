# Helpers of the Perl tests that run against the shared cluster given by
# PGHOST/PGPORT/PGUSER (test/run.sh starts it).
package SjTest;

use strict;
use warnings;

use DBI;
use Exporter 'import';
use Time::HiRes qw(time);

our @EXPORT = qw(connect_db poll);

# connect_db($db): a connection in autocommit mode that raises on error;
# retried for up to 10 s while the server is not ready (e.g. in crash
# recovery after an earlier test crashed it).
sub connect_db
{
	my ($db) = @_;
	my $deadline = time + 10;
	while (1)
	{
		my $dbh = eval { DBI->connect("dbi:Pg:dbname=$db", undef, undef,
			{ AutoCommit => 1, RaiseError => 1, PrintError => 0, PrintWarn => 0 }) };
		return $dbh if $dbh;
		die "could not connect to $db: " . ($@ || $DBI::errstr) if time > $deadline;
		select(undef, undef, undef, 0.1);
	}
}

# poll($seconds, $sub): call $sub every 10 ms until it returns true (then
# the seconds it took, a true string) or the deadline passes (then undef).
sub poll
{
	my ($seconds, $check) = @_;
	my $start = time;
	while (1)
	{
		return sprintf('%.3f', time - $start) if $check->();
		return undef if time > $start + $seconds;
		select(undef, undef, undef, 0.01);
	}
}

1;
