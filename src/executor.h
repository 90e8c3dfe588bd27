/*
 * executor.h
 *		The executors, which run procedure jobs.
 */
#ifndef SJ_EXECUTOR_H
#define SJ_EXECUTOR_H

#include "fmgr.h"

extern PGDLLEXPORT void sj_executor_main(Datum main_arg);

#endif							/* SJ_EXECUTOR_H */
