/*
 * fire.c
 *		Firing due NOTIFY jobs: the scheduler's fire step.
 *
 * Firing a NOTIFY job moves it from jobs to job_history and queues its NOTIFY
 * in the same transaction: both commit or neither does.  Many jobs go in one
 * transaction, as NOTIFY serialises committing transactions cluster-wide.
 * On an acknowledged channel the job stays in jobs instead, in flight: its
 * deliveries counted, its deadline as run_at, delivered again when that
 * passes, a dead letter after the last (the same statement does all).
 *
 * After a batch failed, the next ones are fired in subtransactions, in
 * halves, down to one job, which is then set aside with its error (retried
 * later like a failed procedure job, and kept in jobs with run_at infinity
 * if even that cannot be recorded), so one job that cannot fire never holds
 * up the others.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "attempt.h"
#include "clock.h"
#include "envelope.h"
#include "fire.h"
#include "guc.h"
#include "job.h"
#include "occurrence.h"
#include "shmem.h"
#include "stats.h"
#include "worker.h"

/* the last fire step failed: fire in subtransactions, halving on error */
static bool careful = false;

static SPIPlanPtr fire_plan = NULL;
static SPIPlanPtr fire_ack_plan = NULL;
static SPIPlanPtr fire_plan_0_4 = NULL;
static SPIPlanPtr first_due_plan = NULL;
static SPIPlanPtr set_aside_plan = NULL;

/*
 * Fire up to $1 NOTIFY jobs due at $2 (sj_xact_now()), from $3 on, the floor
 * (shmem.c): below it are the entries of fired jobs that a snapshot still
 * held keeps, which the scan would walk.  The due ids as an array, not a
 * join: a plan made while the table was empty must not turn into a join
 * that reads every pending job once the table holds millions.
 */
static const char *const fire_sql =
"WITH fired AS ("
"  DELETE FROM scheduled_jobs.jobs "
"  WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT id FROM scheduled_jobs.jobs "
"    WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) $2 "
"      AND run_at OPERATOR(pg_catalog.>=) $3 "
"    ORDER BY run_at LIMIT $1 FOR UPDATE SKIP LOCKED)) "
"  RETURNING " SJ_JOB_COLUMNS ") "
"INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS ", state, fired_at, finished_at) "
"SELECT id, run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, "
"   attempts OPERATOR(pg_catalog.+) 1, created_at, last_error, last_error_data, " SJ_STATE_NOTIFIED ", "
"   pg_catalog.now(), pg_catalog.clock_timestamp() "
"FROM fired ORDER BY run_at, id "
"RETURNING id, channel, job_key, run_at, payload::pg_catalog.text";

/*
 * The same with acknowledged channels (0.3.0), in one statement: jobs of
 * plain channels move to job_history as before (kind 0); jobs of
 * acknowledged channels stay in jobs, in flight, with one more delivery and
 * the deadline of their acknowledgement as run_at, doubling from
 * ack_timeout with each delivery up to a day (or ack_timeout) (kind 1); those whose last delivery went
 * unacknowledged move to job_history as dead letters, NOTIFYed on the dead
 * letter channel if there is one (kind 2).  Rows: kind, id, channel,
 * job_key, run_at (the first), payload (or, kind 2, the job's channel),
 * delivery, deadline.
 */
static const char *const fire_ack_sql =
"WITH due AS ("
"  SELECT j.id, s.ack_timeout, s.max_deliveries, s.dead_letter_channel "
"  FROM scheduled_jobs.jobs j LEFT JOIN scheduled_jobs.channel_settings s "
"    ON s.channel OPERATOR(pg_catalog.=) j.channel "
"  WHERE j.id OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT id FROM scheduled_jobs.jobs "
"    WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) $2 "
"      AND run_at OPERATOR(pg_catalog.>=) $3 "
"    ORDER BY run_at LIMIT $1 FOR UPDATE SKIP LOCKED))), "
"plain AS ("
"  DELETE FROM scheduled_jobs.jobs j USING due d "
"  WHERE j.id OPERATOR(pg_catalog.=) d.id AND d.ack_timeout IS NULL "
"  RETURNING j.*), "
"plain_h AS ("
"  INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS ", state, fired_at, finished_at) "
"  SELECT id, COALESCE(due_at, run_at), channel, procedure, payload, job_key, max_attempts, "
"    timeout_ms, owner, attempts OPERATOR(pg_catalog.+) 1, created_at, last_error, "
"    last_error_data, " SJ_STATE_NOTIFIED ", pg_catalog.now(), pg_catalog.clock_timestamp() "
"  FROM plain RETURNING id, channel, job_key, run_at, payload), "
"dead AS ("
"  DELETE FROM scheduled_jobs.jobs j USING due d "
"  WHERE j.id OPERATOR(pg_catalog.=) d.id AND d.ack_timeout IS NOT NULL "
"    AND j.attempts OPERATOR(pg_catalog.>=) d.max_deliveries "
"  RETURNING j.*, d.dead_letter_channel), "
"dead_h AS ("
"  INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS ", state, fired_at, finished_at) "
"  SELECT id, COALESCE(due_at, run_at), channel, procedure, payload, job_key, max_attempts, "
"    timeout_ms, owner, attempts, created_at, last_error, last_error_data, " SJ_STATE_DEAD ", "
"    first_delivered_at, pg_catalog.clock_timestamp() FROM dead RETURNING id), "
"redo AS ("
"  UPDATE scheduled_jobs.jobs j SET attempts = j.attempts OPERATOR(pg_catalog.+) 1, "
"    due_at = COALESCE(j.due_at, j.run_at), "
"    first_delivered_at = COALESCE(j.first_delivered_at, pg_catalog.now()), "
"    lease_until = NULL, "
"    run_at = $2 OPERATOR(pg_catalog.+) LEAST(d.ack_timeout OPERATOR(pg_catalog.*) "
"      pg_catalog.power(2, LEAST(j.attempts, 16))::pg_catalog.float8, "
"      GREATEST(d.ack_timeout, '1 day'::pg_catalog.interval)) "
"  FROM due d WHERE j.id OPERATOR(pg_catalog.=) d.id AND d.ack_timeout IS NOT NULL "
"    AND j.attempts OPERATOR(pg_catalog.<) d.max_deliveries "
"  RETURNING j.id, j.channel, j.job_key, j.due_at, j.payload, j.attempts, j.run_at) "
"SELECT 0, id, channel, job_key, run_at, payload::pg_catalog.text, 0, NULL::pg_catalog.timestamptz "
"FROM plain_h "
"UNION ALL SELECT 1, id, channel, job_key, due_at, payload::pg_catalog.text, attempts, run_at "
"FROM redo "
"UNION ALL SELECT 2, id, dead_letter_channel, job_key, due_at, channel, attempts, NULL "
"FROM dead WHERE dead_letter_channel IS NOT NULL "
"ORDER BY 5, 2";

/*
 * The same with firing deadlines and recurring schedules (0.4.0), and the
 * fired_at to record as $3 (the instant the transaction commits at, which
 * can start a moment before the jobs are due: scheduler.c), from the floor
 * $4 on (shmem.c): due jobs past their expires_at that were never delivered move to job_history as
 * expired, unfired (kind 3); every row also gives the job's schedule_id and
 * occurrence_at, for its schedule to go on (occurrence.c), which also gives
 * the name of the schedule for the envelope.  due carries attempts, so that dead and
 * redo are decided there, before any row is looked up again (the rows are
 * locked by due: attempts cannot change in between).  Every dead letter
 * has a row, for stats: its channel and first delivery (deadline column)
 * and its dead letter channel, NULL if none.
 */
static const char *const fire_sql_0_4 =
"WITH due AS ("
"  SELECT j.id, j.attempts, s.ack_timeout, s.max_deliveries, s.dead_letter_channel, "
"    COALESCE(j.due_at IS NULL AND j.expires_at OPERATOR(pg_catalog.<) $2, false) AS expired "
"  FROM scheduled_jobs.jobs j LEFT JOIN scheduled_jobs.channel_settings s "
"    ON s.channel OPERATOR(pg_catalog.=) j.channel "
"  WHERE j.id OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT id FROM scheduled_jobs.jobs "
"    WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) $2 "
"      AND run_at OPERATOR(pg_catalog.>=) $4 "
"    ORDER BY run_at LIMIT $1 FOR UPDATE SKIP LOCKED))), "
"gone AS ("
"  DELETE FROM scheduled_jobs.jobs j USING due d "
"  WHERE j.id OPERATOR(pg_catalog.=) d.id AND d.expired "
"  RETURNING j.*), "
"gone_h AS ("
"  INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS_0_4 ", state, finished_at) "
"  SELECT " SJ_JOB_COLUMNS_0_4 ", " SJ_STATE_EXPIRED ", pg_catalog.clock_timestamp() "
"  FROM gone RETURNING id), "
"plain AS ("
"  DELETE FROM scheduled_jobs.jobs j USING due d "
"  WHERE j.id OPERATOR(pg_catalog.=) d.id AND d.ack_timeout IS NULL AND NOT d.expired "
"  RETURNING j.*), "
"plain_h AS ("
"  INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS_0_4 ", state, fired_at, finished_at) "
"  SELECT id, COALESCE(due_at, run_at), channel, procedure, payload, job_key, max_attempts, "
"    timeout_ms, owner, attempts OPERATOR(pg_catalog.+) 1, created_at, last_error, "
"    last_error_data, schedule_id, occurrence_at, expires_at, command, " SJ_STATE_NOTIFIED ", "
"    $3, GREATEST(pg_catalog.clock_timestamp(), $3) "
"  FROM plain RETURNING id, channel, job_key, run_at, payload, schedule_id, occurrence_at), "
"dead AS ("
"  DELETE FROM scheduled_jobs.jobs j USING due d "
"  WHERE j.id OPERATOR(pg_catalog.=) d.id AND d.ack_timeout IS NOT NULL AND NOT d.expired "
"    AND d.attempts OPERATOR(pg_catalog.>=) d.max_deliveries "
"  RETURNING j.*, d.dead_letter_channel), "
"dead_h AS ("
"  INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS_0_4 ", state, fired_at, finished_at) "
"  SELECT id, COALESCE(due_at, run_at), channel, procedure, payload, job_key, max_attempts, "
"    timeout_ms, owner, attempts, created_at, last_error, last_error_data, schedule_id, "
"    occurrence_at, expires_at, command, " SJ_STATE_DEAD ", "
"    first_delivered_at, pg_catalog.clock_timestamp() FROM dead RETURNING id), "
"redo AS ("
"  UPDATE scheduled_jobs.jobs j SET attempts = j.attempts OPERATOR(pg_catalog.+) 1, "
"    due_at = COALESCE(j.due_at, j.run_at), "
"    first_delivered_at = COALESCE(j.first_delivered_at, $3), "
"    lease_until = NULL, "
"    run_at = $2 OPERATOR(pg_catalog.+) LEAST(d.ack_timeout OPERATOR(pg_catalog.*) "
"      pg_catalog.power(2, LEAST(j.attempts, 16))::pg_catalog.float8, "
"      GREATEST(d.ack_timeout, '1 day'::pg_catalog.interval)) "
"  FROM due d WHERE j.id OPERATOR(pg_catalog.=) d.id AND d.ack_timeout IS NOT NULL "
"    AND NOT d.expired AND d.attempts OPERATOR(pg_catalog.<) d.max_deliveries "
"  RETURNING j.id, j.channel, j.job_key, j.due_at, j.payload, j.attempts, j.run_at, "
"    j.schedule_id, j.occurrence_at) "
"SELECT f.* "
"FROM (SELECT 0 AS kind, id, channel, job_key, run_at, payload::pg_catalog.text, 0, "
"    NULL::pg_catalog.timestamptz, schedule_id, occurrence_at FROM plain_h "
"  UNION ALL SELECT 1, id, channel, job_key, due_at, payload::pg_catalog.text, attempts, run_at, "
"    schedule_id, occurrence_at FROM redo "
"  UNION ALL SELECT 2, id, dead_letter_channel, job_key, due_at, channel, attempts, "
"    first_delivered_at, schedule_id, NULL FROM dead "
"  UNION ALL SELECT 3, id, channel, job_key, run_at, NULL, 0, NULL, schedule_id, occurrence_at "
"  FROM gone) f "
"ORDER BY 5, 2";

/* the first due NOTIFY job, which a batch of one (from floor $2) could not fire */
static const char *const first_due_sql =
"SELECT * FROM scheduled_jobs.jobs "
"WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) $1 "
"  AND run_at OPERATOR(pg_catalog.>=) $2 "
"ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED";

/* $1 id, $2 last_error, $3 last_error_data: kept, never to fire by itself */
static const char *const set_aside_sql =
"UPDATE scheduled_jobs.jobs SET run_at = 'infinity', "
"  attempts = attempts OPERATOR(pg_catalog.+) 1, last_error = $2, last_error_data = $3 "
"WHERE id OPERATOR(pg_catalog.=) $1";

/* The kinds of row of the firing statements. */
#define KIND_FIRED 0			/* plain channel: NOTIFYed, done */
#define KIND_DELIVERED 1		/* acknowledged channel: NOTIFYed, in flight */
#define KIND_DEAD 2				/* dead letter: NOTIFY on the dead letter
								 * channel */
#define KIND_EXPIRED 3			/* past its expires_at: not NOTIFYed */

/*
 * The occurrences of schedules among the rows of the firing statement
 * (0.4.0): the fired (first deliveries) and the expired ones.  Their
 * schedules go on in the same transaction; the names and missed counts go
 * into the envelopes.  Returns, for each row, its SjOccurrence or NULL.
 */
static SjOccurrence **
advance_fired_schedules(SPITupleTable *tt, uint64 nrows, TimestampTz due)
{
	SjOccurrence **by_row = palloc0(sizeof(SjOccurrence *) * Max(nrows, 1));
	SjOccurrence *occ = palloc0(sizeof(SjOccurrence) * Max(nrows, 1));
	int			n = 0;

	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = tt->vals[i];
		TupleDesc	desc = tt->tupdesc;
		bool		isnull;
		int			kind = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		Datum		schedule = SPI_getbinval(tup, desc, 9, &isnull);

		if (isnull || kind == KIND_DEAD ||
			(kind == KIND_DELIVERED &&
			 DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull)) != 1))
			continue;
		occ[n].schedule_id = DatumGetInt64(schedule);
		occ[n].job_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		occ[n].occurrence_at =
			DatumGetTimestampTz(SPI_getbinval(tup, desc, 10, &isnull));
		occ[n].started_at = due;
		occ[n].event = kind == KIND_EXPIRED ? SJ_OCC_EXPIRED : SJ_OCC_FIRED;
		by_row[i] = &occ[n++];
	}
	if (n > 0)
		sj_advance_schedules(occ, n, false);
	return by_row;
}

/*
 * The names of the schedules of the rows whose schedule advance did not
 * read (a redelivery, a rule another transaction holds), NULL if gone:
 * names[row], for each row with a schedule_id NOTIFYed on its channel.
 */
static char **
schedule_names(SPITupleTable *tt, uint64 nrows, SjOccurrence **occ)
{
	char	  **names = palloc0(sizeof(char *) * Max(nrows, 1));
	int64	   *ids = palloc(sizeof(int64) * Max(nrows, 1));
	uint64	   *rows = palloc(sizeof(uint64) * Max(nrows, 1));
	char	  **found;
	int			n = 0;

	for (uint64 i = 0; i < nrows; i++)
	{
		bool		isnull;
		Datum		schedule = SPI_getbinval(tt->vals[i], tt->tupdesc, 9, &isnull);
		int			kind;

		if (isnull)
			continue;
		kind = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		if (kind != KIND_FIRED && kind != KIND_DELIVERED)
			continue;
		if (occ[i] && occ[i]->name)
			names[i] = occ[i]->name;
		else
		{
			ids[n] = DatumGetInt64(schedule);
			rows[n++] = i;
		}
	}
	if (n == 0)
		return names;
	found = palloc(sizeof(char *) * n);
	sj_schedule_names(ids, n, found);
	for (int k = 0; k < n; k++)
		names[rows[k]] = found[k];
	return names;
}

/*
 * Count a row of the firing statement (0.4.0) that finished its job in
 * stats: fired on a plain channel, a dead letter (its channel in payload,
 * its first delivery in the deadline column), expired.  A delivery on an
 * acknowledged channel counts when it is acknowledged or dies.
 */
static void
count_row(HeapTuple tup, TupleDesc desc, int kind, const char *channel,
		  TimestampTz run_at, const char *payload, TimestampTz fired_at,
		  TimestampTz now)
{
	bool		isnull;
	Datum		schedule = SPI_getbinval(tup, desc, 9, &isnull);
	int64		schedule_id = isnull ? 0 : DatumGetInt64(schedule);

	if (kind == KIND_FIRED)
		sj_stats_count(channel, NULL, NULL, schedule_id, SJ_END_SUCCEEDED,
					   run_at, fired_at, now, NULL);
	else if (kind == KIND_DEAD)
		sj_stats_count(payload, NULL, NULL, schedule_id, SJ_END_DEAD, run_at,
					   DatumGetTimestampTz(SPI_getbinval(tup, desc, 8, &isnull)),
					   now, NULL);
	else if (kind == KIND_EXPIRED)
		sj_stats_count(channel, NULL, NULL, schedule_id, SJ_END_EXPIRED, run_at,
					   0, now, NULL);
}

/*
 * Fire up to limit NOTIFY jobs due at due (job time; before 0.4.0, the
 * transaction's start), from floor on.  Returns how many.  With SPI.
 */
static int
fire_batch(int limit, TimestampTz due, TimestampTz floor)
{
	Oid			argtypes[4] = {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID};
	Datum		values[4];
	TimestampTz redelivery = DT_NOEND;
	StringInfoData env;
	SPITupleTable *tt;
	uint64		nrows;
	SjOccurrence **occ = NULL;
	char	  **names = NULL;
	bool		ack;
	bool		sched;
	int			c;
	TimestampTz now;

	/* acknowledged channels exist from 0.3.0 on, schedules from 0.4.0 on */
	now = GetCurrentTimestamp();
	sched = sj_has_schedules();
	ack = sched || sj_has_acknowledged_channels();
	/* $1 limit, $2 due, then 0.4.0: $3 fired_at, $4 floor; before: $3 floor */
	values[0] = Int32GetDatum(limit);
	values[1] = TimestampTzGetDatum(sched ? due : sj_xact_now());
	values[2] = TimestampTzGetDatum(sched ? sj_real_time(due) : floor);
	values[3] = TimestampTzGetDatum(floor);
	if (sched)
	{
		if (fire_plan_0_4 == NULL)
			fire_plan_0_4 = sj_prepare(fire_sql_0_4, 4, argtypes);
		if (SPI_execute_plan(fire_plan_0_4, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not fire NOTIFY jobs");
	}
	else if (ack)
	{
		if (fire_ack_plan == NULL)
			fire_ack_plan = sj_prepare(fire_ack_sql, 3, argtypes);
		if (SPI_execute_plan(fire_ack_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not fire NOTIFY jobs");
	}
	else
	{
		if (fire_plan == NULL)
			fire_plan = sj_prepare(fire_sql, 3, argtypes);
		if (SPI_execute_plan(fire_plan, values, NULL, false, 0) !=
			SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not fire NOTIFY jobs");
	}
	tt = SPI_tuptable;
	nrows = SPI_processed;
	if (sched)
	{
		occ = advance_fired_schedules(tt, nrows, due);
		names = schedule_names(tt, nrows, occ);
	}

	initStringInfo(&env);
	for (uint64 n = 0; n < nrows; n++)
	{
		HeapTuple	tup = tt->vals[n];
		TupleDesc	desc = tt->tupdesc;
		bool		isnull;
		int			kind;
		int64		id;
		char	   *channel;
		char	   *job_key;
		TimestampTz run_at;
		char	   *payload;
		int32		delivery = 0;
		TimestampTz deadline = 0;
		char	   *schedule;

		/* the 0.2.0 statement has no kind: its rows are all plain */
		c = ack ? 1 : 0;
		kind = ack ? DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)) : 0;
		id = DatumGetInt64(SPI_getbinval(tup, desc, c + 1, &isnull));
		channel = SPI_getvalue(tup, desc, c + 2);
		job_key = SPI_getvalue(tup, desc, c + 3);
		run_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, c + 4, &isnull));
		payload = SPI_getvalue(tup, desc, c + 5);
		if (sched)
			count_row(tup, desc, kind, channel, run_at, payload,
					  sj_real_time(due), now);
		if (kind == KIND_EXPIRED)
			continue;

		resetStringInfo(&env);
		if (kind == KIND_DEAD)
		{
			if (channel == NULL)
				continue;		/* no dead letter channel */
			sj_build_dead_letter_envelope(&env, id, payload, job_key,
										  DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull)));
			Async_Notify(channel, env.data);
			continue;
		}
		if (kind == KIND_DELIVERED)
		{
			delivery = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
			deadline = DatumGetTimestampTz(SPI_getbinval(tup, desc, 8, &isnull));
			redelivery = Min(redelivery, deadline);
		}
		/* an occurrence of a schedule that still exists: its name */
		schedule = sched ? names[n] : NULL;
		if (schedule)
			sj_build_occurrence_envelope(&env, id, job_key, run_at, delivery,
										 deadline, schedule,
										 DatumGetTimestampTz(SPI_getbinval(tup, desc, 10, &isnull)),
										 occ[n] ? occ[n]->missed : 0,
										 payload);
		else
			sj_build_envelope(&env, id, job_key, run_at, delivery, deadline,
							  payload);
		Async_Notify(channel, env.data);
	}
	pfree(env.data);
	/* in flight: delivered again at the deadline, which is its run_at now */
	if (!TIMESTAMP_IS_NOEND(redelivery))
		sj_lower_floors_at_commit(redelivery);
	return (int) nrows;
}

/*
 * Run fire_batch(limit) in a subtransaction.  Returns how many fired, or -1
 * with *edata set (in mcxt) if it failed and was rolled back.
 */
static int
try_fire_batch(int limit, TimestampTz due, TimestampTz floor,
			   ErrorData **edata, MemoryContext mcxt)
{
	ResourceOwner owner = CurrentResourceOwner;
	volatile int n = -1;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		n = fire_batch(limit, due, floor);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(mcxt);
		*edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		n = -1;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(mcxt);
	CurrentResourceOwner = owner;
	return n;
}

/*
 * The first due NOTIFY job cannot fire, with edata: count it as a failed
 * attempt (retried after a backoff, then kept as failed), or, if even that
 * cannot be recorded, keep it in jobs with run_at infinity and the error.
 */
static void
set_aside_first_due(ErrorData *edata, TimestampTz due, TimestampTz floor,
					MemoryContext mcxt)
{
	ResourceOwner owner = CurrentResourceOwner;
	SjJob	   *job;
	ErrorData  *volatile why = edata;

	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2] = {TimestampTzGetDatum(due), TimestampTzGetDatum(floor)};

	if (first_due_plan == NULL)
		first_due_plan = sj_prepare(first_due_sql, 2, argtypes);
	if (SPI_execute_plan(first_due_plan, values, NULL, false, 1) !=
		SPI_OK_SELECT)
		elog(ERROR, "could not read the first due NOTIFY job");
	if (SPI_processed == 0)
		return;
	job = sj_job_from_spi_row(0, mcxt);

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		sj_record_failed_attempt(job, why);
		ReleaseCurrentSubTransaction();
		why = NULL;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(mcxt);
		why = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(mcxt);
	CurrentResourceOwner = owner;

	if (why != NULL)
	{
		Oid			argtypes[3] = {INT8OID, TEXTOID, JSONBOID};
		Datum		values[3];
		char	   *data = psprintf("{\"sqlstate\": \"%s\"}", unpack_sql_state(why->sqlerrcode));

		values[0] = Int64GetDatum(job->id);
		values[1] = CStringGetTextDatum(why->message ? why->message : "");
		values[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(data));
		if (set_aside_plan == NULL)
			set_aside_plan = sj_prepare(set_aside_sql, 3, argtypes);
		if (SPI_execute_plan(set_aside_plan, values, NULL, false, 0) !=
			SPI_OK_UPDATE)
			elog(ERROR, "could not set job " INT64_FORMAT " aside", job->id);
		ereport(WARNING,
				(errcode(why->sqlerrcode),
				 errmsg("scheduled_jobs job " INT64_FORMAT " (NOTIFY %s) cannot fire: %s",
						job->id, job->channel, why->message ? why->message : ""),
				 errdetail("It stays in scheduled_jobs.jobs with run_at infinity and the error in last_error."),
				 errhint("Fix the cause, then reschedule_job() it.")));
	}
}

/*
 * Whether an error may be the doing of the jobs fired, rather than of the
 * statement or the moment: a value or constraint of job_history that a job
 * does not meet, or an error raised by something an administrator added to
 * the tables.  Anything else (a deadlock, a lock or resource shortage, a
 * relation gone with DROP EXTENSION, a cancel) fails the whole step, which
 * is tried again shortly.
 */
static bool
may_be_the_jobs(ErrorData *edata)
{
	switch (ERRCODE_TO_CATEGORY(edata->sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
		case ERRCODE_TRIGGERED_ACTION_EXCEPTION:
		case ERRCODE_EXTERNAL_ROUTINE_EXCEPTION:
		case ERRCODE_EXTERNAL_ROUTINE_INVOCATION_EXCEPTION:
		case ERRCODE_PLPGSQL_ERROR:
			return true;
		default:
			return false;
	}
}

/*
 * sj_fire_notify_jobs
 *		Fire a batch of NOTIFY jobs due at due (job time) from floor on (the
 *		NOTIFY floor: shmem.c), halving a batch that fails down to one job,
 *		which is set aside.  Returns how many fired.  Inside the scheduler's
 *		transaction, with SPI; the caller commits no earlier than due.
 */
int
sj_fire_notify_jobs(MemoryContext mcxt, TimestampTz due, TimestampTz floor)
{
	int			limit = sj_batch_size;
	int			fired;

	/*
	 * A subtransaction would give every fired row a subtransaction id that
	 * readers must look up: fire in the step's own transaction, and only
	 * after a failure in subtransactions of ever smaller batches.
	 */
	if (!careful)
	{
		careful = true;
		fired = fire_batch(limit, due, floor);
		careful = false;
		return fired;
	}
	for (;;)
	{
		ErrorData  *edata = NULL;
		int			n = try_fire_batch(limit, due, floor, &edata, mcxt);

		if (n >= 0)
		{
			careful = false;
			return n;
		}
		if (!may_be_the_jobs(edata))
			ReThrowError(edata);
		if (limit == 1)
		{
			set_aside_first_due(edata, due, floor, mcxt);
			careful = false;
			return 0;
		}
		limit = Max(limit / 2, 1);
	}
}
