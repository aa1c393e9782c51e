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

test_ca_stopped_mid_run: A really stopped (its port refuses connections)
while a batch is on its way: the domains onboarded meanwhile are issued by
B, none fails; A back: new orders go to A.

test_tenant_eab_account (point 4): B requires EAB; a tenant with its own
EAB account at B (own_account) is issued under it (the kid B saw), others
under the fleet's; CAA accounturi is checked against it; a tenant whose
own account is refused or missing never uses the fleet's (with fallback:
the fleet's other CA).

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


def probe_until_healthy(mc, timeout=90):
    """New domains one at a time (each a probe of A once its re-probe time
    came) until A is healthy again."""
    deadline = time.monotonic() + timeout
    probes = 0
    while mc.health("a").get("state") != "healthy":
        assert time.monotonic() < deadline, f"A never healthy again: {mc.health('a')}"
        by_ca(mc, issue(mc, f"q{probes}-", 1, 60))
        probes += 1


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
    probe_until_healthy(mc)
    assert_issued_by(mc, issue(mc, "r", 4), "a", "preferred")
    assert L.dead_letters(env) == 0
    m = harness.metrics(mc.metrics_port)
    assert m.get('dcv_ca_healthy{ca="a"}') == 1, m
    assert m.get('dcv_ca_orders_total{ca="a",why="preferred"}', 0) >= 7, m


def test_ca_stopped_mid_run(mc):
    """Issue 14's "CA A stopped mid-run", A really gone: its port refuses
    connections (its proxy SIGKILLed; Pebble A behind it keeps its
    accounts and orders) while a batch is on its way.  The domains
    onboarded meanwhile are issued by B; the ones whose order A holds wait
    for A (an outage fails no domain); none fails.  A back on its port: a
    probe makes it healthy and new orders go to A again."""
    env = mc.env
    first = L.domains(env, 8, "m")
    mc.onboard(first)
    harness.wait_until(lambda: len(L.issued_set(env) & set(first)) >= 2, 90,
                       interval=0.1, what="two of the batch issued by A")
    env.ca.kill()
    try:
        during = issue(mc, "s", 5, 120)
        assert_issued_by(mc, during, "b", "fallback:a-")
        harness.wait_until(lambda: mc.health("a").get("state") == "unhealthy", 60,
                           what="A unhealthy")
        assert "no answer" in mc.health("a")["reason"]
        # the batch: each issued (by A before the stop, or by B) or waiting
        for d in first:
            rec = env.domain(d)
            assert rec.get("state") != "failed", rec
            if rec.get("state") == "issued" and rec.get("issued_ca") == "b":
                assert rec["ca_why"].startswith("fallback:a-"), rec
    finally:
        env.ca.start_again()
    # A answers again: the probe, then orders go back to A
    probe_until_healthy(mc)
    after = issue(mc, "u", 3)
    assert_issued_by(mc, after, "a", "preferred")
    assert all(any(d in o["names"] for o in env.ca.orders()) for d in after)
    L.wait_all_issued(env, first, 90)
    by_ca(mc, first)     # each verifies against its issuer's root
    assert L.dead_letters(env) == 0


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


# EAB keys B accepts: the fleet's account at B and two tenants' own
EAB_FLEET = ("kid-fleet", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")
EAB_T = ("kid-t-eab", "b2ZmaWNpYWxseS1ub3QtYS1zZWNyZXQtb2YtYW55LXRlbmFudC1hdC1hbGwtb2s")
EAB_R = ("kid-t-ref", "cmVmdXNlZC10ZW5hbnQtYWNjb3VudC1rZXktZm9yLXRoZS10ZXN0LW9ubHktb2s")


def test_tenant_eab_account():
    """Issue 14 point 4: tenant t-eab, pinned to B (Pebble requiring EAB)
    with its own EAB account there (dcvctl account register --ca b
    --tenant t-eab), is issued under that account (the kid of every order
    B saw for it), while another domain is issued by A under the fleet's
    account; tenant t-ref, whose own account B refuses (deactivated at the
    CA), never orders under the fleet's account at B (no fallback) and
    leaves B healthy."""
    d = harness.tmpdir("dcv-multica-eab-")
    keys = dict((EAB_FLEET, EAB_T, EAB_R))
    m = MultiCA(d, b_eab=keys, config={
        "acme.cas.b.eab_kid": EAB_FLEET[0], "acme.cas.b.eab_hmac": EAB_FLEET[1],
        "acme.tenants.t-eab.cas": ["b"], "acme.tenants.t-eab.own_account": True,
        "acme.tenants.t-ref.cas": ["b"], "acme.tenants.t-ref.own_account": True,
        # own accounts never registered: with fallback the fleet's others
        # (A), without it a wait that says what to register
        "acme.tenants.t-fb.cas": ["b"], "acme.tenants.t-fb.own_account": True,
        "acme.tenants.t-fb.fallback": True,
        "acme.tenants.t-none.cas": ["b"], "acme.tenants.t-none.own_account": True,
    })
    try:
        env = m.env
        r = env.client()
        p = env.prefix
        # no HMAC in argv: from a file, or the environment
        hf = os.path.join(d, "t-eab.hmac")
        with open(hf, "w") as f:
            f.write(EAB_T[1] + "\n")
        out = env.ctl("account", "register", "--ca", "b", "--tenant", "t-eab",
                      "--email", "t@example.com", "--eab-kid", EAB_T[0],
                      "--eab-hmac-file", hf)
        assert EAB_T[1] not in out.stdout + out.stderr
        env.ctl("account", "register", "--ca", "b", "--tenant", "t-ref",
                "--email", "t@example.com", "--eab-kid", EAB_R[0],
                env={"DCV_ACME_TENANT_EAB_HMAC": EAB_R[1]})
        # a tenant name that would reach into other keys is refused
        bad = env.ctl("account", "show", "--ca", "b", "--tenant", "x:y", check=False)
        assert bad.returncode != 0 and "tenant" in bad.stderr
        # a tenant without own_account has no account to register
        bad = env.ctl("account", "register", "--ca", "b", "--tenant", "t-b",
                      "--eab-kid", EAB_T[0], "--eab-hmac-file", hf, check=False)
        assert bad.returncode != 0 and "own_account" in bad.stderr
        fleet_b = r.hget(f"{p}:account:b", "url").decode()
        fleet_a = r.hget(f"{p}:account:a", "url").decode()
        t_url = r.hget(f"{p}:account:b:tenant:t-eab", "url").decode()
        show = env.ctl("account", "show", "--ca", "b", "--tenant", "t-eab").stdout
        assert f"url: {t_url}" in show and "tenant: t-eab" in show, show
        assert len({fleet_a, fleet_b, t_url}) == 3
        # t-ref's account deactivated at B, but kept in Redis: B refuses it
        ref_key = f"{p}:account:b:tenant:t-ref"
        saved = r.hgetall(ref_key)
        ref_url = saved[b"url"].decode()
        env.ctl("account", "deactivate", "--ca", "b", "--tenant", "t-ref", "--yes")
        assert not r.exists(ref_key)
        r.hset(ref_key, mapping=saved)

        own, other, refused, fb, none, caa_t, caa_f = L.domains(env, 7, "e")
        # CAA's accounturi is checked against the account that will order
        env.set_caa(caa_t, (f'0 issue "{CAA_B}; accounturi={t_url}"',))
        env.set_caa(caa_f, (f'0 issue "{CAA_B}; accounturi={fleet_b}"',))
        L.customers_ready(env, [own, other, refused, fb, none, caa_t, caa_f])
        for dom, tenant in ((own, "t-eab"), (other, ""), (refused, "t-ref"), (fb, "t-fb"),
                            (none, "t-none"), (caa_t, "t-eab"), (caa_f, "t-eab")):
            kw = {"tenant": tenant} if tenant else {}
            r.xadd(f"{p}:stream:verify-cname", {"domain": dom, "job": L.job_bytes(dom, **kw)})
        L.wait_all_issued(env, [own, other, fb, caa_t], 90)
        assert m.verify(caa_t) == "b"
        harness.wait_until(lambda: env.domain(caa_f).get("state") == "caa-blocked", 30,
                           what="caa-blocked: accounturi names the fleet's account")
        assert m.verify(own) == "b" and m.verify(other) == "a" and m.verify(fb) == "a"
        rec = env.domain(fb)
        assert rec["acct"] == "fleet" and rec["ca_why"] == "fallback:b-no-account", rec
        # (a wait, not an attempt: the reason is in the worker's log)
        harness.wait_until(lambda: f"domain={none} outcome=retry" in env.log(env.workers[0])
                           and "--tenant t-none" in env.log(env.workers[0]), 30,
                           what="t-none waits for its account")
        assert env.domain(none).get("state") != "issued"
        assert not seen_by_a(m, none) and not any(none in o["names"] for o in m.b_ca.orders())
        rec = env.domain(own)
        assert (rec["acct"], rec["issued_acct"]) == ("tenant", "tenant"), rec
        assert env.domain(other)["acct"] == "fleet"
        assert issued_event(env, own)["acct"] == "tenant"
        assert issued_event(env, other)["acct"] == "fleet"
        st = env.ctl("status", own).stdout
        assert re.search(r"^acct\s+tenant$", st, re.M), st
        kids = [o["kid"] for o in m.b_ca.orders() if own in o["names"]]
        assert kids and set(kids) == {t_url}, kids
        assert {o["kid"] for o in env.ca.orders() if other in o["names"]} == {fleet_a}
        # its new-order bucket is its own, not the fleet's at B
        assert r.keys(f"{p}:rl:b:tenant:t-eab:*"), r.keys(f"{p}:rl:*")

        # t-ref: B refuses its account; it waits, never the fleet's account
        harness.wait_until(
            lambda: any(refused in o["names"] for o in m.b_ca.orders())
            and env.domain(refused).get("last_error"), 60, what="t-ref refused")
        rec = env.domain(refused)
        assert rec.get("state") != "issued" and "deactivated" in rec["last_error"], rec
        kids = {o["kid"] for o in m.b_ca.orders() if refused in o["names"]}
        assert kids == {ref_url}, kids
        assert not seen_by_a(m, refused)
        assert m.health("b").get("state") != "unhealthy", m.health("b")
        # revoked with the account that ordered it (Pebble refuses another
        # account without authorizations for the name, as the fleet's at B)
        out = env.ctl("revoke", own, "--reason", "superseded")
        assert "revoked (superseded)" in out.stdout, out
        # its key rotates on its own: the fleet's at B keeps its key, and
        # the tenant's next order is signed with the new one
        fleet_kv = r.hget(f"{p}:account:b", "key_version")
        out = env.ctl("account", "rotate-key", "--ca", "b", "--tenant", "t-eab")
        assert "key_version 2" in out.stdout, out
        assert r.hget(f"{p}:account:b", "key_version") == fleet_kv
        (again,) = L.domains(env, 1, "f")
        L.customers_ready(env, [again])
        r.xadd(f"{p}:stream:verify-cname",
               {"domain": again, "job": L.job_bytes(again, tenant="t-eab")})
        L.wait_all_issued(env, [again], 60)
        assert m.verify(again) == "b" and env.domain(again)["acct"] == "tenant"
        assert {o["kid"] for o in m.b_ca.orders() if again in o["names"]} == {t_url}
    finally:
        m.close()
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
