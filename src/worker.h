/*
 * worker.h
 *		What the workers share: session set-up, kept plans, recovery from an
 *		error at the top of their loops, and registering a worker.
 */
#ifndef SJ_WORKER_H
#define SJ_WORKER_H

#include "executor/spi.h"
#include "postmaster/bgworker.h"

extern void sj_worker_session_settings(void);
extern SPIPlanPtr sj_prepare(const char *sql, int nargs, Oid *argtypes);
extern int	sj_execute_plan(SPIPlanPtr plan, Datum *values, const char *nulls,
							bool read_only, long count);
extern void sj_recover_from_error(MemoryContext loop_ctx);
extern bool sj_postmaster_stopping(void);
extern BackgroundWorkerHandle *sj_start_worker(const char *function,
											   const char *type,
											   Oid dboid, Datum main_arg,
											   const char *name_fmt,...)
			pg_attribute_printf(5, 6);

#endif							/* SJ_WORKER_H */
