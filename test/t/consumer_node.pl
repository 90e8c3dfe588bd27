# The Node consumer, examples/consumer.js (npm's pg, installed here from the
# npm registry), two of them on one acknowledged channel while their
# connections are terminated at random: every job handled exactly once.
# Shared cluster.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Test::More;

my $repo = $ENV{SJ_REPO} // "$FindBin::RealBin/../..";
my $dir = ($ENV{TESTDIR} // '/tmp') . '/node';
mkdir $dir;
my $out = `cd '$dir' && npm install --no-audit --no-fund --loglevel=error pg\@8 2>&1`;
is($?, 0, 'npm install pg') or diag($out);
$ENV{NODE_PATH} = "$dir/node_modules";
my $command = sub {
	my ($dsn) = @_;
	return ('node', "$repo/examples/consumer.js", '--outbox', 'sjc.outbox', '--batch', '5',
		'--lease', '2 seconds', '--application-name', 'sjc_consumer', '--until-idle', 'sjc');
};
consumers_exactly_once(name => 'node', command => $command);
reconnects_quickly(name => 'node', command => $command);
done_testing();
