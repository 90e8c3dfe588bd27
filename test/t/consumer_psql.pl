# The psql consumer, examples/consumer.sh, two of them on one acknowledged
# channel while their connections are terminated at random: every job
# handled exactly once.  Shared cluster.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;

my $repo = $ENV{SJ_REPO} // "$FindBin::RealBin/../..";
consumers_exactly_once(name => 'psql', command => sub {
	$ENV{PGAPPNAME} = 'sjc_consumer';
	$ENV{UNTIL_IDLE} = 1;
	$ENV{BATCH} = 5;
	$ENV{LEASE} = '2 seconds';
	return ('bash', "$repo/examples/consumer.sh", 'sjc', 'sjc.outbox');
});
done_testing();
