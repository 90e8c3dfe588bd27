--
-- cron: recurrence rules (src/cron.c) through next_occurrences(), pinned:
-- every form of the cron syntax, daylight saving time in New York, Berlin
-- and Lord Howe Island (a 30-minute shift) compared with PostgreSQL's own
-- timestamp AT TIME ZONE, fixed intervals across changes of offset and
-- month ends, and every invalid input with its SQLSTATE and message.
-- Instants are shown in UTC.
--
\pset null '(null)'
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
CREATE FUNCTION try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN 'ERROR ' || st || ': ' || msg
		|| CASE WHEN det <> '' THEN E'\nDETAIL:  ' || det ELSE '' END
		|| CASE WHEN hnt <> '' THEN E'\nHINT:  ' || hnt ELSE '' END;
END $$;

-- occs(rule, after, n, zone): the occurrences on one line, in the order
-- returned (not sorted: the order is part of what is tested)
CREATE FUNCTION occs(rule text, after timestamptz DEFAULT '2026-01-01 00:00:00+00',
	n integer DEFAULT 4, zone text DEFAULT 'UTC') RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce(string_agg(to_char(t, 'YYYY-MM-DD HH24:MI:SS Dy'), ', ' ORDER BY i), '(none)')
	FROM scheduled_jobs.next_occurrences(rule, zone, after, n) WITH ORDINALITY o(t, i)
$$;

-- occ(rule, zone, after, n): one row per occurrence, with the wall time and
-- the UTC offset of the zone at that instant
CREATE FUNCTION occ(rule text, zone text, after timestamptz, n integer)
RETURNS TABLE (utc timestamptz, wall timestamp, utc_offset interval)
LANGUAGE sql AS $$
	SELECT t, t AT TIME ZONE zone, (t AT TIME ZONE zone) - (t AT TIME ZONE 'UTC')
	FROM scheduled_jobs.next_occurrences(rule, zone, after, n) WITH ORDINALITY o(t, i)
	ORDER BY i
$$;

--
-- The syntax, in UTC, after Thursday 2026-01-01 00:00 (strictly after: not
-- 00:00 itself)
--
SELECT occs('* * * * *');
SELECT occs('*/15 * * * *');
SELECT occs('10-50/10 * * * *', n => 6);
SELECT occs('1,5,7 * * * *');
SELECT occs('0 1-5 * * *', n => 6);
-- a value with a step: from it to the end of the field
SELECT occs('5/20 * * * *');
-- lists of ranges and values
SELECT occs('0,30 9-10,17 * * *', n => 7);
-- month names, any case, in lists and ranges
SELECT occs('0 0 1 jan,JUL *');
SELECT occs('0 0 1 Mar-may *');
-- day names; 0 and 7 are Sunday (2026-01-04 is a Sunday)
SELECT occs('0 12 * * MON-fri');
SELECT occs('0 0 * * sun', n => 2);
SELECT occs('0 0 * * 0', n => 2);
SELECT occs('0 0 * * 7', n => 2);
SELECT occs('0 0 * * 5-7');
SELECT occs('0 0 * * */2', n => 5);
-- the OR rule: day of month and day of week both restricted, either matches
-- (the 13th, or a Friday)
SELECT occs('0 0 13 * 5');
SELECT occs('0 0 13 * fri');
-- one of them "*": the other alone
SELECT occs('0 0 13 * *', n => 2);
SELECT occs('0 0 * * 2', n => 2);
-- a day field starting with "*" counts as unrestricted (Vixie cron,
-- pg_cron): the 1st, 11th, 21st or 31st AND a Friday
SELECT occs('0 0 */10 * 5', n => 2);
-- $: the last day of the month, alone or in a list
SELECT occs('0 0 $ * *');
SELECT occs('0 0 1,$ * *');
SELECT occs('0 0 $ 2 *', after => '2027-03-01 00:00:00+00', n => 2);
-- February 29 occurs, every four years
SELECT occs('0 0 29 2 *', n => 3);
-- the shorthands, any case
SELECT occs('@yearly', n => 2);
SELECT occs('@annually', n => 2);
SELECT occs('@monthly', n => 2);
SELECT occs('@weekly', n => 2);
SELECT occs('@daily', n => 2);
SELECT occs('@midnight', n => 2);
SELECT occs('@hourly', n => 2);
SELECT occs('  @Daily  ', n => 2);
-- six fields: seconds first
SELECT occs('*/20 * * * * *');
SELECT occs('30 0 12 * * *', n => 2);
SELECT occs('0 0 0 1 1 *', n => 2);
SELECT occs('15,45 */30 * * * *', n => 5);
-- 'N seconds': instants whose Unix time is a multiple of N, in any zone
-- (2026-01-01 00:00 UTC is 1767225600, a multiple of 7)
SELECT occs('30 seconds', after => '2026-01-01 00:00:10+00', n => 3);
SELECT occs('7 seconds', after => '2026-01-01 00:00:50+00', n => 3);
SELECT occs('7 seconds', after => '2026-01-01 00:00:50+00', n => 3, zone => 'Asia/Kolkata');
SELECT occs('1 second', after => '2026-01-01 00:00:00.5+00', n => 2);
SELECT occs(' 59  SECONDS ', after => '2026-01-01 00:00:00+00', n => 1);
-- strictly after, to the microsecond
SELECT occs('*/15 * * * *', after => '2026-01-01 00:14:59.999999+00', n => 1);
SELECT occs('*/15 * * * *', after => '2026-01-01 00:15:00+00', n => 1);
-- whitespace between fields: any amount, tabs too
SELECT occs(E' 0\t0   1 1 * ', n => 1);
-- never in the 10 years after: February 29 that is a Sunday, 2032 then
-- 2060 (the set ends early)
SELECT occs('0 0 29 2 */7', n => 2);

--
-- next_occurrences() itself
--
-- an unknown literal is a cron expression (the text version), with the
-- default time zone (the session's), after (now()) and n (10)
SELECT count(*) AS ten FROM scheduled_jobs.next_occurrences('*/5 * * * *');
SELECT try($$SELECT scheduled_jobs.next_occurrences('1 hour')$$);
SELECT count(*) AS ten FROM scheduled_jobs.next_occurrences(interval '1 hour');
-- n = 0: nothing; the most, 100000
SELECT count(*) AS zero FROM scheduled_jobs.next_occurrences('* * * * *', n => 0);
SELECT count(*) AS all_of_them, count(DISTINCT t) AS distinct_ones
FROM scheduled_jobs.next_occurrences('* * * * *', n => 100000) t;
-- time_zone NULL: the session's TimeZone
SET TimeZone = 'Asia/Tokyo';
SELECT t AT TIME ZONE 'UTC' AS utc
FROM scheduled_jobs.next_occurrences('0 9 * * *', NULL, '2026-01-01 00:00:00+00', 2) t;
SET TimeZone = 'UTC';
-- zone names: any case; POSIX specifications with POSIX signs (UTC-3 is
-- three hours ahead of UTC, as timestamp AT TIME ZONE 'UTC-3' reads it)
SELECT occs('0 9 * * *', n => 1, zone => 'america/NEW_YORK');
SELECT occs('0 9 * * *', n => 1, zone => 'UTC-3');
SELECT occs('0 9 * * *', n => 1, zone => 'UTC-3') = to_char(timestamp '2026-01-01 09:00' AT TIME ZONE 'UTC-3', 'YYYY-MM-DD HH24:MI:SS Dy') AS as_postgresql;
SELECT occs('0 9 * * *', n => 1, zone => 'EST5EDT');
-- invalid zones
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', 'Mars/Olympus_Mons')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', '')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', 'PST')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', '+03:00')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', '-5')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '1 day', 'Nowhere')$$);
-- invalid arguments
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', n => -1)$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', n => 100001)$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', n => NULL)$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', after => NULL)$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', after => 'infinity')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * *', after => '-infinity')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '1 day', n => 100001)$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '1 day', start => 'infinity')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(NULL::interval)$$);
-- executable by everyone
SELECT p.oid::regprocedure AS function, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
	provolatile AS volatility, proparallel AS parallel, proisstrict AS strict
FROM pg_proc p WHERE p.proname = 'next_occurrences' AND p.pronamespace = 'scheduled_jobs'::regnamespace
ORDER BY 1::text;

--
-- Invalid cron expressions: SQLSTATE 22023, which field and what is wrong
--
SELECT try($$SELECT scheduled_jobs.next_occurrences(NULL::text)$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('   ')$$);
-- wrong number of fields
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('* * * * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('*')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('30 minutes')$$);
-- out of range, each field
SELECT try($$SELECT scheduled_jobs.next_occurrences('60 * * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('60 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 24 * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 32 * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 0 * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * 13 *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * 0 *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * * 8')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0-99 * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('99999999999 * * * *')$$);
-- not numbers, unknown names
SELECT try($$SELECT scheduled_jobs.next_occurrences('x * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('mon * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('1-x * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * foo *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * january *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * * funday')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * * 1.5')$$);
-- ranges reversed
SELECT try($$SELECT scheduled_jobs.next_occurrences('5-3 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 22-2 * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 * * fri-mon')$$);
-- ... but a range of weekdays may end on Sunday, as 0 or sun: to 7
SELECT occs('0 0 * * mon-sun', n => 7);
SELECT occs('0 0 * * 6-0', n => 3);
SELECT occs('0 0 * * 0-0', n => 2);
-- steps: zero, not a number, too big
SELECT try($$SELECT scheduled_jobs.next_occurrences('*/0 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('*/x * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('*/ * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('5/ * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('*/61 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 */25 * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('*/5/2 * * * *')$$);
-- a step as large as the field: its first value only
SELECT occs('*/60 * * * *', n => 2);
-- other syntax errors
SELECT try($$SELECT scheduled_jobs.next_occurrences('1,,2 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('1, * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('1-2-3 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('-5 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('*-5 * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('$ * * * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 $-3 * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 L * *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 ? * *')$$);
-- unknown shorthands, or with more after them
SELECT try($$SELECT scheduled_jobs.next_occurrences('@reboot')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('@fortnightly')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('@daily 0')$$);
-- 'N seconds' out of range
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 seconds')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('60 seconds')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('90 seconds')$$);
-- dates that never occur: February 30, the 31st of 30-day months
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 30 2 *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 30,31 feb *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 31 4,6 *')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences('0 0 0 31 apr,jun,sep,nov *')$$);
-- ... but they do with $, in a month that has them, or by the OR rule
-- (February 30, or a Monday of February)
SELECT occs('0 0 31,$ 4 *', n => 2);
SELECT occs('0 0 31 4,5 *', n => 2);
SELECT occs('0 0 30 2 1', n => 2);

--
-- Daylight saving time.  America/New_York: 2026-03-08 02:00 EST -> 03:00
-- EDT (07:00 UTC), 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).
--
-- a fixed time in the gap fires once, where PostgreSQL puts that wall time
SELECT * FROM occ('30 2 * * *', 'America/New_York', '2026-03-07 00:00+00', 3);
SELECT t = timestamp '2026-03-08 02:30' AT TIME ZONE 'America/New_York' AS as_postgresql
FROM scheduled_jobs.next_occurrences('30 2 * * *', 'America/New_York', '2026-03-08 00:00+00', 1) t;
-- two wall times, one in the gap and one after it, giving the same instant:
-- once (02:00 and 03:00 are both 07:00 UTC, 02:30 and 03:30 both 07:30)
SELECT * FROM occ('0,30 2,3 * * *', 'America/New_York', '2026-03-08 05:00+00', 3);
-- periodic: on the elapsed clock through the gap, nothing twice
SELECT * FROM occ('*/15 * * * *', 'America/New_York', '2026-03-08 06:30+00', 6);
SELECT * FROM occ('0 * * * *', 'America/New_York', '2026-03-08 05:30+00', 4);
-- a fixed time in the fold fires once, in the pass PostgreSQL gives (EST)
SELECT * FROM occ('30 1 * * *', 'America/New_York', '2026-10-31 00:00+00', 3);
SELECT t = timestamp '2026-11-01 01:30' AT TIME ZONE 'America/New_York' AS as_postgresql
FROM scheduled_jobs.next_occurrences('30 1 * * *', 'America/New_York', '2026-11-01 00:00+00', 1) t;
SELECT * FROM occ('*/30 1 * * *', 'America/New_York', '2026-11-01 04:00+00', 3);
-- every minute of hour 1, fixed: the EDT pass is skipped, from 00:59 EDT
-- the next is 01:00 EST; after 01:59 EST, the next day
SELECT * FROM occ('* 1 * * *', 'America/New_York', '2026-11-01 04:58+00', 3);
SELECT * FROM occ('* 1 * * *', 'America/New_York', '2026-11-01 06:59+00', 1);
-- six fields, fixed, in the fold
SELECT * FROM occ('0 0 1 1 11 *', 'America/New_York', '2026-10-01 00:00+00', 1);
-- periodic: both passes of the fold, 15 minutes apart in real time
SELECT * FROM occ('*/15 * * * *', 'America/New_York', '2026-11-01 04:50+00', 12);
SELECT * FROM occ('0 * * * *', 'America/New_York', '2026-11-01 04:30+00', 4);

--
-- Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC), 2026-10-25
-- 03:00 CEST -> 02:00 CET (01:00 UTC)
--
SELECT * FROM occ('30 2 * * *', 'Europe/Berlin', '2026-03-28 00:00+00', 3);
SELECT t = timestamp '2026-03-29 02:30' AT TIME ZONE 'Europe/Berlin' AS as_postgresql
FROM scheduled_jobs.next_occurrences('30 2 * * *', 'Europe/Berlin', '2026-03-29 00:00+00', 1) t;
SELECT * FROM occ('*/30 * * * *', 'Europe/Berlin', '2026-03-29 00:00+00', 4);
SELECT * FROM occ('30 2 * * *', 'Europe/Berlin', '2026-10-24 00:00+00', 3);
SELECT t = timestamp '2026-10-25 02:30' AT TIME ZONE 'Europe/Berlin' AS as_postgresql
FROM scheduled_jobs.next_occurrences('30 2 * * *', 'Europe/Berlin', '2026-10-25 00:00+00', 1) t;
SELECT * FROM occ('*/30 * * * *', 'Europe/Berlin', '2026-10-24 23:40+00', 6);

--
-- Australia/Lord_Howe, a 30-minute shift: 2026-04-05 02:00 +11 -> 01:30
-- +10:30 (15:00 UTC on the 4th), 2026-10-04 02:00 +10:30 -> 02:30 +11
-- (15:30 UTC on the 3rd)
--
SELECT * FROM occ('45 1 * * *', 'Australia/Lord_Howe', '2026-04-03 12:00+00', 3);
SELECT t = timestamp '2026-04-05 01:45' AT TIME ZONE 'Australia/Lord_Howe' AS as_postgresql
FROM scheduled_jobs.next_occurrences('45 1 * * *', 'Australia/Lord_Howe', '2026-04-04 12:00+00', 1) t;
SELECT * FROM occ('*/15 * * * *', 'Australia/Lord_Howe', '2026-04-04 14:20+00', 6);
-- hourly at :00 across the fold: 01:00 is before the fold, 02:00 after it
SELECT * FROM occ('0 * * * *', 'Australia/Lord_Howe', '2026-04-04 13:30+00', 4);
SELECT * FROM occ('15 2 * * *', 'Australia/Lord_Howe', '2026-10-02 12:00+00', 3);
SELECT t = timestamp '2026-10-04 02:15' AT TIME ZONE 'Australia/Lord_Howe' AS as_postgresql
FROM scheduled_jobs.next_occurrences('15 2 * * *', 'Australia/Lord_Howe', '2026-10-03 12:00+00', 1) t;
SELECT * FROM occ('*/15 * * * *', 'Australia/Lord_Howe', '2026-10-03 15:00+00', 4);
-- hourly at :00 across the gap: 02:00 (in the gap) is where PostgreSQL puts
-- it, 15:30 UTC, half an hour before 03:00
SELECT * FROM occ('0 * * * *', 'Australia/Lord_Howe', '2026-10-03 14:00+00', 4);

--
-- A whole year in each zone, against PostgreSQL's own mapping
--
-- periodic, every 15 minutes: every quarter hour of elapsed time, no
-- more, no less (2026 in New York is 365 days of elapsed time: it begins
-- and ends in EST)
SELECT z AS zone, count(*) AS occurrences, min(d) AS min_gap, max(d) AS max_gap
FROM unnest(ARRAY['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) z,
	LATERAL (SELECT t - lag(t) OVER (ORDER BY i) AS d
		FROM scheduled_jobs.next_occurrences('*/15 * * * *', z,
			timestamp '2026-01-01 00:00' AT TIME ZONE z, 35040) WITH ORDINALITY o(t, i)) g
GROUP BY z ORDER BY z;
SELECT z AS zone, max(t) = timestamp '2027-01-01 00:00' AT TIME ZONE z AS ends_a_year_later
FROM unnest(ARRAY['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) z,
	LATERAL scheduled_jobs.next_occurrences('*/15 * * * *', z,
		timestamp '2026-01-01 00:00' AT TIME ZONE z, 35040) t
GROUP BY z ORDER BY z;
-- fixed, at 01:00-03:30 every half hour (both changes of each zone fall in
-- those hours): the distinct instants PostgreSQL gives those wall times, in
-- order
SELECT z AS zone,
	(SELECT array_agg(t ORDER BY i) FROM scheduled_jobs.next_occurrences('0,30 1-3 * * *', z,
		timestamp '2026-01-01 00:00' AT TIME ZONE z, 100000) WITH ORDINALITY o(t, i)
	 WHERE t < timestamp '2027-01-01 00:00' AT TIME ZONE z)
	= (SELECT array_agg(DISTINCT w AT TIME ZONE z ORDER BY w AT TIME ZONE z)
		FROM generate_series(timestamp '2026-01-01 00:00', timestamp '2026-12-31 23:59', interval '30 minutes') w
		WHERE extract(hour FROM w) BETWEEN 1 AND 3) AS as_postgresql
FROM unnest(ARRAY['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) z
ORDER BY z;
-- strictly increasing, over years of a busy rule and of a sparse one
SELECT count(*) AS occurrences, bool_and(d > interval '0') AS increasing
FROM (SELECT t - lag(t) OVER (ORDER BY i) AS d
	FROM scheduled_jobs.next_occurrences('*/7 */3 * * *', 'Australia/Lord_Howe',
		'2026-01-01 00:00+00', 100000) WITH ORDINALITY o(t, i)) g;
SELECT count(*) AS occurrences, bool_and(d > interval '0') AS increasing
FROM (SELECT t - lag(t) OVER (ORDER BY i) AS d
	FROM scheduled_jobs.next_occurrences('0,30 1-3 * * *', 'America/New_York',
		'2026-01-01 00:00+00', 100000) WITH ORDINALITY o(t, i)) g;

--
-- Fixed intervals: anchor + k * every, the anchor counted, as PostgreSQL
-- adds an interval to a timestamptz in the zone
--
-- '1 day' keeps the wall time (12:00) across the changes, '24 hours' the
-- elapsed time
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 day', 'America/New_York',
	'2026-03-07 00:00+00', 3, start => '2026-03-07 17:00+00');
SELECT * FROM scheduled_jobs.next_occurrences(interval '24 hours', 'America/New_York',
	'2026-03-07 00:00+00', 3, start => '2026-03-07 17:00+00');
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 day', 'America/New_York',
	'2026-10-31 00:00+00', 3, start => '2026-10-31 16:00+00');
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 day', 'Australia/Lord_Howe',
	'2026-10-02 00:00+00', 3, start => '2026-10-02 15:45+00');
-- days, then the time part as elapsed time
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 day 12 hours', 'America/New_York',
	'2026-03-07 00:00+00', 3, start => '2026-03-07 05:00+00');
-- '1 month' from January 31: the month's last day when it is shorter
-- (anchor + k months, not month after month: March 31, not March 28)
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 month', 'America/New_York',
	'2026-01-01 00:00+00', 5, start => '2026-01-31 14:00+00');
-- start NULL: the anchor is "after", so the first is after + every
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 hour', 'UTC', '2026-01-01 00:00:30+00', 2);
-- a start after "after": the start itself first
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 hour', 'UTC', '2026-01-01 00:00+00', 2,
	start => '2026-01-01 05:00+00');
-- a start long before: k computed, not counted (k = 312 months; over a
-- million hours; billions of 10 ms)
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 month', 'America/New_York',
	'2026-01-01 00:00+00', 2, start => '2000-01-31 05:00+00');
SELECT * FROM scheduled_jobs.next_occurrences(interval '1 hour', 'UTC',
	'2026-06-15 12:34:56+00', 2, start => '1900-01-01 00:00+00');
SELECT * FROM scheduled_jobs.next_occurrences(interval '10 ms', 'UTC',
	'2026-06-15 12:34:56.785+00', 2, start => '2000-01-01 00:00+00');
-- the smallest interval
SELECT * FROM scheduled_jobs.next_occurrences(interval '10 ms', 'UTC',
	'2026-01-01 00:00+00', 2, start => '2026-01-01 00:00+00');
-- against start + every * k in the zone (SET TimeZone), over years and
-- across every change of offset: the same instants
CREATE FUNCTION every_as_postgresql(every interval, zone text, start timestamptz, n integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	ours timestamptz[];
	theirs timestamptz[];
BEGIN
	SELECT array_agg(t ORDER BY i) INTO ours
	FROM scheduled_jobs.next_occurrences(every, zone, start - interval '1 microsecond', n, start)
		WITH ORDINALITY o(t, i);
	PERFORM set_config('TimeZone', zone, true);
	SELECT array_agg(start + every * k ORDER BY k) INTO theirs FROM generate_series(0, n - 1) k;
	PERFORM set_config('TimeZone', 'UTC', true);
	RETURN ours = theirs;
END $$;
SELECT e AS every, z AS zone, every_as_postgresql(e, z, '2025-01-31 06:30+00', 800) AS as_postgresql
FROM unnest(ARRAY[interval '1 day', interval '1 month', interval '1 day 1 hour',
		interval '1 mon 2 days 03:04:05', interval '7 days', interval '90 minutes', interval '1 year']) e,
	unnest(ARRAY['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) z
ORDER BY 1, 2;
-- invalid intervals
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '0')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '-1 hour')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '1 day -1 hour')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '1 month -1 day')$$);
SELECT try($$SELECT scheduled_jobs.next_occurrences(interval '9 ms')$$);
-- ... 9 ms beside a day is fine: the minimum is for intervals of time alone
SELECT count(*) AS two FROM scheduled_jobs.next_occurrences(interval '1 day 9 ms', n => 2);

DROP FUNCTION every_as_postgresql(interval, text, timestamptz, integer);
DROP FUNCTION occ(text, text, timestamptz, integer);
DROP FUNCTION occs(text, timestamptz, integer, text);
DROP FUNCTION try(text);
