/*
 * owner_sql.h
 *		Running the extension's own statements as the extension owner, from
 *		backends (the SQL functions and the utility hook).
 */
#ifndef SJ_OWNER_SQL_H
#define SJ_OWNER_SQL_H

#include "executor/spi.h"

/* called with the statement's result in SPI_tuptable */
typedef void (*SjRowsFunc) (void *arg);

extern void sj_owner_execute(SPIPlanPtr *plan, const char *sql, int nargs,
							 Oid *argtypes, Datum *values, const char *nulls,
							 long count, SjRowsFunc rows, void *arg);
extern int64 sj_run_as_extension_owner(SPIPlanPtr *plan, const char *sql,
									   int nargs, Oid *argtypes, Datum *values,
									   const char *nulls, bool *found);

#endif							/* SJ_OWNER_SQL_H */
