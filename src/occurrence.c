/*
 * occurrence.c
 *		Recurring schedules: materialising the next occurrence.
 *
 * A schedule (a row of scheduled_jobs.schedule_rules) has at most one
 * pending occurrence, an ordinary job of scheduled_jobs.jobs with its
 * schedule_id and nominal occurrence_at, which the rule's job_id names.  The
 * transaction that fires that job (NOTIFY), finishes it (procedure), expires
 * or cancels it calls sj_advance_schedules(), which inserts the next
 * occurrence and points job_id at it, in the same transaction: a crash
 * leaves either both or neither, and a job that job_id does not name (the
 * rule was replaced meanwhile) advances nothing, so every occurrence is
 * materialised exactly once.
 *
 * The policies, decided here and nowhere else, from the current occurrence
 * O, the start S of the transaction that fired it, and now (its end, for a
 * procedure):
 *	 catch_up (occurrences in (O, S], missed before O fired)
 *		latest: O stands for them (counted as missed, in the envelope); next
 *				the first after S;
 *		all:	next the first after O, so each runs in turn: at most
 *				catch_up_limit late runs, the newest; an occurrence expires
 *				once catch_up_limit later ones are due (its expires_at is set
 *				so), and the older ones are skipped;
 *		none:	skipped; next the first after S.  An occurrence not fired by
 *				the nominal instant of the one after it expires (its
 *				expires_at is set so), and the schedule goes on after now.
 *	 overlap (procedures: occurrences in (S, now], due while O ran)
 *		wait:	coalesced into one run at once (the latest of them);
 *		skip:	skipped; next the first after now;
 *		concurrent: the next occurrence was materialised when O came due
 *				(sj_start_concurrent_occurrences, in the scheduler), while
 *				fewer than catch_up_limit are pending.
 * Skipped occurrences are counted in schedule_rules.skipped.
 *
 * Workers (scheduler, executors) lock rules with SKIP LOCKED: a rule that a
 * role's open transaction holds (pause_schedule, create_schedule ...) must
 * not stop the firing of anyone's jobs.  An occurrence that leaves the jobs
 * (or is first delivered on an acknowledged channel) while its rule is held
 * asks for a repair at commit (shmem.c), and the scheduler then counts it
 * and gives the schedule its next occurrence (sj_repair_schedules), as it
 * does for every schedule when it starts.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "clock.h"
#include "cron.h"
#include "job.h"
#include "occurrence.h"
#include "owner_sql.h"
#include "shmem.h"

/* Most occurrences counted between two instants (a long downtime of a
 * schedule that fires every second): beyond, the count says "at least". */
#define SJ_MAX_COUNTED 100000

/* A schedule's rule, ready to compute instants. */
typedef struct SjRule
{
	int64		id;
	int64		job_id;
	char	   *name;
	bool		is_cron;
	SjCron		cron;
	Interval	every;
	pg_tz	   *tz;
	TimestampTz start_at;
	char		catch_up;		/* 'l'atest, 'a'll, 'n'one */
	int32		catch_up_limit;
	char		overlap;		/* 'w'ait, 's'kip, 'c'oncurrent */
	bool		has_expires_after;
	Interval	expires_after;
	bool		paused;
} SjRule;

/* The change to one schedule that sj_advance_schedules writes. */
typedef struct SjChange
{
	int64		id;
	bool		move;			/* job_id becomes the new occurrence (or none) */
	TimestampTz next_at;		/* 0: no next occurrence */
	TimestampTz expires_at;		/* DT_NOEND: none */
	int64		runs;
	int64		skipped;
	const char *state;			/* NULL: unchanged */
	TimestampTz last_at;		/* 0: unchanged */
	TimestampTz finished_at;	/* 0: unchanged */
	const char *error;			/* NULL: unchanged */
} SjChange;

static SPIPlanPtr rules_plans[3];
static SPIPlanPtr apply_plan = NULL;
static SPIPlanPtr concurrent_plan = NULL;

#define RULE_COLUMNS \
	"id, job_id, name, cron, every, time_zone, start_at, catch_up, " \
	"catch_up_limit, overlap, expires_after, paused_at IS NOT NULL"

/*
 * The rules of the schedules of $1, locked, in id order.  Workers never
 * wait for a rule another transaction holds (a role's open transaction
 * that pauses its schedule must not stop the firing of everyone's jobs):
 * they skip it, and the schedule is repaired later (sj_repair_schedules).
 */
typedef enum RulesLocking
{
	RULES_LOCK,					/* wait for them */
	RULES_SKIP_LOCKED,			/* those no other transaction holds */
	RULES_UNLOCKED				/* read only (current_job()) */
} RulesLocking;

#define RULES_SQL(how) \
"SELECT " RULE_COLUMNS " FROM scheduled_jobs.schedule_rules " \
"WHERE id OPERATOR(pg_catalog.=) ANY ($1) ORDER BY id" how
static const char *const rules_sql[3] = {
	RULES_SQL(" FOR UPDATE"), RULES_SQL(" FOR UPDATE SKIP LOCKED"), RULES_SQL("")
};

/*
 * Apply the changes: count, point each schedule at its next occurrence, and
 * insert that as a job (run_at its nominal instant) with the target the
 * UPDATE returns, so that each rule is looked up once.  Arrays of the
 * SjChange fields, in order, at most one per schedule (an UPDATE changes a
 * row once, whichever of two rows of u it joins).  Each new job takes its
 * id in u, so that nothing joins the inserted rows (whose count a generic
 * plan cannot know).
 */
static const char *const apply_sql =
"WITH u AS MATERIALIZED (SELECT u.*, CASE WHEN u.next_at IS NOT NULL THEN "
"    pg_catalog.nextval('scheduled_jobs.jobs_id_seq'::pg_catalog.regclass) END AS new_job "
"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), "
"    pg_catalog.unnest($2::pg_catalog.bool[]), pg_catalog.unnest($3::pg_catalog.timestamptz[]), "
"    pg_catalog.unnest($4::pg_catalog.timestamptz[]), pg_catalog.unnest($5::pg_catalog.int8[]), "
"    pg_catalog.unnest($6::pg_catalog.int8[]), pg_catalog.unnest($7::pg_catalog.text[]), "
"    pg_catalog.unnest($8::pg_catalog.timestamptz[]), pg_catalog.unnest($9::pg_catalog.timestamptz[]), "
"    pg_catalog.unnest($10::pg_catalog.text[])) "
"  AS u(id, move, next_at, expires_at, runs, skipped, state, last_at, finished_at, error)), "
"r AS (UPDATE scheduled_jobs.schedule_rules r SET "
"    job_id = CASE WHEN u.move THEN u.new_job ELSE r.job_id END, "
"    next_at = CASE WHEN u.move THEN u.next_at ELSE r.next_at END, "
"    runs = r.runs OPERATOR(pg_catalog.+) u.runs, "
"    skipped = r.skipped OPERATOR(pg_catalog.+) u.skipped, "
"    last_at = COALESCE(u.last_at, r.last_at), last_state = COALESCE(u.state, r.last_state), "
"    last_finished_at = COALESCE(u.finished_at, r.last_finished_at), "
"    last_error = COALESCE(u.error, r.last_error) "
"  FROM u WHERE r.id OPERATOR(pg_catalog.=) u.id "
"  RETURNING r.id, r.channel, r.procedure, r.command, r.payload, r.max_attempts, "
"    r.timeout_ms, r.owner, u.new_job, u.next_at, u.expires_at) "
"INSERT INTO scheduled_jobs.jobs (id, run_at, channel, procedure, command, payload, "
"    max_attempts, timeout_ms, owner, schedule_id, occurrence_at, expires_at) "
"OVERRIDING SYSTEM VALUE "
"SELECT new_job, next_at, channel, procedure, command, payload, max_attempts, timeout_ms, "
"  owner, id, next_at, expires_at FROM r WHERE new_job IS NOT NULL";

/*
 * The due occurrences of concurrent schedules ($1 now) whose next one is not
 * materialised yet, at most $2; a schedule with catch_up_limit occurrences
 * pending (its runs cannot keep up) gets no more until one of them ends.
 */
static const char *const concurrent_sql =
"SELECT r.job_id, r.id, r.next_at FROM scheduled_jobs.schedule_rules r "
"WHERE r.overlap OPERATOR(pg_catalog.=) 'concurrent' AND r.paused_at IS NULL "
"  AND r.next_at OPERATOR(pg_catalog.<=) $1 "
"  AND (SELECT pg_catalog.count(*) FROM scheduled_jobs.jobs j "
"       WHERE j.schedule_id OPERATOR(pg_catalog.=) r.id) OPERATOR(pg_catalog.<) r.catch_up_limit "
"ORDER BY r.next_at LIMIT $2";

/* The rule in row `row` of SPI_tuptable (RULE_COLUMNS), in the current context. */
static SjRule *
rule_from_row(uint64 row)
{
	HeapTuple	tup = SPI_tuptable->vals[row];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	SjRule	   *r = palloc0(sizeof(SjRule));
	bool		isnull;
	Datum		d;
	char	   *s;

	r->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	d = SPI_getbinval(tup, desc, 2, &isnull);
	r->job_id = isnull ? 0 : DatumGetInt64(d);
	r->name = SPI_getvalue(tup, desc, 3);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	r->is_cron = !isnull;
	if (r->is_cron)
		sj_cron_parse(TextDatumGetCString(d), &r->cron);
	else
		r->every = *DatumGetIntervalP(SPI_getbinval(tup, desc, 5, &isnull));
	r->tz = sj_zone_lookup(SPI_getvalue(tup, desc, 6), &s);
	r->start_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull));
	s = SPI_getvalue(tup, desc, 8);
	r->catch_up = s[0];
	r->catch_up_limit = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	s = SPI_getvalue(tup, desc, 10);
	r->overlap = s[0];
	d = SPI_getbinval(tup, desc, 11, &isnull);
	r->has_expires_after = !isnull;
	if (!isnull)
		r->expires_after = *DatumGetIntervalP(d);
	r->paused = DatumGetBool(SPI_getbinval(tup, desc, 12, &isnull));
	return r;
}

/* The first instant of the rule after `after` (DT_NOEND: none). */
static TimestampTz
rule_next(const SjRule *r, TimestampTz after)
{
	if (TIMESTAMP_IS_NOEND(after))
		return DT_NOEND;
	if (!r->is_cron)
		return sj_every_next(&r->every, r->tz, r->start_at, after);
	/* no occurrence before start_at */
	if (after < r->start_at)
		after = r->start_at - 1;
	return sj_cron_next(&r->cron, r->tz, after);
}

/*
 * The occurrences in (from, to]: how many (at most SJ_MAX_COUNTED), and the
 * first one after `to`.
 */
static int64
count_between(const SjRule *r, TimestampTz from, TimestampTz to,
			  TimestampTz *after_to)
{
	int64		n = 0;
	TimestampTz t = rule_next(r, from);

	while (t <= to && n < SJ_MAX_COUNTED)
	{
		n++;
		t = rule_next(r, t);
	}
	if (t <= to)
		t = rule_next(r, to);
	*after_to = t;
	return n;
}

/*
 * The k-th occurrence after `from` (k >= 1).  A fixed interval of elapsed
 * time alone is a grid: computed, not walked (catch_up_limit may be large).
 */
static TimestampTz
nth_after(const SjRule *r, TimestampTz from, int64 k)
{
	TimestampTz t = from;

	if (!r->is_cron && r->every.month == 0 && r->every.day == 0 && k > 1)
	{
		t = rule_next(r, from);
		if (TIMESTAMP_IS_NOEND(t) ||
			k - 1 > (DT_NOEND - 1 - t) / r->every.time)
			return DT_NOEND;
		return t + (k - 1) * r->every.time;
	}
	while (k-- > 0 && !TIMESTAMP_IS_NOEND(t))
		t = rule_next(r, t);
	return t;
}

/*
 * The next occurrence by the catch_up policy after O fired (or expired) at
 * S: sets *skipped, and *missed for latest.  runs_left: the late runs
 * catch_up all may still make (O itself may have been one).
 */
static TimestampTz
next_by_catch_up(const SjRule *r, TimestampTz o, TimestampTz s,
				 int64 runs_left, int64 *skipped, int64 *missed)
{
	TimestampTz after_s;
	int64		n = count_between(r, o, s, &after_s);

	if (n == 0)
		return after_s;
	switch (r->catch_up)
	{
		case 'a':
			/* the newest runs_left of them run, the older ones are skipped */
			if (n > runs_left)
			{
				*skipped += n - runs_left;
				return nth_after(r, o, n - runs_left + 1);
			}
			return rule_next(r, o);
		case 'l':
			*missed = n;
			*skipped += n;
			return after_s;
		default:
			*skipped += n;
			return after_s;
	}
}

/* The firing deadline of occurrence `at`. */
static TimestampTz
deadline_of(const SjRule *r, TimestampTz at)
{
	TimestampTz deadline = DT_NOEND;

	if (r->has_expires_after)
		deadline = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														   TimestampTzGetDatum(at),
														   IntervalPGetDatum(&r->expires_after)));
	/* catch_up none: missed once the occurrence after it is due */
	if (r->catch_up == 'n')
		deadline = Min(deadline, rule_next(r, at));
	/* catch_up all: once catch_up_limit later ones are due, the oldest goes */
	if (r->catch_up == 'a')
		deadline = Min(deadline, nth_after(r, at, r->catch_up_limit));
	return deadline;
}

/* The state names of job_history, for last_state. */
static const char *
event_state(SjOccurrenceEvent event)
{
	switch (event)
	{
		case SJ_OCC_FIRED:
			return "notified";
		case SJ_OCC_SUCCEEDED:
			return "succeeded";
		case SJ_OCC_FAILED:
			return "failed";
		case SJ_OCC_EXPIRED:
			return "expired";
		case SJ_OCC_CANCELLED:
			return "cancelled";
		case SJ_OCC_STARTED:
			break;
	}
	return NULL;
}

/* Decide the change that occurrence `o` of rule `r` makes, at now. */
static void
decide(const SjRule *r, SjOccurrence *o, TimestampTz now, SjChange *c)
{
	TimestampTz next = DT_NOEND;

	memset(c, 0, sizeof(*c));
	c->id = r->id;
	c->state = event_state(o->event);
	c->move = true;
	switch (o->event)
	{
		case SJ_OCC_FIRED:
		case SJ_OCC_STARTED:
			c->runs = 1;
			c->last_at = o->occurrence_at;
			if (o->event == SJ_OCC_FIRED)
				c->finished_at = o->started_at;
			next = next_by_catch_up(r, o->occurrence_at, o->started_at,
									r->catch_up_limit - 1, &c->skipped,
									&o->missed);
			break;
		case SJ_OCC_SUCCEEDED:
		case SJ_OCC_FAILED:
			c->finished_at = now;
			if (o->event == SJ_OCC_FAILED)
				c->error = o->error ? o->error : "";

			/*
			 * (A concurrent schedule's occurrence that finished before the
			 * scheduler saw it come due: advanced now, without overlap.)
			 */
			c->runs = 1;
			c->last_at = o->occurrence_at;
			next = next_by_catch_up(r, o->occurrence_at, o->started_at,
									r->catch_up_limit - 1, &c->skipped,
									&o->missed);
			if (r->overlap != 'c' && next > o->started_at && next <= now)
			{
				/* came due while it ran */
				TimestampTz after_now;
				int64		n = count_between(r, o->started_at, now,
											  &after_now);

				if (r->overlap == 'w')
				{
					c->skipped += n - 1;
					next = (n == 1) ? next : nth_after(r, o->started_at, n);
				}
				else
				{
					c->skipped += n;
					next = after_now;
				}
			}
			break;
		case SJ_OCC_EXPIRED:
		case SJ_OCC_CANCELLED:
			c->skipped = 1;
			c->finished_at = now;
			if (r->catch_up == 'a')
				next = next_by_catch_up(r, o->occurrence_at, now,
										r->catch_up_limit, &c->skipped,
										&o->missed);
			else
			{
				c->skipped += count_between(r, o->occurrence_at, now, &next);
				o->missed = 0;
			}
			break;
	}
	if (r->paused || TIMESTAMP_IS_NOEND(next))
		return;
	c->next_at = next;
	c->expires_at = deadline_of(r, next);
}

/* An array of n Datums of type typid, with nulls. */
static Datum
make_array(Datum *elems, bool *nulls, int n, Oid typid)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  typid, typlen, typbyval,
											  typalign));
}

/* Write the changes, and wake the scheduler for the earliest next one. */
static void
apply_changes(SjChange *c, int n)
{
	Oid			argtypes[10] = {INT8ARRAYOID, BOOLARRAYOID,
		TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
	TIMESTAMPTZARRAYOID, TEXTARRAYOID};
	Oid			elemtypes[10] = {INT8OID, BOOLOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, TEXTOID};
	Datum		values[10];
	Datum	   *e = palloc(sizeof(Datum) * n);
	bool	   *nulls = palloc(sizeof(bool) * n);
	TimestampTz earliest = DT_NOEND;

	for (int col = 0; col < 10; col++)
	{
		for (int i = 0; i < n; i++)
		{
			nulls[i] = false;
			switch (col)
			{
				case 0:
					e[i] = Int64GetDatum(c[i].id);
					break;
				case 1:
					e[i] = BoolGetDatum(c[i].move);
					break;
				case 2:
					nulls[i] = c[i].next_at == 0;
					e[i] = TimestampTzGetDatum(c[i].next_at);
					break;
				case 3:
					nulls[i] = c[i].next_at == 0 ||
						TIMESTAMP_IS_NOEND(c[i].expires_at);
					e[i] = TimestampTzGetDatum(c[i].expires_at);
					break;
				case 4:
					e[i] = Int64GetDatum(c[i].runs);
					break;
				case 5:
					e[i] = Int64GetDatum(c[i].skipped);
					break;
				case 6:
					nulls[i] = c[i].state == NULL;
					e[i] = c[i].state ? CStringGetTextDatum(c[i].state) : 0;
					break;
				case 7:
					nulls[i] = c[i].last_at == 0;
					e[i] = TimestampTzGetDatum(c[i].last_at);
					break;
				case 8:
					nulls[i] = c[i].finished_at == 0;
					e[i] = TimestampTzGetDatum(c[i].finished_at);
					break;
				case 9:
					nulls[i] = c[i].error == NULL;
					e[i] = c[i].error ? CStringGetTextDatum(c[i].error) : 0;
					break;
			}
		}
		values[col] = make_array(e, nulls, n, elemtypes[col]);
	}
	for (int i = 0; i < n; i++)
		if (c[i].next_at != 0 && c[i].next_at < earliest)
			earliest = c[i].next_at;

	sj_owner_execute(&apply_plan, apply_sql, 10, argtypes, values, NULL, 0,
					 NULL, NULL);
	if (!TIMESTAMP_IS_NOEND(earliest))
		sj_wake_scheduler_at_commit(earliest);
}

/* SPI rows of rules_sql as SjRules, in the caller's context. */
typedef struct RuleSet
{
	SjRule	  **rules;
	int			n;
	MemoryContext mcxt;
} RuleSet;

static void
collect_rules(void *arg)
{
	RuleSet    *set = arg;
	MemoryContext old = MemoryContextSwitchTo(set->mcxt);

	set->n = (int) SPI_processed;
	set->rules = palloc(sizeof(SjRule *) * Max(set->n, 1));
	for (int i = 0; i < set->n; i++)
		set->rules[i] = rule_from_row(i);
	MemoryContextSwitchTo(old);
}

/* Read (and lock, by how) the rules of the schedules of ids. */
static RuleSet
read_rules(const int64 *ids, int n, RulesLocking how)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];
	Datum	   *e = palloc(sizeof(Datum) * n);
	RuleSet		set = {NULL, 0, CurrentMemoryContext};

	for (int i = 0; i < n; i++)
		e[i] = Int64GetDatum(ids[i]);
	values[0] = PointerGetDatum(construct_array(e, n, INT8OID, sizeof(int64),
												true, TYPALIGN_DOUBLE));
	sj_owner_execute(&rules_plans[how], rules_sql[how], 1, argtypes, values,
					 NULL, 0, collect_rules, &set);
	return set;
}

/* The index in set of the rule of schedule id (set is in id order), or -1. */
static int
find_rule(const RuleSet *set, int64 id)
{
	int			lo = 0;
	int			hi = set->n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (set->rules[mid]->id == id)
			return mid;
		if (set->rules[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * Fold change src into dst, an earlier change of the same schedule in the
 * same call: the counts add up, what src sets replaces what dst had.  (No
 * caller passes two occurrences of one schedule today; apply_sql would
 * drop one of their rows at random, and the next job with it.)
 */
static void
merge_change(SjChange *dst, const SjChange *src)
{
	dst->runs += src->runs;
	dst->skipped += src->skipped;
	if (src->move)
	{
		dst->move = true;
		dst->next_at = src->next_at;
		dst->expires_at = src->expires_at;
	}
	if (src->state)
		dst->state = src->state;
	if (src->last_at)
		dst->last_at = src->last_at;
	if (src->finished_at)
		dst->finished_at = src->finished_at;
	if (src->error)
		dst->error = src->error;
}

/*
 * sj_advance_schedules
 *		The occurrences occ[0..n) fired, finished, expired or were cancelled
 *		in the current transaction: materialise the next occurrence of each
 *		schedule whose job_id names it, by its policies.  Sets each one's
 *		missed.  Inside a transaction; SPI connections of its own.
 */
void
sj_advance_schedules(SjOccurrence *occ, int n, bool wait)
{
	int64	   *ids = palloc(sizeof(int64) * n);
	SjChange   *changes = palloc(sizeof(SjChange) * n);
	int		   *change_of;		/* by rule: its change in changes, or -1 */
	int			nchanges = 0;
	RuleSet		set;
	TimestampTz now = sj_now();

	for (int i = 0; i < n; i++)
		ids[i] = occ[i].schedule_id;
	set = read_rules(ids, n, wait ? RULES_LOCK : RULES_SKIP_LOCKED);
	change_of = palloc(sizeof(int) * Max(set.n, 1));
	for (int k = 0; k < set.n; k++)
		change_of[k] = -1;

	for (int i = 0; i < n; i++)
	{
		SjOccurrence *o = &occ[i];
		int			k = find_rule(&set, o->schedule_id);
		SjRule	   *r;
		SjChange	c;

		o->missed = 0;
		o->name = k < 0 ? NULL : set.rules[k]->name;
		if (k < 0)
		{
			/*
			 * Gone, or held by another transaction: then, if this occurrence
			 * leaves the jobs, the scheduler repairs the schedule once that
			 * commits.
			 */
			if (!wait && o->event != SJ_OCC_STARTED)
				sj_repair_schedules_at_commit();
			continue;
		}
		r = set.rules[k];
		if (r->job_id != o->job_id)
		{
			/*
			 * Not the occurrence the schedule waits for: its rule was
			 * replaced, or it was paused, while this one was running; or a
			 * concurrent schedule's run that was counted when it came due.
			 * Record how it ended, nothing more.
			 */
			if (o->event != SJ_OCC_SUCCEEDED && o->event != SJ_OCC_FAILED)
				continue;
			memset(&c, 0, sizeof(c));
			c.id = r->id;
			c.state = event_state(o->event);
			c.finished_at = now;
			if (o->event == SJ_OCC_FAILED)
				c.error = o->error ? o->error : "";
			if (r->overlap == 'c')
			{
				/* counted when it came due; a pending one may now run */
				sj_wake_scheduler_any_at_commit();
			}
			else
			{
				c.runs = 1;
				c.last_at = o->occurrence_at;
			}
		}
		else
		{
			decide(r, o, now, &c);
			/* it names the next one now: a second occurrence in occ is stale */
			r->job_id = -1;
		}
		if (change_of[k] < 0)
		{
			change_of[k] = nchanges;
			changes[nchanges++] = c;
		}
		else
			merge_change(&changes[change_of[k]], &c);
	}
	if (nchanges > 0)
		apply_changes(changes, nchanges);
}

/*
 * sj_schedule_names
 *		The names of the schedules ids[0..n) into names, NULL for one that is
 *		gone, in the current memory context.
 */
void
sj_schedule_names(const int64 *ids, int n, char **names)
{
	RuleSet		set = read_rules(ids, n, RULES_UNLOCKED);

	for (int i = 0; i < n; i++)
	{
		int			k = find_rule(&set, ids[i]);

		names[i] = k < 0 ? NULL : set.rules[k]->name;
	}
}

/*
 * sj_start_schedule
 *		Materialise the first occurrence of schedule_id after `after`
 *		(create_schedule, resume_schedule, a repair); the occurrences in
 *		(skipped_since, after] count as skipped (a pause), unless
 *		skipped_since is 0.  The rule must have no pending occurrence.  With
 *		wait false, a rule another transaction holds is left alone: returns
 *		false.
 */
bool
sj_start_schedule(int64 schedule_id, TimestampTz after,
				  TimestampTz skipped_since, bool wait)
{
	RuleSet		set = read_rules(&schedule_id, 1,
								 wait ? RULES_LOCK : RULES_SKIP_LOCKED);
	SjRule	   *r;
	SjChange	c;

	if (set.n == 0)
		return false;
	r = set.rules[0];
	memset(&c, 0, sizeof(c));
	c.id = r->id;
	c.move = true;
	c.next_at = rule_next(r, after);
	if (skipped_since != 0 && skipped_since < after)
	{
		TimestampTz unused;

		c.skipped = count_between(r, skipped_since, after, &unused);
	}
	if (TIMESTAMP_IS_NOEND(c.next_at))
		c.next_at = 0;
	else
		c.expires_at = deadline_of(r, c.next_at);
	apply_changes(&c, 1);
	return true;
}

/* collect_due: the rows of concurrent_sql as SjOccurrences */
typedef struct DueSet
{
	SjOccurrence *occ;
	int			n;
	MemoryContext mcxt;
} DueSet;

static void
collect_due(void *arg)
{
	DueSet	   *set = arg;
	MemoryContext old = MemoryContextSwitchTo(set->mcxt);
	TimestampTz now = sj_xact_now();

	set->n = (int) SPI_processed;
	set->occ = palloc0(sizeof(SjOccurrence) * Max(set->n, 1));
	for (int i = 0; i < set->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		set->occ[i].job_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		set->occ[i].schedule_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		set->occ[i].occurrence_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		set->occ[i].started_at = now;
		set->occ[i].event = SJ_OCC_STARTED;
	}
	MemoryContextSwitchTo(old);
}

/*
 * sj_start_concurrent_occurrences
 *		The scheduler's part for concurrent schedules: each occurrence that
 *		came due has its next one materialised now, whatever it does.
 *		Returns how many.  Inside the scheduler's transaction.
 */
int
sj_start_concurrent_occurrences(void)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		values[2] = {TimestampTzGetDatum(sj_xact_now()),
	Int32GetDatum(1000)};
	DueSet		set = {NULL, 0, CurrentMemoryContext};

	sj_owner_execute(&concurrent_plan, concurrent_sql, 2, argtypes, values,
					 NULL, 0, collect_due, &set);
	if (set.n > 0)
		sj_advance_schedules(set.occ, set.n, false);
	return set.n;
}

/*
 * Schedules (not paused) whose occurrence is gone, or delivered on an
 * acknowledged channel and still in flight, without a next one: the
 * transaction that moved it could not lock the rule.  Whether it was in
 * flight, and when it was first delivered.
 */
static SPIPlanPtr stalled_plan = NULL;
static const char *const stalled_sql =
"SELECT r.id, r.job_id, r.next_at, j.id IS NOT NULL, j.first_delivered_at "
"FROM scheduled_jobs.schedule_rules r "
"  LEFT JOIN scheduled_jobs.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id "
"WHERE r.paused_at IS NULL AND r.next_at IS NOT NULL "
"  AND (j.id IS NULL OR j.due_at IS NOT NULL)";

/* How that occurrence ended, from job_history: state, finished_at, last_error. */
static SPIPlanPtr ended_plan = NULL;
static const char *const ended_sql =
"SELECT h.state, h.finished_at, h.last_error FROM scheduled_jobs.job_history h "
"WHERE h.id OPERATOR(pg_catalog.=) $1";

/* A schedule to repair: its id, the job it waits for, and its instant. */
typedef struct Stalled
{
	int64		id;
	int64		job_id;
	TimestampTz next_at;
	bool		in_flight;		/* delivered, not acknowledged yet */
	TimestampTz delivered_at;
} Stalled;

static void
collect_stalled(void *arg)
{
	List	  **list = arg;
	MemoryContext old = MemoryContextSwitchTo(CurTransactionContext);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Stalled    *st = palloc(sizeof(Stalled));
		Datum		d;

		st->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		d = SPI_getbinval(tup, desc, 2, &isnull);
		st->job_id = isnull ? 0 : DatumGetInt64(d);
		st->next_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		st->in_flight = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		d = SPI_getbinval(tup, desc, 5, &isnull);
		st->delivered_at = isnull ? 0 : DatumGetTimestampTz(d);
		*list = lappend(*list, st);
	}
	MemoryContextSwitchTo(old);
}

/* The end of a stalled schedule's occurrence, as job_history has it. */
typedef struct Ended
{
	bool		found;
	const char *state;
	TimestampTz finished_at;
	char	   *error;
} Ended;

/*
 * The strings are copied out of SPI's memory, which SPI_finish frees when
 * sj_owner_execute returns, into the transaction's, where the repair's
 * change reads them (as collect_stalled keeps its list there).
 */
static void
collect_ended(void *arg)
{
	Ended	   *e = arg;
	bool		isnull;
	Datum		d;
	MemoryContext old;

	if (SPI_processed == 0)
		return;
	old = MemoryContextSwitchTo(CurTransactionContext);
	e->found = true;
	e->state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	e->finished_at = isnull ? 0 : DatumGetTimestampTz(d);
	e->error = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	MemoryContextSwitchTo(old);
}

/*
 * Count the occurrence of a stalled schedule into c: a run if it was
 * delivered (in flight now) or ended as a run in job_history (last_at its
 * instant, last_state its state there), else skipped (it expired, or it
 * is gone without a trace).
 */
static void
count_stalled_occurrence(const Stalled *st, SjChange *c)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(st->job_id)};
	Ended		e = {false, NULL, 0, NULL};

	if (st->in_flight)
	{
		e.found = true;
		e.state = event_state(SJ_OCC_FIRED);
		e.finished_at = st->delivered_at;
	}
	else
		sj_owner_execute(&ended_plan, ended_sql, 1, argtypes, values, NULL, 1,
						 collect_ended, &e);
	if (!e.found || strcmp(e.state, event_state(SJ_OCC_EXPIRED)) == 0 ||
		strcmp(e.state, event_state(SJ_OCC_CANCELLED)) == 0)
	{
		c->skipped += 1;
		return;
	}
	c->runs = 1;
	c->last_at = st->next_at;
	c->state = e.state;
	c->finished_at = e.finished_at;
	if (strcmp(e.state, event_state(SJ_OCC_FAILED)) == 0)
		c->error = e.error ? e.error : "";
}

/*
 * Repair one schedule: its occurrence at next_at left the pending jobs (it
 * ran and its rule was held then, or it was lost) or was delivered without
 * its schedule going on; it is counted (count_stalled_occurrence), and the
 * next one follows from it by the catch_up policy, as after an occurrence
 * that fired now.  False if another transaction holds the rule; nothing if
 * someone advanced it meanwhile.
 */
static bool
repair_schedule(const Stalled *st, TimestampTz now)
{
	RuleSet		set = read_rules(&st->id, 1, RULES_SKIP_LOCKED);
	SjRule	   *r;
	SjChange	c;
	int64		missed = 0;
	TimestampTz next;

	if (set.n == 0)
		return false;
	r = set.rules[0];
	if (r->job_id != st->job_id || r->paused)
		return true;
	memset(&c, 0, sizeof(c));
	c.id = r->id;
	c.move = true;
	count_stalled_occurrence(st, &c);
	next = next_by_catch_up(r, st->next_at, now, r->catch_up_limit, &c.skipped,
							&missed);
	if (!TIMESTAMP_IS_NOEND(next))
	{
		c.next_at = next;
		c.expires_at = deadline_of(r, next);
	}
	apply_changes(&c, 1);
	ereport(LOG,
			(errmsg("scheduled_jobs schedule " INT64_FORMAT " had no next occurrence: it goes on at its next one",
					r->id)));
	return true;
}

/*
 * sj_repair_schedules
 *		A schedule whose pending occurrence is gone without a next one (a
 *		worker found its rule held by another transaction, a command run
 *		outside a transaction block whose executor died before it recorded
 *		its end, a TRUNCATE of the jobs), or was delivered on an
 *		acknowledged channel while its rule was held, goes on by its
 *		catch_up policy, as if that occurrence had fired now.  Run by the
 *		scheduler when it starts and when a worker asked for it.  Returns
 *		false if a rule was held by another transaction (try again later).
 *		Inside a transaction.
 */
bool
sj_repair_schedules(void)
{
	List	   *stalled = NIL;
	ListCell   *lc;
	TimestampTz now = sj_now();
	bool		complete = true;

	sj_owner_execute(&stalled_plan, stalled_sql, 0, NULL, NULL, NULL, 0,
					 collect_stalled, &stalled);
	foreach(lc, stalled)
	{
		if (!repair_schedule(lfirst(lc), now))
			complete = false;
	}
	return complete;
}

/*
 * sj_occurrence_info
 *		For current_job(): the name of schedule_id (NULL if it is gone) and,
 *		for catch_up latest, how many occurrences after occurrence_at were
 *		missed by started_at, which this run stands for.
 */
char *
sj_occurrence_info(int64 schedule_id, TimestampTz occurrence_at,
				   TimestampTz started_at, int64 *missed)
{
	RuleSet		set = read_rules(&schedule_id, 1, RULES_UNLOCKED);
	TimestampTz unused;

	*missed = 0;
	if (set.n == 0)
		return NULL;
	if (set.rules[0]->catch_up == 'l')
		*missed = count_between(set.rules[0], occurrence_at, started_at,
								&unused);
	return set.rules[0]->name;
}
