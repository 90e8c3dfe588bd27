/*
 * stats.h
 *		Statistics of finished jobs, per target: counted as jobs finish,
 *		written to scheduled_jobs.job_stats in 10-second rows, folded into
 *		minute and hour rows, read through the view scheduled_jobs.stats.
 */
#ifndef SJ_STATS_H
#define SJ_STATS_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"

#include "job.h"

/*
 * How a job ended, as stats count it: the count columns of job_stats, in
 * order.  SJ_END_RETRIED is a failed attempt that will be tried again: it
 * counts nowhere but gives the target its last error.
 */
typedef enum SjStatsEnd
{
	SJ_END_RETRIED = -1,
	SJ_END_SUCCEEDED,			/* succeeded, notified, acknowledged */
	SJ_END_FAILED,
	SJ_END_CANCELLED,
	SJ_END_EXPIRED,
	SJ_END_DEAD,
	SJ_END_COUNT
} SjStatsEnd;

extern void sj_stats_count(const char *channel, const char *procedure,
						   const char *command, int64 schedule_id,
						   SjStatsEnd end, TimestampTz run_at,
						   TimestampTz fired_at, TimestampTz finished_at,
						   const char *error);
extern void sj_stats_count_job(SjJob *job, SjStatsEnd end, bool fired,
							   TimestampTz finished_at, const char *error);
extern void sj_stats_count_cancelled(HeapTuple tup, TupleDesc desc, int col);
extern void sj_stats_defer(bool abort);
extern TimestampTz sj_stats_flush_at(void);
extern void sj_stats_flush(void);
extern bool sj_stats_compact(void);

#endif							/* SJ_STATS_H */
