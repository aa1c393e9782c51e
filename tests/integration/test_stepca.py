"""The product end to end against step-ca as the only CA (issue 14, "Every CA
is a little different"): smallstep's step-ca 0.19, built from Debian's Go
source (stepca_env.py), with the same BIND, Redis and dcv-worker processes as
test_e2e.py, whose helpers these tests use.

step-ca differs from Pebble where it matters here: finalize answers `valid`
at once, nothing carries Retry-After, keyChange answers 501, and a DNS-01
that fails leaves the challenge and the authorization `pending` with an
`error` on the challenge (RFC 8555 section 8.2 retries), where Pebble makes
them `invalid`."""
import time

import harness
from test_e2e import chain_ok, customer_ready, dead, fleet, issued, tmp, wait_issued  # noqa: F401


def stepca_fleet(tmp, config=None):
    return fleet(tmp, config, stepca=True)


def test_issues_several_domains_every_chain_verifies_against_its_root(tmp):
    env = stepca_fleet(tmp)
    try:
        zones = env.zones
        doms = [f"s{i}.{zones[i % 4]}" for i in range(6)]
        env.start_worker()
        env.start_worker()
        for d in doms:
            env.ctl("onboard", d)
        # one certificate for two names: two authorizations in one order
        two = [zones[5], f"www.{zones[5]}"]
        env.ctl("onboard", zones[5], "--names", ",".join(two))
        for d in doms + two:
            customer_ready(env, d)
        wait_issued(env, doms + [zones[5]], 90)
        for d in doms:
            info = chain_ok(env, d, [d])
            assert "step-ca intermediate" in info["issuer"], info
        chain_ok(env, zones[5], two)
        for d in doms:
            st = env.domain(d)
            assert st["state"] == "issued", st
            assert int(st["orders"]) == 1, st
        assert dead(env) == []
    finally:
        env.close()
