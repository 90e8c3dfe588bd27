/*
 * cron.c
 *		Recurrence rules: parsing cron expressions, the next instant of a cron
 *		expression or of a fixed interval in a time zone, and looking up the
 *		time zone.
 *
 * Cron expressions are those of pg_cron (and Vixie cron): five fields,
 * minute hour day-of-month month day-of-week, or six with seconds first.
 * A field is a list of elements: "*", a value, a range "1-5", each with an
 * optional step ("*" + "/15", "10-50/10"); a value with a step, "5/15",
 * means the range from it to the field's end.  Months and days of the week
 * also take names (jan-dec, sun-sat, any case), 7 is Sunday as 0 is (a
 * range ending on Sunday, "mon-sun" or "5-0", ends on 7), and
 * "$" in the day of month field is the last day of the month.  When both day
 * fields are restricted a day matches if either does (classic cron's OR
 * rule); a day field counts as unrestricted when it starts with "*", as in
 * Vixie cron and pg_cron, so every other day ("*" with step 2) is ANDed with
 * the day of the week.  @yearly (@annually), @monthly, @weekly, @daily (@midnight)
 * and @hourly stand for their five fields.  'N seconds' (1 to 59, pg_cron's
 * form) is every instant whose Unix time in seconds is a multiple of N: it
 * does not depend on the time zone, and N seconds apart except across a
 * full minute when N does not divide 60.
 *
 * Time zones: a cron expression describes times of the zone's wall clock;
 * each is mapped to an instant as PostgreSQL maps a timestamp to a
 * timestamptz (DetermineTimeZoneOffset, as timestamp AT TIME ZONE does):
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

/* The fields, in the order of a six-field expression. */
typedef enum CronFieldKind
{
	CRON_SECOND,
	CRON_MINUTE,
	CRON_HOUR,
	CRON_DAY,
	CRON_MONTH,
	CRON_WEEKDAY,
	CRON_NFIELDS
} CronFieldKind;

typedef struct CronFieldSpec
{
	const char *name;
	int			min;
	int			max;
	const char *const *names;	/* names of min, min + 1, ..., or NULL */
} CronFieldSpec;

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const weekday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const CronFieldSpec cron_fields[CRON_NFIELDS] = {
	{"seconds", 0, 59, NULL},
	{"minute", 0, 59, NULL},
	{"hour", 0, 23, NULL},
	{"day of month", 1, 31, NULL},
	{"month", 1, 12, month_names},
	{"day of week", 0, 7, weekday_names},
};

/* The shorthands and the five fields they stand for. */
static const struct
{
	const char *name;
	const char *fields;
}			cron_shorthands[] = {
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* The errmsg of every invalid expression, and its errcode. */
#define CRON_INVALID(text) \
	errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
	errmsg("invalid cron expression \"%s\"", (text))

#define CRON_HINT_FORM \
	errhint("A cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), as in \"*/15 * * * *\"; or it is a shorthand such as \"@daily\", or \"N seconds\".")

/* Where the parser is: the expression, and the field it reads. */
typedef struct CronParser
{
	const char *text;			/* the whole expression, for messages */
	int			position;		/* 1-based position of the field */
	const CronFieldSpec *field;
} CronParser;

static bool parse_interval_form(const char *text, SjCron *cron);
static uint64 parse_field(CronParser *p, const char *token, bool *last_day);
static int	parse_value(CronParser *p, const char **s, const char *element);
static void check_dates_occur(const char *text, const SjCron *cron,
							  int day_position);
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
 * sj_cron_parse
 *		Parse a cron expression into *cron; ereport(ERROR) if it is invalid.
 */
void
sj_cron_parse(const char *text, SjCron *cron)
{
	char	   *copy;
	char	   *tokens[CRON_NFIELDS + 1];
	const char *fields_text = text;
	const char *lead;
	int			ntokens = 0;
	int			first;
	char	   *s;

	memset(cron, 0, sizeof(*cron));
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cron expression must not be null")));

	if (parse_interval_form(text, cron))
		return;

	/* a shorthand stands for five fields */
	lead = &text[strspn(text, " \t\n\r\f\v")];
	if (*lead == '@')
	{
		int			len = strcspn(lead, " \t\n\r\f\v");
		bool		alone = lead[len + strspn(lead + len, " \t\n\r\f\v")] == '\0';

		for (int i = 0; i < (int) lengthof(cron_shorthands); i++)
		{
			if ((int) strlen(cron_shorthands[i].name) == len &&
				pg_strncasecmp(lead, cron_shorthands[i].name, len) == 0)
				fields_text = cron_shorthands[i].fields;
		}
		if (fields_text == text)
			ereport(ERROR,
					(CRON_INVALID(text),
					 errdetail("\"%.*s\" is not a shorthand; the shorthands are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly.",
							   len, lead)));
		if (!alone)
			ereport(ERROR,
					(CRON_INVALID(text),
					 errdetail("The shorthand \"%.*s\" takes no fields after it.",
							   len, lead)));
	}

	/* split into fields */
	copy = pstrdup(fields_text);
	for (s = strtok(copy, " \t\n\r\f\v"); s != NULL;
		 s = strtok(NULL, " \t\n\r\f\v"))
	{
		if (ntokens <= CRON_NFIELDS)
			tokens[ntokens] = s;
		ntokens++;
	}
	if (ntokens == 0)
		ereport(ERROR,
				(CRON_INVALID(text),
				 errdetail("The expression is empty."),
				 CRON_HINT_FORM));
	if (ntokens != CRON_NFIELDS - 1 && ntokens != CRON_NFIELDS)
		ereport(ERROR,
				(CRON_INVALID(text),
				 errdetail_plural("The expression has %d field; a cron expression has 5 or 6.",
								  "The expression has %d fields; a cron expression has 5 or 6.",
								  ntokens, ntokens),
				 CRON_HINT_FORM));

	/* five fields: seconds 0 only */
	first = ntokens == CRON_NFIELDS ? CRON_SECOND : CRON_MINUTE;
	cron->seconds = UINT64CONST(1);
	for (int kind = first; kind < CRON_NFIELDS; kind++)
	{
		CronParser	p;
		const char *token = tokens[kind - first];
		bool		last_day = false;
		uint64		mask;

		p.position = kind - first + 1;
		p.field = &cron_fields[kind];
		p.text = text;

		mask = parse_field(&p, token, &last_day);

		switch ((CronFieldKind) kind)
		{
			case CRON_SECOND:
				cron->seconds = mask;
				break;
			case CRON_MINUTE:
				cron->minutes = mask;
				break;
			case CRON_HOUR:
				cron->hours = (uint32) mask;
				cron->hours_periodic = token[0] == '*';
				break;
			case CRON_DAY:
				cron->days = (uint32) mask;
				cron->last_day = last_day;
				cron->days_star = token[0] == '*';
				break;
			case CRON_MONTH:
				cron->months = (uint16) mask;
				break;
			case CRON_WEEKDAY:
				/* 7 is Sunday too */
				cron->weekdays = (uint8) ((mask | (mask >> 7)) & 0x7F);
				cron->weekdays_star = token[0] == '*';
				break;
			case CRON_NFIELDS:
				break;
		}
	}
	pfree(copy);

	check_dates_occur(text, cron, CRON_DAY - first + 1);
}

/*
 * parse_interval_form
 *		The 'N seconds' form: true and *cron set if text has it, false if it
 *		is not of that form; ereport(ERROR) if N is out of range.
 */
static bool
parse_interval_form(const char *text, SjCron *cron)
{
	const char *s = text;
	const char *digits;
	int			ndigits;
	int			n = 0;

	while (isspace((unsigned char) *s))
		s++;
	digits = s;
	while (isdigit((unsigned char) *s))
		s++;
	ndigits = s - digits;
	if (ndigits == 0 || !isspace((unsigned char) *s))
		return false;
	while (isspace((unsigned char) *s))
		s++;
	if (pg_strncasecmp(s, "second", 6) != 0)
		return false;
	s += 6;
	if (*s == 's' || *s == 'S')
		s++;
	while (isspace((unsigned char) *s))
		s++;
	if (*s != '\0')
		return false;

	for (int i = 0; i < ndigits && n <= SJ_CRON_MAX_INTERVAL_SECONDS; i++)
		n = n * 10 + (digits[i] - '0');
	if (n < 1 || n > SJ_CRON_MAX_INTERVAL_SECONDS)
		ereport(ERROR,
				(CRON_INVALID(text),
				 errdetail("An interval in seconds is 1 to %d seconds, not %.*s.",
						   SJ_CRON_MAX_INTERVAL_SECONDS, ndigits, digits),
				 errhint("For a minute or more, write a cron expression such as \"*/2 * * * *\".")));
	cron->interval_seconds = n;
	return true;
}

/*
 * parse_field
 *		One field: the bit set of the values it lists.  *last_day is set if
 *		it lists "$" (allowed in the day of month field only).
 */
static uint64
parse_field(CronParser *p, const char *token, bool *last_day)
{
	const CronFieldSpec *f = p->field;
	uint64		mask = 0;
	char	   *copy = pstrdup(token);
	char	   *element = copy;

	for (;;)
	{
		char	   *comma = strchr(element, ',');
		const char *s = element;
		int			low;
		int			high;
		int			step = 1;

		if (comma)
			*comma = '\0';
		if (*element == '\0')
			ereport(ERROR,
					(CRON_INVALID(p->text),
					 errdetail("Field %d (%s): \"%s\" has an empty list element.",
							   p->position, f->name, token)));

		if (strcmp(element, "$") == 0)
		{
			if (f != &cron_fields[CRON_DAY])
				ereport(ERROR,
						(CRON_INVALID(p->text),
						 errdetail("Field %d (%s): \"$\" (the last day of the month) is allowed only in the day of month field.",
								   p->position, f->name)));
			*last_day = true;
			goto next;
		}

		if (*s == '*')
		{
			s++;
			low = f->min;
			high = f->max;
		}
		else
		{
			low = high = parse_value(p, &s, element);
			if (*s == '-')
			{
				s++;
				high = parse_value(p, &s, element);
				/* a range of weekdays may end on Sunday: mon-sun is 1-7 */
				if (f == &cron_fields[CRON_WEEKDAY] && high == 0 && low > 0)
					high = 7;
				if (high < low)
					ereport(ERROR,
							(CRON_INVALID(p->text),
							 errdetail("Field %d (%s): the range \"%s\" is reversed.",
									   p->position, f->name, element),
							 errhint("A range goes from low to high; a range across the end of the field is two ranges, such as \"22-23,0-2\".")));
			}
			else if (*s == '/')
				high = f->max;
		}
		if (*s == '/')
		{
			const char *digits = ++s;

			while (isdigit((unsigned char) *s))
				s++;
			if (s == digits || *s != '\0')
				ereport(ERROR,
						(CRON_INVALID(p->text),
						 errdetail("Field %d (%s): the step in \"%s\" is not a number.",
								   p->position, f->name, element)));
			step = 0;
			for (const char *d = digits; d < s && step <= f->max + 1; d++)
				step = step * 10 + (*d - '0');
			if (step < 1 || step > f->max - f->min + 1)
				ereport(ERROR,
						(CRON_INVALID(p->text),
						 errdetail("Field %d (%s): the step %s is out of range 1-%d.",
								   p->position, f->name, digits,
								   f->max - f->min + 1)));
		}
		if (*s != '\0')
			ereport(ERROR,
					(CRON_INVALID(p->text),
					 errdetail("Field %d (%s): \"%s\" is not a value, a range or a step.",
							   p->position, f->name, element)));

		for (int v = low; v <= high; v += step)
			mask |= UINT64CONST(1) << v;

next:
		if (comma == NULL)
			break;
		element = comma + 1;
	}
	pfree(copy);
	return mask;
}

/*
 * parse_value
 *		A number or a name at *s, in the field's range; *s is moved past it.
 */
static int
parse_value(CronParser *p, const char **s, const char *element)
{
	const CronFieldSpec *f = p->field;
	const char *start = *s;
	int			len;

	if (isdigit((unsigned char) **s))
	{
		int			v = 0;

		while (isdigit((unsigned char) **s))
		{
			if (v <= f->max)
				v = v * 10 + (**s - '0');
			(*s)++;
		}
		if (v < f->min || v > f->max)
			ereport(ERROR,
					(CRON_INVALID(p->text),
					 errdetail("Field %d (%s): %.*s is out of range %d-%d.",
							   p->position, f->name, (int) (*s - start),
							   start, f->min, f->max)));
		return v;
	}

	while (isalpha((unsigned char) **s))
		(*s)++;
	len = *s - start;
	if (len > 0 && f->names != NULL)
	{
		for (int i = 0; f->names[i] != NULL; i++)
		{
			if (len == (int) strlen(f->names[i]) &&
				pg_strncasecmp(start, f->names[i], len) == 0)
				return f->min + i;
		}
		ereport(ERROR,
				(CRON_INVALID(p->text),
				 errdetail("Field %d (%s): \"%.*s\" is not a %s name.",
						   p->position, f->name, len, start, f->name),
				 f->names == month_names ?
				 errhint("Months are 1-12 or jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec.") :
				 errhint("Days of the week are 0-7 (0 and 7 are Sunday) or sun, mon, tue, wed, thu, fri, sat.")));
	}
	if (len > 0)
		ereport(ERROR,
				(CRON_INVALID(p->text),
				 errdetail("Field %d (%s): \"%.*s\" is not a number.",
						   p->position, f->name, len, start)));
	ereport(ERROR,
			(CRON_INVALID(p->text),
			 errdetail("Field %d (%s): \"%s\" is not a value, a range or a step.",
					   p->position, f->name, element)));
	return 0;					/* keep the compiler quiet */
}

/*
 * check_dates_occur
 *		ereport(ERROR) if no day of a month listed ever occurs: the days of
 *		the month are ANDed with the months (the day of week field is "*"),
 *		and none of them is in any of the months ("0 0 30 2 *").  February 29
 *		occurs.
 */
static void
check_dates_occur(const char *text, const SjCron *cron, int day_position)
{
	if (cron->last_day || cron->days_star ||
		(!cron->weekdays_star && cron->weekdays != 0))
		return;
	for (int month = 1; month <= 12; month++)
	{
		uint32		days_in_month = ((UINT64CONST(2) << day_tab[1][month - 1]) - 2);

		if ((cron->months & (1 << month)) && (cron->days & days_in_month))
			return;
	}
	ereport(ERROR,
			(CRON_INVALID(text),
			 errdetail("Fields %d (day of month) and %d (month): none of the months has any of the days, so the expression never occurs.",
					   day_position, day_position + 1),
			 errhint("February has 29 days in leap years; April, June, September and November have 30.")));
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
	int64		start;
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
		for (start = lo - MAX_OFFSET_CHANGE_SECS; start < best;)
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
	int64		months;
	int64		days;
	int64		time;
	struct pg_tm tm;
	fsec_t		fsec;
	int			offset;

	if (pg_mul_s64_overflow(k, every->month, &months) ||
		pg_mul_s64_overflow(k, every->day, &days) ||
		pg_mul_s64_overflow(k, every->time, &time))
		return DT_NOEND;

	if (months != 0)
	{
		int64		month0;

		if (timestamp2tm(ts, &offset, &tm, &fsec, NULL, tz) != 0 ||
			months > (int64) 300000 * MONTHS_PER_YEAR)
			return DT_NOEND;
		/* months since year 0, then back */
		month0 = (int64) tm.tm_year * MONTHS_PER_YEAR + tm.tm_mon - 1 + months;
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
	if (days != 0)
	{
		int64		julian;

		if (timestamp2tm(ts, &offset, &tm, &fsec, NULL, tz) != 0)
			return DT_NOEND;
		julian = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) + days;
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
