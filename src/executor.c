/*
 * executor.c
 *		Executors: background workers that CALL procedure jobs.
 *
 * A pool of at most scheduled_jobs.max_executors executors per database,
 * started on demand by the scheduler (sj_dispatch_procedure_jobs) and gone
 * after scheduled_jobs.executor_idle_timeout without work.
 *
 * One job is one transaction:
 *	 claim (FOR UPDATE SKIP LOCKED: executors never share a job)
 *	 -> CALL procedure(payload) as the owner, in a subtransaction
 *	 -> move the job to job_history as succeeded (or, on error, record the
 *		error and retry later with backoff, or keep it as failed)
 *	 -> commit.
 * The procedure's effects and the job's completion commit together, so a
 * crash anywhere leaves the job either untouched (it runs again) or done.
 *
 * The CALL runs as the job's owner with SECURITY_LOCAL_USERID_CHANGE, as core
 * runs SECURITY DEFINER functions: the job cannot SET ROLE or SET SESSION
 * AUTHORIZATION back to the worker's superuser identity.  It runs under its
 * own GUC nest level, and what it leaves in the session (temp tables, LISTEN,
 * session advisory locks, prepared statements, held cursors) is cleared
 * before the next job.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "commands/prepare.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/json.h"
#include "utils/portal.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "executor.h"
#include "guc.h"
#include "shmem.h"
#include "worker.h"

/* How long before a procedure job is due an executor is started for it. */
#define SJ_PREWARM_MS 1000

/* Handles of the executors this scheduler started, by executor slot. */
static BackgroundWorkerHandle **exec_handles = NULL;
static TimestampTz last_start_warning = 0;

/* The executor's own slot, and its database's. */
static SjExecutorSlot *my_exec = NULL;
static int	my_dbslot = -1;

/* A claimed job, copied out of SPI memory. */
typedef struct SjJob
{
	int64		id;
	char	   *procedure;
	Datum		payload;
	Oid			owner;
	int32		attempts;		/* before this one */
	int32		max_attempts;
	int32		timeout_ms;		/* -1: the GUC default */
	TimestampTz fired_at;
	bool		group_commit;
} SjJob;

/* The jobs claimed by the transaction in progress (in job_ctx). */
static List *claimed_jobs = NIL;

/* CALL plans by procedure name, kept for the life of the executor. */
typedef struct CallPlan
{
	char		procedure[4 * NAMEDATALEN + 8];	/* hash key: quoted schema.name */
	SPIPlanPtr	plan;
} CallPlan;

static HTAB *call_plans = NULL;

static SPIPlanPtr dispatch_plan = NULL;
static SPIPlanPtr claim_plan = NULL;
static SPIPlanPtr claim_group_plan = NULL;
static SPIPlanPtr succeeded_plan = NULL;
static SPIPlanPtr failed_plan = NULL;
static SPIPlanPtr retry_plan = NULL;

/*
 * SELECT *: the executor reads columns by name, so that a 0.1.0 table
 * without group_commit still works until ALTER EXTENSION ... UPDATE.
 */
static const char *const claim_sql =
"SELECT * FROM scheduled_jobs.jobs "
"WHERE procedure IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
"ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED";

/* More group-commit jobs to run with the first one ($1), at most $2. */
static const char *const claim_group_sql =
"SELECT * FROM scheduled_jobs.jobs "
"WHERE procedure IS NOT NULL AND group_commit "
"  AND run_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
"  AND id OPERATOR(pg_catalog.<>) $1 "
"ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED";

/* The last attempt failed: $1 id, $2 fired_at, $3 last_error, $4 last_error_data */
static const char *const failed_sql =
"WITH done AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) $1 "
"  RETURNING " SJ_JOB_COLUMNS ") "
"INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS ", "
"  state, fired_at, finished_at) "
"SELECT id, run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, "
"  attempts OPERATOR(pg_catalog.+) 1, created_at, $3, $4, "
"  'failed', $2, pg_catalog.clock_timestamp() FROM done";

/* The jobs of $1 succeeded, in the transaction that started at $2. */
static const char *const succeeded_sql =
"WITH done AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) ANY ($1) "
"  RETURNING " SJ_JOB_COLUMNS ") "
"INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS ", "
"  state, fired_at, finished_at) "
"SELECT id, run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, "
"  attempts OPERATOR(pg_catalog.+) 1, created_at, last_error, last_error_data, "
"  'succeeded', $2, pg_catalog.clock_timestamp() FROM done";

/* $1 id, $2 next run_at, $3 last_error, $4 last_error_data */
static const char *const retry_sql =
"UPDATE scheduled_jobs.jobs SET attempts = attempts OPERATOR(pg_catalog.+) 1, "
"  run_at = $2, last_error = $3, last_error_data = $4 "
"WHERE id OPERATOR(pg_catalog.=) $1";


/* ----------------------------------------------------------------
 * Scheduler side
 * ----------------------------------------------------------------
 */

/* Register executor e of database slot dbslot.  Caller holds the lock. */
static bool
start_executor(int dbslot, int e)
{
	Oid			dboid = SjShmem->dbs[dbslot].dboid;

	exec_handles[e] = sj_start_worker("sj_executor_main", "scheduled_jobs executor", dboid,
									  Int32GetDatum(dbslot * SjShmem->max_executors + e),
									  "scheduled_jobs executor %d for database %u", e, dboid);
	if (exec_handles[e] == NULL)
		return false;
	sj_executor_slots(dbslot)[e].reserved = true;
	return true;
}

/*
 * sj_forget_executor_reservations
 *		Called by a new scheduler: executors that an earlier scheduler
 *		registered and that never attached will not; it has no handle to
 *		tell.  One that still attaches later finds its slot taken or free.
 */
void
sj_forget_executor_reservations(int dbslot)
{
	SjExecutorSlot *ex;

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	ex = sj_executor_slots(dbslot);
	for (int e = 0; e < SjShmem->max_executors; e++)
		if (ex[e].pid == 0)
			ex[e].reserved = false;
	LWLockRelease(SjShmem->lock);
}

/*
 * sj_dispatch_procedure_jobs
 *		Called by the scheduler in its pass: wake idle executors, or start new
 *		ones, for the procedure jobs that are due, and start one shortly
 *		before the next job if none runs.  Returns when the scheduler must
 *		look again: the earliest future procedure job (or shortly before it,
 *		to start that executor), or soon if an executor could not be started.
 *		Inside a transaction, with SPI.
 */
TimestampTz
sj_dispatch_procedure_jobs(int dbslot)
{
	SjExecutorSlot *ex;
	int64		n_due;
	TimestampTz next = DT_NOEND;
	bool		isnull;
	Datum		d;
	int64		wanted;
	int			idle = 0,
				starting = 0,
				running = 0;

	if (SjShmem->max_executors == 0)
		return DT_NOEND;
	if (exec_handles == NULL)
		exec_handles = MemoryContextAllocZero(TopMemoryContext,
											  SjShmem->max_executors * sizeof(BackgroundWorkerHandle *));
	if (dispatch_plan == NULL)
	{
		char	   *sql = psprintf("SELECT (SELECT pg_catalog.count(*) FROM (SELECT 1 FROM scheduled_jobs.jobs "
								   "  WHERE procedure IS NOT NULL AND run_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
								   "  ORDER BY run_at LIMIT %d) d), "
								   "(SELECT run_at FROM scheduled_jobs.jobs "
								   "  WHERE procedure IS NOT NULL AND run_at OPERATOR(pg_catalog.>) pg_catalog.now() "
								   "  ORDER BY run_at LIMIT 1)",
								   SjShmem->max_executors);

		dispatch_plan = sj_prepare(sql, 0, NULL);
	}
	if (SPI_execute_plan(dispatch_plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count due procedure jobs");
	n_due = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
		next = DatumGetTimestampTz(d);

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	ex = sj_executor_slots(dbslot);
	for (int e = 0; e < SjShmem->max_executors; e++)
	{
		pid_t		pid;

		/* forget registrations whose worker died before attaching */
		if (ex[e].reserved && ex[e].pid == 0 && exec_handles[e] &&
			GetBackgroundWorkerPid(exec_handles[e], &pid) == BGWH_STOPPED)
			ex[e].reserved = false;
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
		int			lead_ms = Min(SJ_PREWARM_MS, sj_executor_idle_timeout / 2);
		TimestampTz prewarm_at = next - lead_ms * INT64CONST(1000);

		if (prewarm_at <= GetCurrentTimestamp())
			wanted = 1;
		else
			next = prewarm_at;
	}

	for (int e = 0; e < SjShmem->max_executors && wanted > idle + starting; e++)
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
			TimestampTz now = GetCurrentTimestamp();

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
		starting++;
	}
	LWLockRelease(SjShmem->lock);
	return next;
}

/* ----------------------------------------------------------------
 * Executor side
 * ----------------------------------------------------------------
 */

static void
executor_detach(int code, Datum arg)
{
	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	if (my_exec->pid == MyProcPid)
	{
		my_exec->pid = 0;
		my_exec->latch = NULL;
		my_exec->idle = false;
		my_exec->reserved = false;
	}
	/* a job this executor had claimed may be due again: tell the scheduler */
	if (my_dbslot >= 0 && SjShmem->dbs[my_dbslot].scheduler_latch)
		SetLatch(SjShmem->dbs[my_dbslot].scheduler_latch);
	LWLockRelease(SjShmem->lock);
}

/* Delay before attempt n + 1 after n failed attempts: exponential, jittered. */
static int64
retry_delay_ms(int attempts)
{
	double		delay = sj_retry_base_delay;

	for (int i = 1; i < attempts && delay < sj_retry_max_delay; i++)
		delay *= 2;
	delay *= 1.0 + 0.25 * pg_prng_double(&pg_global_prng_state);
	return (int64) Min(delay, (double) sj_retry_max_delay);
}

/*
 * The error of an attempt as jsonb text: sqlstate, message, detail, hint,
 * context.  A procedure that ends the transaction gets a hint why it cannot.
 */
static char *
error_json(ErrorData *edata)
{
	StringInfoData buf;
	const char *hint = edata->hint;

	if (edata->sqlerrcode == ERRCODE_INVALID_TRANSACTION_TERMINATION)
		hint = "Procedure jobs run inside the job's transaction, so that their effects and the job's completion commit together: they cannot COMMIT or ROLLBACK.";

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"sqlstate\": ");
	escape_json(&buf, unpack_sql_state(edata->sqlerrcode));
	appendStringInfoString(&buf, ", \"message\": ");
	escape_json(&buf, edata->message ? edata->message : "");
	if (edata->detail)
	{
		appendStringInfoString(&buf, ", \"detail\": ");
		escape_json(&buf, edata->detail);
	}
	if (hint)
	{
		appendStringInfoString(&buf, ", \"hint\": ");
		escape_json(&buf, hint);
	}
	if (edata->context)
	{
		appendStringInfoString(&buf, ", \"context\": ");
		escape_json(&buf, edata->context);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * The kept plan of CALL procedure($1).  The plan cache re-plans it when the
 * procedure changes; a dropped procedure makes it fail, as it should.
 */
static SPIPlanPtr
call_plan(const char *procedure)
{
	CallPlan   *entry;
	bool		found;

	if (call_plans == NULL || hash_get_num_entries(call_plans) >= 1000)
	{
		HASHCTL		ctl;

		if (call_plans)
		{
			HASH_SEQ_STATUS status;

			hash_seq_init(&status, call_plans);
			while ((entry = hash_seq_search(&status)) != NULL)
				SPI_freeplan(entry->plan);
			hash_destroy(call_plans);
		}
		ctl.keysize = sizeof(((CallPlan *) NULL)->procedure);
		ctl.entrysize = sizeof(CallPlan);
		call_plans = hash_create("scheduled_jobs CALL plans", 64, &ctl,
								 HASH_ELEM | HASH_STRINGS);
	}
	if (strlen(procedure) >= sizeof(entry->procedure))
		elog(ERROR, "procedure name too long: %s", procedure);
	entry = hash_search(call_plans, procedure, HASH_ENTER, &found);
	if (!found)
	{
		Oid			argtypes[1] = {JSONBOID};
		char	   *sql;

		entry->plan = NULL;
		/* re-quote the stored name: it only ever reaches SQL quoted */
		sql = psprintf("CALL %s($1)",
					   NameListToQuotedString(stringToQualifiedNameList(procedure)));
		PG_TRY();
		{
			entry->plan = sj_prepare(sql, 1, argtypes);
		}
		PG_FINALLY();
		{
			if (entry->plan == NULL)
				hash_search(call_plans, procedure, HASH_REMOVE, NULL);
		}
		PG_END_TRY();
	}
	return entry->plan;
}

/*
 * Run the job's CALL as its owner, in a subtransaction of the job's
 * transaction.  Returns NULL on success, else the error (in job_ctx).
 */
static ErrorData *
call_procedure(SjJob *job, MemoryContext job_ctx)
{
	ResourceOwner owner = CurrentResourceOwner;
	volatile int timeout_ms = job->timeout_ms >= 0 ? job->timeout_ms : sj_job_timeout;
	ErrorData  *volatile edata = NULL;
	Oid			save_userid;
	int			save_sec_context;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(job_ctx);
	PG_TRY();
	{
		int			nestlevel;
		SPIPlanPtr	plan;
		ConstraintsSetStmt all_immediate = {.type = T_ConstraintsSetStmt};

		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(job->owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role %u, the owner of job " INT64_FORMAT ", does not exist",
							job->owner, job->id)));
		plan = call_plan(job->procedure);

		nestlevel = NewGUCNestLevel();
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(job->owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);

		if (SPI_execute_plan(plan, &job->payload, NULL, false, 0) < 0)
			elog(ERROR, "could not CALL %s", job->procedure);
		/* deferred constraints and triggers fire here, under this boundary */
		AfterTriggerSetState(&all_immediate);

		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		AtEOXact_GUC(false, nestlevel);

		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(job_ctx);
		edata = CopyErrorData();
		FlushErrorState();
		/* restores the user, the GUCs and SPI's state of before the CALL */
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(job_ctx);
	CurrentResourceOwner = owner;
	return edata;
}

/*
 * Clear what a job may have left in the session, before the next job (of the
 * same transaction, in group commit) or the executor's own SQL.  The user id,
 * security context and GUCs are restored by the job's own boundary already.
 * Inside the job's transaction: LISTEN is undone before it takes effect at
 * commit, temp objects are dropped with it.
 */
static void
clear_session(void)
{
	Oid			temp_nsp,
				temp_toast_nsp;

	GetTempNamespaceState(&temp_nsp, &temp_toast_nsp);
	if (OidIsValid(temp_nsp))
		ResetTempTableNamespace();
	Async_UnlistenAll();
	LockReleaseSession(USER_LOCKMETHOD);
	DropAllPreparedStatements();
	PortalHashTableDeleteAll();
	ResetSequenceCaches();
}

/* Move the jobs of the list, all succeeded, to job_history. */
static void
record_succeeded(List *jobs)
{
	Oid			argtypes[2] = {INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		values[2];
	Datum	   *ids = palloc(sizeof(Datum) * list_length(jobs));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, jobs)
		ids[n++] = Int64GetDatum(((SjJob *) lfirst(lc))->id);
	values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	if (succeeded_plan == NULL)
		succeeded_plan = sj_prepare(succeeded_sql, 2, argtypes);
	if (SPI_execute_plan(succeeded_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record succeeded jobs");
}

/*
 * Record a failed attempt of job: retried after a backoff, or kept as failed
 * after the last one.  Inside the job's transaction (or, when that
 * transaction itself failed, a new one), connected to SPI.
 */
static void
record_failed_attempt(SjJob *job, ErrorData *edata)
{
	Oid			argtypes[4] = {INT8OID, TIMESTAMPTZOID, TEXTOID, JSONBOID};
	Datum		values[4];

	values[0] = Int64GetDatum(job->id);
	values[2] = CStringGetTextDatum(edata->message ? edata->message : "");
	values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(error_json(edata)));
	if (job->attempts + 1 >= job->max_attempts)
	{
		values[1] = TimestampTzGetDatum(job->fired_at);
		if (failed_plan == NULL)
			failed_plan = sj_prepare(failed_sql, 4, argtypes);
		if (SPI_execute_plan(failed_plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not finish job " INT64_FORMAT, job->id);
	}
	else
	{
		TimestampTz next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   retry_delay_ms(job->attempts + 1));

		values[1] = TimestampTzGetDatum(next);
		if (retry_plan == NULL)
			retry_plan = sj_prepare(retry_sql, 4, argtypes);
		if (SPI_execute_plan(retry_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not reschedule job " INT64_FORMAT, job->id);
		/* the scheduler sleeps past the retry otherwise */
		sj_wake_scheduler_at_commit(next);
	}
	ereport(LOG,
			(errmsg("scheduled_jobs job " INT64_FORMAT " (CALL %s) failed: %s",
					job->id, job->procedure, edata->message ? edata->message : "")));
}

/* Copy the claimed job of row i of SPI_tuptable into job_ctx. */
static SjJob *
read_job(uint64 i, MemoryContext job_ctx)
{
	HeapTuple	tup = SPI_tuptable->vals[i];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	MemoryContext old = MemoryContextSwitchTo(job_ctx);
	SjJob	   *job = palloc(sizeof(SjJob));
	int			gc = SPI_fnumber(desc, "group_commit");
	bool		isnull;
	Datum		d;

#define COL(name) SPI_getbinval(tup, desc, SPI_fnumber(desc, name), &isnull)
	job->id = DatumGetInt64(COL("id"));
	job->procedure = TextDatumGetCString(COL("procedure"));
	job->payload = datumCopy(COL("payload"), false, -1);
	job->owner = DatumGetObjectId(COL("owner"));
	job->attempts = DatumGetInt32(COL("attempts"));
	job->max_attempts = DatumGetInt32(COL("max_attempts"));
	d = COL("timeout_ms");
	job->timeout_ms = isnull ? -1 : DatumGetInt32(d);
#undef COL
	job->group_commit = gc > 0 && DatumGetBool(SPI_getbinval(tup, desc, gc, &isnull));
	job->fired_at = GetCurrentTransactionStartTimestamp();
	MemoryContextSwitchTo(old);
	return job;
}

/*
 * Claim and run due procedure jobs in one transaction: one job, or, when it
 * accepts group commit, up to scheduled_jobs.group_commit_size such jobs,
 * each under its own boundary.  Returns false if none was due.
 */
static bool
run_jobs(MemoryContext job_ctx)
{
	List	   *succeeded = NIL;
	ListCell   *lc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (!OidIsValid(get_extension_oid("scheduled_jobs", true)))
	{
		/* DROP EXTENSION: leave, as the scheduler does */
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		proc_exit(0);
	}
	if (!sj_paused)
	{
		if (claim_plan == NULL)
			claim_plan = sj_prepare(claim_sql, 0, NULL);
		if (SPI_execute_plan(claim_plan, NULL, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not claim a procedure job");
	}
	else
		SPI_processed = 0;
	if (SPI_processed == 0)
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		return false;
	}
	my_exec->idle = false;

	/* in job_ctx: the error path reads them after the transaction is gone */
	claimed_jobs = list_make1(read_job(0, job_ctx));
	if (((SjJob *) linitial(claimed_jobs))->group_commit && sj_group_commit_size > 1)
	{
		Oid			argtypes[2] = {INT8OID, INT4OID};
		Datum		values[2];
		MemoryContext old;

		values[0] = Int64GetDatum(((SjJob *) linitial(claimed_jobs))->id);
		values[1] = Int32GetDatum(sj_group_commit_size - 1);
		if (claim_group_plan == NULL)
			claim_group_plan = sj_prepare(claim_group_sql, 2, argtypes);
		if (SPI_execute_plan(claim_group_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not claim group-commit jobs");
		old = MemoryContextSwitchTo(job_ctx);
		for (uint64 i = 0; i < SPI_processed; i++)
			claimed_jobs = lappend(claimed_jobs, read_job(i, job_ctx));
		MemoryContextSwitchTo(old);
	}

	foreach(lc, claimed_jobs)
	{
		SjJob	   *job = lfirst(lc);
		ErrorData  *edata;

		pgstat_report_activity(STATE_RUNNING,
							   psprintf("job " INT64_FORMAT ": CALL %s", job->id, job->procedure));
		edata = call_procedure(job, job_ctx);
		clear_session();
		if (edata)
			record_failed_attempt(job, edata);
		else
			succeeded = lappend(succeeded, job);
	}
	if (succeeded)
		record_succeeded(succeeded);

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	claimed_jobs = NIL;
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
		record_failed_attempt(job, edata);
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
	Oid			dboid;
	MemoryContext job_ctx;
	volatile TimestampTz idle_since = 0;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	LWLockAcquire(SjShmem->lock, LW_EXCLUSIVE);
	my_exec = &sj_executor_slots(dbslot)[index % SjShmem->max_executors];
	if (SjShmem->dbs[dbslot].dboid != dboid || my_exec->pid != 0 ||
		SjShmem->dbs[dbslot].hold_count > 0)
	{
		LWLockRelease(SjShmem->lock);
		proc_exit(0);
	}
	my_dbslot = dbslot;
	my_exec->pid = MyProcPid;
	my_exec->latch = MyLatch;
	my_exec->reserved = false;
	my_exec->idle = false;
	LWLockRelease(SjShmem->lock);
	before_shmem_exit(executor_detach, (Datum) 0);

	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
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
			foreach(lc, claimed_jobs)
				record_failed_transaction(lfirst(lc), edata, job_ctx);
			claimed_jobs = NIL;
			worked = false;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(job_ctx);
		MemoryContextReset(job_ctx);

		if (worked)
		{
			idle_since = 0;
			continue;
		}
		if (idle_since == 0)
			idle_since = GetCurrentTimestamp();
		else if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(),
											sj_executor_idle_timeout))
			proc_exit(0);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(sj_executor_idle_timeout, 1), PG_WAIT_EXTENSION);
	}
}
