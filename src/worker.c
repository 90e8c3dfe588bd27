/*
 * worker.c
 *		Helpers shared by the scheduler and the executors.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "postmaster/bgworker.h"
#include "storage/fd.h"
#include "utils/pidfile.h"

#include "job.h"
#include "shmem.h"
#include "worker.h"

/*
 * sj_worker_session_settings
 *		Session settings of a worker's own SQL: a pinned search_path (ALTER
 *		DATABASE ... SET search_path applies to workers too), synchronous
 *		commit so that nothing is reported fired that a crash could undo, and
 *		index scans for the claim queries whatever the statistics say: the
 *		job table swings between empty and millions of rows faster than
 *		ANALYZE.
 */
void
sj_worker_session_settings(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("enable_seqscan", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("enable_bitmapscan", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("max_parallel_workers_per_gather", "0", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * sj_prepare
 *		Prepare and keep a plan.  Inside a transaction, connected to SPI.
 *
 * Generic plans only: the claim statements take the clock as a parameter,
 * and a custom plan would be planned anew at every execution, for the same
 * index scan.
 */
SPIPlanPtr
sj_prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes,
										  CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * sj_execute_plan
 *		SPI_execute_plan of one of the workers' own statements with the
 *		planner settings of sj_worker_session_settings (no sequential or
 *		bitmap scans), which the executors do not set for their session,
 *		since the procedures they CALL must plan with the server's settings.
 *		A kept plan is made again whenever it is invalidated, so the settings
 *		are set for every execution: made while the table was empty, a plan
 *		that deletes a job by id would otherwise read the whole heap at each
 *		job, and the heap grows while a long-held snapshot keeps the rows of
 *		the jobs done since (or while millions of jobs are pending, until an
 *		autoanalyze).
 */
int
sj_execute_plan(SPIPlanPtr plan, Datum *values, const char *nulls,
				bool read_only, long count)
{
	int			nestlevel = NewGUCNestLevel();
	int			ret;

	(void) set_config_option("enable_seqscan", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	ret = SPI_execute_plan(plan, values, nulls, read_only, count);
	AtEOXact_GUC(true, nestlevel);
	return ret;
}

/*
 * sj_recover_from_error
 *		Report the error being handled, abort the transaction and get back to
 *		a clean state in loop_ctx.  Called in PG_CATCH at the top of a loop.
 */
void
sj_recover_from_error(MemoryContext loop_ctx)
{
	ErrorData  *edata;

	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(loop_ctx);
	edata = CopyErrorData();
	EmitErrorReport();
	AbortOutOfAnyTransaction();
	FlushErrorState();
	MemoryContextSwitchTo(loop_ctx);
	/* for status() */
	sj_note_worker_error(unpack_sql_state(edata->sqlerrcode), edata->message);
	FreeErrorData(edata);
	pgstat_report_activity(STATE_IDLE, NULL);
	RESUME_INTERRUPTS();
}

/*
 * sj_start_worker
 *		Register a dynamic worker of this library in database dboid (passed
 *		in bgw_extra too), never restarted by the postmaster, that notifies
 *		the caller of its start and stop.  Returns its handle, allocated for
 *		the life of the caller, or NULL if no worker slot is free.
 */
BackgroundWorkerHandle *
sj_start_worker(const char *function, const char *type, Oid dboid,
				Datum main_arg, const char *name_fmt,...)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	va_list		args;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, SJ_EXTENSION_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", type);
	va_start(args, name_fmt);
	vsnprintf(worker.bgw_name, BGW_MAXLEN, name_fmt, args);
	va_end(args);
	worker.bgw_main_arg = main_arg;
	memcpy(worker.bgw_extra, &dboid, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		handle = NULL;
	MemoryContextSwitchTo(old);
	return handle;
}

/*
 * sj_postmaster_stopping
 *		Whether the postmaster is shutting down (smart or fast): it says so
 *		in postmaster.pid before it signals its children.
 */
bool
sj_postmaster_stopping(void)
{
	/* the data directory's lock file, as miscinit.c names it */
	FILE	   *f = AllocateFile("postmaster.pid", "r");
	char		line[MAXPGPATH];
	bool		stopping = false;

	if (f == NULL)
		return false;
	for (int i = 1; fgets(line, sizeof(line), f) != NULL; i++)
	{
		if (i == LOCK_FILE_LINE_PM_STATUS)
		{
			stopping = strncmp(line, PM_STATUS_STOPPING,
							   strlen(PM_STATUS_STOPPING)) == 0;
			break;
		}
	}
	FreeFile(f);
	return stopping;
}
