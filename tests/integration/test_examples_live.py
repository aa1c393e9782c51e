"""The backend integration examples of deploy/examples (node/onboard.js and
python/onboard.py) against a live fleet: redis-server, BIND, Pebble and a
dcv-worker with the five stages (fleet_env.py), until the real `issued`
event.

Each example onboards its own domain the way a backend does (one XADD into
dcv:stream:verify-cname, no dcv:domain:<d>), so this also checks that the
recipe of schemas/job.md is enough for verify-cname to claim the job and
carry it to a certificate."""
import os
import sys

import pytest

import harness
from test_e2e import customer_ready, fleet
from test_examples import EXAMPLES, Run, node_example  # noqa: F401 (fixture)


@pytest.fixture
def tmp():
    d = harness.tmpdir("dcv-examples-live-")
    yield d
    if not os.environ.get("DCV_KEEP_TMP"):
        harness.rmtree(d)


def test_examples_onboard_and_exit_on_issued(tmp, node_example):
    env = fleet(tmp)
    runs = []
    try:
        domains = {"node": f"node.{env.zones[0]}", "python": f"python.{env.zones[1]}"}
        for d in domains.values():
            customer_ready(env, d)            # the CNAME, and an A record at us
        env.start_worker()
        cmds = {"node": node_example,
                "python": [sys.executable, os.path.join(EXAMPLES, "python", "onboard.py")]}
        for name, d in domains.items():
            runs.append((name, d, Run(tmp, cmds[name] + [d, "--timeout", "120"], env.redis)))
        for name, d, run in runs:
            rc = run.wait(timeout=150)
            log = env.log(env.workers[0])[-4000:]
            assert rc == 0, f"{name} example exited {rc}:\n{run.stderr()}\nworker:\n{log}"
            lines = run.stdout_lines()
            assert lines and all(l["domain"] == d for l in lines), lines
            issued = [l for l in lines if l["type"] == "issued"]
            assert issued, lines
            assert issued[-1]["detail"].startswith("serial "), issued
            # the same event as the fleet wrote it, and the certificate
            assert issued[-1]["id"] in [e["id"] for e in env.events(d) if e["type"] == "issued"]
            assert env.cert(d).get("chain"), f"no dcv:cert:{d}"
            # the event's own fields, as the example parsed them
            c = env.cert(d)
            assert issued[-1]["names"] == c["names"].split(",") == [d], issued
            assert issued[-1]["serial"] == c["serial"], issued
            assert issued[-1]["not_after"] == int(c["not_after"]), issued
            assert issued[-1]["cert_key"] == f"{env.prefix}:cert:{d}", issued
            assert issued[-1]["renewal"] is False, issued
            st = env.domain(d)
            # verify-cname created the record when it claimed the job
            assert st["state"] == "issued" and st["gen"] == "1", st
            assert st["target"] == env.target(d) and st["names"] == d, st
            env.verify_cert(env.cert(d)["chain"], [d])
        # each run removed its own consumer group
        groups = env.client().xinfo_groups(f"{env.prefix}:events")
        assert not [g for g in groups if g["name"].startswith(b"onboard-example-")], groups
        assert env.client().xlen(f"{env.prefix}:dead") == 0
    finally:
        for _, _, run in runs:
            run.kill()
        env.close()
