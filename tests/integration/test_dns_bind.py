"""The DNS layer against real BIND servers (tests/integration/dns_env.py):
delegation, propagation and pointing checks through dns_driver, and TXT
provisioning by RFC 2136 with TSIG."""
import os
import signal
import threading
import time

import pytest

import harness
from dns_env import BindEnv, dig, driver, driver1

TARGET = "{d}.validation.test"


@pytest.fixture(scope="module")
def env():
    d = harness.tmpdir("dcv-dns-")
    e = BindEnv(d)
    e.cfg = e.dns_config(os.path.join(d, "dns.yaml"))
    yield e
    e.stop()
    harness.rmtree(d)


def deleg(env, domain, prev=0, cfg=None):
    return driver1(cfg or env.cfg, "delegation", domain, TARGET.format(d=domain), prev)


def bad(r):
    return r["vantage"][r["bad"]]


def test_single_hop_needs_two_confirmations(env):
    r = deleg(env, "good.customer.test")
    assert r["status"] == "confirming", r
    assert (r["confirmations"], r["needed"]) == (1, 2)
    assert r["retry_after_ms"] == 1500  # the check never sleeps: the queue waits
    assert r["zone"] == "customer.test"
    # ns1 (v4), ns2 (v4 and v6 map to one server) and the resolver
    kinds = sorted(v["server"].split()[0] for v in r["vantage"])
    assert kinds == ["auth", "auth", "resolver"], r
    assert all(v["outcome"] == "match" for v in r["vantage"])
    r = deleg(env, "good.customer.test", prev=1)
    assert r["status"] == "ok" and r["confirmations"] == 2 and r["retry_after_ms"] == 0


def test_uppercase_and_wildcard_names_normalised(env):
    r = driver1(env.cfg, "delegation", "*.GOOD.customer.test.", "Good.Customer.Test.Validation.Test")
    assert r["status"] == "confirming", r


def test_chains_of_more_than_one_hop(env):
    r = deleg(env, "multi.customer.test")  # leaves the zone: hop1 -> hop2 -> target
    assert r["status"] == "confirming", r
    auth = [v for v in r["vantage"] if v["server"].startswith("auth")]
    assert all("hop1.other.test -> hop2.other.test -> multi.customer.test.validation.test"
               == v["seen"] for v in auth), auth
    r = deleg(env, "inzone.customer.test")  # two hops inside the customer zone
    assert r["status"] == "confirming", r


def test_cname_pointing_elsewhere(env):
    r = deleg(env, "wrong.customer.test")
    assert r["status"] == "mismatch" and r["confirmations"] == 0
    assert bad(r)["outcome"] == "different"
    assert "somewhere.other.test" in bad(r)["seen"]
    assert bad(r)["server"] in r["detail"]


def test_nxdomain(env):
    r = deleg(env, "nx.customer.test", prev=1)
    assert r["status"] == "mismatch" and r["confirmations"] == 0
    assert all(v["outcome"] == "nxdomain" for v in r["vantage"]), r


def test_txt_instead_of_cname(env):
    r = deleg(env, "txtonly.customer.test")
    assert r["status"] == "mismatch"
    assert bad(r)["outcome"] == "different" and "not-a-cname" in bad(r)["seen"]


def test_ns_delegation_of_acme_challenge_is_reported(env):
    r = deleg(env, "nsdel.customer.test")
    assert r["status"] == "ns_delegated", r
    assert bad(r)["outcome"] == "ns_delegated"
    assert "ns.other.test" in r["detail"] and "CNAME" in r["detail"]


def test_cname_loop(env):
    r = deleg(env, "loop.customer.test")
    assert r["status"] == "mismatch"
    assert bad(r)["outcome"] == "cname_loop", r


def test_chain_too_long(env):
    cfg = env.dns_config(os.path.join(env.tmpdir, "short.yaml"), max_cname_depth=2)
    r = deleg(env, "multi.customer.test", cfg=cfg)  # three hops
    assert r["status"] == "mismatch"
    assert bad(r)["outcome"] == "chain_too_long", r


def test_server_that_does_not_answer_is_transient(env):
    t0 = time.monotonic()
    r = deleg(env, "d.slow.test", prev=1)
    assert time.monotonic() - t0 < 5
    assert r["status"] == "transient", r
    assert bad(r)["outcome"] == "timeout"
    assert bad(r)["server"] == f"auth 127.0.0.1:{env.hole.port}"
    assert bad(r)["ns"] == "ns.slow.test"
    assert r["confirmations"] == 1  # a timeout neither confirms nor resets


def test_resolver_that_does_not_answer(env):
    cfg = env.dns_config(os.path.join(env.tmpdir, "deadres.yaml"),
                         resolvers=[f"127.0.0.1:{env.hole.port}"])
    r = deleg(env, "good.customer.test", cfg=cfg)
    assert r["status"] == "transient" and "zone" in r["detail"], r


def timed(cfg, *args):
    """One dns_driver result and the wall time it took, in seconds."""
    t0 = time.monotonic()
    r = driver1(cfg, *args)
    return r, time.monotonic() - t0


def test_deadline_ends_the_wait_for_a_server_that_never_answers(env):
    # c-ares alone would wait 3 tries of 3 s on the black hole
    cfg = env.dns_config(os.path.join(env.tmpdir, "patient.yaml"), timeout_ms=3000, tries=3)
    d = "d.slow.test"
    r, took = timed(cfg, "--deadline-ms", 1000, "delegation", d, TARGET.format(d=d), 1)
    assert 0.95 <= took < 2.0, took
    assert r["status"] == "transient", r
    assert "deadline reached" in r["detail"], r
    assert f"auth 127.0.0.1:{env.hole.port} (ns.slow.test) did not answer" in r["detail"], r
    assert bad(r)["outcome"] == "deadline" and bad(r)["ns"] == "ns.slow.test"
    # the servers that did answer keep their outcome
    assert sorted(v["outcome"] for v in r["vantage"]) == ["deadline", "match", "match"], r
    assert r["confirmations"] == 1  # neither confirms nor resets


def test_deadline_on_resolvers_that_never_answer(env):
    cfg = env.dns_config(os.path.join(env.tmpdir, "patientres.yaml"), timeout_ms=3000, tries=3,
                         resolvers=[f"127.0.0.1:{env.hole.port}"])
    r, took = timed(cfg, "--deadline-ms", 800, "delegation", "good.customer.test",
                    TARGET.format(d="good.customer.test"))
    assert took < 1.8, took
    assert r["status"] == "transient", r
    assert r["detail"] == ("deadline reached: the resolvers (SOA of good.customer.test, "
                           "finding the zone of good.customer.test) did not answer"), r
    r, took = timed(cfg, "--deadline-ms", 800, "pointing", "www.customer.test")
    assert took < 1.8 and r["status"] == "transient", (took, r)
    assert "deadline reached: resolvers A did not answer" in r["detail"], r
    r, took = timed(cfg, "--deadline-ms", 800, "propagation", "x.customer.test", "v")
    assert took < 1.8 and r["status"] == "transient" and "deadline" in r["detail"], (took, r)


def test_checks_started_past_the_deadline_end_at_once(env):
    d = "good.customer.test"
    res = driver(env.cfg, "--deadline-ms", -1, "delegations", 0, d, TARGET.format(d=d),
                 "multi.customer.test", TARGET.format(d="multi.customer.test"))
    assert [r["status"] for r in res[:2]] == ["transient", "transient"], res
    assert res[0]["detail"] == f"deadline reached before the zone of {d} was found", res
    assert res[2]["queries"] == 0, res
    r = driver1(env.cfg, "--deadline-ms", -1, "pointing", "www.customer.test")
    assert r["status"] == "transient", r
    assert r["detail"] == "deadline reached before the resolvers were asked for www.customer.test"


def test_slow_server_counts_in_time_and_not_past_the_deadline(env):
    """Q, lazy.test's only nameserver, is stopped and continued 2 s later: it
    answers late.  Within c-ares's timeout the late answer counts; with a
    1 s deadline the check ends at 1 s, naming Q."""
    cfg = env.dns_config(os.path.join(env.tmpdir, "lazy.yaml"), timeout_ms=5000, tries=1)
    d = "d.lazy.test"
    timer = None
    try:
        env.q.proc.signal(signal.SIGSTOP)
        timer = threading.Timer(2.0, env.q.proc.signal, (signal.SIGCONT,))
        timer.start()
        r, took = timed(cfg, "delegation", d, TARGET.format(d=d))
        assert r["status"] == "confirming", r
        assert took >= 1.8, took  # it did wait for the late answer
        timer.join()
        env.q.proc.signal(signal.SIGSTOP)
        timer = threading.Timer(3.0, env.q.proc.signal, (signal.SIGCONT,))
        timer.start()
        r, took = timed(cfg, "--deadline-ms", 1000, "delegation", d, TARGET.format(d=d))
        assert 0.95 <= took < 2.0, took
        assert r["status"] == "transient", r
        assert f"deadline reached: auth 127.0.0.1:{env.q.port} (ns.lazy.test) did not answer" \
            == r["detail"], r
    finally:
        if timer:
            timer.cancel()
        env.q.proc.signal(signal.SIGCONT)


TESTNET = ["192.0.2.0/24", "2001:db8::/32"]  # what dns_config allows


def test_ns_name_with_32_addresses_is_over_the_cap(env):
    """Issue 10: an NS name with 32 addresses, plus a resolver, overflowed the
    32-slot vantage arrays.  Over dns.max_ns_addrs (16): a clear error
    before any server is asked."""
    r = deleg(env, "d.big.test")
    assert r["status"] == "error", r
    assert r["detail"] == ("zone big.test has 32 nameserver addresses, over the "
                           "limit of 16 (dns.max_ns_addrs)"), r
    assert r["vantage"] == [] and r["zone"] == "big.test"


def test_ns_name_with_32_addresses_at_the_largest_cap(env):
    """With the cap at its largest, the 32 addresses and the resolver are 33
    vantage points, one more than the arrays had (a heap overflow under
    ASan).  P answers at 127.0.0.1 (dns.ns_port); the other 31 loopback
    addresses refuse at once."""
    cfg = env.dns_config(os.path.join(env.tmpdir, "big.yaml"), ns_port=env.p.port,
                         max_ns_addrs=32, allowed_ns_ranges=TESTNET + ["127.0.0.0/8"])
    r = deleg(env, "d.big.test", cfg=cfg)
    assert r["zone"] == "big.test", r
    assert len(r["vantage"]) == 33, r
    assert r["vantage"][-1]["server"].startswith("resolver"), r
    assert r["status"] == "transient", r  # refused connections: not a mismatch
    assert sorted({v["outcome"] for v in r["vantage"]}) == ["match", "neterr"], r


def test_40_address_ns_set_is_over_the_cap(env):
    big = env.dns_config(os.path.join(env.tmpdir, "cap32.yaml"), max_ns_addrs=32,
                         allowed_ns_ranges=TESTNET + ["127.0.0.0/8"])
    for cfg, cap in ((env.cfg, 16), (big, 32)):
        r = deleg(env, "d.wide.test", cfg=cfg)
        assert r["status"] == "error", r
        assert r["detail"] == (f"zone wide.test has 40 nameserver addresses, over "
                               f"the limit of {cap} (dns.max_ns_addrs)"), r
        assert r["vantage"] == []


def test_more_ns_names_than_the_cap(env):
    r = deleg(env, "d.many.test")
    assert r["status"] == "error", r
    assert r["detail"] == ("zone many.test has 12 NS names, over the limit of 10 "
                           "(dns.max_ns_names)"), r


def queries_at_i(env, name):
    """Queries for NAME TXT that I has logged (querylog)."""
    with open(os.path.join(env.i.dir, "named.log")) as f:
        return sum(f"query: {name} IN TXT" in l for l in f)


def test_private_and_loopback_ns_addresses_are_not_queried(env):
    q = "_acme-challenge.d.inside.test"
    before = queries_at_i(env, q)
    cfg = env.dns_config(os.path.join(env.tmpdir, "inside.yaml"), ns_port=env.i.port)
    r = deleg(env, "d.inside.test", cfg=cfg)
    # ns1.customer.test (192.0.2.1, allowed TEST-NET, mapped to P) and the
    # resolver are asked; 127.0.0.1, 10.0.0.53, fe80::53, 224.0.0.53 and
    # ::ffff:127.0.0.1 are not
    assert r["status"] == "confirming", r
    assert [v["server"] for v in r["vantage"]] == [
        f"auth 127.0.0.1:{env.p.port}", f"resolver 127.0.0.1:{env.r.port}"], r
    assert queries_at_i(env, q) == before
    # the allow-list admits loopback: I is asked at 127.0.0.1 and at the
    # IPv4-mapped ::ffff:127.0.0.1; the private, link-local and multicast
    # addresses stay out
    cfg = env.dns_config(os.path.join(env.tmpdir, "inside-allowed.yaml"), ns_port=env.i.port,
                         allowed_ns_ranges=TESTNET + ["127.0.0.0/8"])
    r = deleg(env, "d.inside.test", cfg=cfg)
    assert r["status"] == "confirming", r
    auth = sorted((v["server"], v["ns"]) for v in r["vantage"] if v["server"].startswith("auth"))
    assert auth == sorted([(f"auth 127.0.0.1:{env.p.port}", "ns1.customer.test"),
                           (f"auth 127.0.0.1:{env.i.port}", "ns1.inside.test"),
                           (f"auth [::ffff:127.0.0.1]:{env.i.port}", "ns3.inside.test")]), r
    assert queries_at_i(env, q) == before + 2


def test_zone_whose_ns_addresses_are_all_refused(env):
    r = deleg(env, "d.walled.test")
    assert r["status"] == "error" and r["vantage"] == [], r
    assert r["detail"].startswith("no nameserver address of walled.test may be queried: "), r
    for part in ("ns.walled.test 192.168.1.53 is private (RFC 1918)",
                 "ns.walled.test 100.64.0.53 is shared address space (RFC 6598)",
                 "ns.walled.test fd00::53 is unique local (fc00::/7)"):
        assert part in r["detail"], r
    # allowed, they are asked (and do not answer: nothing listens there)
    cfg = env.dns_config(os.path.join(env.tmpdir, "walled.yaml"),
                         allowed_ns_ranges=TESTNET + ["192.168.0.0/16"])
    r = deleg(env, "d.walled.test", cfg=cfg)
    assert [v["server"] for v in r["vantage"]][:1] == ["auth 192.168.1.53:53"], r


def test_endless_cname_chain_is_bounded(env):
    """_acme-challenge.endless CNAME a.e.other.test, and e.other.test is a
    DNAME to x.e.other.test: every hop makes a new, longer name.  The
    servers' chains are followed hop by hop through the resolvers, at most
    dns.max_cname_depth (8) hops each."""
    d = "endless.customer.test"
    t0 = time.monotonic()
    res = driver(env.cfg, "delegations", 0, d, TARGET.format(d=d))
    took = time.monotonic() - t0
    r, queries = res[0], res[1]["queries"]
    assert r["status"] == "mismatch", r
    auth = [v for v in r["vantage"] if v["server"].startswith("auth")]
    assert len(auth) == 2 and all(v["outcome"] == "chain_too_long" for v in auth), r
    # zone, NS, 2 x (A, AAAA), 3 asks, at most 9 hops per server
    assert queries <= 1 + 1 + 4 + 3 + 2 * 9, queries
    assert took < 5, took


def test_many_labels_are_bounded(env):
    """100 labels under a wildcard CNAME: every SOA of the zone walk meets an
    alias and moves one label up.  The walk is bounded by the name's length
    (at most 127 labels), one query per label."""
    d = ".".join(["a"] * 100) + ".deep.customer.test"
    t0 = time.monotonic()
    res = driver(env.cfg, "delegations", 0, d, "t.validation.test")
    took = time.monotonic() - t0
    r, queries = res[0], res[1]["queries"]
    assert r["zone"] == "customer.test", r
    assert r["status"] == "mismatch", r
    # 101 SOA, NS, 2 x (A, AAAA), 3 asks, a hop per server
    assert queries <= 101 + 1 + 4 + 3 + 2, queries
    assert took < 10, took
    # and a deadline ends the walk (1 ms: an idle machine with BIND's answers
    # at hand walked the 101 labels within 5 ms once)
    r, took = timed(env.cfg, "--deadline-ms", 1, "delegation", d, "t.validation.test")
    assert r["status"] == "transient" and "deadline reached" in r["detail"], r


def test_many_checks_in_flight_on_one_context(env):
    # at most 5 identical questions at once: BIND drops identical queries
    # beyond clients-per-query (10); real sweeps ask about distinct names
    doms = ["good", "wrong", "nx", "multi", "inzone", "loop"] * 5
    args = []
    for i, d in enumerate(doms):
        args += [f"{d}.customer.test", TARGET.format(d=f"{d}.customer.test")]
    res = driver(env.cfg, "delegations", 0, *args)
    assert len(res) == len(doms) + 1
    want = {"good": "confirming", "multi": "confirming", "wrong": "mismatch", "nx": "mismatch",
            "inzone": "confirming", "loop": "mismatch"}
    for d, r in zip(doms, res):
        assert r["status"] == want[d], (d, r)
    # per check: one SOA (zone cut) and three asks, plus CNAME hops for
    # multi/loop; the zone's NS and 2x(A, AAAA) are asked once for all
    # (without that: 5 more per check, over 300 in all)
    assert res[-1]["queries"] < len(doms) * 7, res[-1]


def test_lagging_server_delays_the_delegation(env):
    r = deleg(env, "lag.customer.test", prev=1)
    assert r["status"] == "mismatch" and r["confirmations"] == 0
    assert bad(r)["ns"] == "ns2.customer.test" and bad(r)["outcome"] == "nxdomain"
    assert f"127.0.0.1:{env.s.port}" in r["detail"]
    env.catch_up_s()
    r = harness.wait_until(
        lambda: (lambda x: x if x["status"] == "confirming" else None)(deleg(env, "lag.customer.test")),
        15, what="both servers to agree")
    assert r["confirmations"] == 1
    assert deleg(env, "lag.customer.test", prev=1)["status"] == "ok"


def prop(env, name, value):
    return driver1(env.cfg, "propagation", name, value)


def add(cfg, name, value):
    return driver1(cfg, "txt-add", name, value)


def remove(cfg, name, value):
    return driver1(cfg, "txt-remove", name, value)


def test_txt_added_seen_everywhere_then_removed(env):
    pc = env.provider_config(os.path.join(env.tmpdir, "p256.yaml"))
    name = "good.customer.test.validation.test"
    assert add(pc, name, "tok-1")["status"] == "ok"
    r = harness.wait_until(lambda: (lambda x: x if x["status"] == "ok" else None)(prop(env, name, "tok-1")),
                           15, what="TXT on every server")
    assert len(r["vantage"]) == 2  # ns1 (v4) and ns6 (reached by its AAAA)
    assert {v["ns"] for v in r["vantage"]} == {"ns1.customer.test", "ns6.customer.test"}
    assert dig(env.p.port, name) == ['"tok-1"'] and dig(env.s.port, name) == ['"tok-1"']
    assert remove(pc, name, "tok-1")["status"] == "ok"
    r = harness.wait_until(lambda: (lambda x: x if all(v["outcome"] in ("nxdomain", "nodata") for v in x["vantage"]) else None)(prop(env, name, "tok-1")),
                           15, what="TXT gone from every server")
    assert r["status"] == "mismatch"


def test_two_values_one_name_and_idempotency(env):
    pc = env.provider_config(os.path.join(env.tmpdir, "p256.yaml"))
    name = "two.customer.test.validation.test"
    assert add(pc, name, "val-a")["status"] == "ok"
    assert add(pc, name, "val-b")["status"] == "ok"
    assert add(pc, name, "val-a")["status"] == "ok"  # re-add: no duplicate
    assert sorted(dig(env.p.port, name)) == ['"val-a"', '"val-b"']
    assert remove(pc, name, "val-a")["status"] == "ok"
    assert remove(pc, name, "val-a")["status"] == "ok"  # re-remove: no-op
    assert dig(env.p.port, name) == ['"val-b"']
    harness.wait_until(lambda: prop(env, name, "val-b")["status"] == "ok", 15, what="val-b everywhere")
    r = harness.wait_until(lambda: (lambda x: x if x["status"] == "mismatch" else None)(prop(env, name, "val-a")),
                           15, what="val-a gone")
    assert bad(r)["outcome"] == "different" and "val-b" in bad(r)["seen"]
    assert remove(pc, name, "val-b")["status"] == "ok"


def test_hmac_sha512(env):
    pc = env.provider_config(os.path.join(env.tmpdir, "p512.yaml"), key=env.key512, alg="hmac-sha512")
    name = "k512.customer.test.validation.test"
    assert add(pc, name, "v512")["status"] == "ok"
    assert dig(env.p.port, name) == ['"v512"']
    assert remove(pc, name, "v512")["status"] == "ok"
    assert dig(env.p.port, name) == []


def test_wrong_tsig_is_permanent(env):
    name = "good.customer.test.validation.test"
    pc = env.provider_config(os.path.join(env.tmpdir, "bad.yaml"),
                             secret="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    r = add(pc, name, "x")
    assert r["status"] == "permanent" and "TSIG" in r["message"], r
    assert "AAAAAAAA" not in r["message"]
    pc = env.provider_config(os.path.join(env.tmpdir, "badkey.yaml"),
                             key=("nosuchkey.", env.key256[1]))
    assert add(pc, name, "x")["status"] == "permanent"
    # the right key, a zone it may not update: REFUSED, permanent
    pc = env.provider_config(os.path.join(env.tmpdir, "refused.yaml"), zone="customer.test")
    r = add(pc, "x.customer.test", "x")
    assert r["status"] == "permanent" and "REFUSED" in r["message"], r
    assert dig(env.p.port, name) in ([], ['"tok-1"'])


def test_secret_from_environment(env, monkeypatch):
    pc = env.provider_config(os.path.join(env.tmpdir, "envsecret.yaml"), secret="")
    # an empty secret in the file is overridden by the environment
    monkeypatch.setenv("DCV_PROVIDER_TSIG_SECRET", env.key256[1])
    name = "env.customer.test.validation.test"
    assert add(pc, name, "from-env")["status"] == "ok"
    assert remove(pc, name, "from-env")["status"] == "ok"


def point(env, domain, cfg=None):
    return driver1(cfg or env.cfg, "pointing", domain)


def test_pointing_ipv4_and_ipv6_through_a_chain(env):
    r = point(env, "app2.customer.test")  # CNAME edge -> CNAME lb -> A + AAAA
    assert r["status"] == "ok" and r["pointing"], r
    assert [v["outcome"] for v in r["vantage"]] == ["match", "match"]
    assert "203.0.113.7" in r["vantage"][0]["seen"] and "2001:db8:cafe::7" in r["vantage"][1]["seen"]
    v6 = env.dns_config(os.path.join(env.tmpdir, "v6only.yaml"),
                        pointing={"ip_ranges": ["2001:db8:cafe::/48"]})
    r = point(env, "app2.customer.test", cfg=v6)
    assert r["pointing"] and [v["outcome"] for v in r["vantage"]] == ["different", "match"], r
    r = point(env, "v6only.customer.test", cfg=v6)
    assert r["pointing"], r
    v4 = env.dns_config(os.path.join(env.tmpdir, "v4only.yaml"),
                        pointing={"ip_ranges": ["203.0.113.0/24"]})
    assert point(env, "app2.customer.test", cfg=v4)["pointing"]
    assert not point(env, "v6only.customer.test", cfg=v4)["pointing"]


def test_pointing_direct_suffix_and_elsewhere(env):
    assert point(env, "www.customer.test")["pointing"]
    r = point(env, "viacdn.customer.test")  # *.cdn.test host suffix
    assert r["pointing"], r
    r = point(env, "gone.customer.test")
    assert r["status"] == "mismatch" and not r["pointing"]
    assert "192.0.2.200" in r["vantage"][0]["seen"]
    r = point(env, "nx.customer.test")
    assert r["status"] == "mismatch" and r["vantage"][0]["outcome"] == "nxdomain"
