/*
 * dispatch.h
 *		The scheduler's side of procedure jobs.
 */
#ifndef SJ_DISPATCH_H
#define SJ_DISPATCH_H

#include "utils/timestamp.h"

extern void sj_dispatch_start(int dbslot);
extern TimestampTz sj_dispatch_procedure_jobs(int dbslot, TimestampTz from);

#endif							/* SJ_DISPATCH_H */
