#!/usr/bin/python3
"""Writes the seed corpora of tests/fuzz/corpus/ from real messages.

Run from anywhere: python3 tests/fuzz/make_corpus.py [TARGET...].  Each
target's seeds come from where the project already keeps real input:

  job       the schema's test vectors (schemas/job-vectors.yaml) and jobs as
            dcvctl and the stages write them
  acme      a whole issuance against a real Pebble (also acme_cert: the chain)
  dns       answers of a real named (dns_msg, caa, rfc2136)
  powerdns  answers of a real pdns_server's API
  cfg       the shipped configuration and the README's
  webhook   answers of the example receiver (deploy/examples/python/
            webhook_receiver.py), and webhook URLs

The servers are the test suite's own (tests/integration: pebble_env.py,
dns_env.py), started on loopback and stopped again.

A seed file is named after what it holds; files already there (inputs that
once crashed a harness, added by hand as crash-<what>) are left alone.
"""
import base64
import hashlib
import json
import os
import ssl
import struct
import sys
import time
import urllib.error
import urllib.request

import msgpack
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def job():
    with open(os.path.join(TOP, "schemas", "job-vectors.yaml")) as f:
        vectors = yaml.safe_load(f)["vectors"]
    for name, v in vectors.items():
        write("job", f"vector-{name}", bytes.fromhex(v["hex"]))
    # what dcvctl onboard and the stages put on the streams
    base = {"v": 1, "id": "0123456789abcdef0123456789abcdef", "domain": "shop.example.com",
            "tenant": "cust-1", "attempt": 0, "created_at": 1700000000000,
            "since": 1700000000000}
    write("job", "onboard", msgpack.packb(base))
    write("job", "names", msgpack.packb(dict(base, ctx={"names": "shop.example.com,www.shop.example.com"})))
    write("job", "stage-ctx", msgpack.packb(dict(
        base, attempt=3, gen=2, ctx={"confirmed": 2, "order": "https://ca.example/order/1",
                                     "published": 1700000001000, "replaces": "aGVsbG8.d29ybGQ"})))
    write("job", "ctx-full", msgpack.packb(dict(base, ctx={f"k{i}": i for i in range(32)})))


# ---- ACME: a whole issuance against a real Pebble ----------------------------

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Acme:
    """A minimal RFC 8555 client (ES256), only to record what Pebble says."""

    def __init__(self, directory, cafile):
        from cryptography.hazmat.primitives.asymmetric import ec
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.key = ec.generate_private_key(ec.SECP256R1())
        n = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64u(n.x.to_bytes(32, "big")),
                    "y": b64u(n.y.to_bytes(32, "big"))}
        self.kid = None
        self.dir_raw = self.get(directory)[1]
        self.dir = json.loads(self.dir_raw)

    def http(self, req):
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=20) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def get(self, url):
        return self.http(urllib.request.Request(url))

    def nonce(self):
        req = urllib.request.Request(self.dir["newNonce"], method="HEAD")
        return self.http(req)[2]["Replay-Nonce"]

    def post(self, url, payload, nonce=None):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils
        prot = {"alg": "ES256", "nonce": nonce or self.nonce(), "url": url}
        if self.kid:
            prot["kid"] = self.kid
        else:
            prot["jwk"] = self.jwk
        p64 = b64u(json.dumps(prot).encode())
        b64 = "" if payload is None else b64u(json.dumps(payload).encode())
        der = self.key.sign(f"{p64}.{b64}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        body = json.dumps({"protected": p64, "payload": b64,
                           "signature": b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))})
        req = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/jose+json"})
        return self.http(req)


def acme_seed(name, which, body):
    write("acme", name, bytes([which]) + body)


def problem_seed(name, code, retry_after, body):
    write("acme", name, bytes([4]) + struct.pack(">H", code) + (retry_after or "").encode()
          + b"\n" + body)


def acme():
    """Directory, account, order, authorizations, challenge, finalize and the
    certificate chain from a real Pebble (PEBBLE_VA_ALWAYS_VALID: no DNS),
    and the problem documents it sends; renewal information and Retry-After
    as RFC 9773 and RFC 9110 write them (Pebble 2.4 sends neither)."""
    import harness
    import pebble_env
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    tmp = harness.tmpdir()
    peb = pebble_env.Pebble(tmp, env={"PEBBLE_VA_ALWAYS_VALID": "1",
                                      "PEBBLE_CHAIN_LENGTH": "3",
                                      "PEBBLE_ALTERNATE_ROOTS": "1"})
    try:
        c = Acme(peb.directory, peb.ca)
        acme_seed("directory-pebble", 0, c.dir_raw)
        code, body, h = c.post(c.dir["newAccount"], {"termsOfServiceAgreed": True})
        c.kid = h["Location"]
        names = ["shop.example.com", "*.shop.example.com"]
        code, body, h = c.post(c.dir["newOrder"],
                               {"identifiers": [{"type": "dns", "value": n} for n in names]})
        order_url = h["Location"]
        acme_seed("order-pending", 1, body)
        order = json.loads(body)
        acme_seed("rfc3339-expires", 6, order["expires"].encode())
        for i, az in enumerate(order["authorizations"]):
            code, body, h = c.post(az, None)
            acme_seed(f"authz-pending-{i}", 2, body)
            ch = [x for x in json.loads(body)["challenges"] if x["type"] == "dns-01"][0]
            code, body, h = c.post(ch["url"], {})
            acme_seed(f"challenge-{i}", 2, body)
            for _ in range(100):
                code, body, h = c.post(az, None)
                if json.loads(body)["status"] != "pending":
                    break
                time.sleep(0.05)
            acme_seed(f"authz-{json.loads(body)['status']}-{i}", 2, body)
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                              critical=False)
               .sign(key, hashes.SHA256()))
        der = csr.public_bytes(serialization.Encoding.DER)
        code, body, h = c.post(order["finalize"], {"csr": b64u(der)})
        acme_seed("order-finalized", 1, body)
        for _ in range(100):
            code, body, h = c.post(order_url, None)
            if json.loads(body)["status"] == "valid":
                break
            time.sleep(0.05)
        acme_seed("order-valid", 1, body)
        code, pem, h = c.post(json.loads(body)["certificate"], None)
        write("acme_cert", "chain-pebble", pem)
        for i, link in enumerate(h.get_all("Link") or []):
            acme_seed(f"link-{i}", 7, link.encode())
            if 'rel="alternate"' in link:
                code, alt, _ = c.post(link[link.index("<") + 1:link.index(">")], None)
                write("acme_cert", f"chain-pebble-alternate-{i}", alt)
        # problem documents, with the status and headers they came with
        code, body, h = c.post(c.dir["newOrder"], {"identifiers": [{"type": "dns",
                                                                    "value": "1.2.3.4"}]})
        problem_seed("problem-rejected", code, h.get("Retry-After"), body)
        code, body, h = c.post(c.dir["newOrder"], {"identifiers": []}, nonce="bm9ub25jZQ")
        problem_seed("problem-badnonce", code, h.get("Retry-After"), body)
        code, body, h = c.post(order["finalize"], {"csr": "AAAA"})
        problem_seed("problem-finalize", code, h.get("Retry-After"), body)
        c.kid = c.kid + "x"
        code, body, h = c.post(c.dir["newOrder"], {"identifiers": []})
        problem_seed("problem-unauthorized", code, h.get("Retry-After"), body)
    finally:
        peb.stop()
        harness.rmtree(tmp)
    ari = {"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"},
           "explanationURL": "https://acme.example.com/docs/ari"}
    acme_seed("renewal-info", 3, json.dumps(ari).encode())
    problem_seed("problem-ratelimited", 429, "Wed, 21 Oct 2015 07:28:00 GMT", json.dumps({
        "type": "urn:ietf:params:acme:error:rateLimited",
        "detail": "too many new orders recently",
        "subproblems": [{"type": "urn:ietf:params:acme:error:rateLimited",
                         "identifier": {"type": "dns", "value": "shop.example.com"}}]}).encode())
    for i, v in enumerate(["120", "Wed, 21 Oct 2015 07:28:00 GMT",
                           "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015"]):
        acme_seed(f"retry-after-{i}", 5, v.encode())
    acme_seed("rfc3339-offset", 6, b"2025-01-02T03:04:05.123+02:00")
    acme_seed("dns01-token", 8, b"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA")


# ---- DNS: answers of a real named ----------------------------------------------

TEST_KEY = "upd.key."  # tests/unit/tsig_answer.h
TEST_SECRET = "3q2+7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWc="

ZONE = """$TTL 300
@ SOA ns1.customer.test. hostmaster.customer.test. 7 3600 600 86400 60
@ NS ns1.customer.test.
@ NS ns2.customer.test.
ns1 A 192.0.2.1
ns2 A 192.0.2.2
ns2 AAAA 2001:db8::2
_acme-challenge.good CNAME good.customer.test.validation.test.
_acme-challenge.multi CNAME hop1.customer.test.
hop1 CNAME hop2.customer.test.
hop2 CNAME multi.customer.test.validation.test.
_acme-challenge.loop CNAME loop1.customer.test.
loop1 CNAME loop2.customer.test.
loop2 CNAME loop1.customer.test.
_acme-challenge.nsdel NS ns.other.test.
www A 198.51.100.10
www AAAA 2001:db8:cafe::7
many A 192.0.2.10
many A 192.0.2.11
many A 192.0.2.12
many A 192.0.2.13
long TXT "%s" "%s"
odd TXT "quote\\"d" "semi;colon" "\\000nul" ""
caa CAA 0 issue "letsencrypt.org"
caa CAA 0 issuewild ";"
caa CAA 0 iodef "mailto:security@customer.test"
crit CAA 128 tbs "unknown"
acct CAA 0 issue "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1; validationmethods=dns-01"
other CAA 0 issue "ca.example; validationmethods=http-01"
caacname CNAME caa.customer.test.
""" % ("a" * 255, "b" * 200)

VZONE = """$TTL 60
@ SOA ns1.customer.test. hostmaster.customer.test. 1 3600 600 86400 60
@ NS ns1.customer.test.
good.customer.test TXT "tok-1"
multi.customer.test TXT "tok-2"
"""


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qname, qtype, qid=0x1234):
    hdr = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    opt = b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)  # EDNS0, 4096 octets
    return hdr + wire_name(qname) + struct.pack(">HH", qtype, 1) + opt


def ask(port, msg, tcp=False):
    import socket
    if tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(struct.pack(">H", len(msg)) + msg)
            n = struct.unpack(">H", s.recv(2))[0]
            data = b""
            while len(data) < n:
                data += s.recv(n - len(data))
            return data
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(msg, ("127.0.0.1", port))
        return s.recv(65535)


def tsig_sign(msg, secret, alg="hmac-sha256", key=TEST_KEY, req_mac=None):
    """MSG (a message without TSIG) signed as RFC 8945 section 4 says."""
    import hmac
    digest = {"hmac-sha256": hashlib.sha256, "hmac-sha512": hashlib.sha512}[alg]
    t = struct.pack(">Q", int(time.time()))[2:]
    variables = (wire_name(key) + struct.pack(">HI", 255, 0) + wire_name(alg) + t
                 + struct.pack(">HHH", 300, 0, 0))
    prefix = struct.pack(">H", len(req_mac)) + req_mac if req_mac else b""
    mac = hmac.new(base64.b64decode(secret), prefix + msg + variables, digest).digest()
    rdata = (wire_name(alg) + t + struct.pack(">HH", 300, len(mac)) + mac
             + struct.pack(">HHH", struct.unpack(">H", msg[:2])[0], 0, 0))
    rr = wire_name(key) + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
    ar = struct.unpack(">H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack(">H", ar) + msg[12:] + rr, mac


def update(zone, name, rtype, rdata, qid=0x4242):
    hdr = struct.pack(">HHHHHH", qid, 5 << 11, 1, 0, 1, 0)
    rr = wire_name(name) + struct.pack(">HHIH", rtype, 1, 60, len(rdata)) + rdata
    return hdr + wire_name(zone) + struct.pack(">HH", 6, 1) + rr


def caa_rdata(flags, tag, value):
    return bytes([flags, len(tag)]) + tag.encode() + value.encode()


def dns():
    """Answers of a real named: CNAME chains (and a loop), NS, A, AAAA,
    SOA, long and odd TXT, NXDOMAIN, NODATA, REFUSED, CAA sets; and its
    answers to RFC 2136 updates signed with the key the rfc2136 harness
    knows, or with a wrong secret or key."""
    import dns_env
    import harness
    tmp = harness.tmpdir()
    keys = (f'key "{TEST_KEY}" {{ algorithm hmac-sha256; secret "{TEST_SECRET}"; }};\n'
            f'key "k512." {{ algorithm hmac-sha512; secret "{TEST_SECRET}"; }};\n')
    ns = dns_env.Named(tmp, "corpus", {
        "customer.test": ("type primary;", ZONE),
        "validation.test": (f"type primary; update-policy {{ grant {TEST_KEY} zonesub TXT; "
                            "grant k512. zonesub TXT; };", VZONE),
    }, extra_options="recursion no;", keys=keys)
    try:
        for qname, qtype, what in [
                ("_acme-challenge.good.customer.test", 16, "cname-txt"),
                ("_acme-challenge.multi.customer.test", 16, "chain"),
                ("_acme-challenge.loop.customer.test", 16, "loop"),
                ("_acme-challenge.nsdel.customer.test", 5, "ns-delegated"),
                ("customer.test", 6, "soa"), ("customer.test", 2, "ns"),
                ("ns2.customer.test", 28, "aaaa"), ("many.customer.test", 1, "a-many"),
                ("www.customer.test", 1, "a"), ("long.customer.test", 16, "txt-long"),
                ("odd.customer.test", 16, "txt-odd"), ("nope.customer.test", 1, "nxdomain"),
                ("www.customer.test", 16, "nodata"), ("example.org", 6, "refused"),
                ("good.customer.test.validation.test", 16, "txt-validation")]:
            write("dns_msg", what, ask(ns.port, query(qname, qtype)))
        write("dns_msg", "tcp-soa", ask(ns.port, query("customer.test", 6), tcp=True))
        for qname, what in [("caa.customer.test", "set"), ("crit.customer.test", "critical"),
                            ("acct.customer.test", "params"), ("other.customer.test", "other-ca"),
                            ("caacname.customer.test", "cname"), ("www.customer.test", "none")]:
            write("caa", f"answer-{what}", b"\0" + ask(ns.port, query(qname, 257)))
        rds = [caa_rdata(0, "issue", "letsencrypt.org"), caa_rdata(0, "issuewild", ";"),
               caa_rdata(0, "issue", "letsencrypt.org; accounturi=https://acme.example/acct/1;"
                                     " validationmethods=dns-01,http-01"),
               caa_rdata(128, "tbs", "x"), caa_rdata(0, "iodef", "mailto:a@b.test")]
        write("caa", "rdata-set", b"\1" + b"".join(bytes([len(r)]) + r for r in rds))
        write("caa", "rdata-bad", b"\1" + bytes([3, 0, 0, 0]) + bytes([2, 0, 16]))

        txt = lambda v: bytes([len(v)]) + v.encode()
        cases = [("noerror", "x.validation.test", 16, txt("tok"), TEST_SECRET, TEST_KEY),
                 ("refused-type", "x.validation.test", 1, bytes([192, 0, 2, 1]), TEST_SECRET,
                  TEST_KEY),
                 ("notzone", "x.customer.test", 16, txt("tok"), TEST_SECRET, TEST_KEY),
                 ("badsig", "x.validation.test", 16, txt("tok"),
                  base64.b64encode(b"\0" * 32).decode(), TEST_KEY),
                 ("badkey", "x.validation.test", 16, txt("tok"), TEST_SECRET, "nosuch.key.")]
        for what, name, rtype, rdata, secret, key in cases:
            msg, _ = tsig_sign(update("validation.test", name, rtype, rdata), secret, key=key)
            ans = ask(ns.port, msg)
            for flags in (0, 3):
                write("rfc2136", f"{what}-{flags}", bytes([flags]) + ans)
        msg, _ = tsig_sign(update("validation.test", "y.validation.test", 16, txt("t5")),
                           TEST_SECRET, alg="hmac-sha512", key="k512.")
        write("rfc2136", "noerror-sha512-7", b"\7" + ask(ns.port, msg))
        write("rfc2136", "unsigned-0", b"\0" + ask(ns.port, update(
            "validation.test", "x.validation.test", 16, txt("tok"))))
        msg, _ = tsig_sign(update("notserved.test", "x.notserved.test", 16, txt("t")), TEST_SECRET)
        write("rfc2136", "notauth-zone-0", b"\0" + ask(ns.port, msg))
    finally:
        ns.stop()
        harness.rmtree(tmp)


def powerdns():
    """What a real pdns_server's API answers: the zone with its TXT RRsets
    at the name, an unknown zone, a refused key, refused data."""
    import dns_env
    import harness
    tmp = harness.tmpdir()
    pd = dns_env.PowerDNS(tmp)
    try:
        pd.create_zone("v.test")
        pd.api("PATCH", "/api/v1/servers/localhost/zones/v.test.", {"rrsets": [{
            "name": "x.v.test.", "type": "TXT", "ttl": 120, "changetype": "REPLACE",
            "records": [{"content": '"other"', "disabled": False},
                        {"content": '"two" "strings"', "disabled": False}]}]})

        def raw(method, path, body=None, key=None):
            req = urllib.request.Request(pd.url + path, method=method,
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"X-API-Key": key or pd.api_key})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        for what, flags, args in [
                ("zone-rrset-add", 1, ("GET", "/api/v1/servers/localhost/zones/v.test."
                                             "?rrset_name=x.v.test.&rrset_type=TXT")),
                ("zone-rrset-remove", 2, ("GET", "/api/v1/servers/localhost/zones/v.test."
                                                "?rrset_name=x.v.test.&rrset_type=TXT")),
                ("zone-whole", 1, ("GET", "/api/v1/servers/localhost/zones/v.test.")),
                ("zone-unknown", 1, ("GET", "/api/v1/servers/localhost/zones/nope.test.")),
                ("key-refused", 1, ("GET", "/api/v1/servers/localhost/zones/v.test.", None,
                                    "wrong")),
                ("data-refused", 1, ("PATCH", "/api/v1/servers/localhost/zones/v.test.",
                                     {"rrsets": [{"name": "x.v.test.", "type": "TXT", "ttl": 1,
                                                  "changetype": "REPLACE",
                                                  "records": [{"content": "unquoted",
                                                               "disabled": False}]}]}))]:
            code, body = raw(*args)
            write("powerdns", what, bytes([flags]) + struct.pack(">H", code) + body)
    finally:
        pd.stop()
        harness.rmtree(tmp)


# ---- configuration ------------------------------------------------------------

def cfg():
    """The shipped configuration, the README's, the providers' sections the
    integration tests write, and environment overrides (after "#ENV")."""
    with open(os.path.join(TOP, "deploy", "k8s", "dcv.yaml"), "rb") as f:
        write("cfg", "deploy-dcv-yaml", f.read())
    with open(os.path.join(TOP, "README.md")) as f:
        readme = f.read()
    start = readme.index("```yaml\nredis:")
    write("cfg", "readme", readme[start + 8:readme.index("```", start + 8)].encode())
    write("cfg", "rfc2136", b"""provider:
  type: rfc2136
  zone: validation.test
  server: 127.0.0.1:5353
  ttl: 30
  timeout_ms: 2s
  tries: 2
  tsig:
    name: k256.
    algorithm: hmac-sha256
    secret: 3q2+7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWc=
dns:
  resolvers: [127.0.0.1:5300, "[::1]:53"]
  port_map: [192.0.2.1=5301, ns2.customer.test=127.0.0.1:5302]
  pointing:
    ip_ranges: [203.0.113.0/24, "2001:db8:cafe::/48"]
    host_suffixes: ["*.cdn.example.net"]
""")
    write("cfg", "powerdns-env", b"""provider:
  type: powerdns
  zone: validation.test
  api_url: http://127.0.0.1:8081
  server_id: localhost
worker:
  handlers: stages
  stages: [provision-txt, finalize]
#ENV
DCV_PROVIDER_API_KEY=0123456789abcdef
DCV_WORKER_CONCURRENCY=8
DCV_DNS_RESOLVERS=127.0.0.1:53,[::1]:53
DCV_LIFECYCLE_RENEW_FRACTION=0.25
""")
    write("cfg", "webhook-env", b"""provider:
  type: webhook
  zone: validation.test
  webhook:
    url: https://hook.example.net/dcv?x=1
    allow_http: false
worker:
  handlers: stages
  stages: [provision-txt, finalize]
#ENV
DCV_PROVIDER_WEBHOOK_SECRET=0123456789abcdef0123
""")
    write("cfg", "exec", b"""provider:
  type: exec
  zone: validation.test
  timeout_ms: 5000
  exec:
    program: /bin/true
    env:
      - NSUPDATE_SERVER=127.0.0.1
      - NSUPDATE_KEYFILE=/etc/k
worker:
  handlers: stages
  stages: [provision-txt, finalize]
""")
    write("cfg", "newcomer", b"worker:\n  concurency: 4\n")
    write("cfg", "noop", b"worker:\n  handlers: noop\n  batch: 32\nacme:\n  anything: 1\n")
    write("cfg", "stages", b"""stages:
  verify-cname: { backoff_base_ms: 10s, backoff_cap_ms: 1h, max_attempts: 0 }
  finalise: { max_attempts: 3 }
lifecycle:
  verify_max_wait_ms: 30d
  offboard_jitter: 0.2
ratelimit:
  new_orders: { limit: 300, period_ms: 3h }
""")


def dname():
    """Domains, templates, zones, tenants and name lists as backends and the
    README give them (fields one a line; an empty template: a documented
    one)."""
    for what, fields in [
            ("plain", ["Shop.Example.COM.", "", "validation.dcv.test", "cust-1",
                       "shop.example.com,www.shop.example.com"]),
            ("wildcard", ["*.example.com", "{token}.{zone}", "v.test", "",
                          "*.example.com,example.com"]),
            ("tenant", ["a.b.example.org", "{tenant}.{domain}.{zone}", "validation.dcv.test",
                        "Tenant_9", "a.b.example.org"]),
            ("long", [".".join(["a" * 63] * 3) + ".com", "", "validation.dcv.test", "t1",
                      "x.example.com"]),
            ("idn", ["xn--bcher-kva.example", "{domain}.{zone}", "v.test", "-bad",
                     "b\u00fccher.example"]),
            ("unknown-placeholder", ["example.com", "{domain}.{nope}", "v.test", "", ""])]:
        write("dname", what, "\n".join(fields).encode())


def webhook():
    """The example receiver's answers (2 bytes of HTTP status, the body)
    to a bad signature, a replay, a name outside its zone and a request it
    cannot carry out (its nsupdate has no server), each with a URL line."""
    import hmac
    import harness
    d = harness.tmpdir("dcv-corpus-hook-")
    secret = b"corpus-secret-0123456789"
    port = harness.free_port()
    key = os.path.join(d, "k.key")
    with open(key, "w") as f:
        f.write('key "k." { algorithm hmac-sha256; secret "c2VjcmV0"; };\n')
    rcv = harness.Proc([sys.executable, os.path.join(TOP, "deploy", "examples", "python",
                                                     "webhook_receiver.py"),
                        "--listen", f"127.0.0.1:{port}", "--zone", "validation.test",
                        "--dns-port", harness.free_port(), "--tsig-key-file", key],
                       os.path.join(d, "receiver.log"), env={"DCV_WEBHOOK_SECRET": secret})
    try:
        harness.wait_port(port, proc=rcv)

        def ask(name, sig=None, ts=None):
            ts = ts or int(time.time())
            body = json.dumps({"action": "present", "name": name, "value": "v",
                               "zone": "validation.test", "ttl": 30,
                               "id": os.urandom(16).hex()}).encode()
            sig = sig or hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST",
                                         headers={"X-DCV-Timestamp": str(ts),
                                                  "X-DCV-Signature": "sha256=" + sig})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status, r.read(), (body, ts, sig)
            except urllib.error.HTTPError as e:
                return e.code, e.read(), (body, ts, sig)

        answers = {"bad-signature": ask("a.validation.test", sig="0" * 64),
                   "outside-zone": ask("evil.example"),
                   "stale": ask("a.validation.test", ts=int(time.time()) - 3600),
                   "nsupdate-failed": ask("a.validation.test")}
        urls = {"bad-signature": b"https://hook.example.net/dcv?token=x",
                "outside-zone": b"http://127.0.0.1:8053/",
                "stale": b"http://[::1]:9/x",
                "nsupdate-failed": b"http://user@127.0.0.1/"}
        for what, (code, body, _) in answers.items():
            write("webhook", "receiver-" + what, struct.pack(">H", code) + body + b"\n" + urls[what])
    finally:
        rcv.stop()
        harness.rmtree(d)


TARGETS = {"job": job, "acme": acme, "dns": dns, "powerdns": powerdns, "cfg": cfg,
           "dname": dname, "webhook": webhook}

if __name__ == "__main__":
    for t in sys.argv[1:] or TARGETS:
        TARGETS[t]()
