
# Fault: hostile arguments.  Random and hostile values for every argument of
# every SQL function (random jsonb and text, huge payloads, odd channel names
# and quoting, extreme and infinite timestamps, NULLs, missing and
# non-procedure names, names needing quoting, SQL-injection-looking names,
# out-of-range intervals), as a superuser and as an unprivileged role.
# Every call either succeeds or raises an error whose SQLSTATE is documented;
# a value that is not even a valid literal fails in its cast (22xxx) before
# the call.  No crash; every accepted job that is due fires (the scheduler is
# never wedged by an accepted job); the worker still fires afterwards.
#
# FUZZ_SEED=<n> replays a run; FUZZ_CALLS=<n> changes its length.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use FaultLib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use JSON::PP;

my $seed  = $ENV{FUZZ_SEED}  // int(time() * 1000) % 1000000;
my $CALLS = $ENV{FUZZ_CALLS} // 3000;
srand($seed);
note("FUZZ_SEED=$seed");

# SQLSTATEs the functions may raise (the contract), and those of a value
# that is not a valid literal of its type (raised by the cast).
my %DOCUMENTED = map { $_ => 1 } qw(22023 22004 42883 42809 42501 42602 3F000 23505 22007 22008);

# A time zone with odd historical offsets (LMT -03:30:52) makes the longest
# run_at texts in envelopes.
my $node = sj_node('fuzz', conf => "log_statement = none\ntimezone = 'America/St_Johns'\n"
	  . "scheduled_jobs.retry_base_delay = 100\n");
sj_setup_db($node, 'app');
$node->safe_psql('app', q{
	CREATE SCHEMA "Weird Schema";
	CREATE PROCEDURE "Weird Schema"."Proc ""Q"" name"(payload jsonb) LANGUAGE sql
		AS $$ INSERT INTO sjt.effects (token) VALUES ('weird') $$;
	CREATE PROCEDURE public."select"(payload jsonb) LANGUAGE sql
		AS $$ INSERT INTO sjt.effects (token) VALUES ('select') $$;
	CREATE PROCEDURE sjt."UPPER"(payload jsonb) LANGUAGE sql
		AS $$ INSERT INTO sjt.effects (token) VALUES ('UPPER') $$;
	CREATE FUNCTION sjt.func(payload jsonb) RETURNS int LANGUAGE sql AS 'SELECT 1';
	CREATE PROCEDURE sjt.two(payload jsonb, x int) LANGUAGE sql AS 'SELECT 1';
	CREATE PROCEDURE sjt.text_arg(payload text) LANGUAGE sql AS 'SELECT 1';
	CREATE PROCEDURE sjt.locked(payload jsonb) LANGUAGE sql AS 'SELECT 1';
	REVOKE EXECUTE ON PROCEDURE sjt.locked(jsonb) FROM PUBLIC;
	CREATE PROCEDURE sjt.fails(payload jsonb) LANGUAGE plpgsql
		AS $$ BEGIN RAISE EXCEPTION 'boom %', payload::text USING ERRCODE = 'P0001'; END $$;
	CREATE PROCEDURE sjt.commits(payload jsonb) LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;
	CREATE ROLE fuzzer NOLOGIN;
	CREATE ROLE outsider NOLOGIN;
	GRANT USAGE ON SCHEMA sjt, "Weird Schema" TO fuzzer, outsider;
	GRANT INSERT ON sjt.effects TO fuzzer, outsider;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO fuzzer;});

# ---- generators ------------------------------------------------------------

sub pick { return $_[ int(rand(@_)) ]; }

sub rand_string
{
	my ($max) = @_;
	my @alphabet = ('a' .. 'z', 'A' .. 'Z', 0 .. 9, ' ', '"', "'", '\\', ';', '-', '.', '$',
		'%', '{', '}', "\t", "\n", "\x{e9}", "\x{263a}", "\x{1F600}", "\x01", "\x7f", ',', ':');
	return join('', map { pick(@alphabet) } 1 .. int(rand($max + 1)));
}

sub rand_json
{
	my ($depth) = @_;
	my $r = rand();
	if ($depth > 3 || $r < 0.4)
	{
		return pick(undef, JSON::PP::true, JSON::PP::false, int(rand(2**31)) - 2**30,
			rand() * 1e300, -rand() * 1e-300, rand_string(20), '', "\x{263a}" x 3);
	}
	return [ map { rand_json($depth + 1) } 1 .. int(rand(5)) ] if $r < 0.7;
	return { map { rand_string(8) => rand_json($depth + 1) } 1 .. int(rand(5)) };
}

my $json = JSON::PP->new->canonical->allow_nonref;

sub gen_payload
{
	return pick(
		undef, '{}', 'null', '[]', '1', '"s"', 'true',
		$json->encode(rand_json(0)), $json->encode(rand_json(0)), $json->encode(rand_json(0)),
		'{"n": 1}', '{"n": "x"}', $json->encode({ big => 'x' x (int(rand(9000))) }),
		$json->encode({ s => "\x{263a}" x int(rand(3000)) }),
		$json->encode({ e => "\"\\/\b\f\n\r\t" x int(rand(1500)) }),
		'{"a": "\\u0000"}',    # not valid jsonb
		'not json', '{"unterminated": ',);
}

sub gen_run_at
{
	return pick(
		undef, 'now', 'infinity', '-infinity', 'epoch',
		'294276-12-31 23:59:59.999999+00', '4714-11-24 00:00:00+00 BC', '4714-11-23 23:00:00+00 BC',
		'2000-02-29 12:00:00+14', '1900-01-01 00:00:00 LMT', '0001-01-01 00:00:00+00 BC',
		'2024-02-30 00:00:00+00',    # 22008
		'yesterday', 'tomorrow', 'allballs', 'not a time', '', '294277-01-01 00:00:00+00',
		'2030-01-01 00:00:00 America/New_York',
		sprintf('%d-%02d-%02d %02d:%02d:%02d+00', 1970 + int(rand(200)), 1 + int(rand(12)),
			1 + int(rand(28)), int(rand(24)), int(rand(60)), int(rand(60))));
}

sub gen_channel
{
	return pick(
		undef, '', 'c', 'a' x 63, 'a' x 64, "\x{e9}" x 31, "\x{e9}" x 32, 'UPPER', 'with space',
		'"quoted"', "it's", 'c; DROP TABLE sjt.effects; --', "line\nbreak", 'tab	tab',
		"\x{1F600}", 'pg_catalog.x', '$1', '%s%s%n', rand_string(10), rand_string(80));
}

sub gen_procedure
{
	return pick(
		undef, '', 'sjt.record', 'record', 'SJT.RECORD', 'sjt."record"', '"sjt"."record"',
		'sjt.UPPER', 'sjt."UPPER"', '"Weird Schema"."Proc ""Q"" name"', 'Weird Schema.Proc',
		'"select"', 'public."select"', 'select', 'sjt.func', 'sjt.two', 'sjt.text_arg',
		'sjt.locked', 'sjt.fails', 'sjt.commits', 'sjt.missing', 'missing_schema.p',
		'sjt.record; DROP TABLE sjt.effects', 'sjt.record()', 'sjt.record(jsonb)',
		'app.sjt.record', 'a.b.c.d', 'sjt.', '.record', '"', '""', '"unterminated',
		'sjt.record--', "sjt.record'", 'pg_catalog.pg_sleep', 'scheduled_jobs.schedule_job',
		'x' x 100, rand_string(12));
}

sub gen_key
{
	return pick(undef, undef, '', 'k', 'k' . int(rand(20)), rand_string(30),
		"\x01\x02" x int(rand(500)), 'k' x int(rand(4000)), rand_string(3000),
		"key'; DROP TABLE sjt.effects; --");
}

sub gen_attempts
{
	return pick(undef, '1', '3', '0', '-1', '2147483647', '-2147483648', '2147483648', 'x',
		int(rand(10)));
}

sub gen_timeout
{
	return pick(undef, '0', '1 ms', '0.0001 ms', '-1 ms', '24 days', '25 days', '2147483647 ms',
		'2147483.648 s', '178000000 years', '-178000000 years', '1 month', '100 months',
		'-1 day 24:00:01', '1 day -86399 s', 'infinity', 'not an interval', '213503983 days',
		int(rand(1e6)) . ' ms');
}

sub gen_id
{
	return pick(undef, '0', '-1', '1', '9223372036854775807', '-9223372036854775808',
		'9223372036854775808', 'abc', int(rand(3000)));
}

# ---- calls ---------------------------------------------------------------

my $dbh = sj_dbh($node, 'app', RaiseError => 0, pg_server_prepare => 0);
$dbh->{pg_enable_utf8} = 1;
my (%outcomes, @unexpected, @accepted);

# The cast of each value alone: a value that fails it is a bad literal,
# whose error is the cast's, not the function's.
sub literal_ok
{
	my ($value, $type) = @_;
	return 1 unless defined $value;
	my $ok = $dbh->selectrow_array("SELECT \$1::$type IS NOT NULL OR true", undef, $value);
	return defined $ok;
}

sub call
{
	my ($func, $args, $role) = @_;    # $args: [ [name, type, value], ... ]
	my @bad_literal = grep { !literal_ok($_->[2], $_->[1]) } @$args;
	my $i    = 0;
	my $list = join(', ', map { $i++; "$_->[0] => \$$i\::$_->[1]" } @$args);
	my $sql = "SELECT scheduled_jobs.$func($list)";
	$dbh->do("SET ROLE $role") if $role;
	my ($result) = $dbh->selectrow_array($sql, undef, map { $_->[2] } @$args);
	my $state = $dbh->err ? $dbh->state : 'ok';
	my $errstr = $dbh->errstr // '';
	$dbh->do('RESET ROLE') if $role;

	my $kind = @bad_literal ? 'literal' : 'call';
	$outcomes{"$func $kind $state"}++;
	if ($state ne 'ok')
	{
		my $allowed = @bad_literal ? $state =~ /^22/ : $DOCUMENTED{$state};
		push @unexpected, "$state ($errstr) from $sql with ("
		  . join(', ', map { defined $_->[2] ? $json->encode($_->[2] . '') : 'NULL' } @$args) . ')'
		  . ($role ? " as $role" : '')
		  unless $allowed;
	}
	elsif (@bad_literal)
	{
		push @unexpected, "accepted a bad literal in $sql";
	}
	return ($state, $result);
}

my %opt_args = (
	channel      => [ 'text',        \&gen_channel ],
	procedure    => [ 'text',        \&gen_procedure ],
	payload      => [ 'jsonb',       \&gen_payload ],
	job_key      => [ 'text',        \&gen_key ],
	max_attempts => [ 'integer',     \&gen_attempts ],
	timeout      => [ 'interval',    \&gen_timeout ],
);

my $t0 = time();
for my $n (1 .. $CALLS)
{
	my $role = rand() < 0.15 ? pick('fuzzer', 'outsider') : undef;
	my $r    = rand();
	if ($r < 0.7)
	{
		my @args = ([ 'run_at', 'timestamptz', gen_run_at() ]);
		# usually exactly one target, sometimes none or both
		my @targets = rand() < 0.9 ? (pick('channel', 'procedure')) : pick([], [qw(channel procedure)]);
		@targets = @{ $targets[0] } if ref $targets[0];
		for my $name (@targets, grep { rand() < 0.5 } qw(payload job_key max_attempts timeout))
		{
			push @args, [ $name, $opt_args{$name}[0], $opt_args{$name}[1]->() ];
		}
		my ($state, $id) = call('schedule_job', \@args, $role);
		push @accepted, $id if $state eq 'ok';
	}
	elsif ($r < 0.8)
	{
		call('cancel_job', [ [ 'job_id', 'bigint', gen_id() ] ], $role);
	}
	elsif ($r < 0.85)
	{
		call('cancel_job', [ [ 'job_key', 'text', gen_key() ] ], $role);
	}
	elsif ($r < 0.95)
	{
		call('reschedule_job', [ [ 'job_id', 'bigint', gen_id() ], [ 'run_at', 'timestamptz', gen_run_at() ] ],
			$role);
	}
	else
	{
		call('reschedule_job', [ [ 'job_key', 'text', gen_key() ], [ 'run_at', 'timestamptz', gen_run_at() ] ],
			$role);
	}
	last if time() - $t0 > 50;    # bounded, whatever the machine
}

my $in_an_hour = $node->safe_psql('app', "SELECT (now() + interval '1 hour')::text");

# Targeted cases: the envelope size limit with the longest run_at texts.
for my $run_at ('4714-11-24 00:00:00+00 BC', '294276-12-31 23:59:59.999999+00', 'now')
{
	my ($lo, $hi) = (0, 8000);
	while ($lo < $hi)
	{
		my $mid = int(($lo + $hi + 1) / 2);
		my ($state) = call('schedule_job', [
				[ 'run_at', 'timestamptz', $run_at ], [ 'channel', 'text', 'c' x 63 ],
				[ 'payload', 'jsonb', $json->encode('x' x $mid) ],
				[ 'job_key', 'text', "\x01" x 50 ] ]);
		if ($state eq 'ok') { $lo = $mid; } else { $hi = $mid - 1; }
	}
	note("largest accepted NOTIFY payload string with run_at $run_at: $lo bytes");
}
# Huge values where no NOTIFY limit applies: a 10 MB payload and an
# incompressible 8 kB job_key on procedure jobs.
{
	my ($state) = call('schedule_job', [ [ 'run_at', 'timestamptz', 'now' ], [ 'procedure', 'text', 'sjt.record' ],
			[ 'payload', 'jsonb', $json->encode({ n => 7, token => 'huge', big => 'y' x 10_000_000 }) ] ]);
	is($state, 'ok', 'a procedure job with a 10 MB payload is accepted');
	my $key = join('', map { sprintf('%08x', int(rand(2**32))) } 1 .. 1000);
	($state) = call('schedule_job', [ [ 'run_at', 'timestamptz', 'now' ], [ 'procedure', 'text', 'sjt.record' ],
			[ 'job_key', 'text', $key ] ]);
	note("procedure job with an incompressible 8 kB job_key: $state");
}
# Timeouts whose milliseconds overflow 64 bits must be rejected, not wrap.
for my $iv ('213503983 days', '7116800 months', '178000000 years')
{
	my ($state, $id) = call('schedule_job', [ [ 'run_at', 'timestamptz', $in_an_hour ], [ 'channel', 'text', 'c' ],
			[ 'timeout', 'interval', $iv ] ]);
	is($state, '22023', "timeout => '$iv' is rejected with 22023")
	  or diag("accepted as job $id with timeout_ms "
		  . $node->safe_psql('app', "SELECT timeout_ms FROM scheduled_jobs.jobs WHERE id = $id"));
}
# Every target kind once, due now, as the unprivileged role where it may.
for my $p ('"Weird Schema"."Proc ""Q"" name"', 'public."select"', 'sjt."UPPER"', 'sjt.fails', 'sjt.commits')
{
	my ($state) = call('schedule_job', [ [ 'run_at', 'timestamptz', 'now' ], [ 'procedure', 'text', $p ],
			[ 'max_attempts', 'integer', 1 ] ], 'fuzzer');
	is($state, 'ok', "an unprivileged role schedules $p");
}
is((call('schedule_job', [ [ 'run_at', 'timestamptz', 'now' ], [ 'procedure', 'text', 'sjt.locked' ] ], 'fuzzer'))[0],
	'42501', 'a procedure the role may not execute: 42501');
is((call('schedule_job', [ [ 'run_at', 'timestamptz', 'now' ], [ 'channel', 'text', 'c' ] ], 'outsider'))[0],
	'42501', 'a role without EXECUTE on schedule_job: 42501');
my ($st, $other_id) = call('schedule_job', [ [ 'run_at', 'timestamptz', $in_an_hour ],
		[ 'channel', 'text', 'c' ], [ 'job_key', 'text', 'superuser-key' ] ]);
is((call('cancel_job', [ [ 'job_key', 'text', 'superuser-key' ] ], 'fuzzer'))[1], 0,
	"a role cannot cancel another role's job");
is((call('schedule_job', [ [ 'run_at', 'timestamptz', 'now' ], [ 'channel', 'text', 'c' ],
			[ 'job_key', 'text', 'superuser-key' ] ], 'fuzzer'))[0],
	'23505', "a role cannot replace another role's job_key: 23505");

note("outcomes:\n" . join("\n", map { "  $_: $outcomes{$_}" } sort keys %outcomes));
note(scalar(@accepted) . ' jobs accepted');
ok(scalar(@accepted) > 50, 'the fuzzer got many jobs accepted');
is(scalar(@unexpected), 0, 'every error has a documented SQLSTATE')
  or diag(join("\n", map { substr($_, 0, 600) } @unexpected[0 .. ($#unexpected < 14 ? $#unexpected : 14)]));

# Every accepted job that is due fires (or, for a failing procedure, is
# retried later): none stays overdue, the scheduler is not wedged.
ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.jobs WHERE run_at < now() - interval '3 s'", '0', 40),
	'no accepted job stays overdue')
  or diag($node->safe_psql('app', q{
	SELECT id, run_at, channel, procedure, attempts, last_error FROM scheduled_jobs.jobs
	WHERE run_at < now() - interval '3 s' LIMIT 5}));
# (it may be due for less than the 3 s above, and its CALL takes a moment)
ok(sj_poll($node, 'app', "SELECT count(*) FROM sjt.effects WHERE token = 'huge'", '1', 30),
	'the 10 MB payload job ran');
is($node->safe_psql('app', "SELECT to_regclass('sjt.effects') IS NOT NULL"), 't',
	'sjt.effects survived the injection-looking names');
is($node->safe_psql('app', q{SELECT count(DISTINCT token) FROM sjt.effects WHERE token IN ('weird', 'select', 'UPPER')}),
	'3', 'procedures whose names need quoting ran');
is( $node->safe_psql('app', q{
		SELECT string_agg(DISTINCT last_error_data->>'sqlstate', ',') FROM scheduled_jobs.job_history
		WHERE procedure LIKE '%commits' AND state = 'failed'}),
	'2D000', 'a procedure that COMMITs fails with 2D000, recorded');

# The worker still fires.
$node->safe_psql('app', q{
	SELECT scheduled_jobs.schedule_job(now(), channel => 'after', payload => '{"token": "after"}');
	SELECT scheduled_jobs.schedule_job(now(), procedure => 'sjt.record', payload => '{"token": "after"}');});
ok( sj_poll($node, 'app',
		"SELECT count(*) FROM scheduled_jobs.job_history WHERE payload->>'token' = 'after'", '2', 20),
	'after the fuzzing a NOTIFY job and a procedure job fire');
my @worker_errors = grep { /\[\d+\] ERROR:/ } split /\n/, sj_log_since($node);
is(scalar(@worker_errors), 0, 'no worker logged an ERROR')
  or diag(join("\n", @worker_errors[0 .. ($#worker_errors < 9 ? $#worker_errors : 9)]));

$dbh->disconnect;
sj_check_crash_free($node, 'fuzz');
sj_stop($node);
done_testing();
