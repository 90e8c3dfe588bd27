/*
 * shmem.h
 *		Shared state of the launcher, schedulers and executors, and the
 *		commit-time wake-up that makes scheduling latency milliseconds.
 */
#ifndef SJ_SHMEM_H
#define SJ_SHMEM_H

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/* next_wakeup value meaning "wake me for any job": scanning, or nothing pending */
#define SJ_WAKE_ANY		PG_INT64_MAX

/*
 * One executor of a database.  All fields under SjShmem->lock.
 */
typedef struct SjExecutorSlot
{
	pid_t		pid;			/* 0: free; set by the executor on attach */
	Latch	   *latch;			/* the executor's MyLatch while pid != 0 */
	bool		reserved;		/* the scheduler registered a worker for it */
	bool		idle;			/* waiting for work; set by the executor */
} SjExecutorSlot;

/*
 * One database the launcher knows about.  Fields under SjShmem->lock unless
 * said otherwise.
 */
typedef struct SjDbSlot
{
	Oid			dboid;			/* InvalidOid: free; written by the launcher */
	pid_t		scheduler_pid;	/* 0: no scheduler; written by the scheduler */
	Latch	   *scheduler_latch;	/* the scheduler's MyLatch while pid != 0 */

	/*
	 * Earliest run_at the scheduler is sleeping until, SJ_WAKE_ANY while it
	 * scans.  Written by the scheduler, read without lock by committing
	 * backends, which set scheduler_latch when they commit an earlier job.
	 */
	pg_atomic_uint64 next_wakeup;

	bool		no_extension;	/* the scheduler found no extension and left */
	bool		kicked;			/* CREATE EXTENSION committed: start again */
	int			hold_count;		/* DDL holding the database free of workers */
	bool		stopped_by_ddl; /* its workers were stopped by such DDL */
	TimestampTz last_start;		/* launcher: when it last started a scheduler */
} SjDbSlot;

typedef struct SjShmemData
{
	LWLock	   *lock;
	pid_t		launcher_pid;	/* under lock */
	Latch	   *launcher_latch; /* under lock */
	bool		rescan;			/* a database appeared: launcher rescans */
	int			max_databases;
	int			max_executors;
	SjDbSlot	dbs[FLEXIBLE_ARRAY_MEMBER];
	/* followed by max_databases * max_executors SjExecutorSlot */
} SjShmemData;

extern SjShmemData *SjShmem;

extern void sj_shmem_init(void);
extern SjExecutorSlot *sj_executor_slots(int dbslot);
extern int	sj_find_db_slot(Oid dboid);
extern void sj_init_db_slot(int i, Oid dboid);

/* wake-ups, called in backends inside a transaction */
extern void sj_wake_scheduler_at_commit(TimestampTz run_at);
extern void sj_kick_launcher_at_commit(Oid dboid);
extern void sj_hold_database(Oid dboid);


#endif							/* SJ_SHMEM_H */
