/*
 * histogram.h
 *		Log-linear histograms of durations, for the percentiles of stats:
 *		kept sparse in memory, stored as bytea in scheduled_jobs.job_stats,
 *		merged and read by SQL functions.
 */
#ifndef SJ_HISTOGRAM_H
#define SJ_HISTOGRAM_H

#include "fmgr.h"

/*
 * A histogram: the non-empty buckets, sorted by bucket.  Each entry packs
 * its bucket (the top 16 bits) and its count (the low 48).
 */
typedef struct SjHistogram
{
	int			n;				/* entries used */
	int			size;			/* entries allocated */
	uint64	   *entries;
} SjHistogram;

extern void sj_histogram_add(SjHistogram *h, int64 us, MemoryContext mcxt);
extern bytea *sj_histogram_bytea(const SjHistogram *h);

#endif							/* SJ_HISTOGRAM_H */
