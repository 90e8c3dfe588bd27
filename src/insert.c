/*
 * insert.c
 *		schedule_job()'s fast path: a job without a job_key is inserted
 *		straight into the heap and indexes of scheduled_jobs.jobs.
 *
 * This is what an INSERT does for this table, less the executor start-up,
 * which is most of the cost of a one-row INSERT: the table has no triggers,
 * rules or CHECK constraints, and only schedule_job() adds rows, so nothing is
 * skipped.  Nothing can conflict without a job_key.
 *
 * The table, its indexes and an executor state stay open for the rest of the
 * transaction, under the top transaction's resource owner.  They are closed
 * before commit or prepare, before any utility command (so that DDL on the
 * table sees no open reference: utility.c), when a subtransaction aborts (it
 * may have rolled back DDL that changed the index list) and when the table's
 * relcache entry is invalidated; they are forgotten on abort, which releases
 * them.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "insert.h"
#include "job.h"

typedef struct JobsInsertState
{
	Relation	rel;
	Oid			seqid;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
} JobsInsertState;

static JobsInsertState *insert_state = NULL;

/* the open state no longer matches the catalogs: close it before use */
static bool insert_state_stale = false;

static JobsInsertState *
open_insert_state(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	ResourceOwner save_owner = CurrentResourceOwner;
	JobsInsertState *st = palloc(sizeof(JobsInsertState));
	Oid			relid;
	int			natts;

	relid = get_relname_relid("jobs", get_namespace_oid(SJ_EXTENSION_NAME, false));
	if (!OidIsValid(relid))
		elog(ERROR, "table scheduled_jobs.jobs does not exist");

	CurrentResourceOwner = TopTransactionResourceOwner;
	st->rel = table_open(relid, RowExclusiveLock);
	natts = RelationGetDescr(st->rel)->natts;
	if (!SJ_JOBS_NATTS_OK(natts))
	{
		table_close(st->rel, RowExclusiveLock);
		CurrentResourceOwner = save_owner;
		elog(ERROR, "table scheduled_jobs.jobs has %d columns, expected %d",
			 natts, Natts_jobs);
	}
	st->seqid = getIdentitySequence(relid, Anum_jobs_id, false);
	st->estate = CreateExecutorState();
	st->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(st->rri, st->rel, 0, NULL, 0);
	ExecOpenIndices(st->rri, false);
	st->slot = ExecInitExtraTupleSlot(st->estate, RelationGetDescr(st->rel),
									  &TTSOpsHeapTuple);
	CurrentResourceOwner = save_owner;
	MemoryContextSwitchTo(old);
	insert_state_stale = false;
	return st;
}

/*
 * sj_insert_close
 *		Close what sj_insert_job keeps open, if anything.  Inside the
 *		transaction that opened it.
 */
void
sj_insert_close(void)
{
	ResourceOwner save_owner = CurrentResourceOwner;

	if (insert_state == NULL)
		return;
	CurrentResourceOwner = TopTransactionResourceOwner;
	ExecDropSingleTupleTableSlot(insert_state->slot);
	ExecCloseIndices(insert_state->rri);
	FreeExecutorState(insert_state->estate);
	table_close(insert_state->rel, NoLock);
	CurrentResourceOwner = save_owner;
	insert_state = NULL;
}

/*
 * sj_insert_job
 *		Insert a job without a job_key; returns its id.  values/nulls are
 *		indexed by Anum_jobs_* - 1; the id, attempts, created_at and the
 *		error columns are filled in here.  Arguments already validated.
 */
int64
sj_insert_job(Datum *values, bool *nulls)
{
	JobsInsertState *st;
	int64		id;
	HeapTuple	tuple;

	if (insert_state != NULL && insert_state_stale)
		sj_insert_close();
	if (insert_state == NULL)
		insert_state = open_insert_state();
	st = insert_state;

	id = nextval_internal(st->seqid, false);
	values[Anum_jobs_id - 1] = Int64GetDatum(id);
	nulls[Anum_jobs_id - 1] = false;
	values[Anum_jobs_attempts - 1] = Int32GetDatum(0);
	nulls[Anum_jobs_attempts - 1] = false;
	values[Anum_jobs_created_at - 1] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	nulls[Anum_jobs_created_at - 1] = false;
	nulls[Anum_jobs_last_error - 1] = true;
	nulls[Anum_jobs_last_error_data - 1] = true;

	tuple = heap_form_tuple(RelationGetDescr(st->rel), values, nulls);
	ExecStoreHeapTuple(tuple, st->slot, false);
	simple_table_tuple_insert(st->rel, st->slot);
	list_free(ExecInsertIndexTuples(st->rri, st->slot, st->estate, false,
									false, NULL, NIL));
	ExecClearTuple(st->slot);
	ResetPerTupleExprContext(st->estate);
	heap_freetuple(tuple);

	/* later statements of this command, e.g. a replace of its key, see it */
	CommandCounterIncrement();
	return id;
}

static void
insert_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			sj_insert_close();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			/* released with the transaction's resource owner */
			insert_state = NULL;
			break;
		default:
			break;
	}
}

/*
 * A subtransaction that aborts may have rolled back DDL on the table, e.g.
 * an index created in it, which goes away with it: close everything now, so
 * that no reference to such an index outlives it.
 */
static void
insert_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		sj_insert_close();
}

/* Any invalidation of the table's relcache entry: reopen before use. */
static void
insert_relcache_callback(Datum arg, Oid relid)
{
	if (insert_state != NULL &&
		(relid == InvalidOid || relid == RelationGetRelid(insert_state->rel)))
		insert_state_stale = true;
}

/*
 * sj_insert_init
 *		Install the callbacks.  Called once from _PG_init.
 */
void
sj_insert_init(void)
{
	RegisterXactCallback(insert_xact_callback, NULL);
	RegisterSubXactCallback(insert_subxact_callback, NULL);
	CacheRegisterRelcacheCallback(insert_relcache_callback, (Datum) 0);
}
