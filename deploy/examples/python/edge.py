#!/usr/bin/env python3
"""An edge server's side of dcvfleet: serve every certificate it issues.

    edge.py OUT --ca-file ROOTS.pem [--cert-kek-file F] [--from ID|$]
            [--position-file F] [--once]

Reads <prefix>:events with XREAD (no consumer group: every edge server reads
the whole stream for itself) and, for each `issued` event, reads the hash its
`cert_key` names, opens the sealed key (schemas/certificate.md), checks it,
and writes OUT/<domain>/fullchain.pem, chain.pem and key.pem.  Prints one JSON
line per certificate served; a certificate that does not check is refused (a
line on stderr, no file written) and the next event is read.  A failure that
is not the certificate's (a file not written, a certificate not yet valid or
expired by the local clock, a Redis error) stops the consumer, exit 1, the
position not moved past that event, so that a restart handles it again.
A leaf issued before the one in OUT/<domain>/fullchain.pem is refused.  An
OUT that is group- or world-writable is refused at start (exit 2).

Checks, all before writing anything: the domain is a DNS name (it becomes a
directory name); `cert_key` is <prefix>:cert:<domain>; the hash's `serial` is
the event's (else a later renewal replaced it and its own `issued` follows:
skipped); the key is sealed (a plain key is refused) and opens with the
certificate KEK, the hash's name as associated data; the key is the leaf's
(public key equality: the chain is not authenticated, the key is); the chain
verifies up to a root of --ca-file (signatures, issuer names, CA flags,
validity); the leaf names the domain and the event's names; the event's
`serial` and `not_after` are the leaf's.

Position: --from ID (default `$`: from the newest entry at start, resolved
to its id).  With --position-file F the id of the last event handled is
written to F (atomically) after each batch and read back at start, F
winning over --from.  Delivery is at least once: a crash after handling
and before F is written handles the events again, which rewrites the same
files.  --once reads up to the end of the stream and exits.

The certificate KEK comes from --cert-kek-file, else the file named by
DCV_CERT_KEK_FILE: 64 hex digits or base64url of 32 bytes.  Environment:
DCV_REDIS_URL (default redis://127.0.0.1:6379/0), DCV_PREFIX (default dcv).

Exit status (--once, or on a stop): 0 nothing refused, 1 something refused
or a stop, 2 usage.  Needs python3-redis and
python3-cryptography.
"""
import argparse
import calendar
import json
import os
import re
import secrets
import sys
import time

import redis
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, ed448, padding, rsa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from certkey import open_sealed, parse_kek  # noqa: E402 (beside this file)

# Caps on what Redis hands us, checked before parsing.
MAX_CHAIN = 64 * 1024
MAX_CERTS = 8
MAX_KEY = 16 * 1024
DOMAIN = re.compile(r"(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----")
DER = serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


class Refused(Exception):
    """A certificate that must not be served; the message says why (never key material).
    It is about the certificate itself, so handling the event again would
    refuse it again: the position moves past it."""


class Stop(Exception):
    """A failure of this machine or of this moment (a file not written, the
    local clock outside a validity window): handling the event again later
    may serve it, so the consumer stops without moving past it."""


def text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def shown(s):
    """A value from Redis, safe on a terminal."""
    return json.dumps(s)[1:-1][:200]


def utc_seconds(cert, which):
    t = getattr(cert, which + "_utc", None)     # cryptography >= 42
    if t is None:
        t = getattr(cert, which)                # naive UTC (Debian 12: 38)
    return calendar.timegm(t.utctimetuple())


def check_signature(cert, issuer):
    """The signature of CERT verifies under ISSUER's key; Refused if not."""
    pub, sig, tbs = issuer.public_key(), cert.signature, cert.tbs_certificate_bytes
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            if cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS:
                raise Refused("RSA-PSS signatures are not supported by this example")
            pub.verify(sig, tbs, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, tbs, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(pub, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            pub.verify(sig, tbs)
        else:
            raise Refused("an issuer key of an unsupported type")
    except InvalidSignature:
        raise Refused(f"the signature on {cert.subject.rfc4514_string()!r} does not verify")


def check_issuer(cert, issuer, now):
    """ISSUER issued CERT: names, CA flag, key usage, signature, validity."""
    if cert.issuer != issuer.subject:
        raise Refused(f"{cert.subject.rfc4514_string()!r} is not issued by "
                      f"{issuer.subject.rfc4514_string()!r}")
    try:
        if not issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise Refused("an issuer that is not a CA")
    except x509.ExtensionNotFound:
        raise Refused("an issuer without basicConstraints")
    try:
        if not issuer.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign:
            raise Refused("an issuer whose key usage excludes keyCertSign")
    except x509.ExtensionNotFound:
        pass
    check_signature(cert, issuer)
    check_validity(issuer, now)


def check_validity(cert, now):
    """Stop, not Refused: against a skewed local clock a good certificate
    looks not yet valid or expired."""
    if now < utc_seconds(cert, "not_valid_before"):
        raise Stop(f"{cert.subject.rfc4514_string()!r} is not yet valid (local clock)")
    if now > utc_seconds(cert, "not_valid_after"):
        raise Stop(f"{cert.subject.rfc4514_string()!r} has expired (local clock)")


def verify_chain(certs, roots, now):
    """CERTS (leaf first) leads to one of ROOTS; the chain may end with the root itself."""
    check_validity(certs[0], now)
    for cert, issuer in zip(certs, certs[1:]):
        check_issuer(cert, issuer, now)
    last = certs[-1]
    if any(last == r for r in roots):
        return
    for r in roots:
        try:
            check_issuer(last, r, now)
            return
        except Refused:
            continue
    raise Refused("the chain does not lead to a root of --ca-file")


def load_certs(pem, what):
    blocks = PEM_CERT.findall(pem)
    if not blocks or len(blocks) > MAX_CERTS:
        raise Refused(f"{what}: {len(blocks)} certificates (1 to {MAX_CERTS} expected)")
    try:
        return [x509.load_pem_x509_certificate(b.encode()) for b in blocks]
    except ValueError:
        raise Refused(f"{what}: a certificate that does not parse")


def dns_names(cert):
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {n.lower() for n in san.get_values_for_type(x509.DNSName)}


def check(ev, h, cert_key, kek, roots):
    """The files to write for event EV and hash H, or Refused.  Returns
    None when the hash holds a later certificate than the event's."""
    if not h:
        raise Refused(f"{cert_key} is gone")
    serial = ev.get("serial", "")
    if not re.fullmatch(r"[0-9A-Fa-f]{1,128}", serial) or not ev.get("not_after", "").isdigit():
        raise Refused("the event has no well-formed serial and not_after")
    if h.get("serial", "").upper() != serial.upper():
        return None
    sealed, chain = h.get("key", ""), h.get("chain", "")
    if len(sealed) > MAX_KEY or len(chain) > MAX_CHAIN:
        raise Refused("a key or chain over its size cap")
    if h.get("key_enc") != "aes-256-gcm" or not sealed.startswith("aesgcm1:"):
        raise Refused("the key is not sealed (a plain key is refused where a KEK is given)")
    try:
        key = serialization.load_pem_private_key(open_sealed(kek, sealed, cert_key), None)
    except (InvalidTag, ValueError, TypeError, UnsupportedAlgorithm):
        raise Refused("the key does not open with the certificate KEK (or is altered)")
    certs = load_certs(chain, "chain")
    leaf = certs[0]
    if key.public_key().public_bytes(DER, SPKI) != leaf.public_key().public_bytes(DER, SPKI):
        raise Refused("the key does not match the leaf")
    verify_chain(certs, roots, time.time())
    names = dns_names(leaf)
    wanted = {ev["domain"]} | {n for n in ev.get("names", "").split(",") if n}
    if not wanted <= names:
        raise Refused(f"the leaf does not name {shown(','.join(sorted(wanted - names)))}")
    if leaf.serial_number != int(serial, 16):
        raise Refused("the event's serial is not the leaf's")
    if utc_seconds(leaf, "not_valid_after") != int(ev["not_after"]):
        raise Refused("the event's not_after is not the leaf's")
    pem = [c.public_bytes(serialization.Encoding.PEM) for c in certs]
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return leaf, [("chain.pem", b"".join(pem[1:]), 0o644), ("fullchain.pem", b"".join(pem), 0o644),
                  ("key.pem", key_pem, 0o600)]


def check_not_older(directory, leaf):
    """Refused when OUT/<domain>/fullchain.pem holds a leaf issued later
    than LEAF: someone able to write Redis may put back an older
    certificate (the one revoked after a keyCompromise).  No file, or one
    that does not parse, is no objection; any other OSError stops."""
    try:
        fd = os.open(os.path.join(directory, "fullchain.pem"), os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    with os.fdopen(fd, "rb") as f:
        pem = f.read(MAX_CHAIN).decode("ascii", "replace")
    blocks = PEM_CERT.findall(pem)
    try:
        installed = utc_seconds(x509.load_pem_x509_certificate(blocks[0].encode()),
                                "not_valid_before")
    except (IndexError, ValueError):
        return
    if utc_seconds(leaf, "not_valid_before") < installed:
        raise Refused("older than the installed certificate")


def install(directory, files):
    """Each file to a new temporary file in DIRECTORY, fsync'd, then all
    renamed over their names, key.pem last: a reader sees a whole old or a
    whole new file, never half of one."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    st = os.lstat(directory)
    if not os.path.isdir(directory) or os.path.islink(directory) or st.st_uid != os.getuid():
        raise Stop(f"{directory} is not a directory of ours")
    temps = []
    try:
        for name, data, mode in files:
            tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for (name, _, _), tmp in zip(files, temps):
            os.rename(tmp, os.path.join(directory, name))
        temps = []
    finally:
        for tmp in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def handle(r, opt, prefix, eid, ev):
    """One event: True when it was served or not ours to serve, False when
    refused.  Raises Stop (and Redis errors) for what may pass on a retry."""
    if ev.get("type") != "issued":
        return True
    domain = ev.get("domain", "")
    where = f"{shown(domain)} (event {eid})"
    try:
        if len(domain) > 253 or not DOMAIN.fullmatch(domain):
            raise Refused("not a domain name")
        cert_key = f"{prefix}:cert:{domain}"
        if ev.get("cert_key", cert_key) != cert_key:
            raise Refused(f"cert_key {shown(ev['cert_key'])} is not {shown(cert_key)}")
        h = {text(k): text(v) for k, v in r.hgetall(cert_key).items()}
        try:
            checked = check(ev, h, cert_key, opt.kek, opt.roots)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # cryptography parses lazily and raises on what it cannot use
            raise Refused("a certificate or key it cannot use")
        if checked is None:
            print(f"edge: skipped {where}: {cert_key} holds a later certificate", file=sys.stderr)
            return True
        leaf, files = checked
        directory = os.path.join(opt.out, domain)
        try:
            check_not_older(directory, leaf)
            install(directory, files)
        except OSError as e:
            raise Stop(f"not written: {e}")
    except Refused as e:
        print(f"edge: refused {where}: {e}", file=sys.stderr, flush=True)
        return False
    except Stop as e:
        raise Stop(f"{where}: {e}")
    print(json.dumps({"id": eid, "domain": domain, "serial": ev["serial"],
                      "not_after": int(ev["not_after"]), "renewal": ev.get("renewal") == "1",
                      "dir": directory}), flush=True)
    return True


def save_position(path, eid):
    tmp = f"{path}.{secrets.token_hex(6)}"
    with open(tmp, "w") as f:
        f.write(eid + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def start_id(r, events, opt):
    """Where to read from: the position file, else --from; `$` is resolved
    now to the newest entry's id, so that no event added between two reads
    is missed."""
    start = opt.start
    if opt.position_file and os.path.exists(opt.position_file):
        with open(opt.position_file) as f:
            start = f.read(64).strip()
    if start == "$":
        last = r.xrevrange(events, count=1)
        start = text(last[0][0]) if last else "0-0"
    if start != "0" and not STREAM_ID.fullmatch(start):
        raise SystemExit(f"edge: not a stream id: {shown(start)}")
    return start


def run(r, opt, prefix):
    events = f"{prefix}:events"
    last = start_id(r, events, opt)
    print(f"edge: reading {events} after {last}", file=sys.stderr, flush=True)
    refused = 0
    while True:
        res = r.xread({events: last}, count=100, block=None if opt.once else 5000)
        entries = res[0][1] if res else []
        if not entries and opt.once:
            return 1 if refused else 0
        done = last
        try:
            for eid, fields in entries:
                ev = {text(k): text(v) for k, v in (fields or {}).items()}
                refused += not handle(r, opt, prefix, text(eid), ev)
                done = text(eid)
        finally:
            # up to the last event handled, never past one that stopped us
            if done != last and opt.position_file:
                save_position(opt.position_file, done)
        last = done


def parse():
    p = argparse.ArgumentParser(prog="edge.py", description="Serve the certificates dcvfleet issues.")
    p.add_argument("out", help="directory: OUT/<domain>/{fullchain,chain,key}.pem")
    p.add_argument("--ca-file", required=True, help="PEM file of the roots to trust")
    p.add_argument("--cert-kek-file", default=os.environ.get("DCV_CERT_KEK_FILE"),
                   help="the certificate KEK (default: $DCV_CERT_KEK_FILE)")
    p.add_argument("--from", dest="start", default="$", help="stream id to read after, or $")
    p.add_argument("--position-file", help="keeps the id of the last event handled")
    p.add_argument("--once", action="store_true", help="read up to the end of the stream, then exit")
    a = p.parse_args()  # exits 2 on a usage error
    if not a.cert_kek_file:
        p.error("give --cert-kek-file or DCV_CERT_KEK_FILE")
    try:
        with open(a.cert_kek_file) as f:
            a.kek = parse_kek(f.read(1024))
        with open(a.ca_file) as f:
            a.roots = load_certs(f.read(MAX_CHAIN), "--ca-file")
    except (OSError, ValueError, Refused) as e:
        p.error(str(e) if not isinstance(e, ValueError) else "the KEK file does not hold 32 bytes")
    # Another user able to write OUT could swap OUT/<domain> for a symlink
    # between our checks and our writes.
    try:
        if os.stat(a.out).st_mode & 0o022:
            p.error(f"{a.out} is group- or world-writable")
    except FileNotFoundError:
        pass
    return a


def main():
    opt = parse()
    url = os.environ.get("DCV_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = os.environ.get("DCV_PREFIX", "dcv")
    r = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
    try:
        return run(r, opt, prefix)
    except Stop as e:
        print(f"edge: stopped at {e}; the position is not moved past it", file=sys.stderr)
        return 1
    except redis.RedisError as e:
        print(f"edge: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    finally:
        r.close()


if __name__ == "__main__":
    sys.exit(main())
