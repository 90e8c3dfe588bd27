/*
 * recurrence.c
 *		The instants a recurrence rule gives in a time zone: the next one of a
 *		cron expression (parsed in cron.c) or of a fixed interval, and the
 *		time zone of a schedule.  The interface is cron.h.
 *
 * A cron expression describes times of the zone's wall clock; each is
 * mapped to an instant as PostgreSQL maps a timestamp to a timestamptz
 * (DetermineTimeZoneOffset, as timestamp AT TIME ZONE does):
 *	- a wall time in a spring-forward gap fires once, at the instant
 *	  PostgreSQL gives it (02:30 in New York on a day clocks go from 02:00 to
 *	  03:00 is 07:30 UTC, the offset before the gap);
 *	- a wall time in a fall-back fold fires once, at the instant PostgreSQL
 *	  gives it (the pass after the change: 01:30 in New York is 06:30 UTC),
 *	  unless the hour field starts with "*" ("*", or "*" with a step: a
 *	  periodic rule), which fires in both passes, at real elapsed intervals;
 *	- the instants are a set: one given by two wall times fires once, and
 *	  sj_cron_next() returns the smallest one after its argument, so the
 *	  results of repeated calls increase strictly.
 * The search walks the zone's intervals of constant UTC offset (between two
 * transitions); in each, wall time and instant differ by a constant, and
 * the first matching wall time is found field by field (skipping months,
 * days, hours, minutes that cannot match), never minute by minute.
 *
 * Fixed intervals are anchor + k * every as PostgreSQL adds an interval to
 * a timestamptz in the zone: months on the local calendar (clamped to the
 * month's last day), then days on the local wall clock, then the time part
 * as elapsed time; so '1 day' keeps the wall time across a change of
 * offset, '24 hours' keeps elapsed time, and '1 month' from January 31 gives
 * February 28, March 31, April 30.  k is found by a bounded binary search.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "common/int.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "cron.h"

/* Unix time (seconds) of the PostgreSQL epoch, 2000-01-01 00:00 UTC */
#define PG_EPOCH_UNIX_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* sj_cron_next() looks this far ahead (10 years, with leap days) */
#define CRON_HORIZON_SECS ((int64) 3653 * SECS_PER_DAY)

/*
 * The longest a change of UTC offset moves the wall clock (Samoa skipped a
 * day in 2011): the search starts this far before its argument so that the
 * wall times of a gap just before it are seen.
 */
#define MAX_OFFSET_CHANGE_SECS ((int64) 2 * SECS_PER_DAY)

static bool next_wall_match(const SjCron *cron, int64 from, int64 upto,
							int64 *result);
static int64 wall_to_instant(int64 wall, pg_tz *tz);

/* floor(a / b) for b > 0 */
static inline int64
floor_div(int64 a, int64 b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The lowest bit >= from set in mask, or -1 (from may be past max). */
static inline int
next_bit(uint64 mask, int from, int max)
{
	uint64		m;

	if (from > max)
		return -1;
	m = mask & (~UINT64CONST(0) << from);
	return m ? pg_rightmost_one_pos64(m) : -1;
}

/*
 * month_days
 *		The days of month `month` of `year` that the day fields match, as bits
 *		1-31.
 */
static uint32
month_days(const SjCron *cron, int year, int month)
{
	int			ndays = day_tab[isleap(year)][month - 1];
	uint32		valid = (uint32) ((UINT64CONST(2) << ndays) - 2);
	uint32		by_day = cron->days & valid;
	uint32		by_weekday = 0;
	int			first_weekday = j2day(date2j(year, month, 1));

	if (cron->last_day)
		by_day |= UINT32_C(1) << ndays;
	for (int day = 1; day <= 7; day++)
	{
		if (cron->weekdays & (1 << ((first_weekday + day - 1) % 7)))
		{
			for (int d = day; d <= ndays; d += 7)
				by_weekday |= UINT32_C(1) << d;
		}
	}
	/* classic cron: either day field unrestricted, AND; else OR */
	if (cron->days_star || cron->weekdays_star)
		return by_day & by_weekday;
	return by_day | by_weekday;
}

/*
 * next_wall_match
 *		The first wall time >= from and <= upto that the fields match, in
 *		seconds since 1970-01-01 00:00 of the wall clock; false if none.
 *
 * Advances field by field: a month that does not match is skipped whole,
 * then a day, an hour, a minute.  Every step moves forward, and the day
 * checked against upto bounds the loop.
 */
static bool
next_wall_match(const SjCron *cron, int64 from, int64 upto, int64 *result)
{
	int64		day = floor_div(from, SECS_PER_DAY);
	int			sod = (int) (from - day * SECS_PER_DAY);
	int64		last_day = floor_div(upto, SECS_PER_DAY);
	int			year;
	int			month;
	int			mday;
	int			hour = sod / SECS_PER_HOUR;
	int			minute = sod / SECS_PER_MINUTE % MINS_PER_HOUR;
	int			second = sod % SECS_PER_MINUTE;

	j2date((int) (day + UNIX_EPOCH_JDATE), &year, &month, &mday);
	for (;;)
	{
		int			next;

		if (!(cron->months & (1 << month)))
		{
			next = next_bit(cron->months, month + 1, 12);
			if (next < 0)
			{
				year++;
				next = next_bit(cron->months, 1, 12);
			}
			month = next;
			mday = 1;
			hour = minute = second = 0;
			if (date2j(year, month, 1) - UNIX_EPOCH_JDATE > last_day)
				return false;
		}
		next = next_bit(month_days(cron, year, month), mday, 31);
		if (next < 0)
		{
			if (++month > 12)
			{
				month = 1;
				year++;
			}
			mday = 1;
			hour = minute = second = 0;
			if (date2j(year, month, 1) - UNIX_EPOCH_JDATE > last_day)
				return false;
			continue;
		}
		if (next != mday)
		{
			mday = next;
			hour = minute = second = 0;
		}
		day = date2j(year, month, mday) - UNIX_EPOCH_JDATE;
		if (day > last_day)
			return false;

		next = next_bit(cron->hours, hour, 23);
		if (next < 0)
		{
			mday++;
			hour = minute = second = 0;
			continue;
		}
		if (next != hour)
		{
			hour = next;
			minute = second = 0;
		}
		next = next_bit(cron->minutes, minute, 59);
		if (next < 0)
		{
			hour++;
			minute = second = 0;
			continue;
		}
		if (next != minute)
		{
			minute = next;
			second = 0;
		}
		next = next_bit(cron->seconds, second, 59);
		if (next < 0)
		{
			minute++;
			second = 0;
			continue;
		}
		*result = day * SECS_PER_DAY + hour * SECS_PER_HOUR +
			minute * SECS_PER_MINUTE + next;
		return *result <= upto;
	}
}

/*
 * wall_to_instant
 *		The instant (Unix seconds) PostgreSQL gives a wall time of zone tz, as
 *		timestamp AT TIME ZONE does.
 */
static int64
wall_to_instant(int64 wall, pg_tz *tz)
{
	int64		day = floor_div(wall, SECS_PER_DAY);
	int			sod = (int) (wall - day * SECS_PER_DAY);
	struct pg_tm tm;

	memset(&tm, 0, sizeof(tm));
	j2date((int) (day + UNIX_EPOCH_JDATE), &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday);
	tm.tm_hour = sod / SECS_PER_HOUR;
	tm.tm_min = sod / SECS_PER_MINUTE % MINS_PER_HOUR;
	tm.tm_sec = sod % SECS_PER_MINUTE;
	/* seconds west of UTC */
	return wall + DetermineTimeZoneOffset(&tm, tz);
}

/*
 * sj_cron_next
 *		The first instant strictly after `after` that the rule gives in zone
 *		tz; DT_NOEND if none in the next 10 years (or `after` is not finite).
 */
TimestampTz
sj_cron_next(const SjCron *cron, pg_tz *tz, TimestampTz after)
{
	int64		lo;				/* the first candidate, Unix seconds */
	int64		best;			/* the best found, or the horizon */
	int64		horizon;
	TimestampTz result;

	if (TIMESTAMP_NOT_FINITE(after))
		return DT_NOEND;
	lo = floor_div(after, USECS_PER_SEC) + 1 + PG_EPOCH_UNIX_SECS;
	/* stay away from the beginning of the calendar (4714 BC) */
	lo = Max(lo, MIN_TIMESTAMP / USECS_PER_SEC + PG_EPOCH_UNIX_SECS +
			 2 * MAX_OFFSET_CHANGE_SECS);
	horizon = lo + CRON_HORIZON_SECS;

	if (cron->interval_seconds > 0)
	{
		int64		n = cron->interval_seconds;

		best = (floor_div(lo - 1, n) + 1) * n;
	}
	else
	{
		best = horizon;
		/* each interval of constant offset, from before lo */
		for (int64 start = lo - MAX_OFFSET_CHANGE_SECS; start < best;)
		{
			pg_time_t	t = (pg_time_t) start;
			pg_time_t	boundary;
			long		off;
			long		next_off;
			int			isdst;
			int			next_isdst;
			int			rc;
			int64		stop;
			int64		from;
			int64		wall;

			rc = pg_next_dst_boundary(&t, &off, &isdst, &boundary, &next_off,
									  &next_isdst, tz);
			if (rc < 0)
				elog(ERROR, "could not find the UTC offsets of time zone \"%s\"",
					 pg_get_timezone_name(tz));
			stop = rc == 1 ? Min(boundary, best) : best;

			/* the wall times of the interval: instant = wall - off */
			for (from = Max(start, lo); from < stop;)
			{
				int64		instant;

				if (!next_wall_match(cron, from + off, stop - 1 + off, &wall))
					break;
				instant = wall - off;
				if (cron->hours_periodic ||
					wall_to_instant(wall, tz) == instant)
				{
					best = instant;
					break;
				}

				/*
				 * The pass of a fold that PostgreSQL does not give.  If it is
				 * the fold at the interval's end, so is the rest.
				 */
				if (rc == 1 && next_off < off &&
					instant >= boundary - (off - next_off))
					break;
				from = instant + 1;
			}

			if (rc != 1)
				break;

			/* the wall times of a gap at the interval's end */
			if (next_off > off)
			{
				int64		gap_end = boundary + next_off - 1;

				for (from = Max(boundary, lo) + off; from <= gap_end;)
				{
					int64		instant;

					if (!next_wall_match(cron, from, gap_end, &wall))
						break;
					instant = wall_to_instant(wall, tz);
					if (instant >= lo)
					{
						best = Min(best, instant);
						break;
					}
					from = wall + 1;
				}
			}
			start = boundary;
		}
	}

	if (best >= horizon)
		return DT_NOEND;
	result = (best - PG_EPOCH_UNIX_SECS) * USECS_PER_SEC;
	return IS_VALID_TIMESTAMP(result) ? result : DT_NOEND;
}

/*
 * every_at
 *		anchor + k * every in zone tz, as PostgreSQL adds an interval to a
 *		timestamptz: months on the local calendar (the day clamped to the
 *		month's end), then days on the local wall clock, each mapped back to
 *		an instant as timestamp AT TIME ZONE does, then the time part as
 *		elapsed time.  DT_NOEND if it is past the timestamp range.
 */
static TimestampTz
every_at(const Interval *every, pg_tz *tz, TimestampTz anchor, int64 k)
{
	TimestampTz ts = anchor;
	int64		nmonths;
	int64		ndays;
	int64		time;
	struct pg_tm tm;
	fsec_t		fsec;
	int			offset;

	if (pg_mul_s64_overflow(k, every->month, &nmonths) ||
		pg_mul_s64_overflow(k, every->day, &ndays) ||
		pg_mul_s64_overflow(k, every->time, &time))
		return DT_NOEND;

	if (nmonths != 0)
	{
		int64		month0;

		if (timestamp2tm(ts, &offset, &tm, &fsec, NULL, tz) != 0 ||
			nmonths > (int64) 300000 * MONTHS_PER_YEAR)
			return DT_NOEND;
		/* months since year 0, then back */
		month0 = (int64) tm.tm_year * MONTHS_PER_YEAR + tm.tm_mon - 1 + nmonths;
		tm.tm_year = (int) floor_div(month0, MONTHS_PER_YEAR);
		tm.tm_mon = (int) (month0 - (int64) tm.tm_year * MONTHS_PER_YEAR) + 1;
		if (tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1])
			tm.tm_mday = day_tab[isleap(tm.tm_year)][tm.tm_mon - 1];
		if (!IS_VALID_JULIAN(tm.tm_year, tm.tm_mon, tm.tm_mday))
			return DT_NOEND;
		offset = DetermineTimeZoneOffset(&tm, tz);
		if (tm2timestamp(&tm, fsec, &offset, &ts) != 0)
			return DT_NOEND;
	}
	if (ndays != 0)
	{
		int64		julian;

		if (timestamp2tm(ts, &offset, &tm, &fsec, NULL, tz) != 0)
			return DT_NOEND;
		julian = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) + ndays;
		if (julian > TIMESTAMP_END_JULIAN)
			return DT_NOEND;
		j2date((int) julian, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		offset = DetermineTimeZoneOffset(&tm, tz);
		if (tm2timestamp(&tm, fsec, &offset, &ts) != 0)
			return DT_NOEND;
	}
	if (pg_add_s64_overflow(ts, time, &ts) || !IS_VALID_TIMESTAMP(ts))
		return DT_NOEND;
	return ts;
}

/*
 * sj_every_next
 *		The first anchor + k * every (k >= 0) strictly after `after`.
 *
 * anchor + k * every grows with k (every is positive: sj_every_check()), so
 * k is found by binary search, between bounds from the shortest and the
 * longest the interval can be (months of 28 to 31 days, days moved by at
 * most MAX_OFFSET_CHANGE_SECS in all by changes of offset), checked and
 * widened if a zone ever defeats them.
 */
TimestampTz
sj_every_next(const Interval *every, pg_tz *tz, TimestampTz anchor,
			  TimestampTz after)
{
	double		span;
	double		shortest;
	double		longest;
	double		drift;
	int64		k_lo = 0;		/* every_at(k_lo) <= after */
	int64		k_hi;			/* every_at(k_hi) > after */
	const int64 k_max = INT64CONST(1) << 52;

	if (TIMESTAMP_NOT_FINITE(anchor) || TIMESTAMP_IS_NOEND(after))
		return DT_NOEND;
	if (after < anchor)
		return anchor;

	span = (double) after - (double) anchor;
	shortest = every->month * 28.0 * USECS_PER_DAY +
		every->day * (double) USECS_PER_DAY + every->time;
	longest = every->month * 31.0 * USECS_PER_DAY +
		every->day * (double) USECS_PER_DAY + every->time;
	drift = (every->month != 0 || every->day != 0) ?
		(double) MAX_OFFSET_CHANGE_SECS * USECS_PER_SEC : 0.0;
	if (shortest <= 0)
		elog(ERROR, "interval of a schedule is not positive");

	if (span - drift > 0)
	{
		double		k = floor((span - drift) / longest);

		if (k >= 1 && k < k_max && every_at(every, tz, anchor, (int64) k) <= after)
			k_lo = (int64) k;
	}
	k_hi = (int64) Min(ceil((span + drift) / shortest) + 1, (double) k_max);
	k_hi = Max(k_hi, k_lo + 1);
	while (every_at(every, tz, anchor, k_hi) <= after)
	{
		k_lo = k_hi;
		if (k_hi >= k_max)
			return DT_NOEND;
		k_hi = Min(k_hi * 2, k_max);
	}
	while (k_hi - k_lo > 1)
	{
		int64		mid = k_lo + (k_hi - k_lo) / 2;

		if (every_at(every, tz, anchor, mid) <= after)
			k_lo = mid;
		else
			k_hi = mid;
	}
	return every_at(every, tz, anchor, k_hi);
}

/*
 * sj_every_check
 *		ereport(ERROR) unless every is a positive interval: no negative part,
 *		not zero, and not shorter than SJ_EVERY_MIN_USECS if it has neither
 *		months nor days.
 */
void
sj_every_check(const Interval *every)
{
	const char *detail = NULL;

	if (every->month < 0 || every->day < 0 || every->time < 0)
		detail = "The interval has a negative part.";
	else if (every->month == 0 && every->day == 0 && every->time == 0)
		detail = "The interval is zero.";
	else if (every->month == 0 && every->day == 0 &&
			 every->time < SJ_EVERY_MIN_USECS)
		detail = "The interval is shorter than 10 milliseconds.";
	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule interval \"%s\"",
						DatumGetCString(DirectFunctionCall1(interval_out,
															IntervalPGetDatum(every)))),
				 errdetail_internal("%s", detail),
				 errhint("A schedule interval is positive in each of its parts (months, days, time) and at least 10 milliseconds.")));
}

/*
 * sj_zone_lookup
 *		The time zone of a schedule, by name; NULL: the session's TimeZone.
 *
 * pg_tzset() takes IANA names and POSIX specifications.  Bare numeric
 * offsets are refused: PostgreSQL reads '+03:00' as a POSIX specification,
 * three hours *behind* UTC, the opposite of ISO 8601.  Zones with leap
 * seconds are refused as SET TimeZone refuses them.
 */
pg_tz *
sj_zone_lookup(const char *name, char **canonical)
{
	pg_tz	   *tz;

	if (name == NULL)
	{
		*canonical = pstrdup(pg_get_timezone_name(session_timezone));
		return session_timezone;
	}
	if (name[0] == '+' || name[0] == '-' || isdigit((unsigned char) name[0]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown time zone \"%s\"", name),
				 errdetail("A schedule's time zone is a name, not a bare offset."),
				 errhint("For a fixed offset write a POSIX specification such as \"UTC-3\" (three hours ahead of UTC: POSIX signs are reversed), or an IANA name such as \"Etc/GMT-3\".")));
	tz = name[0] != '\0' ? pg_tzset(name) : NULL;
	if (tz == NULL || !pg_tz_acceptable(tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown time zone \"%s\"", name),
				 errhint("Time zones are IANA names such as \"Europe/Berlin\", listed in the view pg_timezone_names, or POSIX specifications such as \"UTC-3\".")));
	*canonical = pstrdup(pg_get_timezone_name(tz));
	return tz;
}
