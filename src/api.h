/*
 * api.h
 *		The SQL-callable functions of scheduled_jobs.
 */
#ifndef SJ_API_H
#define SJ_API_H

#include "fmgr.h"

extern Oid	sj_resolve_procedure(const char *procedure, bool missing_ok);
extern void sj_api_close_insert_state(bool isCommit);

#endif							/* SJ_API_H */
