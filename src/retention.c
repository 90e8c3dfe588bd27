/*
 * retention.c
 *		Keeping scheduled_jobs.job_history bounded.
 *
 * Finished jobs older than scheduled_jobs.history_retention (failed jobs
 * and dead letters: scheduled_jobs.failed_retention; 0 keeps them forever)
 * are deleted by the scheduler, a small batch per transaction, found
 * oldest first through job_history_finished_at, and only between passes:
 * when no job is due, or, while jobs keep coming, in at most a third of the
 * scheduler's time (scheduler.c).  A batch holds no lock a firing needs and
 * takes a few milliseconds, so pruning never stands between a due job and
 * its firing for longer than one batch.  Each batch commits on its own: a
 * crash or restart in the middle of a prune loses nothing but the batch in
 * progress, which the next one deletes.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"

#include "clock.h"
#include "guc.h"
#include "job.h"
#include "retention.h"
#include "worker.h"

/* Rows deleted per batch, per kind. */
#define SJ_PRUNE_BATCH 500

/*
 * Delete up to $2 finished jobs that finished before $1, of the states
 * failed and dead ($3 true) or of the others ($3 false).  How many.
 */
static const char *const prune_sql =
"WITH d AS (DELETE FROM scheduled_jobs.job_history "
"  WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT id FROM scheduled_jobs.job_history "
"    WHERE finished_at OPERATOR(pg_catalog.<) $1 "
"      AND (state OPERATOR(pg_catalog.=) ANY (ARRAY[" SJ_STATE_FAILED ", " SJ_STATE_DEAD "])) "
"        OPERATOR(pg_catalog.=) $3 "
"    ORDER BY finished_at LIMIT $2)) RETURNING 1) "
"SELECT pg_catalog.count(*) FROM d";

static SPIPlanPtr prune_plan = NULL;

/* Prune one kind: those that finished more than keep_s seconds ago. */
static int
prune_kind(int keep_s, bool failed)
{
	Oid			argtypes[3] = {TIMESTAMPTZOID, INT4OID, BOOLOID};
	Datum		values[3];
	bool		isnull;

	if (keep_s <= 0)
		return 0;
	values[0] = TimestampTzGetDatum(sj_now() - (TimestampTz) keep_s * USECS_PER_SEC);
	values[1] = Int32GetDatum(SJ_PRUNE_BATCH);
	values[2] = BoolGetDatum(failed);
	if (prune_plan == NULL)
		prune_plan = sj_prepare(prune_sql, 3, argtypes);
	if (SPI_execute_plan(prune_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not prune scheduled_jobs.job_history");
	return (int) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1,
											 &isnull));
}

/*
 * sj_prune_history
 *		Delete one batch of each kind of expired history; *deleted is how
 *		many rows went.  Returns true if a batch was full (there may be
 *		more).  Inside a transaction, with SPI.
 */
bool
sj_prune_history(int *deleted)
{
	int			a = prune_kind(sj_history_retention, false);
	int			b = prune_kind(sj_failed_retention, true);

	*deleted = a + b;
	return a >= SJ_PRUNE_BATCH || b >= SJ_PRUNE_BATCH;
}
