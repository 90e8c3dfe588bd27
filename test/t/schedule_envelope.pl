#!/usr/bin/perl
# The NOTIFY envelope of an occurrence names its schedule also when the
# scheduler could not read the schedule's rule as it fired it: while another
# transaction holds the rule (the scheduler skips rules held, and takes the
# name from a read that waits for no lock), and when the occurrence is
# delivered again on an acknowledged channel (a redelivery does not advance
# the schedule, which is where the name of a first delivery comes from).
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one); creates and drops a database of its own, sj_t_envelope.
use strict;
use warnings;

use DBI;
use JSON::PP;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;

alarm 120;

my $admin = connect_db('postgres');
$admin->do('DROP DATABASE IF EXISTS sj_t_envelope WITH (FORCE)');
END { $admin->do('DROP DATABASE IF EXISTS sj_t_envelope WITH (FORCE)') if $admin; }
$admin->do('CREATE DATABASE sj_t_envelope');
my $db = connect_db('sj_t_envelope');
$db->do('CREATE EXTENSION scheduled_jobs');

my $listener = connect_db('sj_t_envelope');
$listener->do('LISTEN sj_t_env_held');
$listener->do('LISTEN sj_t_env_ack');

# the envelopes received so far on channel, decoded
my %got;
sub receive
{
	while (my $n = $listener->pg_notifies)
	{
		push @{ $got{ $n->[0] } }, decode_json($n->[2]);
	}
	$listener->do('SELECT 1');    # reads what arrived meanwhile
	while (my $n = $listener->pg_notifies)
	{
		push @{ $got{ $n->[0] } }, decode_json($n->[2]);
	}
}

# 1. a rule held by another transaction while its occurrence fires
$db->do(q{SELECT scheduled_jobs.create_schedule('sj_t_held', every => '200 ms', channel => 'sj_t_env_held')});
ok(poll(10, sub { receive(); @{ $got{sj_t_env_held} // [] } >= 1 }), 'the schedule fires');
my $holder = connect_db('sj_t_envelope');
$holder->begin_work;
$holder->do(q{SELECT scheduled_jobs.resume_schedule('sj_t_held')});    # locks the rule
my $before = @{ $got{sj_t_env_held} };
ok(poll(10, sub { receive(); @{ $got{sj_t_env_held} } > $before }),
	'an occurrence fires while another transaction holds the rule');
my @held = @{ $got{sj_t_env_held} }[ $before .. $#{ $got{sj_t_env_held} } ];
is(join(',', map { $_->{schedule} // 'none' } @held), join(',', map { 'sj_t_held' } @held),
	'and its envelope names the schedule');
$holder->commit;
$db->do(q{SELECT scheduled_jobs.drop_schedule('sj_t_held')});

# 2. an occurrence on an acknowledged channel, delivered again
$db->do(q{SELECT scheduled_jobs.configure_channel('sj_t_env_ack', interval '300 ms')});
$db->do(q{SELECT scheduled_jobs.create_schedule('sj_t_acked', every => '1 hour', channel => 'sj_t_env_ack',
	start_at => now() + interval '1 second')});
ok(poll(20, sub { receive(); grep { $_->{delivery} >= 2 } @{ $got{sj_t_env_ack} // [] } }),
	'an unacknowledged occurrence is delivered again');
my @again = grep { $_->{delivery} >= 2 } @{ $got{sj_t_env_ack} };
is($again[0]{schedule}, 'sj_t_acked', 'and the envelope of the redelivery names the schedule');
is($got{sj_t_env_ack}[0]{schedule}, 'sj_t_acked', 'as the first delivery did');

done_testing();
