"""A counting HTTPS proxy in front of Pebble: the CA's own view of what the
fleet asked, for tests that must not trust dcvfleet's counters.

  - every newOrder is recorded as the CA saw it: time (unix ms), the
    identifiers of the JWS payload, Pebble's status and order URL
    (CAProxy.orders; also appended to <tmp>/ca-orders.jsonl, one JSON
    object a line, for an oracle outside the test);
  - rateLimited on demand (block_new_orders): newOrder is answered 429 with
    a Retry-After, as Let's Encrypt does, without reaching Pebble;
  - ARI on demand (set_ari): the directory gains "renewalInfo" and
    /renewal-info/<certid> answers the window the test sets, with its
    Retry-After (Pebble 2.4 has no ARI);
  - a Pebble that stops answering (TESTENV.md: a lock-ordering bug under
    load) is noticed: a request that takes longer than STALL_S is answered
    503 and counted in CAProxy.stalls, and on_stall (if set) is called once
    per stall so the test can restart Pebble instead of waiting.

Pebble builds every URL from the request's Host header, so the proxy passes
Host through and rewrites nothing: the fleet sees the proxy as the CA.
Requests reach Pebble through at most CONCURRENCY connections at a time.
"""
import base64
import http.client
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness

STALL_S = 20


def _b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def new_order_names(body):
    """The sorted dns identifiers of a newOrder JWS body, or None."""
    try:
        jws = json.loads(body)
        payload = json.loads(_b64url(jws["payload"]))
        return tuple(sorted(i["value"] for i in payload["identifiers"]))
    except Exception:
        return None


def problem(kind, detail):
    return json.dumps({"type": f"urn:ietf:params:acme:error:{kind}",
                       "detail": detail, "status": 429}).encode()


class CAProxy:
    def __init__(self, pebble, tmpdir, concurrency=8, stall_s=STALL_S):
        self.pebble = pebble
        self.tmpdir = tmpdir
        self.stall_s = stall_s
        self.lock = threading.Lock()
        self.orders = []
        self.requests = {}
        self.stalls = 0
        self.on_stall = None
        self.block_until = 0.0
        self.block_retry_after = 0
        self.blocked = 0
        self.ari = None
        self.ari_requests = []
        self.gate = threading.BoundedSemaphore(concurrency)
        self.local = threading.local()
        self.log = open(os.path.join(tmpdir, "ca-orders.jsonl"), "a")
        me = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                me._handle(self, "GET")

            def do_HEAD(self):
                me._handle(self, "HEAD")

            def do_POST(self):
                me._handle(self, "POST")

            def log_message(self, *a):
                pass

        self.port = harness.free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(pebble.dir, "server.pem"),
                            os.path.join(pebble.dir, "server.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.client_ctx = ssl.create_default_context(cafile=pebble.ca)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ knobs

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def block_new_orders(self, seconds, retry_after=None):
        """newOrder answers rateLimited for SECONDS from now, telling
        Retry-After: RETRY_AFTER seconds (default: the rest of the block)."""
        with self.lock:
            self.block_until = time.time() + seconds
            self.block_retry_after = retry_after

    def set_ari(self, start, end, retry_after=3):
        """Offers ARI: every certificate's suggested window is [START, END]
        (unix seconds), asked again after RETRY_AFTER seconds."""
        with self.lock:
            self.ari = {"start": start, "end": end, "retry_after": retry_after}

    def new_orders(self):
        """The newOrders Pebble created (status 201), oldest first."""
        with self.lock:
            return [o for o in self.orders if o["status"] == 201]

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        self.log.close()

    # ---------------------------------------------------------- serving

    def _send(self, h, code, body, headers=()):
        try:
            h.send_response(code)
            for k, v in headers:
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(body)
        except (ssl.SSLError, ConnectionError, BrokenPipeError):
            # the client went away (a worker SIGKILLed mid-request)
            h.close_connection = True

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection("127.0.0.1", self.pebble.port,
                                            context=self.client_ctx, timeout=self.stall_s)
            self.local.conn = c
        return c

    def _forward(self, h, method, body):
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "content-length",
                                        "transfer-encoding")}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in range(2):
            c = self._conn()
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
            except TimeoutError:
                c.close()
                self.local.conn = None
                raise

    def _handle(self, h, method):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else None
        path = h.path.split("?")[0]
        with self.lock:
            self.requests[path.rsplit("/", 1)[0] or path] = \
                self.requests.get(path.rsplit("/", 1)[0] or path, 0) + 1
            ari = dict(self.ari) if self.ari else None
            blocked = time.time() < self.block_until
            retry_after = self.block_retry_after
            until = self.block_until
        if path.startswith("/renewal-info/") and method == "GET" and ari:
            with self.lock:
                self.ari_requests.append((time.time(), path[len("/renewal-info/"):]))
            iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
            doc = json.dumps({"suggestedWindow": {"start": iso(ari["start"]),
                                                  "end": iso(ari["end"])}}).encode()
            return self._send(h, 200, doc, [("Content-Type", "application/json"),
                                            ("Retry-After", str(ari["retry_after"]))])
        names = new_order_names(body) if method == "POST" and path == "/order-plz" else None
        if names is not None and blocked:
            with self.lock:
                self.blocked += 1
            ra = retry_after if retry_after is not None else max(1, int(until - time.time() + 0.999))
            return self._send(h, 429, problem("rateLimited", "too many new orders (test)"),
                              [("Content-Type", "application/problem+json"),
                               ("Retry-After", str(ra))])
        t0 = time.time()
        try:
            status, headers, data = self._forward(h, method, body)
        except Exception as e:
            stalled = time.time() - t0 >= self.stall_s - 1
            if stalled:
                with self.lock:
                    self.stalls += 1
                if self.on_stall:
                    threading.Thread(target=self.on_stall, daemon=True).start()
            return self._send(h, 503, json.dumps({
                "type": "urn:ietf:params:acme:error:serverInternal",
                "detail": f"proxy: {e!r}"}).encode(),
                [("Content-Type", "application/problem+json")])
        if path == "/dir" and ari and status == 200:
            d = json.loads(data)
            d["renewalInfo"] = f"https://{h.headers.get('Host')}/renewal-info/"
            data = json.dumps(d).encode()
        if names is not None:
            loc = dict((k.lower(), v) for k, v in headers).get("location", "")
            rec = {"t": int(t0 * 1000), "names": list(names), "status": status, "url": loc}
            with self.lock:
                self.orders.append(rec)
                self.log.write(json.dumps(rec) + "\n")
                self.log.flush()
        out = [(k, v) for k, v in headers
               if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        self._send(h, status, data, out)
