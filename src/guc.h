/*
 * guc.h
 *		The scheduled_jobs.* configuration parameters.
 */
#ifndef SJ_GUC_H
#define SJ_GUC_H

extern int	sj_batch_size;
extern int	sj_max_sleep;
extern bool sj_paused;
extern int	sj_max_databases;
extern int	sj_max_executors;
extern int	sj_executor_idle_timeout;
extern int	sj_job_timeout;
extern int	sj_retry_base_delay;
extern int	sj_retry_max_delay;
extern int	sj_group_commit_size;
extern int	sj_clock_offset;
extern int	sj_history_retention;
extern int	sj_failed_retention;
extern bool sj_track_stats;

extern void sj_guc_init(void);

#endif							/* SJ_GUC_H */
