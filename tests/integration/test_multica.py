"""More than one CA (issue 14, points 1-3): two real Pebble instances, each
with its own root, as CA "a" (preferred, behind ca_proxy) and CA "b".

test_outage_falls_back_and_returns: A answers 503 to everything: the
domains onboarded meanwhile are issued by B (a fallback, said so in the
record and the event), none fails, A is marked unhealthy in
<prefix>:ca:a; when A answers again the next orders go back to A.

test_caa_chooses_the_ca: a domain whose CAA names only B's identity, or
names A only for another account (RFC 8657 accounturi) and B for the
fleet's account at B, is issued by B without A ever seeing an order for
it; one whose CAA names neither is caa-blocked.

test_each_ca_rotates_on_its_own: rotate-key --ca b moves B's key only.

test_account_refused_then_registered: A's account deactivated at the CA
(it answers unauthorized): A is unhealthy with that reason, its domains go
to B; "dcvctl account register --ca a --force" registers anew, A is
healthy and issues again (--force on B, whose account the CA accepts,
changes nothing).

test_tenant_pinned_to_b: a tenant of acme.tenants pinned to B is issued
by B, never A, and caa-blocked when its CAA allows A only.

test_renewal_prefers_the_issuing_ca: renewed by B while A is down, a
domain renews with B again once A is back (ca_why "renewal"), while a new
domain goes to A.

test_failures_do_not_push_the_reprobe: ca_health.c's Lua on a real Redis:
the failures that go on while a CA is unhealthy do not move its re-probe
time, only the probe does.

Every certificate verifies against the root of the CA that issued it
(Pebble's /roots/0), not against the other's."""
import os
import re
import time

import pytest

import harness
import lifecycle_env as L
from multica_env import CAA_A, CAA_B, MultiCA


@pytest.fixture
def mc():
    d = harness.tmpdir("dcv-multica-")
    m = MultiCA(d)
    yield m
    m.close()
    if not os.environ.get("DCV_KEEP_TMP"):
        harness.rmtree(d)


def issued_event(env, domain):
    evs = [e for e in env.events(domain) if e["type"] == "issued"]
    assert evs, f"{domain}: no issued event"
    return evs[-1]


def by_ca(mc, names):
    out = {}
    for d in names:
        out.setdefault(mc.verify(d), []).append(d)
    return out


def seen_by_a(mc, domain):
    return any(domain in o["names"] for o in mc.env.ca.orders())


def issue(mc, prefix, n, timeout=120):
    """N new domains onboarded and issued; their names."""
    names = L.domains(mc.env, n, prefix)
    mc.onboard(names)
    L.wait_all_issued(mc.env, names, timeout)
    return names


def assert_issued_by(mc, names, ca, why):
    """Every one of NAMES issued by CA (its root verifies it), chosen for
    WHY (a prefix of ca_why), as the record and the issued event say."""
    assert by_ca(mc, names) == {ca: names}
    for d in names:
        rec = mc.env.domain(d)
        assert rec["state"] == "issued" and rec["ca_why"].startswith(why), rec
        e = issued_event(mc.env, d)
        fallback = "1" if why.startswith("fallback") else "0"
        assert (e["ca"], e["fallback"]) == (ca, fallback) and e["ca_why"] == rec["ca_why"], e


def test_outage_falls_back_and_returns(mc):
    env = mc.env
    assert_issued_by(mc, issue(mc, "p", 3), "a", "preferred")

    env.ca.go_down(600)     # ended below
    during = issue(mc, "o", 6)
    # A's first failure blocks its new-order line (no budget: orders go to
    # B at once); each later try at A is one more failure in a row, and at
    # acme.ca_health.failures (2) A is unhealthy fleet-wide
    deadline = time.monotonic() + 60
    while mc.health("a").get("state") != "unhealthy":
        assert time.monotonic() < deadline, f"A never unhealthy: {mc.health('a')}"
        during += issue(mc, f"w{len(during)}-", 1, 60)
    assert_issued_by(mc, during, "b", "fallback:a-")
    assert L.dead_letters(env) == 0
    h = mc.health("a")
    assert h["state"] == "unhealthy", h
    assert "no answer" in h["reason"], h
    assert int(h["failures"]) >= 2 and int(h["reprobe_at"]) > 0
    # beside them, in the same hash: what the CA offers (ca_caps)
    assert h.get("cap_keychange") in ("yes", "no"), h
    # dcvctl status tells which CA issued and why; stats shows A's health
    st = env.ctl("status", during[0]).stdout
    assert re.search(r"^issued_ca\s+b$", st, re.M), st
    assert re.search(r"^ca_why\s+fallback:a-", st, re.M), st
    m = harness.metrics(mc.metrics_port)
    assert m.get('dcv_ca_healthy{ca="a"}') == 0, m
    assert m.get('dcv_ca_orders_total{ca="b",why="fallback"}', 0) >= 1, m
    assert m.get('dcv_ca_failures_total{ca="a",kind="outage"}', 0) >= 1, m
    stats = env.ctl("stats").stdout
    assert re.search(r"^ca a unhealthy .*reason=no answer", stats, re.M), stats
    assert re.search(rf"^ca b healthy .*fallback_orders={len(during)}", stats, re.M), stats

    # A answers again: a domain onboarded after the re-probe time is the
    # probe; once one is answered, A is healthy
    env.ca.go_down(0)
    deadline = time.monotonic() + 90
    probes = 0
    while mc.health("a").get("state") != "healthy":
        assert time.monotonic() < deadline, f"A never healthy again: {mc.health('a')}"
        by_ca(mc, issue(mc, f"q{probes}-", 1, 60))
        probes += 1
    assert_issued_by(mc, issue(mc, "r", 4), "a", "preferred")
    assert L.dead_letters(env) == 0
    m = harness.metrics(mc.metrics_port)
    assert m.get('dcv_ca_healthy{ca="a"}') == 1, m
    assert m.get('dcv_ca_orders_total{ca="a",why="preferred"}', 0) >= 7, m


def test_caa_chooses_the_ca(mc):
    env = mc.env
    only_b, neither, free, account_b = L.domains(env, 4, "c")
    env.set_caa(only_b, (f'0 issue "{CAA_B}"',))
    env.set_caa(neither, ('0 issue "otherca.example"',))
    # RFC 8657: A is named for another account, B for the fleet's at B
    b_url = env.client().hget(f"{env.prefix}:account:b", "url").decode()
    env.set_caa(account_b, (f'0 issue "{CAA_A}; accounturi=https://a.invalid/acct/1"',
                            f'0 issue "{CAA_B}; accounturi={b_url}"'))
    mc.onboard([only_b, neither, free, account_b])
    L.wait_all_issued(env, [only_b, free, account_b], 90)
    assert mc.verify(only_b) == "b"
    assert mc.verify(account_b) == "b"
    assert mc.verify(free) == "a"
    assert env.domain(only_b)["cas"] == "b"
    assert env.domain(account_b)["cas"] == "b"
    assert env.domain(only_b)["ca_why"] == "preferred"
    assert env.domain(free)["cas"] == "a,b"
    assert not seen_by_a(mc, only_b) and not seen_by_a(mc, account_b)
    assert seen_by_a(mc, free)
    harness.wait_until(lambda: env.domain(neither).get("state") == "caa-blocked", 30,
                       what="caa-blocked")
    assert "otherca.example" in env.domain(neither)["last_error"]
    assert not seen_by_a(mc, neither)
    assert "cas" not in env.domain(neither)


def test_each_ca_rotates_on_its_own(mc):
    """rotate-key --ca b changes B's account key only; the workers sign
    with the new key at B, and A's account is untouched."""
    env = mc.env
    r = env.client()
    a_before = r.hgetall(f"{env.prefix}:account:a")
    (first,) = issue(mc, "k", 1)            # the workers hold both accounts
    out = env.ctl("account", "rotate-key", "--ca", "b").stdout
    assert "key_version 2" in out, out
    assert r.hget(f"{env.prefix}:account:b", "key_version") == b"2"
    assert r.hgetall(f"{env.prefix}:account:a") == a_before
    assert "key_version: 1" in env.ctl("account", "show", "--ca", "a").stdout
    assert "key_version: 2" in env.ctl("account", "show", "--ca", "b").stdout
    only_b = L.domains(env, 1, "kb")[0]
    env.set_caa(only_b, (f'0 issue "{CAA_B}"',))
    mc.onboard([only_b])
    L.wait_all_issued(env, [only_b], 90)
    assert mc.verify(only_b) == "b" and mc.verify(first) == "a"
    bad = env.ctl("account", "show", "--ca", "nosuch", check=False)
    assert bad.returncode != 0 and "no CA named" in bad.stderr


def test_account_refused_then_registered(mc):
    env = mc.env
    r = env.client()
    key = f"{env.prefix}:account:a"
    saved = r.hgetall(key)
    assert saved, "no account of CA a"
    # --force does not replace an account the CA still accepts (B's)
    b_url = r.hget(f"{env.prefix}:account:b", "url")
    out = env.ctl("account", "register", "--ca", "b", "--email", "ops@example.com",
                  "--force", check=False)
    assert out.returncode != 0 and "still accepts" in out.stderr, out.stderr
    assert r.hget(f"{env.prefix}:account:b", "url") == b_url
    # deactivated at the CA, kept in Redis: the CA now refuses it
    env.ctl("account", "deactivate", "--ca", "a", "--yes")
    assert not r.exists(key)
    r.hset(key, mapping=saved)
    refused = L.domains(env, 3, "u")
    mc.onboard(refused)
    L.wait_all_issued(env, refused, 120)
    assert by_ca(mc, refused) == {"b": refused}
    h = mc.health("a")
    assert h["state"] == "unhealthy", h
    assert "account refused" in h["reason"] and "unauthorized" in h["reason"], h
    out = env.ctl("account", "register", "--ca", "a", "--email", "ops@example.com",
                  check=False)
    assert out.returncode != 0 and "--force" in out.stderr
    env.ctl("account", "register", "--ca", "a", "--email", "ops@example.com", "--force")
    assert r.hget(key, "url") != saved[b"url"]
    h = mc.health("a")
    assert h["state"] == "healthy" and h["reason"] == "account registered", h
    back = L.domains(env, 3, "v")
    mc.onboard(back)
    L.wait_all_issued(env, back, 120)
    assert by_ca(mc, back) == {"a": back}
    assert L.dead_letters(env) == 0
    # the default CA's hash is not used by a fleet that names its CAs
    assert not r.exists(f"{env.prefix}:account")


def test_tenant_pinned_to_b(mc):
    """A tenant of acme.tenants pinned to B (no fallback) is issued by B
    while A, preferred and healthy, issues the others; its domain whose
    CAA allows only A is caa-blocked, not issued by A."""
    env = mc.env
    pinned, caa_a, other = L.domains(env, 3, "t")
    env.set_caa(caa_a, (f'0 issue "{CAA_A}"',))
    L.customers_ready(env, [pinned, caa_a, other])
    r = env.client()
    for d, tenant in ((pinned, "t-b"), (caa_a, "t-b"), (other, "")):
        kw = {"tenant": tenant} if tenant else {}
        r.xadd(f"{env.prefix}:stream:verify-cname", {"domain": d, "job": L.job_bytes(d, **kw)})
    L.wait_all_issued(env, [pinned, other], 90)
    assert mc.verify(pinned) == "b" and env.domain(pinned)["ca_why"] == "preferred"
    assert env.domain(pinned)["cas"] == "b"
    assert mc.verify(other) == "a"
    assert not seen_by_a(mc, pinned)
    harness.wait_until(lambda: env.domain(caa_a).get("state") == "caa-blocked", 30,
                       what="caa-blocked")
    assert not seen_by_a(mc, caa_a)


def test_renewal_prefers_the_issuing_ca():
    """A renewal goes to the CA that issued the current certificate: a
    domain renewed by B while A was down stays with B once A is back,
    whereas a new domain goes to A."""
    d = harness.tmpdir("dcv-multica-renew-")
    # certificates renew about 8 s after issuance (5 years, 5e-8 left)
    m = MultiCA(d, config={"lifecycle.renew_fraction": 0.99999995,
                           "lifecycle.offboard_interval_ms": 500,
                           "lifecycle.offboard_jitter": 0.1,
                           "lifecycle.park_grace_ms": 3600000})
    try:
        env = m.env
        (dom,) = issue(m, "n", 1)
        assert m.verify(dom) == "a"
        env.ca.go_down(600)
        serial = env.domain(dom)["serial"]
        harness.wait_until(lambda: env.domain(dom).get("issued_ca") == "b", 90,
                           interval=0.2, what="renewed by B")
        assert env.domain(dom)["serial"] != serial
        assert env.domain(dom)["ca_why"].startswith("fallback:a-")
        assert m.verify(dom) == "b"
        env.ca.go_down(0)
        # A answers again and is preferred for a new domain ...
        deadline = time.monotonic() + 90
        while m.health("a").get("state") == "unhealthy":
            assert time.monotonic() < deadline, m.health("a")
            by_ca(m, issue(m, f"k{int(time.monotonic() * 1000)}-", 1, 60))
        assert_issued_by(m, issue(m, "f", 1), "a", "preferred")
        # ... while the domain's next renewal stays with B, which issued it
        serial = env.domain(dom)["serial"]
        harness.wait_until(lambda: env.domain(dom).get("serial") not in (None, serial)
                           and env.domain(dom).get("state") == "issued", 90,
                           interval=0.2, what="renewed again")
        rec = env.domain(dom)
        assert (rec["issued_ca"], rec["ca_why"]) == ("b", "renewal"), rec
        assert m.verify(dom) == "b"
        e = issued_event(env, dom)
        assert (e["ca"], e["fallback"], e["renewal"]) == ("b", "0", "1"), e
        assert L.dead_letters(env) == 0
    finally:
        m.close()
        if not os.environ.get("DCV_KEEP_TMP"):
            harness.rmtree(d)


def ca_health_lua(name):
    """The Lua source of workers/ca_health.c's NAME (a C string literal
    made of adjacent parts), to run it directly."""
    src = open(os.path.join(os.environ["DCV_SOURCE_DIR"], "workers", "ca_health.c")).read()
    m = re.search(r"static const char " + name + r"\[\] =(.*?);\n", src, re.S)
    assert m, name
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))


def test_failures_do_not_push_the_reprobe():
    """An unhealthy CA's re-probe time is set when it becomes unhealthy and
    moved by the probes only: the failures that go on (one worker's
    threads that cannot reach the CA) do not push it on, so that a healthy
    worker probes at that time."""
    d = harness.tmpdir("dcv-multica-lua-")
    redis = harness.Redis(d)
    try:
        r = redis.client()
        failed = ca_health_lua("failed_lua")
        probe = ca_health_lua("probe_lua")
        k = "dcv:ca:a"
        # reason, now, threshold 2, reprobe_at, at_once
        assert r.eval(failed, 1, k, "no answer", 1000, 2, 61000, "0") == 0
        assert r.eval(failed, 1, k, "no answer", 2000, 2, 62000, "0") == 1
        h = r.hgetall(k)
        assert (h[b"state"], h[b"since"], h[b"reprobe_at"]) == (b"unhealthy", b"2000", b"62000")
        for t in range(3000, 60000, 1000):
            assert r.eval(failed, 1, k, f"no answer {t}", t, 2, t + 60000, "0") == 1
        h = r.hgetall(k)
        assert h[b"reprobe_at"] == b"62000" and h[b"reason"] == b"no answer 59000", h
        assert h[b"since"] == b"2000"
        # the probe is not due before it; then one worker takes it
        assert r.eval(probe, 1, k, 61999, 122000) == 0
        assert r.eval(probe, 1, k, 62000, 122000) == 1
        assert r.eval(probe, 1, k, 62001, 122001) == 0
        assert r.hget(k, "reprobe_at") == b"122000"
    finally:
        redis.stop()
        if not os.environ.get("DCV_KEEP_TMP"):
            harness.rmtree(d)
