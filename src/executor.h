/*
 * executor.h
 *		Executors: the workers that CALL procedure jobs.
 */
#ifndef SJ_EXECUTOR_H
#define SJ_EXECUTOR_H

#include "fmgr.h"
#include "utils/timestamp.h"

extern void sj_forget_executor_reservations(int dbslot);
extern TimestampTz sj_dispatch_procedure_jobs(int dbslot);
extern PGDLLEXPORT void sj_executor_main(Datum main_arg);

#endif							/* SJ_EXECUTOR_H */
