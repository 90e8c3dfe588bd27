/*
 * api.c
 *		schedule_job(), cancel_job() and reschedule_job().
 *
 * The functions run as the caller and check the caller's rights themselves;
 * they then write the job tables as the extension owner (the owner of the
 * scheduled_jobs schema), with SECURITY_LOCAL_USERID_CHANGE as core does for
 * SECURITY DEFINER, since ordinary roles have no write privilege on them.
 * A role acts only on jobs owned by roles it is a member of.
 *
 * Every write notes the job's run_at so that the scheduler is woken at
 * commit if it sleeps past it (shmem.c).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "api.h"
#include "envelope.h"
#include "shmem.h"
#include "worker.h"

PG_FUNCTION_INFO_V1(sj_schedule_job);
PG_FUNCTION_INFO_V1(sj_cancel_job_by_id);
PG_FUNCTION_INFO_V1(sj_cancel_job_by_key);
PG_FUNCTION_INFO_V1(sj_reschedule_job_by_id);
PG_FUNCTION_INFO_V1(sj_reschedule_job_by_key);

/*
 * Upsert of a job with a job_key.  UPSERT_SQL(extra column, extra value,
 * extra SET) so that the 0.1.0 table, without group_commit, is served too
 * until ALTER EXTENSION ... UPDATE.
 */
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
UPSERT_SQL(", group_commit", ", $9", ", group_commit = excluded.group_commit");
static const char *const schedule_sql_0_1 = UPSERT_SQL("", "", "");

#define CANCEL_SQL(cond) \
	SJ_CANCEL_JOBS_SQL(cond " AND pg_catalog.pg_has_role($2, owner::pg_catalog.oid, 'MEMBER')")

#define RESCHEDULE_SQL(cond) \
	"UPDATE scheduled_jobs.jobs SET run_at = $3 " \
	"WHERE " cond " AND pg_catalog.pg_has_role($2, owner::pg_catalog.oid, 'MEMBER') " \
	"RETURNING id"

static const char *const cancel_by_id_sql = CANCEL_SQL("id OPERATOR(pg_catalog.=) $1");
static const char *const cancel_by_key_sql = CANCEL_SQL("job_key OPERATOR(pg_catalog.=) $1");
static const char *const reschedule_by_id_sql = RESCHEDULE_SQL("id OPERATOR(pg_catalog.=) $1");
static const char *const reschedule_by_key_sql = RESCHEDULE_SQL("job_key OPERATOR(pg_catalog.=) $1");

/* Plans kept for the session; the plan cache re-plans them after DDL. */
static SPIPlanPtr schedule_plan = NULL;
static SPIPlanPtr schedule_plan_0_1 = NULL;
static SPIPlanPtr cancel_by_id_plan = NULL;
static SPIPlanPtr cancel_by_key_plan = NULL;
static SPIPlanPtr reschedule_by_id_plan = NULL;
static SPIPlanPtr reschedule_by_key_plan = NULL;

/*
 * sj_run_as_extension_owner
 *		Run one of our statements as the extension owner (the owner of the
 *		scheduled_jobs schema) and return the first column of its first row,
 *		or 0 with *found = false.  The plan is kept in *plan.  Must be called
 *		inside a transaction.
 */
int64
sj_run_as_extension_owner(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
						  Datum *values, const char *nulls, bool *found)
{
	Oid			save_userid;
	int			save_sec_context;
	Oid			nspid;
	HeapTuple	tup;
	Oid			owner;
	int64		result = 0;
	int			ret;

	nspid = get_namespace_oid("scheduled_jobs", false);
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nspid);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (*plan == NULL)
		*plan = sj_prepare(sql, nargs, argtypes);
	ret = SPI_execute_plan(*plan, values, nulls, false, 1);
	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	*found = SPI_processed > 0;
	if (*found)
	{
		bool		isnull;

		result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();

	SetUserIdAndSecContext(save_userid, save_sec_context);
	return result;
}

/* Longest job_key: well within what a btree index entry can hold. */
#define SJ_JOB_KEY_MAX 1024

/* Columns of scheduled_jobs.jobs, in table order (see insert_job). */
enum
{
	JOBS_ID, JOBS_RUN_AT, JOBS_CHANNEL, JOBS_PROCEDURE, JOBS_PAYLOAD,
	JOBS_JOB_KEY, JOBS_MAX_ATTEMPTS, JOBS_TIMEOUT_MS, JOBS_OWNER,
	JOBS_ATTEMPTS, JOBS_CREATED_AT, JOBS_LAST_ERROR, JOBS_LAST_ERROR_DATA,
	JOBS_GROUP_COMMIT,
	JOBS_NATTS
};

/*
 * What insert_job keeps open for the rest of the transaction: the table, its
 * indexes and an executor state to insert into them.  Opened under the top
 * transaction's resource owner; closed before commit, before any utility
 * command (so that DDL on the table in the same transaction sees no open
 * reference), and forgotten on abort, which releases it.
 */
typedef struct JobsInsertState
{
	Relation	rel;
	Oid			seqid;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
} JobsInsertState;

static JobsInsertState *insert_state = NULL;

static JobsInsertState *
open_insert_state(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	ResourceOwner save_owner = CurrentResourceOwner;
	JobsInsertState *st = palloc(sizeof(JobsInsertState));
	Oid			relid;

	relid = get_relname_relid("jobs", get_namespace_oid("scheduled_jobs", false));
	if (!OidIsValid(relid))
		elog(ERROR, "table scheduled_jobs.jobs does not exist");

	CurrentResourceOwner = TopTransactionResourceOwner;
	st->rel = table_open(relid, RowExclusiveLock);
	/* 0.1.0 has no group_commit column yet */
	if (RelationGetDescr(st->rel)->natts != JOBS_NATTS &&
		RelationGetDescr(st->rel)->natts != JOBS_GROUP_COMMIT)
		elog(ERROR, "table scheduled_jobs.jobs has %d columns, expected %d",
			 RelationGetDescr(st->rel)->natts, JOBS_NATTS);
	st->seqid = getIdentitySequence(relid, JOBS_ID + 1, false);
	st->estate = CreateExecutorState();
	st->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(st->rri, st->rel, 0, NULL, 0);
	ExecOpenIndices(st->rri, false);
	st->slot = ExecInitExtraTupleSlot(st->estate, RelationGetDescr(st->rel),
									  &TTSOpsHeapTuple);
	CurrentResourceOwner = save_owner;
	MemoryContextSwitchTo(old);
	return st;
}

/*
 * sj_api_close_insert_state
 *		Close what insert_job keeps open; isCommit false on abort, where the
 *		resource owner has released it already.
 */
void
sj_api_close_insert_state(bool isCommit)
{
	ResourceOwner save_owner = CurrentResourceOwner;

	if (insert_state == NULL)
		return;
	if (isCommit)
	{
		CurrentResourceOwner = TopTransactionResourceOwner;
		ExecDropSingleTupleTableSlot(insert_state->slot);
		ExecCloseIndices(insert_state->rri);
		FreeExecutorState(insert_state->estate);
		table_close(insert_state->rel, NoLock);
		CurrentResourceOwner = save_owner;
	}
	insert_state = NULL;
}

/*
 * insert_job
 *		Insert a job without a job_key straight into the heap and indexes of
 *		scheduled_jobs.jobs; returns its id.  args/argnulls are the
 *		parameters of schedule_sql, already validated.
 *
 * This is what an INSERT does for this table, less the executor start-up,
 * which is most of the cost of a one-row INSERT: the table has no triggers,
 * rules or CHECK constraints, and only schedule_job() adds rows, so nothing is
 * skipped.  Nothing can conflict without a job_key.
 */
static int64
insert_job(Datum *args, const char *argnulls)
{
	JobsInsertState *st;
	Datum		values[JOBS_NATTS];
	bool		nulls[JOBS_NATTS];
	int64		id;
	HeapTuple	tuple;

	if (insert_state == NULL)
		insert_state = open_insert_state();
	st = insert_state;

	id = nextval_internal(st->seqid, false);
	memset(nulls, false, sizeof(nulls));
	values[JOBS_ID] = Int64GetDatum(id);
	for (int i = 0; i < 8; i++)
	{
		values[JOBS_RUN_AT + i] = args[i];
		nulls[JOBS_RUN_AT + i] = argnulls[i] == 'n';
	}
	values[JOBS_ATTEMPTS] = Int32GetDatum(0);
	values[JOBS_CREATED_AT] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	nulls[JOBS_LAST_ERROR] = nulls[JOBS_LAST_ERROR_DATA] = true;
	values[JOBS_GROUP_COMMIT] = args[8];

	tuple = heap_form_tuple(RelationGetDescr(st->rel), values, nulls);
	ExecStoreHeapTuple(tuple, st->slot, false);
	simple_table_tuple_insert(st->rel, st->slot);
	list_free(ExecInsertIndexTuples(st->rri, st->slot, st->estate, false, false, NULL, NIL));
	ExecClearTuple(st->slot);
	ResetPerTupleExprContext(st->estate);
	heap_freetuple(tuple);

	/* later statements of this command, e.g. a replace of its key, see it */
	CommandCounterIncrement();
	return id;
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
 * resolve_procedure
 *		The OID of the procedure named by the possibly qualified, possibly
 *		quoted name, taking one jsonb argument; the name may also carry its
 *		argument list, 'schema.name(jsonb)'.  Errors if it does not exist or
 *		is not a procedure.  Checks no privilege.
 */
static Oid
resolve_procedure(const char *procedure)
{
	Oid			procoid;
	bool		with_args = false;
	bool		quoted = false;
	List	   *names;
	char	   *name = pstrdup(procedure);

	/* the name ends at the first '(' outside double quotes */
	for (char *c = name; *c; c++)
	{
		if (*c == '"')
			quoted = !quoted;
		else if (*c == '(' && !quoted)
		{
			*c = '\0';
			with_args = true;
			break;
		}
	}
	names = stringToQualifiedNameList(name);
	if (list_length(names) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid procedure name \"%s\"", procedure),
				 errdetail("Too many dotted names."),
				 errhint("Name the procedure as schema.name or name.")));

	if (with_args)
	{
		LOCAL_FCINFO(fcinfo, 1);
		Datum		d;

		InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = CStringGetTextDatum(procedure);
		fcinfo->args[0].isnull = false;
		d = to_regprocedure(fcinfo);
		procoid = fcinfo->isnull ? InvalidOid : DatumGetObjectId(d);
	}
	else
	{
		ObjectWithArgs *owa = makeNode(ObjectWithArgs);

		owa->objname = names;
		owa->objargs = list_make1(makeTypeNameFromOid(JSONBOID, -1));
		/* OBJECT_ROUTINE: functions too, to tell them apart below */
		procoid = LookupFuncWithArgs(OBJECT_ROUTINE, owa, true);
	}
	if (!OidIsValid(procoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg(with_args ? "procedure %s does not exist" : "procedure %s(jsonb) does not exist",
						procedure),
				 errhint("A job's procedure takes one jsonb argument: CREATE PROCEDURE name(payload jsonb).")));
	if (with_args)
	{
		Oid		   *argtypes;
		int			nargs;

		(void) get_func_signature(procoid, &argtypes, &nargs);
		if (nargs != 1 || argtypes[0] != JSONBOID)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("procedure %s does not take one jsonb argument", procedure),
					 errhint("A job's procedure takes one jsonb argument: CREATE PROCEDURE name(payload jsonb).")));
	}
	if (get_func_prokind(procoid) != PROKIND_PROCEDURE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is not a procedure", format_procedure(procoid)),
				 errhint("Jobs run procedures with CALL: use CREATE PROCEDURE.")));
	return procoid;
}

/* Check a procedure target and return its canonical qualified name. */
static char *
check_procedure(const char *procedure)
{
	Oid			procoid = resolve_procedure(procedure);
	AclResult	aclresult;

	aclresult = pg_proc_aclcheck(procoid, GetUserId(), ACL_EXECUTE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_PROCEDURE, get_func_name(procoid));

	return quote_qualified_identifier(get_namespace_name(get_func_namespace(procoid)),
									  get_func_name(procoid));
}

/* Check a NOTIFY target: the channel name and the size of the envelope. */
static void
check_channel(const char *channel, const char *job_key, Jsonb *payload)
{
	Size		env;
	char	   *payload_text;

	if (channel[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("channel must not be empty")));
	if (strlen(channel) > SJ_CHANNEL_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("channel name too long"),
				 errdetail("Channel names are at most %d bytes; this one has %zu.",
						   SJ_CHANNEL_MAX, strlen(channel))));

	payload_text = JsonbToCString(NULL, &payload->root, VARSIZE(payload));
	env = sj_envelope_max_size(job_key, strlen(payload_text));
	if (env > SJ_NOTIFY_PAYLOAD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job too large for NOTIFY"),
				 errdetail("Its NOTIFY envelope can take %zu bytes; NOTIFY payloads are at most %d bytes.",
						   env, SJ_NOTIFY_PAYLOAD_MAX),
				 errhint("Keep large data in a table and put its key in the payload.")));
	pfree(payload_text);
}

/*
 * schedule_job(run_at, channel, procedure, payload, job_key, max_attempts,
 *				timeout) returns bigint
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
	Oid			argtypes[9] = {TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID,
	TEXTOID, INT4OID, INT4OID, REGROLEOID, BOOLOID};
	Datum		values[9];
	char		nulls[9] = "         ";
	bool		group_commit = false;
	bool		v0_1 = PG_NARGS() < 8;	/* the 0.1.0 signature */
	bool		found = true;
	int64		id;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("run_at must not be null")));
	run_at = PG_GETARG_TIMESTAMPTZ(0);
	check_run_at(run_at);

	if (PG_ARGISNULL(1) == PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of channel and procedure must be given"),
				 errhint("Give channel => 'name' to fire the job as NOTIFY, or procedure => 'schema.name' to CALL it.")));

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payload must not be null"),
				 errhint("Pass '{}' for an empty payload, or 'null'::jsonb for a JSON null.")));
	payload = PG_GETARG_JSONB_P(3);

	if (!PG_ARGISNULL(4))
	{
		job_key = text_to_cstring(PG_GETARG_TEXT_PP(4));
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

	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("max_attempts must not be null")));
	max_attempts = PG_GETARG_INT32(5);
	if (max_attempts < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_attempts must be at least 1"),
				 errdetail("max_attempts was %d.", max_attempts)));

	if (!PG_ARGISNULL(6))
	{
		Interval   *timeout = PG_GETARG_INTERVAL_P(6);

		double		ms;

		/* in double first: months and days of any size must not wrap */
		ms = (timeout->time +
			  ((double) timeout->month * DAYS_PER_MONTH + timeout->day) * USECS_PER_DAY) / 1000.0;
		if (ms < 0 || ms > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must be between 0 and %d milliseconds", PG_INT32_MAX),
					 errhint("A timeout of 0 means none.")));
		timeout_ms = (int32) ceil(ms);
		has_timeout = true;
	}

	if (!v0_1 && !PG_ARGISNULL(7))
		group_commit = PG_GETARG_BOOL(7);
	if (group_commit && PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("group_commit applies to procedure jobs only"),
				 errdetail("NOTIFY jobs are always fired many to a transaction.")));

	if (!PG_ARGISNULL(1))
	{
		channel = text_to_cstring(PG_GETARG_TEXT_PP(1));
		check_channel(channel, job_key, payload);
	}
	else
		procedure = check_procedure(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	values[0] = TimestampTzGetDatum(run_at);
	values[1] = channel ? CStringGetTextDatum(channel) : (Datum) 0;
	nulls[1] = channel ? ' ' : 'n';
	values[2] = procedure ? CStringGetTextDatum(procedure) : (Datum) 0;
	nulls[2] = procedure ? ' ' : 'n';
	values[3] = JsonbPGetDatum(payload);
	values[4] = job_key ? CStringGetTextDatum(job_key) : (Datum) 0;
	nulls[4] = job_key ? ' ' : 'n';
	values[5] = Int32GetDatum(max_attempts);
	values[6] = Int32GetDatum(timeout_ms);
	nulls[6] = has_timeout ? ' ' : 'n';
	values[7] = ObjectIdGetDatum(GetUserId());
	values[8] = BoolGetDatum(group_commit);

	if (job_key == NULL)
		id = insert_job(values, nulls);
	else if (v0_1)
		id = sj_run_as_extension_owner(&schedule_plan_0_1, schedule_sql_0_1, 8, argtypes, values, nulls, &found);
	else
		id = sj_run_as_extension_owner(&schedule_plan, schedule_sql, 9, argtypes, values, nulls, &found);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("job_key \"%s\" is taken by a pending job of another role", job_key),
				 errdetail("A pending job_key can only be replaced by a member of the role that owns the job.")));

	sj_wake_scheduler_at_commit(run_at);
	PG_RETURN_INT64(id);
}

/* Shared body of cancel_job() and reschedule_job(). */
static Datum
change_job(PG_FUNCTION_ARGS, SPIPlanPtr *plan, const char *sql, Oid keytype,
		   bool reschedule)
{
	Oid			argtypes[3] = {keytype, OIDOID, TIMESTAMPTZOID};
	Datum		values[3];
	bool		found;

	values[0] = PG_GETARG_DATUM(0);
	values[1] = ObjectIdGetDatum(GetUserId());
	if (reschedule)
	{
		TimestampTz run_at = PG_GETARG_TIMESTAMPTZ(1);

		check_run_at(run_at);
		values[2] = TimestampTzGetDatum(run_at);
		(void) sj_run_as_extension_owner(plan, sql, 3, argtypes, values, NULL, &found);
		if (found)
			sj_wake_scheduler_at_commit(run_at);
	}
	else
		found = sj_run_as_extension_owner(plan, sql, 2, argtypes, values, NULL, &found) > 0;

	PG_RETURN_BOOL(found);
}

/* cancel_job(job_id bigint) returns boolean */
Datum
sj_cancel_job_by_id(PG_FUNCTION_ARGS)
{
	return change_job(fcinfo, &cancel_by_id_plan, cancel_by_id_sql, INT8OID, false);
}

/* cancel_job(job_key text) returns boolean */
Datum
sj_cancel_job_by_key(PG_FUNCTION_ARGS)
{
	return change_job(fcinfo, &cancel_by_key_plan, cancel_by_key_sql, TEXTOID, false);
}

/* reschedule_job(job_id bigint, run_at timestamptz) returns boolean */
Datum
sj_reschedule_job_by_id(PG_FUNCTION_ARGS)
{
	return change_job(fcinfo, &reschedule_by_id_plan, reschedule_by_id_sql, INT8OID, true);
}

/* reschedule_job(job_key text, run_at timestamptz) returns boolean */
Datum
sj_reschedule_job_by_key(PG_FUNCTION_ARGS)
{
	return change_job(fcinfo, &reschedule_by_key_plan, reschedule_by_key_sql, TEXTOID, true);
}
