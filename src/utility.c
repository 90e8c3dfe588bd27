/*
 * utility.c
 *		ProcessUtility hook.
 *
 * PostgreSQL refuses DROP DATABASE, ALTER DATABASE RENAME / SET TABLESPACE
 * and CREATE DATABASE ... TEMPLATE while other sessions are connected to the
 * database, and our scheduler and executors are such sessions.  Before those
 * commands run, the hook stops that database's workers and holds the launcher
 * off until the transaction ends; then the launcher restarts them if the
 * database is still there.
 *
 * CREATE EXTENSION asks the launcher for a scheduler at commit; DROP
 * EXTENSION (or DROP SCHEMA, which may cascade to it) wakes the scheduler at
 * commit so that it notices and leaves.
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

#include "api.h"
#include "shmem.h"
#include "utility.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

#define SJ_EXTENSION_NAME "scheduled_jobs"

/* The database named by a DefElem list option, e.g. CREATE DATABASE's template. */
static char *
db_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, name) == 0 && opt->arg != NULL)
			return defGetString(opt);
	}
	return NULL;
}

static void
hold_by_name(const char *dbname)
{
	Oid			dboid;

	if (dbname == NULL)
		return;
	dboid = get_database_oid(dbname, true);
	if (OidIsValid(dboid))
		sj_hold_database(dboid);
}

static void
sj_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	char	   *created_db = NULL;

	/* DDL in this transaction must find the jobs table closed */
	sj_api_close_insert_state(true);

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			hold_by_name(((DropdbStmt *) parsetree)->dbname);
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				hold_by_name(((RenameStmt *) parsetree)->subname);
			break;
		case T_AlterDatabaseStmt:
			if (db_option(((AlterDatabaseStmt *) parsetree)->options, "tablespace"))
				hold_by_name(((AlterDatabaseStmt *) parsetree)->dbname);
			break;
		case T_CreatedbStmt:
			hold_by_name(db_option(((CreatedbStmt *) parsetree)->options, "template"));
			created_db = ((CreatedbStmt *) parsetree)->dbname;
			break;
		case T_CreateExtensionStmt:
			if (strcmp(((CreateExtensionStmt *) parsetree)->extname, SJ_EXTENSION_NAME) == 0)
				sj_kick_launcher_at_commit(MyDatabaseId);
			break;
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION ||
				((DropStmt *) parsetree)->removeType == OBJECT_SCHEMA)
				sj_wake_scheduler_at_commit(DT_NOBEGIN);
			break;
		default:
			break;
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	/* a database copied from one with the extension needs a scheduler */
	if (created_db != NULL)
	{
		Oid			dboid = get_database_oid(created_db, true);

		if (OidIsValid(dboid))
			sj_kick_launcher_at_commit(dboid);
	}
}

/*
 * sj_utility_init
 *		Install the hook.  Called once from _PG_init.
 */
void
sj_utility_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = sj_process_utility;
}
