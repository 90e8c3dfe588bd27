/*
 * current_job.c
 *		The job this process is running (see current_job.h), and current_job(),
 *		with which a procedure job reads its own envelope.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "current_job.h"
#include "envelope.h"
#include "occurrence.h"

PG_FUNCTION_INFO_V1(sj_current_job_envelope);

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

/*
 * current_job() returns jsonb
 *		The envelope of the job this process runs (as a NOTIFY job's, with
 *		the schedule, nominal instant and missed count of an occurrence), or
 *		NULL.
 */
Datum
sj_current_job_envelope(PG_FUNCTION_ARGS)
{
	const SjJob *job = current_job;
	StringInfoData buf;
	char	   *schedule = NULL;
	int64		missed = 0;
	Jsonb	   *payload;

	if (job == NULL)
		PG_RETURN_NULL();
	if (job->schedule_id != 0)
		schedule = sj_occurrence_info(job->schedule_id, job->occurrence_at,
									  job->started_at, &missed);
	payload = DatumGetJsonbP(job->payload);
	initStringInfo(&buf);
	sj_build_occurrence_envelope(&buf, job->id, job->job_key, job->run_at, 0,
								 0, schedule, job->occurrence_at, missed,
								 JsonbToCString(NULL, &payload->root,
												VARSIZE(payload)));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
