/*
 * command.c
 *		Command jobs: SQL text run as the job's owner, as pg_cron runs it.
 *
 * A command made only of statements that can run inside a transaction
 * block follows the rule of procedure jobs: it runs in the job's
 * transaction, under the job's boundary (call.c), so that its effects and
 * the job's completion commit together, with retries.  A command that
 * cannot (VACUUM, CREATE INDEX CONCURRENTLY, ...: PostgreSQL refuses them in
 * a transaction block) must be a single statement, and runs at top level in
 * transactions of its own, as psql would run it: the job is first moved to
 * job_history (as failed, "interrupted", in case the executor dies meanwhile)
 * and committed, the command runs, and the outcome is written afterwards.
 * So it runs at most once, never retried.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "command.h"
#include "guc.h"

/* Whether a statement cannot run inside a transaction block. */
static bool
outside_transaction(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd;
		case T_CreatedbStmt:
		case T_DropdbStmt:
		case T_AlterSystemStmt:
		case T_CreateTableSpaceStmt:
		case T_DropTableSpaceStmt:
			return true;
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent;
		case T_ReindexStmt:
			{
				ListCell   *lc;

				foreach(lc, ((ReindexStmt *) stmt)->params)
				{
					DefElem    *opt = lfirst(lc);

					if (strcmp(opt->defname, "concurrently") == 0)
						return true;
				}
				return ((ReindexStmt *) stmt)->kind != REINDEX_OBJECT_INDEX &&
					((ReindexStmt *) stmt)->kind != REINDEX_OBJECT_TABLE;
			}
		case T_ClusterStmt:
			return ((ClusterStmt *) stmt)->relation == NULL;
		default:
			return false;
	}
}

/*
 * The raw statements of a command.  A syntax error names its place in the
 * command, not in the statement that schedules it.
 */
static List *
parse_command(const char *command)
{
	MemoryContext mcxt = CurrentMemoryContext;
	List	   *volatile stmts = NIL;

	PG_TRY();
	{
		stmts = raw_parser(command, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(mcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("invalid command: %s", edata->message),
				 (edata->cursorpos > 0 || edata->internalpos > 0) ?
				 errdetail("At character %d of the command.",
						   Max(edata->cursorpos, edata->internalpos)) : 0));
	}
	PG_END_TRY();
	return stmts;
}

/*
 * sj_check_command
 *		Check a job's command when it is scheduled: not empty, valid SQL,
 *		no transaction control, and a statement that must run outside a
 *		transaction block stands alone.  Returns true if it runs in the job's
 *		transaction, false if outside one.  Errors otherwise.
 */
bool
sj_check_command(const char *command)
{
	List	   *stmts;
	ListCell   *lc;
	bool		outside = false;

	stmts = parse_command(command);
	if (stmts == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("command must contain a statement")));
	foreach(lc, stmts)
	{
		Node	   *stmt = ((RawStmt *) lfirst(lc))->stmt;

		if (IsA(stmt, TransactionStmt))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a command cannot control transactions"),
					 errdetail("A command job runs in a transaction of its own, committed when the job succeeds."),
					 errhint("Leave out BEGIN, COMMIT and ROLLBACK.")));
		if (outside_transaction(stmt))
			outside = true;
	}
	if (outside && list_length(stmts) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a command that cannot run inside a transaction block must be alone"),
				 errdetail("%s runs outside a transaction block, at most once; the other statements would have to run in one.",
						   CreateCommandName(((RawStmt *) linitial(stmts))->stmt)),
				 errhint("Schedule each statement as a job of its own.")));
	return !outside;
}

/*
 * sj_run_command_outside
 *		Run a command that cannot run inside a transaction block, at top
 *		level, as owner, outside any transaction (the caller has committed).
 *		Returns NULL on success, else the error (in mcxt); no transaction is
 *		open on return either way.
 */
ErrorData *
sj_run_command_outside(const char *command, Oid owner, int timeout_ms,
					   MemoryContext mcxt)
{
	ErrorData  *volatile edata = NULL;
	Oid			save_userid;
	int			save_sec_context;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		List	   *parsed;
		RawStmt    *raw;
		List	   *queries;
		List	   *plans;
		Portal		portal;
		DestReceiver *dest = CreateDestReceiver(DestNone);
		QueryCompletion qc;

		SetUserIdAndSecContext(owner, save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE);
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
		pgstat_report_activity(STATE_RUNNING, command);

		/*
		 * The trees live in mcxt, as exec_simple_query keeps them in
		 * MessageContext: VACUUM commits the transaction it started in, and
		 * its memory, while the portal still runs them.
		 */
		MemoryContextSwitchTo(mcxt);
		PushActiveSnapshot(GetTransactionSnapshot());
		parsed = pg_parse_query(command);
		if (list_length(parsed) != 1)
			elog(ERROR, "a command run outside a transaction block must be one statement");
		raw = linitial_node(RawStmt, parsed);
		queries = pg_analyze_and_rewrite_fixedparams(raw, command, NULL, 0,
													 NULL);
		plans = pg_plan_queries(queries, command, CURSOR_OPT_PARALLEL_OK,
								NULL);
		PopActiveSnapshot();

		portal = CreatePortal("", true, true);
		portal->visible = false;
		PortalDefineQuery(portal, NULL, command, CreateCommandTag(raw->stmt),
						  plans, NULL);
		PortalStart(portal, NULL, 0, InvalidSnapshot);
		(void) PortalRun(portal, FETCH_ALL, true, true, dest, dest, &qc);
		PortalDrop(portal, false);

		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(mcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(mcxt);
	return edata;
}
