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
 *			 still pending, which raises the claims' floors (shmem.c).
 * The plan step has a transaction of its own when the fire step sent
 * NOTIFYs (they go out at its commit, before the look ahead) or failed;
 * else it runs in the fire step's transaction.
 * Publish that time and sleep until then (at most scheduled_jobs.max_sleep),
 * or until a committing backend sets the latch because it scheduled
 * something earlier.  See shmem.c for why no wake-up is lost.
 *
 * Firing itself, NOTIFY and acknowledged channels, is in fire.c.
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
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "clock.h"
#include "dispatch.h"
#include "fire.h"
#include "guc.h"
#include "job.h"
#include "occurrence.h"
#include "retention.h"
#include "scheduler.h"
#include "shmem.h"
#include "stats.h"
#include "worker.h"

/* Delays before retrying a step that failed (e.g. NOTIFY queue full). */
#define SJ_RETRY_MIN_MS		100
#define SJ_RETRY_MAX_MS		10000

/* Delay before looking again at due jobs that other transactions lock. */
#define SJ_LOCKED_RETRY_MS	10
/*
 * pruning job_history: between passes when nothing is due for that long;
 * when a prune found nothing to delete, the next one that much later; when
 * it deleted the last expired rows, the next one a second later: under a
 * load rows expire all the time, and a second's worth at a time holds up
 * firing less than a minute's (bench/churn.sh: the probes' lag p50 was
 * 14 ms while the scheduler caught up on a minute of 10,000 jobs/s, 4 ms
 * otherwise)
 */
#define SJ_PRUNE_QUIET_MS	20
#define SJ_PRUNE_INTERVAL_MS 60000
/* folding statistics: a full batch is followed by the next this soon */
#define SJ_COMPACT_AGAIN_MS 100
#define SJ_PRUNE_FOLLOW_MS	1000

/*
 * While a backlog fires (a pass fired a full batch), writing the counts
 * kept and folding statistics wait up to this much past their time: a
 * burst of schedules due at one minute counts one target per schedule, and
 * writing their rows a second into the burst held up the rest of it (for
 * 20,000 schedules, 0.25 s of the scheduler's time, and folding them 0.1 s:
 * perf).  A backlog that lasts longer still has them written every few
 * seconds.
 */
#define SJ_BACKLOG_DEFER_MS 5000

/*
 * While jobs keep coming (never SJ_PRUNE_QUIET_MS with nothing due, as at a
 * steady load of a few hundred jobs/s and more), a prune batch also runs
 * between passes that leave jobs due, once the passes since the last batch
 * took this many times as long as that batch: pruning then takes at most a
 * third of the scheduler's time, enough to delete what firing inserts (a
 * row costs the prune a third of what it costs the firing), and a due job
 * still waits for one batch at most.  Without it, history was not pruned at
 * all until the load stopped (bench/churn.sh, test/pgtap/retention.sql).
 */
#define SJ_PRUNE_BUSY_FACTOR 2

static int	my_dbslot = -1;

/*
 * the database's settings must be read again (start, SIGHUP, ALTER DATABASE)
 */
static bool settings_stale = true;
static bool started = false;

/* the fire step did the plan step's work too */
static bool planned = false;

/*
 * when to prune job_history and compact job_stats next (retention.c,
 * stats.c), the retry delays, and the earliest a prune batch may run while
 * jobs are due
 */
static TimestampTz next_prune = 0;
static TimestampTz next_compact = 0;
static int	compact_retry_ms = 0;
static int	prune_retry_ms = 0;
static int	stats_retry_ms = 0;

/* when the plan step last looked for jobs from -infinity, not the floors */
static TimestampTz last_full_scan = 0;
static TimestampTz busy_prune = 0;

/* rows deleted by the prune steps since the last one that was not full */
static int64 prune_round_deleted = 0;

static SPIPlanPtr earliest_plan = NULL;
static SPIPlanPtr paused_plan = NULL;

/* from $1, the floor: the entries below are those of fired jobs */
static const char *const earliest_sql =
"SELECT run_at FROM scheduled_jobs.jobs WHERE channel IS NOT NULL "
"  AND run_at OPERATOR(pg_catalog.>=) $1 AND run_at OPERATOR(pg_catalog.<) $2 "
"ORDER BY run_at LIMIT 1";

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

/*
 * Firing ahead (fire_at): the fire step may start this long before the
 * earliest NOTIFY job is due, and commits at its run_at.  Long enough for
 * the firing statement of a few jobs (a few tenths of a millisecond, more
 * with millions pending), short enough that the rows it locks are held no
 * longer than a commit takes.
 */
#define SJ_FIRE_AHEAD_US 1000

/* the run_at of the earliest pending NOTIFY job, as the last plan saw it */
static TimestampTz next_notify = DT_NOEND;

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

/*
 * Earliest run_at among pending NOTIFY jobs from `from` on, up to the scan
 * horizon (clock.c), or DT_NOEND; the NOTIFY floor rises to it (or to the
 * horizon).  With SPI, in a transaction whose snapshot was taken after
 * sj_floor_scan_start(), from read after it (shmem.c).
 */
static TimestampTz
earliest_notify_job(TimestampTz from)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	TimestampTz horizon = sj_scan_horizon();
	Datum		values[2] = {TimestampTzGetDatum(from), TimestampTzGetDatum(horizon)};
	TimestampTz earliest = DT_NOEND;
	bool		isnull;

	if (earliest_plan == NULL)
		earliest_plan = sj_prepare(earliest_sql, 2, argtypes);
	if (SPI_execute_plan(earliest_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the earliest job");
	if (SPI_processed > 0)
		earliest = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1,
													 &isnull));
	sj_floor_raise(my_dbslot, SJ_FLOOR_NOTIFY, Min(earliest, horizon));
	return earliest;
}

/*
 * The instant the fire step fires the NOTIFY jobs due by, and then commits
 * at: now, or, when the earliest pending job comes due within
 * SJ_FIRE_AHEAD_US, its run_at.  Firing ahead does all but the commit
 * before the job is due (claiming the jobs, moving them to job_history,
 * queuing their NOTIFYs), so that its NOTIFY goes out at its run_at plus
 * the commit alone, never before it; fired_at records that instant.  A
 * cancel_job() or reschedule_job() of such a job in that last moment waits
 * for the commit, and finds the job fired.  From 0.4.0 on (the firing
 * statement takes fired_at).  Inside a transaction, with SPI.
 */
static TimestampTz
fire_at(void)
{
	TimestampTz now = sj_xact_now();
	TimestampTz first;

	if (next_notify <= now || next_notify - now > SJ_FIRE_AHEAD_US ||
		!sj_has_schedules())
		return now;
	/* the earliest now, not as the last plan saw it */
	first = earliest_notify_job(sj_floor(my_dbslot, SJ_FLOOR_NOTIFY));
	return first > now && first - now <= SJ_FIRE_AHEAD_US ? first : now;
}

/*
 * What the plan step does: returns the time of the next pass, ahead of the
 * earliest NOTIFY job (fire_at).  Inside a transaction, with SPI, begun
 * after sj_floor_scan_start().
 *
 * The scans start at the floors; at least every max_sleep, from -infinity,
 * for jobs that plain SQL wrote without lowering them.
 */
static TimestampTz
plan(void)
{
	TimestampTz next;
	TimestampTz procedures;
	TimestampTz notify_from = sj_floor(my_dbslot, SJ_FLOOR_NOTIFY);
	TimestampTz call_from = sj_floor(my_dbslot, SJ_FLOOR_CALL);

	if (SjShmem->dbs[my_dbslot].paused)
		return TimestampTzPlusMilliseconds(sj_now(), sj_max_sleep);
	if (TimestampDifferenceExceeds(last_full_scan, GetCurrentTimestamp(),
								   sj_max_sleep))
	{
		last_full_scan = GetCurrentTimestamp();
		notify_from = call_from = DT_NOBEGIN;
	}
	next_notify = earliest_notify_job(notify_from);
	/* (Min evaluates its arguments twice: each scan once) */
	procedures = sj_dispatch_procedure_jobs(my_dbslot, call_from);
	next = next_notify == DT_NOEND ? DT_NOEND : next_notify - SJ_FIRE_AHEAD_US;
	next = Min(next, procedures);
	/* a repair that found a rule held by another transaction: again soon */
	if (SjShmem->dbs[my_dbslot].repair)
		next = Min(next, TimestampTzPlusMilliseconds(sj_now(), SJ_LOCKED_RETRY_MS));
	return next;
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

	/*
	 * A settings change (ALTER DATABASE ... SET) sets reload after it
	 * commits: take it before the snapshot of the step, which must see the
	 * change.  Taken inside, a change that commits between the snapshot and
	 * the read would be lost until the next one.
	 */
	if (SjShmem->dbs[my_dbslot].reload)
	{
		SjShmem->dbs[my_dbslot].reload = false;
		settings_stale = true;
		pg_memory_barrier();
	}
	/* this step may plan, which raises the floors (shmem.c) */
	sj_floor_scan_start(my_dbslot);
	begin_step();
	check_extension();
	if (settings_stale)
		read_settings();
	if (!started)
	{
		sj_dispatch_start(my_dbslot);
		started = true;
		SjShmem->dbs[my_dbslot].repair = true;
	}
	/* schedules a worker could not advance, and at start: see occurrence.c */
	if (SjShmem->dbs[my_dbslot].repair)
	{
		SjShmem->dbs[my_dbslot].repair = false;
		pg_memory_barrier();
		/* (no schedules before 0.4.0: nothing to repair) */
		if (sj_has_schedules() && !sj_repair_schedules())
			SjShmem->dbs[my_dbslot].repair = true;
	}
	if (!SjShmem->dbs[my_dbslot].paused)
	{
		TimestampTz due = fire_at();

		pgstat_report_activity(STATE_RUNNING, "firing due jobs");
		fired = sj_fire_notify_jobs(mcxt, due,
									sj_floor(my_dbslot, SJ_FLOOR_NOTIFY));
		/* fired ahead: the NOTIFYs go out at commit, which waits for due */
		if (fired > 0 && due > sj_xact_now())
			sj_sleep_until(due);
		/* concurrent schedules: the next run is due whatever this one does */
		if (sj_has_schedules())
			fired += sj_start_concurrent_occurrences();
	}
	/* nothing to send first: plan in this transaction, saving one */
	planned = fired == 0;
	if (planned)
	{
		next = plan();

		/*
		 * The earliest job is due within the firing-ahead window (woken by a
		 * commit, say, before the plan knew it): fire it ahead at once. Else,
		 * due, yet nothing fired: the due jobs are locked by transactions
		 * that act on them (an ack, a cancel, a reschedule). Look again
		 * shortly rather than spin; their commit or rollback decides.
		 */
		if (next_notify > sj_xact_now() &&
			next_notify - sj_xact_now() <= SJ_FIRE_AHEAD_US)
			next = sj_now();
		else if (next <= sj_xact_now() && !SjShmem->dbs[my_dbslot].paused)
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

	sj_floor_scan_start(my_dbslot);
	begin_step();
	next = plan();
	end_step();
	return next;
}

/*
 * The prune step (retention.c), between passes: the time of the next one,
 * now if a batch was full.  Whether the round of batches that ends with one
 * that is not full deleted anything decides the wait: a round whose last
 * full batch took the last expired rows ends with an empty batch, and must
 * still count as one that found some (at 10,000 jobs/s, 20 batches a
 * second, it often did, and the next prune came a minute later).
 */
static TimestampTz
prune_step(MemoryContext mcxt)
{
	bool		more;
	int			deleted;
	int64		round;

	begin_step();
	pgstat_report_activity(STATE_RUNNING, "pruning job_history");
	more = sj_prune_history(&deleted);
	end_step();
	pgstat_report_activity(STATE_IDLE, NULL);
	prune_round_deleted += deleted;
	if (more)
		return sj_now();
	round = prune_round_deleted;
	prune_round_deleted = 0;
	return TimestampTzPlusMilliseconds(sj_now(), round > 0 ?
									   SJ_PRUNE_FOLLOW_MS : SJ_PRUNE_INTERVAL_MS);
}

/*
 * The compaction step of the statistics (stats.c): once a minute, busy or
 * not, since it must keep up with a scheduler that is never quiet; a batch
 * takes a few milliseconds.  The time of the next one, soon if a batch was
 * full.
 */
static TimestampTz
compact_step(MemoryContext mcxt)
{
	bool		more;

	begin_step();
	pgstat_report_activity(STATE_RUNNING, "compacting job_stats");
	more = sj_stats_compact();
	end_step();
	pgstat_report_activity(STATE_IDLE, NULL);
	return TimestampTzPlusMilliseconds(sj_now(), more ? SJ_COMPACT_AGAIN_MS :
									   SJ_PRUNE_INTERVAL_MS);
}

/* The statistics step: write the counts this process keeps (stats.c). */
static TimestampTz
stats_step(MemoryContext mcxt)
{
	sj_stats_flush();
	return DT_NOEND;
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
	{
		TimestampTz planned_next = run_step(plan_step, loop_ctx, &plan_retry_ms);

		next = Min(next, planned_next);
	}

	/*
	 * A fire step that failed is tried again after its delay, not as soon as
	 * the plan step finds the jobs it could not fire due: else a fire step
	 * that keeps failing would spin, logging its error.
	 */
	if (fire_retry_ms > 0)
		next = Max(next, TimestampTzPlusMilliseconds(sj_now(), fire_retry_ms));
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
	/* whatever the table went through since a scheduler last raised them */
	sj_floor_reset(my_dbslot);
	before_shmem_exit(scheduler_detach, (Datum) 0);

	sj_worker_session_settings();
	sj_stats_defer(true);
	loop_ctx = AllocSetContextCreate(TopMemoryContext, "scheduled_jobs scheduler",
									 ALLOCSET_DEFAULT_SIZES);
	next_prune = 0;

	for (;;)
	{
		SjDbSlot   *slot = &SjShmem->dbs[my_dbslot];
		TimestampTz next;
		int			defer;

		pg_atomic_write_u64(&slot->next_wakeup, SJ_WAKE_ANY);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			settings_stale = true;
			/* a retention just changed applies at once */
			next_prune = 0;
			next_compact = 0;
		}

		MemoryContextSwitchTo(loop_ctx);
		next = scheduler_pass(loop_ctx);
		MemoryContextSwitchTo(loop_ctx);
		MemoryContextReset(loop_ctx);
		pg_atomic_write_u64(&slot->last_pass, (uint64) GetCurrentTimestamp());

		/*
		 * The counts of the jobs fired, a second after the first of them;
		 * while a backlog fires, later (SJ_BACKLOG_DEFER_MS).
		 */
		defer = next == DT_NOBEGIN ? SJ_BACKLOG_DEFER_MS : 0;
		if (!TIMESTAMP_IS_NOEND(sj_stats_flush_at()) &&
			TimestampTzPlusMilliseconds(sj_stats_flush_at(), defer) <= sj_now())
		{
			(void) run_step(stats_step, loop_ctx, &stats_retry_ms);
			MemoryContextReset(loop_ctx);
		}
		next = Min(next, sj_stats_flush_at());
		/* (not a reason to wake: a pass comes at least every max_sleep) */
		if (sj_now() >= TimestampTzPlusMilliseconds(next_compact, defer))
		{
			next_compact = run_step(compact_step, loop_ctx, &compact_retry_ms);
			MemoryContextReset(loop_ctx);
		}

		/*
		 * The table statistics of this pass, at most once a second: after
		 * every pass, also those of a backlog's full batches, else autovacuum
		 * would not see the rows that firing and pruning delete until the
		 * backlog is gone.
		 */
		pgstat_report_stat(false);

		/*
		 * Time to prune, and quiet or busy long enough since the last batch
		 * (SJ_PRUNE_BUSY_FACTOR): one batch, then look for due jobs again.
		 */
		if (sj_now() >= next_prune && !slot->paused &&
			(next > TimestampTzPlusMilliseconds(sj_now(), SJ_PRUNE_QUIET_MS) ||
			 sj_now() >= busy_prune))
		{
			TimestampTz start = sj_now();

			next_prune = run_step(prune_step, loop_ctx, &prune_retry_ms);
			busy_prune = sj_now() + SJ_PRUNE_BUSY_FACTOR * (sj_now() - start);
			MemoryContextReset(loop_ctx);
			continue;
		}

		/*
		 * Wake for the prune when it may run: when it is due, if quiet then;
		 * else once busy long enough.  Never while paused, nor for one that
		 * may not run yet: the loop would spin until it may.
		 */
		if (!slot->paused)
		{
			TimestampTz now = sj_now();
			TimestampTz prune_at = Max(now, next_prune);

			if (next <= TimestampTzPlusMilliseconds(prune_at, SJ_PRUNE_QUIET_MS))
				prune_at = Max(prune_at, busy_prune);
			next = Min(next, prune_at);
		}

		if (next <= sj_now())
			continue;
		pg_atomic_write_u64(&slot->next_wakeup, (uint64) next);
		if (next - sj_now() > USECS_PER_SEC)
			pgstat_report_stat(true);	/* a long sleep: flush statistics */
		(void) sj_wait_until(next, sj_max_sleep);
	}
}
