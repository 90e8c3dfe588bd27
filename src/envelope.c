/*
 * envelope.c
 *		The JSON envelope of a NOTIFY job:
 *			{"id": 17, "job_key": "order:42:cancel", "run_at": "...", "payload": {...}}
 *		on an acknowledged channel, with its delivery and its deadline:
 *			{"id": 17, "job_key": null, "run_at": "...", "delivery": 2,
 *			 "deadline": "...", "payload": {...}}
 *		an occurrence of a recurring schedule adds (before the payload) its
 *		schedule, nominal instant, and the occurrences missed before it that
 *		it stands for (catch_up latest):
 *			"schedule": "nightly", "occurrence": "...", "missed": 0,
 *		and the one a dead letter channel gets:
 *			{"dead_letter": {"id": 17, "channel": "mail", "job_key": null,
 *			 "deliveries": 10}}
 *
 * Built in C at fire time as text, and by claim() and unacknowledged() as
 * jsonb straight from the job's columns (sj_envelope_jsonb), with the same
 * keys: both are one format, and a consumer's rows cost no JSON parsing;
 * schedule_job() checks with sj_envelope_max_size() that the largest
 * envelope the job can ever produce (any id, run_at, delivery or deadline,
 * whether its channel is acknowledged or not) fits in NOTIFY's payload
 * limit, so an accepted job can always be sent.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "envelope.h"

/* Longest id: "-9223372036854775808". */
#define SJ_MAX_ID_LEN 20
/* Longest JSON timestamptz, e.g. "294276-12-31T23:59:59.999999+15:59:59" BC. */
#define SJ_MAX_TS_LEN 42

static const char env_id[] = "{\"id\": ";
static const char env_key[] = ", \"job_key\": ";

/* Longest delivery count: "-2147483648". */
#define SJ_MAX_DELIVERY_LEN 11

static const char env_run_at[] = ", \"run_at\": \"";
static const char env_delivery[] = "\", \"delivery\": ";
static const char env_deadline[] = ", \"deadline\": \"";
static const char env_payload[] = "\", \"payload\": ";
static const char env_schedule[] = ", \"schedule\": ";
static const char env_occurrence[] = ", \"occurrence\": \"";
static const char env_missed[] = "\", \"missed\": ";
static const char env_payload_after_missed[] = ", \"payload\": ";

/* Longest missed count: "-9223372036854775808". */
#define SJ_MAX_MISSED_LEN 20
/* Longest schedule name (63 bytes), quoted and escaped (\u00XX each). */
#define SJ_MAX_SCHEDULE_JSON_LEN (2 + 6 * 63)
static const char env_end[] = "}";

/* Append a timestamptz as JSON does, without quotes. */
static void
append_ts(StringInfo buf, TimestampTz t)
{
	char		ts[MAXDATELEN + 1];

	appendStringInfoString(buf,
						   JsonEncodeDateTime(ts, TimestampTzGetDatum(t),
											  TIMESTAMPTZOID, NULL));
}

/*
 * sj_build_envelope
 *		Append the envelope of a job to buf.  payload is the jsonb's text;
 *		delivery 0 for a plain channel, else the delivery and its deadline.
 */
void
sj_build_envelope(StringInfo buf, int64 id, const char *job_key,
				  TimestampTz run_at, int32 delivery, TimestampTz deadline,
				  const char *payload)
{
	sj_build_occurrence_envelope(buf, id, job_key, run_at, delivery, deadline,
								 NULL, 0, 0, payload);
}

/*
 * sj_build_occurrence_envelope
 *		The same, for an occurrence of the schedule named schedule (NULL: a
 *		job of no schedule) at its nominal instant occurrence_at.
 */
void
sj_build_occurrence_envelope(StringInfo buf, int64 id, const char *job_key,
							 TimestampTz run_at, int32 delivery,
							 TimestampTz deadline, const char *schedule,
							 TimestampTz occurrence_at, int64 missed,
							 const char *payload)
{
	appendStringInfo(buf, "%s" INT64_FORMAT "%s", env_id, id, env_key);
	if (job_key)
		escape_json(buf, job_key);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, env_run_at);
	append_ts(buf, run_at);
	if (delivery > 0)
	{
		appendStringInfo(buf, "%s%d%s", env_delivery, delivery, env_deadline);
		append_ts(buf, deadline);
	}
	if (schedule)
	{
		appendStringInfoString(buf, "\"");
		appendStringInfoString(buf, env_schedule);
		escape_json(buf, schedule);
		appendStringInfoString(buf, env_occurrence);
		append_ts(buf, occurrence_at);
		appendStringInfo(buf, "%s" INT64_FORMAT "%s", env_missed, missed,
						 env_payload_after_missed);
	}
	else
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
sj_envelope_max_size(const char *job_key, Size payload_len, bool occurrence)
{
	Size		size;

	size = sizeof(env_id) - 1 + SJ_MAX_ID_LEN + sizeof(env_key) - 1 +
		sizeof(env_run_at) - 1 + SJ_MAX_TS_LEN +
		sizeof(env_delivery) - 1 + SJ_MAX_DELIVERY_LEN +
		sizeof(env_deadline) - 1 + SJ_MAX_TS_LEN +
		sizeof(env_payload) - 1 + payload_len + sizeof(env_end) - 1;
	if (occurrence)
		size += sizeof(env_schedule) - 1 + SJ_MAX_SCHEDULE_JSON_LEN +
			sizeof(env_occurrence) - 1 + SJ_MAX_TS_LEN +
			sizeof(env_missed) - 1 + SJ_MAX_MISSED_LEN;
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

/*
 * sj_build_dead_letter_envelope
 *		Append the envelope of the NOTIFY that says job id became a dead
 *		letter.  Small whatever the job: it names the job, the consumer reads
 *		it from job_history.
 */
void
sj_build_dead_letter_envelope(StringInfo buf, int64 id, const char *channel,
							  const char *job_key, int32 deliveries)
{
	appendStringInfo(buf, "{\"dead_letter\": {\"id\": " INT64_FORMAT
					 ", \"channel\": ", id);
	escape_json(buf, channel);
	appendStringInfoString(buf, ", \"job_key\": ");
	if (job_key)
		escape_json(buf, job_key);
	else
		appendStringInfoString(buf, "null");
	appendStringInfo(buf, ", \"deliveries\": %d}}", deliveries);
}

/* Push a key, or a string value (NULL: null), while building a jsonb. */
static void
push_string(JsonbParseState **state, JsonbIteratorToken seq, const char *s)
{
	JsonbValue	v;

	if (s == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) s;
		v.val.string.len = strlen(s);
	}
	(void) pushJsonbValue(state, seq, &v);
}

/* Push a key and an integer value. */
static void
push_int(JsonbParseState **state, const char *key, int64 n)
{
	JsonbValue	v;

	push_string(state, WJB_KEY, key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

/* Push a key and a timestamptz value, as JSON writes it. */
static void
push_ts(JsonbParseState **state, const char *key, TimestampTz t)
{
	push_string(state, WJB_KEY, key);
	push_string(state, WJB_VALUE,
				JsonEncodeDateTime(NULL, TimestampTzGetDatum(t), TIMESTAMPTZOID,
								   NULL));
}

/*
 * sj_envelope_jsonb
 *		The envelope of sj_build_occurrence_envelope() as jsonb, without
 *		going through text: the same keys and values, the payload copied as
 *		it is.
 */
Jsonb *
sj_envelope_jsonb(int64 id, const char *job_key, TimestampTz run_at,
				  int32 delivery, TimestampTz deadline, const char *schedule,
				  TimestampTz occurrence_at, int64 missed, Jsonb *payload)
{
	JsonbParseState *state = NULL;
	JsonbValue	v;
	JsonbValue *res;

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_int(&state, "id", id);
	push_string(&state, WJB_KEY, "job_key");
	push_string(&state, WJB_VALUE, job_key);
	push_ts(&state, "run_at", run_at);
	if (delivery > 0)
	{
		push_int(&state, "delivery", delivery);
		push_ts(&state, "deadline", deadline);
	}
	if (schedule)
	{
		push_string(&state, WJB_KEY, "schedule");
		push_string(&state, WJB_VALUE, schedule);
		push_ts(&state, "occurrence", occurrence_at);
		push_int(&state, "missed", missed);
	}
	push_string(&state, WJB_KEY, "payload");
	v.type = jbvBinary;
	v.val.binary.data = &payload->root;
	v.val.binary.len = VARSIZE(payload) - VARHDRSZ;
	(void) pushJsonbValue(&state, WJB_VALUE, &v);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}
