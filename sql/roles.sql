--
-- Pending jobs belong to their owner role like its objects: DROP ROLE refuses,
-- DROP OWNED BY cancels them, REASSIGN OWNED BY hands them over.
--
\set VERBOSITY default
CREATE ROLE sj_roles_a;
CREATE ROLE sj_roles_b;
CREATE ROLE sj_roles_c;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs TO sj_roles_a, sj_roles_b, sj_roles_c;

SET ROLE sj_roles_a;
SELECT scheduled_jobs.schedule_job(now() + interval '1 day', channel => 'roles', job_key => 'roles:a') > 0 AS scheduled;
RESET ROLE;
SET ROLE sj_roles_b;
SELECT scheduled_jobs.schedule_job(now() + interval '1 day', channel => 'roles', job_key => 'roles:b1') > 0 AS scheduled;
SELECT scheduled_jobs.schedule_job(now() + interval '1 day', channel => 'roles', job_key => 'roles:b2') > 0 AS scheduled;
RESET ROLE;

-- invalid: the roles own pending jobs
DROP ROLE sj_roles_a;
DROP ROLE sj_roles_b, sj_roles_c;
-- a role that does not exist is no obstacle to IF EXISTS
DROP ROLE IF EXISTS sj_roles_nosuch;

-- REASSIGN OWNED hands the jobs over
REASSIGN OWNED BY sj_roles_a TO sj_roles_c;
SELECT job_key, owner FROM scheduled_jobs.jobs WHERE channel = 'roles' ORDER BY job_key;

-- DROP OWNED cancels them
DROP OWNED BY sj_roles_b;
SELECT job_key, owner, state FROM scheduled_jobs.job_history WHERE channel = 'roles' ORDER BY job_key;

-- now the roles without jobs can go, once their grants are revoked
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA scheduled_jobs FROM sj_roles_a;
DROP ROLE sj_roles_a, sj_roles_b;
-- invalid: sj_roles_c owns roles:a now
DROP ROLE sj_roles_c;
DROP OWNED BY sj_roles_c;
DROP ROLE sj_roles_c;
SELECT job_key, state FROM scheduled_jobs.job_history WHERE channel = 'roles' ORDER BY job_key;
SELECT count(*) AS pending FROM scheduled_jobs.jobs WHERE channel = 'roles';
DELETE FROM scheduled_jobs.job_history WHERE channel = 'roles';
