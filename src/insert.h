/*
 * insert.h
 *		The fast path of schedule_job(): keyless jobs inserted straight into
 *		the heap and indexes of scheduled_jobs.jobs.
 */
#ifndef SJ_INSERT_H
#define SJ_INSERT_H

#include "postgres.h"

extern void sj_insert_init(void);
extern int64 sj_insert_job(Datum *values, bool *nulls);
extern void sj_insert_close(void);

#endif							/* SJ_INSERT_H */
