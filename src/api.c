/*
 * api.c
 *		schedule_job(), cancel_job() and reschedule_job().
 *
 * The functions run as the caller and check the caller's rights themselves;
 * they then write the job tables as the extension owner (owner_sql.c).  A
 * role acts only on jobs owned by roles it is a member of.
 *
 * Every write notes the job's run_at so that the scheduler is woken at
 * commit if it sleeps past it (shmem.c).
 *
 * A job acting on itself: the row of a procedure job stays in
 * scheduled_jobs.jobs, locked, while its CALL runs.  When the job schedules
 * its own job_key, or reschedules itself, the row of the run gives up its
 * job_key first (in the CALL's transaction), so the new run is a new pending
 * job with a new id and the run in progress still ends in job_history.  A
 * running job is not pending: cancel_job() on it from inside returns false.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "command.h"
#include "current_job.h"
#include "insert.h"
#include "job.h"
#include "occurrence.h"
#include "stats.h"
#include "owner_sql.h"
#include "shmem.h"
#include "target.h"

PG_FUNCTION_INFO_V1(sj_schedule_job);
PG_FUNCTION_INFO_V1(sj_cancel_job_by_id);
PG_FUNCTION_INFO_V1(sj_cancel_job_by_key);
PG_FUNCTION_INFO_V1(sj_reschedule_job_by_id);
PG_FUNCTION_INFO_V1(sj_reschedule_job_by_key);

/* Arguments of schedule_job(), in SQL order. */
enum
{
	SCHEDULE_ARG_RUN_AT,
	SCHEDULE_ARG_CHANNEL,
	SCHEDULE_ARG_PROCEDURE,
	SCHEDULE_ARG_PAYLOAD,
	SCHEDULE_ARG_JOB_KEY,
	SCHEDULE_ARG_MAX_ATTEMPTS,
	SCHEDULE_ARG_TIMEOUT,
	SCHEDULE_ARG_GROUP_COMMIT,	/* since 0.2.0 */
	SCHEDULE_ARG_EXPIRES_AT,	/* since 0.4.0 */
	SCHEDULE_ARG_COMMAND,
	SCHEDULE_NARGS
};

/*
 * Upsert of a job with a job_key: $1..$8 are the columns run_at .. owner of
 * the column map, $9 group_commit, $10 expires_at, $11 command.  UPSERT_SQL(extra
 * columns, extra values, extra SET) so that the tables of 0.1.0 (no
 * group_commit), 0.2.0 (no acknowledged channels) and 0.3.0 (no firing
 * deadlines) are served too until ALTER EXTENSION ... UPDATE.  A replaced
 * job starts afresh: not in flight any more, if it was.
 */
#define UPSERT_NARGS 11
#define UPSERT_SQL(col, val, set) \
"INSERT INTO scheduled_jobs.jobs AS j " \
"  (run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner" col ") " \
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8" val ") " \
"ON CONFLICT (job_key) WHERE job_key IS NOT NULL DO UPDATE SET " \
"  run_at = excluded.run_at, channel = excluded.channel, " \
"  procedure = excluded.procedure, payload = excluded.payload, " \
"  max_attempts = excluded.max_attempts, timeout_ms = excluded.timeout_ms, " \
"  owner = excluded.owner, attempts = 0, created_at = excluded.created_at, " \
"  last_error = NULL, last_error_data = NULL" set " " \
"WHERE pg_catalog.pg_has_role($8::pg_catalog.oid, j.owner::pg_catalog.oid, 'MEMBER') " \
"RETURNING j.id"

static const char *const schedule_sql =
UPSERT_SQL(", group_commit, expires_at, command", ", $9, $10, $11",
		   ", group_commit = excluded.group_commit, "
		   "due_at = NULL, first_delivered_at = NULL, lease_until = NULL, "
		   "expires_at = excluded.expires_at, command = excluded.command");
static const char *const schedule_sql_0_3_0 =
UPSERT_SQL(", group_commit", ", $9", ", group_commit = excluded.group_commit, "
		   "due_at = NULL, first_delivered_at = NULL, lease_until = NULL");
static const char *const schedule_sql_0_2_0 =
UPSERT_SQL(", group_commit", ", $9", ", group_commit = excluded.group_commit");
static const char *const schedule_sql_0_1_0 = UPSERT_SQL("", "", "");

/* the caller ($2) may act on the job */
#define MEMBER_OF_OWNER \
	" AND pg_catalog.pg_has_role($2, owner::pg_catalog.oid, 'MEMBER')"

#define CANCEL_SQL(cond) SJ_CANCEL_JOBS_SQL(cond MEMBER_OF_OWNER)
#define CANCEL_SQL_0_3(cond) SJ_CANCEL_JOBS_SQL_0_3(cond MEMBER_OF_OWNER)

/*
 * RESCHEDULE_SQL(cond, set): set is the extra SET of the tables with
 * acknowledged channels (0.3.0), LAND: a job in flight that is rescheduled
 * is delivered anew at its new time.
 */
#define RESCHEDULE_SQL(cond, set) \
	"UPDATE scheduled_jobs.jobs SET run_at = $3" set " " \
	"WHERE " cond MEMBER_OF_OWNER " RETURNING id"
#define LAND ", due_at = NULL, first_delivered_at = NULL, lease_until = NULL"

#define BY_ID "id OPERATOR(pg_catalog.=) $1"
#define BY_KEY "job_key OPERATOR(pg_catalog.=) $1"

/* by [by_key][0.4.0 or later] */
static const char *const cancel_sql[2][2] = {
	{CANCEL_SQL_0_3(BY_ID), CANCEL_SQL(BY_ID)},
	{CANCEL_SQL_0_3(BY_KEY), CANCEL_SQL(BY_KEY)}
};

/* by [by_key][0.3.0 or later] */
static const char *const reschedule_sql[2][2] = {
	{RESCHEDULE_SQL(BY_ID, ""), RESCHEDULE_SQL(BY_ID, LAND)},
	{RESCHEDULE_SQL(BY_KEY, ""), RESCHEDULE_SQL(BY_KEY, LAND)}
};
static const char *const find_by_id_sql =
"SELECT id FROM scheduled_jobs.jobs WHERE " BY_ID MEMBER_OF_OWNER;
static const char *const find_by_key_sql =
"SELECT id FROM scheduled_jobs.jobs WHERE " BY_KEY MEMBER_OF_OWNER;

/* The row of the job running in this process gives up its job_key ($1 id). */
static const char *const detach_key_sql =
"UPDATE scheduled_jobs.jobs SET job_key = NULL "
"WHERE id OPERATOR(pg_catalog.=) $1 AND job_key IS NOT NULL RETURNING id";

/*
 * A new pending job like the running job $1, at $3 with job_key $4 (see
 * reschedule_self).
 */
static const char *const rearm_sql =
"INSERT INTO scheduled_jobs.jobs "
"  (run_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, group_commit) "
"SELECT $3, channel, procedure, payload, $4, max_attempts, timeout_ms, owner, group_commit "
"FROM scheduled_jobs.jobs WHERE " BY_ID MEMBER_OF_OWNER " RETURNING id";

/* Plans kept for the session; the plan cache re-plans them after DDL. */
static SPIPlanPtr schedule_plan = NULL;
static SPIPlanPtr schedule_plan_0_1_0 = NULL;
static SPIPlanPtr schedule_plan_0_2_0 = NULL;
static SPIPlanPtr schedule_plan_0_3_0 = NULL;
static SPIPlanPtr cancel_plans[2][2];
static SPIPlanPtr reschedule_plans[2][2];
static SPIPlanPtr find_by_id_plan = NULL;
static SPIPlanPtr find_by_key_plan = NULL;
static SPIPlanPtr detach_key_plan = NULL;
static SPIPlanPtr rearm_plan = NULL;


/* Longest job_key: well within what a btree index entry can hold. */
#define SJ_JOB_KEY_MAX 1024

/*
 * If this process runs a job with job_key key, let the row of that run give
 * up the key, so that the key can name a new pending job.
 */
static void
detach_current_key(const char *key)
{
	const SjJob *cur = sj_current_job();
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	bool		found;

	if (cur == NULL || cur->job_key == NULL || key == NULL ||
		strcmp(cur->job_key, key) != 0)
		return;
	values[0] = Int64GetDatum(cur->id);
	(void) sj_run_as_extension_owner(&detach_key_plan, detach_key_sql, 1,
									 argtypes, values, NULL, &found);
	if (found)
		sj_note_key_detached();
}

/* Reject a run_at that is not a finite timestamp. */
static void
check_run_at(TimestampTz run_at)
{
	if (TIMESTAMP_NOT_FINITE(run_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("run_at must be a finite timestamp"),
				 errhint("Give a point in time, e.g. now() + interval '48 hours'.")));
}

/*
 * schedule_job(run_at, channel, procedure, payload, job_key, max_attempts,
 *				timeout, group_commit) returns bigint
 *
 * The 0.1.0 signature lacks group_commit; its table lacks the column.
 */
Datum
sj_schedule_job(PG_FUNCTION_ARGS)
{
	TimestampTz run_at;
	char	   *channel = NULL;
	char	   *procedure = NULL;
	Jsonb	   *payload;
	char	   *job_key = NULL;
	int32		max_attempts;
	int32		timeout_ms = 0;
	bool		has_timeout = false;
	bool		group_commit = false;
	bool		is_0_1_0 = PG_NARGS() <= SCHEDULE_ARG_GROUP_COMMIT;
	bool		has_expires_at = PG_NARGS() > SCHEDULE_ARG_EXPIRES_AT;
	bool		has_command;
	char	   *command = NULL;
	TimestampTz expires_at = DT_NOEND;
	Datum		values[Natts_jobs];
	bool		nulls[Natts_jobs];
	bool		found = true;
	int64		id;

	PreventCommandIfReadOnly("schedule_job()");

	if (PG_ARGISNULL(SCHEDULE_ARG_RUN_AT))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("run_at must not be null")));
	run_at = PG_GETARG_TIMESTAMPTZ(SCHEDULE_ARG_RUN_AT);
	check_run_at(run_at);

	has_command = has_expires_at && !PG_ARGISNULL(SCHEDULE_ARG_COMMAND);
	if (!PG_ARGISNULL(SCHEDULE_ARG_CHANNEL) +
		!PG_ARGISNULL(SCHEDULE_ARG_PROCEDURE) + has_command != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of channel, procedure and command must be given"),
				 errhint("Give channel => 'name' to fire the job as NOTIFY, procedure => 'schema.name' to CALL it, or command => 'SQL' to run it.")));

	if (PG_ARGISNULL(SCHEDULE_ARG_PAYLOAD))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payload must not be null"),
				 errhint("Pass '{}' for an empty payload, or 'null'::jsonb for a JSON null.")));
	payload = PG_GETARG_JSONB_P(SCHEDULE_ARG_PAYLOAD);

	if (!PG_ARGISNULL(SCHEDULE_ARG_JOB_KEY))
	{
		job_key = text_to_cstring(PG_GETARG_TEXT_PP(SCHEDULE_ARG_JOB_KEY));
		if (job_key[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("job_key must not be empty"),
					 errhint("Pass NULL for a job without a key.")));
		if (strlen(job_key) > SJ_JOB_KEY_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("job_key too long"),
					 errdetail("A job_key is at most %d bytes; this one has %zu.",
							   SJ_JOB_KEY_MAX, strlen(job_key)),
					 errhint("Use a short business key, e.g. 'order:42:cancel'.")));
	}

	if (PG_ARGISNULL(SCHEDULE_ARG_MAX_ATTEMPTS))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("max_attempts must not be null")));
	max_attempts = PG_GETARG_INT32(SCHEDULE_ARG_MAX_ATTEMPTS);
	if (max_attempts < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_attempts must be at least 1"),
				 errdetail("max_attempts was %d.", max_attempts)));

	if (!PG_ARGISNULL(SCHEDULE_ARG_TIMEOUT))
	{
		timeout_ms = sj_check_timeout(PG_GETARG_INTERVAL_P(SCHEDULE_ARG_TIMEOUT));
		has_timeout = true;
	}

	if (!is_0_1_0 && !PG_ARGISNULL(SCHEDULE_ARG_GROUP_COMMIT))
		group_commit = PG_GETARG_BOOL(SCHEDULE_ARG_GROUP_COMMIT);
	if (group_commit && !PG_ARGISNULL(SCHEDULE_ARG_CHANNEL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("group_commit applies to procedure and command jobs only"),
				 errdetail("NOTIFY jobs are always fired many to a transaction.")));

	if (has_expires_at && !PG_ARGISNULL(SCHEDULE_ARG_EXPIRES_AT))
	{
		expires_at = PG_GETARG_TIMESTAMPTZ(SCHEDULE_ARG_EXPIRES_AT);
		if (expires_at <= run_at)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_at must be later than run_at"),
					 errdetail("A job not fired by expires_at never fires; this one could never fire."),
					 errhint("Pass NULL for a job without a firing deadline.")));
	}

	if (!PG_ARGISNULL(SCHEDULE_ARG_CHANNEL))
	{
		channel = text_to_cstring(PG_GETARG_TEXT_PP(SCHEDULE_ARG_CHANNEL));
		sj_check_channel(channel, job_key, payload, false);
	}
	else if (!has_command)
		procedure = sj_check_procedure(text_to_cstring(PG_GETARG_TEXT_PP(SCHEDULE_ARG_PROCEDURE)));
	else
	{
		command = text_to_cstring(PG_GETARG_TEXT_PP(SCHEDULE_ARG_COMMAND));
		if (!sj_check_command(command) && group_commit)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a command that cannot run inside a transaction block cannot use group_commit"),
					 errdetail("It runs alone, outside a transaction block.")));
	}

	/* the row, by the column map; sj_insert_job fills in the rest */
	memset(nulls, true, sizeof(nulls));
#define SET(anum, datum, isnull) \
	(values[(anum) - 1] = (datum), nulls[(anum) - 1] = (isnull))
	SET(Anum_jobs_run_at, TimestampTzGetDatum(run_at), false);
	SET(Anum_jobs_channel, channel ? CStringGetTextDatum(channel) : (Datum) 0,
		channel == NULL);
	SET(Anum_jobs_procedure,
		procedure ? CStringGetTextDatum(procedure) : (Datum) 0,
		procedure == NULL);
	SET(Anum_jobs_payload, JsonbPGetDatum(payload), false);
	SET(Anum_jobs_job_key, job_key ? CStringGetTextDatum(job_key) : (Datum) 0,
		job_key == NULL);
	SET(Anum_jobs_max_attempts, Int32GetDatum(max_attempts), false);
	SET(Anum_jobs_timeout_ms, Int32GetDatum(timeout_ms), !has_timeout);
	SET(Anum_jobs_owner, ObjectIdGetDatum(GetUserId()), false);
	SET(Anum_jobs_group_commit, BoolGetDatum(group_commit), false);
	SET(Anum_jobs_expires_at, TimestampTzGetDatum(expires_at),
		TIMESTAMP_IS_NOEND(expires_at));
	SET(Anum_jobs_command, command ? CStringGetTextDatum(command) : (Datum) 0,
		command == NULL);
#undef SET

	if (job_key == NULL)
		id = sj_insert_job(values, nulls);
	else
	{
		Oid			argtypes[UPSERT_NARGS] = {TIMESTAMPTZOID, TEXTOID,
			TEXTOID, JSONBOID, TEXTOID, INT4OID, INT4OID, REGROLEOID, BOOLOID,
		TIMESTAMPTZOID, TEXTOID};
		Datum		params[UPSERT_NARGS];
		char		pnulls[UPSERT_NARGS];

		/*
		 * $1..$8: run_at .. owner; $9 group_commit; $10 expires_at; $11
		 * command
		 */
		for (int i = 0; i < UPSERT_NARGS; i++)
		{
			int			anum = i < 8 ? Anum_jobs_run_at + i :
			i == 8 ? Anum_jobs_group_commit :
			i == 9 ? Anum_jobs_expires_at : Anum_jobs_command;

			params[i] = values[anum - 1];
			pnulls[i] = nulls[anum - 1] ? 'n' : ' ';
		}
		detach_current_key(job_key);
		if (is_0_1_0)
			id = sj_run_as_extension_owner(&schedule_plan_0_1_0,
										   schedule_sql_0_1_0,
										   UPSERT_NARGS - 3, argtypes, params,
										   pnulls, &found);
		else if (!sj_has_acknowledged_channels())
			id = sj_run_as_extension_owner(&schedule_plan_0_2_0,
										   schedule_sql_0_2_0,
										   UPSERT_NARGS - 2, argtypes, params,
										   pnulls, &found);
		else if (!has_expires_at)
			id = sj_run_as_extension_owner(&schedule_plan_0_3_0,
										   schedule_sql_0_3_0,
										   UPSERT_NARGS - 2, argtypes, params,
										   pnulls, &found);
		else
			id = sj_run_as_extension_owner(&schedule_plan, schedule_sql,
										   UPSERT_NARGS, argtypes, params,
										   pnulls, &found);
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("job_key \"%s\" is taken by a pending job of another role", job_key),
					 errdetail("A pending job_key can only be replaced by a member of the role that owns the job.")));
		sj_note_jobs_changed();
	}

	sj_wake_scheduler_at_commit(run_at);
	PG_RETURN_INT64(id);
}

/* Run one of the statements on a job of $1 (id or key) for the caller. */
static int64
run_for_caller(SPIPlanPtr *plan, const char *sql, Oid keytype, Datum key,
			   Datum run_at, Datum key2, bool *found)
{
	Oid			argtypes[4] = {keytype, OIDOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4] = {key, ObjectIdGetDatum(GetUserId()), run_at,
	key2};
	char		nulls[4] = {' ', ' ', ' ', key2 ? ' ' : 'n'};

	return sj_run_as_extension_owner(plan, sql, 4, argtypes, values, nulls,
									 found);
}

/* Move the pending job with id or job_key $1 to run_at, for the caller. */
static bool
run_reschedule(bool by_key, Datum key, TimestampTz run_at)
{
	int			v = sj_has_acknowledged_channels() ? 1 : 0;
	bool		found;

	(void) run_for_caller(&reschedule_plans[by_key][v], reschedule_sql[by_key][v],
						  by_key ? TEXTOID : INT8OID, key,
						  TimestampTzGetDatum(run_at), (Datum) 0, &found);
	return found;
}

/*
 * The job running in this process reschedules itself: its run goes on to
 * job_history as usual, and the rescheduling makes the next run.  If a
 * pending job already has its job_key (the job re-armed itself before),
 * that one moves; else a new job like this one is made, with its job_key.
 */
static bool
reschedule_self(const SjJob *cur, TimestampTz run_at)
{
	bool		found = false;
	int64		next_id;

	if (cur->job_key)
	{
		detach_current_key(cur->job_key);
		found = run_reschedule(true, CStringGetTextDatum(cur->job_key), run_at);
	}
	else if (sj_current_rearmed() != 0)
	{
		/* keyless: the next run made by an earlier call of this run */
		found = run_reschedule(false, Int64GetDatum(sj_current_rearmed()),
							   run_at);
	}
	if (found)
		return true;
	next_id = run_for_caller(&rearm_plan, rearm_sql, INT8OID,
							 Int64GetDatum(cur->id),
							 TimestampTzGetDatum(run_at),
							 cur->job_key ?
							 CStringGetTextDatum(cur->job_key) : (Datum) 0,
							 &found);
	if (found)
		sj_note_rearmed(next_id);
	return found;
}

/* The result of a cancel statement: how many, and the occurrences among them. */
typedef struct CancelResult
{
	int64		n;
	int			nocc;
	SjOccurrence *occ;
} CancelResult;

static void
read_cancel_result(void *arg)
{
	CancelResult *r = arg;
	HeapTuple	tup = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	Datum		d;
	Datum	   *ids,
			   *schedules,
			   *occurrences;
	int			n;

	r->n = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	if (desc->natts < 4)
		return;
	sj_stats_count_cancelled(tup, desc, SJ_CANCEL_STATS_COLUMN);
	d = SPI_getbinval(tup, desc, 2, &isnull);
	if (isnull)
		return;
	/* palloc'd in the caller's context: SPI_finish frees the rest */
	deconstruct_array(DatumGetArrayTypeP(d), INT8OID, 8, true,
					  TYPALIGN_DOUBLE, &ids, NULL, &n);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)),
					  INT8OID, 8, true, TYPALIGN_DOUBLE, &schedules, NULL, &n);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
					  TIMESTAMPTZOID, 8, true, TYPALIGN_DOUBLE, &occurrences,
					  NULL, &n);
	r->occ = SPI_palloc(sizeof(SjOccurrence) * n);
	r->nocc = n;
	for (int i = 0; i < n; i++)
	{
		memset(&r->occ[i], 0, sizeof(SjOccurrence));
		r->occ[i].job_id = DatumGetInt64(ids[i]);
		r->occ[i].schedule_id = DatumGetInt64(schedules[i]);
		r->occ[i].occurrence_at = DatumGetTimestampTz(occurrences[i]);
		r->occ[i].started_at = GetCurrentTransactionStartTimestamp();
		r->occ[i].event = SJ_OCC_CANCELLED;
	}
}

/*
 * Cancel the pending job id, waiting for a worker that runs it or has
 * claimed it to let go of it: the request makes the worker stop the job's
 * CALL (or not start it) and leave the job pending, so that the cancelling
 * statement, waiting for the job's row lock, then moves it to job_history in
 * the caller's transaction.  A cancelled occurrence of a schedule is
 * skipped: its schedule goes on with the next one.
 */
static bool
cancel_pending(bool by_key, Datum key, int64 id)
{
	bool		requested;
	int			v = sj_has_schedules() ? 1 : 0;
	Oid			argtypes[2] = {by_key ? TEXTOID : INT8OID, OIDOID};
	Datum		values[2] = {key, ObjectIdGetDatum(GetUserId())};
	CancelResult r = {0, 0, NULL};

	requested = sj_request_cancel(id);
	PG_TRY();
	{
		sj_owner_execute(&cancel_plans[by_key][v], cancel_sql[by_key][v], 2,
						 argtypes, values, NULL, 1, read_cancel_result, &r);
	}
	PG_FINALLY();
	{
		if (requested)
			sj_withdraw_cancel(id);
	}
	PG_END_TRY();
	if (r.nocc > 0)
		sj_advance_schedules(r.occ, r.nocc, true);
	return r.n > 0;
}

/* cancel_job(job_id bigint) returns boolean */
Datum
sj_cancel_job_by_id(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	const SjJob *cur = sj_current_job();
	bool		found;
	bool		done;

	PreventCommandIfReadOnly("cancel_job()");
	/* the run in progress of this very process is not pending */
	if (cur && cur->id == id)
		PG_RETURN_BOOL(false);
	/* a job the caller may not see is not stopped either */
	(void) run_for_caller(&find_by_id_plan, find_by_id_sql, INT8OID,
						  PG_GETARG_DATUM(0), (Datum) 0, (Datum) 0, &found);
	if (!found)
		PG_RETURN_BOOL(false);
	done = cancel_pending(false, PG_GETARG_DATUM(0), id);
	if (done)
		sj_note_jobs_changed();
	PG_RETURN_BOOL(done);
}

/* cancel_job(job_key text) returns boolean */
Datum
sj_cancel_job_by_key(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		found;
	int64		id;
	bool		done;

	PreventCommandIfReadOnly("cancel_job()");
	detach_current_key(key);
	id = run_for_caller(&find_by_key_plan, find_by_key_sql, TEXTOID,
						PG_GETARG_DATUM(0), (Datum) 0, (Datum) 0, &found);
	if (!found)
		PG_RETURN_BOOL(false);
	done = cancel_pending(true, PG_GETARG_DATUM(0), id);
	if (done)
		sj_note_jobs_changed();
	PG_RETURN_BOOL(done);
}

/* Shared body of the reschedule_job() variants. */
static Datum
reschedule(PG_FUNCTION_ARGS, bool by_key, bool is_self)
{
	TimestampTz run_at = PG_GETARG_TIMESTAMPTZ(1);
	bool		found;

	PreventCommandIfReadOnly("reschedule_job()");
	check_run_at(run_at);
	if (is_self)
		found = reschedule_self(sj_current_job(), run_at);
	else
		found = run_reschedule(by_key, PG_GETARG_DATUM(0), run_at);
	if (found)
	{
		sj_note_jobs_changed();
		sj_wake_scheduler_at_commit(run_at);
	}
	PG_RETURN_BOOL(found);
}

/* reschedule_job(job_id bigint, run_at timestamptz) returns boolean */
Datum
sj_reschedule_job_by_id(PG_FUNCTION_ARGS)
{
	const SjJob *cur = sj_current_job();

	return reschedule(fcinfo, false, cur && cur->id == PG_GETARG_INT64(0));
}

/* reschedule_job(job_key text, run_at timestamptz) returns boolean */
Datum
sj_reschedule_job_by_key(PG_FUNCTION_ARGS)
{
	const SjJob *cur = sj_current_job();
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));

	return reschedule(fcinfo, true,
					  cur && cur->job_key && strcmp(cur->job_key, key) == 0);
}
