#!/usr/bin/env node
// Opens a certificate key sealed by dcvfleet (schemas/certificate.md):
// "aesgcm1:" base64url(12-byte nonce || ciphertext || 16-byte tag), AES-256-GCM
// under the key-encryption key, the associated data being the name of the
// Redis hash it is stored in ("dcv:cert:<domain>").  Node's built-in crypto
// only.
//
//   node certkey.js open --aad AAD [--kek-file F] < sealed   the key, to stdout
//   node certkey.js vectors FILE                             checks the test vectors
//
// The KEK comes from --kek-file, else DCV_CERT_KEK: 64 hex digits or base64url
// of 32 bytes, as the fleet reads it.  Exit status: 0 done, 1 a value that does
// not open, 2 usage, 4 stdout is a terminal (a private key is never printed to one).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');

const PREFIX = 'aesgcm1:';
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

// The KEK file's or DCV_CERT_KEK's text as 32 bytes.
function parseKek(text) {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const raw = B64URL.test(t) ? Buffer.from(t, 'base64url') : Buffer.alloc(0);
  if (raw.length !== 32) throw new Error('the KEK must be 32 bytes');
  return raw;
}

// The plaintext as a Buffer; throws on a wrong KEK, a wrong AAD or an altered value.
function openSealed(kek, sealed, aad) {
  if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed value (no aesgcm1: prefix)');
  const b64 = sealed.slice(PREFIX.length);
  if (!B64URL.test(b64)) throw new Error('not base64url');
  const raw = Buffer.from(b64, 'base64url');
  if (raw.length < 12 + 16) throw new Error('too short');
  const d = crypto.createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12), { authTagLength: 16 });
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
}

function vectors(path) {
  const text = fs.readFileSync(path, 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n');
  let bad = 0;
  for (const [name, v] of Object.entries(JSON.parse(text).vectors)) {
    let plain = null;
    try {
      plain = openSealed(parseKek(v.kek), v.sealed, v.aad).toString('utf8');
    } catch (e) {
      plain = null;
    }
    console.log(JSON.stringify({ name, opened: plain !== null, plaintext: plain }));
    if ((plain === null) !== ('error' in v) || (plain !== null && plain !== v.plaintext)) bad++;
  }
  return bad ? 1 : 0;
}

function main(argv) {
  if (argv.length === 2 && argv[0] === 'vectors') return vectors(argv[1]);
  const args = {};
  for (let i = 1; i + 1 < argv.length; i += 2) args[argv[i]] = argv[i + 1];
  const known = Object.keys(args).every((k) => k === '--aad' || k === '--kek-file');
  if (argv[0] !== 'open' || argv.length % 2 !== 1 || !('--aad' in args) || !known) {
    console.error('usage: certkey.js open --aad AAD [--kek-file F] < sealed | certkey.js vectors FILE');
    return 2;
  }
  if (process.stdout.isTTY) {
    console.error('certkey: refusing to print a private key to a terminal');
    return 4;
  }
  const kekText = args['--kek-file'] ? fs.readFileSync(args['--kek-file'], 'utf8')
    : (process.env.DCV_CERT_KEK || '');
  let plain;
  try {
    plain = openSealed(parseKek(kekText), fs.readFileSync(0, 'utf8').trim(), args['--aad']);
  } catch (e) {
    console.error('certkey: the value does not open (wrong KEK or AAD, or altered)');
    return 1;
  }
  process.stdout.write(plain);
  return 0;
}

module.exports = { parseKek, openSealed };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
