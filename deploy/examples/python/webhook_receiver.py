#!/usr/bin/env python3
"""A receiver for dcvfleet's webhook TXT provider (schemas/webhook.md) that
updates a BIND (or any RFC 2136) primary with nsupdate and a TSIG key.

Python 3 standard library only, plus `nsupdate` (Debian: bind9-dnsutils).

    webhook_receiver.py --listen 127.0.0.1:8053 --zone validation.example.net \\
        --dns-server 127.0.0.1 --dns-port 53 --tsig-key-file /etc/dcv/tsig.key \\
        [--secret-file /run/secrets/webhook] [--tls-cert C --tls-key K]

The shared secret comes from --secret-file or DCV_WEBHOOK_SECRET (trailing
whitespace dropped, as dcvfleet does with its own copy).
Without --tls-cert it serves plain HTTP: bind it to loopback then (dcvfleet
sends http:// only to loopback unless provider.webhook.allow_http).

    webhook_receiver.py vectors schemas/webhook-vectors.yaml

checks the signature test vectors and exits 0 when every one matches.

What it does for a request, in order (each answer is what dcvfleet reads):
  - a client silent for 5 s is dropped;
  - body larger than 4 KiB -> 413; timestamp missing -> 401; signature
    wrong -> 401; timestamp more than --max-skew seconds (300) from now
    -> 503 (signed: a clock is off, which dcvfleet retries rather than
    failing the domain); a signature seen already within the window (a
    replay) -> 401 (a retry by dcvfleet carries a new "id", hence a new
    signature);
  - body not the JSON expected, or the name outside --zone -> 400;
  - nsupdate: ok -> 200 {"ok":true}; REFUSED, NOTAUTH, NOTZONE (the key
    may not do it) or a key file it cannot read -> 403; a timeout, SERVFAIL or anything else -> 503
    (dcvfleet retries those).
Both actions are idempotent, as the protocol requires: adding a value
that is there and deleting one that is not both succeed in RFC 2136.
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 4096
VALUE_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e ]{1,255}$")   # printable, no " or \
NAME_RE = re.compile(r"^[a-z0-9_.-]{1,253}$")


def signature(secret, timestamp, body):
    """hex HMAC-SHA256(secret, "<timestamp>.<body>") (bytes in, str out)."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class Replays:
    """Signatures seen within the skew window, forgotten after it."""

    def __init__(self, window):
        self.window = window
        self.seen = {}
        self.lock = threading.Lock()

    def first_time(self, sig, now):
        with self.lock:
            for s, t in list(self.seen.items()):
                if t < now - 2 * self.window:
                    del self.seen[s]
            if sig in self.seen:
                return False
            self.seen[sig] = now
            return True


def nsupdate(args, action, name, value, ttl):
    op = f"update add {name}. {ttl} TXT \"{value}\"" if action == "present" \
        else f"update delete {name}. TXT \"{value}\""
    script = (f"server {args.dns_server} {args.dns_port}\nzone {args.zone}\n{op}\nsend\n")
    try:
        p = subprocess.run(["nsupdate", "-v", "-k", args.tsig_key_file, "-t", "5"],
                           input=script, capture_output=True, text=True, timeout=15,
                           env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    except subprocess.TimeoutExpired:
        return 503, "nsupdate timed out"
    if p.returncode == 0:
        return 200, None
    out = (p.stdout + p.stderr).strip().splitlines()
    last = out[-1] if out else f"nsupdate exited {p.returncode}"
    # the key may not do it, or there is no key: retrying will not help
    # (the message is the line that says so, not nsupdate's last one)
    for line in out:
        if any(w in line for w in ("REFUSED", "NOTAUTH", "NOTZONE", "could not read key")):
            return 403, line.strip()
    return 503, last


def make_handler(args, secret, replays):
    zone = args.zone.lower().rstrip(".")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 5   # a client that sends nothing more for 5 s is dropped

        def answer(self, code, error=None):
            body = json.dumps({"ok": True} if error is None else {"error": error}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            try:
                n = int(self.headers.get("Content-Length", "-1"))
            except ValueError:
                n = -1
            if n < 0 or n > BODY_MAX:
                self.close_connection = True
                return self.answer(413, "body missing or larger than 4 KiB")
            body = self.rfile.read(n)
            ts = self.headers.get("X-DCV-Timestamp", "")
            sig = self.headers.get("X-DCV-Signature", "")
            now = int(time.time())
            # headers arrive as latin-1: "\u00b2".isdigit() is true, and
            # compare_digest() refuses a str that is not ASCII
            if not (ts.isascii() and ts.isdigit() and len(ts) <= 12):
                return self.answer(401, "timestamp missing")
            # over the header as sent: "0" + ts is not the same request
            want = "sha256=" + signature(secret, ts, body)
            if not hmac.compare_digest(want.encode(), sig.encode("latin-1")):
                return self.answer(401, "bad signature")
            if abs(now - int(ts)) > args.max_skew:
                return self.answer(503, f"timestamp {int(ts) - now} s from the "
                                   "receiver's clock: check NTP on both sides")
            if not replays.first_time(sig, now):
                return self.answer(401, "replayed request")
            try:
                doc = json.loads(body)
                action, name, value = doc["action"], doc["name"].lower(), doc["value"]
                ttl = int(doc.get("ttl", 60))
            except (ValueError, KeyError, TypeError, AttributeError):
                return self.answer(400, "not the JSON document expected")
            if action not in ("present", "cleanup") or not NAME_RE.match(name) \
                    or not VALUE_RE.match(str(value)) or not 1 <= ttl <= 86400:
                return self.answer(400, "bad action, name, value or ttl")
            if name != zone and not name.endswith("." + zone):
                return self.answer(400, f"{name} is not in {zone}")
            code, err = nsupdate(args, action, name, value, ttl)
            self.answer(code, err)

        def log_request(self, code="-", size="-"):
            # one line per request: the path without its query, which may
            # hold a token (dcvfleet never names it either); never the
            # secret (it is never received)
            path = getattr(self, "path", "").split("?", 1)[0]
            self.log_message("%s %s %s", getattr(self, "command", "-"), path, code)

        def log_message(self, fmt, *a):
            sys.stderr.write("webhook: %s %s\n" % (self.address_string(), fmt % a))

    return Handler


def check_vectors(path):
    import yaml  # python3-yaml, for the vectors file only
    with open(path) as f:
        doc = yaml.safe_load(f)
    bad = 0
    for v in doc["vectors"]:
        got = signature(v["secret"].encode(), v["timestamp"], v["body"].encode())
        ok = got == v["signature"]
        bad += not ok
        print(f"{'ok' if ok else 'MISMATCH'} {v['name']}")
    return 1 if bad else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "vectors":
        return check_vectors(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:8053")
    ap.add_argument("--zone", required=True)
    ap.add_argument("--dns-server", default="127.0.0.1")
    ap.add_argument("--dns-port", type=int, default=53)
    ap.add_argument("--tsig-key-file", required=True)
    ap.add_argument("--secret-file")
    ap.add_argument("--max-skew", type=int, default=300)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    if args.secret_file:
        with open(args.secret_file, "rb") as f:
            secret = f.read().rstrip()
    else:
        secret = os.environ.get("DCV_WEBHOOK_SECRET", "").rstrip().encode()
    if len(secret) < 16:
        print("webhook_receiver: need a secret of at least 16 bytes "
              "(--secret-file or DCV_WEBHOOK_SECRET)", file=sys.stderr)
        return 2
    host, _, port = args.listen.rpartition(":")
    httpd = ThreadingHTTPServer((host.strip("[]"), int(port)),
                                make_handler(args, secret, Replays(args.max_skew)))
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # the handshake in the request's thread, under its timeout: done in
        # accept(), one silent client would stop the server
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
    print(f"webhook_receiver: listening on {args.listen} for {args.zone}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
