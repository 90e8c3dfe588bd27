/*
 * worker.h
 *		What the scheduler and executors share: session set-up, plans, and
 *		recovery from an error at the top of their loops.
 */
#ifndef SJ_WORKER_H
#define SJ_WORKER_H

#include "executor/spi.h"
#include "postmaster/bgworker.h"

/* The columns a job keeps from scheduled_jobs.jobs into job_history. */
#define SJ_JOB_COLUMNS \
	"id, run_at, channel, procedure, payload, job_key, max_attempts, " \
	"timeout_ms, owner, attempts, created_at, last_error, last_error_data"

/*
 * Cancel the pending jobs that match cond: move them to job_history as
 * cancelled.  Returns one row, how many.  (A count, not RETURNING, so that a
 * row limit on the statement can never cut the move short.)
 */
#define SJ_CANCEL_JOBS_SQL(cond) \
	"WITH c AS (DELETE FROM scheduled_jobs.jobs WHERE " cond \
	"  RETURNING " SJ_JOB_COLUMNS "), " \
	"h AS (INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS ", state, finished_at) " \
	"  SELECT " SJ_JOB_COLUMNS ", 'cancelled', pg_catalog.statement_timestamp() FROM c " \
	"  RETURNING 1) " \
	"SELECT pg_catalog.count(*) FROM h"

extern void sj_worker_session_settings(void);
extern SPIPlanPtr sj_prepare(const char *sql, int nargs, Oid *argtypes);
extern void sj_recover_from_error(MemoryContext loop_ctx);
extern BackgroundWorkerHandle *sj_start_worker(const char *function, const char *type,
											   Oid dboid, Datum main_arg,
											   const char *name_fmt,...) pg_attribute_printf(5, 6);

#endif							/* SJ_WORKER_H */
