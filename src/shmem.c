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
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/wait_event.h"

#include "api.h"
#include "guc.h"
#include "shmem.h"

SjShmemData *SjShmem = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* What this backend's transaction asks for at commit. */
static bool xact_wake = false;
static TimestampTz xact_min_run_at = 0;
static Oid	xact_kick_db = InvalidOid;

/* Databases this backend holds free of workers until its transaction ends. */
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
	size = add_size(size, mul_size(mul_size(sj_max_databases, sj_max_executors),
								   sizeof(SjExecutorSlot)));
	return size;
}

static void
sj_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sj_shmem_size());
	RequestNamedLWLockTranche("scheduled_jobs", 1);
}

static void
sj_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	SjShmem = ShmemInitStruct("scheduled_jobs", sj_shmem_size(), &found);
	if (!found)
	{
		memset(SjShmem, 0, sj_shmem_size());
		SjShmem->lock = &(GetNamedLWLockTranche("scheduled_jobs"))->lock;
		SjShmem->max_databases = sj_max_databases;
		SjShmem->max_executors = sj_max_executors;
		for (int i = 0; i < sj_max_databases; i++)
			pg_atomic_init_u64(&SjShmem->dbs[i].next_wakeup, SJ_WAKE_ANY);
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
 *		Give free slot i to dboid.  Caller holds SjShmem->lock exclusively.
 */
void
sj_init_db_slot(int i, Oid dboid)
{
	SjDbSlot   *slot = &SjShmem->dbs[i];
	SjExecutorSlot *ex = sj_executor_slots(i);

	slot->dboid = dboid;
	slot->scheduler_pid = 0;
	slot->scheduler_latch = NULL;
	pg_atomic_write_u64(&slot->next_wakeup, SJ_WAKE_ANY);
	slot->no_extension = false;
	slot->kicked = false;
	slot->hold_count = 0;
	slot->stopped_by_ddl = false;
	slot->last_start = 0;
	memset(ex, 0, SjShmem->max_executors * sizeof(SjExecutorSlot));
}

/*
 * sj_wake_scheduler_at_commit
 *		Wake this database's scheduler when the current transaction commits,
 *		if it sleeps past run_at.  DT_NOBEGIN wakes it in any case.
 */
void
sj_wake_scheduler_at_commit(TimestampTz run_at)
{
	if (!xact_wake || run_at < xact_min_run_at)
		xact_min_run_at = run_at;
	xact_wake = true;
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
		if ((int64) pg_atomic_read_u64(&SjShmem->dbs[i].next_wakeup) <= xact_min_run_at)
			return;
		latch = slot->scheduler_latch;
		if (latch)
			SetLatch(latch);
		return;
	}
}

static void
kick_launcher_now(Oid dboid)
{
	int			i;

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	i = sj_find_db_slot(dboid);
	if (i >= 0)
	{
		SjShmem->dbs[i].kicked = true;
		SjShmem->dbs[i].no_extension = false;
	}
	else
		SjShmem->rescan = true;
	if (SjShmem->launcher_latch)
		SetLatch(SjShmem->launcher_latch);
	LWLockRelease(SjShmem->lock);
}

/*
 * sj_hold_database
 *		Stop the scheduler and executors of dboid and keep the launcher from
 *		restarting them until the current transaction ends, so that DROP
 *		DATABASE and its kin, which refuse while other sessions are connected,
 *		go through.  Waits up to SJ_HOLD_TIMEOUT_MS for the workers to exit.
 */
void
sj_hold_database(Oid dboid)
{
	TimestampTz deadline;
	int			i;

	if (SjShmem == NULL || n_held >= SJ_MAX_HELD)
		return;

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
		sj_init_db_slot(i, dboid);
		SjShmem->dbs[i].no_extension = true;
	}
	SjShmem->dbs[i].hold_count++;
	SjShmem->dbs[i].stopped_by_ddl = true;
	held_dbs[n_held++] = dboid;
	LWLockRelease(SjShmem->lock);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SJ_HOLD_TIMEOUT_MS);
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
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Let go of the databases held by this transaction; the launcher takes over. */
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

static void
sj_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			sj_api_close_insert_state(true);
			break;
		case XACT_EVENT_COMMIT:
			if (xact_wake)
				wake_scheduler_now();
			if (OidIsValid(xact_kick_db))
				kick_launcher_now(xact_kick_db);
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			sj_api_close_insert_state(false);
			release_holds();
			xact_wake = false;
			xact_kick_db = InvalidOid;
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
