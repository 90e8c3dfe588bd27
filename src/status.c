/*
 * status.c
 *		status(): how the workers of this database are doing, one query
 *		away: the scheduler, the executors, the due jobs, the NOTIFY queue,
 *		and the last error of a worker.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "clock.h"
#include "job.h"
#include "owner_sql.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(sj_status);

/* Columns of status(), in SQL order. */
enum
{
	COL_DATABASE,
	COL_SCHEDULER_PID,
	COL_SCHEDULER_STATE,
	COL_LAST_PASS_AT,
	COL_NEXT_WAKEUP,
	COL_DUE_JOBS,
	COL_OLDEST_DUE_AT,
	COL_EXECUTORS_RUNNING,
	COL_EXECUTORS_IDLE,
	COL_EXECUTORS_MAX,
	COL_NOTIFY_QUEUE_USAGE,
	COL_PAUSED,
	COL_LAST_ERROR,
	COL_LAST_ERROR_AT,
	NCOLS
};

/*
 * Due at $1 and not fired yet: NOTIFY jobs not delivered, procedure and
 * command jobs waiting or running (acknowledged jobs in flight were
 * delivered).  No locks: status() works in a read-only transaction too.
 */
static const char *const due_sql =
"SELECT pg_catalog.count(*), pg_catalog.min(run_at) FROM scheduled_jobs.jobs "
"WHERE run_at OPERATOR(pg_catalog.<=) $1 AND due_at IS NULL";
static const char *const due_sql_0_2 =
"SELECT pg_catalog.count(*), pg_catalog.min(run_at) FROM scheduled_jobs.jobs "
"WHERE run_at OPERATOR(pg_catalog.<=) $1";

static SPIPlanPtr due_plans[2];

typedef struct Due
{
	int64		n;
	TimestampTz oldest;			/* 0: none */
} Due;

static void
read_due(void *arg)
{
	Due		   *due = arg;
	bool		isnull;
	Datum		d;

	due->n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	due->oldest = isnull ? 0 : DatumGetTimestampTz(d);
}

/* status() returns one row */
Datum
sj_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[NCOLS];
	bool		nulls[NCOLS];
	int			i;
	pid_t		pid = 0;
	uint64		next = SJ_WAKE_ANY;
	uint64		last_pass = 0;
	bool		paused = false;
	char		last_error[SJ_LAST_ERROR_LEN] = "";
	TimestampTz last_error_at = 0;
	int			running = 0,
				idle = 0;
	int			v = sj_has_acknowledged_channels() ? 1 : 0;
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		args[1] = {TimestampTzGetDatum(sj_now())};
	Due			due = {0, 0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, false, sizeof(nulls));

	LWLockAcquire(SjShmem->lock, LW_SHARED);
	i = sj_find_db_slot(MyDatabaseId);
	if (i >= 0)
	{
		SjDbSlot   *slot = &SjShmem->dbs[i];
		SjExecutorSlot *ex = sj_executor_slots(i);

		pid = slot->scheduler_pid;
		next = pg_atomic_read_u64(&slot->next_wakeup);
		last_pass = pg_atomic_read_u64(&slot->last_pass);
		paused = slot->paused;
		strlcpy(last_error, slot->last_error, sizeof(last_error));
		last_error_at = slot->last_error_at;
		for (int e = 0; e < SjShmem->max_executors; e++)
		{
			if (ex[e].pid == 0)
				continue;
			if (ex[e].idle)
				idle++;
			else
				running++;
		}
	}
	LWLockRelease(SjShmem->lock);

	sj_owner_execute(&due_plans[v], v ? due_sql : due_sql_0_2, 1, argtypes,
					 args, NULL, 0, read_due, &due);

	values[COL_DATABASE] = CStringGetTextDatum(get_database_name(MyDatabaseId));
	values[COL_SCHEDULER_PID] = Int32GetDatum((int32) pid);
	nulls[COL_SCHEDULER_PID] = pid == 0;
	values[COL_SCHEDULER_STATE] = CStringGetTextDatum(pid == 0 ? "not running" :
													  paused ? "paused" :
													  next == SJ_WAKE_ANY ? "working" :
													  "sleeping");
	values[COL_LAST_PASS_AT] = TimestampTzGetDatum((TimestampTz) last_pass);
	nulls[COL_LAST_PASS_AT] = last_pass == 0;
	values[COL_NEXT_WAKEUP] = TimestampTzGetDatum((TimestampTz) next);
	nulls[COL_NEXT_WAKEUP] = pid == 0 || next == SJ_WAKE_ANY;
	values[COL_DUE_JOBS] = Int64GetDatum(due.n);
	values[COL_OLDEST_DUE_AT] = TimestampTzGetDatum(due.oldest);
	nulls[COL_OLDEST_DUE_AT] = due.oldest == 0;
	values[COL_EXECUTORS_RUNNING] = Int32GetDatum(running);
	values[COL_EXECUTORS_IDLE] = Int32GetDatum(idle);
	values[COL_EXECUTORS_MAX] = Int32GetDatum(SjShmem->max_executors);
	values[COL_NOTIFY_QUEUE_USAGE] = DirectFunctionCall1(pg_notification_queue_usage,
														 (Datum) 0);
	values[COL_PAUSED] = BoolGetDatum(paused);
	values[COL_LAST_ERROR] = CStringGetTextDatum(last_error);
	nulls[COL_LAST_ERROR] = last_error_at == 0;
	values[COL_LAST_ERROR_AT] = TimestampTzGetDatum(last_error_at);
	nulls[COL_LAST_ERROR_AT] = last_error_at == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
