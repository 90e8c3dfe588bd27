/*
 * current_job.c
 *		The job this process is running (see current_job.h).
 */
#include "postgres.h"

#include "current_job.h"

/* Set by the executor for the length of a CALL; NULL otherwise. */
static const SjJob *current_job = NULL;

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
	current_job = job;
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
