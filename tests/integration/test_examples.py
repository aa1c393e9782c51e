"""The backend integration examples of deploy/examples (node/onboard.js and
python/onboard.py) against a real redis-server.

The test plays the fleet's part: it checks the job each example enqueues
against schemas/job.yaml and the backend recipe of schemas/job.md (one XADD
and nothing else: no dcv:domain:<d>), then XADDs the events a worker would
write into dcv:events.  test_examples_live.py runs both examples against a
live fleet until the real `issued` event.
"""
import os
import re
import shutil
import subprocess
import sys
import time

import msgpack
import pytest

import harness

EXAMPLES = os.path.join(harness.SOURCE, "deploy", "examples")
JOB_KEYS = {"v", "id", "domain", "tenant", "created_at"}


@pytest.fixture
def tmp():
    d = harness.tmpdir()
    yield d
    harness.rmtree(d)


@pytest.fixture(scope="module")
def node_example():
    """A copy of deploy/examples/node with its locked dependencies (npm ci),
    so that the shared source tree gets no node_modules."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "the node example needs the Debian packages nodejs and npm"
    d = harness.tmpdir("dcv-node-example-")
    try:
        for f in ("package.json", "package-lock.json", "onboard.js", "edge.js", "certkey.js"):
            shutil.copy(os.path.join(EXAMPLES, "node", f), d)
        p = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=d, capture_output=True, text=True, timeout=240)
        assert p.returncode == 0, f"npm ci failed:\n{p.stdout}\n{p.stderr}"
        yield [node, os.path.join(d, "onboard.js")]
    finally:
        harness.rmtree(d)


@pytest.fixture(params=["node", "python"])
def example(request):
    if request.param == "node":
        return request.getfixturevalue("node_example")
    return [sys.executable, os.path.join(EXAMPLES, "python", "onboard.py")]


class Run:
    """One run of an example in the background, stdout and stderr in files."""

    def __init__(self, tmp, cmd, redis, prefix=None, env=None):
        extra = env or {}
        env = dict(os.environ, DCV_REDIS_URL=redis.url)
        for k in ("DCV_PREFIX", "DCV_CERT_KEK_FILE"):
            env.pop(k, None)
        env.update(extra)
        if prefix is not None:
            env["DCV_PREFIX"] = prefix
        n = len([f for f in os.listdir(tmp) if f.startswith("example-")])
        self.out = os.path.join(tmp, f"example-{n}.out")
        self.err = os.path.join(tmp, f"example-{n}.err")
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.p = subprocess.Popen([str(c) for c in cmd], stdout=o, stderr=e, env=env,
                                      start_new_session=True)

    def wait(self, timeout=30):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)
            raise AssertionError(f"example still running after {timeout}s; stderr:\n{self.stderr()}")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)

    def stdout_lines(self):
        import json
        with open(self.out) as f:
            return [json.loads(l) for l in f.read().splitlines()]

    def stderr(self):
        with open(self.err) as f:
            return f.read()


@pytest.fixture
def redis_server(tmp):
    r = harness.Redis(tmp)
    yield r
    r.stop()


def wait_job(r, prefix, run):
    """The one entry the example XADDed, once it is there."""
    def entry():
        if run.p.poll() is not None:
            raise AssertionError(f"example exited {run.p.returncode}: {run.stderr()}")
        return r.xrange(f"{prefix}:stream:verify-cname")
    entries = harness.wait_until(entry, 30, what="the example's XADD")
    assert len(entries) == 1, entries
    return entries[0]


def check_job(entry, domain, tenant, t0):
    """The stream entry and its job per schemas/job.yaml."""
    _, fields = entry
    assert set(fields) == {b"domain", b"job"}, fields
    assert fields[b"domain"] == domain.encode()
    job = msgpack.unpackb(fields[b"job"], raw=False)
    assert isinstance(job, dict), job
    assert set(job) <= JOB_KEYS and {"v", "id", "domain", "created_at"} <= set(job), job
    assert job["v"] == 1 and type(job["v"]) is int
    assert isinstance(job["id"], str) and re.fullmatch(r"[0-9a-f]{32}", job["id"]), job["id"]
    assert job["domain"] == domain
    if tenant is None:
        assert "tenant" not in job
    else:
        assert job["tenant"] == tenant
    assert type(job["created_at"]) is int
    assert t0 <= job["created_at"] <= int(time.time() * 1000), (t0, job["created_at"])
    return job


def assert_only_the_job(r, prefix, domain):
    """The example wrote its job and its events group, nothing else: above
    all no <prefix>:domain:<d> (a backend never writes it)."""
    assert not r.exists(f"{prefix}:domain:{domain}"), r.hgetall(f"{prefix}:domain:{domain}")
    keys = sorted(k.decode() for k in r.keys("*"))
    assert set(keys) <= {f"{prefix}:stream:verify-cname", f"{prefix}:events"}, keys


def groups(r, stream):
    return {g["name"].decode(): g for g in r.xinfo_groups(stream)} if r.exists(stream) else {}


def test_enqueues_per_schema_and_exits_on_issued(example, tmp, redis_server):
    r = redis_server.client()
    domain = "shop.example.com"
    # an old event for the domain: the example's group starts at "$", after it
    old = r.xadd("dcv:events", {"type": "issued", "domain": domain, "detail": "old", "time": 1})
    t0 = int(time.time() * 1000)
    run = Run(tmp, example + ["Shop.Example.COM.", "--tenant", "cust-1", "--timeout", "60",
                              "--group", "backend-test", "--consumer", "b1"], redis_server)
    try:
        job = check_job(wait_job(r, "dcv", run), domain, "cust-1", t0)
        assert job["tenant"] == "cust-1"
        # the job and nothing else (schemas/job.md): the worker that claims
        # the job creates dcv:domain:<d> and the generation
        assert_only_the_job(r, "dcv", domain)
        # its own group, created at "$" before the XADD
        g = groups(r, "dcv:events")
        assert set(g) == {"backend-test"}, g
        assert g["backend-test"]["last-delivered-id"] == old

        other = r.xadd("dcv:events", {"type": "issued", "domain": "other.example.com",
                                      "detail": "not ours", "time": 5})
        blocked = r.xadd("dcv:events", {"type": "caa-blocked", "domain": domain,
                                        "detail": "CAA forbids issuance", "time": 6})
        issued = r.xadd("dcv:events", {"type": "issued", "domain": domain,
                                       "detail": "certificate stored", "time": 7})
        assert run.wait() == 0, run.stderr()
        assert run.stdout_lines() == [
            {"id": blocked.decode(), "type": "caa-blocked", "domain": domain,
             "detail": "CAA forbids issuance", "time": 6},
            {"id": issued.decode(), "type": "issued", "domain": domain,
             "detail": "certificate stored", "time": 7},
        ]
        assert other < blocked
        # every event it read, ours or not, was acknowledged
        assert r.xpending("dcv:events", "backend-test")["pending"] == 0
        g = groups(r, "dcv:events")["backend-test"]
        assert g["last-delivered-id"] == issued and g["lag"] == 0
    finally:
        run.kill()


def test_exits_1_on_failed_and_removes_its_own_group(example, tmp, redis_server):
    r = redis_server.client()
    prefix = "{dcvx}"  # a Redis Cluster style prefix from DCV_PREFIX
    domain = "*.wild.example.net"
    t0 = int(time.time() * 1000)
    run = Run(tmp, example + [domain, "--timeout", "60"], redis_server, prefix=prefix)
    try:
        check_job(wait_job(r, prefix, run), domain, None, t0)
        assert not r.exists("dcv:stream:verify-cname") and not r.exists("dcv:events")
        assert_only_the_job(r, prefix, domain)
        g = groups(r, f"{prefix}:events")
        assert len(g) == 1 and next(iter(g)).startswith("onboard-example-"), g
        failed = r.xadd(f"{prefix}:events", {"type": "failed", "domain": domain,
                                            "detail": "gave up after 20 attempts", "time": 9})
        assert run.wait() == 1, run.stderr()
        assert run.stdout_lines() == [{"id": failed.decode(), "type": "failed", "domain": domain,
                                       "detail": "gave up after 20 attempts", "time": 9}]
        assert groups(r, f"{prefix}:events") == {}, "a run's own group is removed at exit"
    finally:
        run.kill()


def test_rereads_its_unacknowledged_events_first(example, tmp, redis_server):
    """At-least-once: an event read by an earlier run that died before XACK
    is delivered again to the same group and consumer."""
    r = redis_server.client()
    domain = "again.example.org"
    r.xgroup_create("dcv:events", "backend", id="$", mkstream=True)
    ev = r.xadd("dcv:events", {"type": "issued", "domain": domain, "detail": "", "time": 3})
    got = r.xreadgroup("backend", "b7", {"dcv:events": ">"})   # the run that died
    assert got[0][1][0][0] == ev
    assert r.xpending("dcv:events", "backend")["pending"] == 1
    run = Run(tmp, example + [domain, "--timeout", "60", "--group", "backend", "--consumer", "b7"],
              redis_server)
    try:
        assert run.wait() == 0, run.stderr()
        assert [(l["id"], l["type"]) for l in run.stdout_lines()] == [(ev.decode(), "issued")]
        assert r.xpending("dcv:events", "backend")["pending"] == 0
        assert "backend" in groups(r, "dcv:events"), "a named group is kept"
    finally:
        run.kill()


def test_issued_fields(example, tmp, redis_server):
    """The `issued` event's own fields (schemas/redis.md, "Events") come out
    parsed: names a list, not_after a number, renewal a boolean; a field
    that is not well-formed is left out, and other events get none."""
    r = redis_server.client()
    domain = "fields.example.org"
    run = Run(tmp, example + [domain, "--timeout", "60"], redis_server)
    try:
        wait_job(r, "dcv", run)           # its group is there before its job
        moving = r.xadd("dcv:events", {"type": "moving-away", "domain": domain, "detail": "x",
                                       "time": 2, "serial": "00"})
        ev = r.xadd("dcv:events", {"type": "issued", "domain": domain, "detail": "d", "time": 3,
                                   "names": f"{domain},www.{domain}", "serial": "0AB1",
                                   "not_after": "1900000000", "cert_key": f"dcv:cert:{domain}",
                                   "renewal": "1"})
        assert run.wait() == 0, run.stderr()
        assert run.stdout_lines() == [
            {"id": moving.decode(), "type": "moving-away", "domain": domain, "detail": "x",
             "time": 2},
            {"id": ev.decode(), "type": "issued", "domain": domain, "detail": "d", "time": 3,
             "names": [domain, f"www.{domain}"], "serial": "0AB1", "not_after": 1900000000,
             "cert_key": f"dcv:cert:{domain}", "renewal": True}]
    finally:
        run.kill()
    run = Run(tmp, example + [domain, "--timeout", "60"], redis_server)
    try:
        harness.wait_until(lambda: r.xlen("dcv:stream:verify-cname") == 2, 30,
                           what="the second run's XADD")
        ev = r.xadd("dcv:events", {"type": "issued", "domain": domain, "detail": "d", "time": 4,
                                   "not_after": "soon", "renewal": "yes", "serial": "01"})
        assert run.wait() == 0, run.stderr()
        assert run.stdout_lines() == [{"id": ev.decode(), "type": "issued", "domain": domain,
                                       "detail": "d", "time": 4, "serial": "01"}]
    finally:
        run.kill()


def test_timeout_exits_1(example, tmp, redis_server):
    r = redis_server.client()
    t = time.monotonic()
    run = Run(tmp, example + ["slow.example.com", "--timeout", "1"], redis_server)
    try:
        assert run.wait(timeout=20) == 1
        assert 1.0 <= time.monotonic() - t < 15
        assert "timed out" in run.stderr()
        assert run.stdout_lines() == []
        assert r.xlen("dcv:stream:verify-cname") == 1
    finally:
        run.kill()


def test_usage_errors_exit_2(example, tmp, redis_server):
    for args in ([], ["a.example.com", "b.example.com"], ["a.example.com", "--timeout", "x"],
                 ["a.example.com", "--bogus"], ["not a domain"]):
        run = Run(tmp, example + args, redis_server)
        assert run.wait() == 2, (args, run.stderr())
        assert "usage" in run.stderr().lower() or "onboard" in run.stderr(), run.stderr()
    assert not redis_server.client().exists("dcv:stream:verify-cname")


@pytest.fixture(params=["node", "python"])
def edge(request):
    if request.param == "node":
        node, onboard = request.getfixturevalue("node_example")
        return [node, os.path.join(os.path.dirname(onboard), "edge.js")]
    return [sys.executable, os.path.join(EXAMPLES, "python", "edge.py")]


def test_edge_usage_errors_exit_2(edge, tmp, redis_server):
    """The edge consumer (test_examples_live.py runs it against a fleet)
    refuses to start without a root file and a KEK that loads."""
    kek, bad_kek, root, no_root = (os.path.join(tmp, n)
                                   for n in ("kek", "bad-kek", "root.pem", "garbage.pem"))
    with open(kek, "w") as f:
        f.write("00" * 32 + "\n")
    with open(bad_kek, "w") as f:
        f.write("00" * 31 + "\n")
    with open(no_root, "w") as f:
        f.write("not a certificate\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=edge test root", "-days",
                    "1", "-keyout", os.path.join(tmp, "root.key"), "-out", root],
                   check=True, capture_output=True, timeout=30)
    out = os.path.join(tmp, "out")
    for args, env in (([out, "--cert-kek-file", kek], None),                  # no --ca-file
                      ([out, "--ca-file", no_root, "--cert-kek-file", kek], None),
                      ([out, "--ca-file", root], None),                          # no KEK
                      ([out, "--ca-file", root], {"DCV_CERT_KEK_FILE": bad_kek}),
                      (["--ca-file", root, "--cert-kek-file", kek], None)):      # no OUT
        run = Run(tmp, edge + args, redis_server, env=env)
        assert run.wait() == 2, (args, run.stderr())
        assert "usage" in run.stderr().lower(), run.stderr()
    assert not os.path.exists(out)
    # and with all of them it starts (then stops: --once on an empty stream)
    run = Run(tmp, edge + [out, "--ca-file", root, "--cert-kek-file", kek, "--once"], redis_server)
    assert run.wait() == 0, run.stderr()
    assert "edge: reading dcv:events after 0-0" in run.stderr(), run.stderr()
    # a group- or world-writable OUT: another user could swap OUT/<domain>
    # for a symlink between the checks and the writes
    for mode in (0o770, 0o707):
        os.makedirs(out, exist_ok=True)
        os.chmod(out, mode)
        run = Run(tmp, edge + [out, "--ca-file", root, "--cert-kek-file", kek, "--once"],
                  redis_server)
        assert run.wait() == 2 and "group- or world-writable" in run.stderr(), run.stderr()
        assert "edge: reading" not in run.stderr(), run.stderr()


def not_yet_valid_cert(domain, kek):
    """A root, and a leaf for DOMAIN under it that starts tomorrow (what a
    local clock a day slow sees), as <prefix>:cert:<domain> holds it: the
    key sealed under KEK with the hash's name as associated data."""
    import base64
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "edge clock root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=9))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    start = now + datetime.timedelta(days=1)
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, domain)]))
            .issuer_name(root_name).public_key(key.public_key()).serial_number(0x5EED)
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(kek).encrypt(nonce, key_pem, f"dcv:cert:{domain}".encode())
    not_after = int((start + datetime.timedelta(days=7)).timestamp())
    return root.public_bytes(pem).decode(), {
        "serial": "5EED", "not_after": str(not_after), "names": domain, "key_enc": "aes-256-gcm",
        "key": "aesgcm1:" + base64.urlsafe_b64encode(sealed).decode().rstrip("="),
        "chain": (leaf.public_bytes(pem) + root.public_bytes(pem)).decode()}


def test_edge_stops_on_a_certificate_not_yet_valid(edge, tmp, redis_server):
    """A certificate not yet valid by the local clock (a skewed clock) is not
    the certificate's fault: the consumer stops with 1 and keeps no position
    past its event, so a restart handles it again."""
    domain, kek = "clock.example.com", os.urandom(32)
    root_pem, h = not_yet_valid_cert(domain, kek)
    root, kek_file, pos = (os.path.join(tmp, n) for n in ("root.pem", "kek", "pos"))
    with open(root, "w") as f:
        f.write(root_pem)
    with open(kek_file, "w") as f:
        f.write(kek.hex() + "\n")
    r = redis_server.client()
    r.hset(f"dcv:cert:{domain}", mapping=h)
    r.xadd("dcv:events", {"type": "issued", "domain": domain, "names": domain,
                          "serial": h["serial"], "not_after": h["not_after"],
                          "cert_key": f"dcv:cert:{domain}", "renewal": "0"})
    out = os.path.join(tmp, "out")
    run = Run(tmp, edge + [out, "--ca-file", root, "--cert-kek-file", kek_file, "--once",
                           "--from", "0", "--position-file", pos], redis_server)
    assert run.wait() == 1, run.stderr()
    assert "not yet valid" in run.stderr() and "stopped at clock.example.com" in run.stderr(), \
        run.stderr()
    assert "refused" not in run.stderr() and "PRIVATE" not in run.stderr(), run.stderr()
    assert not os.path.exists(pos) and not os.path.exists(os.path.join(out, domain))


# ---- certkey: the sealed certificate key (schemas/certificate.md) ----------------

VECTORS = os.path.join(harness.SOURCE, "schemas", "certificate-vectors.yaml")


def certkey_cmd(which):
    if which == "node":
        node = shutil.which("node")
        assert node, "the node example needs the Debian package nodejs"
        return [node, os.path.join(EXAMPLES, "node", "certkey.js")]
    return [sys.executable, os.path.join(EXAMPLES, "python", "certkey.py")]


@pytest.fixture(params=["node", "python"])
def certkey(request):
    return certkey_cmd(request.param)


def load_vectors():
    import yaml
    with open(VECTORS) as f:
        return yaml.safe_load(f)["vectors"]


def test_the_vectors_are_the_generators():
    """schemas/certificate-vectors.yaml is what its generator makes (it is
    deterministic), so nobody edits a vector by hand."""
    p = subprocess.run([sys.executable, os.path.join(harness.SOURCE, "tests", "unit",
                                                     "make_certificate_vectors.py")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(VECTORS) as f:
        assert p.stdout == f.read()


def test_certkey_decodes_the_vectors(certkey):
    vectors = load_vectors()
    assert len(vectors) >= 4 and sum("error" in v for v in vectors.values()) >= 2
    p = subprocess.run(certkey + ["vectors", VECTORS], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    import json
    got = {l["name"]: l for l in map(json.loads, p.stdout.splitlines())}
    assert set(got) == set(vectors)
    for name, v in vectors.items():
        if "error" in v:
            assert got[name] == {"name": name, "opened": False, "plaintext": None}
        else:
            assert got[name] == {"name": name, "opened": True, "plaintext": v["plaintext"]}


def test_certkey_open(certkey, tmp):
    import pty
    v = load_vectors()["p256"]
    env = dict(os.environ, DCV_CERT_KEK=v["kek"])

    def run(args, sealed, **kw):
        return subprocess.run(certkey + ["open"] + args, input=sealed + "\n", capture_output=True,
                              text=True, timeout=30, **kw)

    p = run(["--aad", v["aad"]], v["sealed"], env=env)
    assert p.returncode == 0 and p.stdout == v["plaintext"], p.stderr
    kek_file = os.path.join(tmp, "kek")
    with open(kek_file, "w") as f:
        f.write(v["kek"] + "\n")
    env.pop("DCV_CERT_KEK")
    p = run(["--aad", v["aad"], "--kek-file", kek_file], v["sealed"], env=env)
    assert p.returncode == 0 and p.stdout == v["plaintext"], p.stderr
    # another domain's AAD: refused, nothing printed
    p = run(["--aad", "dcv:cert:other.example.com", "--kek-file", kek_file], v["sealed"], env=env)
    assert p.returncode == 1 and p.stdout == "" and "PRIVATE" not in p.stderr, p.stderr
    assert run(["--kek-file", kek_file], v["sealed"], env=env).returncode == 2
    # never to a terminal
    master, slave = pty.openpty()
    try:
        q = subprocess.run(certkey + ["open", "--aad", v["aad"], "--kek-file", kek_file],
                           input=v["sealed"].encode(), stdout=slave, stderr=subprocess.PIPE,
                           timeout=30, env=env)
    finally:
        os.close(slave)
        os.close(master)
    assert q.returncode == 4 and b"terminal" in q.stderr, q.stderr
