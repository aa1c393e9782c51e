"""dcvctl revoke (issue 13, point 5) against a live fleet: redis-server,
BIND, Pebble and a dcv-worker with the five stages (fleet_env.py).

Two domains are issued once for the module.  The tests revoke them and ask
Pebble's management interface (cert-status-by-serial) whether the CA took
it: keyCompromise revokes, records (record, certificate hash, event
"revoked") and renews at once with a new key although the checks' interval
is an hour (FAST_TIMERS); a second revocation of a revoked certificate
succeeds as already revoked; an unknown domain, a certificate the CA never
issued and a CA that cannot be reached fail with nothing recorded."""
import json
import os
import ssl
import subprocess
import time
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import harness
from test_e2e import customer_ready, fleet, issued, wait_issued

REVOKED_FIELDS = ("revoked_at", "revoked_reason", "revoked_serial")


@pytest.fixture(scope="module")
def env():
    tmp = harness.tmpdir("dcv-revoke-")
    e = fleet(tmp)
    try:
        e.domains = [f"shop.{e.zones[0]}", f"blog.{e.zones[1]}"]
        for d in e.domains:
            customer_ready(e, d)
            e.ctl("onboard", d)
        e.start_worker()
        wait_issued(e, e.domains, 120)
        yield e
    finally:
        e.close()
        if not os.environ.get("DCV_KEEP_TMP"):
            harness.rmtree(tmp)


def leaf(chain):
    return x509.load_pem_x509_certificate(chain.encode())


def spki(chain):
    return leaf(chain).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def ca_status(env, chain):
    """Pebble's status of CHAIN's leaf ("Valid", "Revoked"), from its
    management interface."""
    serial = format(leaf(chain).serial_number, "x")
    ctx = ssl.create_default_context(cafile=env.pebble.ca)
    url = f"https://127.0.0.1:{env.pebble.mgmt_port}/cert-status-by-serial/{serial}"
    with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
        return json.loads(r.read())["Status"]


def revoked_events(env, domain):
    return [e for e in env.events(domain) if e["type"] == "revoked"]


def nothing_recorded(env, domain, events_before):
    assert not any(f in env.domain(domain) for f in REVOKED_FIELDS), env.domain(domain)
    assert not any(f in env.cert(domain) for f in REVOKED_FIELDS), env.cert(domain)
    assert len(revoked_events(env, domain)) == events_before


def test_key_compromise_revokes_records_and_reissues_with_a_new_key(env):
    d = env.domains[0]
    old = env.cert(d)
    assert ca_status(env, old["chain"]) == "Valid"
    # no worker while Pebble is asked (its store is not safe under
    # concurrent load, TESTENV.md): the renewal waits, due now
    env.stop_worker(env.workers[-1])
    # the CA's resolver keeps the old TXT value up to 1 s (max-cache-ttl):
    # a renewal validated within it would be found invalid
    harness.wait_until(lambda: time.time() * 1000 > int(env.domain(d)["issued_at"]) + 2500,
                       10, what="the CA's resolver cache of the old TXT expired")
    p = env.ctl("revoke", d, "--reason", "keyCompromise")
    assert f"serial {old['serial']} revoked (keyCompromise)" in p.stdout, p.stdout
    assert "renewing now with a new key" in p.stdout, p.stdout
    assert ca_status(env, old["chain"]) == "Revoked"
    rec = env.domain(d)
    assert rec["revoked_reason"] == "keyCompromise" and rec["revoked_serial"] == old["serial"]
    ev = revoked_events(env, d)
    assert len(ev) == 1
    assert (ev[0]["serial"], ev[0]["reason"]) == (old["serial"], "keyCompromise")
    assert ev[0]["time"] == rec["revoked_at"]
    assert int(rec["renew_at"]) == int(rec["revoked_at"])
    env.start_worker()
    # the offboard-check interval is an hour: only the revocation renews now
    try:
        harness.wait_until(lambda: len(issued(env, d)) >= 2 and
                           env.cert(d).get("serial") not in ("", old["serial"]), 90,
                           interval=0.2, what="the certificate re-issued")
    except AssertionError as e:
        raise AssertionError(f"{e}\nrecord: {env.domain(d)}\n"
                             f"log: {env.log(env.workers[-1])[-4000:]}") from None
    new = env.cert(d)
    assert issued(env, d)[-1]["renewal"] == "1"
    assert spki(new["chain"]) != spki(old["chain"]), "the compromised key is not reused"
    assert ca_status(env, new["chain"]) == "Valid"
    # the new certificate's hash carries no revocation; the record keeps
    # the last one, naming the old serial
    assert not any(f in new for f in REVOKED_FIELDS)
    assert env.domain(d)["revoked_serial"] == old["serial"] != env.domain(d)["serial"]


def test_revoking_twice_succeeds_as_already_revoked(env):
    d = env.domains[1]
    c = env.cert(d)
    renew_at = env.domain(d)["renew_at"]
    p = env.ctl("revoke", "--reason", "superseded", d)
    assert f"serial {c['serial']} revoked (superseded)" in p.stdout, p.stdout
    assert "renewing" not in p.stdout
    assert ca_status(env, c["chain"]) == "Revoked"
    first = env.cert(d)["revoked_at"]
    p = env.ctl("revoke", d, "--reason", "superseded")
    assert "already revoked at the CA; recorded" in p.stdout, p.stdout
    h = env.cert(d)
    assert (h["revoked_serial"], h["revoked_reason"]) == (c["serial"], "superseded")
    assert int(h["revoked_at"]) >= int(first)
    ev = revoked_events(env, d)
    assert len(ev) == 2 and "already revoked" in ev[1]["detail"]
    # superseded asks for no new certificate
    assert env.domain(d)["renew_at"] == renew_at
    assert len(issued(env, d)) == 1


def test_unknown_domain_fails(env):
    p = env.ctl("revoke", f"nonesuch.{env.zones[2]}", check=False)
    assert p.returncode == 3 and "no stored certificate" in p.stderr, p.stderr
    for bad in ("affiliationChanged", "unspecified"):   # no --reason is unspecified
        p = env.ctl("revoke", env.domains[0], "--reason", bad, check=False)
        assert p.returncode == 2 and "--reason" in p.stderr, (bad, p.stderr)
    assert "revoke DOMAIN [--reason keyCompromise|superseded|cessationOfOperation]" in \
        env.ctl("--help").stdout


def self_signed(name, tmp):
    key, crt = os.path.join(tmp, "ss.key"), os.path.join(tmp, "ss.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "1", "-subj", f"/CN={name}", "-addext",
                    f"subjectAltName=DNS:{name}"], check=True, capture_output=True)
    with open(crt) as f:
        return f.read()


def test_a_certificate_the_ca_does_not_know_is_not_recorded(env):
    d = f"stranger.{env.zones[3]}"
    pem = self_signed(d, env.tmp)
    env.client().hset(f"{env.prefix}:cert:{d}", mapping={
        "chain": pem, "serial": format(leaf(pem).serial_number, "X"), "names": d})
    p = env.ctl("revoke", d, "--reason", "keyCompromise", check=False)
    assert p.returncode == 1 and "the CA did not revoke it" in p.stderr, p.stderr
    assert "nothing recorded" in p.stderr
    nothing_recorded(env, d, 0)


def test_an_unreachable_ca_is_not_recorded(env):
    # a domain issued and not revoked by the tests above
    d = f"spare.{env.zones[4]}"
    customer_ready(env, d)
    env.ctl("onboard", d)
    wait_issued(env, [d], 120)
    port = harness.free_port()      # nothing listens there
    cfg = env.write_config({"acme.directory": f"https://127.0.0.1:{port}/dir"},
                           path=os.path.join(env.tmp, "unreachable.yaml"))
    env.write_config()              # self.config_values back to the fleet's
    p = env.ctl("revoke", d, "--reason", "keyCompromise", config=cfg, check=False)
    assert p.returncode == 1 and "the CA did not revoke it" in p.stderr, p.stderr
    assert "transient" in p.stderr
    nothing_recorded(env, d, 0)
    assert ca_status(env, env.cert(d)["chain"]) == "Valid"
