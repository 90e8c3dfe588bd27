/*
 * current_job.c
 *		The job this process is running (see current_job.h).
 */
#include "postgres.h"

#include "current_job.h"

/* Set by the executor for the length of a CALL; NULL otherwise. */
static const SjJob *current_job = NULL;

/* The current job's row gave up its job_key (maybe rolled back since). */
static bool key_detached = false;

/* The next run the current job made of itself (keyless), or 0. */
static int64 rearmed_id = 0;

/* Pending jobs changed by the SQL functions in this process, ever. */
static uint64 jobs_changed = 0;

/*
 * sj_current_job_set
 *		Make job the one this process runs (NULL: none).  The job must stay
 *		allocated until it is unset.
 */
void
sj_current_job_set(const SjJob *job)
{
	if (job != NULL)
	{
		key_detached = false;
		rearmed_id = 0;
	}
	current_job = job;
}

/* sj_note_key_detached: the current job's row gave up its job_key. */
void
sj_note_key_detached(void)
{
	key_detached = true;
}

/*
 * sj_current_key_detached: whether the last job set gave up its job_key
 * during its CALL (a rolled-back subtransaction may have undone it).
 */
bool
sj_current_key_detached(void)
{
	return key_detached;
}

/* sj_current_job: the job this process runs, or NULL. */
const SjJob *
sj_current_job(void)
{
	return current_job;
}

/* sj_note_jobs_changed: a SQL function changed or removed a pending job. */
void
sj_note_jobs_changed(void)
{
	jobs_changed++;
}

/* sj_jobs_changed: how often sj_note_jobs_changed was called. */
uint64
sj_jobs_changed(void)
{
	return jobs_changed;
}

/* sj_note_rearmed: the current job made next_id, its next run. */
void
sj_note_rearmed(int64 next_id)
{
	rearmed_id = next_id;
}

/*
 * sj_current_rearmed: the next run the current job made of itself, or 0.
 * (A rolled-back subtransaction may have undone it: callers check.)
 */
int64
sj_current_rearmed(void)
{
	return rearmed_id;
}
