/*
 * fire.h
 *		Firing due NOTIFY jobs (the scheduler's fire step).
 */
#ifndef SJ_FIRE_H
#define SJ_FIRE_H

#include "datatype/timestamp.h"
#include "utils/palloc.h"
#include "utils/timestamp.h"

extern int	sj_fire_notify_jobs(MemoryContext mcxt, TimestampTz due,
								TimestampTz floor);

#endif							/* SJ_FIRE_H */
