/*
 * occurrence.h
 *		Recurring schedules: the next occurrence of a schedule, materialised
 *		as an ordinary pending job by the transaction that fires, finishes,
 *		expires or cancels the current one.
 */
#ifndef SJ_OCCURRENCE_H
#define SJ_OCCURRENCE_H

#include "utils/timestamp.h"

/* What happened to the current occurrence of a schedule. */
typedef enum SjOccurrenceEvent
{
	SJ_OCC_FIRED,				/* NOTIFYed (first delivery, on an
								 * acknowledged channel) */
	SJ_OCC_STARTED,				/* came due, on a concurrent schedule: the
								 * next one is due whatever this one does */
	SJ_OCC_SUCCEEDED,			/* its procedure committed */
	SJ_OCC_FAILED,				/* its last attempt failed */
	SJ_OCC_EXPIRED,				/* not fired by its expires_at */
	SJ_OCC_CANCELLED			/* cancel_job() */
} SjOccurrenceEvent;

typedef struct SjOccurrence
{
	/* in */
	int64		job_id;
	int64		schedule_id;
	TimestampTz occurrence_at;	/* its nominal instant */
	TimestampTz started_at;		/* start of the transaction that fired it */
	SjOccurrenceEvent event;
	const char *error;			/* SJ_OCC_FAILED: its last error */
	/* out */
	int64		missed;			/* SJ_OCC_FIRED: occurrences missed before it
								 * that it stands for (catch_up latest) */
	char	   *name;			/* its schedule's name, NULL if its rule was
								 * not read (gone, held by another) */
} SjOccurrence;

extern void sj_advance_schedules(SjOccurrence *occ, int n, bool wait);
extern void sj_schedule_names(const int64 *ids, int n, char **names);
extern bool sj_start_schedule(int64 schedule_id, TimestampTz after,
							  TimestampTz skipped_since, bool wait);
extern int	sj_start_concurrent_occurrences(void);
extern bool sj_repair_schedules(void);
extern char *sj_occurrence_info(int64 schedule_id, TimestampTz occurrence_at,
								TimestampTz started_at, int64 *missed);

#endif							/* SJ_OCCURRENCE_H */
