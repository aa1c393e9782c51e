"""The whole pipeline (fleet_env: Redis, BIND, Pebble, dcv-worker) through
each TXT provider other than RFC 2136 to BIND (issue 16, section 3):

  - webhook: the example receiver (deploy/examples/python/webhook_receiver.py)
    verifies the signature and updates BIND P with nsupdate;
  - exec: deploy/examples/exec/nsupdate-hook updates BIND P;
  - powerdns: a real pdns_server holds the validation zone;
  - rfc2136 to Knot DNS: knotd holds the validation zone.

Each issues two domains through Pebble and then checks that the TXT values
are gone from the server that held them.  With PowerDNS and Knot the
validation zone exists nowhere else (fleet_env's validation_ns: BIND P and
S do not serve it, the resolvers forward it there), so an issued
certificate is itself the proof that the provider wrote there."""
import base64
import os
import re
import sys

import harness
from dns_env import Knot, PowerDNS, dig
from fleet_env import NS_ZONE
from test_e2e import customer_ready, fleet, issue_all, issued as issued_events, tmp  # noqa: F401

EXAMPLES = os.path.join(harness.SOURCE, "deploy", "examples")


def use_provider(env, **keys):
    """Replaces the provider section of the fleet's config with KEYS
    (dotted paths under provider.) plus the zone and a TTL of 1."""
    for k in [k for k in env.base_config if k.startswith("provider.")]:
        del env.base_config[k]
    env.base_config.update({"provider.zone": env.validation_zone, "provider.ttl": 1,
                            "provider.timeout_ms": 5000})
    env.base_config.update({f"provider.{k}": v for k, v in keys.items()})
    env.write_config()
    r = env.check_config()
    assert r.returncode == 0, r.stdout + r.stderr


def issue_two(env, txt_at):
    """Onboards two domains, waits for both certificates, checks them, then
    waits until TXT_AT(target) (the TXT strings at a target on the server
    that holds the validation zone) is empty for both."""
    doms = [f"a.{env.zones[0]}", f"b.{env.zones[1]}"]
    issue_all(env, doms, 90)
    for d in doms:
        harness.wait_until(lambda: txt_at(env.target(d)) == [], 20, interval=0.1,
                           what=f"TXT at {env.target(d)} removed")
    return doms


def bind_updated(env, doms):
    """BIND P logged an add and a delete of a TXT at each domain's target,
    signed with the validation key (what the provider made happen)."""
    log = env.p.proc.output()
    for d in doms:
        t = env.target(d)
        assert f"key {env.validation_key[0]}: updating zone '{env.validation_zone}/IN': " \
               f"adding an RR at '{t}' TXT" in log, f"no TXT add at {t}"
        assert f"deleting an RR at {t} TXT" in log, f"no TXT delete at {t}"


def test_webhook_receiver_updates_bind(tmp):
    env = fleet(tmp)
    secret = os.urandom(24).hex()
    port = harness.free_port()
    rcv = None
    try:
        rcv = harness.Proc([sys.executable, os.path.join(EXAMPLES, "python", "webhook_receiver.py"),
                            "--listen", f"127.0.0.1:{port}", "--zone", env.validation_zone,
                            "--dns-server", "127.0.0.1", "--dns-port", env.p.port,
                            "--tsig-key-file", env.validation_keyfile],
                           os.path.join(tmp, "receiver.log"), env={"DCV_WEBHOOK_SECRET": secret})
        harness.wait_port(port, proc=rcv)
        use_provider(env, **{"type": "webhook", "webhook.url": f"http://127.0.0.1:{port}/dcv",
                             "webhook.secret": secret})
        bind_updated(env, issue_two(env, lambda t: env.txt(t, "p")))
        log = rcv.output()
        # two presents and two cleanups at least, all accepted; the secret
        # never crossed the wire
        assert log.count("POST /dcv 200") >= 4, log
        assert " 401\n" not in log, log
        assert secret not in log and secret not in env.log(env.workers[0])
    finally:
        env.close()
        if rcv:
            rcv.stop()


def test_exec_nsupdate_hook_updates_bind(tmp):
    env = fleet(tmp)
    try:
        use_provider(env, **{"type": "exec",
                             "exec.program": os.path.join(EXAMPLES, "exec", "nsupdate-hook"),
                             "exec.env": ["NSUPDATE_SERVER=127.0.0.1",
                                          f"NSUPDATE_PORT={env.p.port}",
                                          f"NSUPDATE_KEYFILE={env.validation_keyfile}"]})
        bind_updated(env, issue_two(env, lambda t: env.txt(t, "p")))
    finally:
        env.close()


def test_exec_exit_codes_through_the_pipeline(tmp):
    """The hook's exit codes as the stages read them: 75 (no server
    answering) is retried, and the domain issues once the server is back;
    1 (the key refused: NOTAUTH) fails the domain, naming the program and
    the server's answer."""
    env = fleet(tmp)
    try:
        hook = os.path.join(EXAMPLES, "exec", "nsupdate-hook")
        bad_key = os.path.join(tmp, "bad.key")
        with open(bad_key, "w") as f:
            f.write(f'key "{env.validation_key[0]}" {{ algorithm hmac-sha256; '
                    f'secret "{base64.b64encode(os.urandom(32)).decode()}"; }};\n')
        use_provider(env, **{"type": "exec", "exec.program": hook, "timeout_ms": 8000,
                             "exec.env": ["NSUPDATE_SERVER=127.0.0.1", f"NSUPDATE_PORT={env.p.port}",
                                          f"NSUPDATE_KEYFILE={bad_key}"]})
        d = f"refused.{env.zones[2]}"
        customer_ready(env, d)
        w = env.start_worker()
        env.ctl("onboard", d)
        harness.wait_until(lambda: env.domain(d).get("state") == "failed", 60,
                           what="failed on the refused key")
        err = env.domain(d)["last_error"]
        assert f"exec: {hook} present" in err and "exit 1" in err and "NOTAUTH" in err, err
        env.stop_worker(w)
        # nothing listens where the hook sends: 75, retried; then the
        # configuration is fixed and the same job issues
        def hook_to(port):
            use_provider(env, **{"type": "exec", "exec.program": hook, "timeout_ms": 8000,
                                 "exec.env": ["NSUPDATE_SERVER=127.0.0.1", f"NSUPDATE_PORT={port}",
                                              f"NSUPDATE_KEYFILE={env.validation_keyfile}"]})
        hook_to(harness.free_port())
        d2 = f"later.{env.zones[3]}"
        customer_ready(env, d2)
        w = env.start_worker()
        env.ctl("onboard", d2)
        harness.wait_until(lambda: "exit 75" in env.domain(d2).get("last_error", ""), 60,
                           what="a transient exit recorded")
        assert env.domain(d2)["state"] == "provisioning", env.domain(d2)
        env.stop_worker(w)
        hook_to(env.p.port)
        env.start_worker()
        harness.wait_until(lambda: issued_events(env, d2), 90, what=f"{d2} issued")
    finally:
        env.close()


def test_powerdns_holds_the_validation_zone(tmp):
    pdns = PowerDNS(tmp)
    env = None
    try:
        pdns.create_zone("validation.test", nameservers=[f"ns3.{NS_ZONE}."])
        env = fleet(tmp, validation_ns=pdns.port)
        use_provider(env, **{"type": "powerdns", "api_url": pdns.url,
                             "api_key": pdns.api_key, "server_id": "localhost"})
        doms = issue_two(env, lambda t: sorted(v.strip('"') for v in dig(pdns.port, t)))
        for d in doms:
            assert pdns.txt("validation.test", env.target(d)) == []
    finally:
        if env:
            env.close()
        pdns.stop()


def test_rfc2136_to_knot(tmp):
    knot = Knot(tmp, "validation.test", f"ns3.{NS_ZONE}")
    env = None
    try:
        env = fleet(tmp, validation_ns=knot.port)
        name, secret = knot.key
        use_provider(env, **{"type": "rfc2136", "server": f"127.0.0.1:{knot.port}",
                             "tsig.name": name, "tsig.algorithm": "hmac-sha256",
                             "tsig.secret": secret})
        issue_two(env, lambda t: sorted(v.strip('"') for v in dig(knot.port, t)))
        # two adds and two removes (knotd may apply several in one go)
        done = re.findall(r"DDNS, processing (\d+) update", knot.proc.output())
        assert sum(map(int, done)) >= 4, done
    finally:
        if env:
            env.close()
        knot.stop()
