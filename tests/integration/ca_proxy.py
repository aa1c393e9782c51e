"""A counting HTTPS proxy in front of Pebble: the CA's own view of what the
fleet asked, for tests that must not trust dcvfleet's counters.

  - every newOrder is recorded as the CA saw it: time (unix ms), how long
    Pebble took, the identifiers of the JWS payload, the account that
    signed it (the JWS kid), Pebble's status and order URL (CAProxy.orders(); also appended to <tmp>/ca-orders.jsonl, one
    JSON object a line, for an oracle outside the test);
  - what became of each order, in <tmp>/ca-orders.jsonl.states: time (unix
    ms), the order's id (the last part of its URL) and each new status the
    CA answered for it ("pending", "ready", "processing", "valid",
    "invalid"), or "downloaded" when it handed out its certificate; so an
    oracle knows which orders a CA that is lost had already served or
    failed, and which it took with it;
  - rateLimited on demand (block_new_orders): newOrder is answered 429 with
    a Retry-After, as Let's Encrypt does, without reaching Pebble;
  - an outage on demand (go_down): every request is answered 503 without
    a problem document, as a load balancer in front of a dead CA does;
  - ARI on demand (set_ari): the directory gains "renewalInfo" and
    /renewal-info/<certid> answers the window the test sets, with its
    Retry-After (Pebble 2.4 has no ARI);
  - no keyChange on demand (drop_keychange): the directory loses it, as at
    a CA without account key rollover;
  - a Pebble that stops answering (TESTENV.md: a lock-ordering bug under
    load) is noticed: a request that takes longer than STALL_S is answered
    503 and counted, and on_stall (if set) is called once per stall so the
    test can restart Pebble instead of waiting.

The proxy is a process of its own (this file run as a program), so that the
test's own Python work never slows the CA down: a slower CA would widen the
window in which a killed worker leaves an order nobody recorded.  The test
drives it through a small HTTP control port.  Pebble builds every URL from
the request's Host header, so the proxy passes Host through and rewrites
nothing: the fleet sees the proxy as the CA.  Requests reach Pebble through
at most CONCURRENCY connections at a time.
"""
import argparse
import base64
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STALL_S = 20
CONCURRENCY = 8


def _b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jws_payload(body):
    """The JSON payload of a flattened JWS body, or None."""
    try:
        return json.loads(_b64url(json.loads(body)["payload"]))
    except Exception:
        return None


def jws_kid(body):
    """The kid (the account URL) of a flattened JWS body's protected
    header, or None (a jwk-signed request, or not a JWS)."""
    try:
        return json.loads(_b64url(json.loads(body)["protected"])).get("kid")
    except Exception:
        return None


def problem(kind, detail, status):
    return json.dumps({"type": f"urn:ietf:params:acme:error:{kind}",
                       "detail": detail, "status": status}).encode()


# ---------------------------------------------------------------- the server

class Server:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.orders = []
        self.requests = {}
        self.stalls = 0
        self.block_until = 0.0
        self.block_retry_after = None
        self.blocked = 0
        self.down_until = 0.0
        self.refused = 0
        self.ari = None
        self.no_keychange = False
        self.ari_requests = []
        self.gate = threading.BoundedSemaphore(CONCURRENCY)
        self.local = threading.local()
        self.log = open(a.log, "a")
        self.states = open(a.log + ".states", "a")
        self.order_status = {}      # order id -> the last status answered
        self.cert_order = {}        # certificate path -> its order's id
        self.client_ctx = ssl.create_default_context(cafile=a.ca)

    def send(self, h, code, body, headers=()):
        try:
            h.send_response(code)
            for k, v in headers:
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            # headers and body in one write: two small writes would wait
            # for the client's delayed ACK (Nagle), 40 ms a response
            h._headers_buffer.append(b"\r\n")
            if h.command != "HEAD":
                h._headers_buffer.append(body)
            h.wfile.write(b"".join(h._headers_buffer))
            h._headers_buffer = []
        except (ssl.SSLError, ConnectionError, BrokenPipeError):
            # the client went away (a worker SIGKILLed mid-request)
            h.close_connection = True

    def conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection("127.0.0.1", self.a.pebble_port,
                                            context=self.client_ctx, timeout=STALL_S)
            self.local.conn = c
        return c

    def forward(self, h, method, body):
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "content-length",
                                        "transfer-encoding")}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in range(2):
            c = self.conn()
            try:
                with self.gate:
                    c.request(method, h.path, body=body, headers=headers)
                    r = c.getresponse()
                    data = r.read()
                return r.status, r.getheaders(), data
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                # a kept-alive connection Pebble closed: once more, afresh
                c.close()
                self.local.conn = None
                if attempt:
                    raise
            except Exception:
                c.close()
                self.local.conn = None
                raise

    def handle(self, h, method):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else None
        path = h.path.split("?")[0]
        kind = path.rsplit("/", 1)[0] or path
        with self.lock:
            self.requests[kind] = self.requests.get(kind, 0) + 1
            ari = dict(self.ari) if self.ari else None
            no_keychange = self.no_keychange
            blocked = time.time() < self.block_until
            retry_after, until = self.block_retry_after, self.block_until
            down = time.time() < self.down_until
            if down:
                self.refused += 1
        if down:
            return self.send(h, 503, b"the CA is down (test)\n",
                             [("Content-Type", "text/plain")])
        if path.startswith("/renewal-info/") and method == "GET" and ari:
            with self.lock:
                self.ari_requests.append((time.time(), path[len("/renewal-info/"):]))
            iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
            doc = json.dumps({"suggestedWindow": {"start": iso(ari["start"]),
                                                  "end": iso(ari["end"])}}).encode()
            return self.send(h, 200, doc, [("Content-Type", "application/json"),
                                           ("Retry-After", str(ari["retry_after"]))])
        payload = jws_payload(body) if method == "POST" and path == "/order-plz" else None
        names = None
        if payload is not None:
            names = sorted(i.get("value", "") for i in payload.get("identifiers", []))
        if names is not None and blocked:
            with self.lock:
                self.blocked += 1
            ra = retry_after if retry_after is not None else max(1, int(until - time.time() + 0.999))
            return self.send(h, 429, problem("rateLimited", "too many new orders (test)", 429),
                             [("Content-Type", "application/problem+json"),
                              ("Retry-After", str(ra))])
        t0 = time.time()
        try:
            status, headers, data = self.forward(h, method, body)
        except Exception as e:
            if time.time() - t0 >= STALL_S - 1:
                with self.lock:
                    self.stalls += 1
            return self.send(h, 503, problem("serverInternal", f"proxy: {e!r}", 503),
                             [("Content-Type", "application/problem+json")])
        if path == "/dir" and (ari or no_keychange) and status == 200:
            d = json.loads(data)
            if ari:
                d["renewalInfo"] = f"https://{h.headers.get('Host')}/renewal-info/"
            if no_keychange:
                d.pop("keyChange", None)
            data = json.dumps(d).encode()
        if method == "POST" and status == 200:
            self.note_order(path, data)
        if names is not None:
            loc = dict((k.lower(), v) for k, v in headers).get("location", "")
            rec = {"t": int(t0 * 1000), "ms": int((time.time() - t0) * 1000),
                   "names": names, "status": status, "url": loc,
                   "replaces": payload.get("replaces"), "kid": jws_kid(body)}
            with self.lock:
                self.orders.append(rec)
                self.log.write(json.dumps(rec) + "\n")
                self.log.flush()
        out = [(k, v) for k, v in headers
               if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        self.send(h, status, data, out)

    def note_order(self, path, data):
        """An order's answer: its status when new, and the path of its
        certificate; the certificate's answer is the download."""
        if path.startswith(("/my-order/", "/finalize-order/")):
            order = path.rsplit("/", 1)[1]
            try:
                doc = json.loads(data)
                status, cert = doc.get("status"), doc.get("certificate")
            except (ValueError, AttributeError):
                return
            if isinstance(cert, str):
                cpath = "/" + cert.split("://", 1)[-1].split("/", 1)[-1]
                with self.lock:
                    self.cert_order[cpath] = order
        else:
            with self.lock:
                order = self.cert_order.get(path)
            status = "downloaded"
        if order and isinstance(status, str):
            with self.lock:
                if self.order_status.get(order) == status:
                    return
                self.order_status[order] = status
                self.states.write(json.dumps({"t": int(time.time() * 1000), "order": order,
                                              "status": status}) + "\n")
                self.states.flush()

    def control(self, h, method):
        n = int(h.headers.get("Content-Length") or 0)
        req = json.loads(h.rfile.read(n) or b"{}") if n else {}
        with self.lock:
            if h.path == "/block":
                self.block_until = time.time() + req["seconds"]
                self.block_retry_after = req.get("retry_after")
            elif h.path == "/ari":
                self.ari = req
            elif h.path == "/no-keychange":
                self.no_keychange = bool(req.get("on", True))
            elif h.path == "/down":
                self.down_until = time.time() + req["seconds"]
            st = {"stalls": self.stalls, "blocked": self.blocked, "refused": self.refused,
                  "requests": self.requests, "ari_requests": len(self.ari_requests),
                  "orders_total": len(self.orders)}
            if h.path == "/state":
                st["orders"] = list(self.orders)
        self.send(h, 200, json.dumps(st).encode(), [("Content-Type", "application/json")])


def serve(argv):
    p = argparse.ArgumentParser()
    for k in ("port", "control-port", "pebble-port"):
        p.add_argument("--" + k, type=int, required=True)
    for k in ("cert", "key", "ca", "log"):
        p.add_argument("--" + k, required=True)
    a = p.parse_args(argv)
    srv = Server(a)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self):
            srv.handle(self, "GET")

        def do_HEAD(self):
            srv.handle(self, "HEAD")

        def do_POST(self):
            srv.handle(self, "POST")

        def log_message(self, *x):
            pass

    class C(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            srv.control(self, "GET")

        def do_POST(self):
            srv.control(self, "POST")

        def log_message(self, *x):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    httpd.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    ctl = ThreadingHTTPServer(("127.0.0.1", a.control_port), C)
    ctl.daemon_threads = True
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    httpd.serve_forever()


# ------------------------------------------------------------- the handle

class CAProxy:
    """The proxy in front of PEBBLE (a pebble_env.Pebble), as a child
    process; stopped by PID with stop()."""

    def __init__(self, pebble, tmpdir):
        import harness
        self.pebble = pebble
        self.port = harness.free_port()
        self.control_port = harness.free_port()
        self.log_path = os.path.join(tmpdir, "ca-orders.jsonl")
        self.on_stall = None
        self._stalls_seen = 0
        self._args = [sys.executable, os.path.abspath(__file__), "serve",
                      "--port", self.port, "--control-port", self.control_port,
                      "--pebble-port", pebble.port, "--cert",
                      os.path.join(pebble.dir, "server.pem"),
                      "--key", os.path.join(pebble.dir, "server.key"), "--ca", pebble.ca,
                      "--log", self.log_path]
        self._logpath = os.path.join(tmpdir, "ca-proxy.log")
        self._spawn()
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_stalls, daemon=True)
        self._watch.start()

    def _spawn(self):
        import harness
        self.proc = harness.Proc(self._args, self._logpath)
        harness.wait_port(self.port, proc=self.proc)
        harness.wait_port(self.control_port, proc=self.proc)

    def kill(self):
        """The CA stopped: the proxy is SIGKILLed, its port refuses
        connections (Pebble behind it keeps its accounts and orders) until
        start_again()."""
        self.proc.kill()
        self.proc.log.close()

    def start_again(self):
        """The proxy again on the same ports, with a fresh record of what
        it saw (orders() then lists the new orders only)."""
        self._spawn()

    def _call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def _watch_stalls(self):
        while not self._stop.wait(1.0):
            try:
                n = self._call("/stats")["stalls"]
            except Exception:
                continue
            if n > self._stalls_seen:
                self._stalls_seen = n
                if self.on_stall:
                    self.on_stall()

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def block_new_orders(self, seconds, retry_after=None):
        """newOrder answers rateLimited for SECONDS from now, telling
        Retry-After: RETRY_AFTER seconds (default: the rest of the block)."""
        self._call("/block", {"seconds": seconds, "retry_after": retry_after})

    def go_down(self, seconds):
        """Every request is answered 503 for SECONDS from now (an outage
        of the CA, which keeps its orders)."""
        self._call("/down", {"seconds": seconds})

    def set_ari(self, start, end, retry_after=3):
        """Offers ARI: every certificate's suggested window is [START, END]
        (unix seconds), asked again after RETRY_AFTER seconds."""
        self._call("/ari", {"start": start, "end": end, "retry_after": retry_after})

    def drop_keychange(self, on=True):
        """The directory lists no keyChange (ON) or Pebble's again."""
        self._call("/no-keychange", {"on": on})

    def stats(self):
        """stalls, blocked (newOrders answered rateLimited), refused
        (requests answered 503 by go_down), requests per path, ari_requests,
        orders_total."""
        return self._call("/stats")

    @property
    def stalls(self):
        return self.stats()["stalls"]

    @property
    def blocked(self):
        return self.stats()["blocked"]

    @property
    def ari_requests(self):
        return range(self.stats()["ari_requests"])

    def orders(self):
        """Every newOrder the CA saw, oldest first."""
        return self._call("/state")["orders"]

    def new_orders(self):
        """The newOrders Pebble created (status 201), oldest first."""
        return [o for o in self.orders() if o["status"] == 201]

    def stop(self):
        self._stop.set()
        if self.proc:
            self.proc.stop()
            self.proc = None


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        sys.exit("usage: ca_proxy.py serve --port P --control-port C --pebble-port Q "
                 "--cert F --key F --ca F --log F")
