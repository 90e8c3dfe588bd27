/*
 * retention.h
 *		Keeping scheduled_jobs.job_history bounded: the scheduler's prune
 *		step.
 */
#ifndef SJ_RETENTION_H
#define SJ_RETENTION_H

extern bool sj_prune_history(int *deleted);

#endif							/* SJ_RETENTION_H */
