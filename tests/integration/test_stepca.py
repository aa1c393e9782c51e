"""The product end to end against step-ca as the only CA (issue 14, "Every CA
is a little different"): smallstep's step-ca 0.19, built from Debian's Go
source (stepca_env.py), with the same BIND, Redis and dcv-worker processes as
test_e2e.py, whose helpers these tests use.

step-ca differs from Pebble where it matters here: finalize answers `valid`
at once, nothing carries Retry-After, keyChange answers 501, and a DNS-01
that fails leaves the challenge and the authorization `pending` with an
`error` on the challenge (RFC 8555 section 8.2 retries), where Pebble makes
them `invalid`.  The last test changes Pebble's directory instead
(ca_proxy.py): no keyChange at all, and ARI offered."""
import os
import re
import shutil
import subprocess
import time

import pytest

import harness
import stepca_env
from fleet_env import _Named, _soa
from test_e2e import (chain_ok, customer_ready, dead, fleet, issued,  # noqa: F401
                      onboard_ca_blind, tmp, wait_issued)


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


def ca_resolver_forwards(env, zone, port):
    """The CA's resolver (CA_R) restarted with ZONE forwarded to PORT
    (None: as FleetEnv made it, everything to P)."""
    env.ca_r.stop()
    if port is None:
        env.ca_r.zones.pop(zone, None)
    else:
        env.ca_r.zones[zone] = (f"type forward; forward only; "
                                f"forwarders {{ 127.0.0.1 port {port}; }};", None)
    env.ca_r.write_config()
    env.ca_r.start()


def onboard_ca_sees_wrong_txt(env, d):
    """D onboarded while the CA's resolver takes the validation zone from
    W, a server whose every name has one wrong TXT: the fleet's own checks
    (P and S) see the right value, the CA does not."""
    w = _Named(env.tmp, "w", {env.validation_zone: (
        "type primary;", _soa() + '* TXT "not-the-key-authorization"\n')},
        extra_options="recursion no;")
    env._servers.append(w)
    w.start()
    ca_resolver_forwards(env, env.validation_zone, w.port)
    customer_ready(env, d)
    env.start_worker()
    env.ctl("onboard", d)


# what the CA says, and how it is fixed
FAILURES = {
    "resolver-down": (onboard_ca_blind, "There was a problem with a DNS query during "
                      "identifier validation (dns)", lambda env: env.ca_r.start()),
    # step-ca keeps its "keyAuthorization does not match; expected ..."
    # to itself (its log) and sends its type's stock detail
    "wrong-txt": (onboard_ca_sees_wrong_txt, "The server will not issue certificates for "
                  "the identifier (rejectedIdentifier)",
                  lambda env: ca_resolver_forwards(env, env.validation_zone, None)),
}


@pytest.mark.parametrize("how", sorted(FAILURES))
def test_dns01_failure_shows_the_cas_error_and_ends_within_the_bound(tmp, how):
    """step-ca keeps a failed DNS-01 pending with an error on the challenge:
    the error reaches last_error and a challenge-error event, and after
    lifecycle.validation_timeout_ms the domain goes the authz-invalid way
    (TXT removed, back to verify-cname), then is issued once the CA can
    see the TXT again."""
    start, says, fix = FAILURES[how]
    timeout_ms = 4000
    env = stepca_fleet(tmp, {"lifecycle.validation_timeout_ms": timeout_ms,
                             "lifecycle.invalid_backoff_ms": 300})
    try:
        d = f"bad.{env.zones[0]}"
        start(env, d)

        def challenge_error():
            return [e for e in env.events(d) if e["type"] == "challenge-error"]
        ev = harness.wait_until(challenge_error, 30, interval=0.1,
                                what="a challenge-error event")[0]
        assert "its last try failed: " in ev["detail"], ev
        cas_error = ev["detail"].split("its last try failed: ", 1)[1]
        assert says in cas_error, ev
        # no key authorization (token "." thumbprint, base64url) anywhere
        assert not re.search(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{43}", ev["detail"]), ev
        # while it waits, the record says why
        harness.wait_until(lambda: env.domain(d).get("state") == "validating" and
                           cas_error in env.domain(d).get("last_error", ""), 3,
                           interval=0.05, what="the CA's error in last_error")
        assert env.txt(env.target(d), "p"), "the TXT is published while the CA tries"
        # the wait's start is in the record, for this order (not the job's)
        rec = env.domain(d)
        at, url = rec["validating_at"].split(" ", 1)
        assert url == rec["order_url"] and int(at) <= int(ev["time"]), rec

        def invalid():
            return [e for e in env.events(d) if e["type"] == "authz-invalid"]
        inv = harness.wait_until(invalid, timeout_ms / 1000 + 20, interval=0.1,
                                 what="authz-invalid after the validation timeout")[0]
        waited = int(inv["time"]) - int(ev["time"])
        assert timeout_ms - 1500 <= waited <= timeout_ms + 3000, (waited, ev, inv)
        assert "no verdict" in inv["detail"] and cas_error in inv["detail"], inv
        # the same error was reported once, not at every poll
        assert len([e for e in env.events(d) if e["type"] == "challenge-error"
                    and int(e["time"]) <= int(inv["time"])]) == 1
        st = env.domain(d)
        assert st["invalid_count"] == "1", st
        assert "validating_at" not in st, st
        harness.wait_until(lambda: env.txt(env.target(d), "p") == [], 10,
                           what="the TXT removed")
        assert not issued(env, d)
        # the CA sees the zone again: the next order is issued
        fix(env)
        wait_issued(env, [d], 60)
        chain_ok(env, d, [d])
        types = [e["type"] for e in env.events(d)]
        assert types[-1] == "issued" and "failed" not in types, types
        assert dead(env) == []
    finally:
        env.close()


def test_capabilities_recorded_and_rotate_key_without_keychange_changes_nothing(tmp):
    """step-ca's directory lists keyChange but the endpoint answers 501
    notImplemented: rotate-key says so (exit 5) and leaves dcv:account as it
    was; dcv:ca:default records what the CA offers, and what it did."""
    env = stepca_fleet(tmp)
    try:
        r = env.client()
        caps = env._dec(r.hgetall("dcv:ca:default"))
        assert caps["cap_keychange"] == "yes", caps      # the directory lists it
        assert caps["cap_ari"] == "no" and caps["cap_profiles"] == "no", caps
        assert caps["cap_eab"] == "no" and caps["cap_profile_names"] == "", caps
        assert abs(int(caps["cap_seen_at"]) - time.time()) < 60, caps
        before = r.hgetall("dcv:account")
        assert before[b"key_version"] == b"1", before
        p = env.ctl("account", "rotate-key", check=False)
        assert p.returncode == 5, (p.returncode, p.stdout, p.stderr)
        assert "does not support account key rollover" in p.stderr, p.stderr
        assert "nothing changed" in p.stderr and "key_version 1" in p.stderr, p.stderr
        assert "not implemented" in p.stderr, p.stderr      # the CA's own words
        assert "transient" not in p.stderr, p.stderr
        after = r.hgetall("dcv:account")
        assert after == before, (before, after)              # no pending_key left
        caps = env._dec(r.hgetall("dcv:ca:default"))
        assert caps["cap_keychange"] == "no", caps
        assert "not implemented" in caps["cap_keychange_detail"], caps
        # the account still works, and a worker reading the directory again
        # does not undo what the CA answered
        d = f"k.{env.zones[0]}"
        customer_ready(env, d)
        env.start_worker()
        env.ctl("onboard", d)
        wait_issued(env, [d], 60)
        chain_ok(env, d, [d])
        caps2 = env._dec(r.hgetall("dcv:ca:default"))
        assert caps2["cap_keychange"] == "no", caps2
        assert int(caps2["cap_seen_at"]) >= int(caps["cap_seen_at"]), caps2
        assert "rotation_pending" not in env.ctl("account", "show").stdout
    finally:
        env.close()


def test_directory_without_keychange_and_with_ari(tmp):
    """A CA whose directory lists no keyChange: rotate-key exits 5 before
    anything reaches the CA's account, dcv:account stays as it was, and
    dcv:ca:default says why; ARI offered shows as cap_ari."""
    env = fleet(tmp, ca_proxy=True)
    try:
        env.ca.drop_keychange()
        env.ca.set_ari(int(time.time()) + 3600, int(time.time()) + 7200)
        r = env.client()
        before = r.hgetall("dcv:account")
        p = env.ctl("account", "rotate-key", check=False)
        assert p.returncode == 5, (p.returncode, p.stdout, p.stderr)
        assert "does not support account key rollover" in p.stderr, p.stderr
        assert "the directory has no keyChange" in p.stderr, p.stderr
        assert r.hgetall("dcv:account") == before
        caps = env._dec(r.hgetall("dcv:ca:default"))
        assert caps["cap_keychange"] == "no", caps
        # a worker's look at the directory records ARI, and keeps "no"
        d = f"a.{env.zones[0]}"
        customer_ready(env, d)
        env.start_worker()
        env.ctl("onboard", d)
        wait_issued(env, [d], 60)
        caps = env._dec(r.hgetall("dcv:ca:default"))
        assert caps["cap_ari"] == "yes" and caps["cap_keychange"] == "no", caps
        assert caps["cap_keychange_detail"] == "the directory has no keyChange", caps
        # keyChange back: rotation works and says so
        env.ca.drop_keychange(False)
        p = env.ctl("account", "rotate-key", check=False)
        assert p.returncode == 0, p.stderr
        caps = env._dec(r.hgetall("dcv:ca:default"))
        assert caps["cap_keychange"] == "yes" and "cap_keychange_detail" not in caps, caps
        assert r.hget("dcv:account", "key_version") == b"2"
    finally:
        env.close()


def test_a_build_that_cannot_run_fails_loudly(tmp):
    """No go on PATH: the builder exits non-zero naming the package, and
    the fixture raises (a test that needs step-ca fails, never skips)."""
    bin_dir = os.path.join(tmp, "bin")
    os.makedirs(bin_dir)
    for tool in ("dirname", "mkdir", "flock", "cp", "mv"):
        os.symlink(shutil.which(tool), os.path.join(bin_dir, tool))
    out = os.path.join(tmp, "out", "step-ca")
    r = subprocess.run([stepca_env.BUILD_SCRIPT, out], capture_output=True, text=True,
                       env={"PATH": bin_dir}, timeout=60)
    assert r.returncode != 0 and "install golang-go" in r.stderr, r
    assert not os.path.exists(out)
    old = os.environ["PATH"]
    os.environ["PATH"] = bin_dir
    try:
        stepca_env.binary(os.path.join(tmp, "out2", "step-ca"))
    except AssertionError as e:
        assert "cannot build step-ca" in str(e) and "install golang-go" in str(e), e
    else:
        raise AssertionError("binary() returned without a step-ca")
    finally:
        os.environ["PATH"] = old
