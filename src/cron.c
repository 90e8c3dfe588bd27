/*
 * cron.c
 *		Cron expressions: parsing them into an SjCron (the instants they give
 *		are computed in recurrence.c).
 *
 * Cron expressions are those of pg_cron (and Vixie cron): five fields,
 * minute hour day-of-month month day-of-week, or six with seconds first.
 * A field is a list of elements: "*", a value, a range "1-5", each with an
 * optional step ("*" + "/15", "10-50/10"); a value with a step, "5/15",
 * means the range from it to the field's end.  Months and days of the week
 * also take names (jan-dec, sun-sat, any case), 7 is Sunday as 0 is (a
 * range ending on Sunday, "mon-sun" or "5-0", ends on 7), and "$" in the day
 * of month field is the last day of the month.  When both day fields are
 * restricted a day matches if either does (classic cron's OR rule); a day
 * field counts as unrestricted when it starts with "*", as in Vixie cron and
 * pg_cron, so every other day ("*" with step 2) is ANDed with the day of the
 * week.  @yearly (@annually), @monthly, @weekly, @daily (@midnight) and
 * @hourly stand for their five fields.  'N seconds' (1 to 59, pg_cron's
 * form) is every instant whose Unix time in seconds is a multiple of N: it
 * does not depend on the time zone, and is N seconds apart except across a
 * full minute when N does not divide 60.
 *
 * Dates that never occur are refused when they are parsed ("0 0 30 2 *"):
 * the day of month and month fields alone decide it (February 29 occurs).
 */
#include "postgres.h"

#include <ctype.h>

#include "utils/datetime.h"

#include "cron.h"

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
