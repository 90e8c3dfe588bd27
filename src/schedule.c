/*
 * schedule.c
 *		create_schedule(), drop_schedule(), pause_schedule() and
 *		resume_schedule(): recurring schedules, the SQL side.
 *
 * Like schedule_job() (api.c), the functions check their arguments and the
 * caller's rights as the caller, then write as the extension owner.  A role
 * acts on its own schedules only: the name is unique per owner.  Everything
 * happens in the caller's transaction: rolled back, the old rule and its
 * pending occurrence stay.  The occurrences themselves are materialised by
 * occurrence.c.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "clock.h"
#include "command.h"
#include "cron.h"
#include "current_job.h"
#include "envelope.h"
#include "job.h"
#include "occurrence.h"
#include "owner_sql.h"
#include "target.h"

PG_FUNCTION_INFO_V1(sj_create_schedule);
PG_FUNCTION_INFO_V1(sj_drop_schedule);
PG_FUNCTION_INFO_V1(sj_pause_schedule);
PG_FUNCTION_INFO_V1(sj_resume_schedule);

/* Arguments of create_schedule(), in SQL order. */
enum
{
	ARG_NAME,
	ARG_CRON,
	ARG_EVERY,
	ARG_CHANNEL,
	ARG_PROCEDURE,
	ARG_COMMAND,
	ARG_PAYLOAD,
	ARG_TIME_ZONE,
	ARG_CATCH_UP,
	ARG_OVERLAP,
	ARG_CATCH_UP_LIMIT,
	ARG_START_AT,
	ARG_EXPIRES_AFTER,
	ARG_MAX_ATTEMPTS,
	ARG_TIMEOUT,
	NARGS
};

/*
 * The rule $1..$16 of the caller ($2): inserted, or replacing the rule of
 * the same name (its pending occurrence is withdrawn by the caller).
 */
static const char *const upsert_sql =
"INSERT INTO scheduled_jobs.schedule_rules AS r (name, owner, cron, every, time_zone, "
"  start_at, channel, procedure, payload, max_attempts, timeout_ms, catch_up, "
"  catch_up_limit, overlap, expires_after, command) "
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
"ON CONFLICT ON CONSTRAINT schedule_rules_name DO UPDATE SET "
"  cron = excluded.cron, every = excluded.every, time_zone = excluded.time_zone, "
"  start_at = excluded.start_at, channel = excluded.channel, "
"  procedure = excluded.procedure, payload = excluded.payload, "
"  max_attempts = excluded.max_attempts, timeout_ms = excluded.timeout_ms, "
"  catch_up = excluded.catch_up, catch_up_limit = excluded.catch_up_limit, "
"  overlap = excluded.overlap, expires_after = excluded.expires_after, "
"  command = excluded.command, "
"  job_id = NULL, next_at = NULL, updated_at = pg_catalog.now() "
"RETURNING r.id, r.paused_at";

/*
 * Withdraw the pending occurrences of schedule $1: not those that run right
 * now (locked: they finish, and advance nothing, as the rule no longer
 * names them) nor those delivered on an acknowledged channel (in flight
 * until acknowledged).  They were never fired: no history.
 */
static const char *const withdraw_sql =
"WITH d AS (DELETE FROM scheduled_jobs.jobs "
"  WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
"    SELECT id FROM scheduled_jobs.jobs "
"    WHERE schedule_id OPERATOR(pg_catalog.=) $1 AND due_at IS NULL "
"    FOR UPDATE SKIP LOCKED)) RETURNING 1) "
"SELECT pg_catalog.count(*) FROM d";

/* The caller's ($2) schedule named $1, locked: id, paused_at. */
static const char *const find_sql =
"SELECT id, paused_at FROM scheduled_jobs.schedule_rules "
"WHERE name OPERATOR(pg_catalog.=) $1 AND owner OPERATOR(pg_catalog.=) $2 FOR UPDATE";

static const char *const drop_sql =
"DELETE FROM scheduled_jobs.schedule_rules WHERE id OPERATOR(pg_catalog.=) $1";

static const char *const pause_sql =
"UPDATE scheduled_jobs.schedule_rules SET paused_at = $2, job_id = NULL, next_at = NULL, "
"  updated_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1";

static const char *const resume_sql =
"UPDATE scheduled_jobs.schedule_rules SET paused_at = NULL, updated_at = pg_catalog.now() "
"WHERE id OPERATOR(pg_catalog.=) $1";

static SPIPlanPtr upsert_plan = NULL;
static SPIPlanPtr withdraw_plan = NULL;
static SPIPlanPtr find_plan = NULL;
static SPIPlanPtr drop_plan = NULL;
static SPIPlanPtr pause_plan = NULL;
static SPIPlanPtr resume_plan = NULL;

/* The installed version has schedules (else: say how to get them). */
static void
require_schedules(void)
{
	if (!sj_has_schedules())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("recurring schedules need scheduled_jobs 0.4.0"),
				 errhint("Run ALTER EXTENSION scheduled_jobs UPDATE.")));
}

/* A text argument that must be given, as a C string. */
static char *
required_text(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

static void
check_name(const char *name)
{
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schedule name must not be empty")));
	if (strlen(name) > SJ_SCHEDULE_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schedule name too long"),
				 errdetail("Schedule names are at most %d bytes; this one has %zu.",
						   SJ_SCHEDULE_NAME_MAX, strlen(name))));
}

/* One of the words of a policy argument. */
static const char *
check_word(const char *value, const char *what, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(value, words[i]) == 0)
			return words[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s \"%s\"", what, value),
			 errhint("Give %s '%s', '%s' or '%s'.", what, words[0], words[1],
					 words[2])));
	return NULL;				/* keep the compiler quiet */
}

/* A positive interval, or an error naming it. */
static void
check_positive(Interval *iv, const char *what)
{
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval", what)));
}

/* The first row of find_sql or upsert_sql. */
typedef struct Found
{
	bool		found;
	int64		id;
	TimestampTz paused_at;		/* 0: not paused */
} Found;

static void
read_found(void *arg)
{
	Found	   *f = arg;
	bool		isnull;
	Datum		d;

	f->found = SPI_processed > 0;
	if (!f->found)
		return;
	f->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
					  &isnull);
	f->paused_at = isnull ? 0 : DatumGetTimestampTz(d);
}

/* The caller's schedule of this name, locked. */
static Found
find_schedule(text *name)
{
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		values[2] = {PointerGetDatum(name),
	ObjectIdGetDatum(GetUserId())};
	Found		f = {false, 0, 0};

	sj_owner_execute(&find_plan, find_sql, 2, argtypes, values, NULL, 1,
					 read_found, &f);
	return f;
}

/* Run a statement on schedule id ($1, and $2). */
static void
on_schedule(SPIPlanPtr *plan, const char *sql, int64 id, TimestampTz arg)
{
	Oid			argtypes[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		values[2] = {Int64GetDatum(id), TimestampTzGetDatum(arg)};

	sj_owner_execute(plan, sql, arg ? 2 : 1, argtypes, values, NULL, 0, NULL,
					 NULL);
}

/*
 * create_schedule(name, cron, every, channel, procedure, payload, time_zone,
 *				   catch_up, overlap, catch_up_limit, start_at, expires_after,
 *				   max_attempts, timeout) returns bigint
 */
Datum
sj_create_schedule(PG_FUNCTION_ARGS)
{
	static const char *const catch_ups[] = {"latest", "all", "none", NULL};
	static const char *const overlaps[] = {"wait", "skip", "concurrent", NULL};
	char	   *name;
	char	   *channel = NULL;
	char	   *procedure = NULL;
	char	   *zone;
	const char *catch_up;
	const char *overlap;
	int32		catch_up_limit;
	int32		max_attempts;
	TimestampTz start_at;
	TimestampTz now = sj_now();
	Jsonb	   *payload;
	Oid			argtypes[16] = {TEXTOID, OIDOID, TEXTOID, INTERVALOID, TEXTOID,
		TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID, INT4OID, INT4OID, TEXTOID,
	INT4OID, TEXTOID, INTERVALOID, TEXTOID};
	Datum		values[16];
	char		nulls[16];
	char	   *command = NULL;
	Found		f;

	PreventCommandIfReadOnly("create_schedule()");
	require_schedules();
	memset(nulls, ' ', sizeof(nulls));

	name = required_text(fcinfo, ARG_NAME, "name");
	check_name(name);

	if (PG_ARGISNULL(ARG_CRON) == PG_ARGISNULL(ARG_EVERY))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of cron and every must be given"),
				 errhint("Give cron => '*/5 * * * *' for a cron rule, or every => interval '5 minutes' for a fixed interval.")));
	if (!PG_ARGISNULL(ARG_CRON))
	{
		SjCron		cron;

		sj_cron_parse(text_to_cstring(PG_GETARG_TEXT_PP(ARG_CRON)), &cron);
		nulls[3] = 'n';
	}
	else
	{
		sj_every_check(PG_GETARG_INTERVAL_P(ARG_EVERY));
		nulls[2] = 'n';
	}

	if (!PG_ARGISNULL(ARG_CHANNEL) + !PG_ARGISNULL(ARG_PROCEDURE) +
		!PG_ARGISNULL(ARG_COMMAND) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of channel, procedure and command must be given"),
				 errhint("Give channel => 'name' to fire each occurrence as NOTIFY, procedure => 'schema.name' to CALL it, or command => 'SQL' to run it.")));
	if (PG_ARGISNULL(ARG_PAYLOAD))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payload must not be null"),
				 errhint("Pass '{}' for an empty payload, or 'null'::jsonb for a JSON null.")));
	payload = PG_GETARG_JSONB_P(ARG_PAYLOAD);

	(void) sj_zone_lookup(PG_ARGISNULL(ARG_TIME_ZONE) ? NULL :
						  text_to_cstring(PG_GETARG_TEXT_PP(ARG_TIME_ZONE)),
						  &zone);

	catch_up = check_word(required_text(fcinfo, ARG_CATCH_UP, "catch_up"),
						  "catch_up", catch_ups);
	overlap = check_word(required_text(fcinfo, ARG_OVERLAP, "overlap"),
						 "overlap", overlaps);
	if (PG_ARGISNULL(ARG_CATCH_UP_LIMIT) ||
		(catch_up_limit = PG_GETARG_INT32(ARG_CATCH_UP_LIMIT)) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("catch_up_limit must be at least 1")));

	start_at = PG_ARGISNULL(ARG_START_AT) ? now :
		PG_GETARG_TIMESTAMPTZ(ARG_START_AT);
	if (TIMESTAMP_NOT_FINITE(start_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_at must be a finite timestamp")));

	if (!PG_ARGISNULL(ARG_EXPIRES_AFTER))
		check_positive(PG_GETARG_INTERVAL_P(ARG_EXPIRES_AFTER), "expires_after");
	else
		nulls[14] = 'n';

	if (PG_ARGISNULL(ARG_MAX_ATTEMPTS) ||
		(max_attempts = PG_GETARG_INT32(ARG_MAX_ATTEMPTS)) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_attempts must be at least 1")));
	if (PG_ARGISNULL(ARG_TIMEOUT))
		nulls[10] = 'n';
	else
		values[10] = Int32GetDatum(sj_check_timeout(PG_GETARG_INTERVAL_P(ARG_TIMEOUT)));

	if (!PG_ARGISNULL(ARG_CHANNEL))
	{
		channel = text_to_cstring(PG_GETARG_TEXT_PP(ARG_CHANNEL));
		sj_check_channel(channel, NULL, payload, true);
		if (strcmp(overlap, "wait") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("overlap applies to procedure schedules only"),
					 errdetail("A NOTIFY occurrence is done when it is sent; the next one never waits for it.")));
	}
	else
		nulls[6] = 'n';
	if (!PG_ARGISNULL(ARG_PROCEDURE))
		procedure = sj_check_procedure(text_to_cstring(PG_GETARG_TEXT_PP(ARG_PROCEDURE)));
	else if (!PG_ARGISNULL(ARG_COMMAND))
	{
		command = text_to_cstring(PG_GETARG_TEXT_PP(ARG_COMMAND));
		(void) sj_check_command(command);
	}
	if (procedure == NULL)
		nulls[7] = 'n';
	if (command == NULL)
		nulls[15] = 'n';

	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = PG_ARGISNULL(ARG_CRON) ? (Datum) 0 : PG_GETARG_DATUM(ARG_CRON);
	values[3] = PG_ARGISNULL(ARG_EVERY) ? (Datum) 0 : PG_GETARG_DATUM(ARG_EVERY);
	values[4] = CStringGetTextDatum(zone);
	values[5] = TimestampTzGetDatum(start_at);
	values[6] = channel ? CStringGetTextDatum(channel) : (Datum) 0;
	values[7] = procedure ? CStringGetTextDatum(procedure) : (Datum) 0;
	values[8] = JsonbPGetDatum(payload);
	values[9] = Int32GetDatum(max_attempts);
	values[11] = CStringGetTextDatum(catch_up);
	values[12] = Int32GetDatum(catch_up_limit);
	values[13] = CStringGetTextDatum(overlap);
	values[14] = PG_ARGISNULL(ARG_EXPIRES_AFTER) ? (Datum) 0 :
		PG_GETARG_DATUM(ARG_EXPIRES_AFTER);
	values[15] = command ? CStringGetTextDatum(command) : (Datum) 0;

	sj_owner_execute(&upsert_plan, upsert_sql, 16, argtypes, values, nulls, 1,
					 read_found, &f);
	on_schedule(&withdraw_plan, withdraw_sql, f.id, 0);
	if (f.paused_at == 0)
		(void) sj_start_schedule(f.id, now, 0, true);
	sj_note_jobs_changed();
	PG_RETURN_INT64(f.id);
}

/* drop_schedule(name text) returns boolean */
Datum
sj_drop_schedule(PG_FUNCTION_ARGS)
{
	Found		f;

	PreventCommandIfReadOnly("drop_schedule()");
	require_schedules();
	f = find_schedule(PG_GETARG_TEXT_PP(0));
	if (!f.found)
		PG_RETURN_BOOL(false);
	on_schedule(&withdraw_plan, withdraw_sql, f.id, 0);
	on_schedule(&drop_plan, drop_sql, f.id, 0);
	sj_note_jobs_changed();
	PG_RETURN_BOOL(true);
}

/* pause_schedule(name text) returns boolean */
Datum
sj_pause_schedule(PG_FUNCTION_ARGS)
{
	Found		f;

	PreventCommandIfReadOnly("pause_schedule()");
	require_schedules();
	f = find_schedule(PG_GETARG_TEXT_PP(0));
	if (!f.found)
		PG_RETURN_BOOL(false);
	if (f.paused_at == 0)
	{
		on_schedule(&withdraw_plan, withdraw_sql, f.id, 0);
		on_schedule(&pause_plan, pause_sql, f.id, sj_now());
		sj_note_jobs_changed();
	}
	PG_RETURN_BOOL(true);
}

/* resume_schedule(name text, catch_up boolean) returns boolean */
Datum
sj_resume_schedule(PG_FUNCTION_ARGS)
{
	Found		f;
	bool		catch_up = PG_GETARG_BOOL(1);

	PreventCommandIfReadOnly("resume_schedule()");
	require_schedules();
	f = find_schedule(PG_GETARG_TEXT_PP(0));
	if (!f.found)
		PG_RETURN_BOOL(false);
	if (f.paused_at != 0)
	{
		on_schedule(&resume_plan, resume_sql, f.id, 0);

		/*
		 * With catch_up, the first occurrence after the pause began is due at
		 * once, and the schedule's catch_up policy decides the rest when it
		 * fires; without, the pause's occurrences are counted as skipped.
		 */
		if (catch_up)
			(void) sj_start_schedule(f.id, f.paused_at, 0, true);
		else
			(void) sj_start_schedule(f.id, sj_now(), f.paused_at, true);
		sj_note_jobs_changed();
	}
	PG_RETURN_BOOL(true);
}
