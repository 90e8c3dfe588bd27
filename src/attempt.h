/*
 * attempt.h
 *		Recording how an attempt of a procedure job ended: succeeded, failed
 *		and retried later, failed for good, expired unrun, or lost with its
 *		executor.
 */
#ifndef SJ_ATTEMPT_H
#define SJ_ATTEMPT_H

#include "nodes/pg_list.h"

#include "inflight.h"
#include "job.h"

extern void sj_record_succeeded(List *jobs);
extern void sj_record_expired(SjJob *job);
extern void sj_record_outside_started(SjJob *job);
extern void sj_record_outside_finished(SjJob *job, ErrorData *edata);
extern void sj_record_failed_attempt(SjJob *job, ErrorData *edata);
extern bool sj_charge_lost_attempt(int64 job_id, SjInflightState how);

#endif							/* SJ_ATTEMPT_H */
