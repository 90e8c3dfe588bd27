/*
 * cron.h
 *		Recurrence rules: cron expressions and fixed intervals ("every"), and
 *		the time zones they are computed in.
 *
 * Everything here is a pure computation on plain data (no catalog access,
 * no locks), callable in any process; errors are ereport(ERROR) with
 * ERRCODE_INVALID_PARAMETER_VALUE.  The cron syntax is described at the top
 * of cron.c (which parses it), the instants of the rules (daylight saving
 * time, intervals) at the top of recurrence.c (which computes them).
 */
#ifndef SJ_CRON_H
#define SJ_CRON_H

#include "datatype/timestamp.h"
#include "pgtime.h"
#include "utils/timestamp.h"

/* The shortest fixed interval sj_every_check() accepts: 10 ms. */
#define SJ_EVERY_MIN_USECS INT64CONST(10000)

/* The 'N seconds' form takes 1 to 59 seconds. */
#define SJ_CRON_MAX_INTERVAL_SECONDS 59

/*
 * A parsed cron expression: a bit set per field (bit n set: the value n
 * matches), plain data without pointers, copied by value.
 */
typedef struct SjCron
{
	uint64		seconds;		/* bits 0-59; bit 0 alone for 5 fields */
	uint64		minutes;		/* bits 0-59 */
	uint32		hours;			/* bits 0-23 */
	uint32		days;			/* bits 1-31: days of the month */
	uint16		months;			/* bits 1-12 */
	uint8		weekdays;		/* bits 0-6, Sunday 0 (7 is folded into 0) */
	bool		last_day;		/* "$" in the day of month field */
	bool		days_star;		/* the day of month field starts with "*" */
	bool		weekdays_star;	/* the day of week field starts with "*" */
	bool		hours_periodic; /* the hour field starts with "*": it fires in
								 * both passes of a fall-back fold */
	int			interval_seconds;	/* the 'N seconds' form: N (1-59), else 0
									 * and the fields above apply */
} SjCron;

/* Parse a cron expression; ereport(ERROR) with ERRCODE_INVALID_PARAMETER_VALUE (22023) saying what and where. */
extern void sj_cron_parse(const char *text, SjCron *cron);

/* The first instant strictly after `after` that the rule gives in zone tz; DT_NOEND if none in the next 10 years. */
extern TimestampTz sj_cron_next(const SjCron *cron, pg_tz *tz, TimestampTz after);

/*
 * Fixed intervals: the first instant anchor + k*every (k >= 0 an integer;
 * anchor itself counts) strictly after `after`, computed in zone tz as
 * PostgreSQL computes timestamptz + interval in that zone (months, then
 * days on the local wall clock, then the time part as elapsed time); k
 * computed directly, never by iterating from the anchor, so that k can be
 * millions.  DT_NOEND if that instant is past the end of the timestamp
 * range.
 */
extern TimestampTz sj_every_next(const Interval *every, pg_tz *tz, TimestampTz anchor, TimestampTz after);

/*
 * ereport(ERROR, 22023) unless every is positive: no negative part, not all
 * zero, and at least SJ_EVERY_MIN_USECS (10 ms) when it has neither months
 * nor days.
 */
extern void sj_every_check(const Interval *every);

/*
 * A time zone by name for schedules: IANA names (case-insensitive) and
 * POSIX time zone specifications that start with a name ('UTC+3',
 * 'EST5EDT', '<+03>-3'), read as PostgreSQL reads them (POSIX signs:
 * 'UTC+3' is three hours behind UTC).  Bare numeric offsets ('+03:00',
 * '-5'), abbreviations that are not zone names ('PST') and zones with leap
 * seconds are refused: ereport(ERROR, 22023) `unknown time zone "%s"` with
 * a hint.  NULL name: the session's TimeZone.  *canonical gets the name to
 * store (palloc'd).
 */
extern pg_tz *sj_zone_lookup(const char *name, char **canonical);

#endif							/* SJ_CRON_H */
