// The peers' side of bench/peers.sh: graphile-worker and pg-boss driven
// through their public APIs, on the benchmark's cluster.
//
//   node peers.js DB gw-lag N POLL_MS       lag of N jobs due 200 ms after
//   node peers.js DB boss-lag N BATCH       being added (Poisson, ~20/s)
//   node peers.js DB gw-backlog N noop|insert
//   node peers.js DB boss-backlog N noop|insert BATCH
//
// Connection: PGHOST, PGPORT, PGUSER from the environment.  Every run prints
// one line on stdout: lag runs "n p50 p99 max min mean" in ms (handler start
// minus the job's due time), backlog runs "jobs_per_s seconds rows_inserted".
// Concurrency is 4 everywhere, as scheduled_jobs' 4 executors.
'use strict';

const { performance } = require('node:perf_hooks');
const pg = require('pg');

const [db, mode, nArg, extra] = process.argv.slice(2);
const N = parseInt(nArg, 10);
const CONCURRENCY = 4;
const conn = `postgres://${process.env.PGUSER || 'postgres'}@${process.env.PGHOST || '127.0.0.1'}:${process.env.PGPORT || 5432}/${db}`;

// Wall clock with sub-millisecond resolution (CLOCK_REALTIME at start, then
// monotonic: no drift worth a mention over a minute).
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// percentile_cont, as the SQL side computes it
function pct(sorted, p) {
	const x = p * (sorted.length - 1);
	const lo = Math.floor(x), hi = Math.ceil(x);
	return sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo);
}
function lagLine(lags) {
	const s = [...lags].sort((a, b) => a - b);
	const mean = s.reduce((a, b) => a + b, 0) / s.length;
	return [s.length, pct(s, 0.5), pct(s, 0.99), s[s.length - 1], s[0], mean].map((v, i) => (i ? v.toFixed(3) : v)).join(' ');
}

// Adds N jobs at Poisson times averaging 20/s, each due 200 ms later;
// add(dueMs) must start the insertion (awaited, so one at a time).
async function addPoisson(add) {
	for (let i = 0; i < N; i++) {
		await sleep(-Math.log(1 - Math.random()) * 50);
		await add(Date.now() + 200);
	}
}

// A pool whose connections are open before the clock starts, so that no
// peer pays connection setup inside a timed section.
async function warmPool(max) {
	const pool = new pg.Pool({ connectionString: conn, max });
	pool.on('error', (e) => console.error('pool:', e.message));
	pool.on('connect', (client) => client.on('error', (e) => console.error('client:', e.message)));
	const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()));
	await Promise.all(clients.map((c) => c.query('SELECT 1')));
	clients.forEach((c) => c.release());
	return pool;
}

async function waitUntil(pool, sql, deadlineMs) {
	const end = Date.now() + deadlineMs;
	for (;;) {
		const { rows } = await pool.query(sql);
		if (rows[0].done) return;
		if (Date.now() > end) throw new Error(`timed out: ${sql}`);
		await sleep(5);
	}
}

// ---------------------------------------------------------------- graphile-worker
// Documented fast settings (docs "Performance"): LISTEN/NOTIFY wake-ups
// (always on), prepared statements (default on), local queue batching,
// batched completion.  Future jobs are found by polling (pollInterval).
async function gw(kind) {
	const gwlib = require('graphile-worker');
	const logger = new gwlib.Logger(() => (level, message) => {
		if (level === 'error') console.error(message);
	});
	const pool = await warmPool(CONCURRENCY + 2);
	await gwlib.runMigrations({ pgPool: pool, logger });
	const utils = await gwlib.makeWorkerUtils({ pgPool: pool, logger });
	await pool.query('DELETE FROM graphile_worker._private_jobs');

	if (kind === 'lag') {
		const pollInterval = parseInt(extra, 10);
		const lags = [];
		let done;
		const finished = new Promise((r) => (done = r));
		const runner = await gwlib.run({
			pgPool: pool, logger, concurrency: CONCURRENCY, pollInterval, noHandleSignals: true,
			taskList: {
				lag: async (payload) => {
					lags.push(nowMs() - payload.due);
					if (lags.length === N) done();
				},
			},
		});
		await addPoisson((due) => utils.addJob('lag', { due }, { runAt: new Date(due) }));
		await Promise.race([finished, sleep(30000)]);
		await runner.stop();
		await utils.release();
		await pool.end();
		console.log(lagLine(lags));
		return;
	}

	const task = extra;
	const specs = Array.from({ length: N }, (_, i) => ({ identifier: task, payload: { i, note: 'backlog' } }));
	for (let i = 0; i < specs.length; i += 5000) await utils.addJobs(specs.slice(i, i + 5000));
	await utils.release();
	let started = 0;
	let t0;
	const taskList = {
		noop: async () => { started++; },
		insert: async (payload, helpers) => {
			started++;
			await helpers.query('INSERT INTO bench.sink (payload) VALUES ($1)', [payload]);
		},
	};
	t0 = nowMs();
	const runner = await gwlib.run({
		pgPool: pool, logger, concurrency: CONCURRENCY, noHandleSignals: true, taskList,
		preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
	});
	while (started < N) await sleep(5);
	await waitUntil(pool, 'SELECT NOT EXISTS (SELECT FROM graphile_worker._private_jobs) AS done', 60000);
	const secs = (nowMs() - t0) / 1000;
	await runner.stop();
	const { rows } = await pool.query('SELECT count(*)::int AS n FROM bench.sink');
	await pool.end();
	console.log(`${(N / secs).toFixed(1)} ${secs.toFixed(3)} ${rows[0].n}`);
}

// ---------------------------------------------------------------- pg-boss
// Fastest documented settings: pollingIntervalSeconds at its minimum (0.5;
// pg-boss 10 has no LISTEN/NOTIFY wake-up), 4 workers (one work() call each,
// v10 has no teamSize), supervise/schedule off, and a batchSize large enough
// that polling does not cap the rate: a worker that found jobs still waits
// out the rest of its interval, so rate <= 4 * batchSize / 0.5 s (batchSize
// 100 gives 800 jobs/s).  Lag: 100; backlog: given by bench/peers.sh (a
// quarter of the backlog: each worker fetches its share in one poll).
async function boss(kind) {
	const PgBoss = require('pg-boss');
	const b = new PgBoss({ connectionString: conn, max: CONCURRENCY + 2, supervise: false, schedule: false });
	b.on('error', (e) => console.error('pg-boss:', e.message));
	await b.start();
	const queue = kind === 'lag' ? 'bench_lag' : `bench_${extra}`;
	await b.deleteQueue(queue).catch(() => {});
	await b.createQueue(queue);

	if (kind === 'lag') {
		const LAG_BATCH = parseInt(extra || '100', 10);
		const lags = [];
		let done;
		const finished = new Promise((r) => (done = r));
		for (let w = 0; w < CONCURRENCY; w++) {
			await b.work(queue, { pollingIntervalSeconds: 0.5, batchSize: LAG_BATCH }, async (jobs) => {
				for (const job of jobs) lags.push(nowMs() - job.data.due);
				if (lags.length >= N) done();
			});
		}
		await addPoisson((due) => b.send(queue, { due }, { startAfter: new Date(due) }));
		await Promise.race([finished, sleep(30000)]);
		await b.stop({ graceful: false, wait: true });
		console.log(lagLine(lags));
		return;
	}

	const task = extra;
	const batchSize = parseInt(process.argv[6] || '100', 10);
	const jobs = Array.from({ length: N }, (_, i) => ({ name: queue, data: { i, note: 'backlog' } }));
	for (let i = 0; i < jobs.length; i += 5000) await b.insert(jobs.slice(i, i + 5000));
	const pool = await warmPool(CONCURRENCY + 1);
	let started = 0;
	const handler = task === 'insert'
		? async (batch) => {
			for (const job of batch) {
				started++;
				await pool.query('INSERT INTO bench.sink (payload) VALUES ($1)', [job.data]);
			}
		}
		: async (batch) => { started += batch.length; };
	const t0 = nowMs();
	for (let w = 0; w < CONCURRENCY; w++) await b.work(queue, { pollingIntervalSeconds: 0.5, batchSize }, handler);
	while (started < N) await sleep(5);
	await waitUntil(pool, `SELECT NOT EXISTS (SELECT FROM pgboss.job WHERE name = '${queue}' AND state <> 'completed') AS done`, 60000);
	const secs = (nowMs() - t0) / 1000;
	await b.stop({ graceful: false, wait: true });
	const { rows } = await pool.query('SELECT count(*)::int AS n FROM bench.sink');
	await pool.end();
	console.log(`${(N / secs).toFixed(1)} ${secs.toFixed(3)} ${rows[0].n}`);
}

const runners = {
	'gw-lag': () => gw('lag'),
	'gw-backlog': () => gw('backlog'),
	'boss-lag': () => boss('lag'),
	'boss-backlog': () => boss('backlog'),
};
if (!runners[mode] || !(N > 0)) {
	console.error('usage: node peers.js DB gw-lag|boss-lag|gw-backlog|boss-backlog N [POLL_MS | noop|insert [BATCH]]');
	process.exit(2);
}
runners[mode]().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
