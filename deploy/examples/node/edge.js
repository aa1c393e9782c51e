#!/usr/bin/env node
// An edge server's side of dcvfleet, in Node.js: serve every certificate it
// issues.
//
//   node edge.js OUT --ca-file ROOTS.pem [--cert-kek-file F] [--from ID|$]
//                [--position-file F] [--once]
//
// Reads <prefix>:events with XREAD (no consumer group: every edge server
// reads the whole stream for itself) and, for each `issued` event, reads the
// hash its `cert_key` names, opens the sealed key (schemas/certificate.md),
// checks it, and writes OUT/<domain>/fullchain.pem, chain.pem and key.pem.
// Prints one JSON line per certificate served; a certificate that does not
// check is refused (a line on stderr, no file written) and the next event is
// read.  A failure that is not the certificate's (a file not written, a
// certificate not yet valid or expired by the local clock, a Redis error)
// stops the consumer, exit 1, the position not moved past that event, so
// that a restart handles it again.  A leaf issued before the one in
// OUT/<domain>/fullchain.pem is refused.  An OUT that is group- or
// world-writable is refused at start (exit 2).
//
// Checks, all before writing anything: the domain is a DNS name (it becomes
// a directory name); `cert_key` is <prefix>:cert:<domain>; the hash's
// `serial` is the event's (else a later renewal replaced it and its own
// `issued` follows: skipped); the key is sealed (a plain key is refused) and
// opens with the certificate KEK, the hash's name as associated data; the
// key is the leaf's (public key equality: the chain is not authenticated,
// the key is); the chain verifies up to a root of --ca-file (signatures,
// issuer names, CA flags, validity); the leaf names the domain and the
// event's names; the event's `serial` and `not_after` are the leaf's.
//
// Position: --from ID (default `$`: from the newest entry at start, resolved
// to its id).  With --position-file F the id of the last event handled is
// written to F (atomically) after each batch and read back at start, F
// winning over --from.  Delivery is at least once: a crash after handling and
// before F is written handles the events again, which rewrites the same
// files.  --once reads up to the end of the stream and exits.
//
// The certificate KEK comes from --cert-kek-file, else the file named by
// DCV_CERT_KEK_FILE: 64 hex digits or base64url of 32 bytes.  Environment:
// DCV_REDIS_URL (default redis://127.0.0.1:6379/0), DCV_PREFIX (default dcv).
//
// Exit status (--once, or on a stop): 0 nothing refused, 1 something refused
// or a stop, 2 usage.  Needs ioredis; the checks use Node's
// built-in crypto (X509Certificate).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { parseArgs } = require("node:util");
const Redis = require("ioredis");
const { parseKek, openSealed } = require("./certkey.js");

// Caps on what Redis hands us, checked before parsing.
const MAX_CHAIN = 64 * 1024;
const MAX_CERTS = 8;
const MAX_KEY = 16 * 1024;
const DOMAIN = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const STREAM_ID = /^[0-9]{1,20}-[0-9]{1,20}$/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;
const USAGE = "usage: edge.js OUT --ca-file ROOTS.pem [--cert-kek-file F] [--from ID|$] " +
  "[--position-file F] [--once]";

// A certificate that must not be served, for a reason of its own: handling
// the event again would refuse it again, so the position moves past it.
class Refused extends Error {}
// A failure of this machine or of this moment (a file not written, the local
// clock outside a validity window): a retry may serve it, so the consumer
// stops without moving past the event.
class Stop extends Error {}

// A value from Redis, safe on a terminal.
const shown = (s) => JSON.stringify(String(s)).slice(1, -1).slice(0, 200);

// Exits: 2 with MSG on stderr, or 0 for --help.
function usage(msg, code = 2) {
  if (msg) process.stderr.write(`edge.js: ${msg}\n`);
  (code ? process.stderr : process.stdout).write(USAGE + "\n");
  process.exit(code);
}

function loadCerts(pem, what) {
  const blocks = pem.match(PEM_CERT) || [];
  if (blocks.length === 0 || blocks.length > MAX_CERTS)
    throw new Refused(`${what}: ${blocks.length} certificates (1 to ${MAX_CERTS} expected)`);
  try {
    return blocks.map((b) => new crypto.X509Certificate(b));
  } catch (e) {
    throw new Refused(`${what}: a certificate that does not parse`);
  }
}

const seconds = (s) => Math.floor(Date.parse(s) / 1000);

// Stop, not Refused: against a skewed local clock a good certificate looks
// not yet valid or expired.
function checkValidity(cert, now) {
  if (now < seconds(cert.validFrom))
    throw new Stop(`${shown(cert.subject)} is not yet valid (local clock)`);
  if (now > seconds(cert.validTo))
    throw new Stop(`${shown(cert.subject)} has expired (local clock)`);
}

// ISSUER issued CERT: names and key identifiers (checkIssued), CA flag,
// signature, validity.
function checkIssuer(cert, issuer, now) {
  if (!cert.checkIssued(issuer))
    throw new Refused(`${shown(cert.subject)} is not issued by ${shown(issuer.subject)}`);
  if (!issuer.ca) throw new Refused("an issuer that is not a CA");
  if (!cert.verify(issuer.publicKey))
    throw new Refused(`the signature on ${shown(cert.subject)} does not verify`);
  checkValidity(issuer, now);
}

// CERTS (leaf first) leads to one of ROOTS; the chain may end with the root itself.
function verifyChain(certs, roots, now) {
  checkValidity(certs[0], now);
  for (let i = 0; i + 1 < certs.length; i++) checkIssuer(certs[i], certs[i + 1], now);
  const last = certs[certs.length - 1];
  if (roots.some((r) => r.raw.equals(last.raw))) return;
  for (const r of roots) {
    try {
      checkIssuer(last, r, now);
      return;
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
    }
  }
  throw new Refused("the chain does not lead to a root of --ca-file");
}

// The leaf's DNS names, from Node's "DNS:a, DNS:b" rendering.
function dnsNames(cert) {
  return new Set((cert.subjectAltName || "").split(", ")
    .filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4).toLowerCase()));
}

const spki = (k) => k.export({ type: "spki", format: "der" });

// The files to write for event EV and hash H, or throws Refused.  Returns
// null when the hash holds a later certificate than the event's.
function check(ev, h, certKey, kek, roots) {
  if (!h || Object.keys(h).length === 0) throw new Refused(`${certKey} is gone`);
  const serial = ev.serial || "";
  if (!/^[0-9A-Fa-f]{1,128}$/.test(serial) || !/^[0-9]{1,15}$/.test(ev.not_after || ""))
    throw new Refused("the event has no well-formed serial and not_after");
  if ((h.serial || "").toUpperCase() !== serial.toUpperCase()) return null;
  const sealed = h.key || "", chain = h.chain || "";
  if (sealed.length > MAX_KEY || chain.length > MAX_CHAIN)
    throw new Refused("a key or chain over its size cap");
  if (h.key_enc !== "aes-256-gcm" || !sealed.startsWith("aesgcm1:"))
    throw new Refused("the key is not sealed (a plain key is refused where a KEK is given)");
  let key;
  try {
    key = crypto.createPrivateKey(openSealed(kek, sealed, certKey));
  } catch (e) {
    throw new Refused("the key does not open with the certificate KEK (or is altered)");
  }
  const certs = loadCerts(chain, "chain");
  const leaf = certs[0];
  if (!spki(crypto.createPublicKey(key)).equals(spki(leaf.publicKey)))
    throw new Refused("the key does not match the leaf");
  verifyChain(certs, roots, Date.now() / 1000);
  const names = dnsNames(leaf);
  const wanted = [ev.domain, ...(ev.names || "").split(",").filter((n) => n)];
  const missing = wanted.filter((n) => !names.has(n));
  if (missing.length) throw new Refused(`the leaf does not name ${shown(missing.join(","))}`);
  if (BigInt("0x" + leaf.serialNumber) !== BigInt("0x" + serial))
    throw new Refused("the event's serial is not the leaf's");
  if (seconds(leaf.validTo) !== Number(ev.not_after))
    throw new Refused("the event's not_after is not the leaf's");
  const pem = certs.map((c) => c.toString());
  return { leaf, files: [["chain.pem", pem.slice(1).join(""), 0o644],
    ["fullchain.pem", pem.join(""), 0o644],
    ["key.pem", key.export({ type: "pkcs8", format: "pem" }), 0o600]] };
}

// Refused when DIR/fullchain.pem holds a leaf issued later than LEAF:
// someone able to write Redis may put back an older certificate (the one
// revoked after a keyCompromise).  No file, or one that does not parse, is
// no objection; any other file error is thrown (a stop).
function checkNotOlder(dir, leaf) {
  let fd;
  try {
    fd = fs.openSync(path.join(dir, "fullchain.pem"),
      fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if (e.code === "ENOENT") return;
    throw e;
  }
  const buf = Buffer.alloc(MAX_CHAIN);
  let n;
  try {
    n = fs.readSync(fd, buf, 0, MAX_CHAIN, 0);
  } finally {
    fs.closeSync(fd);
  }
  const block = (buf.subarray(0, n).toString("latin1").match(PEM_CERT) || [])[0];
  let installed;
  try {
    installed = seconds(new crypto.X509Certificate(block).validFrom);
  } catch (e) {
    return;
  }
  if (seconds(leaf.validFrom) < installed) throw new Refused("older than the installed certificate");
}

// Each file to a new temporary file in DIR, fsync'd, then all renamed over
// their names, key.pem last: a reader sees a whole old or a whole new file,
// never half of one.
function install(dir, files) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid())
    throw new Stop(`${dir} is not a directory of ours`);
  let temps = [];
  try {
    for (const [name, data, mode] of files) {
      const tmp = path.join(dir, `.${name}.${crypto.randomBytes(6).toString("hex")}`);
      const c = fs.constants;
      const fd = fs.openSync(tmp, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, mode);
      temps.push(tmp);
      try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    files.forEach(([name], i) => fs.renameSync(temps[i], path.join(dir, name)));
    temps = [];
  } finally {
    for (const tmp of temps) fs.rmSync(tmp, { force: true });
  }
}

// Stream entry fields come as a flat [k1, v1, k2, v2, ...] list (null for
// an entry deleted since).
const fieldsOf = (list) =>
  Object.fromEntries((list || []).flatMap((v, i) => (i % 2 ? [] : [[v, list[i + 1]]])));

// One event: true when it was served or not ours to serve, false when
// refused.  Throws Stop (and Redis errors) for what may pass on a retry.
async function handle(redis, opt, prefix, id, ev) {
  if (ev.type !== "issued") return true;
  const domain = ev.domain || "";
  const where = `${shown(domain)} (event ${id})`;
  let dir;
  try {
    if (domain.length > 253 || !DOMAIN.test(domain)) throw new Refused("not a domain name");
    const certKey = `${prefix}:cert:${domain}`;
    if (ev.cert_key !== undefined && ev.cert_key !== certKey)
      throw new Refused(`cert_key ${shown(ev.cert_key)} is not ${shown(certKey)}`);
    const h = await redis.hgetall(certKey);
    let checked;
    try {
      checked = check(ev, h, certKey, opt.kek, opt.roots);
    } catch (e) {
      // crypto throws on what it cannot parse or does not support
      throw e instanceof Refused || e instanceof Stop ? e
        : new Refused("a certificate or key it cannot use");
    }
    if (checked === null) {
      process.stderr.write(`edge: skipped ${where}: ${certKey} holds a later certificate\n`);
      return true;
    }
    dir = path.join(opt.out, domain);
    try {
      checkNotOlder(dir, checked.leaf);
      install(dir, checked.files);
    } catch (e) {
      throw e instanceof Refused || e instanceof Stop || !e.code ? e
        : new Stop(`not written: ${e.message}`);
    }
  } catch (e) {
    if (e instanceof Stop) throw new Stop(`${where}: ${e.message}`);
    if (!(e instanceof Refused)) throw e; // a Redis error or a bug: stop
    process.stderr.write(`edge: refused ${where}: ${e.message}\n`);
    return false;
  }
  process.stdout.write(JSON.stringify({
    id, domain, serial: ev.serial, not_after: Number(ev.not_after),
    renewal: ev.renewal === "1", dir,
  }) + "\n");
  return true;
}

function savePosition(file, id) {
  const tmp = `${file}.${crypto.randomBytes(6).toString("hex")}`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, id + "\n");
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

// Where to read from: the position file, else --from; `$` is resolved now to
// the newest entry's id, so that no event added between two reads is missed.
async function startId(redis, events, opt) {
  let start = opt.from;
  if (opt.positionFile && fs.existsSync(opt.positionFile))
    start = fs.readFileSync(opt.positionFile, "utf8").slice(0, 64).trim();
  if (start === "$") {
    const last = await redis.xrevrange(events, "+", "-", "COUNT", 1);
    start = last.length ? last[0][0] : "0-0";
  }
  if (start !== "0" && !STREAM_ID.test(start)) usage(`not a stream id: ${shown(start)}`);
  return start;
}

async function run(redis, opt, prefix) {
  const events = `${prefix}:events`;
  let last = await startId(redis, events, opt);
  process.stderr.write(`edge: reading ${events} after ${last}\n`);
  let refused = 0;
  for (;;) {
    const res = opt.once
      ? await redis.xread("COUNT", 100, "STREAMS", events, last)
      : await redis.xread("COUNT", 100, "BLOCK", 5000, "STREAMS", events, last);
    const entries = res ? res[0][1] : [];
    if (entries.length === 0 && opt.once) return refused ? 1 : 0;
    let done = last;
    try {
      for (const [id, list] of entries) {
        if (!(await handle(redis, opt, prefix, id, fieldsOf(list)))) refused++;
        done = id;
      }
    } finally {
      // up to the last event handled, never past one that stopped us
      if (done !== last && opt.positionFile) savePosition(opt.positionFile, done);
    }
    last = done;
  }
}

const OPTIONS = {
  "ca-file": { type: "string" },
  "cert-kek-file": { type: "string" },
  from: { type: "string", default: "$" },
  "position-file": { type: "string" },
  once: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

function parse() {
  let a;
  try {
    a = parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (e) {
    usage(e.message);
  }
  if (a.values.help) usage(null, 0);
  if (a.positionals.length !== 1) usage("give exactly one OUT directory");
  if (!a.values["ca-file"]) usage("give --ca-file");
  const kekFile = a.values["cert-kek-file"] || process.env.DCV_CERT_KEK_FILE;
  if (!kekFile) usage("give --cert-kek-file or DCV_CERT_KEK_FILE");
  let kek, roots;
  try {
    kek = parseKek(fs.readFileSync(kekFile, "utf8").slice(0, 1024));
    roots = loadCerts(fs.readFileSync(a.values["ca-file"], "utf8").slice(0, MAX_CHAIN), "--ca-file");
  } catch (e) {
    usage(e instanceof Refused || e.code ? e.message : "the KEK file does not hold 32 bytes");
  }
  // Another user able to write OUT could swap OUT/<domain> for a symlink
  // between our checks and our writes.
  const out = fs.statSync(a.positionals[0], { throwIfNoEntry: false });
  if (out && out.mode & 0o022) usage(`${a.positionals[0]} is group- or world-writable`);
  return {
    out: a.positionals[0], kek, roots, from: a.values.from,
    positionFile: a.values["position-file"], once: !!a.values.once,
  };
}

async function main() {
  const opt = parse();
  const url = process.env.DCV_REDIS_URL || "redis://127.0.0.1:6379/0";
  const prefix = process.env.DCV_PREFIX || "dcv";
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  let code;
  try {
    code = await run(redis, opt, prefix);
  } catch (e) {
    process.stderr.write(e instanceof Stop
      ? `edge: stopped at ${e.message}; the position is not moved past it\n`
      : `edge.js: ${e.message}\n`);
    code = 1;
  }
  redis.disconnect();
  return code;
}

main().then((code) => process.exit(code));
