\echo Use "ALTER EXTENSION scheduled_jobs UPDATE TO '0.4.0'" to load this file. \quit

-- 0.4.0: recurring schedules.
