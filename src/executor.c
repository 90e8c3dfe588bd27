/*
 * executor.c
 *		Executors: background workers that claim and run procedure jobs.
 *
 * The scheduler starts them on demand (dispatch.c); each one loops: claim a
 * due job, run it, commit, until it finds nothing for
 * scheduled_jobs.executor_idle_timeout.
 *
 * One job is one transaction:
 *	 claim (FOR UPDATE SKIP LOCKED: executors never share a job)
 *	 -> CALL procedure(payload) as the owner, in a subtransaction (call.c)
 *	 -> move the job to job_history as succeeded (or, on error, record the
 *		error and retry later with backoff, or keep it as failed: attempt.c)
 *	 -> commit.
 * The procedure's effects and the job's completion commit together, so a
 * crash anywhere leaves the job either untouched (it runs again) or done.
 * Jobs scheduled with group_commit share that transaction, up to
 * scheduled_jobs.group_commit_size, each under its own boundary.
 *
 * A job of a group that a cancel_job() asks for (shmem.c), or that an
 * earlier job of the group cancelled, rescheduled or replaced, is not run:
 * the executor reads the rest of its group again whenever a job changed
 * pending jobs (current_job.h).  A cancel of the job whose CALL runs
 * interrupts the CALL; the job is then left pending and untouched, for the
 * cancelling transaction to move to job_history.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "attempt.h"
#include "call.h"
#include "command.h"
#include "clock.h"
#include "current_job.h"
#include "executor.h"
#include "guc.h"
#include "inflight.h"
#include "job.h"
#include "shmem.h"
#include "stats.h"
#include "worker.h"

/* The executor's own slot, and its database's slot index. */
static SjExecutorSlot *my_exec = NULL;
static int	my_dbslot = -1;

/* The jobs claimed by the transaction in progress (in job_ctx). */
static List *claimed_jobs = NIL;

static SPIPlanPtr claim_plans[2];	/* [0.4.0 or later] */
static SPIPlanPtr claim_group_plans[2];
static SPIPlanPtr reread_plan = NULL;

/*
 * Due at $1, from $2 on, the floor (shmem.c): below it are the entries of
 * done jobs that a snapshot still held keeps, which the scan would walk.
 * SELECT *: read by the column map (job.c), which also serves 0.1.0.
 */
#define CLAIM_SQL(executor_job) \
"SELECT * FROM scheduled_jobs.jobs " \
"WHERE " executor_job " AND run_at OPERATOR(pg_catalog.<=) $1 " \
"  AND run_at OPERATOR(pg_catalog.>=) $2 " \
"ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED"
static const char *const claim_sql[2] = {
	CLAIM_SQL(SJ_EXECUTOR_JOB_0_3), CLAIM_SQL(SJ_EXECUTOR_JOB)
};

/*
 * More group-commit jobs due at $3 (from the floor $4) to run with the first
 * one ($1), at most $2.
 */
#define CLAIM_GROUP_SQL(executor_job) \
"SELECT * FROM scheduled_jobs.jobs " \
"WHERE " executor_job " AND group_commit " \
"  AND run_at OPERATOR(pg_catalog.<=) $3 " \
"  AND run_at OPERATOR(pg_catalog.>=) $4 " \
"  AND id OPERATOR(pg_catalog.<>) $1 " \
"ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED"
static const char *const claim_group_sql[2] = {
	CLAIM_GROUP_SQL(SJ_EXECUTOR_JOB_0_3), CLAIM_GROUP_SQL(SJ_EXECUTOR_JOB)
};

/*
 * The claimed jobs of $1 as they are now, still due at $2 (all locked by us).
 */
static const char *const reread_sql =
"SELECT * FROM scheduled_jobs.jobs "
"WHERE id OPERATOR(pg_catalog.=) ANY ($1) "
"  AND run_at OPERATOR(pg_catalog.<=) $2 ORDER BY run_at";

/*
 * At exit, after the transaction was rolled back (registered before the
 * connection, so it runs after it is shut down): a job that was running is
 * charged, unless DDL holding the database or a shutdown of the server
 * stopped the executor; then the
 * slot is given up and the scheduler told, which now finds the job's row
 * unlocked.
 */
static void
executor_exit(int code, Datum arg)
{
	bool		held;
	bool		stopping;

	if (my_exec == NULL)
		return;
	/* DDL or a shutdown stopped it: not the job's doing */
	stopping = sj_postmaster_stopping();
	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	held = SjShmem->dbs[my_dbslot].hold_count > 0;
	sj_inflight_exit(!held && !stopping);
	if (my_exec->pid == MyProcPid)
	{
		my_exec->pid = 0;
		my_exec->latch = NULL;
		my_exec->idle = false;
		my_exec->reserved = false;
		pg_atomic_write_u64(&my_exec->running_job, 0);
	}
	if (SjShmem->dbs[my_dbslot].scheduler_latch)
		SetLatch(SjShmem->dbs[my_dbslot].scheduler_latch);
	LWLockRelease(SjShmem->lock);
}

/*
 * SIGQUIT: the postmaster ends every process after a crash of one of them,
 * or in an immediate shutdown.  Note it in the in-flight file, so that the
 * job that was running here is not charged for it, and exit at once as
 * SignalHandlerForCrashExit does.
 */
static void
executor_quit(SIGNAL_ARGS)
{
	sj_inflight_quit();
	_exit(2);
}

/*
 * SIGINT (cancel_job() of the running job, or pg_cancel_backend()): cancel
 * the CALL in progress, if any, never the executor's own statements, which
 * would fail the whole transaction of a group.  A CALL that ends as the
 * signal comes is still caught inside its boundary (call.c).
 */
static void
executor_sigint(SIGNAL_ARGS)
{
	int			save_errno = errno;

	if (my_exec != NULL && pg_atomic_read_u64(&my_exec->running_job) != 0)
	{
		InterruptPending = true;
		QueryCancelPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * The jobs of the list as they are now, after a job of the group changed
 * pending jobs: cancelled ones are gone, rescheduled ones are no longer
 * due, replaced ones have their new target and payload.
 */
static List *
reread_jobs(List *jobs, MemoryContext job_ctx)
{
	Oid			argtypes[2] = {INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		values[2];
	Datum	   *ids = palloc(sizeof(Datum) * list_length(jobs));
	int			n = 0;
	ListCell   *lc;
	List	   *result = NIL;

	foreach(lc, jobs)
		ids[n++] = Int64GetDatum(((SjJob *) lfirst(lc))->id);
	values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64),
												true, TYPALIGN_DOUBLE));
	values[1] = TimestampTzGetDatum(sj_xact_now());
	if (reread_plan == NULL)
		reread_plan = sj_prepare(reread_sql, 2, argtypes);
	if (sj_execute_plan(reread_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the claimed jobs again");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		SjJob	   *job = sj_job_from_spi_row(i, job_ctx);
		MemoryContext old;

		/* replaced by a NOTIFY job: the scheduler's */
		if (job->channel != NULL)
			continue;
		old = MemoryContextSwitchTo(job_ctx);
		result = lappend(result, job);
		MemoryContextSwitchTo(old);
	}
	return result;
}

/*
 * Claim due jobs: one job, or, when it accepts group commit, up to
 * scheduled_jobs.group_commit_size such jobs.  Sets claimed_jobs (in
 * job_ctx: the error path reads them after the transaction is gone).
 */
static void
claim_jobs(MemoryContext job_ctx)
{
	Oid			argtypes[4] = {INT8OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[4];
	SjJob	   *first;
	MemoryContext old;
	int			v;

	claimed_jobs = NIL;
	if (SjShmem->dbs[my_dbslot].paused)
		return;
	values[2] = TimestampTzGetDatum(sj_xact_now());
	values[3] = TimestampTzGetDatum(sj_floor(my_dbslot, SJ_FLOOR_CALL));
	v = sj_has_schedules() ? 1 : 0;
	if (claim_plans[v] == NULL)
		claim_plans[v] = sj_prepare(claim_sql[v], 2, &argtypes[2]);
	if (sj_execute_plan(claim_plans[v], &values[2], NULL, false, 1) !=
		SPI_OK_SELECT)
		elog(ERROR, "could not claim a procedure job");
	if (SPI_processed == 0)
		return;
	first = sj_job_from_spi_row(0, job_ctx);
	old = MemoryContextSwitchTo(job_ctx);
	claimed_jobs = list_make1(first);
	MemoryContextSwitchTo(old);

	if (first->group_commit && sj_group_commit_size > 1)
	{
		values[0] = Int64GetDatum(first->id);
		values[1] = Int32GetDatum(sj_group_commit_size - 1);
		if (claim_group_plans[v] == NULL)
			claim_group_plans[v] = sj_prepare(claim_group_sql[v], 4, argtypes);
		if (sj_execute_plan(claim_group_plans[v], values, NULL, false, 0) !=
			SPI_OK_SELECT)
			elog(ERROR, "could not claim group-commit jobs");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			SjJob	   *job = sj_job_from_spi_row(i, job_ctx);

			old = MemoryContextSwitchTo(job_ctx);
			claimed_jobs = lappend(claimed_jobs, job);
			MemoryContextSwitchTo(old);
		}
	}
}

/*
 * Run a claimed command job that cannot run inside a transaction block: it
 * moves to job_history in the claiming transaction, which commits; the
 * command runs at top level; a new transaction records how it ended.  At
 * most once: an executor that dies meanwhile leaves it failed
 * ("interrupted"), and its schedule goes on when the scheduler starts again.
 */
static void
run_outside(SjJob *job, MemoryContext job_ctx)
{
	ErrorData  *edata;

	sj_record_outside_started(job);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	claimed_jobs = NIL;

	edata = sj_run_command_outside(job->command, job->owner,
								   job->timeout_ms >= 0 ? job->timeout_ms :
								   sj_job_timeout, job_ctx);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sj_record_outside_finished(job, edata);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Whether an executor of this database that is gone died in an attempt of
 * job_id that the scheduler has not charged yet (inflight.c).  Such a job
 * is left pending, for the scheduler to charge first: else a job that kills
 * its executor could run once more than max_attempts, claimed again before
 * its last attempt was counted.
 */
static bool
lost_attempt_pending(int64 job_id)
{
	SjExecutorSlot *ex = sj_executor_slots(my_dbslot);
	Oid			dboid = SjShmem->dbs[my_dbslot].dboid;
	bool	   *gone = palloc(SjShmem->max_executors * sizeof(bool));
	bool		found = false;

	LWLockAcquire(SjShmem->lock, LW_SHARED);
	for (int e = 0; e < SjShmem->max_executors; e++)
		gone[e] = ex[e].pid == 0;
	LWLockRelease(SjShmem->lock);
	for (int e = 0; e < SjShmem->max_executors && !found; e++)
		found = gone[e] && sj_inflight_uncharged(dboid, e, job_id);
	pfree(gone);
	return found;
}

/*
 * Claim and run due procedure jobs in one transaction.  Returns false if
 * none was due.
 */
/*
 * The durability of the jobs' transaction: asynchronous if the procedure of
 * every job of it declares so in its SET clause (the same value for all,
 * e.g. synchronous_commit = off); else, as always, synchronous.  The jobs'
 * effects and their completion still commit together: only jobs finished in
 * the last moments before a crash of the operating system (or of the server,
 * with fsync's WAL not yet written) can be lost, effects and completion
 * alike, and so run again.
 */
static void
commit_as_declared(List *jobs)
{
	char	   *value = NULL;
	ListCell   *lc;

	foreach(lc, jobs)
	{
		SjJob	   *job = lfirst(lc);
		char	   *v = job->procedure ?
		sj_declared_synchronous_commit(job->procedure) : NULL;

		if (v == NULL || (value != NULL && strcmp(v, value) != 0))
			return;
		value = v;
	}
	/* (PGC_S_SESSION: see sj_stats_flush; this ends with the transaction) */
	if (value != NULL)
		(void) set_config_option("synchronous_commit", value, PGC_SUSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0,
								 false);
}

static bool
run_jobs(MemoryContext job_ctx)
{
	List	   *succeeded = NIL;
	List	   *todo;
	SjJob	   *first;
	uint64		changes;
	bool		uncharged = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (!OidIsValid(get_extension_oid(SJ_EXTENSION_NAME, true)) ||
		my_exec->pid != MyProcPid)
	{
		/* DROP EXTENSION (or the slot is gone): leave, as the scheduler does */
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		proc_exit(0);
	}
	claim_jobs(job_ctx);
	if (claimed_jobs == NIL)
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		return false;
	}
	my_exec->idle = false;

	first = linitial(claimed_jobs);
	if (first->command && !sj_check_command(first->command) &&
		first->expires_at >= sj_xact_now() &&
		!sj_cancel_requested(my_dbslot, first->id))
	{
		run_outside(first, job_ctx);
		return true;
	}

	todo = list_copy(claimed_jobs);
	changes = sj_jobs_changed();
	while (todo != NIL)
	{
		SjJob	   *job = linitial(todo);
		ErrorData  *edata;

		todo = list_delete_first(todo);
		/* left pending for the cancelling transaction */
		if (sj_cancel_requested(my_dbslot, job->id))
			continue;
		/* its last attempt killed an executor and is not charged yet */
		if (lost_attempt_pending(job->id))
		{
			uncharged = true;
			continue;
		}
		/* a firing deadline passed: never run */
		if (job->expires_at < sj_xact_now())
		{
			sj_record_expired(job);
			continue;
		}

		pgstat_report_activity(STATE_RUNNING,
							   job->command ?
							   psprintf("job " INT64_FORMAT ": %s", job->id, job->command) :
							   psprintf("job " INT64_FORMAT ": CALL %s", job->id, job->procedure));
		sj_inflight_running(job->id);
		edata = sj_call_job(job, &my_exec->running_job, job_ctx);
		job->key_detached = sj_current_key_detached();
		sj_clear_session();
		if (edata == NULL)
			succeeded = lappend(succeeded, job);
		else if (!(edata->sqlerrcode == ERRCODE_QUERY_CANCELED &&
				   sj_cancel_requested(my_dbslot, job->id)))
			sj_record_failed_attempt(job, edata);

		/* the job acted on pending jobs: its group may be among them */
		if (todo != NIL && sj_jobs_changed() != changes)
		{
			todo = reread_jobs(todo, job_ctx);
			changes = sj_jobs_changed();
		}
	}
	if (succeeded)
		sj_record_succeeded(succeeded);
	commit_as_declared(claimed_jobs);

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	sj_inflight_idle();
	claimed_jobs = NIL;
	if (uncharged)
	{
		/* let the scheduler charge it before this claims it again */
		SetLatch(SjShmem->dbs[my_dbslot].scheduler_latch ?
				 SjShmem->dbs[my_dbslot].scheduler_latch : MyLatch);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return true;
}

/*
 * Record an attempt whose whole transaction failed, in a new transaction.
 * If even that fails, the job stays pending and is claimed again later.
 */
static void
record_failed_transaction(SjJob *job, ErrorData *edata, MemoryContext job_ctx)
{
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		sj_record_failed_attempt(job, edata);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		sj_recover_from_error(job_ctx);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(job_ctx);
}

/* An idle executor's wait: at most max_ms, and no longer than its counts keep. */
static long
stats_wait_ms(long max_ms)
{
	TimestampTz at = sj_stats_flush_at();

	if (at == DT_NOEND)
		return max_ms;
	return Min(max_ms, Max((at - sj_now()) / 1000 + 1, 1));
}

/*
 * sj_executor_main
 *		Entry point of an executor.  main_arg is its global executor slot
 *		index; bgw_extra holds the database OID.
 */
void
sj_executor_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	int			dbslot = index / SjShmem->max_executors;
	int			e = index % SjShmem->max_executors;
	Oid			dboid;
	MemoryContext job_ctx;
	volatile TimestampTz idle_since = 0;
	long		wait_ms;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGQUIT, executor_quit);
	pqsignal(SIGINT, executor_sigint);
	before_shmem_exit(executor_exit, (Datum) 0);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	if (SjShmem->dbs[dbslot].dboid != dboid ||
		sj_executor_slots(dbslot)[e].pid != 0 ||
		SjShmem->dbs[dbslot].hold_count > 0)
	{
		LWLockRelease(SjShmem->lock);
		proc_exit(0);
	}
	my_dbslot = dbslot;
	my_exec = &sj_executor_slots(dbslot)[e];
	my_exec->pid = MyProcPid;
	my_exec->latch = MyLatch;
	my_exec->reserved = false;
	my_exec->idle = false;
	pg_atomic_write_u64(&my_exec->running_job, 0);
	LWLockRelease(SjShmem->lock);
	sj_inflight_attach(dboid, e);

	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	/* (not rolling back an attempt the exit interrupted: executor_exit) */
	sj_stats_defer(false);

	/*
	 * The search_path jobs see.  The executor's own SQL is schema-qualified
	 * throughout, so it can share it; one path for both also keeps the kept
	 * CALL plans valid (a plan made under another path is made again).
	 */
	SetConfigOption("search_path", "\"$user\", public", PGC_SUSET, PGC_S_SESSION);
	SetConfigOption("max_parallel_workers_per_gather", "0", PGC_SUSET, PGC_S_SESSION);
	job_ctx = AllocSetContextCreate(TopMemoryContext, "scheduled_jobs job",
									ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		volatile bool worked = false;

		/* idle before looking, so that a wake-up during the look is kept */
		my_exec->idle = true;
		pg_memory_barrier();
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(job_ctx);
		PG_TRY();
		{
			/* the counts of the jobs run, a second after the first of them */
			if (sj_stats_flush_at() <= sj_now())
				sj_stats_flush();
			worked = run_jobs(job_ctx);
		}
		PG_CATCH();
		{
			ErrorData  *edata;
			ListCell   *lc;

			/*
			 * The job's transaction failed outside the CALL's own boundary
			 * (e.g. at commit): it rolled back, so the job is still pending
			 * with its attempt uncounted.  Count it in a new transaction, or
			 * the job would be claimed again at once, forever.
			 */
			MemoryContextSwitchTo(job_ctx);
			edata = CopyErrorData();
			sj_recover_from_error(job_ctx);
			sj_inflight_idle();
			foreach(lc, claimed_jobs)
				record_failed_transaction(lfirst(lc), edata, job_ctx);
			claimed_jobs = NIL;
			worked = false;
			/* waiting again: the scheduler must be able to wake it */
			my_exec->idle = true;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(job_ctx);
		MemoryContextReset(job_ctx);

		if (worked)
		{
			idle_since = 0;
			continue;
		}
		wait_ms = Max(sj_executor_idle_timeout, 1);
		if (idle_since == 0)
			idle_since = GetCurrentTimestamp();
		else if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(),
											sj_executor_idle_timeout))
		{
			if (sj_stats_flush_at() == DT_NOEND)
				proc_exit(0);
			/* with counts kept: exit after writing them, waiting till then */
			wait_ms = sj_max_sleep;
		}
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 stats_wait_ms(wait_ms), PG_WAIT_EXTENSION);
	}
}
