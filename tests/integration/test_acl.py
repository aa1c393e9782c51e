"""The fleet as the least-privilege Redis user of deploy/redis/users.acl
(issue 10, issue 16 section 4): redis-server runs with that ACL file, the
workers and every dcvctl command log in as dcv-worker (with a password
holding '/', '@' and ':'), and the whole pipeline runs: onboarding, issuance,
nudges, stats, dead letters, a key rotation, offboarding.

What would fail if the code sent a command the ACL lacks:
  - ACL LOG stays empty through the run (Redis records every refusal,
    scripts' commands included);
  - every command MONITOR saw the fleet send is one the source scan
    (redis_commands.code_commands) found, so the static check in
    test_deploy.py (the ACL grants exactly what the code sends) covers what
    really goes over the wire.
And a command outside the ACL is refused by Redis, a refusal dcvctl turns
into a failure (stats without ZCOUNT exits 1, it does not print -1)."""
import json
import os

import pytest

import harness
import redis_commands
from fleet_env import FAST_TIMERS, FleetEnv
from test_e2e import tmp, customer_ready, wait_issued  # noqa: F401 (tmp: the fixture)


def test_the_fleet_runs_as_the_acl_user(tmp):
    env = FleetEnv(tmp, zones=3, acl=True)
    mon = None
    try:
        admin = env.client()
        names, no_auth = redis_commands.server_commands(env.redis.port, "dcv-admin",
                                                        env.admin_password)
        found, problems = redis_commands.code_commands(names)
        assert not problems, problems
        mon = harness.Proc(["redis-cli", "-p", env.redis.port, "--user", "dcv-admin",
                            "monitor"], os.path.join(tmp, "monitor.log"),
                           env={"REDISCLI_AUTH": env.admin_password})
        harness.wait_until(lambda: "OK" in mon.output(), 10, what="MONITOR running")
        env.base_config.update(FAST_TIMERS)
        env.base_config.update({"worker.trim_interval_ms": 300,
                                "worker.consumer_idle_ms": 1000,
                                "lifecycle.offboard_interval_ms": 1000})
        env.write_config()
        z = env.zones
        outputs = []

        def ctl(*args, **kw):
            p = env.ctl(*args, **kw)
            outputs.append(p.stdout + p.stderr)
            return p

        ctl("account", "register", "--email", "ops@example.com")
        assert "key_encrypted: yes" in ctl("account", "show").stdout
        one, two, three = f"one.{z[0]}", f"two.{z[1]}", f"three.{z[2]}"
        files = [f"f{i}.{z[i % 3]}" for i in range(3)]
        for d in [one, two, f"www.{two}", three] + files:
            customer_ready(env, d)
        ctl("onboard", one, "--tenant", "acme-1")
        ctl("onboard", two, "--names", f"{two},www.{two}", "--json")
        ctl("onboard", "--file", "-", stdin="\n".join(files) + "\n")
        ctl("onboard", three)
        assert ctl("status", one).stdout.startswith("domain")
        assert json.loads(ctl("status", one, "--json").stdout)["tenant"] == "acme-1"
        stats = ctl("stats")
        assert "due now -1" not in stats.stdout
        assert json.loads(ctl("stats", "--json").stdout)["delayed_due"] >= 0
        # an empty database (SELECT 1) has no streams yet: stats still answers
        ctl("stats", env={"DCV_REDIS_URL": env.worker_url[:-1] + "1"})
        workers = [env.start_worker(), env.start_worker()]
        ctl("nudge", one)
        everyone = [one, two, three] + files
        wait_issued(env, everyone, 120)
        for d in everyone:
            assert env.cert(d)["key"].startswith("aesgcm1:")
        env.verify_cert(env.cert(two)["chain"], [two, f"www.{two}"])
        # the certificate export (SCAN walks <prefix>:cert:*)
        listed = json.loads(ctl("cert", "list", "--json").stdout)
        assert {e["domain"] for e in listed} == set(everyone), listed
        ctl("cert", "get", two, "--out", os.path.join(tmp, "export"))
        # revocation (the REVOKE script), and again: already revoked
        assert "revoked (superseded)" in ctl("revoke", two, "--reason", "superseded").stdout
        assert "already revoked" in ctl("revoke", two, "--reason", "superseded").stdout

        # the account key rotation (its script once used HEXISTS)
        before = admin.hget("dcv:account", "key_version")
        out = ctl("account", "rotate-key")
        assert "key_version 2" in out.stdout, out
        assert admin.hget("dcv:account", "key_version") != before

        # dead letters: a job that cannot be decoded, replayed, purged
        for _ in range(3):
            admin.xadd("dcv:stream:create-order", {"domain": "x", "job": b"\xc1"})
        harness.wait_until(lambda: admin.xlen("dcv:dead") >= 3, 30, what="3 dead letters")
        first = admin.xrange("dcv:dead", count=1)[0][0].decode()
        assert first in ctl("dead", "list").stdout
        json.loads(ctl("dead", "list", "--count", "5", "--json").stdout)
        assert "replayed" in ctl("dead", "replay", first).stdout
        harness.wait_until(lambda: admin.xlen("dcv:dead") >= 3, 30, what="replayed and dead again")
        assert "purged" in ctl("dead", "purge", admin.xrange("dcv:dead", count=1)[0][0].decode()).stdout
        ctl("dead", "replay", "--all")
        harness.wait_until(lambda: admin.xlen("dcv:dead") >= 2, 30, what="dead again")
        ctl("dead", "purge", "--all")
        assert admin.xlen("dcv:dead") == 0

        # offboarding: the customer removes the delegation, the fleet notices
        ctl("offboard", three)
        env.remove_cname(three)
        harness.wait_until(lambda: env.domain(three).get("state") == "offboarded", 60,
                           interval=0.2, what=f"{three} offboarded")
        # tenants: another tenant is refused a name (RELEASE's and the
        # ownership checks' commands), until its holder is released
        assert ctl("onboard", one, "--tenant", "acme-2", check=False).returncode == 4
        assert "released" in ctl("release", three).stdout

        # a stopped worker's consumers are forgotten by the other's trim
        env.stop_worker(workers[0])
        name = f"-{workers[0].pid}-"
        harness.wait_until(lambda: not any(
            name in c["name"].decode() for c in admin.xinfo_consumers("dcv:stream:verify-cname",
                                                                       "workers")),
            30, what="the stopped worker's consumers deleted")
        ctl("stats")
        env.stop_worker(workers[1])
        mon.stop()

        # nothing the fleet sent was refused
        assert admin.acl_log() == [], admin.acl_log()
        with open(mon.logpath) as f:
            lines = f.read().splitlines()
        seen = redis_commands.monitor_commands(lines, names)
        unscanned = {c: n for c, n in seen.items() if c not in found}
        assert not unscanned, f"sent but not found by the source scan: {unscanned}"
        granted = redis_commands.acl_commands(redis_commands.acl_rules()["dcv-worker"])
        assert all(c in no_auth or redis_commands.allowed(c, granted) for c in seen), seen
        print(f"\ncommands the source scan finds: {len(found)}; seen on the wire: "
              f"{len(seen)}; not exercised here: {sorted(set(found) - set(seen))}")
        assert len(set(found) & set(seen)) >= 0.8 * len(found)

        # the password went nowhere it should not
        pw = env.worker_password
        for w in workers:
            assert pw not in env.log(w)
        assert not any(pw in o for o in outputs)
        assert pw not in "\n".join(lines)

        # outside the ACL: refused by Redis, and recorded
        import redis
        w = redis.Redis(host="127.0.0.1", port=env.redis.port, username="dcv-worker",
                        password=pw, socket_timeout=5)
        for cmd in (("KEYS", "*"), ("CONFIG", "GET", "masterauth"), ("FLUSHALL",),
                    ("HSET", "other:x", "k", "v"), ("CLIENT", "LIST"),
                    ("EVAL", "return redis.call('HSET', 'other:x', 'k', 'v')", "0")):
            with pytest.raises(redis.exceptions.ResponseError) as e:
                w.execute_command(*cmd)
            msg = str(e.value).lower()
            assert "noperm" in msg or "permission" in msg or "can't access" in msg, (cmd, msg)
        log = admin.acl_log()
        assert len(log) >= 5 and all(e["username"] == "dcv-worker" for e in log), log

        # a refused command is an error of dcvctl, not a value it prints
        rules = [r for r in redis_commands.acl_rules()["dcv-worker"]
                 if r not in ("on", "+zcount") and not r.startswith("#")]
        admin.execute_command("ACL", "SETUSER", "dcv-nozcount", "on", ">nozcount", *rules)
        url = f"redis://dcv-nozcount:nozcount@127.0.0.1:{env.redis.port}/0"
        for args in (("stats",), ("stats", "--json")):
            p = env.ctl(*args, env={"DCV_REDIS_URL": url}, check=False)
            assert p.returncode == 1, (p.stdout, p.stderr)
            assert "NOPERM" in p.stderr and "ZCOUNT" in p.stderr.upper(), p.stderr
            assert "-1" not in p.stdout
    finally:
        if mon:
            mon.stop()
        env.close()
