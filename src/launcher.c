/*
 * launcher.c
 *		The launcher: starts and restarts one scheduler per database.
 *
 * The launcher connects to no database, so it reads only pg_database.  It
 * cannot see which databases have the extension: it probes each database
 * that allows connections with a scheduler, as many at a time as there are
 * free slots.  A scheduler that finds the extension makes its slot ACTIVE
 * and stays; one that finds none marks the slot NO_EXTENSION and exits, and
 * the launcher frees the slot and remembers the database, so that only
 * databases with the extension hold slots (the states are in shmem.h).  A
 * remembered database is probed again when CREATE EXTENSION commits there
 * (the utility hook kicks it) or when a database is created.  A scheduler
 * that died for another reason is restarted with a growing delay.  Schedulers
 * are BGW_NEVER_RESTART: the launcher owns every restart, so DROP DATABASE
 * never meets a scheduler coming back on its own.
 *
 * The launcher sleeps on its latch: it is woken when a scheduler starts or
 * stops (bgw_notify_pid, and the scheduler's exit callback), when a database
 * is created or the extension is, and when DDL lets go of a database.  A
 * long safety cap (scheduled_jobs.max_sleep) rescans pg_database.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "job.h"
#include "launcher.h"
#include "shmem.h"
#include "worker.h"

/* Delays before restarting a scheduler that stopped without reason. */
#define SJ_RESTART_MIN_MS	1000
#define SJ_RESTART_MAX_MS	60000

/* Launcher-local state of each slot. */
typedef struct LauncherSlot
{
	BackgroundWorkerHandle *handle; /* scheduler we started, if any */
	int			delay_ms;		/* delay before the next restart */
} LauncherSlot;

static LauncherSlot *lslots;

/* Databases probed and found without the extension (TopMemoryContext). */
static List *no_extension = NIL;

/* Databases already warned about, so that the log says it once. */
static List *warned = NIL;

/* A database the launcher may probe. */
typedef struct LauncherDb
{
	Oid			oid;
	char		name[NAMEDATALEN];
} LauncherDb;

/*
 * sj_launcher_register
 *		Register the launcher with the postmaster.  Called from _PG_init.
 */
void
sj_launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, SJ_EXTENSION_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "sj_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "scheduled_jobs launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "scheduled_jobs launcher");
	RegisterBackgroundWorker(&worker);
}

static void
launcher_detach(int code, Datum arg)
{
	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	if (SjShmem->launcher_pid == MyProcPid)
	{
		SjShmem->launcher_pid = 0;
		SjShmem->launcher_latch = NULL;
	}
	LWLockRelease(SjShmem->lock);
}

/* The databases a scheduler may run in, as LauncherDb. */
static List *
database_list(void)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext caller = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;
		LauncherDb *entry;

		/* templates are copied with CREATE DATABASE: keep out of them */
		if (!db->datallowconn || db->datistemplate || db->datconnlimit == -2)
			continue;
		old = MemoryContextSwitchTo(caller);
		entry = palloc(sizeof(LauncherDb));
		entry->oid = db->oid;
		strlcpy(entry->name, NameStr(db->datname), NAMEDATALEN);
		dbs = lappend(dbs, entry);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	return dbs;
}

/* Start the scheduler of slot i.  Caller holds the lock exclusively. */
static void
start_scheduler(int i)
{
	SjDbSlot   *slot = &SjShmem->dbs[i];
	BackgroundWorkerHandle *handle;

	slot->last_start = GetCurrentTimestamp();
	handle = sj_start_worker("sj_scheduler_main", "scheduled_jobs scheduler", slot->dboid,
							 ObjectIdGetDatum(slot->dboid),
							 "scheduled_jobs scheduler for database %u", slot->dboid);
	if (handle == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the scheduled_jobs scheduler of database %u", slot->dboid),
				 errdetail("No background worker slot is free; jobs of that database wait."),
				 errhint("Raise max_worker_processes.")));
		lslots[i].delay_ms = Min(Max(lslots[i].delay_ms * 2,
									 SJ_RESTART_MIN_MS),
								 SJ_RESTART_MAX_MS);
		return;
	}
	lslots[i].handle = handle;
	slot->kicked = false;
}

static bool
db_listed(List *dbs, Oid dboid)
{
	ListCell   *lc;

	foreach(lc, dbs)
	{
		if (((LauncherDb *) lfirst(lc))->oid == dboid)
			return true;
	}
	return false;
}

/*
 * Whether an executor is still attached to database slot i: the slot must
 * not be given to another database (or anew to the same one) before they
 * all left.  Caller holds the lock.
 */
static bool
executors_attached(int i)
{
	SjExecutorSlot *ex = sj_executor_slots(i);

	for (int e = 0; e < SjShmem->max_executors; e++)
	{
		if (ex[e].pid != 0)
			return true;
	}
	return false;
}

/* Remember dboid in *list (kept in TopMemoryContext). */
static void
remember(List **list, Oid dboid)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	*list = list_append_unique_oid(*list, dboid);
	MemoryContextSwitchTo(old);
}

/*
 * One pass: match the slots with pg_database, then start every scheduler
 * that should run and does not.  Returns how long the launcher may sleep.
 */
static long
launcher_pass(void)
{
	List	   *dbs = database_list();
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = sj_max_sleep;
	ListCell   *lc;
	int			active = 0;

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	if (SjShmem->rescan)
	{
		/* a database or the extension was created: probe everything again */
		list_free(no_extension);
		no_extension = NIL;
		SjShmem->rescan = false;
	}

	/* free the slots of databases that are gone or have no extension */
	for (int i = 0; i < SjShmem->max_databases; i++)
	{
		SjDbSlot   *slot = &SjShmem->dbs[i];
		pid_t		pid;
		bool		gone;

		if (slot->state == SJ_DB_FREE)
			continue;
		if (slot->kicked)
			no_extension = list_delete_oid(no_extension, slot->dboid);
		gone = !db_listed(dbs, slot->dboid);
		if (!gone && slot->state != SJ_DB_NO_EXTENSION)
			continue;
		if (lslots[i].handle &&
			GetBackgroundWorkerPid(lslots[i].handle, &pid) != BGWH_STOPPED)
			continue;
		if (slot->hold_count > 0 || slot->scheduler_pid != 0 || slot->kicked ||
			executors_attached(i))
			continue;
		if (!gone)
			remember(&no_extension, slot->dboid);
		slot->dboid = InvalidOid;
		slot->state = SJ_DB_FREE;
		if (lslots[i].handle)
			pfree(lslots[i].handle);
		lslots[i].handle = NULL;
		lslots[i].delay_ms = 0;
	}

	/* probe the databases not known yet, in free slots */
	for (int i = 0; i < SjShmem->max_databases; i++)
		if (SjShmem->dbs[i].state == SJ_DB_ACTIVE)
			active++;
	foreach(lc, dbs)
	{
		LauncherDb *db = lfirst(lc);
		int			i;

		if (sj_find_db_slot(db->oid) >= 0 ||
			list_member_oid(no_extension, db->oid))
			continue;
		i = sj_find_db_slot(InvalidOid);
		if (i < 0)
		{
			/* probes end soon and free their slots; active slots do not */
			if (active >= SjShmem->max_databases &&
				!list_member_oid(warned, db->oid))
			{
				ereport(WARNING,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("scheduled_jobs cannot look for the extension in database \"%s\"", db->name),
						 errdetail("All %d slots of scheduled_jobs.max_databases are taken by databases with the extension; if \"%s\" has it too, its jobs do not fire.",
								   SjShmem->max_databases, db->name),
						 errhint("Raise scheduled_jobs.max_databases and restart the server.")));
				remember(&warned, db->oid);
			}
			continue;
		}
		sj_init_db_slot(i, db->oid, SJ_DB_PROBING);
		lslots[i].handle = NULL;
		lslots[i].delay_ms = 0;
	}

	/* start what should run */
	for (int i = 0; i < SjShmem->max_databases; i++)
	{
		SjDbSlot   *slot = &SjShmem->dbs[i];
		pid_t		pid;
		long		wait_ms;

		if ((slot->state != SJ_DB_PROBING && slot->state != SJ_DB_ACTIVE) ||
			slot->scheduler_pid != 0 || slot->hold_count > 0)
			continue;
		if (lslots[i].handle)
		{
			if (GetBackgroundWorkerPid(lslots[i].handle, &pid) != BGWH_STOPPED)
				continue;		/* starting: it attaches soon */
			pfree(lslots[i].handle);
			lslots[i].handle = NULL;

			/*
			 * It died without a reason: back off, unless it had run a while.
			 * DDL that held the database stopped it on purpose: no delay.
			 */
			if (slot->stopped_by_ddl)
				lslots[i].delay_ms = 0;
			else if (TimestampDifferenceExceeds(slot->last_start, now,
												SJ_RESTART_MAX_MS))
				lslots[i].delay_ms = SJ_RESTART_MIN_MS;
			else
				lslots[i].delay_ms = Min(Max(lslots[i].delay_ms * 2,
											 SJ_RESTART_MIN_MS),
										 SJ_RESTART_MAX_MS);
		}
		slot->stopped_by_ddl = false;
		if (slot->kicked)
			lslots[i].delay_ms = 0;

		wait_ms = TimestampDifferenceMilliseconds(now,
												  TimestampTzPlusMilliseconds(slot->last_start,
																			  lslots[i].delay_ms));
		if (slot->last_start != 0 && wait_ms > 0)
		{
			sleep_ms = Min(sleep_ms, wait_ms);
			continue;
		}
		start_scheduler(i);
	}
	LWLockRelease(SjShmem->lock);
	list_free_deep(dbs);
	return sleep_ms;
}

/*
 * sj_launcher_main
 *		Entry point of the launcher.
 */
void
sj_launcher_main(Datum main_arg)
{
	MemoryContext loop_ctx;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	SjShmem->launcher_pid = MyProcPid;
	SjShmem->launcher_latch = MyLatch;
	LWLockRelease(SjShmem->lock);
	before_shmem_exit(launcher_detach, (Datum) 0);

	lslots = MemoryContextAllocZero(TopMemoryContext,
									SjShmem->max_databases *
									sizeof(LauncherSlot));
	loop_ctx = AllocSetContextCreate(TopMemoryContext, "scheduled_jobs launcher",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		long		sleep_ms;

		MemoryContextSwitchTo(loop_ctx);
		sleep_ms = launcher_pass();
		MemoryContextReset(loop_ctx);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}
