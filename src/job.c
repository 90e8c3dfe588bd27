/*
 * job.c
 *		Reading a job out of a row of scheduled_jobs.jobs.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/builtins.h"
#include "catalog/namespace.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "clock.h"
#include "job.h"

/*
 * sj_job_from_spi_row
 *		The job in row `row` of SPI_tuptable, a "SELECT * FROM
 *		scheduled_jobs.jobs", copied into mcxt.  Connected to SPI.
 */
SjJob *
sj_job_from_spi_row(uint64 row, MemoryContext mcxt)
{
	HeapTuple	tup = SPI_tuptable->vals[row];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	MemoryContext old;
	SjJob	   *job;
	bool		isnull;
	Datum		d;

	if (!SJ_JOBS_NATTS_OK(desc->natts))
		elog(ERROR, "scheduled_jobs.jobs has %d columns, expected %d",
			 desc->natts, Natts_jobs);

	old = MemoryContextSwitchTo(mcxt);
	job = palloc0(sizeof(SjJob));
#define COL(anum) SPI_getbinval(tup, desc, (anum), &isnull)
	job->id = DatumGetInt64(COL(Anum_jobs_id));
	job->run_at = DatumGetTimestampTz(COL(Anum_jobs_run_at));
	d = COL(Anum_jobs_channel);
	job->channel = isnull ? NULL : TextDatumGetCString(d);
	d = COL(Anum_jobs_procedure);
	job->procedure = isnull ? NULL : TextDatumGetCString(d);
	job->payload = datumCopy(COL(Anum_jobs_payload), false, -1);
	d = COL(Anum_jobs_job_key);
	job->job_key = isnull ? NULL : TextDatumGetCString(d);
	job->owner = DatumGetObjectId(COL(Anum_jobs_owner));
	job->attempts = DatumGetInt32(COL(Anum_jobs_attempts));
	job->max_attempts = DatumGetInt32(COL(Anum_jobs_max_attempts));
	d = COL(Anum_jobs_timeout_ms);
	job->timeout_ms = isnull ? -1 : DatumGetInt32(d);
	job->group_commit = desc->natts >= Anum_jobs_group_commit &&
		DatumGetBool(COL(Anum_jobs_group_commit));
	job->expires_at = DT_NOEND;
	if (desc->natts >= Anum_jobs_command)
	{
		d = COL(Anum_jobs_schedule_id);
		job->schedule_id = isnull ? 0 : DatumGetInt64(d);
		d = COL(Anum_jobs_occurrence_at);
		job->occurrence_at = isnull ? 0 : DatumGetTimestampTz(d);
		d = COL(Anum_jobs_expires_at);
		if (!isnull)
			job->expires_at = DatumGetTimestampTz(d);
		d = COL(Anum_jobs_command);
		job->command = isnull ? NULL : TextDatumGetCString(d);
	}
#undef COL
	job->fired_at = GetCurrentTransactionStartTimestamp();
	job->started_at = sj_xact_now();
	MemoryContextSwitchTo(old);
	return job;
}

/* Whether the extension's schema has a table of this name. */
static bool
has_table(const char *relname)
{
	Oid			nspid = get_namespace_oid(SJ_EXTENSION_NAME, true);

	return OidIsValid(nspid) && OidIsValid(get_relname_relid(relname, nspid));
}

/*
 * sj_has_acknowledged_channels
 *		Whether the installed version has acknowledged channels (0.3.0 on):
 *		the library serves the tables of earlier versions until ALTER
 *		EXTENSION ... UPDATE.  Inside a transaction.
 */
bool
sj_has_acknowledged_channels(void)
{
	return has_table("channel_settings");
}

/*
 * sj_has_schedules
 *		Whether the installed version has recurring schedules and firing
 *		deadlines (0.4.0 on).  Inside a transaction.
 */
bool
sj_has_schedules(void)
{
	return has_table("schedule_rules");
}

/*
 * sj_has_stats
 *		Whether the installed version keeps statistics (job_stats, 0.4.0
 *		on).  Inside a transaction.
 */
bool
sj_has_stats(void)
{
	return has_table("job_stats");
}
