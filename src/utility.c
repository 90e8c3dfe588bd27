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
 * CREATE EXTENSION asks the launcher for a scheduler at commit (and warns
 * if every database slot is taken); DROP EXTENSION (or DROP SCHEMA, which
 * may cascade to it) wakes the scheduler at commit so that it notices and
 * leaves.  COMMIT PREPARED does both for the database it runs in, since a
 * prepared transaction's own commit-time wake-ups are gone with its session.
 * COPY into scheduled_jobs.jobs (pg_restore) lowers the claims' floors to
 * -infinity at commit (shmem.c): no function wrote those rows.
 * ALTER DATABASE ... SET wakes that database's scheduler at commit to read
 * its settings again (scheduled_jobs.paused per database).
 *
 * Job ids must stay unique across jobs and job_history: after TRUNCATE
 * scheduled_jobs.jobs RESTART IDENTITY or ALTER SEQUENCE ... RESTART of its
 * sequence, the sequence is moved past every id in use.
 *
 * Pending jobs belong to their owner role as its objects do, in the database
 * where the command runs: DROP ROLE refuses while the role owns pending jobs,
 * DROP OWNED BY cancels them and REASSIGN OWNED BY gives them to the new
 * role.  (Like DROP OWNED itself, this acts on the current database only.)
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

#include "insert.h"
#include "job.h"
#include "owner_sql.h"
#include "shmem.h"
#include "stats.h"
#include "utility.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static SPIPlanPtr count_owned_plan = NULL;
static SPIPlanPtr count_schedules_plan = NULL;
static SPIPlanPtr drop_schedules_plan = NULL;
static SPIPlanPtr reassign_schedules_plan = NULL;
static SPIPlanPtr reassign_clash_plan = NULL;
static SPIPlanPtr cancel_owned_plan_0_3 = NULL;

#define OWNED_BY_ROLES "owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)"
static SPIPlanPtr cancel_owned_plan = NULL;
static SPIPlanPtr reassign_owned_plan = NULL;
static SPIPlanPtr count_grants_plan = NULL;
static SPIPlanPtr drop_grants_plan = NULL;
static SPIPlanPtr fix_ids_plan = NULL;


/* Move the id sequence past every id of jobs and job_history. */
static const char *const fix_ids_sql =
"SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('scheduled_jobs.jobs', 'id')::pg_catalog.regclass, "
"  GREATEST(m, 1), m OPERATOR(pg_catalog.>) 0) "
"FROM (SELECT GREATEST((SELECT pg_catalog.max(id) FROM scheduled_jobs.job_history), "
"  (SELECT pg_catalog.max(id) FROM scheduled_jobs.jobs), 0) AS m) AS s";

/*
 * The database named by a DefElem list option, e.g. CREATE DATABASE's
 * template.
 */
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

/*
 * The OIDs of a list of RoleSpec as an oid[] datum; InvalidOid for unknown
 * roles.
 */
static Datum
role_array(List *roles)
{
	Datum	   *oids = palloc(sizeof(Datum) * Max(list_length(roles), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, roles)
	{
		RoleSpec   *spec = lfirst(lc);
		Oid			roleid;

		/* DROP ROLE IF EXISTS names roles that may not exist */
		if (spec->roletype == ROLESPEC_CSTRING)
			roleid = get_role_oid(spec->rolename, true);
		else
			roleid = get_rolespec_oid(spec, false);
		if (OidIsValid(roleid))
			oids[n++] = ObjectIdGetDatum(roleid);
	}
	return PointerGetDatum(construct_array(oids, n, OIDOID, sizeof(Oid), true,
										   TYPALIGN_INT));
}

/*
 * Run a statement about the jobs of the roles in $1 (and $2), as the
 * extension owner, if the extension is installed here; returns its count.
 */
static int64
jobs_of_roles(SPIPlanPtr *plan, const char *sql, List *roles,
			  RoleSpec *newrole)
{
	Oid			argtypes[2] = {OIDARRAYOID, OIDOID};
	Datum		values[2];
	bool		found;

	if (!OidIsValid(get_extension_oid(SJ_EXTENSION_NAME, true)))
		return 0;
	values[0] = role_array(roles);
	values[1] = newrole ? ObjectIdGetDatum(get_rolespec_oid(newrole, false)) :
		(Datum) 0;
	return sj_run_as_extension_owner(plan, sql, newrole ? 2 : 1, argtypes,
									 values, NULL, &found);
}

/* The row of a cancel statement (SJ_CANCEL_JOBS_SQL): count its jobs. */
static void
count_cancelled(void *arg)
{
	if (SPI_processed > 0)
		sj_stats_count_cancelled(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								 SJ_CANCEL_STATS_COLUMN);
}

/*
 * Cancel the pending jobs of the roles (DROP OWNED BY, 0.4.0 on), as the
 * extension owner, counted in stats as any cancel.
 */
static void
cancel_jobs_of_roles(List *roles)
{
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		values[1];

	if (!OidIsValid(get_extension_oid(SJ_EXTENSION_NAME, true)))
		return;
	values[0] = role_array(roles);
	sj_owner_execute(&cancel_owned_plan, SJ_CANCEL_JOBS_SQL(OWNED_BY_ROLES), 1,
					 argtypes, values, NULL, 1, count_cancelled, NULL);
}

static void
check_drop_role(DropRoleStmt *stmt)
{
	int64		n;

	n = jobs_of_roles(&count_owned_plan,
					  "SELECT pg_catalog.count(*) FROM scheduled_jobs.jobs "
					  "WHERE owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)",
					  stmt->roles, NULL);
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop a role that owns pending scheduled jobs"),
				 errdetail_plural("%lld pending job in database \"%s\" belongs to the roles to drop.",
								  "%lld pending jobs in database \"%s\" belong to the roles to drop.",
								  n, (long long) n,
								  get_database_name(MyDatabaseId)),
				 errhint("Cancel them with DROP OWNED BY, or give them to another role with REASSIGN OWNED BY.")));

	if (sj_has_schedules())
	{
		n = jobs_of_roles(&count_schedules_plan,
						  "SELECT pg_catalog.count(*) FROM scheduled_jobs.schedule_rules "
						  "WHERE owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)",
						  stmt->roles, NULL);
		if (n > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop a role that owns scheduled_jobs schedules"),
					 errdetail_plural("%lld schedule in database \"%s\" belongs to the roles to drop.",
									  "%lld schedules in database \"%s\" belong to the roles to drop.",
									  n, (long long) n,
									  get_database_name(MyDatabaseId)),
					 errhint("Drop them with DROP OWNED BY, or give them to another role with REASSIGN OWNED BY.")));
	}

	/* channel grants are like privileges: DROP OWNED BY removes them */
	if (!sj_has_acknowledged_channels())
		return;
	n = jobs_of_roles(&count_grants_plan,
					  "SELECT pg_catalog.count(*) FROM scheduled_jobs.channel_grants "
					  "WHERE consumer::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)",
					  stmt->roles, NULL);
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop a role that is granted scheduled_jobs channels"),
				 errdetail_plural("%lld channel of database \"%s\" is granted to the roles to drop.",
								  "%lld channels of database \"%s\" are granted to the roles to drop.",
								  n, (long long) n,
								  get_database_name(MyDatabaseId)),
				 errhint("Take them back with scheduled_jobs.revoke_channel() or DROP OWNED BY.")));
}

/* Whether rv names scheduled_jobs.jobs (or, with seq, its id sequence). */
static bool
names_jobs(RangeVar *rv, bool seq)
{
	Oid			nspid = get_namespace_oid(SJ_EXTENSION_NAME, true);
	Oid			relid;

	if (!OidIsValid(nspid))
		return false;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) &&
		relid == get_relname_relid(seq ? "jobs_id_seq" : "jobs", nspid);
}

/* Whether a utility statement restarts the job ids. */
static bool
restarts_job_ids(Node *parsetree)
{
	ListCell   *lc;

	if (IsA(parsetree, TruncateStmt) &&
		((TruncateStmt *) parsetree)->restart_seqs)
	{
		foreach(lc, ((TruncateStmt *) parsetree)->relations)
		{
			if (names_jobs(lfirst_node(RangeVar, lc), false))
				return true;
		}
	}
	else if (IsA(parsetree, AlterSeqStmt))
	{
		foreach(lc, ((AlterSeqStmt *) parsetree)->options)
		{
			if (strcmp(lfirst_node(DefElem, lc)->defname, "restart") == 0)
				return names_jobs(((AlterSeqStmt *) parsetree)->sequence,
								  true);
		}
	}
	return false;
}

static void
fix_job_ids(void)
{
	bool		found;

	(void) sj_run_as_extension_owner(&fix_ids_plan, fix_ids_sql, 0, NULL, NULL,
									 NULL, &found);
}

/* CREATE EXTENSION in a database that will get no scheduler: say so now. */
static void
warn_if_no_slot(void)
{
	if (sj_db_slot_available(MyDatabaseId))
		return;
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("scheduled_jobs will not run jobs in database \"%s\"",
					get_database_name(MyDatabaseId)),
			 errdetail("All %d slots of scheduled_jobs.max_databases are taken by databases with the extension.",
					   SjShmem->max_databases),
			 errhint("Raise scheduled_jobs.max_databases and restart the server, or drop the extension where it is not used.")));
}

/*
 * ALTER DATABASE ... SET name or RESET ALL: the settings of a worker may
 * change.
 */
static bool
sets_paused(AlterDatabaseSetStmt *stmt)
{
	const char *name = stmt->setstmt->name;

	return name == NULL || strcmp(name, "scheduled_jobs.paused") == 0;
}

static void
sj_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	char	   *created_db = NULL;
	bool		fix_ids = !creating_extension && restarts_job_ids(parsetree);

	/* DDL in this transaction must find the jobs table closed */
	sj_insert_close();

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
		case T_AlterExtensionStmt:

			/*
			 * ALTER EXTENSION ... UPDATE changes the tables the workers use:
			 * they stop until it commits or rolls back (running jobs are
			 * stopped uncharged, as for any DDL hold), instead of waiting for
			 * its locks while holding others it needs (a deadlock), and start
			 * again on the new version.
			 */
			if (strcmp(((AlterExtensionStmt *) parsetree)->extname,
					   SJ_EXTENSION_NAME) == 0)
				sj_hold_database(MyDatabaseId);
			break;
		case T_CreateExtensionStmt:
			if (strcmp(((CreateExtensionStmt *) parsetree)->extname,
					   SJ_EXTENSION_NAME) == 0)
			{
				warn_if_no_slot();
				sj_kick_launcher_at_commit(MyDatabaseId);
			}
			break;
		case T_AlterDatabaseSetStmt:
			if (sets_paused((AlterDatabaseSetStmt *) parsetree))
			{
				Oid			dboid =
				get_database_oid(((AlterDatabaseSetStmt *) parsetree)->dbname,
								 true);

				if (OidIsValid(dboid))
					sj_wake_database_at_commit(dboid);
			}
			break;
		case T_DropRoleStmt:
			check_drop_role((DropRoleStmt *) parsetree);
			break;
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION ||
				((DropStmt *) parsetree)->removeType == OBJECT_SCHEMA)
				sj_wake_scheduler_any_at_commit();
			break;
		case T_CopyStmt:

			/*
			 * COPY into the jobs (pg_restore): rows that no function wrote,
			 * due at any time; the claims must read from -infinity.
			 */
			if (((CopyStmt *) parsetree)->is_from &&
				((CopyStmt *) parsetree)->relation != NULL &&
				names_jobs(((CopyStmt *) parsetree)->relation, false))
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

	if (fix_ids)
		fix_job_ids();
	else if (IsA(parsetree, TransactionStmt) &&
			 ((TransactionStmt *) parsetree)->kind ==
			 TRANS_STMT_COMMIT_PREPARED)
	{
		/*
		 * committed: wake the scheduler, or start one if this made the
		 * extension
		 */
		bool		has_ext = OidIsValid(get_extension_oid(SJ_EXTENSION_NAME,
														   true));

		if (has_ext && SjShmem != NULL)
			sj_wake_database_now(MyDatabaseId, true);
	}
	else if (IsA(parsetree, DropOwnedStmt))
	{
		List	   *roles = ((DropOwnedStmt *) parsetree)->roles;

		/* their schedules first, so that no cancel below makes a next run */
		if (sj_has_schedules())
		{
			(void) jobs_of_roles(&drop_schedules_plan,
								 "WITH d AS (DELETE FROM scheduled_jobs.schedule_rules "
								 "  WHERE owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) RETURNING 1) "
								 "SELECT pg_catalog.count(*) FROM d",
								 roles, NULL);
			cancel_jobs_of_roles(roles);
		}
		else
			(void) jobs_of_roles(&cancel_owned_plan_0_3,
								 SJ_CANCEL_JOBS_SQL_0_3(OWNED_BY_ROLES), roles,
								 NULL);
		if (sj_has_acknowledged_channels())
			(void) jobs_of_roles(&drop_grants_plan,
								 "WITH d AS (DELETE FROM scheduled_jobs.channel_grants "
								 "  WHERE consumer::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) RETURNING 1) "
								 "SELECT pg_catalog.count(*) FROM d",
								 ((DropOwnedStmt *) parsetree)->roles, NULL);
	}
	else if (IsA(parsetree, ReassignOwnedStmt))
	{
		(void) jobs_of_roles(&reassign_owned_plan,
							 "WITH u AS (UPDATE scheduled_jobs.jobs SET owner = $2 "
							 "  WHERE owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) RETURNING 1) "
							 "SELECT pg_catalog.count(*) FROM u",
							 ((ReassignOwnedStmt *) parsetree)->roles,
							 ((ReassignOwnedStmt *) parsetree)->newrole);
		if (sj_has_schedules() &&
			jobs_of_roles(&reassign_clash_plan,
						  "SELECT pg_catalog.count(*) FROM scheduled_jobs.schedule_rules a "
						  "JOIN scheduled_jobs.schedule_rules b ON b.name OPERATOR(pg_catalog.=) a.name "
						  "  AND b.owner::pg_catalog.oid OPERATOR(pg_catalog.=) $2 "
						  "WHERE a.owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) "
						  "  AND a.owner::pg_catalog.oid OPERATOR(pg_catalog.<>) $2",
						  ((ReassignOwnedStmt *) parsetree)->roles,
						  ((ReassignOwnedStmt *) parsetree)->newrole) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("cannot reassign scheduled_jobs schedules: the new owner has schedules of the same names"),
					 errdetail("Schedule names are unique per owner."),
					 errhint("Drop one of each pair of schedules with drop_schedule() first.")));
		if (sj_has_schedules())
			(void) jobs_of_roles(&reassign_schedules_plan,
								 "WITH u AS (UPDATE scheduled_jobs.schedule_rules SET owner = $2 "
								 "  WHERE owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) RETURNING 1) "
								 "SELECT pg_catalog.count(*) FROM u",
								 ((ReassignOwnedStmt *) parsetree)->roles,
								 ((ReassignOwnedStmt *) parsetree)->newrole);
	}

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
