/*
 * launcher.h
 *		The launcher: one static background worker that starts a scheduler in
 *		every database that has the extension.
 */
#ifndef SJ_LAUNCHER_H
#define SJ_LAUNCHER_H

#include "fmgr.h"

extern void sj_launcher_register(void);
extern PGDLLEXPORT void sj_launcher_main(Datum main_arg);

#endif							/* SJ_LAUNCHER_H */
