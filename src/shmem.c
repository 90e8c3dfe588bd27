/*
 * shmem.c
 *		Shared memory of scheduled_jobs, and the commit-time wake-ups.
 *
 * Wake-up without lost wake-ups: each scheduler publishes in its slot the
 * run_at it sleeps until (SJ_WAKE_ANY while it scans), resets its latch, then
 * scans with a new snapshot.  A backend that committed a job due earlier than
 * the published value sets the scheduler's latch from its XACT_EVENT_COMMIT
 * callback, which runs after the commit is visible to new snapshots.  So a
 * commit is either seen by the scan, or finds a value that makes it set the
 * latch, or is later than the time the scheduler wakes up at anyway.
 *
 * Floors without lost jobs.  The claims start their index scans at a floor,
 * a lower bound on the run_at of the pending jobs of their kind kept in the
 * slot, so that they do not walk the entries of the jobs fired since the
 * oldest snapshot still held, which nothing can remove until it goes (a
 * REPEATABLE READ transaction held open 30 s leaves 30,000 of them at 1,000
 * jobs a second).  A backend that commits a job's run_at (schedule_job,
 * reschedule_job, a retry, a lease: sj_wake_scheduler_at_commit) lowers both
 * floors to it in the same callback, before it looks at the latch.  Only the
 * scheduler raises a floor, to the least run_at found by a scan that reads
 * from the floor without locking (so a job locked by another transaction
 * counts):
 *	 sj_floor_scan_start	clears floor_lowered;
 *	 then the scan's snapshot is taken, the floor read, the scan run;
 *	 sj_floor_raise			sets the floor to the least of what the scan
 *							found and floor_lowered.
 * A commit whose callback ran before the clear is visible to the snapshot,
 * and its run_at is at or above the floor read after (only the scheduler
 * raises it), so the scan finds the job; a commit whose callback ran after
 * the clear is in floor_lowered, or lowers the raised floor itself.  A claim
 * that reads the floor while a committed job's callback has yet to lower it
 * misses that job this once: the callback then wakes the scheduler, as
 * above, whose next pass reads the lowered floor.  Writes that bypass the
 * functions (plain SQL by the extension's owner) lower nothing: the
 * scheduler also scans from -infinity at least every scheduled_jobs.max_sleep
 * (which such writes waited for before, since they wake nothing), and the
 * floors go to -infinity after COPY into the table, COMMIT PREPARED (a
 * prepared transaction's callbacks are lost with its session), CREATE
 * EXTENSION and at the scheduler's start.
 */
#include "postgres.h"

#include <signal.h>

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/wait_event.h"

#include "guc.h"
#include "job.h"
#include "shmem.h"

SjShmemData *SjShmem = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* What this backend's transaction asks for at commit. */
static bool xact_wake = false;
static TimestampTz xact_min_run_at = 0;
static bool xact_lower = false;
static TimestampTz xact_lower_to = 0;
static Oid	xact_kick_db = InvalidOid;
static Oid	xact_reload_db = InvalidOid;
static bool xact_repair = false;

/* This transaction asked workers to let go of a job (cancel_job). */
static bool xact_cancel_requested = false;

/*
 * Databases this backend holds free of workers until its transaction ends.
 * One DDL statement holds at most two (CREATE DATABASE ... TEMPLATE holds
 * the template); a transaction block cannot run those statements at all.
 */
#define SJ_MAX_HELD 4
static Oid	held_dbs[SJ_MAX_HELD];
static int	n_held = 0;

/* How long DDL waits for the workers of a database to leave. */
#define SJ_HOLD_TIMEOUT_MS 10000

static Size
sj_shmem_size(void)
{
	Size		size;

	size = MAXALIGN(add_size(offsetof(SjShmemData, dbs),
							 mul_size(sj_max_databases, sizeof(SjDbSlot))));
	size = add_size(size,
					mul_size(mul_size(sj_max_databases, sj_max_executors),
							 sizeof(SjExecutorSlot)));
	return size;
}

static void
sj_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sj_shmem_size());
	RequestNamedLWLockTranche(SJ_EXTENSION_NAME, 1);
}

static void
sj_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	SjShmem = ShmemInitStruct(SJ_EXTENSION_NAME, sj_shmem_size(), &found);
	if (!found)
	{
		memset(SjShmem, 0, sj_shmem_size());
		SjShmem->lock = &(GetNamedLWLockTranche(SJ_EXTENSION_NAME))->lock;
		SjShmem->max_databases = sj_max_databases;
		SjShmem->max_executors = sj_max_executors;
		for (int i = 0; i < sj_max_databases; i++)
		{
			SpinLockInit(&SjShmem->dbs[i].floor_lock);
			for (int k = 0; k < SJ_NUM_FLOORS; k++)
			{
				SjShmem->dbs[i].floor[k] = DT_NOBEGIN;
				SjShmem->dbs[i].floor_lowered[k] = DT_NOBEGIN;
			}
			pg_atomic_init_u64(&SjShmem->dbs[i].next_wakeup, SJ_WAKE_ANY);
			pg_atomic_init_u32(&SjShmem->dbs[i].n_cancels, 0);
			pg_atomic_init_u64(&SjShmem->dbs[i].last_pass, 0);
		}
		for (int i = 0; i < sj_max_databases; i++)
			for (int e = 0; e < sj_max_executors; e++)
				pg_atomic_init_u64(&sj_executor_slots(i)[e].running_job, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * sj_executor_slots
 *		The executor slots of database slot dbslot.
 */
SjExecutorSlot *
sj_executor_slots(int dbslot)
{
	char	   *base = (char *) SjShmem;
	Size		off = MAXALIGN(offsetof(SjShmemData, dbs) +
							   SjShmem->max_databases * sizeof(SjDbSlot));

	return ((SjExecutorSlot *) (base + off)) + dbslot * SjShmem->max_executors;
}

/*
 * sj_find_db_slot
 *		Index of the slot of dboid, or -1.  Caller holds SjShmem->lock.
 */
int
sj_find_db_slot(Oid dboid)
{
	for (int i = 0; i < SjShmem->max_databases; i++)
		if (SjShmem->dbs[i].dboid == dboid)
			return i;
	return -1;
}

/*
 * sj_init_db_slot
 *		Give free slot i to dboid, in state.  Caller holds SjShmem->lock
 *		exclusively.
 */
void
sj_init_db_slot(int i, Oid dboid, SjDbState state)
{
	SjDbSlot   *slot = &SjShmem->dbs[i];
	SjExecutorSlot *ex = sj_executor_slots(i);

	slot->dboid = dboid;
	slot->state = state;
	slot->scheduler_pid = 0;
	slot->scheduler_latch = NULL;
	pg_atomic_write_u64(&slot->next_wakeup, SJ_WAKE_ANY);
	slot->kicked = false;
	slot->hold_count = 0;
	slot->stopped_by_ddl = false;
	slot->last_start = 0;
	slot->paused = false;
	slot->reload = false;
	slot->repair = false;
	pg_atomic_write_u64(&slot->last_pass, 0);
	slot->last_error[0] = '\0';
	slot->last_error_at = 0;
	memset(slot->cancels, 0, sizeof(slot->cancels));
	pg_atomic_write_u32(&slot->n_cancels, 0);
	sj_floor_reset(i);
	for (int e = 0; e < SjShmem->max_executors; e++)
	{
		ex[e].pid = 0;
		ex[e].latch = NULL;
		ex[e].reserved = false;
		ex[e].idle = false;
		pg_atomic_write_u64(&ex[e].running_job, 0);
	}
}

/*
 * sj_db_slot_available
 *		Whether dboid has, or can get, a database slot: it has one, or fewer
 *		slots than scheduled_jobs.max_databases belong to databases with the
 *		extension (probes and free slots are given up for it).
 */
bool
sj_db_slot_available(Oid dboid)
{
	int			active = 0;
	bool		found = false;

	if (SjShmem == NULL)
		return true;
	LWLockAcquire(SjShmem->lock, LW_SHARED);
	for (int i = 0; i < SjShmem->max_databases; i++)
	{
		SjDbSlot   *slot = &SjShmem->dbs[i];

		if (slot->dboid == dboid && slot->state != SJ_DB_FREE)
			found = true;
		else if (slot->state == SJ_DB_ACTIVE)
			active++;
	}
	LWLockRelease(SjShmem->lock);
	return found || active < SjShmem->max_databases;
}

/*
 * sj_wake_scheduler_at_commit
 *		The current transaction wrote a pending job due at run_at (inserted
 *		it, or set its run_at): when it commits, lower this database's floors
 *		to run_at and wake its scheduler if it sleeps past run_at.
 *		DT_NOBEGIN: rows whose run_at is not known (COPY).
 *
 * Every write of a job's run_at calls it, or sj_lower_floors_at_commit
 * where the scheduler need not wake: a claim does not see a job below its
 * floor until the scheduler's next scan from -infinity.
 */
void
sj_wake_scheduler_at_commit(TimestampTz run_at)
{
	sj_lower_floors_at_commit(run_at);
	if (!xact_wake || run_at < xact_min_run_at)
		xact_min_run_at = run_at;
	xact_wake = true;
}

/*
 * sj_wake_scheduler_any_at_commit
 *		Wake this database's scheduler when the current transaction commits,
 *		whatever it sleeps until, for work that is no job's run_at (a
 *		schedule to repair or go on, the extension dropped).
 */
void
sj_wake_scheduler_any_at_commit(void)
{
	xact_min_run_at = DT_NOBEGIN;
	xact_wake = true;
}

/*
 * sj_lower_floors_at_commit
 *		Lower this database's floors to run_at when the current transaction
 *		commits, without waking the scheduler: its own writes.
 */
void
sj_lower_floors_at_commit(TimestampTz run_at)
{
	if (!xact_lower || run_at < xact_lower_to)
		xact_lower_to = run_at;
	xact_lower = true;
}

/*
 * sj_repair_schedules_at_commit
 *		Have this database's scheduler repair its schedules (occurrence.c)
 *		when the current transaction commits.
 */
void
sj_repair_schedules_at_commit(void)
{
	xact_repair = true;
	sj_wake_scheduler_any_at_commit();
}

/* Lower both floors of slot to run_at.  Must neither allocate nor fail. */
static void
lower_floors(SjDbSlot *slot, TimestampTz run_at)
{
	SpinLockAcquire(&slot->floor_lock);
	for (int k = 0; k < SJ_NUM_FLOORS; k++)
	{
		slot->floor[k] = Min(slot->floor[k], run_at);
		slot->floor_lowered[k] = Min(slot->floor_lowered[k], run_at);
	}
	SpinLockRelease(&slot->floor_lock);
}

/*
 * At commit, before the wake-up: lower this database's floors to the least
 * run_at the transaction wrote.  Reads the slots without the lock, as
 * wake_scheduler_now does: a slot given to another database meanwhile has
 * its floors lowered for nothing, and a new slot of this one starts at
 * -infinity.
 */
static void
lower_floors_now(void)
{
	for (int i = 0; i < SjShmem->max_databases; i++)
	{
		volatile SjDbSlot *slot = &SjShmem->dbs[i];

		if (slot->dboid == MyDatabaseId)
		{
			lower_floors(&SjShmem->dbs[i], xact_lower_to);
			return;
		}
	}
}

/*
 * sj_floor
 *		The floor of kind of database slot dbslot: the claims of that kind
 *		read from it.
 */
TimestampTz
sj_floor(int dbslot, SjFloorKind kind)
{
	SjDbSlot   *slot = &SjShmem->dbs[dbslot];
	TimestampTz floor;

	SpinLockAcquire(&slot->floor_lock);
	floor = slot->floor[kind];
	SpinLockRelease(&slot->floor_lock);
	return floor;
}

/*
 * sj_floor_scan_start
 *		The scheduler is about to take the snapshot of a scan that may raise
 *		the floors: from now on, remember what commits lower them to.
 */
void
sj_floor_scan_start(int dbslot)
{
	SjDbSlot   *slot = &SjShmem->dbs[dbslot];

	SpinLockAcquire(&slot->floor_lock);
	for (int k = 0; k < SJ_NUM_FLOORS; k++)
		slot->floor_lowered[k] = DT_NOEND;
	SpinLockRelease(&slot->floor_lock);
}

/*
 * sj_floor_raise
 *		The scheduler's scan, with a snapshot taken after sj_floor_scan_start
 *		and reading from a floor read after that snapshot (or from
 *		-infinity), found no pending job of kind below least (DT_NOEND: none
 *		at all): set the floor to least, or lower if a commit since the
 *		scan's start lowered it below.
 */
void
sj_floor_raise(int dbslot, SjFloorKind kind, TimestampTz least)
{
	SjDbSlot   *slot = &SjShmem->dbs[dbslot];

	SpinLockAcquire(&slot->floor_lock);
	slot->floor[kind] = Min(least, slot->floor_lowered[kind]);
	SpinLockRelease(&slot->floor_lock);
}

/*
 * sj_floor_reset
 *		Both floors of database slot dbslot to -infinity: the claims read from
 *		the first entry until the scheduler raises them again.
 */
void
sj_floor_reset(int dbslot)
{
	lower_floors(&SjShmem->dbs[dbslot], DT_NOBEGIN);
}

/*
 * sj_wake_database_at_commit
 *		Wake the scheduler of dboid when the current transaction commits,
 *		to re-read its database's settings (ALTER DATABASE ... SET).
 */
void
sj_wake_database_at_commit(Oid dboid)
{
	xact_reload_db = dboid;
}

/*
 * sj_kick_launcher_at_commit
 *		Ask the launcher to (re)start the scheduler of dboid when the current
 *		transaction commits: the extension was just created there.
 */
void
sj_kick_launcher_at_commit(Oid dboid)
{
	xact_kick_db = dboid;
}

/*
 * Commit-time wake-up of this database's scheduler.  Runs after the commit;
 * must neither allocate nor fail.  Reads the slots without the lock: a stale
 * read can at worst set the latch of a PGPROC whose owner just changed, a
 * spurious wake-up, since latches live in shared memory for good.
 */
static void
wake_scheduler_now(void)
{
	for (int i = 0; i < SjShmem->max_databases; i++)
	{
		volatile SjDbSlot *slot = &SjShmem->dbs[i];
		Latch	   *latch;

		if (slot->dboid != MyDatabaseId)
			continue;
		pg_memory_barrier();
		if ((int64) pg_atomic_read_u64(&SjShmem->dbs[i].next_wakeup) <=
			xact_min_run_at)
			return;
		latch = slot->scheduler_latch;
		if (latch)
			SetLatch(latch);
		return;
	}
}

/* At commit: flag this database's slot for a repair.  Must not fail. */
static void
request_repair_now(void)
{
	for (int i = 0; i < SjShmem->max_databases; i++)
	{
		volatile SjDbSlot *slot = &SjShmem->dbs[i];

		if (slot->dboid == MyDatabaseId)
		{
			slot->repair = true;
			pg_memory_barrier();
			return;
		}
	}
}

/*
 * sj_wake_database_now
 *		Set the latch of the scheduler of dboid, which then re-reads its
 *		database's settings and looks for due jobs, and with kick, have the
 *		launcher start one there now if none runs (the extension was just
 *		created).  Must not fail: runs after commit too.
 */
void
sj_wake_database_now(Oid dboid, bool kick)
{
	int			i;

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	i = sj_find_db_slot(dboid);
	if (i < 0 && kick)
	{
		/* take a free slot, or have the launcher find one */
		i = sj_find_db_slot(InvalidOid);
		if (i >= 0)
			sj_init_db_slot(i, dboid, SJ_DB_PROBING);
		else
			SjShmem->rescan = true;
	}
	if (i >= 0)
	{
		SjDbSlot   *slot = &SjShmem->dbs[i];

		/* jobs no commit callback lowered the floors for (COMMIT PREPARED) */
		sj_floor_reset(i);
		slot->reload = true;
		if (slot->state == SJ_DB_ACTIVE && slot->scheduler_pid != 0)
			kick = false;		/* it runs: the latch is enough */
		if (kick)
		{
			slot->kicked = true;
			if (slot->state != SJ_DB_ACTIVE)
				slot->state = SJ_DB_PROBING;
		}
		if (slot->scheduler_latch)
			SetLatch(slot->scheduler_latch);
	}
	if (kick && SjShmem->launcher_latch)
		SetLatch(SjShmem->launcher_latch);
	LWLockRelease(SjShmem->lock);
}

/*
 * sj_hold_database
 *		Stop the scheduler and executors of dboid and keep the launcher from
 *		restarting them until the current transaction ends, so that DROP
 *		DATABASE and its kin, which refuse while other sessions are
 *		connected, go through.  Waits up to SJ_HOLD_TIMEOUT_MS for the
 *		workers to exit.
 */
void
sj_hold_database(Oid dboid)
{
	TimestampTz deadline;
	int			i;

	if (SjShmem == NULL)
		return;
	if (n_held >= SJ_MAX_HELD)
		elog(ERROR, "scheduled_jobs holds too many databases in one transaction");

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	i = sj_find_db_slot(dboid);
	if (i < 0)
	{
		/* unknown database: take a free slot so the launcher stays away */
		i = sj_find_db_slot(InvalidOid);
		if (i < 0)
		{
			LWLockRelease(SjShmem->lock);
			return;
		}
		sj_init_db_slot(i, dboid, SJ_DB_PROBING);
	}
	SjShmem->dbs[i].hold_count++;
	SjShmem->dbs[i].stopped_by_ddl = true;
	held_dbs[n_held++] = dboid;
	LWLockRelease(SjShmem->lock);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   SJ_HOLD_TIMEOUT_MS);
	for (;;)
	{
		bool		busy = false;
		SjExecutorSlot *ex;

		LWLockAcquire(SjShmem->lock, LW_SHARED);
		if (SjShmem->dbs[i].scheduler_pid != 0)
		{
			busy = true;
			kill(SjShmem->dbs[i].scheduler_pid, SIGTERM);
		}
		ex = sj_executor_slots(i);
		for (int e = 0; e < SjShmem->max_executors; e++)
		{
			if (ex[e].pid != 0)
			{
				busy = true;
				kill(ex[e].pid, SIGTERM);
			}
			else if (ex[e].reserved)
				busy = true;
		}
		LWLockRelease(SjShmem->lock);

		if (!busy || GetCurrentTimestamp() >= deadline)
			break;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Let go of the databases held by this transaction; the launcher takes over.
 */
static void
release_holds(void)
{
	if (n_held == 0)
		return;
	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	for (int h = 0; h < n_held; h++)
	{
		int			i = sj_find_db_slot(held_dbs[h]);

		if (i >= 0 && SjShmem->dbs[i].hold_count > 0)
			SjShmem->dbs[i].hold_count--;
	}
	if (SjShmem->launcher_latch)
		SetLatch(SjShmem->launcher_latch);
	LWLockRelease(SjShmem->lock);
	n_held = 0;
}

/*
 * At commit, the wake-ups the transaction asked for.  A prepared transaction
 * forgets them: COMMIT PREPARED wakes the database instead (utility.c).
 */
static void
sj_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			/* before the wake-up: the pass it causes reads the floors */
			if (xact_lower)
				lower_floors_now();
			if (xact_repair)
				request_repair_now();
			if (xact_wake)
				wake_scheduler_now();
			if (OidIsValid(xact_kick_db))
				sj_wake_database_now(xact_kick_db, true);
			if (OidIsValid(xact_reload_db))
				sj_wake_database_now(xact_reload_db, false);
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
			/* a job a rolled-back cancel_job() stopped is due again */
			if (event == XACT_EVENT_ABORT && xact_cancel_requested)
			{
				xact_min_run_at = DT_NOBEGIN;
				wake_scheduler_now();
			}
			/* FALLTHROUGH */
		case XACT_EVENT_PREPARE:
			release_holds();
			xact_wake = false;
			xact_lower = false;
			xact_kick_db = InvalidOid;
			xact_reload_db = InvalidOid;
			xact_cancel_requested = false;
			xact_repair = false;
			break;
		default:
			break;
	}
}

/*
 * sj_shmem_init
 *		Ask for shared memory and install the transaction callback.  Called
 *		from _PG_init in the postmaster; backends inherit both.
 */
void
sj_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sj_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sj_shmem_startup;
	RegisterXactCallback(sj_xact_callback, NULL);
}

/*
 * sj_request_cancel
 *		Ask the executors of this database to stop job_id if they run it or
 *		have claimed it, on behalf of the current transaction: an executor
 *		honours the request while this transaction is in progress, and
 *		leaves the job pending for it.  Interrupts the executor whose CALL
 *		runs the job.  Returns false if no request entry is free.
 */
bool
sj_request_cancel(int64 job_id)
{
	TransactionId xid = GetTopTransactionId();
	SjCancelRequest *entry = NULL;
	SjExecutorSlot *ex;
	int			i;

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	i = sj_find_db_slot(MyDatabaseId);
	if (i < 0)
	{
		LWLockRelease(SjShmem->lock);
		return false;
	}
	for (int r = 0; r < SJ_MAX_CANCEL_REQUESTS; r++)
	{
		SjCancelRequest *req = &SjShmem->dbs[i].cancels[r];

		if (req->job_id == job_id && req->xid == xid)
		{
			entry = req;
			break;
		}
		if (entry == NULL &&
			(req->job_id == 0 || !TransactionIdIsInProgress(req->xid)))
			entry = req;
	}
	if (entry == NULL)
	{
		LWLockRelease(SjShmem->lock);
		return false;
	}
	if (entry->job_id == 0)
		pg_atomic_add_fetch_u32(&SjShmem->dbs[i].n_cancels, 1);
	entry->job_id = job_id;
	entry->xid = xid;
	xact_cancel_requested = true;
	ex = sj_executor_slots(i);
	for (int e = 0; e < SjShmem->max_executors; e++)
		if (ex[e].pid != 0 &&
			(int64) pg_atomic_read_u64(&ex[e].running_job) == job_id)
			kill(ex[e].pid, SIGINT);
	LWLockRelease(SjShmem->lock);
	return true;
}

/*
 * sj_withdraw_cancel
 *		Take back this transaction's request to cancel job_id.
 */
void
sj_withdraw_cancel(int64 job_id)
{
	TransactionId xid = GetTopTransactionIdIfAny();
	int			i;

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	i = sj_find_db_slot(MyDatabaseId);
	for (int r = 0; i >= 0 && r < SJ_MAX_CANCEL_REQUESTS; r++)
	{
		SjCancelRequest *req = &SjShmem->dbs[i].cancels[r];

		if (req->job_id == job_id && req->xid == xid)
		{
			req->job_id = 0;
			pg_atomic_sub_fetch_u32(&SjShmem->dbs[i].n_cancels, 1);
		}
	}
	LWLockRelease(SjShmem->lock);
}

/*
 * sj_cancel_requested
 *		Whether a transaction still in progress asked to cancel job_id of
 *		database slot dbslot.
 */
bool
sj_cancel_requested(int dbslot, int64 job_id)
{
	bool		requested = false;

	/* the common case, no request at all, without the lock */
	if (pg_atomic_read_u32(&SjShmem->dbs[dbslot].n_cancels) == 0)
		return false;
	LWLockAcquire(SjShmem->lock, LW_SHARED);
	for (int r = 0; r < SJ_MAX_CANCEL_REQUESTS; r++)
	{
		SjCancelRequest *req = &SjShmem->dbs[dbslot].cancels[r];

		if (req->job_id == job_id && TransactionIdIsInProgress(req->xid))
		{
			requested = true;
			break;
		}
	}
	LWLockRelease(SjShmem->lock);
	return requested;
}

/*
 * sj_note_worker_error
 *		Keep the error a worker of this database just recovered from, for
 *		status().  Outside a transaction, after the abort.
 */
void
sj_note_worker_error(const char *sqlstate, const char *message)
{
	int			i;

	if (SjShmem == NULL)
		return;
	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	i = sj_find_db_slot(MyDatabaseId);
	if (i >= 0)
	{
		snprintf(SjShmem->dbs[i].last_error, SJ_LAST_ERROR_LEN, "%s: %s",
				 sqlstate, message ? message : "");
		SjShmem->dbs[i].last_error_at = GetCurrentTimestamp();
	}
	LWLockRelease(SjShmem->lock);
}
