"""The end-to-end environment itself (tests/integration/fleet_env.py): BIND
P/S/R with per-server customer data, the validation zone and its key, Pebble
validating through the resolver R across the CNAME, the config writer and a
dcv-worker started on it."""
import json
import os
import subprocess

import pytest

import harness
from fleet_env import ELSEWHERE, FleetEnv, yaml_text

DRIVER = "acme_driver"


@pytest.fixture(scope="module")
def env():
    tmp = harness.tmpdir("dcv-fleet-")
    with FleetEnv(tmp, zones=3) as e:
        yield e
    harness.rmtree(tmp)


def driver(env, key, *args, account=None):
    cmd = [harness.program(DRIVER), "--dir", env.pebble.directory, "--ca", env.pebble.ca,
           "--key", key]
    if account:
        cmd += ["--account", account]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def account(env):
    key = os.path.join(env.tmp, "acct.pem")
    assert driver(env, key, "newkey")["status"] == "ok"
    out = driver(env, key, "register", "--email", "ops@example.com")
    assert out["status"] == "ok", out
    return key, out["account"]


def issue(env, account, name):
    key, url = account
    outdir = os.path.join(env.tmp, "out-" + name.replace("*", "star"))
    os.makedirs(outdir, exist_ok=True)
    return driver(env, key, "issue", "--names", name, "--challtestsrv", env.challtestsrv(),
                  "--out", outdir, account=url)


# ------------------------------------------------------------------ DNS

def test_zones_served_by_p_and_s(env):
    for w in ("p", "s"):
        for z in ("c1.test", "c2.test", "c3.test", "validation.test"):
            assert sorted(env.query(w, z, "NS")) == ["ns1.dns.test.", "ns2.dns.test."], (w, z)
        assert env.query(w, "ns1.dns.test", "A") == ["192.0.2.1"]
        assert env.query(w, "ns2.dns.test", "A") == ["192.0.2.2"]
    # the resolver answers recursively, through P
    assert env.query("r", "ns2.dns.test", "A") == ["192.0.2.2"]
    # authoritative only: P and S refuse to recurse for other names
    assert env.status("p", "example.com", "A") == "REFUSED"
    pm = env.port_map()
    assert pm == [f"192.0.2.1=127.0.0.1:{env.p.port}", f"192.0.2.2=127.0.0.1:{env.s.port}"]


def test_cname_on_p_first_then_on_s(env):
    d = "d17.c1.test"
    name = "_acme-challenge.d17.c1.test"
    env.add_cname(d, servers=("p",))
    assert env.cname(name, "p") == "d17.c1.test.validation.test"
    assert env.cname(name, "s") is None
    assert env.status("s", name, "CNAME") == "NXDOMAIN"
    env.add_cname(d, servers=("s",))
    assert env.cname(name, "s") == "d17.c1.test.validation.test"
    # replacing points it elsewhere on one server only
    env.add_cname(d, "somewhere.c2.test", servers=("s",))
    assert env.cname(name, "s") == "somewhere.c2.test"
    assert env.cname(name, "p") == "d17.c1.test.validation.test"
    env.remove_cname(d)
    assert env.cname(name, "p") is None and env.cname(name, "s") is None


def test_apex_and_wildcard_names(env):
    env.add_cname("c3.test")
    assert env.cname("_acme-challenge.c3.test", "p") == "c3.test.validation.test"
    env.add_cname("*.c2.test", servers=("p",))
    assert env.cname("_acme-challenge.c2.test", "p") == "c2.test.validation.test"
    env.remove_cname("c3.test")
    env.remove_cname("*.c2.test", servers=("p",))
    assert env.cname("_acme-challenge.c3.test", "p") is None
    assert env.cname("_acme-challenge.c2.test", "p") is None


def test_address_and_caa_records_per_server(env):
    env.set_a("www.c2.test", "203.0.113.5")
    env.set_aaaa("www.c2.test", ["2001:db8::5"], servers=("p",))
    assert env.query("p", "www.c2.test", "A") == ["203.0.113.5"]
    assert env.query("s", "www.c2.test", "A") == ["203.0.113.5"]
    assert env.query("p", "www.c2.test", "AAAA") == ["2001:db8::5"]
    assert env.query("s", "www.c2.test", "AAAA") == []
    env.set_a("www.c2.test", ELSEWHERE, servers=("s",))  # replaces, on S only
    assert env.query("s", "www.c2.test", "A") == [ELSEWHERE]
    assert env.query("p", "www.c2.test", "A") == ["203.0.113.5"]
    env.remove_a("www.c2.test")
    env.remove_aaaa("www.c2.test")
    assert env.status("p", "www.c2.test", "A") == "NXDOMAIN"
    assert env.status("s", "www.c2.test", "A") == "NXDOMAIN"

    env.set_caa("c3.test", ['0 issue "otherca.example"'])
    for w in ("p", "s", "r"):
        assert env.query(w, "c3.test", "CAA") == ['0 issue "otherca.example"'], w
    env.remove_caa("c3.test", servers=("s",))
    assert env.query("s", "c3.test", "CAA") == []
    env.remove_caa("c3.test")


def test_resolver_chains_cname_to_validation_txt(env):
    d = "chain.c1.test"
    target = env.target(d)
    env.add_cname(d)
    env.publish_txt(target, "token-1")
    # P at once, S through NOTIFY and transfer
    env.wait_txt(target, ["token-1"], servers=("p", "s"))
    # P is authoritative only: it answers the CNAME, R follows it
    full = subprocess.run(["dig", "@127.0.0.1", "-p", str(env.r.port),
                           f"_acme-challenge.{d}", "TXT", "+noall", "+answer"],
                          capture_output=True, text=True, timeout=15).stdout
    rrs = [l.split(None, 4) for l in full.splitlines() if l.strip()]
    assert [(r[0], r[3], r[4]) for r in rrs] == [
        (f"_acme-challenge.{d}.", "CNAME", f"{target}."),
        (f"{target}.", "TXT", '"token-1"')], full
    assert env.txt(f"_acme-challenge.{d}", "r") == ["token-1"]
    env.publish_txt(target, "token-2")
    harness.wait_until(lambda: env.txt(f"_acme-challenge.{d}", "r") == ["token-1", "token-2"],
                       10, what="R sees both TXT (max-cache-ttl 1)")
    env.remove_txt(target)
    env.wait_txt(target, [], servers=("p", "s"))
    harness.wait_until(lambda: env.txt(f"_acme-challenge.{d}", "r") == [], 10,
                       what="R forgets the TXT")
    env.remove_cname(d)


def test_keys_are_limited(env):
    # the validation key may not touch a customer zone
    r = env.nsupdate("p", "c1.test", ["update add evil.c1.test. 1 TXT \"x\""],
                     key=env.validation_key, check=False)
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr, r
    # ... nor write anything but TXT in the validation zone
    r = env.nsupdate("p", "validation.test", ["update add a.validation.test. 1 A 192.0.2.9"],
                     key=env.validation_key, check=False)
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr, r
    # the customer key may not touch the validation zone
    r = env.nsupdate("p", "validation.test", ["update add x.validation.test. 1 TXT \"x\""],
                     key=env.customer_key, check=False)
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr, r
    # S's validation.test is a secondary: no updates there
    r = env.nsupdate("s", "validation.test", ["update add y.validation.test. 1 TXT \"y\""],
                     check=False)
    assert r.returncode != 0, r
    # wrong secret
    r = env.nsupdate("p", "validation.test", ["update add z.validation.test. 1 TXT \"z\""],
                     key=(env.validation_key[0], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                     check=False)
    assert r.returncode != 0, r
    assert env.txt("evil.c1.test") == [] and env.txt("x.validation.test") == []


# --------------------------------------------------------------- Pebble

def test_pebble_validates_through_resolver_and_cname(env, account):
    d = "d1.c2.test"
    env.add_cname(d)
    out = issue(env, account, d)
    assert out["status"] == "ok", out
    info = env.verify_cert(out["certs"][0], [d])
    assert info["sans"] == [d]
    # the TXT went into the validation zone at the CNAME target, then away
    calls = [c for c in env.chall.calls if c[1] == f"_acme-challenge.{d}"]
    assert [c[0] for c in calls] == ["/set-txt", "/clear-txt"], env.chall.calls
    assert env.txt(env.target(d), "p") == []
    # the wrong SAN set is caught
    with pytest.raises(AssertionError):
        env.verify_cert(out["certs"][0], [d, "www." + d])


def test_pebble_fails_without_the_cname(env, account):
    # same TXT at the same target, but no _acme-challenge CNAME: Pebble
    # (through R) finds nothing, so validation really follows the CNAME
    out = issue(env, account, "nocname.c2.test")
    assert out["status"] == "error" and out["code"] == "validation failed", out
    assert "TXT" in out["detail"], out


def test_pebble_does_not_check_caa(env, account):
    # Pebble 2.4 has no CAA check (letsencrypt/pebble#476): a CAA record
    # naming another CA does not stop it.  The product must check CAA itself.
    env.set_caa("c3.test", ['0 issue "otherca.example"'])
    env.add_cname("c3.test")
    try:
        out = issue(env, account, "c3.test")
        assert out["status"] == "ok", out
        env.verify_cert(out["certs"][0], ["c3.test"])
    finally:
        env.remove_caa("c3.test")
        env.remove_cname("c3.test")


# ---------------------------------------------------------- config/worker

def test_config_writer(env):
    import yaml  # python3-yaml (Debian)
    cfg = yaml.safe_load(open(env.config))
    assert cfg["dns"]["resolvers"] == [env.resolver]
    assert cfg["dns"]["port_map"] == env.port_map()
    assert cfg["dns"]["pointing"]["ip_ranges"] == ["203.0.113.0/24"]
    assert cfg["acme"]["directory"] == env.pebble.directory
    assert cfg["provider"]["tsig"]["secret"] == env.validation_key[1]
    assert cfg["provider"]["server"] == f"127.0.0.1:{env.p.port}"
    assert cfg["worker"]["block_ms"] == 200 and cfg["provider"]["ttl"] == 1
    # overrides: dotted paths, new sections, awkward strings, lists, removal
    path = env.write_config({"redis.prefix": "{dcv}", "lifecycle.renew_before_ms": 1000,
                             "x.y.z": "a: b # c", "ratelimit": {"per_tenant": 5, "l": ["a:1", "-b"]},
                             "dns.confirmations": None, "dns.pointing.host_suffixes": []},
                            path=os.path.join(env.tmp, "over.yaml"))
    o = yaml.safe_load(open(path))
    assert o["redis"]["prefix"] == "{dcv}" and o["redis"]["url"] == env.redis.url
    assert o["lifecycle"] == {"renew_before_ms": 1000}
    assert o["x"]["y"]["z"] == "a: b # c"
    assert o["ratelimit"] == {"per_tenant": 5, "l": ["a:1", "-b"]}
    assert "confirmations" not in o["dns"] and o["dns"]["pointing"]["host_suffixes"] == []
    assert env.config_values["redis.prefix"] == "{dcv}"
    with pytest.raises(ValueError):
        yaml_text({"a.b": 1, "a.b.c": 2})
    env.write_config()  # back to the base for the next tests


def test_worker_check_config_accepts_the_config(env):
    r = env.check_config()
    assert r.returncode == 0 and "configuration ok" in r.stdout, r.stdout + r.stderr
    # a key nobody reads is an error: the checker really reads the file
    bad = env.write_config({"bogus.key": 1}, path=os.path.join(env.tmp, "bad.yaml"))
    r = env.check_config(bad)
    assert r.returncode == 2 and "bogus" in r.stderr, r.stdout + r.stderr
    # and the provider section is validated (wrong algorithm)
    bad = env.write_config({"provider.tsig.algorithm": "hmac-md5"},
                           path=os.path.join(env.tmp, "bad2.yaml"))
    r = env.check_config(bad)
    assert r.returncode == 2 and "algorithm" in r.stderr, r.stdout + r.stderr


def test_worker_runs_on_the_config(env):
    w = env.start_worker()
    try:
        out = env.ctl("onboard", "d5.c1.test").stdout
        assert "_acme-challenge.d5.c1.test. CNAME d5.c1.test.validation.test." in out, out
        # no CNAME yet: the domain waits, saying what is missing
        harness.wait_until(lambda: env.domain("d5.c1.test").get("state") == "waiting-cname", 20,
                           what="d5.c1.test waiting for its CNAME")
        assert "_acme-challenge.d5.c1.test" in env.domain("d5.c1.test")["last_error"]
        assert env.domain("d5.c1.test")["target"] == env.target("d5.c1.test")
        assert isinstance(env.events(), list)
        assert env.cert("d5.c1.test") == {}
    finally:
        rc = env.stop_worker(w)
    assert rc == 0, env.log(w)[-2000:]
    w2 = env.start_worker(stages=["verify-cname"])
    env.kill_worker(w2)
    assert w2.returncode == -9


def test_close_after_failed_start(tmp_path, monkeypatch):
    # a failure half-way (here: right after DNS is up, before Pebble) leaves
    # no process behind
    started = []
    orig = FleetEnv._start_dns

    def boom(self):
        orig(self)
        started.extend(s.proc.pid for s in self._servers)
        started.append(self.redis.proc.pid)
        raise RuntimeError("boom")
    monkeypatch.setattr(FleetEnv, "_start_dns", boom)
    with pytest.raises(RuntimeError):
        FleetEnv(str(tmp_path), zones=1)
    assert len(started) == 5   # P, S, R, CA_R, redis
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
