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

#include "worker.h"

/*
 * sj_worker_session_settings
 *		Session settings of a worker's own SQL: a pinned search_path (ALTER
 *		DATABASE ... SET search_path applies to workers too), synchronous
 *		commit so that nothing is reported fired that a crash could undo, and
 *		index scans for the claim queries whatever the statistics say: the job
 *		table swings between empty and millions of rows faster than ANALYZE.
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
 */
SPIPlanPtr
sj_prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * sj_recover_from_error
 *		Report the error being handled, abort the transaction and get back to
 *		a clean state in loop_ctx.  Called in PG_CATCH at the top of a loop.
 */
void
sj_recover_from_error(MemoryContext loop_ctx)
{
	HOLD_INTERRUPTS();
	EmitErrorReport();
	AbortOutOfAnyTransaction();
	FlushErrorState();
	MemoryContextSwitchTo(loop_ctx);
	pgstat_report_activity(STATE_IDLE, NULL);
	RESUME_INTERRUPTS();
}
