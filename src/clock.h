/*
 * clock.h
 *		The one clock of scheduled_jobs: every "is it due" decision and every
 *		wait of the workers reads it.
 */
#ifndef SJ_CLOCK_H
#define SJ_CLOCK_H

#include "utils/timestamp.h"

extern TimestampTz sj_now(void);
extern TimestampTz sj_xact_now(void);
extern int	sj_wait_until(TimestampTz until, int max_ms);
extern void sj_sleep_until(TimestampTz until);
extern TimestampTz sj_real_time(TimestampTz job_time);
extern TimestampTz sj_scan_horizon(void);

#endif							/* SJ_CLOCK_H */
