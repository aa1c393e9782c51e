"""The queue runtime against a real redis-server: every semantic of the
Redis contract, with the test handlers of test_worker.c."""
import os
import re
import signal
import subprocess
import time

import msgpack
import pytest

import harness
from queue_env import Fleet, job_bytes

STAGES = ["verify-cname", "create-order", "provision-txt", "finalize", "offboard-check"]


@pytest.fixture
def tmp():
    d = harness.tmpdir()
    yield d
    harness.rmtree(d)


@pytest.fixture
def fleet(tmp):
    f = Fleet(tmp)
    yield f
    f.close()


def onboard_file(fleet, names):
    path = os.path.join(fleet.tmp, "domains.txt")
    with open(path, "w") as f:
        f.write("\n".join(names) + "\n")
    fleet.ctl("onboard", "--file", path)


def test_pipeline_moves_every_job_through_five_stages_and_trims(fleet):
    names = [f"d{i}.example.com" for i in range(300)]
    onboard_file(fleet, names)
    fleet.start_worker()
    fleet.start_worker()
    fleet.wait_done(300)
    assert fleet.counter("done") == 300
    assert fleet.counter("transitions") == 1500
    assert fleet.counter("dead") == 0
    for n in names[:20]:
        d = fleet.domain(n)
        assert d["state"] == "done" and d["stage"] == "offboard-check", d
    # every (stage, domain) handled exactly once: no duplicates
    handled = fleet.handled()
    assert len(handled) == 1500
    assert len({(h[1], h[2]) for h in handled}) == 1500
    s = fleet.stats()
    for st in STAGES:
        assert s["stages"][st]["pending"] == 0
        assert s["stages"][st]["lag"] == 0
    # trimming keeps memory bounded: acknowledged entries go (by whole nodes)
    harness.wait_until(lambda: all(fleet.r.xlen(f"dcv:stream:{st}") < 150 for st in STAGES),
                       10, what="streams trimmed")


def test_bad_input_goes_to_dead_letters_with_reasons(tmp):
    fleet = Fleet(tmp, **{"worker.job_max_bytes": 1024})
    try:
        cases = {
            "not msgpack": (b"\xc1", "not a valid msgpack"),
            "not a map": (msgpack.packb([1, 2]), "not a msgpack map"),
            "too big": (job_bytes("big.example.com", ctx={"x": "y" * 2000}), "over the 1024-byte cap"),
            "unknown v": (msgpack.packb({"v": 2, "domain": "a.example.com"}), "unsupported schema version"),
            "no v": (msgpack.packb({"domain": "a.example.com"}), "no schema version"),
            "no domain": (msgpack.packb({"v": 1}), "no domain"),
            "domain not str": (msgpack.packb({"v": 1, "domain": 5}), "domain is not a string"),
            "long label": (job_bytes("a" * 64 + ".example.com"), "longer than 63"),
            "long name": (job_bytes(".".join(["a" * 60] * 5)), "longer than 253"),
            "misplaced wildcard": (job_bytes("a.*.example.com"), "wildcard"),
            "empty label": (job_bytes("a..example.com"), "empty label"),
            "bad char": (job_bytes("a_b!.example.com"), "character"),
            "utf8": (job_bytes("bücher.example"), "A-labels"),
            "single label": (job_bytes("localhost"), "single label"),
            "huge map": (b"\xdf\xff\xff\xff\xff", "not a valid msgpack"),
            "bad attempt": (job_bytes("b.example.com", attempt=-1), "attempt"),
            "no job field": (None, "no job field"),
        }
        for label, (payload, _) in cases.items():
            fleet.xadd("verify-cname", payload, domain=label)
        good = {"WWW.Good.COM.": "www.good.com", "*.wild.example.com": "*.wild.example.com"}
        for raw in good:
            fleet.xadd("verify-cname", job_bytes(raw), domain=raw)
        w = fleet.start_worker()
        harness.wait_until(lambda: len(fleet.dead()) == len(cases), 20, what="dead letters")
        fleet.wait_done(len(cases) + len(good))
        dead = {d["domain"].decode(): d for d in fleet.dead()}
        for label, (_, reason) in cases.items():
            assert label in dead, label
            assert reason in dead[label]["reason"].decode(), (label, dead[label]["reason"])
            assert dead[label]["stage"] == b"verify-cname"
            assert int(dead[label]["time"]) > 0
        for norm in good.values():
            assert fleet.domain(norm)["state"] == "done"
        assert w.poll() is None, "the worker must survive bad input"
        events = [f for _, f in fleet.r.xrange("dcv:events")]
        assert sum(1 for e in events if e[b"type"] == b"dead-letter") == len(cases)
    finally:
        fleet.close()


def test_retry_backoff_explicit_delay_and_give_up(tmp):
    fleet = Fleet(tmp, **{"stages.verify-cname.backoff_base_ms": 50,
                          "stages.verify-cname.backoff_cap_ms": 200,
                          "stages.verify-cname.max_attempts": 5})
    try:
        fleet.ctl("onboard", "retry3-a.example.com")
        fleet.ctl("onboard", "retryafter1500-b.example.com")
        fleet.ctl("onboard", "retry9-c.example.com")
        fleet.start_worker()
        # the explicit delay wins over the 50-200 ms policy
        member = harness.wait_until(
            lambda: [m for m, _ in fleet.r.zrange("dcv:delayed", 0, -1, withscores=True)
                     if m.startswith(b"verify-cname retryafter1500-b.example.com ")],
            10, what="b delayed")
        due = fleet.r.zscore("dcv:delayed", member[0])
        updated = int(fleet.domain("retryafter1500-b.example.com")["updated_at"])
        assert 1400 <= due - updated <= 1500, due - updated
        d = fleet.domain("retryafter1500-b.example.com")
        assert d["state"] == "waiting" and "wait 1500 ms" in d["last_error"]
        assert any(e[b"type"] == b"waiting" for _, e in fleet.r.xrange("dcv:events"))
        fleet.wait_done(3, timeout=30)
        a = [h for h in fleet.handled() if h[2] == "retry3-a.example.com" and h[1] == "verify-cname"]
        assert [int(h[3]) for h in a] == [0, 1, 2, 3]
        assert fleet.domain("retry3-a.example.com")["state"] == "done"
        assert "last_error" not in fleet.domain("retry3-a.example.com")
        dead = fleet.dead()
        assert len(dead) == 1 and dead[0]["domain"] == b"retry9-c.example.com"
        assert b"gave up after 5 attempts" in dead[0]["reason"]
        assert fleet.domain("retry9-c.example.com")["state"] == "failed"
    finally:
        fleet.close()


def test_permanent_failure_dead_letter_and_event(fleet):
    fleet.ctl("onboard", "fail-x.example.com", "--tenant", "t9")
    fleet.start_worker()
    harness.wait_until(lambda: fleet.dead(), 10, what="dead letter")
    d = fleet.dead()[0]
    assert d["stage"] == b"verify-cname" and b"refused by the test handler" in d["reason"]
    job = msgpack.unpackb(d["job"])
    assert job["domain"] == "fail-x.example.com" and job["tenant"] == "t9"
    ev = [e for _, e in fleet.r.xrange("dcv:events") if e[b"type"] == b"failed"]
    assert ev and ev[0][b"domain"] == b"fail-x.example.com" and b"refused" in ev[0][b"detail"]
    st = fleet.domain("fail-x.example.com")
    assert st["state"] == "failed" and "refused" in st["last_error"]


def test_sigkill_worker_another_finishes_every_job(tmp):
    fleet = Fleet(tmp, **{"worker.visibility_timeout_ms": 1500, "worker.batch": 4,
                          "worker.concurrency": 4})
    try:
        names = [f"sleep200-k{i}.example.com" for i in range(40)]
        onboard_file(fleet, names)
        victim = fleet.start_worker()
        # wait until the victim holds jobs, then kill it without warning
        harness.wait_until(lambda: fleet.r.xpending("dcv:stream:verify-cname", "workers")["pending"] > 0,
                           10, what="victim holding jobs")
        victim.kill()
        held = sum(fleet.r.xpending("dcv:stream:" + s, "workers")["pending"] for s in STAGES)
        assert held > 0
        fleet.start_worker()
        fleet.wait_done(40, timeout=120)
        assert fleet.counter("done") == 40 and fleet.counter("dead") == 0
        for n in names:
            assert fleet.domain(n)["state"] == "done"
        assert "reclaimed" in fleet.workers[1].output()
    finally:
        fleet.close()


def test_poison_job_dead_lettered_after_max_deliveries(tmp):
    fleet = Fleet(tmp, **{"worker.visibility_timeout_ms": 200, "worker.max_deliveries": 2,
                          "worker.concurrency": 1, "worker.batch": 1})
    try:
        fleet.ctl("onboard", "crash-p.example.com")
        fleet.ctl("onboard", "fine.example.com")
        deadline = time.monotonic() + 60
        while not fleet.dead() and time.monotonic() < deadline:
            w = fleet.start_worker()
            try:
                w.wait(timeout=3)  # it aborts on the poison job
            except subprocess.TimeoutExpired:
                pass
            w.kill()
        dead = fleet.dead()
        assert dead and dead[0]["domain"] == b"crash-p.example.com"
        assert b"poison: delivered 3 times" in dead[0]["reason"]
        fleet.start_worker()
        harness.wait_until(lambda: fleet.domain("fine.example.com").get("state") == "done", 20,
                           what="the healthy job")
        assert fleet.domain("crash-p.example.com")["state"] == "failed"
    finally:
        fleet.close()


def test_sigterm_drains_in_flight_jobs_and_exits_zero(tmp):
    fleet = Fleet(tmp, **{"worker.concurrency": 4, "worker.batch": 2})
    try:
        names = [f"sleep400-g{i}.example.com" for i in range(8)]
        onboard_file(fleet, names)
        w = fleet.start_worker()
        harness.wait_until(lambda: fleet.r.xpending("dcv:stream:verify-cname", "workers")["pending"] > 0,
                           10, what="jobs in flight")
        w.signal(signal.SIGTERM)
        assert w.wait(timeout=15) == 0
        # nothing left pending: everything read was finished and acknowledged
        for s in STAGES:
            assert fleet.r.xpending("dcv:stream:" + s, "workers")["pending"] == 0
        assert fleet.counter("transitions") >= 1
        fleet.start_worker()
        fleet.wait_done(8, timeout=60)
        assert fleet.counter("dead") == 0
    finally:
        fleet.close()


def test_drain_timeout_leaves_jobs_pending_for_reclaim(tmp):
    fleet = Fleet(tmp, **{"worker.concurrency": 2, "worker.batch": 1, "worker.drain_ms": 300,
                          "worker.visibility_timeout_ms": 1000})
    try:
        onboard_file(fleet, ["sleep3000-h1.example.com", "sleep3000-h2.example.com"])
        w = fleet.start_worker()
        harness.wait_until(lambda: fleet.r.xpending("dcv:stream:verify-cname", "workers")["pending"] == 2,
                           10, what="both jobs in flight")
        t0 = time.monotonic()
        w.signal(signal.SIGTERM)
        assert w.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 2.5, "drain time must bound the exit"
        assert fleet.r.xpending("dcv:stream:verify-cname", "workers")["pending"] == 2
        fleet.start_worker()
        fleet.wait_done(2, timeout=90)
        assert fleet.counter("done") == 2
    finally:
        fleet.close()


def test_redis_restart_under_load_loses_nothing(tmp):
    fleet = Fleet(tmp, aof=True, **{"worker.visibility_timeout_ms": 3000})
    try:
        names = [f"sleep2-r{i}.example.com" for i in range(600)]
        onboard_file(fleet, names)
        fleet.start_worker()
        fleet.start_worker()
        harness.wait_until(lambda: fleet.counter("transitions") > 200, 30, what="progress")
        fleet.redis.stop()           # SIGTERM: redis writes its AOF and exits
        time.sleep(0.5)              # the outage itself: workers see connection errors
        fleet.redis.start()
        fleet.r = fleet.redis.client()
        fleet.wait_done(600, timeout=120)
        assert fleet.counter("dead") == 0
        for n in names:
            assert fleet.domain(n)["state"] == "done", n
        assert all(w.poll() is None for w in fleet.workers)
        assert "reconnected to redis" in fleet.workers[0].output()
    finally:
        fleet.close()


def test_refuses_redis_that_may_evict(tmp):
    fleet = Fleet(tmp, redis_extra=["--maxmemory-policy", "allkeys-lru"])
    try:
        w = fleet.start_worker()
        assert w.wait(timeout=10) == 1
        assert "maxmemory-policy is allkeys-lru" in w.output()
        fleet.write_config(**{"redis.eviction_check": "warn"})
        w2 = fleet.start_worker()
        fleet.ctl("onboard", "evict.example.com")
        fleet.wait_done(1)
        assert "may evict" in w2.output()
    finally:
        fleet.close()


def test_concurrent_promoters_move_each_job_once(tmp):
    fleet = Fleet(tmp, **{"worker.promote_interval_ms": 10})
    try:
        now = int(time.time() * 1000)
        pipe = fleet.r.pipeline()
        for i in range(500):
            m = f"verify-cname p{i}.example.com job{i}"
            pipe.hset("dcv:delayed:jobs", m, job_bytes(f"p{i}.example.com", id=f"job{i}"))
            pipe.zadd("dcv:delayed", {m: now - 1})
        pipe.execute()
        for _ in range(3):
            fleet.start_worker()
        fleet.wait_done(500)
        time.sleep(0.5)  # give a double promotion the chance to show up
        assert fleet.counter("done") == 500
        assert fleet.counter("transitions") == 2500
        assert fleet.r.zcard("dcv:delayed") == 0 and fleet.r.hlen("dcv:delayed:jobs") == 0
    finally:
        fleet.close()


def test_trim_never_drops_pending_entries(tmp):
    fleet = Fleet(tmp, **{"worker.concurrency": 1, "worker.batch": 1,
                          "worker.stages": ["verify-cname"], "worker.trim_interval_ms": 50})
    try:
        first = fleet.xadd("verify-cname", job_bytes("sleep4000-hold.example.com"), "sleep4000-hold.example.com")
        for i in range(400):
            fleet.xadd("verify-cname", job_bytes(f"t{i}.example.com"), f"t{i}.example.com")
        fleet.start_worker()     # holds the first entry for 4 s
        fleet.start_worker()     # acknowledges the 400 others
        harness.wait_until(lambda: fleet.r.xlen("dcv:stream:create-order") >= 400, 20, what="400 forwarded")
        time.sleep(0.3)          # several trim passes while the first is pending
        assert fleet.r.xrange("dcv:stream:verify-cname", first, first), "pending entry trimmed"
        harness.wait_until(lambda: fleet.r.xlen("dcv:stream:create-order") == 401, 20, what="held job done")
        harness.wait_until(lambda: fleet.r.xlen("dcv:stream:verify-cname") < 150, 10, what="trimmed")
    finally:
        fleet.close()


def test_config_errors_name_file_and_line(tmp):
    path = os.path.join(tmp, "bad.yaml")
    worker = harness.program("dcv-test-worker")
    for text, want in [
        ("worker:\n  concurrency: 4\n  concurency: 5\n", "bad.yaml:3: unknown key 'worker.concurency'"),
        ("worker:\n  batch: many\n", "bad.yaml:2: worker.batch: not an integer"),
        ("redis:\n  eviction_check: maybe\n", "bad.yaml:2: redis.eviction_check"),
        ("worker:\n  stages: [verify-cname, sign]\n", "unknown stage 'sign'"),
        ("stages:\n  finalise:\n    max_attempts: 3\n", "unknown stage 'finalise'"),
        ("worker: [\n", "bad.yaml"),
    ]:
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([worker, "-c", path, "--check-config"], capture_output=True, text=True)
        assert p.returncode == 2, (text, p.stderr)
        assert want in p.stderr, (want, p.stderr)
    with open(path, "w") as f:
        f.write("worker:\n  concurrency: 4\nstages:\n  verify-cname:\n    backoff_base_ms: 5s\n")
    p = subprocess.run([worker, "-c", path, "--check-config"], capture_output=True, text=True)
    assert p.returncode == 0 and "configuration ok" in p.stdout
    p = subprocess.run([worker, "-c", path, "--check-config"], capture_output=True, text=True,
                       env={**os.environ, "DCV_WORKER_BATCH": "0"})
    assert p.returncode == 2 and "DCV_WORKER_BATCH" in p.stderr
    p = subprocess.run([worker, "-c", os.path.join(tmp, "missing.yaml")], capture_output=True, text=True)
    assert p.returncode == 2 and "missing.yaml" in p.stderr
    p = subprocess.run([worker, "--stage", "nope"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown stage" in p.stderr


def test_config_errors_all_at_once(tmp):
    """A newcomer's file: a misspelt key in a known section and no provider
    section.  Both are reported, each on its own line, in file order, by the
    real worker and by dcvctl (which reads no provider)."""
    path = os.path.join(tmp, "dcv.yaml")
    with open(path, "w") as f:
        f.write("worker:\n  concurency: 4\ndns:\n  tries: 0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCV_")}
    worker = harness.program("dcv-worker")
    p = subprocess.run([worker, "-c", path, "--check-config"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert lines == [
        f"{worker}: {path}:2: unknown key 'worker.concurency' (did you mean 'worker.concurrency'?)",
        f"{worker}: {path}:4: dns.tries: out of range [1, 10] ('0')",
        f"{worker}: {path}: provider: the stages provision-txt, finalize and offboard-check "
        "need a provider section",
    ], p.stderr
    p = subprocess.run([harness.program("dcvctl"), "-c", path, "status", "example.com"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 2, p.stderr
    assert p.stderr.splitlines() == [
        f"dcvctl: {path}:2: unknown key 'worker.concurency' (did you mean 'worker.concurrency'?)",
        f"dcvctl: {path}:4: dns.tries: out of range [1, 10] ('0')",
    ], p.stderr


def test_dcvctl_commands_and_exit_codes(fleet):
    p = fleet.ctl("onboard", "Shop.Example.COM", "--tenant", "cust-1")
    assert "_acme-challenge.shop.example.com. CNAME shop.example.com.validation.dcv.test." in p.stdout
    st = fleet.ctl("status", "shop.example.com", "--json")
    import json
    s = json.loads(st.stdout)
    assert s["state"] == "queued" and s["tenant"] == "cust-1" and s["stage"] == "verify-cname"
    assert fleet.ctl("status", "unknown.example.com", check=False).returncode == 3
    assert fleet.ctl("onboard", "a.*.example.com", check=False).returncode == 1
    assert fleet.ctl("frobnicate", check=False).returncode == 2
    assert fleet.ctl("dead", "replay", check=False).returncode == 2
    assert fleet.ctl("dead", "replay", "1-1", check=False).returncode == 3
    stats = fleet.stats()
    assert stats["stages"]["verify-cname"]["length"] == 1 and stats["stages"]["verify-cname"]["lag"] == 1
    assert stats["delayed"] == 0 and stats["dead"] == 0
    # dead letters: list, replay into the stage, purge
    fleet.xadd("create-order", job_bytes("fail-later.example.com", v=2), "fail-later.example.com")
    fleet.start_worker()
    harness.wait_until(lambda: fleet.dead(), 10, what="dead letter")
    listing = json.loads(fleet.ctl("dead", "list", "--json").stdout)
    assert listing[0]["domain"] == "fail-later.example.com" and listing[0]["stage"] == "create-order"
    assert "unsupported schema version" in listing[0]["reason"]
    assert fleet.ctl("dead", "replay", listing[0]["id"]).returncode == 0
    harness.wait_until(lambda: fleet.counter("dead") == 2, 10, what="replayed job dead again")
    assert len(fleet.dead()) == 1
    assert "purged all dead letters" in fleet.ctl("dead", "purge", "--all").stdout
    assert fleet.r.xlen("dcv:dead") == 0
    fleet.wait_done(2)
    assert fleet.domain("shop.example.com")["state"] == "done"
    human = fleet.ctl("stats").stdout
    assert "verify-cname" in human and "counters:" in human


def ctl_on_pty(fleet, *args, stdout_pty=True, stderr_pty=True, env=None):
    """dcvctl ARGS with stdout and/or stderr on a terminal: (exit status,
    what the terminal got, what the pipes got)."""
    rc, term, out, err = harness.run_on_pty(
        [harness.program("dcvctl"), "-c", fleet.config, *args],
        {**os.environ, **fleet.env(), "TERM": "xterm", **(env or {})},
        stdout_pty=stdout_pty, stderr_pty=stderr_pty)
    return rc, term, (out + err).encode()


def test_terminal_gets_progress_and_colour_pipes_get_neither(fleet):
    """Issue 16, small things: onboard --file shows progress on a terminal,
    status and stats colour on one; a pipe gets plain bytes."""
    # enough lines that the run outlasts the first redraw (200 ms), so a
    # line with the time left is drawn before the last one
    n = 20000
    path = os.path.join(fleet.tmp, "many.txt")
    with open(path, "w") as f:
        f.write("".join(f"d{i}.progress.example\n" for i in range(n)))
    rc, term, piped = ctl_on_pty(fleet, "onboard", "--file", path, stdout_pty=False)
    assert rc == 0, (term, piped)
    assert "\r" in term and f"{n} queued" in term and "/s" in term, term
    lines = [x for x in re.split(r"\r\x1b\[K", term) if "queued," in x]
    left = [x for x in lines if re.search(r"\d+ queued, \d+/s, about \d+:[0-5]\d left", x)]
    assert left, lines
    # the count grows and the last line, at the end of the file, has no time left
    counts = [int(x.split()[0]) for x in lines]
    assert counts == sorted(counts) and counts[-1] == n, counts
    assert "left" not in lines[-1], lines[-1]
    assert f"{n} domains queued".encode() in piped and b"\x1b" not in piped
    # piped stderr: no progress at all
    p = fleet.ctl("onboard", "--file", path)
    assert "\x1b" not in p.stderr and "\r" not in p.stderr and "queued," not in p.stderr
    # status: the state coloured on a terminal (a running state is yellow)
    rc, term, _ = ctl_on_pty(fleet, "status", "d1.progress.example")
    assert rc == 0 and "\x1b[33mqueued\x1b[0m" in term, term
    rc, term, _ = ctl_on_pty(fleet, "status", "d1.progress.example", env={"NO_COLOR": "1"})
    assert rc == 0 and "\x1b" not in term and "queued" in term
    p = fleet.ctl("status", "d1.progress.example")
    assert "\x1b" not in p.stdout and "queued" in p.stdout
    # stats: dead letters in red on a terminal only
    fleet.xadd("create-order", job_bytes("dead.progress.example", v=2), "dead.progress.example")
    fleet.start_worker()
    harness.wait_until(lambda: fleet.dead(), 10, what="a dead letter")
    rc, term, _ = ctl_on_pty(fleet, "stats")
    assert rc == 0 and "\x1b[31mdead 1\x1b[0m" in term, term
    assert "\x1b" not in fleet.ctl("stats").stdout


def test_metrics_count_what_happened_and_readiness_follows_redis(tmp):
    import urllib.error
    import urllib.request
    port = harness.free_port()
    fleet = Fleet(tmp, **{"metrics.port": port, "metrics.address": "127.0.0.1"})

    def get(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return None, ""
    try:
        onboard_file(fleet, [f"m{i}.example.com" for i in range(30)] + ["fail-m.example.com"])
        fleet.start_worker()
        fleet.wait_done(31)
        status, text = get("/metrics")
        assert status == 200
        lines = set(text.splitlines())
        assert 'dcv_jobs_total{stage="verify-cname",outcome="advance"} 30' in lines
        assert 'dcv_jobs_total{stage="verify-cname",outcome="fail"} 1' in lines
        assert 'dcv_jobs_total{stage="offboard-check",outcome="done"} 30' in lines
        assert 'dcv_dead_letters_total{stage="verify-cname",reason="failed"} 1' in lines
        assert 'dcv_handler_seconds_count{stage="finalize"} 30' in lines
        assert get("/healthz")[0] == 200
        assert get("/readyz")[0] == 200
        fleet.redis.stop()
        harness.wait_until(lambda: get("/readyz")[0] == 503, 15, what="unready without redis")
        assert "redis" in get("/readyz")[1]
        fleet.redis.start()
        harness.wait_until(lambda: get("/readyz")[0] == 200, 20, what="ready again")
        _, text = get("/metrics")
        assert any(l.startswith("dcv_redis_reconnects_total ") and float(l.split()[1]) >= 1
                   for l in text.splitlines())
    finally:
        fleet.close()
