/*
 * api.h
 *		The SQL-callable functions of scheduled_jobs.
 */
#ifndef SJ_API_H
#define SJ_API_H

#include "executor/spi.h"
#include "fmgr.h"

extern void sj_api_close_insert_state(bool isCommit);
extern int64 sj_run_as_extension_owner(SPIPlanPtr *plan, const char *sql, int nargs,
									   Oid *argtypes, Datum *values, const char *nulls,
									   bool *found);

#endif							/* SJ_API_H */
