#!/usr/bin/env node
// A consumer of an acknowledged scheduled_jobs channel (Node, npm's `pg`).
//
//   npm install pg
//   node examples/consumer.js --outbox app.mail_outbox event_reminders
//   (connection from the PG* environment variables)
//
// The same protocol as examples/consumer.py: on every (re)connect LISTEN,
// then claim what is pending, then claim again on every notification (and
// every second). Each job is handled in one transaction with its ack(), so
// it is handled exactly once however often the connection drops; a dropped
// connection is retried with a growing delay.
'use strict';

const { Client } = require('pg');

function parseArgs(argv) {
  const args = { outbox: null, batch: 10, lease: '1 minute', untilIdle: false,
    applicationName: 'scheduled_jobs consumer', channel: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--outbox') args.outbox = argv[++i];
    else if (a === '--batch') args.batch = parseInt(argv[++i], 10);
    else if (a === '--lease') args.lease = argv[++i];
    else if (a === '--application-name') args.applicationName = argv[++i];
    else if (a === '--until-idle') args.untilIdle = true;
    else args.channel = a;
  }
  if (!args.channel) {
    console.error('usage: consumer.js [--outbox schema.table] [--batch N] [--lease INTERVAL] [--until-idle] channel');
    process.exit(2);
  }
  return args;
}

function quoteIdent(name) {
  return name.split('.').map((p) => '"' + p.replace(/"/g, '""') + '"').join('.');
}

// The job's effect and its ack, in one transaction.
async function handle(client, id, envelope, outbox) {
  await client.query('BEGIN');
  try {
    if (outbox) {
      await client.query(`INSERT INTO ${quoteIdent(outbox)} (job_id, payload) VALUES ($1, $2)`,
        [id, JSON.stringify(envelope.payload)]);
    } else {
      console.log(JSON.stringify(envelope));
    }
    const r = await client.query('SELECT scheduled_jobs.ack($1) AS acked', [id]);
    // false: another consumer acknowledged it first; undo our effect
    await client.query(r.rows[0].acked ? 'COMMIT' : 'ROLLBACK');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

// Claim and handle jobs until none is left.
async function drain(client, args) {
  for (;;) {
    const r = await client.query(
      'SELECT id, envelope FROM scheduled_jobs.claim($1, $2, $3::interval)',
      [args.channel, args.batch, args.lease]);
    for (const row of r.rows) await handle(client, row.id, row.envelope, args.outbox);
    if (r.rows.length < args.batch) return;
  }
}

async function consume(args, connected) {
  const client = new Client({ application_name: args.applicationName });
  let wake = null;
  let lost = null;
  client.on('notification', () => { if (wake) wake(); });
  client.on('error', (e) => { lost = e; if (wake) wake(); });
  await client.connect();
  try {
    await client.query(`LISTEN ${quoteIdent(args.channel)}`);
    connected();
    for (;;) {
      await drain(client, args);
      if (args.untilIdle) {
        const r = await client.query(
          'SELECT count(*)::int AS n FROM scheduled_jobs.jobs WHERE channel = $1', [args.channel]);
        if (r.rows[0].n === 0) return;
      }
      // a notification, or a second without one: claim again
      await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 1000); });
      wake = null;
      if (lost) throw lost;
    }
  } finally {
    client.removeAllListeners('error');
    client.on('error', () => {});
    await client.end().catch(() => {});
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // the delay grows while reconnecting fails, and starts again at 100 ms
  // once a connection is listening
  let delay = 100;
  for (;;) {
    try {
      await consume(args, () => { delay = 100; });
      return 0;
    } catch (e) {
      console.error(`consumer: connection lost (${e.message}), reconnecting`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

main().then((rc) => process.exit(rc));
