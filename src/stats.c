/*
 * stats.c
 *		Statistics of finished jobs, per target, counted as they finish.
 *
 * Whoever moves a job to job_history counts it here (sj_stats_count), with
 * what it already holds: the target, how the job ended, when it was due,
 * fired and finished, the error.  Counts follow the transaction: those of
 * a subtransaction that rolls back go with it, and they reach
 * scheduled_jobs.job_stats only once the transaction that counted them
 * commits.  A row of job_stats holds the counts, lag and run-time
 * histograms (histogram.c) and last error of one target (its schedule
 * apart) over 10 seconds, by one writer (the backend's proc number, or a
 * prepared transaction: writer_of), so that two backends never wait for
 * each other's row.
 *
 * Sessions (ack, cancel, ...) write their counts in the transaction that
 * counted them, just before it commits: then job_stats agrees with
 * job_history.  They write them in a subtransaction, so that counts that
 * job_stats refuses are dropped with a warning instead of failing the
 * commit of the jobs (write_session_rows).  The workers keep theirs in
 * memory and write them in a transaction of their own at most a second
 * later (sj_stats_flush_at; the scheduler, while it fires a backlog, up to
 * SJ_BACKLOG_DEFER_MS later), and when they exit (stats_exit), so that
 * statistics add no statement and no row lock to a firing transaction, the
 * lag of a job least of all; they never wait for a lock on job_stats
 * (lock_job_stats).  A crash of the server loses those seconds of the
 * workers' counts (job_history keeps every job).
 *
 * The scheduler folds the 10-second rows into minute rows once their minute
 * is out of the last-minute window, those into hour rows once their hour
 * is out of the last hour, and deletes hour rows older than a day
 * (sj_stats_compact, between passes, as retention.c prunes): reading the
 * view costs about a hundred rows per target whatever the rate.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "clock.h"
#include "guc.h"
#include "histogram.h"
#include "job.h"
#include "owner_sql.h"
#include "stats.h"
#include "worker.h"

/* widths of the rows, in seconds */
#define SJ_STATS_ROW_S 10
#define SJ_STATS_MINUTE_S 60
#define SJ_STATS_HOUR_S 3600
#define SJ_STATS_DAY_S 86400

/* how long a worker keeps its counts before it writes them */
#define SJ_STATS_DEFER_MS 1000

/*
 * how long a worker keeps them at most while job_stats is locked, and how
 * many rows (some 400 bytes each)
 */
#define SJ_STATS_LOCKED_MS 60000
#define SJ_STATS_LOCKED_ROWS 100000

/* rows folded or deleted per statement of the compaction */
#define SJ_STATS_COMPACT_BATCH 500

/*
 * a command's text is its target cut to this many characters, as the view
 * cuts it to match pending jobs (a key of job_stats must fit in its index)
 */
#define SJ_STATS_COMMAND_CHARS 200

/*
 * a last error is the message cut to this many characters (job_history
 * keeps it whole): the view and the folding gather the last errors of all
 * the rows of a target, a day's worth, in one array, which must stay far
 * from the 1 GB a value can take, whatever the messages of a role's jobs
 */
#define SJ_STATS_ERROR_CHARS 1000

/* The kinds of target, as job_stats.kind says them. */
static const char *const kind_names[] = {"channel", "procedure", "command"};

/*
 * A row of job_stats as it builds up in memory: its key (hashed and
 * compared by key_hash and key_match: target is a string) ...
 */
typedef struct StatsKey
{
	TimestampTz bucket;
	int64		schedule_id;	/* 0: none */
	int32		kind;			/* index into kind_names */
	const char *target;
} StatsKey;

/* ... and its values. */
typedef struct StatsRow
{
	StatsKey	key;
	int64		counts[SJ_END_COUNT];
	int64		fired;
	int64		lag_max;		/* microseconds, -1: none */
	int64		run_max;
	SjHistogram lag;
	SjHistogram run;
	char	   *last_error;
	TimestampTz last_error_at;
} StatsRow;

/* One job counted in the current transaction. */
typedef struct StatsEvent
{
	StatsKey	key;
	int			nest;			/* the transaction nesting level */
	SjStatsEnd	end;
	int64		lag;			/* microseconds, -1: never fired */
	int64		run;			/* -1: not an executor job, or not run */
	char	   *error;
	TimestampTz at;
} StatsEvent;

/* the rows not written yet, in stats_cxt */
static HTAB *rows = NULL;
static MemoryContext stats_cxt = NULL;
static TimestampTz first_kept = 0;	/* when rows got its first, 0: empty */
static TimestampTz flush_due = 0;	/* when a worker writes them */

/* the events of the current transaction, in events_cxt */
static StatsEvent *events = NULL;
static int	n_events = 0;
static int	size_events = 0;
static MemoryContext events_cxt = NULL;

/* this backend is a worker: it keeps its counts (sj_stats_defer) */
static bool deferred = false;

/* rows were written in the current transaction: its end empties them */
static bool writing = false;

static bool callbacks_registered = false;

static SPIPlanPtr write_plan = NULL;
static SPIPlanPtr fold_plan = NULL;
static SPIPlanPtr drop_plan = NULL;

/* The columns of job_stats, in the order of the statements below. */
#define STATS_COLUMNS \
	"bucket, seconds, kind, target, schedule_id, writer, fired, succeeded, " \
	"failed, cancelled, expired, dead, lag, lag_max, run, run_max, " \
	"last_error, last_error_at"

/* Adding a row's counts to those of the row it meets (s). */
#define STATS_MERGE \
	"fired = s.fired OPERATOR(pg_catalog.+) EXCLUDED.fired, " \
	"succeeded = s.succeeded OPERATOR(pg_catalog.+) EXCLUDED.succeeded, " \
	"failed = s.failed OPERATOR(pg_catalog.+) EXCLUDED.failed, " \
	"cancelled = s.cancelled OPERATOR(pg_catalog.+) EXCLUDED.cancelled, " \
	"expired = s.expired OPERATOR(pg_catalog.+) EXCLUDED.expired, " \
	"dead = s.dead OPERATOR(pg_catalog.+) EXCLUDED.dead, " \
	"lag = scheduled_jobs.histogram_merge(s.lag, EXCLUDED.lag), " \
	"lag_max = GREATEST(s.lag_max, EXCLUDED.lag_max), " \
	"run = scheduled_jobs.histogram_merge(s.run, EXCLUDED.run), " \
	"run_max = GREATEST(s.run_max, EXCLUDED.run_max), " \
	"last_error = CASE WHEN s.last_error_at IS NULL OR " \
	"  EXCLUDED.last_error_at OPERATOR(pg_catalog.>=) s.last_error_at " \
	"  THEN COALESCE(EXCLUDED.last_error, s.last_error) ELSE s.last_error END, " \
	"last_error_at = GREATEST(s.last_error_at, EXCLUDED.last_error_at)"

#define STATS_CONFLICT \
	" ON CONFLICT (bucket, seconds, kind, target, schedule_id, writer) DO UPDATE SET " \
	STATS_MERGE

/*
 * Write 10-second rows of writer $1: the columns of STATS_COLUMNS but
 * seconds and writer, each as an array, from $2 on (WriteColumn).  One
 * statement for many rows: a worker that counted thousands of targets in
 * a second must not hold up firing for a statement each.
 */
static const char *const write_sql =
"INSERT INTO scheduled_jobs.job_stats AS s (" STATS_COLUMNS ") "
"SELECT u.bucket, 10, u.kind, u.target, u.schedule_id, $1, u.fired, u.succeeded, "
"  u.failed, u.cancelled, u.expired, u.dead, u.lag, u.lag_max, u.run, u.run_max, "
"  u.last_error, u.last_error_at "
"FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), "
"  pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), "
"  pg_catalog.unnest($8), pg_catalog.unnest($9), pg_catalog.unnest($10), "
"  pg_catalog.unnest($11), pg_catalog.unnest($12), pg_catalog.unnest($13), "
"  pg_catalog.unnest($14), pg_catalog.unnest($15), pg_catalog.unnest($16), "
"  pg_catalog.unnest($17)) "
"  AS u(bucket, kind, target, schedule_id, fired, succeeded, failed, cancelled, "
"    expired, dead, lag, lag_max, run, run_max, last_error, last_error_at)"
STATS_CONFLICT;

/* The arrays of write_sql, from $2 on. */
typedef enum WriteColumn
{
	W_BUCKET,
	W_KIND,
	W_TARGET,
	W_SCHEDULE,
	W_FIRED,
	W_COUNTS,					/* SJ_END_COUNT of them */
	W_LAG = W_COUNTS + SJ_END_COUNT,
	W_LAG_MAX,
	W_RUN,
	W_RUN_MAX,
	W_ERROR,
	W_ERROR_AT,
	W_NCOLUMNS
} WriteColumn;

/* rows written per statement */
#define SJ_STATS_WRITE_BATCH 1000

/*
 * Fold up to $4 rows $1 seconds wide of buckets before $3 into rows $2
 * seconds wide (writer 0).  Rows a writer holds are left for the next time.
 * How many were folded.
 */
static const char *const fold_sql =
"WITH old AS (DELETE FROM scheduled_jobs.job_stats "
"  WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT ctid FROM scheduled_jobs.job_stats "
"    WHERE bucket OPERATOR(pg_catalog.<) $3 AND seconds OPERATOR(pg_catalog.=) $1 "
"    LIMIT $4 FOR UPDATE SKIP LOCKED)) "
"  RETURNING *), "
"new AS (INSERT INTO scheduled_jobs.job_stats AS s (" STATS_COLUMNS ") "
"  SELECT pg_catalog.date_bin(pg_catalog.make_interval(secs => $2::pg_catalog.float8), "
"      bucket, '2000-01-01 00:00:00+00'::pg_catalog.timestamptz), $2, kind, target, "
"    schedule_id, 0, pg_catalog.sum(fired)::pg_catalog.int8, "
"    pg_catalog.sum(succeeded)::pg_catalog.int8, pg_catalog.sum(failed)::pg_catalog.int8, "
"    pg_catalog.sum(cancelled)::pg_catalog.int8, pg_catalog.sum(expired)::pg_catalog.int8, "
"    pg_catalog.sum(dead)::pg_catalog.int8, scheduled_jobs.histogram_sum(lag), "
"    pg_catalog.max(lag_max), scheduled_jobs.histogram_sum(run), pg_catalog.max(run_max), "
"    (pg_catalog.array_agg(last_error ORDER BY last_error_at DESC) "
"      FILTER (WHERE last_error_at IS NOT NULL))[1], pg_catalog.max(last_error_at) "
"  FROM old GROUP BY 1, kind, target, schedule_id" STATS_CONFLICT ") "
"SELECT pg_catalog.count(*) FROM old";

/* Delete up to $2 hour rows of buckets before $1.  How many. */
static const char *const drop_sql =
"WITH d AS (DELETE FROM scheduled_jobs.job_stats "
"  WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT ctid FROM scheduled_jobs.job_stats "
"    WHERE bucket OPERATOR(pg_catalog.<) $1 AND seconds OPERATOR(pg_catalog.=) 3600 "
"    LIMIT $2 FOR UPDATE SKIP LOCKED)) RETURNING 1) "
"SELECT pg_catalog.count(*) FROM d";

/* t rounded down to a multiple of width_s seconds (from 2000-01-01) */
static TimestampTz
floor_to(TimestampTz t, int width_s)
{
	int64		w = (int64) width_s * USECS_PER_SEC;
	int64		r = t % w;

	return r < 0 ? t - r - w : t - r;
}

static void
reset_rows(void)
{
	if (stats_cxt != NULL)
		MemoryContextReset(stats_cxt);
	rows = NULL;
	first_kept = flush_due = 0;
}

static void
reset_events(void)
{
	if (events_cxt != NULL)
		MemoryContextReset(events_cxt);
	events = NULL;
	n_events = size_events = 0;
}

static uint32
key_hash(const void *key, Size keysize)
{
	const StatsKey *k = key;

	return hash_combine(hash_bytes((const unsigned char *) k,
								   offsetof(StatsKey, target)),
						hash_bytes((const unsigned char *) k->target,
								   strlen(k->target)));
}

static int
key_match(const void *key1, const void *key2, Size keysize)
{
	const StatsKey *a = key1;
	const StatsKey *b = key2;

	if (a->bucket != b->bucket || a->schedule_id != b->schedule_id ||
		a->kind != b->kind)
		return 1;
	return strcmp(a->target, b->target);
}

/* Add the events of the transaction to the rows kept. */
static void
keep_events(void)
{
	if (n_events == 0)
		return;
	if (rows == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(StatsKey);
		ctl.entrysize = sizeof(StatsRow);
		ctl.hash = key_hash;
		ctl.match = key_match;
		ctl.hcxt = stats_cxt;
		rows = hash_create("scheduled_jobs stats", 64, &ctl,
						   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	}
	if (first_kept == 0)
	{
		first_kept = GetCurrentTimestamp();
		flush_due = first_kept + (TimestampTz) SJ_STATS_DEFER_MS * 1000;
	}
	for (int i = 0; i < n_events; i++)
	{
		StatsEvent *ev = &events[i];
		bool		found;
		StatsRow   *row = hash_search(rows, &ev->key, HASH_ENTER, &found);

		if (!found)
		{
			memset((char *) row + sizeof(StatsKey), 0,
				   sizeof(StatsRow) - sizeof(StatsKey));
			/* the event's string goes with the transaction */
			row->key.target = MemoryContextStrdup(stats_cxt, ev->key.target);
			row->lag_max = row->run_max = -1;
		}
		if (ev->end != SJ_END_RETRIED)
			row->counts[ev->end]++;
		if (ev->lag >= 0)
		{
			row->fired++;
			sj_histogram_add(&row->lag, ev->lag, stats_cxt);
			row->lag_max = Max(row->lag_max, ev->lag);
		}
		if (ev->run >= 0)
		{
			sj_histogram_add(&row->run, ev->run, stats_cxt);
			row->run_max = Max(row->run_max, ev->run);
		}
		if (ev->error != NULL && ev->at >= row->last_error_at)
		{
			if (row->last_error)
				pfree(row->last_error);
			row->last_error = MemoryContextStrdup(stats_cxt, ev->error);
			row->last_error_at = ev->at;
		}
	}
	reset_events();
}

static Datum
interval_us(int64 us)
{
	Interval   *i = palloc0(sizeof(Interval));

	i->time = us;
	return IntervalPGetDatum(i);
}

/*
 * Lock job_stats for writing, without waiting: whether it could, or there is
 * no job_stats (an earlier version: nothing will be written).  A worker
 * must not wait for it: firing or running jobs would wait with it.  Inside
 * a transaction.
 */
static bool
lock_job_stats(void)
{
	Oid			nspid = get_namespace_oid(SJ_EXTENSION_NAME, true);
	Oid			relid;

	relid = OidIsValid(nspid) ? get_relname_relid("job_stats", nspid) : InvalidOid;
	return !OidIsValid(relid) ||
		ConditionalLockRelationOid(relid, RowExclusiveLock);
}

/*
 * The writer of the rows the current transaction writes: the backend's proc
 * number + 1; for a transaction being prepared (prepare), -1 - its xid
 * modulo 2^31.  A prepared transaction keeps its rows locked after its
 * backend has gone on, to other transactions or away, and the backend's
 * next transactions (or the next backend of that proc number) must not
 * wait for it until it is committed or rolled back.  The xids of
 * transactions not yet ended span less than 2^31, so no two prepared
 * transactions share a writer.
 */
static int32
writer_of(bool prepare)
{
	if (prepare)
		return -1 - (int32) (GetTopTransactionId() & 0x7FFFFFFF);
	return MyProc->pgprocno + 1;
}

/* The element type of a column of write_sql. */
static Oid
column_type(WriteColumn c)
{
	switch (c)
	{
		case W_BUCKET:
		case W_ERROR_AT:
			return TIMESTAMPTZOID;
		case W_KIND:
		case W_TARGET:
		case W_ERROR:
			return TEXTOID;
		case W_LAG:
		case W_RUN:
			return BYTEAOID;
		case W_LAG_MAX:
		case W_RUN_MAX:
			return INTERVALOID;
		default:
			return INT8OID;		/* the schedule and the counts */
	}
}

/* A 1-D array of n datums of element type elem (nulls: NULL for none). */
static Datum
array_of(Datum *datums, bool *nulls, int n, Oid elem)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(datums, nulls, 1, dims, lbs, elem,
											  typlen, typbyval, typalign));
}

/*
 * Remove a row written from the rows kept, and free what it holds: under
 * load a worker writes a batch while it counts more, so that the rows kept
 * may take a while to be all written and freed at once.
 */
static void
forget_row(StatsRow *row)
{
	char	   *target = (char *) row->key.target;

	if (row->lag.entries)
		pfree(row->lag.entries);
	if (row->run.entries)
		pfree(row->run.entries);
	if (row->last_error)
		pfree(row->last_error);
	(void) hash_search(rows, &row->key, HASH_REMOVE, NULL);
	pfree(target);
}

/*
 * Write up to max (0: all) of the rows kept into job_stats as writer, in
 * the current transaction, SJ_STATS_WRITE_BATCH per statement, and forget
 * them; the transaction's end empties the rest (commit, once none is left)
 * or drops them all (a worker's failed write).
 */
static void
write_rows(int32 writer, int max)
{
	Oid			elem_types[W_NCOLUMNS];
	Oid			argtypes[1 + W_NCOLUMNS];
	int			written = 0;

	if (rows == NULL)
		return;
	writing = true;
	if (!sj_has_stats())
	{
		/* an earlier version: nothing to write to */
		hash_destroy(rows);
		rows = NULL;
		return;
	}
	argtypes[0] = INT4OID;
	for (int c = 0; c < W_NCOLUMNS; c++)
	{
		elem_types[c] = column_type(c);
		argtypes[1 + c] = get_array_type(elem_types[c]);
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	while (hash_get_num_entries(rows) > 0 && (max == 0 || written < max))
	{
		int			size = Min(hash_get_num_entries(rows), SJ_STATS_WRITE_BATCH);
		Datum	   *cols[W_NCOLUMNS];
		bool	   *nulls[W_NCOLUMNS];
		Datum		values[1 + W_NCOLUMNS];
		StatsRow  **batch = palloc(sizeof(StatsRow *) * size);
		HASH_SEQ_STATUS seq;
		StatsRow   *row;
		int			n = 0;

		if (max > 0)
			size = Min(size, max - written);
		for (int c = 0; c < W_NCOLUMNS; c++)
		{
			cols[c] = palloc(sizeof(Datum) * size);
			nulls[c] = palloc0(sizeof(bool) * size);
		}
		hash_seq_init(&seq, rows);
		while (n < size && (row = hash_seq_search(&seq)) != NULL)
		{
			bytea	   *lag = sj_histogram_bytea(&row->lag);
			bytea	   *run = sj_histogram_bytea(&row->run);

			cols[W_BUCKET][n] = TimestampTzGetDatum(row->key.bucket);
			cols[W_KIND][n] = CStringGetTextDatum(kind_names[row->key.kind]);
			cols[W_TARGET][n] = CStringGetTextDatum(row->key.target);
			cols[W_SCHEDULE][n] = Int64GetDatum(row->key.schedule_id);
			cols[W_FIRED][n] = Int64GetDatum(row->fired);
			for (int i = 0; i < SJ_END_COUNT; i++)
				cols[W_COUNTS + i][n] = Int64GetDatum(row->counts[i]);
			cols[W_LAG][n] = PointerGetDatum(lag);
			nulls[W_LAG][n] = lag == NULL;
			cols[W_LAG_MAX][n] = interval_us(row->lag_max);
			nulls[W_LAG_MAX][n] = row->lag_max < 0;
			cols[W_RUN][n] = PointerGetDatum(run);
			nulls[W_RUN][n] = run == NULL;
			cols[W_RUN_MAX][n] = interval_us(row->run_max);
			nulls[W_RUN_MAX][n] = row->run_max < 0;
			cols[W_ERROR][n] = row->last_error ?
				CStringGetTextDatum(row->last_error) : (Datum) 0;
			nulls[W_ERROR][n] = row->last_error == NULL;
			cols[W_ERROR_AT][n] = TimestampTzGetDatum(row->last_error_at);
			nulls[W_ERROR_AT][n] = row->last_error == NULL;
			batch[n++] = row;
		}
		if (n == size)
			hash_seq_term(&seq);
		values[0] = Int32GetDatum(writer);
		for (int c = 0; c < W_NCOLUMNS; c++)
			values[1 + c] = array_of(cols[c], nulls[c], n, elem_types[c]);
		/* as the extension owner: a session's role cannot write job_stats */
		sj_owner_execute(&write_plan, write_sql, 1 + W_NCOLUMNS, argtypes, values,
						 NULL, 0, NULL, NULL);
		for (int i = 0; i < n; i++)
			forget_row(batch[i]);
		written += n;
	}
	PopActiveSnapshot();
}

/*
 * A session writes its counts before it commits or prepares (prepare), in a
 * subtransaction: if job_stats cannot take them (an administrator's
 * trigger, constraint or index change), they are dropped with a warning and
 * the transaction commits its jobs all the same.  A cancel still cancels.
 */
static void
write_session_rows(bool prepare)
{
	int32		writer = writer_of(prepare);
	long		targets = hash_get_num_entries(rows);
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		write_rows(writer, 0);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("scheduled_jobs dropped the statistics of %ld targets that it could not write: %s",
						targets, edata->message),
				 errdetail("The jobs are in job_history as usual; scheduled_jobs.stats does not count them.")));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

static void
stats_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* a session writes its counts with the jobs they count */
			if (!deferred && n_events > 0)
			{
				keep_events();
				write_session_rows(event == XACT_EVENT_PRE_PREPARE);
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			/* (a worker writes a batch at a time: the rest, next) */
			if (writing && (!deferred || rows == NULL ||
							hash_get_num_entries(rows) == 0))
				reset_rows();
			writing = false;
			if (deferred)
				keep_events();
			reset_events();
			break;
		case XACT_EVENT_ABORT:
			if (writing && deferred && rows != NULL)
				ereport(WARNING,
						(errmsg("scheduled_jobs dropped the statistics of %ld targets that it could not write",
								hash_get_num_entries(rows))));
			/* a worker's write failed, or a session's rolled back */
			if (writing || !deferred)
				reset_rows();
			writing = false;
			reset_events();
			break;
		default:
			break;
	}
}

static void
stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			nest = GetCurrentTransactionNestLevel();

	/* the events of a subtransaction and its children are the last ones */
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		while (n_events > 0 && events[n_events - 1].nest >= nest)
			n_events--;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = n_events - 1; i >= 0 && events[i].nest >= nest; i--)
			events[i].nest = nest - 1;
	}
}

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	stats_cxt = AllocSetContextCreate(TopMemoryContext, "scheduled_jobs stats",
									  ALLOCSET_DEFAULT_SIZES);
	events_cxt = AllocSetContextCreate(TopMemoryContext,
									   "scheduled_jobs stats of the transaction",
									   ALLOCSET_DEFAULT_SIZES);
	RegisterXactCallback(stats_xact_callback, NULL);
	RegisterSubXactCallback(stats_subxact_callback, NULL);
	callbacks_registered = true;
}

/* The first chars characters of s, in events_cxt. */
static char *
clip(const char *s, int chars)
{
	int			len = pg_mbcharcliplen(s, strlen(s), chars);
	char	   *result = MemoryContextAlloc(events_cxt, len + 1);

	memcpy(result, s, len);
	result[len] = '\0';
	return result;
}

/*
 * sj_stats_count
 *		Count a job that ended so (end), or a failed attempt that will be
 *		retried (SJ_END_RETRIED), for its target: channel, procedure or
 *		command, and its schedule (0: none).  run_at is when it was due (job
 *		time), fired_at when its last attempt started (0: never fired), both
 *		as job_history records them; finished_at 0 is now.  error is the
 *		message of a failed attempt, or NULL.  Inside the transaction that
 *		moves the job to job_history.
 */
void
sj_stats_count(const char *channel, const char *procedure, const char *command,
			   int64 schedule_id, SjStatsEnd end, TimestampTz run_at,
			   TimestampTz fired_at, TimestampTz finished_at, const char *error)
{
	StatsEvent *ev;

	if (!sj_track_stats)
		return;
	register_callbacks();
	if (n_events == size_events)
	{
		size_events = Max(64, size_events * 2);
		events = events == NULL ?
			MemoryContextAlloc(events_cxt, size_events * sizeof(StatsEvent)) :
			repalloc(events, size_events * sizeof(StatsEvent));
	}
	if (finished_at == 0)
		finished_at = GetCurrentTimestamp();
	ev = &events[n_events++];
	memset(&ev->key, 0, sizeof(StatsKey));
	ev->key.bucket = floor_to(finished_at, SJ_STATS_ROW_S);
	ev->key.schedule_id = schedule_id;
	ev->key.kind = channel ? 0 : procedure ? 1 : 2;
	if (channel || procedure)
		ev->key.target = MemoryContextStrdup(events_cxt, channel ? channel : procedure);
	else
		ev->key.target = clip(command ? command : "", SJ_STATS_COMMAND_CHARS);
	ev->nest = GetCurrentTransactionNestLevel();
	ev->end = end;
	/* run_at is job time, fired_at real time: the lag by one clock */
	ev->lag = fired_at == 0 ? -1 :
		Max(fired_at - sj_real_time(run_at), 0);
	ev->run = (channel == NULL && fired_at != 0 && end != SJ_END_RETRIED) ?
		Max(finished_at - fired_at, 0) : -1;
	ev->error = error ? clip(error, SJ_STATS_ERROR_CHARS) : NULL;
	ev->at = finished_at;
}

/*
 * sj_stats_count_job
 *		sj_stats_count for a job a worker holds; fired: it ran (or was
 *		delivered), at job->fired_at; finished_at as sj_stats_count (taken
 *		before the statement that moves the job, whose time is not part of
 *		its run).
 */
void
sj_stats_count_job(SjJob *job, SjStatsEnd end, bool fired,
				   TimestampTz finished_at, const char *error)
{
	sj_stats_count(job->channel, job->procedure, job->command, job->schedule_id,
				   end, job->run_at, fired ? job->fired_at : 0, finished_at,
				   error);
}

/*
 * sj_stats_count_cancelled
 *		Count the jobs of a cancel statement's row (SJ_CANCEL_JOBS_SQL):
 *		the arrays of their channels, procedures, commands and schedules
 *		from column col on.  With SPI.
 */
void
sj_stats_count_cancelled(HeapTuple tup, TupleDesc desc, int col)
{
	Datum	   *cols[4];
	bool	   *nulls[4];
	int			n = 0;
	bool		isnull;
	TimestampTz now = GetCurrentTimestamp();

	for (int c = 0; c < 4; c++)
	{
		Datum		d = SPI_getbinval(tup, desc, col + c, &isnull);

		if (isnull)
			return;				/* nothing cancelled */
		if (c < 3)
			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false,
							  TYPALIGN_INT, &cols[c], &nulls[c], &n);
		else
			deconstruct_array(DatumGetArrayTypeP(d), INT8OID, 8, true,
							  TYPALIGN_DOUBLE, &cols[c], &nulls[c], &n);
	}
	for (int i = 0; i < n; i++)
	{
		char	   *target[3];

		for (int c = 0; c < 3; c++)
			target[c] = nulls[c][i] ? NULL : TextDatumGetCString(cols[c][i]);
		sj_stats_count(target[0], target[1], target[2], DatumGetInt64(cols[3][i]),
					   SJ_END_CANCELLED, 0, 0, now, NULL);
	}
}

/*
 * At the exit of a worker (before_shmem_exit): write the counts it keeps,
 * which a stop (SIGTERM: a fast shutdown, pg_terminate_backend(), DDL that
 * holds the database) would lose otherwise.  Registered after the
 * connection, so it runs before the connection is shut down.  A stop that
 * came inside a transaction rolls it back first, if the worker allows it
 * (arg, abort: the scheduler, whose transactions leave its jobs pending if
 * they roll back); an executor's counts are written only if the stop came
 * between transactions, as it does to a waiting executor: rolling back an
 * attempt it interrupted here, earlier, would let another executor claim
 * the job before the exit notes the attempt (executor_exit).  A stop never
 * interrupts a write of the counts itself (sj_stats_flush).  The exit must
 * not hang on it: it holds interrupts (no lock_timeout, no cancel), so the
 * counts are dropped if job_stats is locked, and the commit is
 * asynchronous (no wait for a synchronous standby).  Not after the
 * postmaster died.  An error here is FATAL and ends the exit's callbacks as
 * usual.
 */
static void
stats_exit(int code, Datum arg)
{
	if (rows == NULL || !PostmasterIsAlive())
		return;
	if (IsTransactionOrTransactionBlock())
	{
		if (!DatumGetBool(arg))
			return;
		/* (its counts go with it; those kept stay) */
		AbortOutOfAnyTransaction();
	}
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (lock_job_stats())
		write_rows(writer_of(false), 0);
	else
		ereport(LOG,
				(errmsg("scheduled_jobs dropped the statistics of %ld targets at exit: scheduled_jobs.job_stats is locked",
						hash_get_num_entries(rows))));
	CommitTransactionCommand();
}

/*
 * sj_stats_defer
 *		This backend is a worker: it keeps its counts, for sj_stats_flush,
 *		and writes them when it exits, rolling back a transaction the exit
 *		interrupted first if abort (stats_exit).  After the worker connected
 *		to its database.
 */
void
sj_stats_defer(bool abort)
{
	if (!deferred)
		before_shmem_exit(stats_exit, BoolGetDatum(abort));
	deferred = true;
}

/*
 * sj_stats_flush_at
 *		When the counts a worker keeps are due to be written; DT_NOEND if it
 *		keeps none.
 */
TimestampTz
sj_stats_flush_at(void)
{
	if (first_kept == 0)
		return DT_NOEND;
	/* by the one clock of the workers' waits */
	return sj_now() + (flush_due - GetCurrentTimestamp());
}

/*
 * sj_stats_flush
 *		Write the counts a worker keeps, in a transaction of its own, with
 *		asynchronous commit (a crash loses them either way).  If it fails,
 *		the counts are dropped.  If job_stats is locked, they are kept and
 *		written a second later, or dropped once they were kept for
 *		SJ_STATS_LOCKED_MS or grew to SJ_STATS_LOCKED_ROWS rows.  With
 *		interrupts held: a stop that came meanwhile would roll the write
 *		back, losing the counts it had written, and the write takes
 *		milliseconds and waits for no lock, so the stop waits for it.
 */
void
sj_stats_flush(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (rows == NULL)
		return;
	HOLD_INTERRUPTS();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (lock_job_stats())
	{
		/*
		 * (PGC_S_SESSION: it outranks the executors' PGC_S_OVERRIDE, and is
		 * the one source of a LOCAL setting that ends with the transaction:
		 * one of PGC_S_OVERRIDE would become the process's default for good)
		 */
		(void) set_config_option("synchronous_commit", "off", PGC_SUSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
		write_rows(writer_of(false), SJ_STATS_WRITE_BATCH);
	}
	else if (now - first_kept < (TimestampTz) SJ_STATS_LOCKED_MS * 1000 &&
			 hash_get_num_entries(rows) < SJ_STATS_LOCKED_ROWS)
		flush_due = now + (TimestampTz) SJ_STATS_DEFER_MS * 1000;
	else
	{
		ereport(WARNING,
				(errmsg("scheduled_jobs dropped the statistics of %ld targets: scheduled_jobs.job_stats stayed locked",
						hash_get_num_entries(rows))));
		reset_rows();
	}
	CommitTransactionCommand();
	RESUME_INTERRUPTS();		/* (an error ends the hold, as errors do) */
}

/* Run a compaction statement; the rows it folded or deleted. */
static int64
compact(SPIPlanPtr plan, Datum *values)
{
	bool		isnull;

	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not compact scheduled_jobs.job_stats");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * sj_stats_compact
 *		Fold one batch of 10-second rows whose minute has left the last
 *		minute, and of minute rows whose hour has left the last hour;
 *		delete one batch of hour rows that have left the last day.  Returns
 *		true if a batch was full.  Inside a transaction, with SPI.
 */
bool
sj_stats_compact(void)
{
	Oid			fold_types[4] = {INT4OID, INT4OID, TIMESTAMPTZOID, INT4OID};
	Oid			drop_types[2] = {TIMESTAMPTZOID, INT4OID};
	TimestampTz now = GetCurrentTimestamp();
	Datum		values[4];
	bool		more = false;

	/* (not waiting for a lock: the scheduler would wait with it) */
	if (!sj_has_stats() || !lock_job_stats())
		return false;
	if (fold_plan == NULL)
		fold_plan = sj_prepare(fold_sql, 4, fold_types);
	if (drop_plan == NULL)
		drop_plan = sj_prepare(drop_sql, 2, drop_types);
	values[3] = Int32GetDatum(SJ_STATS_COMPACT_BATCH);

	/* a coarser row must end before the window of the finer ones starts */
	values[0] = Int32GetDatum(SJ_STATS_ROW_S);
	values[1] = Int32GetDatum(SJ_STATS_MINUTE_S);
	values[2] = TimestampTzGetDatum(floor_to(now - SJ_STATS_MINUTE_S * USECS_PER_SEC,
											 SJ_STATS_MINUTE_S));
	more |= compact(fold_plan, values) >= SJ_STATS_COMPACT_BATCH;

	values[0] = Int32GetDatum(SJ_STATS_MINUTE_S);
	values[1] = Int32GetDatum(SJ_STATS_HOUR_S);
	values[2] = TimestampTzGetDatum(floor_to(now - SJ_STATS_HOUR_S * USECS_PER_SEC,
											 SJ_STATS_HOUR_S));
	more |= compact(fold_plan, values) >= SJ_STATS_COMPACT_BATCH;

	values[0] = TimestampTzGetDatum(floor_to(now - (int64) SJ_STATS_DAY_S * USECS_PER_SEC,
											 SJ_STATS_HOUR_S));
	values[1] = Int32GetDatum(SJ_STATS_COMPACT_BATCH);
	more |= compact(drop_plan, values) >= SJ_STATS_COMPACT_BATCH;
	return more;
}
