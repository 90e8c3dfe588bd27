/*
 * envelope.c
 *		The JSON envelope of a NOTIFY job:
 *			{"id": 17, "job_key": "order:42:cancel", "run_at": "...", "payload": {...}}
 *
 * Built in C at fire time; schedule_job() checks with sj_envelope_max_size()
 * that the largest envelope the job can ever produce (any id, any run_at)
 * fits in NOTIFY's payload limit, so an accepted job can always be sent.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/datetime.h"
#include "utils/json.h"

#include "envelope.h"

/* Longest id: "-9223372036854775808". */
#define SJ_MAX_ID_LEN 20
/* Longest JSON timestamptz, e.g. "294276-12-31T23:59:59.999999+15:59:59" BC. */
#define SJ_MAX_TS_LEN 42

static const char env_id[] = "{\"id\": ";
static const char env_key[] = ", \"job_key\": ";
static const char env_run_at[] = ", \"run_at\": \"";
static const char env_payload[] = "\", \"payload\": ";
static const char env_end[] = "}";

/*
 * sj_build_envelope
 *		Append the envelope of a job to buf.  payload is the jsonb's text.
 */
void
sj_build_envelope(StringInfo buf, int64 id, const char *job_key,
				  TimestampTz run_at, const char *payload)
{
	char		ts[MAXDATELEN + 1];

	appendStringInfo(buf, "%s" INT64_FORMAT "%s", env_id, id, env_key);
	if (job_key)
		escape_json(buf, job_key);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, env_run_at);
	appendStringInfoString(buf, JsonEncodeDateTime(ts, TimestampTzGetDatum(run_at),
												   TIMESTAMPTZOID, NULL));
	appendStringInfoString(buf, env_payload);
	appendStringInfoString(buf, payload);
	appendStringInfoString(buf, env_end);
}

/*
 * sj_envelope_max_size
 *		Size in bytes of the largest envelope of a job with this job_key and
 *		payload text length.
 */
Size
sj_envelope_max_size(const char *job_key, Size payload_len)
{
	Size		size;

	size = sizeof(env_id) - 1 + SJ_MAX_ID_LEN + sizeof(env_key) - 1 +
		sizeof(env_run_at) - 1 + SJ_MAX_TS_LEN + sizeof(env_payload) - 1 +
		payload_len + sizeof(env_end) - 1;
	if (job_key)
	{
		StringInfoData k;

		initStringInfo(&k);
		escape_json(&k, job_key);
		size += k.len;
		pfree(k.data);
	}
	else
		size += 4;
	return size;
}
