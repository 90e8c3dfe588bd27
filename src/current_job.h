/*
 * current_job.h
 *		The job this process is running, for the SQL functions that a job
 *		calls on itself, and a count of the changes those functions made.
 *
 * An executor sets the current job around its CALL.  schedule_job(),
 * reschedule_job() and cancel_job() look at it so that a job that re-arms
 * itself gets a new pending job instead of rewriting the row of its own run;
 * the executor looks at the count to see whether a job of a group commit
 * changed the other jobs of its group.
 */
#ifndef SJ_CURRENT_JOB_H
#define SJ_CURRENT_JOB_H

#include "job.h"

extern void sj_current_job_set(const SjJob *job);
extern const SjJob *sj_current_job(void);
extern void sj_note_key_detached(void);
extern bool sj_current_key_detached(void);
extern void sj_note_rearmed(int64 next_id);
extern int64 sj_current_rearmed(void);
extern void sj_note_jobs_changed(void);
extern uint64 sj_jobs_changed(void);

#endif							/* SJ_CURRENT_JOB_H */
