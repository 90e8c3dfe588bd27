/*
 * envelope.h
 *		The JSON envelope a NOTIFY job is sent as, and its size limit.
 */
#ifndef SJ_ENVELOPE_H
#define SJ_ENVELOPE_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/*
 * NOTIFY's own limits (commands/async.c): payload < BLCKSZ - NAMEDATALEN - 128
 */
#define SJ_NOTIFY_PAYLOAD_MAX	(BLCKSZ - NAMEDATALEN - 128 - 1)
#define SJ_CHANNEL_MAX			(NAMEDATALEN - 1)

extern void sj_build_envelope(StringInfo buf, int64 id, const char *job_key,
							  TimestampTz run_at, int32 delivery,
							  TimestampTz deadline, const char *payload);
extern void sj_build_occurrence_envelope(StringInfo buf, int64 id,
										 const char *job_key,
										 TimestampTz run_at, int32 delivery,
										 TimestampTz deadline,
										 const char *schedule,
										 TimestampTz occurrence_at,
										 int64 missed, const char *payload);
extern Jsonb *sj_envelope_jsonb(int64 id, const char *job_key,
								TimestampTz run_at, int32 delivery,
								TimestampTz deadline, const char *schedule,
								TimestampTz occurrence_at, int64 missed,
								Jsonb *payload);
extern void sj_build_dead_letter_envelope(StringInfo buf, int64 id,
										  const char *channel,
										  const char *job_key,
										  int32 deliveries);
extern Size sj_envelope_max_size(const char *job_key, Size payload_len,
								 bool occurrence);

/* Longest schedule name. */
#define SJ_SCHEDULE_NAME_MAX	(NAMEDATALEN - 1)

#endif							/* SJ_ENVELOPE_H */
