/*
 * scheduler.h
 *		The scheduler: one background worker per database with the extension.
 */
#ifndef SJ_SCHEDULER_H
#define SJ_SCHEDULER_H

#include "fmgr.h"

extern PGDLLEXPORT void sj_scheduler_main(Datum main_arg);

#endif							/* SJ_SCHEDULER_H */
