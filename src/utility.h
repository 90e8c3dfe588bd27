/*
 * utility.h
 *		ProcessUtility hook: keeps workers out of the way of DDL on
 *		databases, and starts or stops schedulers with CREATE and DROP
 *		EXTENSION.
 */
#ifndef SJ_UTILITY_H
#define SJ_UTILITY_H

extern void sj_utility_init(void);

#endif							/* SJ_UTILITY_H */
