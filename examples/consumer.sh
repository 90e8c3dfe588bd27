#!/usr/bin/env bash
# A consumer of an acknowledged scheduled_jobs channel in psql and shell.
#
#   bash examples/consumer.sh CHANNEL OUTBOX      (connection: PG* variables)
#
# Each round is one psql statement, in one transaction: claim a batch,
# write each job to the OUTBOX table (job_id bigint, payload jsonb) only if
# ack() says the job is ours. So every job lands in OUTBOX exactly once, even
# if the connection drops in the middle (the round rolls back, the jobs are
# delivered again). A round that finds nothing waits a second; a session
# that fails (a dropped connection) is started again. UNTIL_IDLE=1 stops
# once the channel has no job left.
# (psql cannot wait for a NOTIFY between statements: this one polls, once a
# second when idle. For push, see consumer.py and consumer.js.)
set -u
channel=$1 outbox=$2 batch=${BATCH:-10} lease=${LEASE:-1 minute}

# one session: up to 50 rounds, a pause after a round that found nothing
rounds() {
	local i
	for i in $(seq 50); do
		cat <<SQL
WITH done AS (
	INSERT INTO $outbox (job_id, payload)
	SELECT c.id, c.envelope->'payload'
	FROM scheduled_jobs.claim(:'channel', :batch, :'lease') c
	WHERE scheduled_jobs.ack(c.id)
	RETURNING 1)
SELECT count(*) AS n FROM done \\gset
SELECT pg_sleep(CASE WHEN :n = 0 THEN 1 ELSE 0 END);
SQL
	done
}

left() {
	psql -X -At -v channel="$channel" 2>/dev/null <<'SQL'
SELECT count(*) FROM scheduled_jobs.jobs WHERE channel = :'channel';
SQL
}

while :; do
	rounds | psql -X -q -At -v ON_ERROR_STOP=1 -v channel="$channel" -v batch="$batch" \
		-v lease="$lease" >/dev/null 2>&1 || sleep 1
	if [ "${UNTIL_IDLE:-0}" = 1 ] && [ "$(left)" = 0 ]; then
		exit 0
	fi
done
