/*
 * worker.h
 *		What the scheduler and executors share: session set-up, plans, and
 *		recovery from an error at the top of their loops.
 */
#ifndef SJ_WORKER_H
#define SJ_WORKER_H

#include "executor/spi.h"

extern void sj_worker_session_settings(void);
extern SPIPlanPtr sj_prepare(const char *sql, int nargs, Oid *argtypes);
extern void sj_recover_from_error(MemoryContext loop_ctx);

#endif							/* SJ_WORKER_H */
