/*
 * scheduled_jobs.c
 *		Module entry point: _PG_init only dispatches to the subsystems.
 *
 * See README.md for what the extension does and src/README.md for how.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "guc.h"
#include "insert.h"
#include "launcher.h"
#include "shmem.h"
#include "utility.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Set up GUCs, shared memory, hooks and the launcher.  The workers need
 *		shared memory, so the library must be in shared_preload_libraries.
 */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("scheduled_jobs must be loaded via shared_preload_libraries"),
				 errhint("Add scheduled_jobs to shared_preload_libraries in postgresql.conf and restart the server.")));

	sj_guc_init();
	sj_shmem_init();
	sj_insert_init();
	sj_utility_init();
	sj_launcher_register();
}
