/*
 * call.c
 *		Running the CALL of one procedure job (or the SQL text of a command
 *		job that runs in the job's transaction), under its own error boundary.
 *
 * The CALL runs as the job's owner with SECURITY_LOCAL_USERID_CHANGE, as core
 * runs SECURITY DEFINER functions: the job cannot SET ROLE or SET SESSION
 * AUTHORIZATION back to the worker's superuser identity.  It runs in a
 * subtransaction of the job's transaction, under its own GUC nest level, and
 * what it leaves in the session is cleared before the next job
 * (sj_clear_session).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/prepare.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "libpq/be-fsstubs.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/lock.h"
#include "utils/guc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

#include "call.h"
#include "current_job.h"
#include "guc.h"
#include "worker.h"

/*
 * Most CALL plans kept at once: one per procedure name, so a bound only
 * against a job mix of very many procedures; past it they are all made anew.
 */
#define SJ_MAX_CALL_PLANS 1000

/* CALL plans by procedure name, kept for the life of the executor. */
typedef struct CallPlan
{
	char		procedure[4 * NAMEDATALEN + 8]; /* hash key: quoted
												 * schema.name */
	SPIPlanPtr	plan;
} CallPlan;

static HTAB *call_plans = NULL;

/*
 * The kept plan of CALL procedure($1).  The plan cache re-plans it when the
 * procedure changes; a dropped procedure makes it fail, as it should.
 */
static SPIPlanPtr
call_plan(const char *procedure)
{
	CallPlan   *entry;
	bool		found;

	if (call_plans == NULL ||
		hash_get_num_entries(call_plans) >= SJ_MAX_CALL_PLANS)
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
 * sj_call_job
 *		Run the job's CALL as its owner, in a subtransaction of the job's
 *		transaction.  *running_job holds the job's id while the CALL runs,
 *		for cancel_job() to interrupt it (shmem.c).  Returns NULL on success,
 *		else the error (in job_ctx).  Connected to SPI.
 */
ErrorData *
sj_call_job(SjJob *job, pg_atomic_uint64 *running_job, MemoryContext job_ctx)
{
	ResourceOwner owner = CurrentResourceOwner;
	volatile int timeout_ms = job->timeout_ms >= 0 ? job->timeout_ms :
	sj_job_timeout;
	ErrorData  *volatile edata = NULL;
	Oid			save_userid;
	int			save_sec_context;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(job_ctx);
	PG_TRY();
	{
		int			nestlevel;
		SPIPlanPtr	plan;
		char	   *schema;
		ConstraintsSetStmt all_immediate = {.type = T_ConstraintsSetStmt};

		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(job->owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role %u, the owner of job " INT64_FORMAT ", does not exist",
							job->owner, job->id)));
		plan = job->command ? NULL : call_plan(job->procedure);

		nestlevel = NewGUCNestLevel();
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(job->owner,
							   save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE);

		/*
		 * The kept plan checked USAGE on the procedure's schema when it was
		 * made; the owner may have lost it since, as its own CALL would
		 * notice.
		 */
		if (job->command)
		{
			/* a command reads names as a new session of its owner would */
			(void) set_config_option("search_path", "\"$user\", public",
									 PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		}
		else
		{
			schema = strVal(linitial(stringToQualifiedNameList(job->procedure)));
			(void) LookupExplicitNamespace(schema, false);
		}
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
		sj_current_job_set(job);
		pg_atomic_write_u64(running_job, (uint64) job->id);

		if (job->command)
		{
			if (SPI_execute(job->command, false, 0) < 0)
				elog(ERROR, "could not run the command of job " INT64_FORMAT,
					 job->id);
		}
		else if (SPI_execute_plan(plan, &job->payload, NULL, false, 0) < 0)
			elog(ERROR, "could not CALL %s", job->procedure);
		/* deferred constraints and triggers fire here, under this boundary */
		AfterTriggerSetState(&all_immediate);

		/* a cancel that came during the CALL stops it here, not later */
		pg_atomic_write_u64(running_job, 0);
		CHECK_FOR_INTERRUPTS();
		sj_current_job_set(NULL);
		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		AtEOXact_GUC(false, nestlevel);

		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		pg_atomic_write_u64(running_job, 0);
		sj_current_job_set(NULL);
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
 * sj_clear_session
 *		Clear what a job may have left in the session, before the next job
 *		(of the same transaction, in group commit) or the executor's own SQL:
 *		what DISCARD ALL clears and what the end of a transaction would, for
 *		the next job of a group.  The user id, security context and GUCs
 *		(SET, SET LOCAL, SET ROLE) are restored by the job's own boundary
 *		already, and deferred triggers were fired under it.  Inside the job's
 *		transaction: LISTEN is undone before it takes effect at commit, temp
 *		objects are dropped with it.  Not cleared: transaction-level advisory
 *		locks and queued NOTIFYs, which belong to the transaction and go with
 *		its commit.
 */
void
sj_clear_session(void)
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
	/* open large object descriptors, which loread(fd) of the next job reads */
	AtEOXact_LargeObject(true);
}

/*
 * sj_declared_synchronous_commit
 *		The synchronous_commit that the procedure's own SET clause declares
 *		(CREATE or ALTER PROCEDURE ... SET synchronous_commit = off), or NULL:
 *		the job's transaction commits with it (executor.c), since the SET
 *		clause itself ends with the CALL, before the commit.  Inside a
 *		transaction.
 */
char *
sj_declared_synchronous_commit(const char *procedure)
{
	ObjectWithArgs *proc = makeNode(ObjectWithArgs);
	Oid			fn;
	HeapTuple	tup;
	Datum		config;
	bool		isnull;
	char	   *value = NULL;

	proc->objname = stringToQualifiedNameList(procedure);
	proc->objargs = list_make1(makeTypeNameFromOid(JSONBOID, -1));
	fn = LookupFuncWithArgs(OBJECT_PROCEDURE, proc, true);
	if (!OidIsValid(fn))
		return NULL;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		return NULL;
	config = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proconfig, &isnull);
	if (!isnull)
	{
		Datum	   *items;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(config), TEXTOID, -1, false,
						  TYPALIGN_INT, &items, NULL, &n);
		for (int i = 0; i < n; i++)
		{
			char	   *item = TextDatumGetCString(items[i]);

			if (strncmp(item, "synchronous_commit=", 19) == 0)
				value = pstrdup(item + 19);
		}
	}
	ReleaseSysCache(tup);
	return value;
}
