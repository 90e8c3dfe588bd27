/*
 * call.h
 *		Running the CALL of one procedure job as its owner, and clearing what
 *		it left in the session.
 */
#ifndef SJ_CALL_H
#define SJ_CALL_H

#include "port/atomics.h"

#include "job.h"

extern ErrorData *sj_call_job(SjJob *job, pg_atomic_uint64 *running_job,
							  MemoryContext job_ctx);
extern void sj_clear_session(void);
extern char *sj_declared_synchronous_commit(const char *procedure);

#endif							/* SJ_CALL_H */
