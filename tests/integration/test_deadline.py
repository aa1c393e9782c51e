"""Bounded work per job (issue 10): worker.job_timeout_ms is one deadline
that every DNS lookup and HTTP request of a handler shares.  Against real
servers that never answer (a customer's nameserver, the CA's directory),
with two workers and a visibility timeout the stuck calls would outlast:
the job retries with a reason naming the call and the server, the
handler returns by its deadline (measured from the workers' own
duration_ms), and no delivery is run twice (the attempt numbers the
workers log are each seen once, and nothing is reclaimed).  The TXT
providers, through dns_driver, end by the deadline too."""
import json
import os
import subprocess
import time

import pytest

import harness
from dns_env import BlackHole, driver1
from fleet_env import US, yaml_text
from queue_env import Fleet, job_bytes
from test_e2e import fleet     # FleetEnv with the fast timers and an account

JOB_TIMEOUT = 1500
# the stuck calls would take 15 s (DNS: 3 tries of 5 s) or 20 s (ACME);
# entries idle for 2.4 s are reclaimed by the other worker
LIMITS = {
    "worker.job_timeout_ms": JOB_TIMEOUT,
    "worker.visibility_timeout_ms": 2400,
    "worker.reclaim_interval_ms": 200,
    "worker.concurrency": 1,
    "log.format": "json",
}
SLACK_MS = 700       # scheduling on a loaded machine, the commit


@pytest.fixture
def tmp():
    d = harness.tmpdir("dcv-deadline-")
    yield d
    if not os.environ.get("DCV_KEEP_TMP"):
        harness.rmtree(d)


@pytest.fixture
def hole():
    h = BlackHole()
    yield h
    h.stop()


def runs(env, workers, domain, stage):
    """The handler runs of DOMAIN in STAGE that the workers logged."""
    out = []
    for w in workers:
        for line in env.log(w).splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("domain") == domain and e.get("stage") == stage and "outcome" in e:
                out.append(e)
    return out


def attempt_of(run):
    return int(run["msg"].split("(attempt ")[1].split(")")[0])


def check_bounded_and_once(env, workers, domain, stage, capsys, what, asked=None):
    """Every run ended by its deadline, each attempt was run once.  ASKED
    (a message part) keeps the runs that made the stuck call, should any
    other run come between them."""
    for w in workers:
        assert env.stop_worker(w) == 0
    got = runs(env, workers, domain, stage)
    retries = [r for r in got if r["outcome"] == "retry"]
    assert retries and len(retries) == len(got), got
    if asked:
        waits = [r for r in retries if asked not in r["msg"]]
        assert all("rate limit of new orders" in r["msg"] for r in waits), waits
        retries = [r for r in retries if asked in r["msg"]]
    durations = [r["duration_ms"] for r in retries]
    attempts = sorted(attempt_of(r) for r in retries)
    with capsys.disabled():
        print(f"\n{what}: {len(retries)} runs, handler time {min(durations)}-"
              f"{max(durations)} ms for a {JOB_TIMEOUT} ms deadline, attempts {attempts}")
    assert all(JOB_TIMEOUT - 100 <= d <= JOB_TIMEOUT + SLACK_MS for d in durations), durations
    assert attempts == list(range(1, len(attempts) + 1)), "an attempt ran twice (or none)"
    for w in workers:
        log = env.log(w)
        assert "reclaimed" not in log and "after its deadline" not in log
    return retries


def test_a_customer_nameserver_that_never_answers(tmp, hole, capsys):
    # c2.test gets a third nameserver, ns3.c2.test (192.0.2.3), which is the
    # black hole: each query to it would wait 3 tries of 5 s
    env = fleet(tmp, dict(LIMITS, **{"dns.timeout_ms": 5000, "dns.tries": 3}))
    try:
        env.base_config["dns.port_map"] = env.port_map() + [f"192.0.2.3=127.0.0.1:{hole.port}"]
        env.write_config()
        env.set_rr("ns3.c2.test", "A", "192.0.2.3")
        env.set_rr("c2.test", "NS", ["ns1.dns.test.", "ns2.dns.test.", "ns3.c2.test."])
        slow, fine = "slow.c2.test", "fine.c1.test"
        for d in (slow, fine):
            env.add_cname(d)
            env.set_a(d, [US])
        workers = [env.start_worker(), env.start_worker()]
        env.ctl("onboard", slow)
        env.ctl("onboard", fine)
        harness.wait_until(lambda: len(runs(env, workers, slow, "verify-cname")) >= 4, 60,
                           what="four runs of the stuck job")
        st = env.domain(slow)
        assert st["state"] == "waiting-cname", st
        assert "deadline reached" in st["last_error"] and "(ns3.c2.test) did not answer" in st["last_error"], st
        # the threads were free for the other domain meanwhile
        harness.wait_until(lambda: any(e["type"] == "issued" for e in env.events(fine)), 60,
                           what=f"{fine} issued")
        retries = check_bounded_and_once(env, workers, slow, "verify-cname", capsys,
                                         "a nameserver that never answers")
        assert all("deadline reached" in r["msg"] and "(ns3.c2.test) did not answer" in r["msg"] for r in retries)
        assert not env.cert(slow)
    finally:
        env.close()


def test_an_acme_directory_that_never_answers(tmp, hole, capsys):
    # without the new-order bucket: each stuck newOrder blocks the line, and
    # after a block the bucket (300 per 3 h) lets one order through per 36 s
    # (test_ratelimit.py covers that); here only the deadline is measured
    env = fleet(tmp, dict(LIMITS, **{"ratelimit.new_orders.limit": 0}))
    try:
        d = "order.c1.test"
        env.add_cname(d)
        env.set_a(d, [US])
        # verify-cname on the real setup; create-order on two workers whose
        # CA accepts the connection and never says a word (TLS included)
        env.start_worker(stages=["verify-cname"])
        stuck_cfg = env.write_config({"acme.directory": f"https://127.0.0.1:{hole.port}/dir",
                                      "acme.timeout_ms": 20000,
                                      "acme.connect_timeout_ms": 20000},
                                     path=os.path.join(tmp, "stuck.yaml"))
        env.write_config()
        workers = [env.start_worker(stages=["create-order"], config=stuck_cfg)
                   for _ in range(2)]
        env.ctl("onboard", d)
        want = f"new order: GET https://127.0.0.1:{hole.port}/dir: no answer by the job's deadline"
        harness.wait_until(lambda: sum(want in r["msg"] for r in
                                       runs(env, workers, d, "create-order")) >= 4, 60,
                           what="four runs of the stuck order")
        retries = check_bounded_and_once(env, workers, d, "create-order", capsys,
                                         "a CA that never answers", asked=want)
        assert env.domain(d)["state"] == "ordering" and "orders" not in env.domain(d)
    finally:
        env.close()


# ------------------------------------------------------- the TXT providers

@pytest.mark.parametrize("kind", ["rfc2136", "powerdns"])
def test_a_txt_provider_that_never_answers(tmp, hole, kind):
    # 3 tries of 5 s (DNS UPDATE) or one request of 5 s (HTTP) without it
    prov = {"provider.type": kind, "provider.zone": "validation.test",
            "provider.timeout_ms": 5000, "provider.tries": 3}
    if kind == "rfc2136":
        prov.update({"provider.server": f"127.0.0.1:{hole.port}",
                     "provider.tsig.name": "k", "provider.tsig.secret": "c2VjcmV0"})
        want = f"rfc2136: 127.0.0.1:{hole.port}: no answer by the job's deadline"
    else:
        prov.update({"provider.api_url": f"http://127.0.0.1:{hole.port}",
                     "provider.api_key": "key"})
        want = (f"powerdns: GET http://127.0.0.1:{hole.port}/api/v1/servers/localhost/"
                "zones/validation.test.?rrset_name=")
    cfg = os.path.join(tmp, "prov.yaml")
    with open(cfg, "w") as f:
        f.write(yaml_text(prov))
    for deadline in (800, 1600):
        t0 = time.monotonic()
        r = driver1(cfg, "--deadline-ms", deadline, "txt-add", "a.validation.test", "v")
        took = (time.monotonic() - t0) * 1000
        assert r["status"] == "transient" and want in r["message"], r
        assert "no answer by the job's deadline" in r["message"], r
        # the driver's own start-up is in it too
        assert deadline - 50 <= took <= deadline + SLACK_MS, (deadline, took)
    # once the deadline has passed nothing is sent
    r = driver1(cfg, "--deadline-ms", -1, "txt-add", "a.validation.test", "v")
    assert r["status"] == "transient" and "not sent" in r["message"] and \
        "the job's deadline had passed" in r["message"], r


# ------------------------------------------------------------ the runtime

def test_job_timeout_is_checked_against_the_visibility_timeout(tmp):
    path = os.path.join(tmp, "dcv.yaml")
    worker = harness.program("dcv-test-worker")
    over = "is more than three quarters of worker.visibility_timeout_ms"
    for text, want in [
        ("worker:\n  visibility_timeout_ms: 1000\n  job_timeout_ms: 751\n",
         f"dcv.yaml:3: worker.job_timeout_ms: 751 ms {over} (1000 ms)"),
        ("worker:\n  visibility_timeout_ms: 1000\n  job_timeout_ms: 750\n", None),
        ("worker:\n  visibility_timeout_ms: 100\n", None),     # the default: 50 ms
        ("worker:\n  job_timeout_ms: 3m\n", None),             # of 5 min
        ("worker:\n  job_timeout_ms: 4m\n",
         f"dcv.yaml:2: worker.job_timeout_ms: 240000 ms {over} (300000 ms)"),
    ]:
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([worker, "-c", path, "--check-config"], capture_output=True,
                           text=True)
        assert p.returncode == (2 if want else 0), (text, p.stderr)
        assert want is None or want in p.stderr, p.stderr


def test_a_batch_never_outlasts_the_visibility_timeout(tmp):
    # One thread reads six entries at once; each handler takes 800 ms (the
    # test handlers sleep, whatever the deadline).  Three quarters of the
    # 2 s visibility timeout fit two of them: the others go back unrun and
    # come again, so the batch settles before anything could be reclaimed
    # and every job runs once.
    q = Fleet(tmp, **{"worker.concurrency": 1, "worker.batch": 6,
                          "worker.stages": ["verify-cname"],
                          "worker.visibility_timeout_ms": 2000,
                          "worker.job_timeout_ms": 1000,
                          "worker.reclaim_interval_ms": 100})
    try:
        names = [f"sleep800-b{i}.example.com" for i in range(6)]
        for n in names:
            q.xadd("verify-cname", job_bytes(n), n)
        w = q.start_worker()
        q.start_worker()       # the one that would reclaim
        harness.wait_until(lambda: q.r.xlen("dcv:stream:create-order") == 6, 60,
                           what="six jobs through verify-cname")
        runs = [h for h in q.handled() if h[1] == "verify-cname"]
        assert sorted(h[2] for h in runs) == sorted(names), runs
        logs = "".join(x.output() for x in q.workers)
        assert "not run: the entries read before it in its batch left it" in w.output()
        assert "reclaimed" not in logs
    finally:
        q.close()
