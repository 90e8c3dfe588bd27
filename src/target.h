/*
 * target.h
 *		Checking the target of a job when it is scheduled.
 */
#ifndef SJ_TARGET_H
#define SJ_TARGET_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

extern char *sj_check_procedure(const char *procedure);
extern void sj_check_channel(const char *channel, const char *job_key,
							 Jsonb *payload, bool occurrence);
extern int32 sj_check_timeout(Interval *timeout);

#endif							/* SJ_TARGET_H */
