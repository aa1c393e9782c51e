"""The lifecycle of issue 11 end to end, against real Redis, BIND and Pebble
(fleet_env.py), with lifecycle durations in seconds:

  - offboarding waits for certainty: a flapping domain is never offboarded,
    one that left is offboarded after lifecycle.offboard_after_ms and
    lifecycle.offboard_min_checks checks, never on answers that were only
    transient (the primary paused);
  - every name of the certificate counts: www leaves, the apex stays, the
    next certificate has the apex alone; www comes back, it is back in;
  - a stored certificate that went missing is renewed;
  - without a pointing rule nothing is parked (start-up line, dcvctl
    status), the domain keeps renewing;
  - a TXT the primary lost is published again;
  - ARI is followed: a window that moves earlier renews within its
    Retry-After (the CA's ARI comes from ca_proxy; Pebble 2.4 has none);
  - Redis losing the record of an order (its last writes) costs no second
    order;
  - retention: an offboarded or parked domain's certificate is still there
    before lifecycle.cert_retention_ms and deleted after it (event
    cert-deleted); a domain still ours keeps its certificate; one onboarded
    again within the retention keeps its new certificate, whose issued event
    is no renewal; with lifecycle.revoke_on_departure an offboarded domain's
    certificate is revoked at the CA (Pebble's management API says so),
    after an outage of the CA that held up nothing, a parked one's is not;
    both keys are checked with the file and line."""
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request

import pytest

import harness
import lifecycle_env as L
from fleet_env import ELSEWHERE, POINTING_RANGE, US


@pytest.fixture
def tmp():
    d = harness.tmpdir("dcv-lc-")
    yield d
    if not os.environ.get("DCV_KEEP_TMP"):
        harness.rmtree(d)


# a check every 500 ms; gone for certain after 3 s and 3 checks
CERTAIN = {
    "lifecycle.offboard_interval_ms": 500,
    "lifecycle.offboard_jitter": 0.1,
    "lifecycle.offboard_after_ms": 3000,
    "lifecycle.offboard_min_checks": 3,
    "lifecycle.stale_interval_ms": 500,
    "lifecycle.park_grace_ms": 3600000,
}


def ev(env, domain, types=None):
    return [e for e in env.events(domain) if types is None or e["type"] in types]


def wait_event(env, domain, typ, timeout=30, after=0):
    return harness.wait_until(
        lambda: [e for e in ev(env, domain, (typ,)) if int(e["time"]) > after], timeout,
        interval=0.1, what=f"{typ} for {domain}")[0]


def issued_n(env, domain):
    return len(ev(env, domain, ("issued",)))


def sans(env, domain):
    return sorted(env.cert(domain)["names"].split(","))


def away_run(away):
    """(since, checks, told) of a one-name `away` entry,
    <name>=<since>:<checks>:<told>[:<last>] (lifecycle.md); () when empty."""
    if "=" not in away:
        return ()
    return tuple(int(x) for x in away.split("=", 1)[1].split(":")[:3])


def test_offboarding_waits_for_certainty(tmp, capsys):
    env = L.fleet(tmp, config=CERTAIN, workers=2)
    try:
        z = env.zones
        flap, gone, paused = f"flap.{z[0]}", f"gone.{z[1]}", f"paused.{z[2]}"
        names = [flap, gone, paused]
        L.customers_ready(env, names)
        for d in names:
            env.ctl("onboard", d)
        L.wait_all_issued(env, names, 60, interval=0.2)
        harness.wait_until(lambda: all(env.domain(d).get("pointed") == d for d in names), 20,
                           what="seen pointing at us")
        # flapping: away for about half the window, back, away again, back
        for _ in range(2):
            env.set_a(flap, [ELSEWHERE])
            t = int(wait_event(env, flap, "moving-away",
                               after=int(ev(env, flap)[-1]["time"]))["time"])
            harness.wait_until(lambda: away_run(env.domain(flap).get("away", ""))[1:] == (2, 1), 10,
                               interval=0.05, what="a second check elsewhere")
            env.set_a(flap, [US])
            wait_event(env, flap, "back", after=t)
        # gone: elsewhere on every check; offboarded after 3 s and 3 checks
        env.set_a(gone, [ELSEWHERE])
        t_away = int(wait_event(env, gone, "moving-away")["time"])
        harness.wait_until(lambda: env.domain(gone).get("state") == "offboarded", 30,
                           interval=0.1, what="gone offboarded")
        rec = env.domain(gone)
        t_off = int(rec["updated_at"])
        since, checks, _ = away_run(rec["away"])
        assert t_off - since >= 3000 and checks >= 3, rec
        assert [e["type"] for e in ev(env, gone)][-2:] == ["moving-away", "stale-delegation"]
        assert "moved away from us" in ev(env, gone)[-1]["detail"]
        # transient answers count for nothing: elsewhere, then the primary
        # (behind every lookup) paused for longer than the window
        env.set_a(paused, [ELSEWHERE])
        wait_event(env, paused, "moving-away")
        env.p.proc.signal(signal.SIGSTOP)
        try:
            t_pause = time.time()
            # what was in flight when it stopped (answers from the
            # resolver's cache, a check waiting for its timeouts) has ended
            harness.wait_until(lambda: time.time() - t_pause > 5, 8, interval=0.1,
                               what="the checks in flight over")
            before = env.domain(paused)["away"]
            harness.wait_until(lambda: time.time() - t_pause > 10, 10, interval=0.2,
                               what="the pause outlasting the window")
            during = env.domain(paused)
        finally:
            env.p.proc.signal(signal.SIGCONT)
        assert during["state"] == "issued", during
        # (a transient check moves only the run's last check, <last>)
        assert away_run(during["away"]) == away_run(before), (before, during["away"])
        harness.wait_until(lambda: env.domain(paused).get("state") == "offboarded", 30,
                           interval=0.1, what="paused offboarded after the pause")
        # the flapping one stayed, and kept its certificate
        assert env.domain(flap)["state"] == "issued"
        assert not ev(env, flap, ("stale-delegation", "delegation-removed"))
        with capsys.disabled():
            print(f"\nflap: {len(ev(env, flap, ('moving-away',)))} moving-away, "
                  f"{len(ev(env, flap, ('back',)))} back, kept; gone: offboarded "
                  f"{t_off - t_away} ms after moving-away, {checks} checks")
        assert L.dead_letters(env) == 0
    finally:
        env.close()


def test_one_name_leaves_the_certificate_keeps_the_rest(tmp):
    # certificates renew about 8 s after issuance (5 years, 5e-8 left)
    env = L.fleet(tmp, ca_proxy=True, workers=2, config={
        **CERTAIN, "lifecycle.renew_fraction": 0.99999995})
    try:
        apex = env.zones[3]
        www = f"www.{apex}"
        lone = f"lone.{env.zones[4]}"
        L.customers_ready(env, [apex, www, lone])
        env.ctl("onboard", apex, "--names", f"{apex},{www}")
        env.ctl("onboard", lone)
        L.wait_all_issued(env, [apex, lone], 60, interval=0.2)
        assert sans(env, apex) == sorted([apex, www])
        harness.wait_until(lambda: env.domain(apex).get("pointed", "").count(",") == 1, 20,
                           what="both names seen pointing at us")
        # www moves away; the apex stays
        env.set_a(www, [ELSEWHERE])
        left = wait_event(env, apex, "name-left", timeout=30)
        assert www in left["detail"] and f"the next renewal orders {apex}" in left["detail"]
        rec = env.domain(apex)
        assert rec["names"] == apex and rec["left"] == www and rec["state"] != "offboarded"
        # the next certificate is the apex alone, ordered so at the CA
        harness.wait_until(lambda: any(int(e["time"]) > int(left["time"])
                                       for e in ev(env, apex, ("issued",))), 60,
                           interval=0.2, what="a renewal after www left")
        assert sans(env, apex) == [apex]
        env.verify_cert(env.cert(apex)["chain"], [apex])
        after = [o for o in env.ca.new_orders() if o["t"] > int(left["time"])]
        assert after and all(o["names"] == [apex] for o in after if apex in o["names"])
        assert not any(www in o["names"] for o in after)
        # www comes back: back in, renewed at once with both names
        env.set_a(www, [US])
        back = wait_event(env, apex, "back", timeout=30, after=int(left["time"]))
        harness.wait_until(lambda: sans(env, apex) == sorted([apex, www]), 60, interval=0.2,
                           what="both names in the certificate again")
        assert int(ev(env, apex, ("issued",))[-1]["time"]) > int(back["time"])
        # a stored certificate that went missing is renewed
        n = issued_n(env, lone)
        env.client().delete(f"{env.prefix}:cert:{lone}")
        harness.wait_until(lambda: env.cert(lone) and issued_n(env, lone) > n, 60,
                           interval=0.2, what="the missing certificate renewed")
        assert L.dead_letters(env) == 0
    finally:
        env.close()


def test_no_pointing_rule_nothing_is_parked(tmp):
    env = L.fleet(tmp, config={**CERTAIN, "lifecycle.park_grace_ms": 1000,
                               "lifecycle.renew_fraction": 0.99999995,
                               "dns.pointing.ip_ranges": None})
    try:
        w = env.start_worker()
        assert "no domain is parked or offboarded on its own" in env.log(w)
        d = f"never.{env.zones[5]}"
        L.customers_ready(env, [d], pointing=False)
        env.set_a(d, [ELSEWHERE])
        env.ctl("onboard", d)
        L.wait_all_issued(env, [d], 60, interval=0.2)
        out = env.ctl("status", d).stdout
        assert "no dns.pointing rule: never parked or offboarded on its own" in out
        assert json.loads(env.ctl("status", d, "--json").stdout)["pointing_rule"] is False
        # long past the park grace, with many checks: renewed, not parked
        harness.wait_until(lambda: issued_n(env, d) >= 3, 90, interval=0.2,
                           what="renewals")
        assert not ev(env, d, ("never-pointed", "moving-away", "stale-delegation"))
        assert env.domain(d)["state"] in ("issued", "renewing", "verifying", "ordering",
                                          "provisioning", "validating", "finalizing")
        # with a rule the same domain is parked: the rule is what decides
        env.write_config({**CERTAIN, "lifecycle.park_grace_ms": 1000,
                          "lifecycle.renew_fraction": 0.99999995,
                          "dns.pointing.ip_ranges": [POINTING_RANGE]})
        env.stop_worker(w)
        w2 = env.start_worker()
        assert "no domain is parked" not in env.log(w2)
        assert "no dns.pointing rule" not in env.ctl("status", d).stdout
        harness.wait_until(lambda: env.domain(d).get("state") == "parked", 60, interval=0.2,
                           what="parked once a rule says where it points")
        assert len(ev(env, d, ("never-pointed",))) == 1
    finally:
        env.close()


def second_in_line(env, a, b, ctx=None):
    """A issued (taking the one token), then B onboarded (by dcvctl, or with
    CTX by the backend's XADD) and waiting in line for the next."""
    L.customers_ready(env, [a, b])
    env.ctl("onboard", a)
    L.wait_all_issued(env, [a], 60, interval=0.2)
    if ctx is None:
        env.ctl("onboard", b)
    else:
        env.client().xadd(f"{env.prefix}:stream:verify-cname",
                          {"domain": b, "job": L.job_bytes(b, ctx=ctx)})
    harness.wait_until(lambda: env.domain(b).get("state") == "rate-limited", 30,
                       interval=0.05, what=f"{b} waiting in line")


def test_delegation_removed_while_in_line_costs_no_order(tmp, capsys):
    # One order per 10 s: b is verified, then waits in line far longer than
    # a few dns.confirmation_interval_ms (300 ms) while the customer removes
    # its _acme-challenge.  When its turn comes create-order looks again and
    # sends it back to verify-cname: no order, no failed authorization
    # (tests/soak/README.md, finding 2).  b came by XADD with internal ctx
    # keys a backend must not send: a place in line long due would have let
    # it order at once; verify-cname's intake dropped them.
    env = L.fleet(tmp, ca_proxy=True, workers=1, config={
        "ratelimit.new_orders.limit": 1, "ratelimit.new_orders.period_ms": 10000})
    try:
        a, b = f"kept.{env.zones[3]}", f"removed.{env.zones[4]}"
        forged = {"names": b, "rl_slot": 1, "rl_shift": 0,
                  "verified_at": int(time.time() * 1000) + 86400000, "nudge_seen": 7}
        second_in_line(env, a, b, ctx=forged)
        t_removed = time.time()
        zone = env.zone_of(b)
        for w in ("p", "s"):
            env.nsupdate(w, zone, [f"update delete _acme-challenge.{b}. CNAME"])
        harness.wait_until(lambda: env.domain(b).get("state") == "waiting-cname", 30,
                           interval=0.05, what=f"{b} back to waiting-cname")
        rec = env.domain(b)
        waited = time.time() - t_removed
        log = env.log(env.workers[0])
        with capsys.disabled():
            print(f"\n{b}: delegation removed while in line; back to waiting-cname "
                  f"{waited:.1f} s later, {len(env.ca.new_orders())} orders at the CA "
                  f"(a's alone)")
        assert rec["stage"] == "verify-cname" and "verified_gen" not in rec, rec
        assert not [o for o in env.ca.new_orders() if o["names"] == [b]]
        assert "orders" not in rec and L.dead_letters(env) == 0
        assert f"domain={b}" in log and "dropped rl_slot,rl_shift,verified_at,nudge_seen" in log
        # the customer puts it back: verified again (a fresh look), one order
        L.customers_ready(env, [b])
        env.ctl("nudge", b)
        L.wait_all_issued(env, [b], 60, interval=0.2)
        assert len([o for o in env.ca.new_orders() if o["names"] == [b]]) == 1
        assert not ev(env, b, ("authz-invalid", "failed"))
    finally:
        env.close()


def test_txt_lost_on_the_primary_is_published_again(tmp, capsys):
    # one order per 6 s: the second domain waits in line while the
    # secondary is paused, so its TXT cannot propagate; then the primary
    # loses the TXT
    env = L.fleet(tmp, workers=1, config={"ratelimit.new_orders.limit": 1,
                                          "ratelimit.new_orders.period_ms": 6000})
    try:
        a, b = f"a.{env.zones[6]}", f"b.{env.zones[6]}"
        second_in_line(env, a, b)
        env.s.proc.signal(signal.SIGSTOP)
        try:
            target = env.target(b)
            harness.wait_until(lambda: env.txt(target, "p"), 30, interval=0.1,
                               what="b's TXT on the primary")
            assert env.domain(b)["state"] == "provisioning"
            value = env.txt(target, "p")[0]
            env.remove_txt(target)            # the primary lost it
            assert env.txt(target, "p") == []
            harness.wait_until(lambda: env.txt(target, "p") == [value], 30, interval=0.1,
                               what="the TXT published again")
        finally:
            env.s.proc.signal(signal.SIGCONT)
        L.wait_all_issued(env, [a, b], 60, interval=0.2)
        assert "published the TXT at " + target + " again" in env.log(env.workers[0])
        assert int(env.domain(b)["orders"]) == 1
    finally:
        env.close()


def test_ari_window_followed(tmp, capsys):
    env = L.fleet(tmp, ca_proxy=True, config={"lifecycle.ari_poll_min_ms": 1000,
                                              "lifecycle.ari_poll_max_ms": 4000,
                                              "lifecycle.offboard_interval_ms": 3600000})
    try:
        now = time.time()
        env.ca.set_ari(now + 30 * 86400, now + 32 * 86400, retry_after=2)
        env.start_worker()
        d = f"ari.{env.zones[7]}"
        L.customers_ready(env, [d])
        env.ctl("onboard", d)
        L.wait_all_issued(env, [d], 60, interval=0.2)
        rec = env.domain(d)
        assert (now + 30 * 86400) * 1000 <= int(rec["renew_at"]) <= (now + 32 * 86400) * 1000
        asked = len(env.ca.ari_requests)
        # polled again at its Retry-After (2 s), not once a day
        harness.wait_until(lambda: len(env.ca.ari_requests) >= asked + 2, 15, interval=0.1,
                           what="renewalInfo polled again")
        assert env.domain(d)["renew_at"] == rec["renew_at"]      # same window: kept
        # the CA revokes: the window is in the past, renew now
        t_moved = time.time()
        env.ca.set_ari(t_moved - 120, t_moved - 60, retry_after=2)
        harness.wait_until(lambda: issued_n(env, d) >= 2, 30, interval=0.1,
                           what="renewed after the window moved")
        took = int(ev(env, d, ("issued",))[-1]["time"]) / 1000 - t_moved
        with capsys.disabled():
            print(f"\nARI: renewalInfo asked {len(env.ca.ari_requests)} times; renewed "
                  f"{took:.1f} s after the window moved (Retry-After 2 s)")
        assert took < 2 + 15
        assert len(env.ca.new_orders()) == 2
    finally:
        env.close()


def test_redis_losing_the_record_of_an_order_does_not_order_twice(tmp, capsys):
    # One order per 5 s: b waits in line while its state is copied from
    # Redis's append-only file (what a host crash leaves: the writes before
    # the last second).  b orders; Redis dies and comes back from the copy:
    # the record of b's order is gone and its job runs create-order again.
    # The worker process remembers the order it made and takes it up again
    # instead of making a second one.  (A plain SIGKILL of redis-server loses
    # nothing here: the kernel has its writes; see test_chaos.py.)
    env = L.fleet(tmp, ca_proxy=True, redis_aof=True, workers=1, config={
        "ratelimit.new_orders.limit": 1, "ratelimit.new_orders.period_ms": 5000})
    try:
        a, b = f"first.{env.zones[0]}", f"lost.{env.zones[1]}"
        second_in_line(env, a, b)
        aof = os.path.join(tmp, "appendonlydir")
        saved = os.path.join(tmp, "aof-before")
        shutil.copytree(aof, saved)
        # the secondary paused: b's order stays pending while Redis is away
        env.s.proc.signal(signal.SIGSTOP)
        try:
            harness.wait_until(lambda: env.domain(b).get("order_url"), 30, interval=0.01,
                               what="b's order recorded")
            env.redis.proc.kill()
            shutil.rmtree(aof)
            shutil.copytree(saved, aof)
            env.redis.start()
        finally:
            env.s.proc.signal(signal.SIGCONT)
        L.wait_all_issued(env, [a, b], 60, interval=0.2)
        mine = [o for o in env.ca.new_orders() if o["names"] == [b]]
        log = env.log(env.workers[0])
        with capsys.disabled():
            print(f"\nRedis came back without the record of {b}'s order: "
                  f"{len(mine)} order at the CA; the worker "
                  f"{'remembered it' if 'the record lost the order' in log else 'did not'}")
        assert "the record lost the order this process created" in log
        assert len(mine) == 1, mine
        assert L.dead_letters(env) == 0
    finally:
        env.close()


def test_retention_deletes_the_certificate_of_a_departed_domain(tmp, capsys):
    ret = 10000
    env = L.fleet(tmp, config={**CERTAIN, "lifecycle.park_grace_ms": 1000,
                               "lifecycle.cert_retention_ms": ret}, workers=2)
    try:
        z = env.zones
        kept, gone, again, never = (f"kept.{z[0]}", f"gone.{z[1]}", f"again.{z[2]}",
                                    f"never.{z[3]}")
        L.customers_ready(env, [kept, gone, again])
        L.customers_ready(env, [never], pointing=False)
        env.set_a(never, [ELSEWHERE])
        for d in (kept, gone, again, never):
            env.ctl("onboard", d)
        L.wait_all_issued(env, [kept, gone, again, never], 90, interval=0.2)
        old = {d: env.cert(d)["serial"] for d in (gone, again, never)}
        for d in (gone, again):
            env.ctl("offboard", d)
        left = {}
        for d, st in ((gone, "offboarded"), (again, "offboarded"), (never, "parked")):
            harness.wait_until(lambda: env.domain(d).get("state") == st and
                               env.domain(d).get("left_at"), 30, interval=0.1,
                               what=f"{d} {st}")
            left[d] = int(env.domain(d)["left_at"])
        # gone's customer deletes the delegation: its watch ends
        # (delegation-removed), its job stays for the retention
        env.remove_cname(gone)
        wait_event(env, gone, "delegation-removed", timeout=20)
        # before the retention: every certificate is still there
        assert time.time() * 1000 < min(left.values()) + ret - 1000, left
        for d in (gone, again, never):
            assert env.cert(d)["serial"] == old[d], d
        assert not [e for e in env.events() if e["type"] == "cert-deleted"]
        # onboarded again within the retention: a new generation, a new
        # certificate that is not a renewal
        gen = int(env.domain(again)["gen"])
        env.ctl("onboard", again)
        harness.wait_until(lambda: issued_n(env, again) == 2, 60, interval=0.2,
                           what=f"{again} issued again")
        first, second = ev(env, again, ("issued",))
        assert (first["renewal"], second["renewal"]) == ("0", "0"), (first, second)
        assert int(env.domain(again)["gen"]) == gen + 1
        new = env.cert(again)["serial"]
        assert new != old[again] and second["serial"] == new
        # after the retention: deleted, with the event, once
        for d in (gone, never):
            e = wait_event(env, d, "cert-deleted", timeout=30)
            assert e["serial"] == old[d], e
            assert int(e["time"]) >= left[d] + ret, (e, left[d])
            assert env.cert(d) == {}
            assert env.domain(d)["cert_deleted_at"] == e["time"]
        assert env.domain(gone)["state"] == "offboarded"
        assert env.domain(never)["state"] == "parked"
        # the domain onboarded again, past its old retention: kept; the
        # domain still ours: kept
        harness.wait_until(lambda: time.time() * 1000 > left[again] + ret + 3000, 30,
                           interval=0.2, what="past the old retention")
        assert not ev(env, again, ("cert-deleted",))
        assert env.cert(again)["serial"] == new and env.domain(again)["state"] == "issued"
        assert env.domain(kept)["state"] == "issued" and env.cert(kept)["serial"]
        assert not ev(env, kept, ("cert-deleted",))
        assert [e["domain"] for e in env.events() if e["type"] == "cert-deleted"] \
            .count(gone) == 1
        # the watch's end told once, before the deletion
        assert [e["type"] for e in ev(env, gone, ("delegation-removed", "cert-deleted"))] \
            == ["delegation-removed", "cert-deleted"]
        # onboarded again after the deletion: a fresh start
        env.add_cname(gone)
        env.ctl("onboard", gone)
        harness.wait_until(lambda: issued_n(env, gone) == 2, 60, interval=0.2,
                           what=f"{gone} issued again")
        assert ev(env, gone, ("issued",))[-1]["renewal"] == "0"
        assert env.cert(gone)["serial"] not in ("", old[gone])
        assert not {"left_at", "cert_deleted_at"} & set(env.domain(gone))
        with capsys.disabled():
            print(f"\nretention {ret} ms: deleted {gone} and {never}; kept {kept} and "
                  f"{again} (onboarded again, serial {new})")
        assert L.dead_letters(env) == 0
    finally:
        env.close()


def pebble_status(env, serial):
    """Pebble's view of a certificate (management API), e.g. {"Status": "Revoked"}."""
    ctx = ssl.create_default_context(cafile=env.pebble.ca)
    with urllib.request.urlopen(f"https://127.0.0.1:{env.pebble.mgmt_port}"
                                f"/cert-status-by-serial/{serial.lower()}", context=ctx,
                                timeout=10) as r:
        return json.loads(r.read())


def test_revoke_on_departure(tmp):
    env = L.fleet(tmp, ca_proxy=True, config={**CERTAIN, "lifecycle.park_grace_ms": 1000,
                                              "lifecycle.revoke_on_departure": True},
                  workers=1)
    try:
        z = env.zones
        gone, never, kept = f"gone.{z[0]}", f"never.{z[1]}", f"kept.{z[2]}"
        L.customers_ready(env, [gone, kept])
        L.customers_ready(env, [never], pointing=False)
        env.set_a(never, [ELSEWHERE])
        for d in (gone, never, kept):
            env.ctl("onboard", d)
        L.wait_all_issued(env, [gone, never, kept], 90, interval=0.2)
        serial = {d: env.cert(d)["serial"] for d in (gone, never, kept)}
        assert pebble_status(env, serial[gone])["Status"] == "Valid"
        # the CA down when the domain leaves: the offboarding goes on (the
        # watch tells stale-delegation), the revocation waits for the CA
        refused = env.ca.stats()["refused"]
        env.ca.go_down(4)
        t_up = time.time() + 4
        env.ctl("offboard", gone)
        wait_event(env, gone, "stale-delegation", timeout=10)
        harness.wait_until(lambda: env.ca.stats()["refused"] > refused, 10, interval=0.1,
                           what="the CA asked during its outage")
        assert env.domain(gone)["state"] == "offboarded" and time.time() < t_up
        assert not ev(env, gone, ("revoked",))
        e = wait_event(env, gone, "revoked", timeout=30)
        assert int(e["time"]) >= int(t_up * 1000) - 100, e
        assert (e["serial"], e["reason"]) == (serial[gone], "cessationOfOperation"), e
        c = env.cert(gone)
        assert c["revoked_reason"] == "cessationOfOperation" and c["revoked_at"] == e["time"]
        st = pebble_status(env, serial[gone])
        assert st["Status"] == "Revoked" and st.get("Reason") in (5, None), st
        assert env.domain(gone)["state"] == "offboarded"
        # parked: never served, not revoked; still ours: not revoked
        harness.wait_until(lambda: env.domain(never).get("state") == "parked", 30,
                           interval=0.1, what="never parked")
        t = time.time()
        harness.wait_until(lambda: time.time() - t > 2, 5, interval=0.2, what="2 s of checks")
        for d in (never, kept):
            assert pebble_status(env, serial[d])["Status"] == "Valid", d
            assert not ev(env, d, ("revoked",)) and "revoked_at" not in env.cert(d)
        assert len(ev(env, gone, ("revoked",))) == 1
        # onboarded again: a fresh certificate, nothing of the revoked one mixed in
        env.ctl("onboard", gone)
        harness.wait_until(lambda: issued_n(env, gone) == 2, 60, interval=0.2,
                           what=f"{gone} issued again")
        c = env.cert(gone)
        assert c["serial"] != serial[gone] and ev(env, gone, ("issued",))[-1]["renewal"] == "0"
        assert not {"revoked_at", "revoked_reason", "revoke_error"} & set(c), c
        assert pebble_status(env, c["serial"])["Status"] == "Valid"
        assert L.dead_letters(env) == 0
    finally:
        env.close()


def test_retention_keys_checked(tmp):
    """lifecycle.cert_retention_ms and lifecycle.revoke_on_departure are
    checked with the file and line, like every key (no servers needed)."""
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("lifecycle:\n  cert_retention_ms: -1\n  revoke_on_departure: maybe\n")
    p = subprocess.run([harness.program("dcvctl"), "-c", bad, "stats"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2, p
    assert f"{bad}:2: lifecycle.cert_retention_ms: out of range" in p.stderr, p.stderr
    assert f"{bad}:3: lifecycle.revoke_on_departure: not a boolean" in p.stderr, p.stderr
