/*
 * inflight.h
 *		A small file per executor naming the job its CALL runs, so that an
 *		attempt that ends with the death of its executor is still counted.
 */
#ifndef SJ_INFLIGHT_H
#define SJ_INFLIGHT_H

#include "postgres.h"

/* What an executor's file says. */
typedef enum SjInflightState
{
	SJ_INFLIGHT_IDLE = 0,		/* no job, or its transaction ended */
	SJ_INFLIGHT_RUNNING,		/* in the job's transaction; still there after
								 * the executor died by a signal or crash */
	SJ_INFLIGHT_EXITED,			/* the executor exited (terminated, FATAL)
								 * while in the job's transaction */
	SJ_INFLIGHT_QUIT			/* the postmaster's SIGQUIT (a crash
								 * elsewhere, immediate shutdown) ended it
								 * there */
} SjInflightState;

/* executor side */
extern void sj_inflight_attach(Oid dboid, int executor);
extern void sj_inflight_running(int64 job_id);
extern void sj_inflight_idle(void);
extern void sj_inflight_exit(bool charge);
extern void sj_inflight_quit(void);
extern bool sj_inflight_uncharged(Oid dboid, int executor, int64 job_id);

/* scheduler side */
extern int64 sj_inflight_collect(Oid dboid, int executor,
								 SjInflightState *state);
extern void sj_inflight_put_back(Oid dboid, int executor, int64 job_id,
								 SjInflightState state);

#endif							/* SJ_INFLIGHT_H */
