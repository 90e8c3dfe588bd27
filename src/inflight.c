/*
 * inflight.c
 *		Counting the attempts that kill their executor.
 *
 * A job whose CALL ends its own executor (pg_terminate_backend of itself, a
 * FATAL error, a crash, the OOM killer) rolls back with its transaction, so
 * the attempt it made is counted nowhere in the database, and without more
 * such a job runs forever.  So before each CALL the executor writes the job's
 * id to a file of its own, $PGDATA/pg_scheduled_jobs/executor.<db>.<n>, and
 * writes "idle" once the job's transaction has ended.  The file is mapped
 * into memory and never synced: it has to outlive the process, not the
 * operating system, and a store into the page cache costs no system call.
 *
 * The scheduler reads the file of an executor that is gone:
 *	 RUNNING  the executor died without running its exit code (a signal such
 *			  as SIGKILL or SIGSEGV; the server then restarted): charged;
 *	 EXITED   it exited while running the job (terminated, FATAL): charged
 *			  by the scheduler that saw it go (an exit found at the
 *			  scheduler's own start may be a shutdown's);
 *	 QUIT	  the postmaster ended it (a crash of another process, immediate
 *			  shutdown): not the job's doing, not charged.
 * A DDL hold or a smart or fast shutdown (postmaster.pid says "stopping")
 * that stops an executor writes IDLE: not charged either.
 *
 * Each record carries the timeline, so that a file copied to a standby by a
 * base backup is ignored once the standby is promoted.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include "inflight.h"

#define SJ_INFLIGHT_DIR "pg_scheduled_jobs"
#define SJ_INFLIGHT_MAGIC 0x534A4946	/* "SJIF" */

typedef struct InflightRecord
{
	uint32		magic;
	uint32		state;			/* SjInflightState */
	TimeLineID	tli;
	uint32		pad;
	int64		job_id;
} InflightRecord;

/* this executor's file, mapped, and what it last wrote there */
static volatile InflightRecord *inflight_map = NULL;
static volatile InflightRecord inflight_rec;

static void
inflight_path(char *path, Oid dboid, int executor)
{
	snprintf(path, MAXPGPATH, "%s/executor.%u.%d", SJ_INFLIGHT_DIR, dboid, executor);
}

/* Store the record into the file; async-signal-safe (SIGQUIT uses it). */
static void
inflight_write(void)
{
	if (inflight_map != NULL)
		*inflight_map = inflight_rec;
}

/*
 * sj_inflight_attach
 *		Open the file of executor slot `executor` of dboid.  Leaves what it
 *		says alone: the scheduler may still have to read it.
 */
void
sj_inflight_attach(Oid dboid, int executor)
{
	char		path[MAXPGPATH];
	struct stat st;
	void	   *map;
	int			fd;

	(void) MakePGDirectory(SJ_INFLIGHT_DIR);
	inflight_path(path, dboid, executor);
	fd = BasicOpenFile(path, O_RDWR | O_CREAT | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	/* a new file is zeroes, which read as IDLE */
	if (fstat(fd, &st) != 0 ||
		(st.st_size < (off_t) sizeof(InflightRecord) &&
		 ftruncate(fd, sizeof(InflightRecord)) != 0))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not size file \"%s\": %m", path)));
	map = mmap(NULL, sizeof(InflightRecord), PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not map file \"%s\": %m", path)));
	inflight_map = map;
	inflight_rec.magic = SJ_INFLIGHT_MAGIC;
	inflight_rec.pad = 0;
}

/* sj_inflight_running: the executor is about to CALL job_id. */
void
sj_inflight_running(int64 job_id)
{
	inflight_rec.state = SJ_INFLIGHT_RUNNING;
	inflight_rec.tli = GetWALInsertionTimeLine();
	inflight_rec.job_id = job_id;
	inflight_write();
}

/* sj_inflight_idle: the transaction of the job(s) ended. */
void
sj_inflight_idle(void)
{
	if (inflight_rec.state == SJ_INFLIGHT_IDLE)
		return;
	inflight_rec.state = SJ_INFLIGHT_IDLE;
	inflight_rec.job_id = 0;
	inflight_write();
}

/*
 * sj_inflight_exit
 *		The executor exits, after its transaction was rolled back: if a job
 *		was running, mark it EXITED (charge) or forget it.
 */
void
sj_inflight_exit(bool charge)
{
	if (inflight_rec.state != SJ_INFLIGHT_RUNNING)
		return;
	if (charge)
	{
		inflight_rec.state = SJ_INFLIGHT_EXITED;
		inflight_write();
	}
	else
		sj_inflight_idle();
}

/* sj_inflight_quit: from the SIGQUIT handler; async-signal-safe. */
void
sj_inflight_quit(void)
{
	if (inflight_rec.state != SJ_INFLIGHT_RUNNING)
		return;
	inflight_rec.state = SJ_INFLIGHT_QUIT;
	inflight_write();
}

/*
 * sj_inflight_uncharged
 *		Whether the file of an executor that is gone still names job_id as
 *		an attempt to charge (RUNNING or EXITED, this timeline), without
 *		resetting it: the executor that claimed the job again then leaves it
 *		to the scheduler, which charges that attempt first.
 */
bool
sj_inflight_uncharged(Oid dboid, int executor, int64 job_id)
{
	char		path[MAXPGPATH];
	InflightRecord rec;
	int			fd;
	bool		found;

	inflight_path(path, dboid, executor);
	fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	found = pread(fd, &rec, sizeof(rec), 0) == sizeof(rec) &&
		rec.magic == SJ_INFLIGHT_MAGIC && rec.job_id == job_id &&
		(rec.state == SJ_INFLIGHT_RUNNING || rec.state == SJ_INFLIGHT_EXITED) &&
		rec.tli == GetWALInsertionTimeLine();
	close(fd);
	return found;
}

/*
 * sj_inflight_collect
 *		Read and reset the file of an executor that is gone.  Returns the job
 *		it names (0: none, or a record of another timeline) and its state.
 */
int64
sj_inflight_collect(Oid dboid, int executor, SjInflightState *state)
{
	char		path[MAXPGPATH];
	InflightRecord rec;
	int			fd;
	ssize_t		n;

	*state = SJ_INFLIGHT_IDLE;
	inflight_path(path, dboid, executor);
	fd = BasicOpenFile(path, O_RDWR | PG_BINARY);
	if (fd < 0)
		return 0;
	n = pread(fd, &rec, sizeof(rec), 0);
	if (n == sizeof(rec) && rec.magic == SJ_INFLIGHT_MAGIC &&
		rec.state != SJ_INFLIGHT_IDLE)
	{
		InflightRecord idle = {SJ_INFLIGHT_MAGIC, SJ_INFLIGHT_IDLE,
		rec.tli, 0, 0};

		if (pwrite(fd, &idle, sizeof(idle), 0) != sizeof(idle))
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path)));
		if (rec.tli == GetWALInsertionTimeLine())
			*state = (SjInflightState) rec.state;
	}
	close(fd);
	return *state == SJ_INFLIGHT_IDLE ? 0 : rec.job_id;
}

/*
 * sj_inflight_put_back
 *		Write back what sj_inflight_collect read, for a charge that has to
 *		wait.  An executor that takes the slot meanwhile overwrites it.
 */
void
sj_inflight_put_back(Oid dboid, int executor, int64 job_id,
					 SjInflightState state)
{
	char		path[MAXPGPATH];
	InflightRecord rec = {SJ_INFLIGHT_MAGIC, state, GetWALInsertionTimeLine(),
	0, job_id};
	int			fd;

	inflight_path(path, dboid, executor);
	fd = BasicOpenFile(path, O_RDWR | PG_BINARY);
	if (fd < 0)
		return;
	if (pwrite(fd, &rec, sizeof(rec), 0) != sizeof(rec))
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
	close(fd);
}
