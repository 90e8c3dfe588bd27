/*
 * attempt.c
 *		Recording how an attempt of a procedure job ended.
 *
 * All of it runs in the transaction of the attempt, so that the job's
 * effects and its completion commit together; only an attempt whose whole
 * transaction failed, or that killed its executor, is recorded in a
 * transaction of its own.  Inside a transaction, connected to SPI.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "attempt.h"
#include "clock.h"
#include "guc.h"
#include "job.h"
#include "occurrence.h"
#include "shmem.h"
#include "stats.h"
#include "worker.h"

static SPIPlanPtr succeeded_plans[2];
static SPIPlanPtr succeeded_keyed_plans[2];
static SPIPlanPtr failed_plans[2];
static SPIPlanPtr expired_plan = NULL;
static SPIPlanPtr retry_plan = NULL;
static SPIPlanPtr lost_plan = NULL;
static SPIPlanPtr exists_plan = NULL;

/*
 * The statements that move jobs to job_history, by the columns they keep:
 * [0] those of every version, [1] those of 0.4.0 on (sj_has_schedules).
 * Those of jobs that ran return id and finished_at: stats measure the run
 * as job_history records it (finished_at_of).
 */

/* The jobs of $1 succeeded, in the transaction that started at $2. */
#define SUCCEEDED_SQL(cols, extra) \
"WITH done AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) ANY ($1) " \
"  RETURNING " cols ") " \
"INSERT INTO scheduled_jobs.job_history (" cols ", " \
"  state, fired_at, finished_at) " \
"SELECT id, run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, " \
"  attempts OPERATOR(pg_catalog.+) 1, created_at, last_error, last_error_data" extra ", " \
"  " SJ_STATE_SUCCEEDED ", $2, pg_catalog.clock_timestamp() FROM done " \
"RETURNING id, finished_at"
static const char *const succeeded_sql[2] = {
	SUCCEEDED_SQL(SJ_JOB_COLUMNS, ""),
	SUCCEEDED_SQL(SJ_JOB_COLUMNS_0_4, ", schedule_id, occurrence_at, expires_at, command")
};

/*
 * The same, when a job of them re-armed itself: it gave its job_key to its
 * next run during the CALL, and its history row gets it back from $3, the
 * job_keys as claimed.
 */
#define SUCCEEDED_KEYED_SQL(cols, extra) \
"WITH done AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) ANY ($1) " \
"  RETURNING " cols ") " \
"INSERT INTO scheduled_jobs.job_history (" cols ", " \
"  state, fired_at, finished_at) " \
"SELECT d.id, d.run_at, d.channel, d.procedure, d.payload, " \
"  COALESCE(d.job_key, k.job_key), d.max_attempts, d.timeout_ms, d.owner, " \
"  d.attempts OPERATOR(pg_catalog.+) 1, d.created_at, d.last_error, d.last_error_data" extra ", " \
"  " SJ_STATE_SUCCEEDED ", $2, pg_catalog.clock_timestamp() " \
"FROM done d LEFT JOIN ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($3)) AS k(id, job_key) " \
"  ON k.id OPERATOR(pg_catalog.=) d.id " \
"RETURNING id, finished_at"
static const char *const succeeded_keyed_sql[2] = {
	SUCCEEDED_KEYED_SQL(SJ_JOB_COLUMNS, ""),
	SUCCEEDED_KEYED_SQL(SJ_JOB_COLUMNS_0_4,
						", d.schedule_id, d.occurrence_at, d.expires_at, d.command")
};

/*
 * The last attempt failed: $1 id, $2 fired_at, $3 last_error,
 * $4 last_error_data
 */
#define FAILED_SQL(cols, extra) \
"WITH done AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) $1 " \
"  RETURNING " cols ") " \
"INSERT INTO scheduled_jobs.job_history (" cols ", " \
"  state, fired_at, finished_at) " \
"SELECT id, run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, " \
"  attempts OPERATOR(pg_catalog.+) 1, created_at, $3, $4" extra ", " \
"  " SJ_STATE_FAILED ", $2, pg_catalog.clock_timestamp() FROM done " \
"RETURNING id, finished_at"
static const char *const failed_sql[2] = {
	FAILED_SQL(SJ_JOB_COLUMNS, ""),
	FAILED_SQL(SJ_JOB_COLUMNS_0_4, ", schedule_id, occurrence_at, expires_at, command")
};

/* The job $1 was not run by its expires_at (0.4.0 on). */
static const char *const expired_sql =
"WITH done AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) $1 "
"  RETURNING " SJ_JOB_COLUMNS_0_4 ") "
"INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS_0_4 ", state, finished_at) "
"SELECT " SJ_JOB_COLUMNS_0_4 ", " SJ_STATE_EXPIRED ", pg_catalog.clock_timestamp() FROM done";

/* $1 id, $2 next run_at, $3 last_error, $4 last_error_data */
static const char *const retry_sql =
"UPDATE scheduled_jobs.jobs SET attempts = attempts OPERATOR(pg_catalog.+) 1, "
"  run_at = $2, last_error = $3, last_error_data = $4 "
"WHERE id OPERATOR(pg_catalog.=) $1";

/*
 * The pending job $1, locked unless another worker has it; then its id
 * alone (as NULLs but the first column: the job is busy).
 */
static const char *const lost_sql =
"SELECT * FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE SKIP LOCKED";
static const char *const exists_sql =
"SELECT 1 FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) $1";

/*
 * The finished_at that the statement just run returned for job id; 0 if
 * it did not move the job.
 */
static TimestampTz
finished_at_of(int64 id)
{
	bool		isnull;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];

		if (DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)) == id)
			return DatumGetTimestampTz(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2,
													 &isnull));
	}
	return 0;
}

/*
 * Delay before attempt n + 1 after n failed attempts: exponential, jittered.
 */
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
 * The occurrences of schedules among jobs (SjJob *) ended so: their
 * schedules go on, in the same transaction (occurrence.c).
 */
static void
advance_schedules(List *jobs, SjOccurrenceEvent event, const char *error)
{
	SjOccurrence *occ = palloc0(sizeof(SjOccurrence) * list_length(jobs));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, jobs)
	{
		SjJob	   *job = lfirst(lc);

		if (job->schedule_id == 0)
			continue;
		occ[n].job_id = job->id;
		occ[n].schedule_id = job->schedule_id;
		occ[n].occurrence_at = job->occurrence_at;
		occ[n].started_at = job->started_at;
		occ[n].event = event;
		occ[n].error = error;
		n++;
	}
	if (n > 0)
		sj_advance_schedules(occ, n, false);
}

/*
 * sj_record_expired
 *		The job was claimed past its expires_at: keep it in job_history as
 *		expired, unrun.
 */
void
sj_record_expired(SjJob *job)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job->id)};

	if (expired_plan == NULL)
		expired_plan = sj_prepare(expired_sql, 1, argtypes);
	if (sj_execute_plan(expired_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not expire job " INT64_FORMAT, job->id);
	sj_stats_count_job(job, SJ_END_EXPIRED, false, 0, NULL);
	advance_schedules(list_make1(job), SJ_OCC_EXPIRED, NULL);
	ereport(LOG,
			(errmsg("scheduled_jobs job " INT64_FORMAT " (%s %s) expired unrun: its expires_at passed before it could start",
					job->id, job->command ? "command" : "CALL",
					job->command ? job->command : job->procedure)));
}

/*
 * A command that runs outside a transaction block ($1) starts: it moves to
 * job_history first, as failed with the error $2/$3 that stays if the
 * executor dies before it finishes, so that it never runs twice.
 */
static const char *const outside_started_sql =
"WITH done AS (DELETE FROM scheduled_jobs.jobs WHERE id OPERATOR(pg_catalog.=) $1 "
"  RETURNING " SJ_JOB_COLUMNS_0_4 ") "
"INSERT INTO scheduled_jobs.job_history (" SJ_JOB_COLUMNS_0_4 ", state, fired_at, finished_at) "
"SELECT id, run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, "
"  attempts OPERATOR(pg_catalog.+) 1, created_at, $2, $3, schedule_id, occurrence_at, "
"  expires_at, command, " SJ_STATE_FAILED ", pg_catalog.now(), pg_catalog.clock_timestamp() "
"FROM done";

/* It ended: $1 id, $2 state, $3 last_error, $4 last_error_data. */
static const char *const outside_finished_sql =
"UPDATE scheduled_jobs.job_history SET state = $2, finished_at = pg_catalog.clock_timestamp(), "
"  last_error = $3, last_error_data = $4 WHERE id OPERATOR(pg_catalog.=) $1 "
"RETURNING id, finished_at";

static SPIPlanPtr outside_started_plan = NULL;
static SPIPlanPtr outside_finished_plan = NULL;

/*
 * sj_record_outside_started
 *		A command job that runs outside a transaction block starts: move it
 *		to job_history, as failed until sj_record_outside_finished says how
 *		it ended.  The caller commits before the command runs.
 */
void
sj_record_outside_started(SjJob *job)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, JSONBOID};
	Datum		values[3];
	ErrorData	edata;

	memset(&edata, 0, sizeof(edata));
	edata.sqlerrcode = ERRCODE_ADMIN_SHUTDOWN;
	edata.message = "the command was interrupted before it finished";
	edata.detail = "Its executor ended while the command ran outside a transaction block; such a command runs at most once.";
	values[0] = Int64GetDatum(job->id);
	values[1] = CStringGetTextDatum(edata.message);
	values[2] = DirectFunctionCall1(jsonb_in,
									CStringGetDatum(error_json(&edata)));
	if (outside_started_plan == NULL)
		outside_started_plan = sj_prepare(outside_started_sql, 3, argtypes);
	if (sj_execute_plan(outside_started_plan, values, NULL, false, 0) !=
		SPI_OK_INSERT)
		elog(ERROR, "could not start job " INT64_FORMAT, job->id);
}

/*
 * sj_record_outside_finished
 *		How a command job that ran outside a transaction block ended (edata
 *		NULL: it succeeded); its schedule goes on.  In a new transaction.
 */
void
sj_record_outside_finished(SjJob *job, ErrorData *edata)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, TEXTOID, JSONBOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', 'n', 'n'};

	values[0] = Int64GetDatum(job->id);
	values[1] = CStringGetTextDatum(edata ? "failed" : "succeeded");
	if (edata)
	{
		values[2] = CStringGetTextDatum(edata->message ? edata->message : "");
		values[3] = DirectFunctionCall1(jsonb_in,
										CStringGetDatum(error_json(edata)));
		nulls[2] = nulls[3] = ' ';
	}
	if (outside_finished_plan == NULL)
		outside_finished_plan = sj_prepare(outside_finished_sql, 4, argtypes);
	if (sj_execute_plan(outside_finished_plan, values, nulls, false, 0) !=
		SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not finish job " INT64_FORMAT, job->id);
	sj_stats_count_job(job, edata ? SJ_END_FAILED : SJ_END_SUCCEEDED, true,
					   finished_at_of(job->id), edata ? edata->message : NULL);
	advance_schedules(list_make1(job),
					  edata ? SJ_OCC_FAILED : SJ_OCC_SUCCEEDED,
					  edata ? edata->message : NULL);
	if (edata)
		ereport(LOG,
				(errmsg("scheduled_jobs job " INT64_FORMAT " (command) failed with SQLSTATE %s, run at most once: %s",
						job->id, unpack_sql_state(edata->sqlerrcode),
						edata->message ? edata->message : "")));
}

/*
 * sj_record_succeeded
 *		Move the jobs of the list (SjJob *), all succeeded, to job_history.
 */
void
sj_record_succeeded(List *jobs)
{
	Oid			argtypes[3] = {INT8ARRAYOID, TIMESTAMPTZOID, TEXTARRAYOID};
	Datum		values[3];
	int			n = list_length(jobs);
	Datum	   *ids = palloc(sizeof(Datum) * n);
	bool		detached = false;
	int			i = 0;
	int			v = sj_has_schedules() ? 1 : 0;
	ListCell   *lc;

	foreach(lc, jobs)
	{
		SjJob	   *job = lfirst(lc);

		detached |= job->key_detached;
		ids[i++] = Int64GetDatum(job->id);
	}
	values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64),
												true, TYPALIGN_DOUBLE));
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	if (!detached)
	{
		if (succeeded_plans[v] == NULL)
			succeeded_plans[v] = sj_prepare(succeeded_sql[v], 2, argtypes);
		if (sj_execute_plan(succeeded_plans[v], values, NULL, false, 0) !=
			SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not record succeeded jobs");
	}
	else
	{
		Datum	   *keys = palloc(sizeof(Datum) * n);
		bool	   *keynulls = palloc(sizeof(bool) * n);
		int			dims[1] = {n};
		int			lbs[1] = {1};

		i = 0;
		foreach(lc, jobs)
		{
			SjJob	   *job = lfirst(lc);

			keynulls[i] = job->job_key == NULL;
			keys[i++] = job->job_key ? CStringGetTextDatum(job->job_key) :
				(Datum) 0;
		}
		values[2] = PointerGetDatum(construct_md_array(keys, keynulls, 1, dims,
													   lbs,
													   TEXTOID, -1, false,
													   TYPALIGN_INT));
		if (succeeded_keyed_plans[v] == NULL)
			succeeded_keyed_plans[v] = sj_prepare(succeeded_keyed_sql[v], 3,
												  argtypes);
		if (sj_execute_plan(succeeded_keyed_plans[v], values, NULL, false, 0) !=
			SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not record succeeded jobs");
	}
	foreach(lc, jobs)
	{
		SjJob	   *job = lfirst(lc);
		TimestampTz finished_at = finished_at_of(job->id);

		if (finished_at != 0)
			sj_stats_count_job(job, SJ_END_SUCCEEDED, true, finished_at, NULL);
	}
	advance_schedules(jobs, SJ_OCC_SUCCEEDED, NULL);
}

/*
 * sj_record_failed_attempt
 *		Record a failed attempt of job: retried after a backoff, or kept as
 *		failed after the last one.  Logs one line for it.
 */
void
sj_record_failed_attempt(SjJob *job, ErrorData *edata)
{
	Oid			argtypes[4] = {INT8OID, TIMESTAMPTZOID, TEXTOID, JSONBOID};
	Datum		values[4];
	bool		last = job->attempts + 1 >= job->max_attempts;

	values[0] = Int64GetDatum(job->id);
	values[2] = CStringGetTextDatum(edata->message ? edata->message : "");
	values[3] = DirectFunctionCall1(jsonb_in,
									CStringGetDatum(error_json(edata)));
	if (last)
	{
		int			v = sj_has_schedules() ? 1 : 0;

		values[1] = TimestampTzGetDatum(job->fired_at);
		if (failed_plans[v] == NULL)
			failed_plans[v] = sj_prepare(failed_sql[v], 4, argtypes);
		if (sj_execute_plan(failed_plans[v], values, NULL, false, 0) !=
			SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not finish job " INT64_FORMAT, job->id);
		sj_stats_count_job(job, SJ_END_FAILED, true, finished_at_of(job->id),
						   edata->message);
		advance_schedules(list_make1(job), SJ_OCC_FAILED, edata->message);
	}
	else
	{
		TimestampTz next =
		TimestampTzPlusMilliseconds(sj_now(),
									retry_delay_ms(job->attempts + 1));

		values[1] = TimestampTzGetDatum(next);
		if (retry_plan == NULL)
			retry_plan = sj_prepare(retry_sql, 4, argtypes);
		if (sj_execute_plan(retry_plan, values, NULL, false, 0) !=
			SPI_OK_UPDATE)
			elog(ERROR, "could not reschedule job " INT64_FORMAT, job->id);
		/* the scheduler sleeps past the retry otherwise */
		sj_wake_scheduler_at_commit(next);
		sj_stats_count_job(job, SJ_END_RETRIED, false, 0, edata->message);
	}
	ereport(LOG,
			(errmsg("scheduled_jobs job " INT64_FORMAT " (%s %s) attempt %d of %d failed with SQLSTATE %s%s: %s",
					job->id,
					job->procedure ? "CALL" : job->command ? "command" : "NOTIFY",
					job->procedure ? job->procedure :
					job->command ? job->command : job->channel,
					job->attempts + 1, job->max_attempts,
					unpack_sql_state(edata->sqlerrcode),
					last ? ", the job is kept as failed" : ", retried later",
					edata->message ? edata->message : "")));
}

/*
 * sj_charge_lost_attempt
 *		Count the attempt of job_id that ended with the death of its
 *		executor (inflight.c), if the job is still pending.  Returns false,
 *		charging nothing, if another executor runs the job right now: never
 *		wait for it.
 */
bool
sj_charge_lost_attempt(int64 job_id, SjInflightState how)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_id)};
	ErrorData	edata;
	SjJob	   *job;

	if (lost_plan == NULL)
		lost_plan = sj_prepare(lost_sql, 1, argtypes);
	if (sj_execute_plan(lost_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read job " INT64_FORMAT, job_id);
	if (SPI_processed == 0)
	{
		if (exists_plan == NULL)
			exists_plan = sj_prepare(exists_sql, 1, argtypes);
		if (sj_execute_plan(exists_plan, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read job " INT64_FORMAT, job_id);
		/* locked: running again; gone: finished or cancelled meanwhile */
		return SPI_processed == 0;
	}
	job = sj_job_from_spi_row(0, CurrentMemoryContext);
	if (job->channel != NULL)
		return true;

	memset(&edata, 0, sizeof(edata));
	if (how == SJ_INFLIGHT_EXITED)
	{
		edata.sqlerrcode = ERRCODE_ADMIN_SHUTDOWN;
		edata.message = "the executor running the job exited before the job finished";
		edata.detail = "It was terminated, or the job raised a FATAL error; the job's transaction rolled back.";
	}
	else
	{
		edata.sqlerrcode = ERRCODE_CRASH_SHUTDOWN;
		edata.message = "the executor running the job died before the job finished";
		edata.detail = "It was killed by a signal or crashed (e.g. kill -9, the OOM killer, a segmentation fault); the server restarted and the job's transaction rolled back.";
	}
	edata.hint = "A job that ends its executor is retried like any failed job, up to max_attempts.";
	sj_record_failed_attempt(job, &edata);
	return true;
}
