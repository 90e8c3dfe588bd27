/*
 * clock.c
 *		The one clock of scheduled_jobs.
 *
 * Job time is the real time shifted by scheduled_jobs.clock_offset, a
 * superuser-only setting for tests: with it a test runs an hour, a month or
 * a DST change in seconds.  The claim statements compare run_at with the
 * job time passed as a parameter (sj_xact_now() where the transaction's
 * start is recorded as fired_at), never with SQL's now(); recorded times
 * (fired_at, finished_at) stay real.  Committing backends compare run_at
 * with the time the scheduler published, which is job time too.
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

#include "clock.h"
#include "guc.h"

/* sj_now: the current job time. */
TimestampTz
sj_now(void)
{
	return GetCurrentTimestamp() +
		(TimestampTz) sj_clock_offset * USECS_PER_SEC;
}

/*
 * sj_xact_now: the job time at the start of the current transaction, which
 * the firing statements take as "now": a job they fire is due by the time
 * they record as its fired_at (the transaction's start), never after it.
 */
TimestampTz
sj_xact_now(void)
{
	return GetCurrentTransactionStartTimestamp() +
		(TimestampTz) sj_clock_offset * USECS_PER_SEC;
}

/*
 * sj_wait_until
 *		Wait on the process latch until job time `until`, at most max_ms.
 *		Returns WaitLatch's result (0 when it did not wait).
 *
 * WaitLatch counts whole milliseconds: the rest, under a millisecond, is
 * slept out instead, before or after the wait, so that a wake-up is neither
 * early nor up to a millisecond late.  And Linux lets a long timeout expire
 * late by up to 0.1% of it (timer slack, at most 100 ms): a long wait ends
 * a little early first, by 0.2%, and the rest is waited anew, a timeout
 * short enough to be on time.
 */
int
sj_wait_until(TimestampTz until, int max_ms)
{
	TimestampTz now = sj_now();
	long		wait_ms;
	int			rc = 0;

	if (until <= now)
		return 0;
	if (until - now < 1000)
	{
		pg_usleep(until - now);
		return 0;
	}
	/* whole milliseconds, rounded down: the rest is slept out below */
	wait_ms = Min((until - now) / 1000, (int64) max_ms);
	if (wait_ms > 10)
	{
		long		first_ms = wait_ms - wait_ms / 500 - 1;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   first_ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			return rc;
		now = sj_now();
		if (until <= now)
			return rc;
		wait_ms = Min((until - now) / 1000, (int64) max_ms - first_ms);
	}
	if (wait_ms > 0)
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   wait_ms, PG_WAIT_EXTENSION);

	/* woken by the clock just short of until: sleep out the rest */
	now = sj_now();
	if (!(rc & WL_LATCH_SET) && until > now && until - now < 1000)
		pg_usleep(until - now);
	return rc;
}

/*
 * sj_sleep_until
 *		Sleep until job time `until`, deaf to the latch: for the last moment
 *		before a commit that must not come early, a millisecond or so, never
 *		for a wait that something could cut short.
 */
void
sj_sleep_until(TimestampTz until)
{
	TimestampTz now;

	/* (pg_usleep ends early on a signal: sleep out the rest) */
	while ((now = sj_now()) < until)
		pg_usleep(until - now);
}

/*
 * sj_real_time
 *		The real time of a job time, as recorded times (fired_at) are.
 */
TimestampTz
sj_real_time(TimestampTz job_time)
{
	return job_time - (TimestampTz) sj_clock_offset * USECS_PER_SEC;
}

/*
 * sj_scan_horizon
 *		How far ahead the scheduler's scans for its next pending job look:
 *		scheduled_jobs.max_sleep from now (job time), since it wakes at
 *		least that often anyway.  Bounded so, a scan does not walk the index
 *		entries of the jobs that another transaction is still inserting far
 *		ahead (a bulk load of millions), which it cannot see: it would read
 *		every one of them, for minutes, before it found none.
 */
TimestampTz
sj_scan_horizon(void)
{
	return TimestampTzPlusMilliseconds(sj_now(), sj_max_sleep);
}
