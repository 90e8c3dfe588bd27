/*
 * owner_sql.c
 *		Running the extension's own statements as the extension owner.
 *
 * Ordinary roles have no write privilege on the job tables: the SQL
 * functions check the caller's rights themselves, then write as the owner of
 * the scheduled_jobs schema with SECURITY_LOCAL_USERID_CHANGE, as core does
 * for SECURITY DEFINER functions, and SECURITY_RESTRICTED_OPERATION, so that
 * nothing the statement runs can change the session.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "job.h"
#include "owner_sql.h"
#include "worker.h"

/*
 * sj_owner_execute
 *		Run one of our statements as the extension owner, then, with the
 *		result still in SPI_tuptable, call rows(arg) if rows is not NULL.
 *		At most count rows (0: all).  The plan is kept in *plan.  Must be
 *		called inside a transaction.
 */
void
sj_owner_execute(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
				 Datum *values, const char *nulls, long count,
				 SjRowsFunc rows, void *arg)
{
	Oid			save_userid;
	int			save_sec_context;
	Oid			nspid;
	HeapTuple	tup;
	Oid			owner;
	int			ret;
	int			nestlevel;

	nspid = get_namespace_oid(SJ_EXTENSION_NAME, false);
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nspid);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	/*
	 * Plans as the workers make them (worker.c): made when the tables were
	 * small, a kept plan must not scan them whole once they are large.
	 */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (*plan == NULL)
		*plan = sj_prepare(sql, nargs, argtypes);
	ret = SPI_execute_plan(*plan, values, nulls, false, count);
	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (rows)
		rows(arg);
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);

	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/* The first column, an int8, of the first row, if any. */
typedef struct FirstInt8
{
	int64		value;
	bool		found;
} FirstInt8;

static void
first_int8(void *arg)
{
	FirstInt8  *r = arg;

	r->found = SPI_processed > 0;
	if (r->found)
	{
		bool		isnull;
		Datum		d;

		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
						  &isnull);
		r->value = isnull ? 0 : DatumGetInt64(d);
	}
}

/*
 * sj_run_as_extension_owner
 *		Run one of our statements as the extension owner and return the first
 *		column (an int8) of its first row, or 0 with *found = false.  The
 *		plan is kept in *plan.  Must be called inside a transaction.
 */
int64
sj_run_as_extension_owner(SPIPlanPtr *plan, const char *sql, int nargs,
						  Oid *argtypes, Datum *values, const char *nulls,
						  bool *found)
{
	FirstInt8	r = {0, false};

	sj_owner_execute(plan, sql, nargs, argtypes, values, nulls, 1,
					 first_int8, &r);
	*found = r.found;
	return r.value;
}
