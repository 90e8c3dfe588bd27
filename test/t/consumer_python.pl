# The Python consumer, examples/consumer.py (psycopg 3), two of them on one
# acknowledged channel while their connections are terminated at random:
# every job handled exactly once, none left.  Shared cluster.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;

my $repo = $ENV{SJ_REPO} // "$FindBin::RealBin/../..";
my $command = sub {
	my ($dsn) = @_;
	return ('/usr/bin/python3', "$repo/examples/consumer.py", '--dsn', $dsn,
		'--outbox', 'sjc.outbox', '--batch', '5', '--lease', '2 seconds',
		'--application-name', 'sjc_consumer', '--until-idle', 'sjc');
};
consumers_exactly_once(name => 'python', command => $command);
reconnects_quickly(name => 'python', command => $command);
done_testing();
