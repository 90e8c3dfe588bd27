\echo Use "ALTER EXTENSION scheduled_jobs UPDATE TO '0.4.0'" to load this file. \quit

-- 0.4.0: recurring schedules.

-- Recurrence rules (0.4.0)
-- Pure functions of their arguments (and of TimeZone when time_zone is
-- NULL): STABLE, executable by everyone.
CREATE FUNCTION scheduled_jobs.next_occurrences(cron text, time_zone text DEFAULT NULL,
	after timestamptz DEFAULT pg_catalog.now(), n integer DEFAULT 10)
RETURNS SETOF timestamptz
LANGUAGE C STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'sj_next_occurrences_cron';
COMMENT ON FUNCTION scheduled_jobs.next_occurrences(text, text, timestamptz, integer) IS
	'the first n instants after "after" that a cron expression gives on the wall clock of time_zone (NULL: the session''s TimeZone)';

CREATE FUNCTION scheduled_jobs.next_occurrences(every interval, time_zone text DEFAULT NULL,
	after timestamptz DEFAULT pg_catalog.now(), n integer DEFAULT 10, start timestamptz DEFAULT NULL)
RETURNS SETOF timestamptz
LANGUAGE C STABLE PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'sj_next_occurrences_every';
COMMENT ON FUNCTION scheduled_jobs.next_occurrences(interval, text, timestamptz, integer, timestamptz) IS
	'the first n instants start + k * every (k >= 0; start NULL: after) after "after", added as timestamptz + interval in time_zone (NULL: the session''s TimeZone)';

GRANT EXECUTE ON FUNCTION
	scheduled_jobs.next_occurrences(text, text, timestamptz, integer),
	scheduled_jobs.next_occurrences(interval, text, timestamptz, integer, timestamptz)
TO PUBLIC;
