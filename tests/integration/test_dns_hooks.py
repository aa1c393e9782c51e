"""The webhook TXT provider at the provider level (dns_driver txt-add /
txt-remove), against a scripted HTTP receiver in this process (what it
sends, how each answer is classified, retries, bounds) and against the
example receiver (deploy/examples/python/webhook_receiver.py: signatures,
replays, stale timestamps)."""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import harness
from dns_env import driver1, yaml_dump

ZONE = "validation.test"
SECRET = "s3cr3t-" + os.urandom(12).hex()
RECEIVER = os.path.join(harness.SOURCE, "deploy", "examples", "python", "webhook_receiver.py")
VECTORS = os.path.join(harness.SOURCE, "schemas", "webhook-vectors.yaml")


class Scripted:
    """An HTTP receiver that answers each request with the next of
    self.answers ((status, body bytes, delay s); the last one repeats) and
    keeps what it got (headers, raw body)."""

    def __init__(self):
        self.answers = [(200, b"", 0)]
        self.got = []
        me = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                me.got.append((dict(self.headers), body, self.path))
                code, text, delay = me.answers[min(len(me.got) - 1, len(me.answers) - 1)]
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hook():
    s = Scripted()
    yield s
    s.stop()


@pytest.fixture
def tmp():
    d = harness.tmpdir("dcv-hooks-")
    yield d
    harness.rmtree(d)


def config(tmp, url, secret=SECRET, tries=3, timeout_ms=2000, **extra):
    path = os.path.join(tmp, f"hook-{len(os.listdir(tmp))}.yaml")
    with open(path, "w") as f:
        f.write(yaml_dump({"provider": {"type": "webhook", "zone": ZONE, "ttl": 30,
                                        "timeout_ms": timeout_ms, "tries": tries,
                                        "webhook": {"url": url, "secret": secret, **extra}}}))
    return path


def test_request_signed_as_documented(hook, tmp):
    cfg = config(tmp, f"http://127.0.0.1:{hook.port}/dcv/hook?x=1")
    name = "a.c1.test." + ZONE
    assert driver1(cfg, "txt-add", name, "val-1")["status"] == "ok"
    assert driver1(cfg, "txt-remove", name, "val-1")["status"] == "ok"
    assert len(hook.got) == 2
    ids = set()
    for (h, body, path), action in zip(hook.got, ("present", "cleanup")):
        assert path == "/dcv/hook?x=1"
        assert h["Content-Type"] == "application/json"
        ts = int(h["X-DCV-Timestamp"])
        assert abs(ts - time.time()) < 30
        want = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        assert h["X-DCV-Signature"] == "sha256=" + want
        doc = json.loads(body)
        assert doc == {"action": action, "name": name, "value": "val-1", "zone": ZONE,
                       "ttl": 30, "id": doc["id"]}
        assert len(doc["id"]) == 32
        ids.add(doc["id"])
        assert SECRET.encode() not in body and SECRET not in json.dumps(h)
    assert len(ids) == 2


def test_loopback_receiver_not_sent_through_a_proxy(hook, tmp, monkeypatch):
    # a proxy the pod's environment names, where nothing listens: the
    # sidecar receiver is reached directly all the same
    dead = f"http://127.0.0.1:{harness.free_port()}"
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, dead)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    r = driver1(config(tmp, f"http://127.0.0.1:{hook.port}/"), "txt-add", "a." + ZONE, "v")
    assert r["status"] == "ok", r
    assert len(hook.got) == 1


def test_transient_answers_are_retried_with_new_ids(hook, tmp):
    hook.answers = [(503, b"", 0), (429, b"", 0), (200, b"{}", 0)]
    r = driver1(config(tmp, f"http://127.0.0.1:{hook.port}/"), "txt-add", "a." + ZONE, "v")
    assert r["status"] == "ok", r
    assert len(hook.got) == 3
    assert len({json.loads(b)["id"] for _, b, _ in hook.got}) == 3
    assert len({h["X-DCV-Signature"] for h, _, _ in hook.got}) == 3


def test_transient_after_the_tries(hook, tmp):
    hook.answers = [(502, b"Bad gateway\nupstream said\x1b[31m", 0)]
    r = driver1(config(tmp, f"http://127.0.0.1:{hook.port}/", tries=2), "txt-add", "a." + ZONE, "v")
    assert r["status"] == "transient" and "HTTP 502 (Bad gateway)" in r["message"], r
    assert len(hook.got) == 2


@pytest.mark.parametrize("code", [400, 401, 403, 404, 301])
def test_permanent_at_once(hook, tmp, code):
    hook.answers = [(code, json.dumps({"error": "zone \u001b not ours"}).encode(), 0)]
    r = driver1(config(tmp, f"http://127.0.0.1:{hook.port}/p/a/t/h?token=abc"),
                "txt-remove", "a." + ZONE, "v")
    assert r["status"] == "permanent", r
    assert len(hook.got) == 1
    assert f"HTTP {code} (zone ? not ours)" in r["message"]
    # the origin only: no path, no query, no secret
    assert f"http://127.0.0.1:{hook.port}:" in r["message"]
    assert "token" not in r["message"] and SECRET not in r["message"]


def test_large_answer_and_slow_receiver_are_transient(hook, tmp):
    hook.answers = [(200, b"x" * (200 << 10), 0)]
    r = driver1(config(tmp, f"http://127.0.0.1:{hook.port}/", tries=1), "txt-add", "a." + ZONE, "v")
    assert r["status"] == "transient" and "64 KiB" in r["message"], r
    hook.got.clear()
    hook.answers = [(200, b"", 3)]
    t0 = time.monotonic()
    r = driver1(config(tmp, f"http://127.0.0.1:{hook.port}/", tries=2, timeout_ms=300),
                "txt-add", "a." + ZONE, "v")
    assert r["status"] == "transient", r
    assert time.monotonic() - t0 < 2.5
    # both tries reached it (its threads may log them a moment later)
    harness.wait_until(lambda: len(hook.got) == 2, 5, interval=0.05, what="two tries received")


def test_deadline_cuts_the_tries(hook, tmp):
    hook.answers = [(200, b"", 3)]
    cfg = config(tmp, f"http://127.0.0.1:{hook.port}/", tries=3, timeout_ms=2000)
    t0 = time.monotonic()
    r = driver1(cfg, "--deadline-ms", 400, "txt-add", "a." + ZONE, "v")
    assert r["status"] == "transient" and "deadline" in r["message"], r
    assert time.monotonic() - t0 < 1.5
    # one try reached it; the driver has exited, so no other can come
    harness.wait_until(lambda: len(hook.got) >= 1, 5, interval=0.05, what="one try received")
    assert len(hook.got) == 1


def test_no_receiver_is_transient(tmp):
    r = driver1(config(tmp, f"http://127.0.0.1:{harness.free_port()}/", tries=2),
                "txt-add", "a." + ZONE, "v")
    assert r["status"] == "transient", r


def test_http_elsewhere_refused(tmp):
    out = subprocess.run([harness.program("dns_driver"), config(tmp, "http://192.0.2.7/"),
                          "txt-add", "a." + ZONE, "v"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "allow_http" in out.stderr, out.stderr
    assert SECRET not in out.stderr


# ------------------------------------------------ the example receiver

def test_receiver_vectors():
    r = subprocess.run([sys.executable, RECEIVER, "vectors", VECTORS],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.count("ok ") == 3, r.stdout + r.stderr


def test_receiver_vectors_detect_a_wrong_one(tmp):
    bad = os.path.join(tmp, "bad.yaml")
    with open(VECTORS) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("1767225600", "1767225609", 1))
    r = subprocess.run([sys.executable, RECEIVER, "vectors", bad], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "MISMATCH present" in r.stdout


def tls_receiver(tmp):
    """The example receiver over TLS on a free port: (its CA file, port, Proc)."""
    from pebble_env import make_tls
    ca = make_tls(tmp)
    port = harness.free_port()
    key = os.path.join(tmp, "k.key")
    with open(key, "w") as f:
        f.write('key "k." { algorithm hmac-sha256; secret "c2VjcmV0"; };\n')
    p = harness.Proc([sys.executable, RECEIVER, "--listen", f"127.0.0.1:{port}", "--zone", ZONE,
                      "--dns-port", harness.free_port(), "--tsig-key-file", key,
                      "--tls-cert", os.path.join(tmp, "server.pem"),
                      "--tls-key", os.path.join(tmp, "server.key")],
                     os.path.join(tmp, "receiver-tls.log"), env={"DCV_WEBHOOK_SECRET": SECRET})
    harness.wait_port(port, proc=p)
    return ca, port, p


def test_https_with_ca_bundle(tmp):
    """The example receiver over TLS: trusted through webhook.ca_bundle the
    request reaches it (its nsupdate then fails: 503, transient, with its
    words); without the bundle TLS fails (transient, nothing received)."""
    ca, port, p = tls_receiver(tmp)
    try:
        r = driver1(config(tmp, f"https://127.0.0.1:{port}/", tries=1, ca_bundle=ca),
                    "txt-add", "a." + ZONE, "v")
        assert r["status"] == "transient" and "HTTP 503" in r["message"], r
        r = driver1(config(tmp, f"https://127.0.0.1:{port}/", tries=1),
                    "txt-add", "a." + ZONE, "v")
        assert r["status"] == "transient" and "HTTP" not in r["message"], r
        assert p.output().count("POST / 503") == 1
    finally:
        p.stop()


@pytest.fixture
def receiver(tmp):
    port = harness.free_port()
    key = os.path.join(tmp, "k.key")
    with open(key, "w") as f:
        f.write('key "k." { algorithm hmac-sha256; secret "c2VjcmV0"; };\n')
    # nsupdate goes to a port where nothing listens: the DNS side fails
    p = harness.Proc([sys.executable, RECEIVER, "--listen", f"127.0.0.1:{port}", "--zone", ZONE,
                      "--dns-port", harness.free_port(), "--tsig-key-file", key],
                     os.path.join(tmp, "receiver.log"), env={"DCV_WEBHOOK_SECRET": SECRET})
    harness.wait_port(port, proc=p)
    yield port
    p.stop()


def post(port, body, ts, sig, prefix="sha256=", path="/"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                 headers={"X-DCV-Timestamp": str(ts),
                                          "X-DCV-Signature": prefix + sig})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_receiver_refuses_bad_signature_replay_and_stale(receiver, tmp):
    body = json.dumps({"action": "present", "name": "x." + ZONE, "value": "v",
                       "zone": ZONE, "ttl": 30, "id": os.urandom(16).hex()}).encode()
    ts = int(time.time())
    sig = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert post(receiver, body, ts, "0" * 64)[0] == 401
    # a good signature reaches nsupdate, which has no server: transient
    st, doc = post(receiver, body, ts, sig)
    assert st == 503, doc
    # the same request again is a replay
    assert post(receiver, body, ts, sig) == (401, {"error": "replayed request"})
    old = ts - 3600
    osig = hmac.new(SECRET.encode(), f"{old}.".encode() + body, hashlib.sha256).hexdigest()
    st, doc = post(receiver, body, old, osig)
    # signed but stale: a clock is off somewhere, transient (a 503)
    assert st == 503 and "-3600 s from the receiver's clock" in doc["error"], doc
    # unsigned and stale: refused as any bad signature
    assert post(receiver, body, old, "0" * 64) == (401, {"error": "bad signature"})
    # the provider with the wrong secret: permanent, the secret unprinted
    r = driver1(config(tmp, f"http://127.0.0.1:{receiver}/", secret="wrong-secret-0123456789"),
                "txt-add", "a." + ZONE, "v")
    assert r["status"] == "permanent" and "HTTP 401 (bad signature)" in r["message"], r
    assert "wrong-secret" not in r["message"]
    # a name outside the zone is refused by the receiver too
    nb = json.dumps({"action": "present", "name": "evil.example", "value": "v",
                     "zone": ZONE, "ttl": 30, "id": "1" * 32}).encode()
    nsig = hmac.new(SECRET.encode(), f"{ts}.".encode() + nb, hashlib.sha256).hexdigest()
    assert post(receiver, nb, ts, nsig)[0] == 400


def test_receiver_refuses_headers_not_ascii(receiver):
    # latin-1 digits and signatures: a 401, not an exception in the handler
    body = b'{"action":"present"}'
    ts = int(time.time())
    assert post(receiver, body, ts, "\u00e9" * 64)[0] == 401
    assert post(receiver, body, "\u00b2", "0" * 64)[0] == 401
    assert post(receiver, body, "9" * 5000, "0" * 64)[0] == 401


def test_receiver_drops_a_silent_client(receiver):
    s = socket.create_connection(("127.0.0.1", receiver), timeout=30)
    try:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")   # and nothing more
        t0 = time.monotonic()
        assert s.recv(1024) == b""   # closed by the receiver
        assert time.monotonic() - t0 < 20
    finally:
        s.close()


def test_receiver_without_its_key_is_permanent(tmp):
    # a key file nsupdate cannot read is a configuration problem: a 403,
    # not a 503 that the workers would retry for ever
    port = harness.free_port()
    p = harness.Proc([sys.executable, RECEIVER, "--listen", f"127.0.0.1:{port}", "--zone", ZONE,
                      "--dns-port", harness.free_port(),
                      "--tsig-key-file", os.path.join(tmp, "missing.key")],
                     os.path.join(tmp, "receiver-nokey.log"), env={"DCV_WEBHOOK_SECRET": SECRET})
    try:
        harness.wait_port(port, proc=p)
        r = driver1(config(tmp, f"http://127.0.0.1:{port}/", timeout_ms=10000),
                    "txt-add", "a." + ZONE, "v")
        assert r["status"] == "permanent" and "could not read key" in r["message"], r
    finally:
        p.stop()


def test_receiver_signs_the_timestamp_as_sent(receiver):
    # a captured request with "0" before its timestamp is another string
    # under the HMAC: refused, whatever the replay cache holds
    body = json.dumps({"action": "present", "name": "y." + ZONE, "value": "v",
                       "zone": ZONE, "ttl": 30, "id": os.urandom(16).hex()}).encode()
    ts = int(time.time())
    sig = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert post(receiver, body, f"0{ts}", sig) == (401, {"error": "bad signature"})


def test_receiver_log_has_no_query(receiver, tmp):
    # the URL's query may hold a token: the receiver's log line leaves it out
    token = "tok-" + os.urandom(8).hex()
    assert post(receiver, b"{}", int(time.time()), "0" * 64, path=f"/dcv?t={token}")[0] == 401
    log = os.path.join(tmp, "receiver.log")
    harness.wait_until(lambda: "401" in open(log).read(), 10, interval=0.05,
                       what="the request logged")
    assert token not in open(log).read()


def test_tls_receiver_not_stopped_by_an_idle_connection(tmp):
    # a connection that never starts its TLS handshake holds one thread
    # for a while, not the receiver's accept loop
    ca, port, p = tls_receiver(tmp)
    idle = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        r = driver1(config(tmp, f"https://127.0.0.1:{port}/", tries=1, timeout_ms=3000,
                           ca_bundle=ca), "txt-add", "a." + ZONE, "v")
        assert r["status"] == "transient" and "HTTP 503" in r["message"], r
    finally:
        idle.close()
        p.stop()
