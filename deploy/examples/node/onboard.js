#!/usr/bin/env node
// A provider's backend talking to dcvfleet through Redis, in Node.js.
//
//   node onboard.js DOMAIN [--tenant T] [--timeout SECONDS] [--group G] [--consumer C]
//
// 1. Creates its own consumer group on <prefix>:events at "$" (MKSTREAM),
//    before enqueueing, so no event of the new job can slip past it.
// 2. Enqueues the onboarding job as schemas/job.md says a backend does: one
//    XADD <prefix>:stream:verify-cname with the fields domain and job =
//    msgpack {v, id, domain, tenant?, created_at}, and nothing else.  It
//    never writes <prefix>:domain:<domain>: the worker that claims the job
//    creates that record and the domain's generation (a domain with a
//    pipeline running is only nudged).
// 3. Reads events with XREADGROUP BLOCK, prints each event of its domain as
//    one JSON line on stdout (for `issued` also names, serial, not_after,
//    cert_key and renewal, when the event has them) and XACKs every event
//    once handled
//    (at-least-once: a restart with the same --group/--consumer first
//    re-reads what it had read but not acknowledged).
//
// Exit status: 0 on the `issued` event for the domain; 1 on `failed`,
// `abandoned` or `dead-letter` for it, on --timeout, or on a Redis error;
// 2 on a usage error.
// Environment: DCV_REDIS_URL (default redis://127.0.0.1:6379/0),
// DCV_PREFIX (default dcv).
"use strict";

const crypto = require("node:crypto");
const os = require("node:os");
const { parseArgs } = require("node:util");
const Redis = require("ioredis");
const { encode } = require("@msgpack/msgpack");

const SUCCESS = new Set(["issued"]);

// What an `issued` event tells a backend (schemas/redis.md, "Events: the
// fields of `issued`"): the names (an array), the serial, not_after (unix
// seconds), the key of the certificate's hash and whether it replaces one.
// Only the fields the event has (an older fleet sends the detail text
// alone).
function issuedFields(f) {
  const out = {};
  if (f.names !== undefined) out.names = f.names.split(",").filter((n) => n);
  for (const k of ["serial", "cert_key"]) if (f[k] !== undefined) out[k] = f[k];
  if (/^[0-9]+$/.test(f.not_after ?? "")) out.not_after = Number(f.not_after);
  if (f.renewal === "0" || f.renewal === "1") out.renewal = f.renewal === "1";
  return out;
}
const FAILURE = new Set(["failed", "abandoned", "dead-letter"]);
const USAGE = "usage: onboard.js DOMAIN [--tenant T] [--timeout SECONDS] [--group G] [--consumer C]";

function usage(msg) {
  if (msg) process.stderr.write(`onboard.js: ${msg}\n`);
  process.stderr.write(USAGE + "\n");
  process.exit(2);
}

function parse() {
  let a;
  try {
    a = parseArgs({
      allowPositionals: true,
      options: {
        tenant: { type: "string" },
        timeout: { type: "string", default: "0" },
        group: { type: "string" },
        consumer: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    usage(e.message);
  }
  if (a.values.help) {
    process.stdout.write(USAGE + "\n");
    process.exit(0);
  }
  if (a.positionals.length !== 1) usage("give exactly one DOMAIN");
  // The workers normalise upper case and one trailing dot; do the same so
  // that the events carry the name we look for.
  const domain = a.positionals[0].toLowerCase().replace(/\.$/, "");
  if (!domain || domain.length > 253 || !domain.includes(".") || /[^a-z0-9._*-]/.test(domain))
    usage(`not a domain name: ${a.positionals[0]}`);
  const tenant = a.values.tenant;
  // schemas/job.md: a token, because it can go into delegation targets
  if (tenant !== undefined && !/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(tenant))
    usage("--tenant must be 1-63 of A-Z a-z 0-9 - _, not starting or ending with -");
  const timeout = Number(a.values.timeout);
  if (!Number.isFinite(timeout) || timeout < 0) usage("--timeout takes seconds (0: wait forever)");
  return {
    domain,
    tenant,
    timeoutMs: timeout * 1000,
    // Without --group the group is this run's alone and is removed at exit.
    group: a.values.group || `onboard-example-${crypto.randomBytes(6).toString("hex")}`,
    ephemeral: !a.values.group,
    consumer: a.values.consumer || `${os.hostname()}-${process.pid}`,
  };
}

// Stream entry fields come as a flat [k1, v1, k2, v2, ...] list (null for an
// entry deleted by trimming while it was pending).
function fieldsOf(list) {
  const f = {};
  for (let i = 0; list && i + 1 < list.length; i += 2) f[list[i]] = list[i + 1];
  return f;
}

async function main() {
  const opt = parse();
  const url = process.env.DCV_REDIS_URL || "redis://127.0.0.1:6379/0";
  const prefix = process.env.DCV_PREFIX || "dcv";
  const events = `${prefix}:events`;
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  let code = 1;

  try {
    // 1. Our own consumer group, from now on ("$"); it may already exist
    //    when --group names a long-lived one.
    try {
      await redis.xgroup("CREATE", events, opt.group, "$", "MKSTREAM");
    } catch (e) {
      if (!String(e.message).startsWith("BUSYGROUP")) throw e;
    }

    // 2. The job, and nothing else: no HSET of <prefix>:domain:<domain>
    //    (verify-cname creates it when it claims the job).  A new random id
    //    for every XADD: the id is what makes this job the domain's pipeline.
    const now = Date.now();
    const job = { v: 1, id: crypto.randomBytes(16).toString("hex"), domain: opt.domain };
    if (opt.tenant !== undefined) job.tenant = opt.tenant;
    job.created_at = now;
    const packed = encode(job);
    const entry = await redis.xadd(`${prefix}:stream:verify-cname`, "*", "domain", opt.domain,
      "job", Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength));
    process.stderr.write(`queued ${opt.domain} job ${job.id} as ${entry}; ` +
                         `reading ${events} as group ${opt.group}\n`);

    // 3. Events until one settles the domain.
    const deadline = opt.timeoutMs > 0 ? Date.now() + opt.timeoutMs : Infinity;
    let from = "0"; // first our own unacknowledged history, then new entries
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) {
        process.stderr.write(`timed out waiting for ${opt.domain}\n`);
        code = 1;
        break;
      }
      const block = Math.max(1, Math.min(5000, Math.floor(left)));
      const res = await redis.xreadgroup("GROUP", opt.group, opt.consumer, "COUNT", 100,
                                         "BLOCK", block, "STREAMS", events, from);
      const entries = res ? res[0][1] : [];
      if (from === "0" && entries.length === 0) {
        from = ">";
        continue;
      }
      let settled = null;
      for (const [id, list] of entries) {
        const f = fieldsOf(list);
        if (f.domain === opt.domain) {
          const t = Number(f.time);
          const line = {
            id, type: f.type ?? null, domain: f.domain, detail: f.detail ?? "",
            time: Number.isFinite(t) ? t : f.time ?? null,
          };
          if (f.type === "issued") Object.assign(line, issuedFields(f));
          process.stdout.write(JSON.stringify(line) + "\n");
          if (SUCCESS.has(f.type)) settled = 0;
          else if (FAILURE.has(f.type)) settled = 1;
        }
        // Handled (printed, or not ours): acknowledge.  A crash before this
        // line means the event is delivered again, so handling must be
        // idempotent.
        await redis.xack(events, opt.group, id);
        if (settled !== null) break;
      }
      if (settled !== null) {
        code = settled;
        break;
      }
    }
  } catch (e) {
    process.stderr.write(`onboard.js: ${e.message}\n`);
    code = 1;
  }
  if (opt.ephemeral) {
    try {
      await redis.xgroup("DESTROY", events, opt.group);
    } catch (e) {
      // best effort: the group is only this run's
    }
  }
  redis.disconnect();
  return code;
}

main().then((code) => process.exit(code));
