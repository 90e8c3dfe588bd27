/*
 * scheduler.c
 *		The scheduler of one database.
 *
 * Loop: publish "wake me for anything", reset the latch, then one pass in one
 * transaction: fire a batch of due NOTIFY jobs, hand due procedure jobs to
 * the executors, and find the earliest run_at still pending.  Publish it and
 * sleep until then (at most scheduled_jobs.max_sleep), or until a committing
 * backend sets the latch because it scheduled something earlier.  See
 * shmem.c for why no wake-up is lost.
 *
 * Firing a NOTIFY job moves it from jobs to job_history and queues its NOTIFY
 * in the same transaction: both commit or neither does.  Many jobs go in one
 * transaction, as NOTIFY serialises committing transactions cluster-wide.
 */
#include "postgres.h"

#include "access/xact.h"
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
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "envelope.h"
#include "executor.h"
#include "guc.h"
#include "scheduler.h"
#include "shmem.h"
#include "worker.h"

/* Delays before retrying a pass that failed (e.g. NOTIFY queue full). */
#define SJ_RETRY_MIN_MS		100
#define SJ_RETRY_MAX_MS		10000

static int	my_slot = -1;

/* The firing statement, planned for the batch size it was built with. */
static SPIPlanPtr fire_plan = NULL;
static int	fire_plan_batch = 0;
static SPIPlanPtr earliest_plan = NULL;

static const char *const earliest_sql =
"SELECT run_at FROM scheduled_jobs.jobs WHERE channel IS NOT NULL "
"ORDER BY run_at LIMIT 1";

static void
scheduler_detach(int code, Datum arg)
{
	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	if (SjShmem->dbs[my_slot].scheduler_pid == MyProcPid)
	{
		SjShmem->dbs[my_slot].scheduler_pid = 0;
		SjShmem->dbs[my_slot].scheduler_latch = NULL;
		pg_atomic_write_u64(&SjShmem->dbs[my_slot].next_wakeup, SJ_WAKE_ANY);
	}
	if (SjShmem->launcher_latch)
		SetLatch(SjShmem->launcher_latch);
	LWLockRelease(SjShmem->lock);
}

/*
 * Fire up to scheduled_jobs.batch_size due NOTIFY jobs.  Returns how many.
 * Must be called inside a transaction, connected to SPI.
 */
static int
fire_notify_batch(void)
{
	StringInfoData env;
	uint64		n;

	if (fire_plan == NULL || fire_plan_batch != sj_batch_size)
	{
		char	   *sql;

		if (fire_plan)
			SPI_freeplan(fire_plan);
		/*
		 * The due ids as an array, not a join: a plan made while the table
		 * was empty must not turn into a join that reads every pending job
		 * once the table holds millions.
		 */
		sql = psprintf("WITH fired AS ("
					   "  DELETE FROM scheduled_jobs.jobs "
					   "  WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
					   "    SELECT id FROM scheduled_jobs.jobs "
					   "    WHERE channel IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
					   "    ORDER BY run_at LIMIT %d FOR UPDATE SKIP LOCKED)) "
					   "  RETURNING *) "
					   "INSERT INTO scheduled_jobs.job_history "
					   "  (id, run_at, channel, payload, job_key, max_attempts, timeout_ms, owner, "
					   "   attempts, created_at, state, fired_at, finished_at) "
					   "SELECT id, run_at, channel, payload, job_key, max_attempts, timeout_ms, owner, "
					   "   attempts OPERATOR(pg_catalog.+) 1, created_at, 'notified', "
					   "   pg_catalog.now(), pg_catalog.clock_timestamp() "
					   "FROM fired ORDER BY run_at, id "
					   "RETURNING id, channel, job_key, run_at, payload::pg_catalog.text",
					   sj_batch_size);
		fire_plan = sj_prepare(sql, 0, NULL);
		fire_plan_batch = sj_batch_size;
		pfree(sql);
	}

	if (SPI_execute_plan(fire_plan, NULL, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not fire NOTIFY jobs");

	initStringInfo(&env);
	for (n = 0; n < SPI_processed; n++)
	{
		HeapTuple	tup = SPI_tuptable->vals[n];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *channel = SPI_getvalue(tup, desc, 2);
		char	   *job_key = SPI_getvalue(tup, desc, 3);
		TimestampTz run_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
		char	   *payload = SPI_getvalue(tup, desc, 5);

		resetStringInfo(&env);
		sj_build_envelope(&env, id, job_key, run_at, payload);
		Async_Notify(channel, env.data);
	}
	pfree(env.data);
	return (int) SPI_processed;
}

/*
 * Earliest run_at among pending NOTIFY jobs, or DT_NOEND.  Inside a
 * transaction, connected to SPI.
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
											 SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * One pass, in one transaction.  Returns the time of the next pass: now if a
 * full batch was fired, else the earliest pending run_at.  Leaves the
 * process with exit code 0 if the extension is gone.
 */
static TimestampTz
scheduler_pass(void)
{
	TimestampTz next = DT_NOEND;
	int			fired = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (!OidIsValid(get_extension_oid("scheduled_jobs", true)))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
		SjShmem->dbs[my_slot].no_extension = true;
		/* executors notice it when they look for work */
		for (int e = 0; e < SjShmem->max_executors; e++)
			if (sj_executor_slots(my_slot)[e].latch)
				SetLatch(sj_executor_slots(my_slot)[e].latch);
		LWLockRelease(SjShmem->lock);
		ereport(DEBUG1,
				(errmsg("scheduled_jobs scheduler of database %u stops: the extension is not installed",
						MyDatabaseId)));
		proc_exit(0);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (sj_paused)
		next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), sj_max_sleep);
	else
	{
		pgstat_report_activity(STATE_RUNNING, "firing due jobs");
		fired = fire_notify_batch();
		if (fired > 0)
		{
			/* send the NOTIFYs now; the look ahead can wait for its own */
			next = GetCurrentTransactionStartTimestamp();
			SPI_finish();
			PopActiveSnapshot();
			CommitTransactionCommand();
			if (fired >= sj_batch_size)
				return next;
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
		}
		next = Min(earliest_notify_job(), sj_dispatch_procedure_jobs(my_slot));
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
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
	volatile int retry_ms = 0;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	my_slot = sj_find_db_slot(dboid);
	if (my_slot < 0 || SjShmem->dbs[my_slot].scheduler_pid != 0 ||
		SjShmem->dbs[my_slot].hold_count > 0)
	{
		/* another scheduler runs here, or DDL holds the database */
		LWLockRelease(SjShmem->lock);
		proc_exit(0);
	}
	SjShmem->dbs[my_slot].scheduler_pid = MyProcPid;
	SjShmem->dbs[my_slot].scheduler_latch = MyLatch;
	LWLockRelease(SjShmem->lock);
	before_shmem_exit(scheduler_detach, (Datum) 0);
	sj_forget_executor_reservations(my_slot);

	sj_worker_session_settings();
	loop_ctx = AllocSetContextCreate(TopMemoryContext, "scheduled_jobs scheduler",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		SjDbSlot   *slot = &SjShmem->dbs[my_slot];
		TimestampTz next;
		TimestampTz now;
		long		sleep_ms;
		int			rc;

		pg_atomic_write_u64(&slot->next_wakeup, SJ_WAKE_ANY);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(loop_ctx);
		PG_TRY();
		{
			next = scheduler_pass();
			retry_ms = 0;
		}
		PG_CATCH();
		{
			/* nothing was fired: the transaction rolls back, the jobs stay */
			sj_recover_from_error(loop_ctx);
			retry_ms = Min(Max(retry_ms * 2, SJ_RETRY_MIN_MS), SJ_RETRY_MAX_MS);
			next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), retry_ms);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(loop_ctx);
		MemoryContextReset(loop_ctx);

		now = GetCurrentTimestamp();
		if (next <= now)
			continue;
		pg_atomic_write_u64(&slot->next_wakeup, (uint64) next);
		if (next - now < 1000)
		{
			/*
			 * Due within the millisecond: WaitLatch counts whole ones and
			 * would add up to one to the lag.  Sleep out the rest instead.
			 */
			pg_usleep(next - now);
			continue;
		}
		/* whole milliseconds, rounded down: the rest is slept out above */
		sleep_ms = Min((next - now) / 1000, (int64) sj_max_sleep);
		if (sleep_ms > 1000)
			pgstat_report_stat(true);
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   sleep_ms, PG_WAIT_EXTENSION);

		/* woken by the clock just short of next: sleep out the rest first */
		now = GetCurrentTimestamp();
		if (!(rc & WL_LATCH_SET) && next > now && next - now < 1000)
			pg_usleep(next - now);
	}
}
