/*
 * command.h
 *		Command jobs: checking their SQL text when scheduled, and running a
 *		command that cannot run inside a transaction block.
 */
#ifndef SJ_COMMAND_H
#define SJ_COMMAND_H

extern bool sj_check_command(const char *command);
extern ErrorData *sj_run_command_outside(const char *command, Oid owner,
										 int timeout_ms, MemoryContext mcxt);

#endif							/* SJ_COMMAND_H */
