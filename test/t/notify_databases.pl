#!/usr/bin/perl
# One scheduler per database that has the extension, following the database
# through CREATE EXTENSION, DROP EXTENSION, ALTER DATABASE RENAME, CREATE
# DATABASE ... TEMPLATE and DROP DATABASE (without FORCE), none of which may
# hang or fail because of the workers.
#
# Runs against the cluster given by PGHOST/PGPORT/PGUSER (test/run.sh starts
# one); creates and drops databases of its own, all named sj_t_db*.
use strict;
use warnings;

use DBI;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use SjTest;
use Time::HiRes qw(time);

alarm 180;          # the whole test; a hang fails it

my ($DB, $RENAMED, $COPY) = ('sj_t_db2', 'sj_t_db2_renamed', 'sj_t_db3');

my $admin = connect_db('postgres');

sub drop_all
{
	$admin->do("DROP DATABASE IF EXISTS $_ WITH (FORCE)") for ($DB, $RENAMED, $COPY);
}
drop_all();
END { drop_all() if $admin; }

# schedulers running in database $db
sub schedulers
{
	my ($db) = @_;
	return $admin->selectrow_array(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs scheduler' AND datname = $1}, undef, $db);
}

sub launchers
{
	return $admin->selectrow_array(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'scheduled_jobs launcher'});
}

# Schedule a NOTIFY job due now in $db and wait for it to be notified.
sub fires_in
{
	my ($db, $key) = @_;
	my $dbh = connect_db($db);
	$dbh->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp(), channel => 'sj_t_db', job_key => $1)},
		undef, $key);
	my $took = poll(5, sub {
		$dbh->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
			WHERE job_key = $1 AND state = 'notified'}, undef, $key) == 1 });
	$dbh->disconnect;
	return $took;
}

# Run $sql on the admin connection; the seconds it took, or undef and a diag.
sub timed_do
{
	my ($sql) = @_;
	my $start = time;
	my $ok = eval { $admin->do($sql); 1 };
	diag("$sql: $@") unless $ok;
	return $ok ? time - $start : undef;
}

is(launchers(), 1, 'one launcher runs');

# a database created after start: no scheduler until CREATE EXTENSION
$admin->do("CREATE DATABASE $DB");
my $db = connect_db($DB);
# (the launcher may start a scheduler there that finds no extension and leaves)
ok(defined poll(5, sub { schedulers($DB) == 0 }), 'a new database without the extension has no scheduler');

$db->do('CREATE EXTENSION scheduled_jobs');
my $took = poll(3, sub { schedulers($DB) == 1 });
ok(defined $took, 'CREATE EXTENSION in a database created after start: its scheduler runs within 3 s');
diag("scheduler started $took s after CREATE EXTENSION") if defined $took;
ok(defined fires_in($DB, 'db2-1'), 'and fires its jobs');
is(schedulers($DB), 1, 'exactly one scheduler there');

# DROP EXTENSION stops it; CREATE EXTENSION starts it again
$db->do('DROP EXTENSION scheduled_jobs');
ok(defined poll(3, sub { schedulers($DB) == 0 }), 'DROP EXTENSION stops the scheduler within 3 s');
ok(!defined poll(1.5, sub { schedulers($DB) > 0 }), 'and it is not restarted');
$db->do('CREATE EXTENSION scheduled_jobs');
ok(defined poll(3, sub { schedulers($DB) == 1 }), 'CREATE EXTENSION again: it runs again within 3 s');
ok(defined fires_in($DB, 'db2-2'), 'and fires jobs');

# ALTER DATABASE RENAME while the scheduler runs (and has a job pending)
$db->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '2 seconds',
	channel => 'sj_t_db', job_key => 'db2-across-rename')});
$db->disconnect;
$took = timed_do("ALTER DATABASE $DB RENAME TO $RENAMED");
ok(defined $took && $took < 5, 'ALTER DATABASE RENAME succeeds within 5 s while the scheduler runs');
diag(sprintf('ALTER DATABASE RENAME took %.3f s', $took)) if defined $took;
ok(defined poll(3, sub { schedulers($RENAMED) == 1 }), 'the scheduler comes back within 3 s after the rename');
$db = connect_db($RENAMED);
ok(defined poll(8, sub {
	$db->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.job_history
		WHERE job_key = 'db2-across-rename' AND state = 'notified'}) == 1 }),
	'the job pending across the rename fires');
ok(defined fires_in($RENAMED, 'db2-3'), 'and new jobs fire');

# CREATE DATABASE ... TEMPLATE a database with the extension and a scheduler
$db->do(q{SELECT scheduled_jobs.schedule_job(clock_timestamp() + interval '1 day',
	channel => 'sj_t_db', job_key => 'db2-copied')});
$db->disconnect;
$took = timed_do("CREATE DATABASE $COPY TEMPLATE $RENAMED");
ok(defined $took && $took < 5, 'CREATE DATABASE ... TEMPLATE a database with a scheduler succeeds within 5 s');
ok(defined poll(3, sub { schedulers($COPY) == 1 }), 'the copy gets its own scheduler within 3 s');
ok(defined poll(3, sub { schedulers($RENAMED) == 1 }), 'the template gets its scheduler back within 3 s');
ok(defined fires_in($COPY, 'db3-1'), 'the copy fires its jobs');
{
	my $copy = connect_db($COPY);
	is($copy->selectrow_array(q{SELECT count(*) FROM scheduled_jobs.jobs WHERE job_key = 'db2-copied'}), 1,
		'the copy has the pending job of the template');
	$copy->disconnect;
}

# DROP DATABASE without FORCE while the scheduler runs
ok(schedulers($RENAMED) == 1, 'the scheduler runs before DROP DATABASE');
$took = timed_do("DROP DATABASE $RENAMED");
ok(defined $took && $took < 5, 'DROP DATABASE (no FORCE) succeeds within 5 s while its scheduler runs');
diag(sprintf('DROP DATABASE took %.3f s', $took)) if defined $took;
is($admin->selectrow_array(q{SELECT count(*) FROM pg_database WHERE datname = $1}, undef, $RENAMED), 0,
	'the database is gone');
ok(defined poll(3, sub { schedulers($RENAMED) == 0 }), 'and so is its scheduler');

$took = timed_do("DROP DATABASE $COPY");
ok(defined $took && $took < 5, 'DROP DATABASE of the copy succeeds within 5 s too');
is(launchers(), 1, 'the launcher runs on');

# the launcher still serves new databases after all this
$admin->do("CREATE DATABASE $DB");
$db = connect_db($DB);
$db->do('CREATE EXTENSION scheduled_jobs');
ok(defined poll(3, sub { schedulers($DB) == 1 }), 'a database created again under an old name gets a scheduler');
$db->disconnect;
$took = timed_do("DROP DATABASE $DB");
ok(defined $took && $took < 5, 'and drops promptly');

done_testing();
