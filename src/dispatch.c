/*
 * dispatch.c
 *		The scheduler's side of procedure jobs: waking idle executors, or
 *		starting new ones, when procedure jobs are due, and counting the
 *		attempts of executors that died.
 *
 * A pool of at most scheduled_jobs.max_executors executors per database,
 * started on demand and gone after scheduled_jobs.executor_idle_timeout
 * without work (executor.c).
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "attempt.h"
#include "clock.h"
#include "dispatch.h"
#include "guc.h"
#include "inflight.h"
#include "shmem.h"
#include "worker.h"

/* How long before a procedure job is due an executor is started for it. */
#define SJ_PREWARM_MS 1000

/* Handles of the executors this scheduler started, by executor slot. */
static BackgroundWorkerHandle **exec_handles = NULL;
static TimestampTz last_start_warning = 0;

/*
 * Whether each executor slot had, or was to get, an executor at the last pass.
 */
static bool *seen = NULL;

static SPIPlanPtr dispatch_plans[2];	/* [0.4.0 or later] */

/* Register executor e of database slot dbslot.  Caller holds the lock. */
static bool
start_executor(int dbslot, int e)
{
	Oid			dboid = SjShmem->dbs[dbslot].dboid;

	exec_handles[e] = sj_start_worker("sj_executor_main", "scheduled_jobs executor", dboid,
									  Int32GetDatum(dbslot *
													SjShmem->max_executors +
													e),
									  "scheduled_jobs executor %d for database %u", e, dboid);
	if (exec_handles[e] == NULL)
		return false;
	sj_executor_slots(dbslot)[e].reserved = true;
	return true;
}

static bool collect_lost_attempts(int dbslot, bool at_start);

/*
 * sj_dispatch_start
 *		Called by a new scheduler, inside a transaction with SPI: executors
 *		that an earlier scheduler registered and that never attached will
 *		not (it has no handle to tell; one that still attaches later finds
 *		its slot taken or free), and the attempts of executors that died
 *		with the server are counted.
 */
void
sj_dispatch_start(int dbslot)
{
	SjExecutorSlot *ex;

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	ex = sj_executor_slots(dbslot);
	for (int e = 0; e < SjShmem->max_executors; e++)
		if (ex[e].pid == 0)
			ex[e].reserved = false;
	LWLockRelease(SjShmem->lock);
	collect_lost_attempts(dbslot, true);
}

/*
 * Count the attempts lost with executors of this database that are gone
 * (inflight.c): at the scheduler's start, every free slot; later, the slots
 * whose executor (or reservation) the previous pass saw.  Returns true if a
 * charge had to wait: the job runs again in another executor.  Inside a
 * transaction, with SPI.
 */
static bool
collect_lost_attempts(int dbslot, bool at_start)
{
	SjExecutorSlot *ex = sj_executor_slots(dbslot);
	Oid			dboid = SjShmem->dbs[dbslot].dboid;
	bool		deferred = false;
	bool	   *gone = palloc(SjShmem->max_executors * sizeof(bool));

	if (seen == NULL)
		seen = MemoryContextAllocZero(TopMemoryContext,
									  SjShmem->max_executors * sizeof(bool));
	/* which executors are gone, in one look; their files are read after */
	LWLockAcquire(SjShmem->lock, LW_SHARED);
	for (int e = 0; e < SjShmem->max_executors; e++)
		gone[e] = ex[e].pid == 0 && !ex[e].reserved && (at_start || seen[e]);
	LWLockRelease(SjShmem->lock);

	for (int e = 0; e < SjShmem->max_executors; e++)
	{
		SjInflightState how;
		int64		job_id;

		if (!gone[e])
			continue;
		seen[e] = false;
		job_id = sj_inflight_collect(dboid, e, &how);
		/* seen at our start, or as we are told to stop: maybe a shutdown */
		if (job_id == 0 || how == SJ_INFLIGHT_QUIT ||
			(how == SJ_INFLIGHT_EXITED && (at_start || ProcDiePending)))
			continue;
		if (!sj_charge_lost_attempt(job_id, how))
		{
			/* running again elsewhere: charge it once that run ends */
			sj_inflight_put_back(dboid, e, job_id, how);
			seen[e] = true;
			deferred = true;
		}
	}
	pfree(gone);
	return deferred;
}

/*
 * sj_dispatch_procedure_jobs
 *		Called by the scheduler in its pass: wake idle executors, or start
 *		new ones, for the procedure jobs that are due, and start one shortly
 *		before the next job if none runs.  Returns when the scheduler must
 *		look again: the earliest future procedure job (or shortly before it,
 *		to start that executor), or soon if an executor could not be started.
 *		Looks from `from` on, up to the scan horizon (clock.c), and raises
 *		the executors' floor to the earliest job it finds, or to the horizon
 *		(shmem.c).  Inside a transaction, with SPI, whose
 *		snapshot was taken after sj_floor_scan_start() and before from was
 *		read.
 */
TimestampTz
sj_dispatch_procedure_jobs(int dbslot, TimestampTz from)
{
	bool		deferred;
	Oid			argtypes[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	TimestampTz horizon = sj_scan_horizon();
	Datum		values[3] = {TimestampTzGetDatum(sj_now()),
	TimestampTzGetDatum(from), TimestampTzGetDatum(horizon)};
	TimestampTz earliest = DT_NOEND;
	SjExecutorSlot *ex;
	int64		n_due;
	TimestampTz next = DT_NOEND;
	bool		isnull;
	Datum		d;
	int64		wanted;
	int			idle = 0,
				starting = 0,
				running = 0;
	int			v;

	if (SjShmem->max_executors == 0)
		return DT_NOEND;
	if (exec_handles == NULL)
		exec_handles =
			MemoryContextAllocZero(TopMemoryContext,
								   SjShmem->max_executors *
								   sizeof(BackgroundWorkerHandle *));
	v = sj_has_schedules() ? 1 : 0;
	if (dispatch_plans[v] == NULL)
	{
		/*
		 * how many are due, the next one, the earliest from the floor ($2);
		 * up to the scan horizon ($3)
		 */
		const char *executor_job = v ? SJ_EXECUTOR_JOB : SJ_EXECUTOR_JOB_0_3;
		char	   *sql = psprintf("SELECT (SELECT pg_catalog.count(*) FROM (SELECT 1 FROM scheduled_jobs.jobs "
								   "  WHERE %s AND run_at OPERATOR(pg_catalog.<=) $1 "
								   "  AND run_at OPERATOR(pg_catalog.>=) $2 "
								   "  ORDER BY run_at LIMIT %d) d), "
								   "(SELECT run_at FROM scheduled_jobs.jobs "
								   "  WHERE %s AND run_at OPERATOR(pg_catalog.>) $1 "
								   "  AND run_at OPERATOR(pg_catalog.<) $3 "
								   "  ORDER BY run_at LIMIT 1), "
								   "(SELECT run_at FROM scheduled_jobs.jobs "
								   "  WHERE %s AND run_at OPERATOR(pg_catalog.>=) $2 "
								   "  AND run_at OPERATOR(pg_catalog.<) $3 "
								   "  ORDER BY run_at LIMIT 1)",
								   executor_job, SjShmem->max_executors,
								   executor_job, executor_job);

		dispatch_plans[v] = sj_prepare(sql, 3, argtypes);
	}
	deferred = collect_lost_attempts(dbslot, false);
	if (SPI_execute_plan(dispatch_plans[v], values, NULL, true, 1) !=
		SPI_OK_SELECT)
		elog(ERROR, "could not count due procedure jobs");
	n_due = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
					  &isnull);
	if (!isnull)
		next = DatumGetTimestampTz(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3,
					  &isnull);
	if (!isnull)
		earliest = DatumGetTimestampTz(d);
	sj_floor_raise(dbslot, SJ_FLOOR_CALL, Min(earliest, horizon));

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	ex = sj_executor_slots(dbslot);
	for (int e = 0; e < SjShmem->max_executors; e++)
	{
		pid_t		pid;

		/* forget registrations whose worker died before attaching */
		if (ex[e].reserved && ex[e].pid == 0 && exec_handles[e] &&
			GetBackgroundWorkerPid(exec_handles[e], &pid) == BGWH_STOPPED)
			ex[e].reserved = false;
		seen[e] = ex[e].pid != 0 || ex[e].reserved;
		if (ex[e].pid != 0 && ex[e].idle)
		{
			if (idle < n_due)
				SetLatch(ex[e].latch);
			idle++;
		}
		else if (ex[e].pid != 0)
			running++;
		else if (ex[e].reserved)
			starting++;
	}

	/*
	 * Starting an executor takes a fork and a connection, tens of ms: have
	 * one ready when the next procedure job comes due after a quiet spell.
	 * Wake up SJ_PREWARM_MS early for it if none runs.
	 */
	wanted = n_due;
	if (n_due == 0 && next != DT_NOEND && idle + running + starting == 0)
	{
		/* within the idle timeout, or the executor leaves before the job */
		int			lead_ms = Min(SJ_PREWARM_MS,
								  sj_executor_idle_timeout / 2);
		TimestampTz prewarm_at = next - lead_ms * INT64CONST(1000);

		if (prewarm_at <= sj_now())
			wanted = 1;
		else
			next = prewarm_at;
	}

	for (int e = 0; e < SjShmem->max_executors &&
		 wanted > idle + starting; e++)
	{
		if (ex[e].pid != 0 || ex[e].reserved)
			continue;
		if (exec_handles[e])
		{
			pfree(exec_handles[e]);
			exec_handles[e] = NULL;
		}
		if (!start_executor(dbslot, e))
		{
			TimestampTz now = sj_now();

			if (TimestampDifferenceExceeds(last_start_warning, now, 10000))
			{
				ereport(WARNING,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("could not start a scheduled_jobs executor"),
						 errdetail("No background worker slot is free; %d executors run, due procedure jobs wait.",
								   running + idle),
						 errhint("Raise max_worker_processes.")));
				last_start_warning = now;
			}
			next = Min(next, TimestampTzPlusMilliseconds(now, 1000));
			break;
		}
		seen[e] = true;
		starting++;
	}
	LWLockRelease(SjShmem->lock);
	/* a lost attempt waits to be charged: look again soon */
	if (deferred)
		next = Min(next, TimestampTzPlusMilliseconds(sj_now(), 100));
	return next;
}
