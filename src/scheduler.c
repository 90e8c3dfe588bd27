/*
 * scheduler.c
 *		The scheduler of one database.
 *
 * Loop: publish "wake me for anything", reset the latch, then one pass in
 * two steps, each under its own error boundary, so that neither can stop the
 * other:
 *	 fire	 fire a batch of due NOTIFY jobs (fire_notify_jobs);
 *	 plan	 count the attempts of executors that died, hand due procedure
 *			 jobs to the executors (dispatch.c) and find the earliest run_at
 *			 still pending.
 * The plan step has a transaction of its own when the fire step sent
 * NOTIFYs (they go out at its commit, before the look ahead) or failed;
 * else it runs in the fire step's transaction.
 * Publish that time and sleep until then (at most scheduled_jobs.max_sleep),
 * or until a committing backend sets the latch because it scheduled
 * something earlier.  See shmem.c for why no wake-up is lost.
 *
 * Firing a NOTIFY job moves it from jobs to job_history and queues its NOTIFY
 * in the same transaction: both commit or neither does.  Many jobs go in one
 * transaction, as NOTIFY serialises committing transactions cluster-wide.
 * After a batch failed, the next ones are fired in subtransactions, in
 * halves, down to one job, which is then
 * set aside with its error (retried later like a failed procedure job, and
 * kept in jobs with run_at infinity if even that cannot be recorded), so one
 * job that cannot fire never holds up the others.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "attempt.h"
#include "clock.h"
#include "dispatch.h"
#include "envelope.h"
#include "guc.h"
#include "job.h"
#include "scheduler.h"
#include "shmem.h"
#include "worker.h"

/* Delays before retrying a step that failed (e.g. NOTIFY queue full). */
#define SJ_RETRY_MIN_MS		100
#define SJ_RETRY_MAX_MS		10000

/* Delay before looking again at due jobs that other transactions lock. */
#define SJ_LOCKED_RETRY_MS	10

static int	my_dbslot = -1;

/*
 * the database's settings must be read again (start, SIGHUP, ALTER DATABASE)
 */
static bool settings_stale = true;
static bool started = false;

/* the fire step did the plan step's work too */
static bool planned = false;

/* the last fire step failed: fire in subtransactions, halving on error */
static bool careful = false;

static SPIPlanPtr fire_plan = NULL;
static SPIPlanPtr fire_ack_plan = NULL;
static SPIPlanPtr earliest_plan = NULL;
static SPIPlanPtr first_due_plan = NULL;
static SPIPlanPtr set_aside_plan = NULL;
static SPIPlanPtr paused_plan = NULL;

/*
 * Fire up to $1 NOTIFY jobs due at $2 (sj_xact_now()).  The due ids as an array,
 * not a join: a plan made while the table was empty must not turn into a join
 * that reads every pending job once the table holds millions.
 */
static const char *const fire_sql =
"WITH fired AS ("
"  DELETE FROM scheduled_jobs.jobs "
"  WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT id FROM scheduled_jobs.jobs "
"    WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) $2 "
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

static const char *const earliest_sql =
"SELECT run_at FROM scheduled_jobs.jobs WHERE channel IS NOT NULL "
"ORDER BY run_at LIMIT 1";

/* the first due NOTIFY job, which a batch of one could not fire */
static const char *const first_due_sql =
"SELECT * FROM scheduled_jobs.jobs "
"WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) $1 "
"ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED";

/* $1 id, $2 last_error, $3 last_error_data: kept, never to fire by itself */
static const char *const set_aside_sql =
"UPDATE scheduled_jobs.jobs SET run_at = 'infinity', "
"  attempts = attempts OPERATOR(pg_catalog.+) 1, last_error = $2, last_error_data = $3 "
"WHERE id OPERATOR(pg_catalog.=) $1";

/*
 * scheduled_jobs.paused as this database sets it (ALTER DATABASE ... SET),
 * or NULL.  Read from the catalog, since a running worker does not see a
 * database setting change.
 */
static const char *const db_paused_sql =
"SELECT pg_catalog.split_part(c, '=', 2)::pg_catalog.bool "
"FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) AS c "
"WHERE s.setdatabase OPERATOR(pg_catalog.=) $1 AND s.setrole OPERATOR(pg_catalog.=) 0 "
"  AND pg_catalog.split_part(c, '=', 1) OPERATOR(pg_catalog.=) 'scheduled_jobs.paused'";

/* this process saw a database setting of scheduled_jobs.paused */
static bool paused_by_database = false;

static void
scheduler_detach(int code, Datum arg)
{
	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	if (SjShmem->dbs[my_dbslot].scheduler_pid == MyProcPid)
	{
		SjShmem->dbs[my_dbslot].scheduler_pid = 0;
		SjShmem->dbs[my_dbslot].scheduler_latch = NULL;
		pg_atomic_write_u64(&SjShmem->dbs[my_dbslot].next_wakeup, SJ_WAKE_ANY);
	}
	if (SjShmem->launcher_latch)
		SetLatch(SjShmem->launcher_latch);
	LWLockRelease(SjShmem->lock);
}

static void
begin_step(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

static void
end_step(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Leave with exit code 0 if the extension is gone (DROP EXTENSION, or a
 * probe of a database without it: launcher.c); else make the slot ACTIVE.
 * Inside a transaction.
 */
static void
check_extension(void)
{
	SjDbSlot   *slot = &SjShmem->dbs[my_dbslot];

	if (!OidIsValid(get_extension_oid(SJ_EXTENSION_NAME, true)))
	{
		end_step();
		LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
		slot->state = SJ_DB_NO_EXTENSION;
		/* executors notice it when they look for work */
		for (int e = 0; e < SjShmem->max_executors; e++)
			if (sj_executor_slots(my_dbslot)[e].latch)
				SetLatch(sj_executor_slots(my_dbslot)[e].latch);
		LWLockRelease(SjShmem->lock);
		ereport(DEBUG1,
				(errmsg("scheduled_jobs scheduler of database %u stops: the extension is not installed",
						MyDatabaseId)));
		proc_exit(0);
	}
	if (slot->state != SJ_DB_ACTIVE)
	{
		LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
		slot->state = SJ_DB_ACTIVE;
		LWLockRelease(SjShmem->lock);
	}
}

/*
 * Read this database's scheduled_jobs.paused into the slot: the database's
 * setting, else the server's.  With SPI.
 *
 * A database setting present when the worker connected became this
 * process's value of the parameter, and stays it after RESET: the server's
 * value is then known only to a new process, so the scheduler exits to be
 * started again at once (and its executors follow the slot).
 */
static void
read_settings(void)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(MyDatabaseId)};
	SjDbSlot   *slot = &SjShmem->dbs[my_dbslot];
	bool		isnull;

	slot->reload = false;
	if (paused_plan == NULL)
		paused_plan = sj_prepare(db_paused_sql, 1, argtypes);
	if (SPI_execute_plan(paused_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read scheduled_jobs.paused");
	if (SPI_processed > 0)
	{
		slot->paused = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 1,
												  &isnull));
		paused_by_database = true;
	}
	else if (paused_by_database)
	{
		end_step();
		LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
		slot->kicked = true;
		LWLockRelease(SjShmem->lock);
		proc_exit(0);
	}
	else
		slot->paused = sj_paused;
	settings_stale = false;
}

/* Fire up to limit due NOTIFY jobs.  Returns how many.  With SPI. */
static int
fire_batch(int limit)
{
	Oid			argtypes[2] = {INT4OID, TIMESTAMPTZOID};
	Datum		values[2] = {Int32GetDatum(limit),
	TimestampTzGetDatum(sj_xact_now())};
	StringInfoData env;
	uint64		n;
	bool		ack;
	int			c;

	/* acknowledged channels exist from 0.3.0 on */
	ack = sj_has_acknowledged_channels();
	if (ack)
	{
		if (fire_ack_plan == NULL)
			fire_ack_plan = sj_prepare(fire_ack_sql, 2, argtypes);
		if (SPI_execute_plan(fire_ack_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not fire NOTIFY jobs");
	}
	else
	{
		if (fire_plan == NULL)
			fire_plan = sj_prepare(fire_sql, 2, argtypes);
		if (SPI_execute_plan(fire_plan, values, NULL, false, 0) !=
			SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not fire NOTIFY jobs");
	}

	initStringInfo(&env);
	for (n = 0; n < SPI_processed; n++)
	{
		HeapTuple	tup = SPI_tuptable->vals[n];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			kind;
		int64		id;
		char	   *channel;
		char	   *job_key;
		TimestampTz run_at;
		char	   *payload;

		/* the 0.2.0 statement has no kind: its rows are all plain */
		c = ack ? 1 : 0;
		kind = ack ? DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)) : 0;
		id = DatumGetInt64(SPI_getbinval(tup, desc, c + 1, &isnull));
		channel = SPI_getvalue(tup, desc, c + 2);
		job_key = SPI_getvalue(tup, desc, c + 3);
		run_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, c + 4, &isnull));
		payload = SPI_getvalue(tup, desc, c + 5);

		resetStringInfo(&env);
		if (kind == 2)
			sj_build_dead_letter_envelope(&env, id, payload, job_key,
										  DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull)));
		else if (kind == 1)
			sj_build_envelope(&env, id, job_key, run_at,
							  DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull)),
							  DatumGetTimestampTz(SPI_getbinval(tup, desc, 8, &isnull)),
							  payload);
		else
			sj_build_envelope(&env, id, job_key, run_at, 0, 0, payload);
		Async_Notify(channel, env.data);
	}
	pfree(env.data);
	return (int) SPI_processed;
}

/*
 * Run fire_batch(limit) in a subtransaction.  Returns how many fired, or -1
 * with *edata set (in mcxt) if it failed and was rolled back.
 */
static int
try_fire_batch(int limit, ErrorData **edata, MemoryContext mcxt)
{
	ResourceOwner owner = CurrentResourceOwner;
	volatile int n = -1;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		n = fire_batch(limit);
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
set_aside_first_due(ErrorData *edata, MemoryContext mcxt)
{
	ResourceOwner owner = CurrentResourceOwner;
	SjJob	   *job;
	ErrorData  *volatile why = edata;

	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(sj_xact_now())};

	if (first_due_plan == NULL)
		first_due_plan = sj_prepare(first_due_sql, 1, argtypes);
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
 * Fire a batch of due NOTIFY jobs, halving a batch that fails down to one
 * job, which is set aside.  Returns how many fired.  With SPI.
 */
static int
fire_notify_jobs(MemoryContext mcxt)
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
		fired = fire_batch(limit);
		careful = false;
		return fired;
	}
	for (;;)
	{
		ErrorData  *edata = NULL;
		int			n = try_fire_batch(limit, &edata, mcxt);

		if (n >= 0)
		{
			careful = false;
			return n;
		}
		if (!may_be_the_jobs(edata))
			ReThrowError(edata);
		if (limit == 1)
		{
			set_aside_first_due(edata, mcxt);
			careful = false;
			return 0;
		}
		limit = Max(limit / 2, 1);
	}
}

/*
 * Earliest run_at among pending NOTIFY jobs, or DT_NOEND.  With SPI.
 */
static TimestampTz
earliest_notify_job(void)
{
	bool		isnull;

	if (earliest_plan == NULL)
		earliest_plan = sj_prepare(earliest_sql, 0, NULL);
	if (SPI_execute_plan(earliest_plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the earliest job");
	if (SPI_processed == 0)
		return DT_NOEND;
	return DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1,
											 &isnull));
}

/*
 * What the plan step does: returns the time of the next pass.  Inside a
 * transaction, with SPI.
 */
static TimestampTz
plan(void)
{
	if (SjShmem->dbs[my_dbslot].paused)
		return TimestampTzPlusMilliseconds(sj_now(), sj_max_sleep);
	return Min(earliest_notify_job(), sj_dispatch_procedure_jobs(my_dbslot));
}

/*
 * The fire step.  Returns DT_NOBEGIN if it fired a full batch (more are
 * due), the time of the next pass if it fired nothing and so did the plan
 * step's work in the same transaction (*planned), else DT_NOEND.  Leaves the
 * process if the extension is gone.
 */
static TimestampTz
fire_step(MemoryContext mcxt)
{
	int			fired = 0;
	TimestampTz next = DT_NOEND;

	begin_step();
	check_extension();
	if (settings_stale || SjShmem->dbs[my_dbslot].reload)
		read_settings();
	if (!started)
	{
		sj_dispatch_start(my_dbslot);
		started = true;
	}
	if (!SjShmem->dbs[my_dbslot].paused)
	{
		pgstat_report_activity(STATE_RUNNING, "firing due jobs");
		fired = fire_notify_jobs(mcxt);
	}
	/* nothing to send first: plan in this transaction, saving one */
	planned = fired == 0;
	if (planned)
	{
		next = plan();

		/*
		 * Due, yet nothing fired: the due jobs are locked by transactions
		 * that act on them (an ack, a cancel, a reschedule).  Look again
		 * shortly rather than spin; their commit or rollback decides.
		 */
		if (next <= sj_xact_now() && !SjShmem->dbs[my_dbslot].paused)
			next = TimestampTzPlusMilliseconds(sj_now(), SJ_LOCKED_RETRY_MS);
	}
	end_step();
	return fired >= sj_batch_size ? DT_NOBEGIN : next;
}

/* The plan step, after a fire step that sent NOTIFYs or failed. */
static TimestampTz
plan_step(MemoryContext mcxt)
{
	TimestampTz next;

	begin_step();
	next = plan();
	end_step();
	return next;
}

/*
 * Run step under its own error boundary; returns its result.  On error the
 * step's transaction rolls back (the jobs stay pending), *retry_ms grows and
 * the result is the time to try again.
 */
static TimestampTz
run_step(TimestampTz (*step) (MemoryContext), MemoryContext loop_ctx,
		 int *retry_ms)
{
	volatile TimestampTz result;

	PG_TRY();
	{
		result = step(loop_ctx);
		*retry_ms = 0;
	}
	PG_CATCH();
	{
		sj_recover_from_error(loop_ctx);
		*retry_ms = Min(Max(*retry_ms * 2, SJ_RETRY_MIN_MS), SJ_RETRY_MAX_MS);
		result = TimestampTzPlusMilliseconds(sj_now(), *retry_ms);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(loop_ctx);
	return result;
}

/*
 * One pass.  Returns the time of the next one: now if a full batch was
 * fired, else the earliest pending run_at, or soon after a step failed.
 */
static TimestampTz
scheduler_pass(MemoryContext loop_ctx)
{
	static int	fire_retry_ms = 0;
	static int	plan_retry_ms = 0;
	TimestampTz next;

	planned = false;
	next = run_step(fire_step, loop_ctx, &fire_retry_ms);
	if (next == DT_NOBEGIN)
		return next;			/* a full batch: fire the rest first */
	if (!planned || fire_retry_ms > 0)
		next = Min(next, run_step(plan_step, loop_ctx, &plan_retry_ms));
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return next;
}

/*
 * sj_scheduler_main
 *		Entry point of a scheduler; main_arg is the database OID.
 */
void
sj_scheduler_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	MemoryContext loop_ctx;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	my_dbslot = sj_find_db_slot(dboid);
	if (my_dbslot < 0 || SjShmem->dbs[my_dbslot].scheduler_pid != 0 ||
		SjShmem->dbs[my_dbslot].hold_count > 0)
	{
		/* another scheduler runs here, or DDL holds the database */
		LWLockRelease(SjShmem->lock);
		proc_exit(0);
	}
	SjShmem->dbs[my_dbslot].scheduler_pid = MyProcPid;
	SjShmem->dbs[my_dbslot].scheduler_latch = MyLatch;
	LWLockRelease(SjShmem->lock);
	before_shmem_exit(scheduler_detach, (Datum) 0);

	sj_worker_session_settings();
	loop_ctx = AllocSetContextCreate(TopMemoryContext, "scheduled_jobs scheduler",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		SjDbSlot   *slot = &SjShmem->dbs[my_dbslot];
		TimestampTz next;

		pg_atomic_write_u64(&slot->next_wakeup, SJ_WAKE_ANY);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			settings_stale = true;
		}

		MemoryContextSwitchTo(loop_ctx);
		next = scheduler_pass(loop_ctx);
		MemoryContextSwitchTo(loop_ctx);
		MemoryContextReset(loop_ctx);

		if (next <= sj_now())
			continue;
		pg_atomic_write_u64(&slot->next_wakeup, (uint64) next);
		if (next - sj_now() > USECS_PER_SEC)
			pgstat_report_stat(true);	/* a long sleep: flush statistics */
		(void) sj_wait_until(next, sj_max_sleep);
	}
}
