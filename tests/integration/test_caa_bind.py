"""The CAA check (common/dns_caa.c) against real BIND through caa_driver.

A primary P (recursion no) serves a tiny "test" TLD zone and the zones
below it; a resolver R (recursion, forwarding "test" to P, caches capped
at 1 s) is the only server caa_driver talks to, as the workers talk only
to their configured resolvers.  bad.test is configured on P but its file
does not load, so names below it answer SERVFAIL.
"""
import json
import os
import subprocess
import time

import pytest

import harness
from dns_env import BlackHole, Named, dig, yaml_dump
from harness import free_port, wait_until

ACCT = "https://acme.test/acct/1"

SOA = "$TTL 1\n@ SOA ns.test. hostmaster.caa.test. {serial} 3600 600 86400 1\n@ NS ns.test.\n"

TLD_ZONE = SOA.format(serial=1) + "ns A 192.0.2.1\n"

OTHER_ZONE = SOA.format(serial=1) + """
target CAA 0 issue "otherca.example"
plain A 192.0.2.7
"""

NOCAA_ZONE = SOA.format(serial=1) + """
www A 192.0.2.8
"""


def caa_zone(serial, acct_uri):
    """caa.test: the apex permits us; names below override it."""
    return SOA.format(serial=serial) + f"""
@ CAA 0 issue "letsencrypt.org"
@ CAA 0 iodef "mailto:security@caa.test"
sub A 192.0.2.10
own CAA 0 issue "otherca.example"
own CAA 0 iodef "mailto:security@caa.test"
acct CAA 0 issue "letsencrypt.org; accounturi={acct_uri}; validationmethods=dns-01"
methods CAA 0 issue "letsencrypt.org; validationmethods=http-01"
alias CNAME target.other.test.
alias2 CNAME plain.other.test.
wild CAA 0 issue "letsencrypt.org"
wild CAA 0 issuewild ";"
crit CAA 128 tbs "unknown"
crit CAA 0 issue "letsencrypt.org"
"""


@pytest.fixture(scope="module")
def env():
    d = harness.tmpdir("dcv-caa-")
    servers = []
    hole = BlackHole()
    try:
        p = Named(d, "p", {
            "caa.test": ("type primary;", caa_zone(1, "https://acme.test/acct/999")),
            "test": ("type primary;", TLD_ZONE),
            "other.test": ("type primary;", OTHER_ZONE),
            "nocaa.test": ("type primary;", NOCAA_ZONE),
            "bad.test": ("type primary;", "this is not a zone file\n"),
        }, extra_options="recursion no;")
        servers.append(p)
        r = Named(d, "r", {
            "test": (f"type forward; forward only; forwarders {{ 127.0.0.1 port {p.port}; }};", None),
        }, extra_options="recursion yes; allow-recursion { 127.0.0.1; }; "
                         "max-ncache-ttl 1; max-cache-ttl 1; "
                         "qname-minimization off;")
        servers.append(r)
    except BaseException:
        for s in reversed(servers):
            s.stop()
        hole.stop()
        raise

    class Env:
        pass
    e = Env()
    e.dir, e.p, e.r, e.hole = d, p, r, hole
    e.cfg = config(d, "dns.yaml", [f"127.0.0.1:{r.port}"])
    yield e
    for s in reversed(servers):
        s.stop()
    hole.stop()
    harness.rmtree(d)


def config(d, name, resolvers, timeout_ms=1000):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(yaml_dump({"dns": {"resolvers": resolvers,
                                   "timeout_ms": timeout_ms, "tries": 1}}))
    return path


def caa(cfg, domain, *args):
    """Runs caa_driver and returns its JSON result."""
    out = subprocess.run([harness.program("caa_driver"), cfg, domain, *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"caa_driver {domain}: rc={out.returncode} {out.stderr}"
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0])


def test_apex_permits_us(env):
    r = caa(env.cfg, "caa.test")
    assert r["verdict"] == "allowed" and r["rc"] == 0, r
    assert r["owner"] == "caa.test"
    assert r["record"] == 'caa.test CAA 0 issue "letsencrypt.org"'


def test_climb_finds_the_parents_caa(env):
    r = caa(env.cfg, "sub.caa.test")           # exists, no CAA of its own
    assert r["verdict"] == "allowed" and r["owner"] == "caa.test", r
    r = caa(env.cfg, "a.b.deep.caa.test")      # does not exist at all
    assert r["verdict"] == "allowed" and r["owner"] == "caa.test", r
    assert r["queries"] == 4                   # a.b.deep, b.deep, deep, apex
    r = caa(env.cfg, "sub.caa.test", "-i", "otherca.example")
    assert r["verdict"] == "forbidden" and r["owner"] == "caa.test", r


def test_own_caa_overrides_the_parent(env):
    r = caa(env.cfg, "own.caa.test")
    assert r["verdict"] == "forbidden", r
    assert r["owner"] == "own.caa.test"
    assert r["record"] == 'own.caa.test CAA 0 issue "otherca.example"'
    assert "other CAs" in r["detail"]
    # the same name is fine for the CA it names
    r = caa(env.cfg, "x.own.caa.test", "-i", "otherca.example")
    assert r["verdict"] == "allowed" and r["owner"] == "own.caa.test", r


def test_cname_is_followed(env):
    r = caa(env.cfg, "alias.caa.test")
    assert r["verdict"] == "forbidden", r
    assert r["owner"] == "target.other.test"
    assert r["record"] == 'target.other.test CAA 0 issue "otherca.example"'
    assert "alias" in r["detail"]
    # an alias whose target has no CAA: the climb goes on from the alias
    r = caa(env.cfg, "alias2.caa.test")
    assert r["verdict"] == "allowed" and r["owner"] == "caa.test", r


def test_no_caa_up_to_the_tld(env):
    r = caa(env.cfg, "www.nocaa.test")
    assert r["verdict"] == "allowed" and r["owner"] == "" and r["record"] == "", r
    assert r["queries"] == 3                   # www.nocaa.test, nocaa.test, test


def test_wildcard_reads_issuewild(env):
    assert caa(env.cfg, "wild.caa.test")["verdict"] == "allowed"
    r = caa(env.cfg, "*.wild.caa.test")
    assert r["verdict"] == "forbidden" and 'issuewild ";"' in r["record"], r
    assert caa(env.cfg, "wild.caa.test", "-w")["verdict"] == "forbidden"
    # no issuewild at the apex: a wildcard falls back to issue
    assert caa(env.cfg, "*.sub.caa.test")["verdict"] == "allowed"


def test_critical_unknown_tag(env):
    r = caa(env.cfg, "crit.caa.test")
    assert r["verdict"] == "forbidden", r
    assert r["record"] == 'crit.caa.test CAA 128 tbs "unknown"'


def test_validationmethods(env):
    r = caa(env.cfg, "methods.caa.test")
    assert r["verdict"] == "forbidden" and "excludes dns-01" in r["detail"], r
    assert caa(env.cfg, "methods.caa.test", "-m", "http-01")["verdict"] == "allowed"


def test_accounturi_mismatch_then_fixed(env):
    r = caa(env.cfg, "acct.caa.test", "-a", ACCT)
    assert r["verdict"] == "forbidden", r
    assert "acct/999" in r["record"] and "accounturi" in r["detail"]
    assert caa(env.cfg, "acct.caa.test")["verdict"] == "forbidden"  # no account

    # The customer fixes the record: new serial, named reloads the file.
    env.p.write_zone("caa.test", caa_zone(2, ACCT))
    env.p.reload()
    wait_until(lambda: any(ACCT in l for l in dig(env.p.port, "acct.caa.test", "CAA")),
               20, what="P to serve the fixed record")
    r = wait_until(lambda: (lambda x: x if x["verdict"] == "allowed" else None)(
        caa(env.cfg, "acct.caa.test", "-a", ACCT)), 15, interval=0.3,
        what="the resolver to serve the fixed record")
    assert r["owner"] == "acct.caa.test" and ACCT in r["record"]


def test_servfail_is_transient(env):
    cfg = config(env.dir, "slow.yaml", [f"127.0.0.1:{env.r.port}"], timeout_ms=3000)
    r = caa(cfg, "www.bad.test")
    assert r["verdict"] == "transient" and r["rc"] == 0, r
    # c-ares moves on from a SERVFAIL to the next resolver and, when none
    # is left, reports the set as failed
    assert "no usable answer" in r["detail"], r


def test_unreachable_resolver_is_transient(env):
    cfg = config(env.dir, "hole.yaml", [f"127.0.0.1:{env.hole.port}"], timeout_ms=300)
    r = caa(cfg, "caa.test")
    assert r["verdict"] == "transient" and "timeout" in r["detail"], r
    cfg = config(env.dir, "closed.yaml", [f"127.0.0.1:{free_port()}"], timeout_ms=300)
    r = caa(cfg, "caa.test")
    assert r["verdict"] == "transient", r


def test_deadline_ends_the_lookup(env):
    cfg = config(env.dir, "hole-slow.yaml", [f"127.0.0.1:{env.hole.port}"], timeout_ms=3000)
    t0 = time.monotonic()
    r = caa(cfg, "a.b.caa.test", "-d", "700")
    took = time.monotonic() - t0
    assert 0.65 <= took < 1.7, took
    assert r["verdict"] == "transient", r
    assert r["detail"] == ("CAA lookup of a.b.caa.test: deadline reached: the resolvers "
                           "did not answer"), r


def test_bad_input(env):
    r = caa(env.cfg, "not a name")
    assert r["rc"] == -1 and r["verdict"] == "error", r
