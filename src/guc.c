/*
 * guc.c
 *		The scheduled_jobs.* configuration parameters.
 *
 * Each C variable is named after its GUC.  Sizes of shared memory are fixed
 * at server start; everything else is reloaded with SIGHUP.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "guc.h"
#include "job.h"

int			sj_batch_size = 1000;
int			sj_max_sleep = 60000;
bool		sj_paused = false;
int			sj_max_databases = 64;
int			sj_max_executors = 4;
int			sj_executor_idle_timeout = 60000;
int			sj_job_timeout = 0;
int			sj_retry_base_delay = 1000;
int			sj_retry_max_delay = 3600000;
int			sj_group_commit_size = 64;
int			sj_clock_offset = 0;
int			sj_history_retention = 7 * 86400;
int			sj_failed_retention = 30 * 86400;
bool		sj_track_stats = true;

/*
 * sj_guc_init
 *		Define the parameters.  Called once from _PG_init.
 */
void
sj_guc_init(void)
{
	DefineCustomIntVariable("scheduled_jobs.batch_size",
							"Most NOTIFY jobs fired in one transaction.",
							"Larger batches take the cluster-wide NOTIFY lock and flush WAL less often.",
							&sj_batch_size, 1000, 1, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.max_sleep",
							"Longest time a scheduler sleeps with nothing due.",
							"A safety cap only: schedulers are woken at the commit of every earlier job.",
							&sj_max_sleep, 60000, 1000, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	/*
	 * PGC_SUSET so that ALTER DATABASE ... SET can pause one database; the
	 * workers read the database's value from the catalogs (scheduler.c).
	 */
	DefineCustomBoolVariable("scheduled_jobs.paused",
							 "Stops firing jobs; scheduling still works.",
							 "Due jobs stay pending and fire once this is turned off again, e.g. after a restore. "
							 "Set it for the server, or for one database with ALTER DATABASE ... SET.",
							 &sj_paused, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.max_databases",
							"Most databases that can run a scheduler at once.",
							NULL,
							&sj_max_databases, 64, 1, 10000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.max_executors",
							"Most executors running procedure jobs in one database.",
							"Each executor is a background worker: leave room in max_worker_processes.",
							&sj_max_executors, 4, 0, 1000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.executor_idle_timeout",
							"Time an idle executor waits for work before it exits.",
							NULL,
							&sj_executor_idle_timeout, 60000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.job_timeout",
							"Default statement timeout of each attempt of a procedure job.",
							"0 means no timeout; schedule_job(..., timeout => ...) overrides it per job.",
							&sj_job_timeout, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.retry_base_delay",
							"Delay before the first retry of a failed procedure job.",
							"Each further retry waits twice as long, plus up to 25% jitter, up to scheduled_jobs.retry_max_delay.",
							&sj_retry_base_delay, 1000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.retry_max_delay",
							"Longest delay between two attempts of a procedure job.",
							NULL,
							&sj_retry_max_delay, 3600000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.group_commit_size",
							"Most procedure jobs that share one commit, for jobs scheduled with group_commit.",
							"Each job runs in its own subtransaction; a crash re-runs the whole group. "
							"PostgreSQL caches 64 subtransaction ids per transaction: lower this if job "
							"procedures open subtransactions of their own (EXCEPTION blocks).",
							&sj_group_commit_size, 64, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.clock_offset",
							"Shifts the clock of the workers, for tests.",
							"Jobs are due when run_at is before the real time plus this offset. "
							"For tests only: it makes an hour or a month pass at once.",
							&sj_clock_offset, 0, -2000000000, 2000000000,
							PGC_SIGHUP, GUC_UNIT_S | GUC_SUPERUSER_ONLY |
							GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.history_retention",
							"How long finished jobs stay in scheduled_jobs.job_history.",
							"The scheduler deletes older rows in small batches when nothing is due; "
							"failed jobs and dead letters follow scheduled_jobs.failed_retention. 0 keeps them forever.",
							&sj_history_retention, 7 * 86400, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("scheduled_jobs.failed_retention",
							"How long failed jobs and dead letters stay in scheduled_jobs.job_history.",
							"0 keeps them forever.",
							&sj_failed_retention, 30 * 86400, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	/*
	 * PGC_SUSET: a role must not keep its jobs out of the statistics; ALTER
	 * DATABASE ... SET works, and the workers follow a reload.
	 */
	DefineCustomBoolVariable("scheduled_jobs.track_stats",
							 "Counts finished jobs in scheduled_jobs.stats.",
							 "Off, jobs still reach job_history but the stats view sees none of them.",
							 &sj_track_stats, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved(SJ_EXTENSION_NAME);
}
