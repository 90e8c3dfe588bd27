/*
 * shmem.h
 *		Shared state of the launcher, schedulers and executors, and the
 *		commit-time wake-ups that make scheduling latency milliseconds.
 *
 * Vocabulary:
 *	 slot		 an entry of SjShmem->dbs (one database) or of a database's
 *				 executor slots (one executor)
 *	 probe		 a scheduler started in a database only to see whether the
 *				 extension is installed there; it frees the slot if not
 *	 reservation an executor slot the scheduler registered a worker for,
 *				 until the worker attaches
 *	 hold		 DDL keeping a database free of workers until it commits
 *	 kick		 a request to the launcher to start a database's scheduler
 *				 now (CREATE EXTENSION, COMMIT PREPARED)
 *	 pass		 one round of a worker's loop
 */
#ifndef SJ_SHMEM_H
#define SJ_SHMEM_H

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

/* next_wakeup value meaning "wake me for any job": scanning, or nothing pending */
#define SJ_WAKE_ANY		PG_INT64_MAX

/* Longest last error of a database's workers that status() shows. */
#define SJ_LAST_ERROR_LEN	256

/* Cancel requests of running jobs that a database can have at once. */
#define SJ_MAX_CANCEL_REQUESTS 16

/*
 * The claims' lower bounds on run_at ("floors"), one per index the claims
 * walk: NOTIFY jobs (jobs_notify_run_at, the scheduler's fire step) and the
 * executors' jobs (jobs_call_run_at).
 */
typedef enum SjFloorKind
{
	SJ_FLOOR_NOTIFY = 0,
	SJ_FLOOR_CALL,
	SJ_NUM_FLOORS
} SjFloorKind;

/*
 * One executor of a database.
 */
typedef struct SjExecutorSlot
{
	/* under SjShmem->lock */
	pid_t		pid;			/* 0: free; set by the executor on attach */
	Latch	   *latch;			/* the executor's MyLatch while pid != 0 */
	bool		reserved;		/* the scheduler registered a worker for it */

	/* written by the executor without the lock, read by anyone */
	volatile bool idle;			/* waiting for work */
	pg_atomic_uint64 running_job;	/* id of the job in its CALL, 0: none */
} SjExecutorSlot;

/*
 * The state of a database slot, and who moves it:
 *
 *	FREE --launcher, a database to probe--> PROBING
 *	FREE --backend, CREATE EXTENSION commits--> PROBING (kicked)
 *	PROBING --scheduler, extension found--> ACTIVE
 *	PROBING, ACTIVE --scheduler, no extension--> NO_EXTENSION
 *	NO_EXTENSION --launcher, once nothing holds it--> FREE (the launcher
 *				  remembers the database until a kick or a rescan)
 *	any --launcher, the database is gone and nothing holds it--> FREE
 *
 * A DDL hold (hold_count > 0) keeps every state as it is.
 */
typedef enum SjDbState
{
	SJ_DB_FREE = 0,
	SJ_DB_PROBING,
	SJ_DB_ACTIVE,
	SJ_DB_NO_EXTENSION
} SjDbState;

/* A cancel_job() waiting for the job a worker runs or has claimed. */
typedef struct SjCancelRequest
{
	int64		job_id;			/* 0: free entry */
	TransactionId xid;			/* the cancelling transaction */
} SjCancelRequest;

/*
 * One database the launcher knows about.
 */
typedef struct SjDbSlot
{
	/* under SjShmem->lock */
	Oid			dboid;			/* InvalidOid: free */
	SjDbState	state;
	/* 0: no scheduler; written by the scheduler */
	pid_t		scheduler_pid;
	/* the scheduler's MyLatch while pid != 0 */
	Latch	   *scheduler_latch;
	/* start the scheduler now, without backoff */
	bool		kicked;
	/* DDL holding the database free of workers */
	int			hold_count;
	bool		stopped_by_ddl; /* its workers were stopped by such DDL */
	/* launcher: when it last started a scheduler */
	TimestampTz last_start;
	SjCancelRequest cancels[SJ_MAX_CANCEL_REQUESTS];

	/* entries of cancels in use; written under the lock, read without */
	pg_atomic_uint32 n_cancels;

	/*
	 * Earliest run_at the scheduler is sleeping until, SJ_WAKE_ANY while it
	 * scans.  Written by the scheduler, read without lock by committing
	 * backends, which set scheduler_latch when they commit an earlier job.
	 */
	pg_atomic_uint64 next_wakeup;

	/* written by the scheduler without the lock, read by its executors */
	volatile bool paused;		/* scheduled_jobs.paused, as this database
								 * sets it */
	/* set by ALTER DATABASE: re-read the settings */
	volatile bool reload;

	/*
	 * set at commit by a worker that left a schedule without its next
	 * occurrence (its rule was locked): the scheduler repairs it
	 */
	volatile bool repair;

	/*
	 * The floors (see shmem.c): every committed pending job of a kind has
	 * run_at >= floor[kind], unless the backend that committed it has yet to
	 * lower the floor in its commit callback.  floor_lowered[kind]: the least
	 * run_at lowered to since the scheduler's last sj_floor_scan_start().
	 * Under floor_lock (initialised once, at startup).
	 */
	slock_t		floor_lock;
	TimestampTz floor[SJ_NUM_FLOORS];
	TimestampTz floor_lowered[SJ_NUM_FLOORS];

	/* for status(): the end of the scheduler's last pass (written by it) */
	pg_atomic_uint64 last_pass;
	/* and the last error of a worker of this database, under the lock */
	char		last_error[SJ_LAST_ERROR_LEN];
	TimestampTz last_error_at;	/* 0: none since the server started */
} SjDbSlot;

typedef struct SjShmemData
{
	/* set once at startup */
	LWLock	   *lock;
	int			max_databases;
	int			max_executors;

	/* under lock */
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	bool		rescan;			/* probe every database again */
	SjDbSlot	dbs[FLEXIBLE_ARRAY_MEMBER];
	/* followed by max_databases * max_executors SjExecutorSlot */
} SjShmemData;

extern SjShmemData *SjShmem;

extern void sj_shmem_init(void);
extern SjExecutorSlot *sj_executor_slots(int dbslot);
extern int	sj_find_db_slot(Oid dboid);
extern void sj_init_db_slot(int i, Oid dboid, SjDbState state);
extern bool sj_db_slot_available(Oid dboid);

/* wake-ups, called in backends inside a transaction */
extern void sj_wake_scheduler_at_commit(TimestampTz run_at);
extern void sj_wake_scheduler_any_at_commit(void);
extern void sj_lower_floors_at_commit(TimestampTz run_at);
extern void sj_repair_schedules_at_commit(void);
extern void sj_wake_database_at_commit(Oid dboid);
extern void sj_kick_launcher_at_commit(Oid dboid);
extern void sj_wake_database_now(Oid dboid, bool kick);
extern void sj_hold_database(Oid dboid);

/* the floors of the claims */
extern TimestampTz sj_floor(int dbslot, SjFloorKind kind);
extern void sj_floor_scan_start(int dbslot);
extern void sj_floor_raise(int dbslot, SjFloorKind kind, TimestampTz least);
extern void sj_floor_reset(int dbslot);

/* cancelling running jobs */
extern bool sj_request_cancel(int64 job_id);
extern void sj_withdraw_cancel(int64 job_id);
extern bool sj_cancel_requested(int dbslot, int64 job_id);
extern void sj_note_worker_error(const char *sqlstate, const char *message);

#endif							/* SJ_SHMEM_H */
