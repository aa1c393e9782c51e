#!/usr/bin/env node
// The peer of the dcvfleet no-op pipeline benchmark: a chain of five BullMQ
// queues on one Redis, in one Node process.  A producer adds N jobs to the
// first queue (addBulk, in chunks); each of five Workers moves a job on to the
// next queue (its processor adds the job there and returns); the last Worker
// just completes it.  One job is therefore five stage transitions, counted the
// same way as in dcvfleet (four forwards plus the final completion).
//
// The clock runs from the first add to the last completion, so the enqueue
// overlaps the processing, as in BullMQ's own usage.  Completed jobs are
// removed (removeOnComplete) so Redis memory stays bounded.
//
// Output, on stdout, one machine-readable line:
//   bullmq transitions_per_sec=12345.6 jobs=N elapsed_s=... enqueue_s=...
//     concurrency=C version=X.Y.Z
// Exit status: 0 on success, 1 on bad usage or a failed job, 2 on timeout.
'use strict';

const { Queue, Worker } = require('bullmq');

const STAGES = ['verify-cname', 'create-order', 'provision-txt', 'finalize',
                'offboard-check'];

function usage(msg) {
  if (msg) process.stderr.write(`chain.js: ${msg}\n`);
  process.stderr.write(
    'usage: node chain.js [--jobs N] [--concurrency C] [--redis URL]\n' +
    '                     [--chunk K] [--timeout SECONDS] [--prefix P]\n' +
    'Environment: BENCH_JOBS, BENCH_CONCURRENCY, REDIS_URL, BENCH_TIMEOUT.\n');
  process.exit(1);
}

function posInt(name, text) {
  if (!/^[0-9]+$/.test(String(text))) usage(`${name}: not a positive integer: ${text}`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 1) usage(`${name}: out of range: ${text}`);
  return v;
}

function parseArgs(argv) {
  const o = {
    jobs: process.env.BENCH_JOBS || '100000',
    concurrency: process.env.BENCH_CONCURRENCY || '50',
    redis: process.env.REDIS_URL || 'redis://127.0.0.1:6379/0',
    chunk: '1000',
    timeout: process.env.BENCH_TIMEOUT || '300',
    prefix: 'benchbull',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '-n': case '--jobs': o.jobs = val(); break;
      case '-c': case '--concurrency': o.concurrency = val(); break;
      case '--redis': o.redis = val(); break;
      case '--chunk': o.chunk = val(); break;
      case '--timeout': o.timeout = val(); break;
      case '--prefix': o.prefix = val(); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument: ${a}`);
    }
  }
  o.jobs = posInt('jobs', o.jobs);
  o.concurrency = posInt('concurrency', o.concurrency);
  o.chunk = posInt('chunk', o.chunk);
  o.timeout = posInt('timeout', o.timeout);
  return o;
}

function connectionFromUrl(text) {
  let u;
  try {
    u = new URL(text);
  } catch (e) {
    usage(`bad Redis URL: ${text}`);
  }
  if (u.protocol !== 'redis:') usage(`only redis:// URLs: ${text}`);
  const db = u.pathname && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: Number.isInteger(db) ? db : 0,
    // Workers need this; the default retries would hide a dead server.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
  };
}

function bullmqVersion() {
  try {
    return require('bullmq/package.json').version;
  } catch (e) {
    return 'unknown';
  }
}

let completedSoFar = () => 0;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  // One deadline over everything, connecting included: a Redis that never
  // answers must not hang the benchmark.
  const deadline = setTimeout(() => {
    process.stderr.write(`chain.js: timeout after ${o.timeout}s ` +
      `(${completedSoFar()} of ${o.jobs} jobs completed)\n`);
    process.exit(2);
  }, o.timeout * 1000);
  const connection = connectionFromUrl(o.redis);
  const jobOpts = { removeOnComplete: true, removeOnFail: 1000 };

  const queues = STAGES.map((s) => new Queue(`${s}`, {
    connection, prefix: o.prefix, defaultJobOptions: jobOpts,
  }));
  await Promise.all(queues.map((q) => q.waitUntilReady()));
  // A clean start even when pointed at a Redis a previous run left behind.
  await Promise.all(queues.map((q) => q.obliterate({ force: true })));

  let completed = 0;
  completedSoFar = () => completed;
  let failed = 0;
  let firstFailure = null;
  let t0 = 0n;
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });

  const workers = STAGES.map((s, i) => {
    const next = i + 1 < queues.length ? queues[i + 1] : null;
    const processor = next
      ? async (job) => { await next.add(job.name, job.data); }
      : async () => {};
    const w = new Worker(s, processor, {
      connection, prefix: o.prefix, concurrency: o.concurrency,
      autorun: true,
    });
    w.on('failed', (job, err) => {
      failed++;
      if (!firstFailure) firstFailure = `${s}: ${err && err.message}`;
      resolveDone();
    });
    w.on('error', (err) => {
      // Connection trouble is reported; a dead server ends in the timeout.
      process.stderr.write(`chain.js: worker ${s}: ${err && err.message}\n`);
    });
    if (!next) {
      w.on('completed', () => {
        completed++;
        if (completed >= o.jobs) resolveDone();
      });
    }
    return w;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  t0 = process.hrtime.bigint();
  for (let start = 0; start < o.jobs; start += o.chunk) {
    const end = Math.min(o.jobs, start + o.chunk);
    const batch = [];
    for (let j = start; j < end; j++) {
      batch.push({ name: 'job', data: { domain: `bench-${j}.example.com`, v: 1 } });
    }
    await queues[0].addBulk(batch);
  }
  const tEnq = process.hrtime.bigint();
  await done;
  const t1 = process.hrtime.bigint();
  clearTimeout(deadline);

  const elapsed = Number(t1 - t0) / 1e9;
  const enqueue = Number(tEnq - t0) / 1e9;
  let status = 0;
  if (failed > 0) {
    process.stderr.write(`chain.js: ${failed} job(s) failed, first: ${firstFailure}\n`);
    status = 1;
  } else {
    const tps = (STAGES.length * o.jobs) / elapsed;
    process.stdout.write(`bullmq transitions_per_sec=${tps.toFixed(1)} ` +
      `jobs=${o.jobs} elapsed_s=${elapsed.toFixed(3)} ` +
      `enqueue_s=${enqueue.toFixed(3)} concurrency=${o.concurrency} ` +
      `version=${bullmqVersion()}\n`);
  }

  // Closing a Worker waits for its in-flight jobs; bound it all the same.
  const closing = Promise.all([...workers.map((w) => w.close(status !== 0)),
                               ...queues.map((q) => q.close())]);
  await Promise.race([closing, new Promise((r) => setTimeout(r, 10000))]);
  process.exit(status);
}

main().catch((err) => {
  process.stderr.write(`chain.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
