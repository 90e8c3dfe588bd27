/*
 * consumer.c
 *		The consumer side of acknowledged channels: ack(), ack_many(), claim(),
 *		extend_lease(), nack() and unacknowledged().
 *
 * A job of an acknowledged channel (configure_channel()) stays in
 * scheduled_jobs.jobs after its NOTIFY, in flight: attempts counts its
 * deliveries, due_at keeps its first run_at, run_at is its deadline (when
 * the scheduler delivers it again, or makes it a dead letter) and
 * lease_until is set while a consumer holds it (claim(), nack()).  The
 * delivery number fences a consumer: extend_lease() and nack() act only if
 * the job's current delivery is the caller's.  ack() moves the job to
 * job_history in the caller's transaction, so a consumer that writes its
 * effect and acks in one transaction has exactly-once effects.
 *
 * The functions run as the caller, who may act on a job it owns (is a member
 * of its owner) or whose channel was granted to it (grant_channel()); they
 * write as the extension owner (owner_sql.c).  Everything they decide by
 * time, they decide by the one clock (clock.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "clock.h"
#include "envelope.h"
#include "job.h"
#include "occurrence.h"
#include "owner_sql.h"
#include "stats.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(sj_ack);
PG_FUNCTION_INFO_V1(sj_ack_many);
PG_FUNCTION_INFO_V1(sj_claim);
PG_FUNCTION_INFO_V1(sj_extend_lease);
PG_FUNCTION_INFO_V1(sj_nack);
PG_FUNCTION_INFO_V1(sj_unacknowledged);

/* $2, the caller, may act on job j: it owns it, or is granted its channel */
#define MAY_ACT \
	" AND (pg_catalog.pg_has_role($2, j.owner::pg_catalog.oid, 'MEMBER') " \
	"  OR EXISTS (SELECT FROM scheduled_jobs.channel_grants g " \
	"    WHERE g.channel OPERATOR(pg_catalog.=) j.channel " \
	"      AND pg_catalog.pg_has_role($2, g.consumer::pg_catalog.oid, 'MEMBER')))"

/*
 * What claim() and unacknowledged() read of a job: id, delivery, job_key,
 * first run_at, deadline (of the lease, or of the acknowledgement),
 * payload, lease.
 */
#define JOB_OUT "j.id, j.attempts, j.job_key, j.due_at, j.run_at, j.payload, " \
	"j.lease_until"
/*
 * and from 0.4.0 on: the name of its schedule (looked up only for an
 * occurrence), its occurrence, its schedule
 */
#define JOB_OUT_0_4 JOB_OUT ", CASE WHEN j.schedule_id IS NOT NULL THEN " \
	"(SELECT r.name FROM scheduled_jobs.schedule_rules r " \
	"  WHERE r.id OPERATOR(pg_catalog.=) j.schedule_id) END, j.occurrence_at, j.schedule_id"

/*
 * The in-flight test of a job found by its id.  Written so that no partial
 * index on due_at (0.3.0's jobs_in_flight) matches it: the plan must probe
 * jobs_pkey with the ids, even if it was made while the statistics said
 * that no job is in flight (then a scan of jobs_in_flight, filtered by the
 * ids, looks cheaper, and costs every job in flight times every id).
 */
#define IN_FLIGHT "pg_catalog.num_nulls(j.due_at) OPERATOR(pg_catalog.=) 0"

/*
 * $1 job (with "ANY": an array of jobs), $2 caller: acknowledged, moved to
 * job_history.  Returns what stats count of each: channel, run_at,
 * fired_at, and from 0.4.0 on the schedule.
 */
#define ACK_SQL(op, cols, extra, returning) \
"WITH a AS (DELETE FROM scheduled_jobs.jobs j " \
"  WHERE j.id OPERATOR(pg_catalog.=) " op "($1) AND " IN_FLIGHT MAY_ACT \
"  RETURNING j.id, j.due_at, j.channel, j.procedure, j.payload, j.job_key, " \
"    j.max_attempts, j.timeout_ms, j.owner, j.attempts, j.created_at, " \
"    j.last_error, j.last_error_data, j.first_delivered_at" extra ") " \
"INSERT INTO scheduled_jobs.job_history (" cols ", state, fired_at, finished_at) " \
"SELECT id, due_at, channel, procedure, payload, job_key, max_attempts, timeout_ms, owner, " \
"  attempts, created_at, last_error, last_error_data" extra ", " SJ_STATE_ACKNOWLEDGED ", " \
"  first_delivered_at, pg_catalog.statement_timestamp() FROM a " \
"RETURNING channel, run_at, fired_at" returning
#define EXTRA_0_4 ", schedule_id, occurrence_at, expires_at, command"

/* [0.4.0 or later] */
static const char *const ack_sql[2] = {
	ACK_SQL("", SJ_JOB_COLUMNS, "", ""),
	ACK_SQL("", SJ_JOB_COLUMNS_0_4, EXTRA_0_4, ", schedule_id")
};
static const char *const ack_many_sql[2] = {
	ACK_SQL("ANY", SJ_JOB_COLUMNS, "", ""),
	ACK_SQL("ANY", SJ_JOB_COLUMNS_0_4, EXTRA_0_4, ", schedule_id")
};

/*
 * Claim the jobs that c selects ($4 end of the lease, $5 now): one more
 * delivery, held until the lease ends.  By an id array, not a join: a
 * generic plan must not turn into a join that reads every job.
 */
#define CLAIM_SQL(c, out) \
"UPDATE scheduled_jobs.jobs j SET attempts = j.attempts OPERATOR(pg_catalog.+) 1, " \
"  due_at = COALESCE(j.due_at, j.run_at), " \
"  first_delivered_at = COALESCE(j.first_delivered_at, pg_catalog.now()), " \
"  lease_until = $4, run_at = $4 " \
"WHERE j.id OPERATOR(pg_catalog.=) ANY (ARRAY(" c ")) " \
"RETURNING " out

/* the channel's max_deliveries, NULL if it is not acknowledged */
#define MAX_DELIVERIES \
"(SELECT s.max_deliveries FROM scheduled_jobs.channel_settings s " \
"  WHERE s.channel OPERATOR(pg_catalog.=) $1)"

/*
 * $1 channel, $2 caller, $3 max_jobs: first the delivered jobs of the
 * channel that nobody holds and that have deliveries left (the scheduler
 * makes the others dead letters), in due order.  Only those nobody holds:
 * so that the statement can be one probe of an index of them
 * (jobs_unleased; with 0.3.0's tables, jobs_in_flight, filtered), not a
 * walk over every job consumers hold ...
 */
#define UNLEASED_JOBS \
"SELECT j.id FROM scheduled_jobs.jobs j " \
"WHERE j.channel OPERATOR(pg_catalog.=) $1 AND j.due_at IS NOT NULL " \
"  AND j.lease_until IS NULL " \
"  AND j.attempts OPERATOR(pg_catalog.<) " MAX_DELIVERIES MAY_ACT \
" ORDER BY j.due_at LIMIT $3 FOR UPDATE SKIP LOCKED"

/*
 * ... then those due by run_at (index jobs_notify_run_at, which holds
 * little that is due: the scheduler fires it): not delivered yet, if the
 * channel is acknowledged (both statements find nothing on a plain one), or
 * delivered with a lease that ran out and deliveries left (until the
 * scheduler delivers them again and they join the first kind), in the
 * order of run_at.
 */
#define DUE_JOBS(fresh) \
"SELECT j.id FROM scheduled_jobs.jobs j " \
"WHERE j.channel OPERATOR(pg_catalog.=) $1 AND j.run_at OPERATOR(pg_catalog.<=) $5 " \
"  AND " MAX_DELIVERIES " IS NOT NULL " \
"  AND ((j.due_at IS NULL" fresh ") OR (j.lease_until IS NOT NULL " \
"    AND j.attempts OPERATOR(pg_catalog.<) " MAX_DELIVERIES "))" MAY_ACT \
" ORDER BY j.run_at LIMIT $3 FOR UPDATE SKIP LOCKED"
/* 0.4.0: a job past its firing deadline is not delivered (the scheduler expires it) */
#define NOT_EXPIRED \
" AND (j.expires_at IS NULL OR j.expires_at OPERATOR(pg_catalog.>=) $5)"

/* [0.4.0 or later] */
static const char *const claim_unleased_sql[2] = {
	CLAIM_SQL(UNLEASED_JOBS, JOB_OUT), CLAIM_SQL(UNLEASED_JOBS, JOB_OUT_0_4)
};
static const char *const claim_due_sql[2] = {
	CLAIM_SQL(DUE_JOBS(""), JOB_OUT), CLAIM_SQL(DUE_JOBS(NOT_EXPIRED), JOB_OUT_0_4)
};

/*
 * $1 job, $2 caller, $3 delivery, $4 end: hold the job until end, if its
 * delivery is still $3 (extend_lease(), nack()).
 */
static const char *const hold_sql =
"UPDATE scheduled_jobs.jobs j SET lease_until = $4, run_at = $4 "
"WHERE j.id OPERATOR(pg_catalog.=) $1 AND " IN_FLIGHT
"  AND j.attempts OPERATOR(pg_catalog.=) $3" MAY_ACT " RETURNING j.id";

/*
 * $1 channel, $2 caller, $3 max_jobs: delivered, unacknowledged, in due
 * order; from 0.4.0 on, those nobody holds and those held, each from its
 * index (jobs_unleased, jobs_leased), merged.
 */
#define UNACKNOWLEDGED_SQL(out, held) \
"SELECT " out " FROM scheduled_jobs.jobs j " \
"WHERE j.channel OPERATOR(pg_catalog.=) $1 AND j.due_at IS NOT NULL" held MAY_ACT \
" ORDER BY j.due_at LIMIT $3"
static const char *const unacknowledged_sql[2] = {
	UNACKNOWLEDGED_SQL(JOB_OUT, ""),
	"SELECT * FROM ((" UNACKNOWLEDGED_SQL(JOB_OUT_0_4, " AND j.lease_until IS NULL") ") "
	"UNION ALL (" UNACKNOWLEDGED_SQL(JOB_OUT_0_4, " AND j.lease_until IS NOT NULL") ")) u "
	"ORDER BY u.due_at LIMIT $3"
};

/* whether $1 is an acknowledged channel */
static const char *const is_acknowledged_sql =
"SELECT 1::pg_catalog.int8 FROM scheduled_jobs.channel_settings "
"WHERE channel OPERATOR(pg_catalog.=) $1";

static SPIPlanPtr ack_plans[2];
static SPIPlanPtr ack_many_plans[2];
static SPIPlanPtr claim_unleased_plans[2];
static SPIPlanPtr claim_due_plans[2];
static SPIPlanPtr hold_plan = NULL;
static SPIPlanPtr unacknowledged_plans[2];
static SPIPlanPtr is_acknowledged_plan = NULL;

/* now + an interval, as the statements compute a lease's end */
static TimestampTz
lease_end(Datum now, Datum interval)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
												   now, interval));
}

/*
 * Run one of the statements above as the extension owner (sj_owner_execute),
 * planned without sequential scans, bitmap scans or sorts, whatever the
 * statistics said when the plan was made, and without JIT.  The plan is
 * kept, and made again whenever it is invalidated, so the settings are set
 * for every execution.
 *
 * Each statement has an index path that reads only what it returns;
 * statistics from before the jobs in flight existed (a fresh channel, a
 * table analyzed while it held other jobs) would otherwise give a plan that
 * reads every job of the channel at each call, until autovacuum analyzes
 * the table.  And a generic plan prices LIMIT $3 at a tenth of the table:
 * from about 100,000 jobs in flight its cost passes jit_above_cost, and
 * each call would compile it anew (some 15 ms, for a statement that reads
 * max_jobs rows).
 */
static void
consumer_execute(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
				 Datum *values, SjRowsFunc rows, void *arg)
{
	int			save_nestlevel = NewGUCNestLevel();

	(void) set_config_option("enable_seqscan", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_sort", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	sj_owner_execute(plan, sql, nargs, argtypes, values, NULL, 0, rows, arg);
	AtEOXact_GUC(true, save_nestlevel);
}

/* Refuse a channel that is not acknowledged. */
static void
check_acknowledged(text *channel)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {PointerGetDatum(channel)};
	bool		found;

	(void) sj_run_as_extension_owner(&is_acknowledged_plan, is_acknowledged_sql,
									 1, argtypes, values, NULL, &found);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("channel \"%s\" is not acknowledged",
						text_to_cstring(channel)),
				 errhint("Make it so with scheduled_jobs.configure_channel().")));
}

/* Refuse an interval that is not positive (or, zero_ok, negative). */
static void
check_interval(Interval *iv, const char *what, bool zero_ok)
{
	Interval	zero = {0};
	int			cmp;

	cmp = DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(iv),
											IntervalPGetDatum(&zero)));
	if (cmp < 0 || (cmp == 0 && !zero_ok))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(zero_ok ? "%s must not be negative" : "%s must be a positive interval",
						what)));
}

/*
 * Copy the JOB_OUT rows of SPI_tuptable into the caller's result set.  For
 * claim(), a first delivery of an occurrence of a schedule fires it: its
 * schedule goes on in the caller's transaction, as when the scheduler
 * delivers it.
 */
typedef struct ResultSet
{
	ReturnSetInfo *rsinfo;
	int			count;			/* rows put so far */
	bool		claiming;		/* claim(), not unacknowledged() */
} ResultSet;

static void
put_jobs(void *arg)
{
	ResultSet  *rs = arg;
	SPITupleTable *tt = SPI_tuptable;
	uint64		nrows = SPI_processed;
	TupleDesc	desc = tt->tupdesc;
	bool		sched = desc->natts >= 10;
	SjOccurrence *occ = palloc0(sizeof(SjOccurrence) * Max(nrows, 1));
	SjOccurrence **by_row = palloc0(sizeof(SjOccurrence *) * Max(nrows, 1));
	int			nocc = 0;

	for (uint64 i = 0; sched && rs->claiming && i < nrows; i++)
	{
		bool		isnull;
		Datum		schedule = SPI_getbinval(tt->vals[i], desc, 10, &isnull);

		if (isnull ||
			DatumGetInt32(SPI_getbinval(tt->vals[i], desc, 2, &isnull)) != 1)
			continue;
		occ[nocc].schedule_id = DatumGetInt64(schedule);
		occ[nocc].job_id = DatumGetInt64(SPI_getbinval(tt->vals[i], desc, 1, &isnull));
		occ[nocc].occurrence_at = DatumGetTimestampTz(SPI_getbinval(tt->vals[i], desc, 9, &isnull));
		occ[nocc].started_at = sj_xact_now();
		occ[nocc].event = SJ_OCC_FIRED;
		by_row[i] = &occ[nocc++];
	}
	if (nocc > 0)
		sj_advance_schedules(occ, nocc, false);

	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = tt->vals[i];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		bool		isnull;
		Datum		job_key = SPI_getbinval(tup, desc, 3, &isnull);
		char	   *key = isnull ? NULL : TextDatumGetCString(job_key);
		int32		delivery = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		char	   *schedule = sched ? SPI_getvalue(tup, desc, 8) : NULL;
		Jsonb	   *env;

		values[0] = SPI_getbinval(tup, desc, 1, &isnull);
		values[1] = Int32GetDatum(delivery);
		env = sj_envelope_jsonb(DatumGetInt64(values[0]), key,
								DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull)),
								delivery,
								DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull)),
								schedule,
								schedule ? DatumGetTimestampTz(SPI_getbinval(tup, desc, 9, &isnull)) : 0,
								by_row[i] ? by_row[i]->missed : 0,
								DatumGetJsonbP(SPI_getbinval(tup, desc, 6, &isnull)));
		values[2] = JsonbPGetDatum(env);
		/* unacknowledged() only: the lease, if a consumer holds the job */
		values[3] = SPI_getbinval(tup, desc, 7, &nulls[3]);
		tuplestore_putvalues(rs->rsinfo->setResult, rs->rsinfo->setDesc,
							 values, nulls);
		rs->count++;
	}
}

/* The row count of the statement just run (sj_owner_execute's rows). */
static void
count_rows(void *arg)
{
	*(uint64 *) arg = SPI_processed;
}

/* The acknowledged jobs of ack_sql's rows: counted in stats; how many. */
static void
count_acknowledged(void *arg)
{
	TupleDesc	desc = SPI_tuptable->tupdesc;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		int64		schedule_id = 0;

		if (desc->natts > 3)
		{
			Datum		d = SPI_getbinval(tup, desc, 4, &isnull);

			schedule_id = isnull ? 0 : DatumGetInt64(d);
		}
		sj_stats_count(SPI_getvalue(tup, desc, 1), NULL, NULL, schedule_id,
					   SJ_END_SUCCEEDED,
					   DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull)),
					   DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull)),
					   0, NULL);
	}
	*(uint64 *) arg = SPI_processed;
}

/*
 * Run ack_sql (one job, an int8) or ack_many_sql (an int8[]) for the
 * caller.  Returns how many jobs it acknowledged.
 */
static uint64
acknowledge(SPIPlanPtr *plan, const char *sql, Oid argtype, Datum jobs)
{
	Oid			argtypes[2] = {argtype, OIDOID};
	Datum		values[2] = {jobs, ObjectIdGetDatum(GetUserId())};
	uint64		n = 0;

	consumer_execute(plan, sql, 2, argtypes, values, count_acknowledged, &n);
	return n;
}

/* ack(job_id bigint) returns boolean */
Datum
sj_ack(PG_FUNCTION_ARGS)
{
	int			v = sj_has_schedules() ? 1 : 0;

	PreventCommandIfReadOnly("ack()");
	PG_RETURN_BOOL(acknowledge(&ack_plans[v], ack_sql[v], INT8OID,
							   PG_GETARG_DATUM(0)) > 0);
}

/* ack_many(job_ids bigint[]) returns bigint: how many this call acknowledged */
Datum
sj_ack_many(PG_FUNCTION_ARGS)
{
	int			v = sj_has_schedules() ? 1 : 0;

	PreventCommandIfReadOnly("ack_many()");
	PG_RETURN_INT64((int64) acknowledge(&ack_many_plans[v], ack_many_sql[v],
										INT8ARRAYOID, PG_GETARG_DATUM(0)));
}

/* claim(channel text, max_jobs integer, lease interval) returns table */
Datum
sj_claim(PG_FUNCTION_ARGS)
{
	Oid			argtypes[5] = {TEXTOID, OIDOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[5];
	ResultSet	rs;
	TimestampTz now = sj_now();
	TimestampTz end;
	int			v = sj_has_schedules() ? 1 : 0;

	PreventCommandIfReadOnly("claim()");
	if (PG_GETARG_INT32(1) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_jobs must be at least 1")));
	check_interval(PG_GETARG_INTERVAL_P(2), "lease", false);
	end = lease_end(TimestampTzGetDatum(now), PG_GETARG_DATUM(2));

	InitMaterializedSRF(fcinfo, 0);
	rs.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rs.count = 0;
	rs.claiming = true;
	values[0] = PG_GETARG_DATUM(0);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = PG_GETARG_DATUM(1);
	values[3] = TimestampTzGetDatum(end);
	values[4] = TimestampTzGetDatum(now);
	consumer_execute(&claim_unleased_plans[v], claim_unleased_sql[v], 5,
					 argtypes, values, put_jobs, &rs);
	if (rs.count < PG_GETARG_INT32(1))
	{
		values[2] = Int32GetDatum(PG_GETARG_INT32(1) - rs.count);
		consumer_execute(&claim_due_plans[v], claim_due_sql[v], 5, argtypes,
						 values, put_jobs, &rs);
	}
	if (rs.count > 0)
	{
		/* the scheduler delivers them again when the lease ends */
		sj_wake_scheduler_at_commit(end);
	}
	else
	{
		/* nothing: say why if the channel is not acknowledged */
		check_acknowledged(PG_GETARG_TEXT_PP(0));
	}
	return (Datum) 0;
}

/* Shared body of extend_lease() and nack(). */
static bool
hold(FunctionCallInfo fcinfo, const char *what, bool zero_ok)
{
	Oid			argtypes[4] = {INT8OID, OIDOID, INT4OID, TIMESTAMPTZOID};
	Datum		values[4];
	TimestampTz end;
	uint64		n = 0;

	check_interval(PG_GETARG_INTERVAL_P(2), what, zero_ok);
	end = lease_end(TimestampTzGetDatum(sj_now()), PG_GETARG_DATUM(2));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = PG_GETARG_DATUM(1);
	values[3] = TimestampTzGetDatum(end);
	consumer_execute(&hold_plan, hold_sql, 4, argtypes, values, count_rows, &n);
	/* the scheduler delivers it again when the hold ends */
	if (n > 0)
		sj_wake_scheduler_at_commit(end);
	return n > 0;
}

/* extend_lease(job_id bigint, delivery integer, lease interval) returns boolean */
Datum
sj_extend_lease(PG_FUNCTION_ARGS)
{
	PreventCommandIfReadOnly("extend_lease()");
	PG_RETURN_BOOL(hold(fcinfo, "lease", false));
}

/* nack(job_id bigint, delivery integer, delay interval) returns boolean */
Datum
sj_nack(PG_FUNCTION_ARGS)
{
	PreventCommandIfReadOnly("nack()");
	PG_RETURN_BOOL(hold(fcinfo, "delay", true));
}

/* unacknowledged(channel text, max_jobs integer) returns table */
Datum
sj_unacknowledged(PG_FUNCTION_ARGS)
{
	Oid			argtypes[3] = {TEXTOID, OIDOID, INT4OID};
	Datum		values[3];
	ResultSet	rs;
	int			v;

	if (PG_GETARG_INT32(1) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_jobs must be at least 1")));
	check_acknowledged(PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);
	rs.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rs.count = 0;
	rs.claiming = false;
	values[0] = PG_GETARG_DATUM(0);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = PG_GETARG_DATUM(1);
	v = sj_has_schedules() ? 1 : 0;
	consumer_execute(&unacknowledged_plans[v], unacknowledged_sql[v], 3,
					 argtypes, values, put_jobs, &rs);
	return (Datum) 0;
}
