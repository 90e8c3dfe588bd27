/*
 * histogram.c
 *		Log-linear histograms of durations (in microseconds), and the
 *		aggregate last_by, for the view stats.
 *
 * Durations under 16 us have a bucket each; above, each power of two is cut
 * into 8 buckets, so that a bucket is at most 12.5% wide and a percentile
 * read from one is within one bucket of the exact value.  A histogram keeps
 * only its non-empty buckets, in order: the lags of a minute of one target
 * fill a few dozen, whatever the number of jobs.  Stored as a bytea of those
 * entries (8 bytes each, native byte order: the rows never leave the
 * server but through these functions and a dump of the same machine kind).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "histogram.h"

PG_FUNCTION_INFO_V1(sj_histogram_merge);
PG_FUNCTION_INFO_V1(sj_histogram_accum);
PG_FUNCTION_INFO_V1(sj_histogram_final);
PG_FUNCTION_INFO_V1(sj_histogram_percentile);
PG_FUNCTION_INFO_V1(sj_last_by_accum);
PG_FUNCTION_INFO_V1(sj_last_by_final);

#define COUNT_BITS 48
#define COUNT_MASK ((UINT64CONST(1) << COUNT_BITS) - 1)
#define ENTRY(b, c) (((uint64) (b) << COUNT_BITS) | (uint64) (c))
#define ENTRY_BUCKET(e) ((int) ((e) >> COUNT_BITS))
#define ENTRY_COUNT(e) ((int64) ((e) & COUNT_MASK))

/* buckets of durations up to 2^63 us (the bucket of INT64_MAX is the last) */
#define NBUCKETS (16 + (62 - 4) * 8 + 8)
#define MAX_BUCKET (NBUCKETS - 1)

/* The state of the aggregate histogram_sum: every bucket's count. */
typedef struct HistogramSum
{
	bool		any;			/* a non-NULL histogram was added */
	int64		counts[NBUCKETS];
} HistogramSum;

/* The bucket of a duration of us microseconds. */
static int
bucket_of(int64 us)
{
	int			e;

	if (us < 16)
		return us < 0 ? 0 : (int) us;
	e = 63 - __builtin_clzll((unsigned long long) us);	/* >= 4 */
	return 16 + (e - 4) * 8 + (int) ((us >> (e - 3)) & 7);
}

/* The middle of a bucket, in microseconds. */
static double
bucket_middle(int b)
{
	int			e;
	int			sub;

	if (b < 16)
		return (double) b;
	e = (b - 16) / 8 + 4;
	sub = (b - 16) % 8;
	return ((double) (8 + sub) + 0.5) * (double) (INT64CONST(1) << (e - 3));
}

/*
 * sj_histogram_add
 *		Count one duration.  The entries grow in mcxt.
 */
void
sj_histogram_add(SjHistogram *h, int64 us, MemoryContext mcxt)
{
	int			b = bucket_of(us);
	int			lo = 0;
	int			hi = h->n;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (ENTRY_BUCKET(h->entries[mid]) < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->n && ENTRY_BUCKET(h->entries[lo]) == b)
	{
		h->entries[lo]++;
		return;
	}
	if (h->n == h->size)
	{
		h->size = Max(8, h->size * 2);
		h->entries = h->entries == NULL ?
			MemoryContextAlloc(mcxt, h->size * sizeof(uint64)) :
			repalloc(h->entries, h->size * sizeof(uint64));
	}
	memmove(&h->entries[lo + 1], &h->entries[lo], (h->n - lo) * sizeof(uint64));
	h->entries[lo] = ENTRY(b, 1);
	h->n++;
}

/*
 * sj_histogram_bytea
 *		The histogram as stored, or NULL if it is empty.
 */
bytea *
sj_histogram_bytea(const SjHistogram *h)
{
	bytea	   *result;

	if (h->n == 0)
		return NULL;
	result = palloc(VARHDRSZ + h->n * sizeof(uint64));
	SET_VARSIZE(result, VARHDRSZ + h->n * sizeof(uint64));
	memcpy(VARDATA(result), h->entries, h->n * sizeof(uint64));
	return result;
}

/* The entries of a stored histogram. */
static const uint64 *
entries_of(bytea *b, int *n)
{
	Size		len = VARSIZE_ANY_EXHDR(b);

	if (len % sizeof(uint64) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid scheduled_jobs histogram"),
				 errdetail("Its length, %zu bytes, is not a multiple of 8.", len)));
	*n = (int) (len / sizeof(uint64));
	return (const uint64 *) VARDATA_ANY(b);
}

/*
 * histogram_merge(a bytea, b bytea) RETURNS bytea
 *		The histogram of both (a NULL histogram is empty); the transition
 *		function of the aggregate histogram_sum(bytea) too.
 */
Datum
sj_histogram_merge(PG_FUNCTION_ARGS)
{
	bytea	   *a;
	bytea	   *b;
	const uint64 *ea;
	const uint64 *eb;
	int			na;
	int			nb;
	int			i = 0;
	int			j = 0;
	int			n = 0;
	bytea	   *result;
	uint64	   *out;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	a = PG_GETARG_BYTEA_PP(0);
	b = PG_GETARG_BYTEA_PP(1);
	ea = entries_of(a, &na);
	eb = entries_of(b, &nb);
	result = palloc(VARHDRSZ + (na + nb) * sizeof(uint64));
	out = (uint64 *) VARDATA(result);
	while (i < na || j < nb)
	{
		if (j >= nb || (i < na && ENTRY_BUCKET(ea[i]) < ENTRY_BUCKET(eb[j])))
			out[n++] = ea[i++];
		else if (i >= na || ENTRY_BUCKET(eb[j]) < ENTRY_BUCKET(ea[i]))
			out[n++] = eb[j++];
		else
		{
			out[n++] = ENTRY(ENTRY_BUCKET(ea[i]),
							 ENTRY_COUNT(ea[i]) + ENTRY_COUNT(eb[j]));
			i++;
			j++;
		}
	}
	SET_VARSIZE(result, VARHDRSZ + n * sizeof(uint64));
	PG_RETURN_BYTEA_P(result);
}

/*
 * histogram_accum(state internal, h bytea) RETURNS internal
 *		The transition function of histogram_sum(bytea): adds h's counts to
 *		every bucket's, in the aggregate's memory (no copy per row).
 */
Datum
sj_histogram_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	HistogramSum *sum;
	const uint64 *e;
	int			n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "histogram_accum called outside an aggregate");
	sum = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggcxt, sizeof(HistogramSum)) :
		(HistogramSum *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(sum);
	e = entries_of(PG_GETARG_BYTEA_PP(1), &n);
	for (int i = 0; i < n; i++)
	{
		int			b = ENTRY_BUCKET(e[i]);

		if (b >= NBUCKETS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid scheduled_jobs histogram"),
					 errdetail("It has a bucket %d past the last, %d.", b, NBUCKETS - 1)));
		sum->counts[b] += ENTRY_COUNT(e[i]);
	}
	sum->any = true;
	PG_RETURN_POINTER(sum);
}

/*
 * histogram_final(state internal) RETURNS bytea
 *		The final function of histogram_sum(bytea): the histogram stored, NULL
 *		if no row had one.
 */
Datum
sj_histogram_final(PG_FUNCTION_ARGS)
{
	HistogramSum *sum;
	SjHistogram h = {0, NBUCKETS, NULL};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	sum = (HistogramSum *) PG_GETARG_POINTER(0);
	if (!sum->any)
		PG_RETURN_NULL();
	h.entries = palloc(NBUCKETS * sizeof(uint64));
	for (int b = 0; b < NBUCKETS; b++)
		if (sum->counts[b] != 0)
			h.entries[h.n++] = ENTRY(b, sum->counts[b]);
	if (h.n == 0)
	{
		/* only empty histograms: empty, as histogram_merge makes it */
		bytea	   *empty = palloc(VARHDRSZ);

		SET_VARSIZE(empty, VARHDRSZ);
		PG_RETURN_BYTEA_P(empty);
	}
	PG_RETURN_BYTEA_P(sj_histogram_bytea(&h));
}

/*
 * histogram_percentile(h bytea, fraction float8) RETURNS interval
 *		The duration under which that fraction of the counted ones falls:
 *		the middle of its bucket.  NULL for an empty histogram.
 */
Datum
sj_histogram_percentile(PG_FUNCTION_ARGS)
{
	bytea	   *h = PG_GETARG_BYTEA_PP(0);
	float8		fraction = PG_GETARG_FLOAT8(1);
	const uint64 *e;
	int			n;
	int64		total = 0;
	int64		rank;
	int64		seen = 0;
	Interval   *result;

	if (!(fraction >= 0.0 && fraction <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("percentile fraction %g is not between 0 and 1", fraction)));
	e = entries_of(h, &n);
	for (int i = 0; i < n; i++)
	{
		/* (a bytea from anywhere: no shift past 63 bits, no overflow) */
		if (ENTRY_BUCKET(e[i]) > MAX_BUCKET || ENTRY_COUNT(e[i]) == 0 ||
			(i > 0 && ENTRY_BUCKET(e[i]) <= ENTRY_BUCKET(e[i - 1])))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid scheduled_jobs histogram"),
					 errdetail("Entry %d has a bucket out of range or out of order, or a count of 0.",
							   i + 1)));
		total += ENTRY_COUNT(e[i]);
	}
	if (total == 0)
		PG_RETURN_NULL();
	/* the rank of the percentile among the sorted durations, from 1 */
	rank = Max((int64) ceil(fraction * (double) total), 1);
	for (int i = 0; i < n; i++)
	{
		seen += ENTRY_COUNT(e[i]);
		if (seen >= rank)
		{
			result = palloc0(sizeof(Interval));
			result->time = (int64) bucket_middle(ENTRY_BUCKET(e[i]));
			PG_RETURN_INTERVAL_P(result);
		}
	}
	elog(ERROR, "histogram rank " INT64_FORMAT " past its count " INT64_FORMAT, rank, total);
	PG_RETURN_NULL();
}

/* The state of the aggregate last_by: the latest value so far. */
typedef struct LastBy
{
	bool		found;			/* a row with an at was seen */
	TimestampTz at;
	text	   *value;
} LastBy;

/*
 * last_by_accum(state internal, value text, at timestamptz) RETURNS internal
 *		The transition function of last_by(text, timestamptz), the value of
 *		the latest at (the last error of stats): an aggregate without ORDER
 *		BY, so that stats can group by hashing.  Rows with a NULL at are
 *		skipped.
 */
Datum
sj_last_by_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	LastBy	   *state;
	TimestampTz at;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "last_by_accum called outside an aggregate");
	state = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggcxt, sizeof(LastBy)) :
		(LastBy *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);
	at = PG_GETARG_TIMESTAMPTZ(2);
	if (!state->found || at > state->at)
	{
		if (state->value)
			pfree(state->value);
		state->found = true;
		state->at = at;
		state->value = NULL;
		if (!PG_ARGISNULL(1))
		{
			text	   *v = PG_GETARG_TEXT_PP(1);

			state->value = MemoryContextAlloc(aggcxt, VARSIZE_ANY(v));
			memcpy(state->value, v, VARSIZE_ANY(v));
		}
	}
	PG_RETURN_POINTER(state);
}

/*
 * last_by_final(state internal) RETURNS text
 *		The final function of last_by: the value kept, NULL if none.
 */
Datum
sj_last_by_final(PG_FUNCTION_ARGS)
{
	LastBy	   *state;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (LastBy *) PG_GETARG_POINTER(0);
	if (state->value == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(state->value);
}
