/*
 * target.c
 *		Checking the target of a job when it is scheduled: a procedure that
 *		the executor's CALL will find and may run, or a NOTIFY channel whose
 *		envelopes fit.  What cannot run is refused now, not at fire time.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "envelope.h"
#include "target.h"

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

/*
 * sj_check_procedure
 *		Check a procedure target and return its canonical qualified name:
 *		the caller may execute it, it is not temporary, and the CALL the
 *		executor makes, CALL schema.name(payload), finds exactly this
 *		procedure.  Errors otherwise.
 */
char *
sj_check_procedure(const char *procedure)
{
	Oid			procoid = resolve_procedure(procedure);
	Oid			nspid = get_func_namespace(procoid);
	char	   *nspname = get_namespace_name(nspid);
	char	   *name = get_func_name(procoid);
	AclResult	aclresult;
	Oid			argtypes[1] = {JSONBOID};
	Oid			funcid;
	Oid			rettype;
	bool		retset;
	int			nvargs;
	Oid			vatype;
	Oid		   *true_typeids;
	List	   *argdefaults;
	FuncDetailCode fd;

	aclresult = pg_proc_aclcheck(procoid, GetUserId(), ACL_EXECUTE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_PROCEDURE, name);

	/* another session may own that schema, and its own "name", at fire time */
	if (isAnyTempNamespace(nspid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot schedule temporary procedure \"%s\"", name),
				 errdetail("Temporary objects end with their session; by the time the job runs, another session's procedure may have its name."),
				 errhint("Create the procedure in a permanent schema.")));

	/* what CALL schema.name($1) will resolve to, as transformCallStmt does */
	fd = func_get_detail(list_make2(makeString(nspname), makeString(name)),
						 NIL, NIL, 1, argtypes, true, true, true,
						 &funcid, &rettype, &retset, &nvargs, &vatype,
						 &true_typeids, &argdefaults);
	if (fd == FUNCDETAIL_MULTIPLE)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_FUNCTION),
				 errmsg("procedure %s is ambiguous", format_procedure(procoid)),
				 errdetail("CALL %s(payload) matches more than one procedure of that name.",
						   quote_qualified_identifier(nspname, name)),
				 errhint("Give the job's procedure a name of its own, without overloads that take a jsonb first.")));
	if (fd != FUNCDETAIL_PROCEDURE || funcid != procoid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("procedure %s cannot be called with a payload alone", format_procedure(procoid)),
				 errdetail("The executor calls CALL %s(payload); output parameters and parameters without defaults cannot be given.",
						   quote_qualified_identifier(nspname, name)),
				 errhint("A job's procedure takes one jsonb argument: CREATE PROCEDURE name(payload jsonb).")));

	return quote_qualified_identifier(nspname, name);
}

/*
 * sj_check_channel
 *		Check a NOTIFY target: the channel name, and that the largest
 *		envelope of the job (of each occurrence of a schedule, if occurrence)
 *		fits NOTIFY's limit.  Errors otherwise.
 */
void
sj_check_channel(const char *channel, const char *job_key, Jsonb *payload,
				 bool occurrence)
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
	env = sj_envelope_max_size(job_key, strlen(payload_text), occurrence);
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
 * sj_check_timeout
 *		A job's per-attempt timeout in milliseconds.  Errors unless it is
 *		between 0 (none) and INT32_MAX milliseconds.
 */
int32
sj_check_timeout(Interval *timeout)
{
	double		ms;

	/* in double first: months and days of any size must not wrap */
	ms = (timeout->time +
		  ((double) timeout->month * DAYS_PER_MONTH + timeout->day) *
		  USECS_PER_DAY) / 1000.0;
	if (ms < 0 || ms > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must be between 0 and %d milliseconds", PG_INT32_MAX),
				 errhint("A timeout of 0 means none.")));
	return (int32) ceil(ms);
}
