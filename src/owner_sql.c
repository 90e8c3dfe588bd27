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
#include "utils/syscache.h"

#include "owner_sql.h"
#include "worker.h"

/*
 * sj_run_as_extension_owner
 *		Run one of our statements as the extension owner and return the first
 *		column (an int8) of its first row, or 0 with *found = false.  The plan
 *		is kept in *plan.  Must be called inside a transaction.
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
		Datum		d;

		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		result = isnull ? 0 : DatumGetInt64(d);
	}
	SPI_finish();

	SetUserIdAndSecContext(save_userid, save_sec_context);
	return result;
}
