/*
 * cron_sql.c
 *		next_occurrences(): the instants a cron expression or a fixed interval
 *		gives, as SQL sees them (the rules are computed in cron.c).
 *
 * Both functions are pure: they read no table and depend only on their
 * arguments and, when time_zone is NULL, on the session's TimeZone (hence
 * STABLE).  Each row is the first instant strictly after the previous one,
 * so the rows increase strictly; the set ends early when a rule has no
 * further occurrence (a cron expression none in 10 years, an interval none
 * before the end of the timestamp range).
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cron.h"

PG_FUNCTION_INFO_V1(sj_next_occurrences_cron);
PG_FUNCTION_INFO_V1(sj_next_occurrences_every);

/* Arguments of next_occurrences(), in SQL order (start: the interval form). */
enum
{
	NEXT_ARG_RULE,				/* cron text, or every interval */
	NEXT_ARG_TIME_ZONE,
	NEXT_ARG_AFTER,
	NEXT_ARG_N,
	NEXT_ARG_START
};

/* At most this many rows per call. */
#define NEXT_MAX_N 100000

/* The state of one call, across its rows. */
typedef struct NextOccurrences
{
	bool		is_cron;
	SjCron		cron;
	Interval	every;
	TimestampTz anchor;			/* of every */
	pg_tz	   *tz;
	TimestampTz last;			/* the previous row, or after */
} NextOccurrences;

static Datum next_occurrences(FunctionCallInfo fcinfo, bool is_cron);

/* next_occurrences(cron text, time_zone, after, n) */
Datum
sj_next_occurrences_cron(PG_FUNCTION_ARGS)
{
	return next_occurrences(fcinfo, true);
}

/* next_occurrences(every interval, time_zone, after, n, start) */
Datum
sj_next_occurrences_every(PG_FUNCTION_ARGS)
{
	return next_occurrences(fcinfo, false);
}

/*
 * next_occurrences
 *		The set-returning body of both: checks the arguments on the first
 *		call, then one row per call.
 */
static Datum
next_occurrences(FunctionCallInfo fcinfo, bool is_cron)
{
	FuncCallContext *funcctx;
	NextOccurrences *state;
	TimestampTz next;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcontext;
		char	   *zone_name;
		int32		n;

		funcctx = SRF_FIRSTCALL_INIT();
		oldcontext = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		state = palloc0(sizeof(NextOccurrences));
		state->is_cron = is_cron;

		if (PG_ARGISNULL(NEXT_ARG_N))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n must not be null")));
		n = PG_GETARG_INT32(NEXT_ARG_N);
		if (n < 0 || n > NEXT_MAX_N)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n must be between 0 and %d, not %d",
							NEXT_MAX_N, n)));
		funcctx->max_calls = n;

		if (PG_ARGISNULL(NEXT_ARG_AFTER))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("after must not be null")));
		state->last = PG_GETARG_TIMESTAMPTZ(NEXT_ARG_AFTER);
		if (TIMESTAMP_NOT_FINITE(state->last))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("after must be finite")));

		state->tz = sj_zone_lookup(PG_ARGISNULL(NEXT_ARG_TIME_ZONE) ? NULL :
								   text_to_cstring(PG_GETARG_TEXT_PP(NEXT_ARG_TIME_ZONE)),
								   &zone_name);

		if (is_cron)
			sj_cron_parse(PG_ARGISNULL(NEXT_ARG_RULE) ? NULL :
						  text_to_cstring(PG_GETARG_TEXT_PP(NEXT_ARG_RULE)),
						  &state->cron);
		else
		{
			if (PG_ARGISNULL(NEXT_ARG_RULE))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("every must not be null")));
			state->every = *PG_GETARG_INTERVAL_P(NEXT_ARG_RULE);
			sj_every_check(&state->every);
			state->anchor = state->last;
			if (!PG_ARGISNULL(NEXT_ARG_START))
			{
				state->anchor = PG_GETARG_TIMESTAMPTZ(NEXT_ARG_START);
				if (TIMESTAMP_NOT_FINITE(state->anchor))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("start must be finite")));
			}
		}
		funcctx->user_fctx = state;
		MemoryContextSwitchTo(oldcontext);
	}

	funcctx = SRF_PERCALL_SETUP();
	state = funcctx->user_fctx;
	if (funcctx->call_cntr >= funcctx->max_calls)
		SRF_RETURN_DONE(funcctx);
	CHECK_FOR_INTERRUPTS();
	if (state->is_cron)
		next = sj_cron_next(&state->cron, state->tz, state->last);
	else
		next = sj_every_next(&state->every, state->tz, state->anchor,
							 state->last);
	if (TIMESTAMP_IS_NOEND(next))
		SRF_RETURN_DONE(funcctx);
	state->last = next;
	SRF_RETURN_NEXT(funcctx, TimestampTzGetDatum(next));
}
