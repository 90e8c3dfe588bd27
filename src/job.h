/*
 * job.h
 *		The job tables' columns, in one place, and a job as C code holds it.
 *
 * scheduled_jobs.jobs holds pending jobs, scheduled_jobs.job_history the
 * finished ones (sql/scheduled_jobs.sql; the states are in src/README.md).
 * Every statement that moves a job from one table to the other copies the
 * columns of SJ_JOB_COLUMNS; the C code that reads or forms rows of jobs uses
 * the Anum_jobs_* positions below, which the readers check against the
 * table's descriptor.
 */
#ifndef SJ_JOB_H
#define SJ_JOB_H

#include "executor/spi.h"
#include "utils/timestamp.h"

/* The extension, its schema, its library and its LWLock tranche share it. */
#define SJ_EXTENSION_NAME "scheduled_jobs"

/* Columns of scheduled_jobs.jobs, in table order (1-based, as attnums). */
enum
{
	Anum_jobs_id = 1,
	Anum_jobs_run_at,
	Anum_jobs_channel,
	Anum_jobs_procedure,
	Anum_jobs_payload,
	Anum_jobs_job_key,
	Anum_jobs_max_attempts,
	Anum_jobs_timeout_ms,
	Anum_jobs_owner,
	Anum_jobs_attempts,
	Anum_jobs_created_at,
	Anum_jobs_last_error,
	Anum_jobs_last_error_data,
	Anum_jobs_group_commit,		/* since 0.2.0 */
	Anum_jobs_due_at,			/* since 0.3.0: acknowledged channels */
	Anum_jobs_first_delivered_at,
	Anum_jobs_lease_until,
	Anum_jobs_schedule_id,		/* since 0.4.0: recurring schedules */
	Anum_jobs_occurrence_at,
	Anum_jobs_expires_at,
	Anum_jobs_command,
	Natts_jobs = Anum_jobs_command
};

/* the tables of earlier versions, served until ALTER EXTENSION ... UPDATE */
#define Natts_jobs_0_1_0 (Anum_jobs_group_commit - 1)
#define Natts_jobs_0_2_0 Anum_jobs_group_commit
#define Natts_jobs_0_3_0 Anum_jobs_lease_until
#define SJ_JOBS_NATTS_OK(n) \
	((n) == Natts_jobs || (n) == Natts_jobs_0_3_0 || \
	 (n) == Natts_jobs_0_2_0 || (n) == Natts_jobs_0_1_0)

/*
 * The columns a job keeps from scheduled_jobs.jobs into job_history:
 * SJ_JOB_COLUMNS those of every version (for the statements that serve the
 * tables of earlier versions too), SJ_JOB_COLUMNS_0_4 those of 0.4.0 on,
 * i.e. every column above but group_commit and the in-flight state of
 * acknowledged channels, in that order.
 */
#define SJ_JOB_COLUMNS \
	"id, run_at, channel, procedure, payload, job_key, max_attempts, " \
	"timeout_ms, owner, attempts, created_at, last_error, last_error_data"
#define SJ_JOB_COLUMNS_0_4 \
	SJ_JOB_COLUMNS ", schedule_id, occurrence_at, expires_at, command"

/*
 * Executor jobs (procedures and commands) are the jobs that are not NOTIFY
 * jobs; before 0.4.0 (no commands), the partial index of jobs_call_run_at
 * reads "procedure IS NOT NULL" instead.
 */
#define SJ_EXECUTOR_JOB "channel IS NULL"
#define SJ_EXECUTOR_JOB_0_3 "procedure IS NOT NULL"

/*
 * The states of a finished job, as SQL literals of job_history.state (its
 * CHECK constraint job_history_state lists the same).  A pending job has no
 * state column: it is a row of jobs.  Who moves a job from one state to the
 * next: src/README.md.
 */
#define SJ_STATE_NOTIFIED	"'notified'"
#define SJ_STATE_SUCCEEDED	"'succeeded'"
#define SJ_STATE_FAILED		"'failed'"
#define SJ_STATE_CANCELLED	"'cancelled'"
#define SJ_STATE_ACKNOWLEDGED "'acknowledged'"
#define SJ_STATE_DEAD		"'dead'"
#define SJ_STATE_EXPIRED	"'expired'"

/*
 * Cancel the pending jobs that match cond: move them to job_history as
 * cancelled.  Returns one row: how many, and the ids, schedules and
 * occurrences of those that were occurrences of a schedule (0.4.0 on), for
 * their schedules to go on (occurrence.c); then the channels, procedures,
 * commands and schedules (0: none) of all, for stats
 * (sj_stats_count_cancelled).  (A count, not RETURNING, so that a row
 * limit on the statement can never cut the move short.)
 */
/* the column of SJ_CANCEL_JOBS_SQL's row where the arrays for stats start */
#define SJ_CANCEL_STATS_COLUMN 5
#define SJ_CANCEL_JOBS_SQL_V(cols, cond, extra) \
	"WITH c AS (DELETE FROM scheduled_jobs.jobs WHERE " cond \
	"  RETURNING " cols "), " \
	"h AS (INSERT INTO scheduled_jobs.job_history (" cols ", state, finished_at) " \
	"  SELECT " cols ", " SJ_STATE_CANCELLED ", pg_catalog.statement_timestamp() FROM c " \
	"  RETURNING *) " \
	"SELECT pg_catalog.count(*)" extra " FROM h"
#define SJ_CANCEL_JOBS_SQL_0_3(cond) SJ_CANCEL_JOBS_SQL_V(SJ_JOB_COLUMNS, cond, "")
#define SJ_CANCEL_JOBS_SQL(cond) \
	SJ_CANCEL_JOBS_SQL_V(SJ_JOB_COLUMNS_0_4, cond, \
						 ", pg_catalog.array_agg(id) FILTER (WHERE schedule_id IS NOT NULL), " \
						 "pg_catalog.array_agg(schedule_id) FILTER (WHERE schedule_id IS NOT NULL), " \
						 "pg_catalog.array_agg(occurrence_at) FILTER (WHERE schedule_id IS NOT NULL), " \
						 "pg_catalog.array_agg(channel), pg_catalog.array_agg(procedure), " \
						 "pg_catalog.array_agg(command), pg_catalog.array_agg(COALESCE(schedule_id, 0))")

/*
 * A job as a worker holds it while it runs or records it (in its own memory).
 */
typedef struct SjJob
{
	int64		id;
	TimestampTz run_at;
	char	   *channel;		/* NOTIFY jobs */
	char	   *procedure;		/* procedure jobs */
	char	   *command;		/* command jobs (0.4.0 on) */
	Datum		payload;
	char	   *job_key;		/* NULL: none */
	Oid			owner;
	int32		attempts;		/* before this one */
	int32		max_attempts;
	int32		timeout_ms;		/* -1: the GUC default */
	bool		group_commit;
	bool		key_detached;	/* its CALL gave its job_key to a next run */
	TimestampTz fired_at;		/* start of the transaction that runs it */
	TimestampTz started_at;		/* the same by the one clock (clock.h) */
	int64		schedule_id;	/* 0: not an occurrence of a schedule */
	TimestampTz occurrence_at;	/* its nominal instant, for an occurrence */
	TimestampTz expires_at;		/* DT_NOEND: no firing deadline */
} SjJob;

extern SjJob *sj_job_from_spi_row(uint64 row, MemoryContext mcxt);
extern bool sj_has_acknowledged_channels(void);
extern bool sj_has_schedules(void);
extern bool sj_has_stats(void);

#endif							/* SJ_JOB_H */
