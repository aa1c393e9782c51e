"""The product end to end (issue 5): separate dcv-worker processes with the
five stages against a real redis-server, Pebble and BIND (fleet_env.py).

Each test builds its own environment, so its timers and its Pebble are its
own.  Waiting is always for a condition with a deadline."""
import datetime
import os
import random
import time

import msgpack
import pytest

import harness
from fleet_env import ELSEWHERE, FAST_TIMERS, US, FleetEnv

@pytest.fixture
def tmp():
    d = harness.tmpdir("dcv-e2e-")
    yield d
    if not os.environ.get("DCV_KEEP_TMP"):
        harness.rmtree(d)


def fleet(tmp, config=None, **kw):
    env = FleetEnv(tmp, zones=8, **kw)
    try:
        env.base_config.update(FAST_TIMERS)
        env.base_config.update(config or {})
        env.write_config()
        env.ctl("account", "register", "--email", "ops@example.com")
    except BaseException:
        env.close()
        raise
    return env


def customer_ready(env, domain, servers=("p", "s"), pointing=True):
    env.add_cname(domain, servers=servers)
    if pointing:
        env.set_a(domain, [US], servers=servers)


def onboard_ca_blind(env, domain):
    """DOMAIN delegated and onboarded, one worker, while the CA's resolver
    is stopped: the CA's DNS-01 lookups fail (restart with env.ca_r.start())."""
    customer_ready(env, domain)
    env.ca_r.stop()
    env.start_worker()
    env.ctl("onboard", domain)


def issued(env, domain):
    return [e for e in env.events(domain) if e["type"] == "issued"]


def wait_issued(env, domains, timeout):
    harness.wait_until(lambda: all(issued(env, d) for d in domains), timeout, interval=0.2,
                       what=f"issued: {[d for d in domains if not issued(env, d)]}")


def issue_all(env, doms, timeout):
    """Makes DOMS ready, starts a worker, onboards them and waits until
    each is issued with a chain that verifies for its one name."""
    for d in doms:
        customer_ready(env, d)
    env.start_worker()
    for d in doms:
        env.ctl("onboard", d)
    wait_issued(env, doms, timeout)
    for d in doms:
        chain_ok(env, d, [d])


def chain_ok(env, domain, sans):
    c = env.cert(domain)
    assert c, f"no dcv:cert:{domain}"
    info = env.verify_cert(c["chain"], sans)
    assert c["serial"] and int(c["not_after"]) > time.time()
    assert c["key_enc"] == "aes-256-gcm" and c["key"].startswith("aesgcm1:")
    return info


def issued_fields_ok(env, domain, renewal):
    """The domain's last `issued` event carries the certificate it stored:
    names, serial, not_after (unix s) as in dcv:cert:<domain> and the
    record, the key to read, RENEWAL, and the detail text as before.  Waits
    for a moment when no renewal runs between the reads."""
    def snapshot():
        c, rec, ev = env.cert(domain), env.domain(domain), issued(env, domain)[-1]
        return (c, rec, ev) if c.get("serial") == ev.get("serial") == rec.get("serial") \
            else None
    c, rec, ev = harness.wait_until(snapshot, 30, interval=0.1,
                                    what=f"the last issued event of {domain} and its cert")
    assert ev["names"] == c["names"] == rec["names"]
    assert ev["not_after"] == c["not_after"] == rec["not_after"]
    assert ev["cert_key"] == f"{env.prefix}:cert:{domain}"
    assert env.client().hget(ev["cert_key"], "serial").decode() == c["serial"]
    assert ev["renewal"] == renewal
    when = datetime.datetime.fromtimestamp(int(ev["not_after"]), datetime.timezone.utc)
    assert ev["detail"] == f"serial {c['serial']}, not after {when:%Y-%m-%dT%H:%M:%SZ}"
    return ev


def dead(env):
    return [{k.decode(): v for k, v in f.items()} for _, f in env.client().xrange("dcv:dead")]


def orders(env, domain):
    return int(env.domain(domain).get("orders", 0))


# ---------------------------------------------------------------- test 1

def test_fifty_domains_staggered_cnames_one_server_first_and_never(tmp):
    env = fleet(tmp)
    try:
        zones = env.zones
        doms = [f"d{i}.{zones[i % 5]}" for i in range(50)]
        staggered, p_first, never = doms[:40], doms[40:45], doms[45:]
        for w in range(2):
            env.start_worker()
        onboarded = {}
        for d in doms:
            out = env.ctl("onboard", d).stdout
            assert f"_acme-challenge.{d}. CNAME {env.target(d)}." in out
            onboarded[d] = env.domain(d)["target"]
        # apex plus www, and a wildcard with its base, in one certificate each
        env.ctl("onboard", zones[5], "--names", f"{zones[5]},www.{zones[5]}")
        env.ctl("onboard", zones[6], "--names", f"*.{zones[6]},{zones[6]}")
        t0 = time.monotonic()
        rnd = random.Random(5)
        plan = sorted((rnd.uniform(0, 6), d) for d in staggered)
        for d in p_first:
            customer_ready(env, d, servers=("p",))
        for name in (zones[5], f"www.{zones[5]}", zones[6]):
            customer_ready(env, name)
        for at, d in plan:
            while time.monotonic() - t0 < at:
                time.sleep(0.02)
            customer_ready(env, d)
        # the half-visible ones wait for the second server, naming it
        harness.wait_until(lambda: all("ns2.dns.test" in env.domain(d).get("last_error", "")
                                       for d in p_first), 20,
                           what="the P-only domains name the server that disagrees")
        for d in p_first:
            assert not issued(env, d), f"{d} issued while only P had its CNAME"
            assert env.domain(d)["state"] == "waiting-cname"
        s_added = time.time() * 1000
        for d in p_first:
            customer_ready(env, d, servers=("s",))
        wait_issued(env, staggered + p_first + [zones[5], zones[6]], 180)
        for d in p_first:
            assert int(issued(env, d)[0]["time"]) > s_added, f"{d} issued before S had it"
        for d in staggered + p_first:
            chain_ok(env, d, [d])
            assert env.domain(d)["target"] == onboarded[d]
        chain_ok(env, zones[5], [zones[5], f"www.{zones[5]}"])
        chain_ok(env, zones[6], [f"*.{zones[6]}", zones[6]])
        certs = [d for d in doms if env.cert(d)]
        assert len(certs) == 45
        for d in never:
            st = env.domain(d)
            assert st["state"] == "waiting-cname", (d, st)
            assert f"_acme-challenge.{d}" in st["last_error"], st
            assert not env.cert(d) and "orders" not in st
        assert dead(env) == []
    finally:
        env.close()


# ---------------------------------------------------------------- test 2

def test_caa_blocks_before_any_order_then_fixed_proceeds(tmp):
    env = fleet(tmp, {"stages.verify-cname.backoff_base_ms": 60000,
                      "stages.verify-cname.backoff_cap_ms": 60000})
    try:
        d = env.zones[0]
        customer_ready(env, d)
        env.set_caa(d, ['0 issue "otherca.example"'])
        env.start_worker()
        env.ctl("onboard", d)
        harness.wait_until(lambda: env.domain(d).get("state") == "caa-blocked", 30,
                           what="caa-blocked")
        ev = [e for e in env.events(d) if e["type"] == "caa-blocked"]
        assert len(ev) == 1 and 'issue "otherca.example"' in ev[0]["detail"], ev
        assert "otherca.example" in env.domain(d)["last_error"]
        assert orders(env, d) == 0
        # the customer fixes it; the backend nudges (the backoff is a minute)
        env.set_caa(d, ['0 issue "pebble.test"'])
        harness.wait_until(lambda: "pebble.test" in " ".join(env.query("r", d, "CAA")), 10,
                           what="the new CAA through the resolver")
        out = env.ctl("nudge", d).stdout
        assert "checking again now" in out
        wait_issued(env, [d], 30)
        assert orders(env, d) == 1
        chain_ok(env, d, [d])
    finally:
        env.close()


def test_nudge_duplicate_onboard_and_abandon(tmp):
    env = fleet(tmp, {"stages.verify-cname.backoff_base_ms": 60000,
                      "stages.verify-cname.backoff_cap_ms": 60000,
                      "lifecycle.verify_max_wait_ms": 4000})
    try:
        a, b = f"a.{env.zones[0]}", f"b.{env.zones[0]}"
        env.start_worker()
        env.ctl("onboard", a)
        env.ctl("onboard", b)
        harness.wait_until(lambda: env.domain(a).get("state") == "waiting-cname", 20,
                           what="a waiting")
        gen = env.domain(a)["gen"]
        # a second onboard while it runs only nudges: same generation, one job
        out = env.ctl("onboard", a).stdout
        assert "already in progress: nudged" in out
        assert env.domain(a)["gen"] == gen
        customer_ready(env, a)
        # the customer says "done" once resolvers see it
        harness.wait_until(lambda: env.cname(f"_acme-challenge.{a}", "r"), 10,
                           what="the CNAME through the resolver")
        env.ctl("nudge", a)
        wait_issued(env, [a], 30)
        # b never gets a CNAME: abandoned after verify_max_wait_ms
        harness.wait_until(lambda: env.domain(b).get("state") == "abandoned", 90,
                           what="b abandoned")
        ev = [e for e in env.events(b) if e["type"] == "abandoned"]
        assert len(ev) == 1 and f"_acme-challenge.{b}" in ev[0]["detail"]
        assert env.ctl("nudge", "unknown.example", check=False).returncode == 3
        # nothing runs for an abandoned domain: a nudge says to onboard it
        p = env.ctl("nudge", b, check=False)
        assert p.returncode == 1 and "onboard it again" in p.stderr
        assert "queued" in env.ctl("onboard", b).stdout
        assert int(env.domain(b)["gen"]) == 2
    finally:
        env.close()


# ---------------------------------------------------------------- test 3

def test_offboarding_parking_and_renewal(tmp):
    # Pebble's certificates live 5 years: renewing with 5e-8 of the lifetime
    # left comes about 8 s after issuance.
    env = fleet(tmp, {"lifecycle.offboard_interval_ms": 1000,
                      "lifecycle.offboard_jitter": 0.1,
                      "lifecycle.stale_interval_ms": 1000,
                      "lifecycle.park_grace_ms": 6000,
                      "lifecycle.offboard_after_ms": 2000,
                      "lifecycle.offboard_min_checks": 2,
                      "lifecycle.renew_fraction": 0.99999995})
    try:
        z = env.zones
        moved, parked, renewed, byctl = f"moved.{z[0]}", f"parked.{z[1]}", f"renew.{z[2]}", f"ctl.{z[3]}"
        missing = f"missing.{z[4]}"
        for d in (moved, renewed, byctl, missing):
            customer_ready(env, d)
        customer_ready(env, parked, pointing=False)
        env.set_a(parked, [ELSEWHERE])
        for w in range(2):
            env.start_worker()
        for d in (moved, parked, renewed, byctl, missing):
            env.ctl("onboard", d)
        wait_issued(env, [moved, parked, renewed, byctl, missing], 60)
        for d in (moved, parked, byctl, missing):
            issued_fields_ok(env, d, "0")
        # still pointing at us, but the customer deleted the delegation
        env.remove_cname(missing)
        harness.wait_until(lambda: any(e["type"] == "delegation-missing"
                                       for e in env.events(missing)), 20,
                           what="delegation-missing")
        # traffic was with us, then moves away with the CNAME left in place
        harness.wait_until(lambda: env.domain(moved).get("ever_pointed") == "1", 20,
                           what="moved seen pointing at us")
        env.set_a(moved, [ELSEWHERE])
        harness.wait_until(lambda: env.domain(moved).get("state") == "offboarded", 20,
                           what="moved offboarded")
        harness.wait_until(lambda: any(e["type"] == "stale-delegation"
                                       for e in env.events(moved)), 20, what="stale-delegation")
        env.remove_cname(moved)
        harness.wait_until(lambda: any(e["type"] == "delegation-removed"
                                       for e in env.events(moved)), 20, what="delegation-removed")
        # offboarded by the backend
        assert "offboarding" in env.ctl("offboard", byctl).stdout
        harness.wait_until(lambda: any(e["type"] == "stale-delegation"
                                       for e in env.events(byctl)), 20,
                           what="stale-delegation after dcvctl offboard")
        assert env.domain(byctl)["state"] == "offboarded"
        # never pointed at us: parked after the grace period
        harness.wait_until(lambda: env.domain(parked).get("state") == "parked", 30,
                           what="parked")
        assert [e["type"] for e in env.events(parked)].count("never-pointed") == 1
        # still with us: renewed, and the offboard check kept passing
        harness.wait_until(lambda: len(issued(env, renewed)) >= 2, 60, what="renewal")
        # the renewal of the one without its delegation is due and held back:
        # it is looked at again at the checks' pace (1 s), not in a loop
        # (soak finding 5: a check every few ms)
        harness.wait_until(lambda: int(env.domain(missing).get("renew_at") or 0)
                           < time.time() * 1000 - 1000, 30, what="missing's renewal due")
        checks, t_end = set(), time.time() + 3
        while time.time() < t_end:
            checks.add(env.domain(missing).get("checked_at"))
            time.sleep(0.05)
        assert len(checks) <= 6, f"{len(checks)} checks of {missing} in 3 s"
        assert env.domain(renewed)["state"] in ("issued", "renewing", "verifying",
                                                "ordering", "provisioning", "validating",
                                                "finalizing")
        assert orders(env, renewed) >= 2
        serials = {e["detail"].split()[1].rstrip(",") for e in issued(env, renewed)}
        assert len(serials) >= 2
        # the first certificate is not a renewal, every later one is
        assert [e["renewal"] for e in issued(env, renewed)][:2] == ["0", "1"]
        assert set(e["renewal"] for e in issued(env, renewed)[1:]) == {"1"}
        issued_fields_ok(env, renewed, "1")
        chain_ok(env, renewed, [renewed])
        # neither the offboarded nor the parked domain renews
        assert len(issued(env, moved)) == 1 and len(issued(env, parked)) == 1
        # nor the one without its delegation; and its event came once
        assert len(issued(env, missing)) == 1
        assert [e["type"] for e in env.events(missing)].count("delegation-missing") == 1
        assert dead(env) == []
    finally:
        env.close()


# ------------------------------------------- invalid authorizations

def test_invalid_authorizations_back_to_verify_then_failed(tmp):
    env = fleet(tmp, {"lifecycle.invalid_backoff_ms": 300,
                      "lifecycle.max_invalid_authz": 2})
    try:
        d = f"bad.{env.zones[0]}"
        onboard_ca_blind(env, d)    # the CA's validation fails
        harness.wait_until(lambda: env.domain(d).get("state") == "failed", 60,
                           what="failed after two invalid authorizations")
        types = [e["type"] for e in env.events(d)]
        assert types == ["authz-invalid", "failed"], types
        ev = env.events(d)
        assert "the CA found" in ev[0]["detail"] and "invalid" in ev[1]["detail"]
        st = env.domain(d)
        assert orders(env, d) == 2 and st["invalid_count"] == "2"
        assert "order_url" not in st and "verified_gen" not in st
        assert env.txt(env.target(d), "p") == []          # TXT removed
        assert dead(env) == []
        # the backend onboards it again once the trouble is over
        env.ca_r.start()
        assert "queued" in env.ctl("onboard", d).stdout
        wait_issued(env, [d], 60)
        chain_ok(env, d, [d])
    finally:
        env.close()


# ----------------------------------------------------- the rate limiter

metrics = harness.metrics


def test_rate_limiter_delays_orders_and_metrics_count(tmp):
    port = harness.free_port()
    env = fleet(tmp, {"ratelimit.new_orders.limit": 2,
                      "ratelimit.new_orders.period_ms": 3000,
                      "metrics.port": port, "metrics.address": "127.0.0.1"})
    try:
        doms = [f"rl{i}.{env.zones[i % 2]}" for i in range(6)]
        for d in doms:
            customer_ready(env, d)
        env.start_worker()
        for d in doms:
            env.ctl("onboard", d)
        limited = set()

        def all_issued():
            limited.update(d for d in doms if env.domain(d).get("state") == "rate-limited")
            return all(issued(env, d) for d in doms)
        harness.wait_until(all_issued, 90, interval=0.05, what="all issued")
        # a burst of two, then one order per 1.5 s: delayed, never failed
        assert len(limited) >= 3, limited
        first = min(int(env.domain(d)["onboarded_at"]) for d in doms)
        last = max(int(issued(env, d)[0]["time"]) for d in doms)
        assert last - first >= 5000
        assert dead(env) == [] and all(orders(env, d) == 1 for d in doms)
        m = metrics(port)
        assert m['dcv_ratelimit_waits_total{bucket="new_orders"}'] >= 3
        assert m['dcv_jobs_total{stage="finalize",outcome="advance"}'] == 6
        assert m['dcv_dns_checks_total{check="delegation",status="ok"}'] >= 6
        assert m['dcv_dns_checks_total{check="propagation",status="ok"}'] >= 6
    finally:
        env.close()


# ---------------------------------------------------------------- test 4

def test_account_key_rotation_mid_run(tmp):
    # a challenge the CA validates just as the key changes fails: that job
    # goes back to verify-cname after invalid_backoff_ms (short here)
    # Two threads only: Pebble 2.4 can deadlock when keyChange meets many
    # concurrent newOrders (its in-memory store's locks; bench/ISSUANCE.md)
    env = fleet(tmp, {"lifecycle.invalid_backoff_ms": 500, "worker.concurrency": 2})
    try:
        doms = [f"r{i}.{env.zones[i % 4]}" for i in range(24)]
        for d in doms:
            customer_ready(env, d)
        env.start_worker()
        targets = {}
        for d in doms:
            env.ctl("onboard", d)
            targets[d] = env.target(d)
        harness.wait_until(lambda: sum(1 for d in doms if issued(env, d)) >= 4, 60,
                           what="a few issued before the rotation")
        before = env.client().hget("dcv:account", "key_version")
        out = env.ctl("account", "rotate-key")
        assert env.client().hget("dcv:account", "key_version") != before, out.stdout
        wait_issued(env, doms, 120)
        for d in doms:
            assert env.domain(d)["target"] == targets[d]
            chain_ok(env, d, [d])
        assert dead(env) == []
    finally:
        env.close()


# ---------------------------------------------------------------- test 5

def test_sigkill_a_worker_mid_run(tmp, capsys):
    env = fleet(tmp, {"worker.visibility_timeout_ms": 4000,
                      "worker.reclaim_interval_ms": 300})
    try:
        doms = [f"k{i}.{env.zones[i % 4]}" for i in range(40)]
        for d in doms:
            customer_ready(env, d)
        victim = env.start_worker()
        env.start_worker()
        for d in doms:
            env.ctl("onboard", d)
        harness.wait_until(lambda: sum(orders(env, d) for d in doms) >= 10, 60,
                           what="orders being created")
        env.kill_worker(victim)
        env.start_worker()
        wait_issued(env, doms, 120)
        counts = {d: orders(env, d) for d in doms}
        extra = {d: n for d, n in counts.items() if n != 1}
        with capsys.disabled():
            print(f"\norders per domain after SIGKILL: {len(doms)} domains, "
                  f"{sum(counts.values())} orders, more than one for {extra or 'none'}")
        # a second order only for a job killed between newOrder and
        # recording it: at most one per thread of the killed worker
        assert sum(counts.values()) - len(doms) <= 4, counts
        for d in doms:
            chain_ok(env, d, [d])
        assert dead(env) == []
    finally:
        env.close()


# ---------------------------------------------------------------- test 6

def test_half_the_nonces_rejected(tmp):
    env = fleet(tmp, nonce_reject=50)
    try:
        doms = [f"n{i}.{env.zones[i % 3]}" for i in range(12)]
        issue_all(env, doms, 120)
        assert dead(env) == []
    finally:
        env.close()


# ---------------------------------------------------------------- test 7

def job(domain, **kw):
    j = {"v": 1, "id": kw.pop("id", os.urandom(16).hex()), "domain": domain,
         "created_at": int(time.time() * 1000)}
    j.update(kw)
    return msgpack.packb(j, use_bin_type=True)


def test_malformed_and_injected_jobs_in_every_stage(tmp):
    env = fleet(tmp)
    try:
        r = env.client()
        good = f"good.{env.zones[0]}"
        unverified = f"unverified.{env.zones[1]}"
        customer_ready(env, good)
        env.ctl("onboard", good)
        env.ctl("onboard", unverified)          # no CNAME: never verified
        env.start_worker()
        harness.wait_until(lambda: env.domain(unverified).get("state") == "waiting-cname",
                           20, what="unverified waiting")
        gen = int(env.domain(unverified)["gen"])
        jid = env.domain(unverified)["job"]
        stages = ["verify-cname", "create-order", "provision-txt", "finalize", "offboard-check"]
        bad = 0
        for s in stages:
            key = f"dcv:stream:{s}"
            r.xadd(key, {"domain": "x", "job": b"\xc1garbage"}); bad += 1
            r.xadd(key, {"domain": "x"}); bad += 1
            r.xadd(key, {"domain": "x", "job": msgpack.packb({"v": 2, "domain": "a.test"})}); bad += 1
            r.xadd(key, {"domain": "x", "job": job("not a domain")}); bad += 1
            if s == "verify-cname":
                continue
            # well-formed jobs that are not the domain's pipeline
            r.xadd(key, {"domain": unverified, "job": job(unverified)}); bad += 1
            r.xadd(key, {"domain": unverified, "job": job(unverified, gen=gen + 5)}); bad += 1
            r.xadd(key, {"domain": "nobody.example", "job": job("nobody.example", gen=1)}); bad += 1
            if s != "offboard-check":
                # the domain's own job id and generation, but not verified
                r.xadd(key, {"domain": unverified,
                             "job": job(unverified, id=jid, gen=gen)}); bad += 1
        harness.wait_until(lambda: len(dead(env)) >= bad, 60,
                           what=f"{bad} dead letters (have {len(dead(env))})")
        wait_issued(env, [good], 60)
        d = dead(env)
        assert len(d) == bad, [x[b"reason"] if isinstance(x, dict) and b"reason" in x else x for x in d]
        reasons = [x["reason"].decode() for x in d]
        assert all(reasons), reasons
        assert sum("before the delegation was verified" in x for x in reasons) == 3
        assert sum("is not onboarded" in x for x in reasons) == 4
        assert sum("generation" in x for x in reasons) >= 8
        # the refused jobs left the domain alone
        st = env.domain(unverified)
        assert st["state"] == "waiting-cname" and int(st["gen"]) == gen and "orders" not in st
        chain_ok(env, good, [good])
    finally:
        env.close()


# ------------------------------------------------------ tenant isolation

def test_another_tenant_cannot_get_a_certificate_for_a_delegated_domain(tmp):
    # the default template has no {tenant}: B's delegation target for A's
    # names is A's, so only the fleet's ownership stands between B and them
    env = fleet(tmp, {"lifecycle.stale_interval_ms": 500})
    try:
        z = env.zones
        a, www = z[0], f"www.{z[0]}"
        mine, mine2, mine3 = f"b.{z[1]}", f"b2.{z[1]}", f"b3.{z[1]}"
        for d in (a, www, mine, mine2, mine3):
            customer_ready(env, d)
        w = env.start_worker()
        env.ctl("onboard", a, "--tenant", "a", "--names", f"{a},{www}")
        wait_issued(env, [a], 60)
        rec = env.domain(a)
        r = env.client()
        # B asks for A's names every way there is
        refused = [env.ctl("onboard", a, "--tenant", "b", check=False),
                   env.ctl("onboard", www, "--tenant", "b", check=False),
                   env.ctl("onboard", f"*.{a}", "--tenant", "b", check=False),
                   env.ctl("onboard", mine, "--tenant", "b", "--names", f"{mine},{www}",
                           check=False),
                   env.ctl("onboard", a, check=False)]      # no tenant: another one
        for p in refused:
            assert p.returncode == 4 and "is held by another tenant" in p.stderr, p
        injected = {
            a: job(a, tenant="b"),
            f"*.{a}": job(f"*.{a}", tenant="b"),
            mine2: job(mine2, tenant="b", ctx={"names": f"{mine2},{a}"}),
            mine3: job(mine3, tenant="b", ctx={"names": f"*.{a},{mine3}"}),
        }
        for d, j in injected.items():
            r.xadd("dcv:stream:verify-cname", {"domain": d, "job": j})
        # A's own pipeline job, with B's tenant
        r.xadd("dcv:stream:offboard-check",
               {"domain": a, "job": job(a, id=rec["job"], gen=int(rec["gen"]), tenant="b")})
        harness.wait_until(lambda: len(dead(env)) >= 5, 30, what="five dead letters")
        reasons = {x["domain"].decode(): x["reason"].decode() for x in dead(env)}
        for d in (mine2, mine3, f"*.{a}"):
            assert "is held by another tenant (domain " + a + ")" in reasons[d], reasons
        assert sum("held by another tenant" in x["reason"].decode() for x in dead(env)) == 4
        assert any("another tenant's" in x["reason"].decode() for x in dead(env)), reasons
        # the backend reads each refusal as an event
        for d in (mine2, mine3):
            ev = [e for e in env.events(d) if e["type"] == "dead-letter"]
            assert ev and "held by another tenant" in ev[0]["detail"], ev
        # nothing of A's changed, and B has no certificate and no record
        after = env.domain(a)
        for f in ("gen", "job", "tenant", "names", "state", "serial", "certificates"):
            assert after[f] == rec[f], f
        assert len(issued(env, a)) == 1
        for d in (mine, mine2, mine3, www, f"*.{a}"):
            assert env.domain(d) == {} and env.cert(d) == {}, d
        chain_ok(env, a, [a, www])
        # a running pipeline cannot be released: offboarded first
        p = env.ctl("release", a, check=False)
        assert p.returncode == 4 and "offboard it first" in p.stderr
        env.ctl("offboard", a)
        harness.wait_until(lambda: any(e["type"] == "stale-delegation" for e in env.events(a)),
                           30, what="offboarded, the delegation still there")
        assert "released" in env.ctl("release", a).stdout
        # A's job that watched the delegation ends at its next run
        harness.wait_until(lambda: f"domain={a} dropped a job of a released domain"
                           in env.log(w), 30, what="the released domain's job dropped")
        env.ctl("onboard", a, "--tenant", "b", "--names", f"{a},{www}")
        harness.wait_until(lambda: len(issued(env, a)) == 2, 60, what="B's certificate")
        assert env.domain(a)["tenant"] == "b" and int(env.domain(a)["gen"]) == int(rec["gen"]) + 1
        chain_ok(env, a, [a, www])
        # and now A is the other tenant
        assert env.ctl("onboard", www, "--tenant", "a", check=False).returncode == 4
    finally:
        env.close()
