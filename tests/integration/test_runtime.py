"""The worker runtime as a library: started, drained and freed twice in one
process against a real redis-server (runtime_driver.c), its metrics server
up only while it runs, and the handlers' random source (stage_rand) wired."""
import os
import subprocess
import urllib.error
import urllib.request

import pytest

import harness
from queue_env import Fleet, job_bytes

STAGES = ["verify-cname", "create-order", "provision-txt", "finalize", "offboard-check"]


@pytest.fixture
def tmp():
    d = harness.tmpdir()
    yield d
    harness.rmtree(d)


class Driver:
    """dcv-runtime-driver, fed commands on stdin, its output in a file."""

    def __init__(self, fleet):
        self.logpath = os.path.join(fleet.tmp, "driver.log")
        self.log = open(self.logpath, "wb")
        self.p = subprocess.Popen([harness.program("dcv-runtime-driver"), "-c", fleet.config],
                                  stdin=subprocess.PIPE, stdout=self.log,
                                  stderr=subprocess.STDOUT, env={**os.environ, **fleet.env()})

    def say(self, cmd):
        self.p.stdin.write(cmd.encode() + b"\n")
        self.p.stdin.flush()

    def output(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def lines(self, word):
        return [l for l in self.output().splitlines() if l.startswith(word)]

    def wait_line(self, word, count):
        harness.wait_until(lambda: len(self.lines(word)) >= count, 30,
                           what=f"{count} '{word}' lines: {self.output()[-2000:]}")

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)
        self.log.close()


def readyz(port):
    """(status, body) of /readyz, or None when nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None


def jobs_advanced(port, stage):
    """dcv_jobs_total{stage=STAGE,outcome="advance"} from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    series = f'dcv_jobs_total{{stage="{stage}",outcome="advance"}} '
    values = [float(l[len(series):]) for l in text.splitlines() if l.startswith(series)]
    assert len(values) == 1, text
    return values[0]


def test_runtime_starts_and_stops_twice_in_one_process(tmp):
    port = harness.free_port()
    fleet = Fleet(tmp, **{"metrics.port": port, "worker.drain_ms": 5000})
    d = Driver(fleet)
    try:
        total = 0
        for run in (1, 2):
            d.say("start")
            d.wait_line("started", run)
            assert readyz(port) == (200, "ready\n")
            for i in range(20):
                name = f"r{run}-{i}.example.com"
                fleet.xadd("verify-cname", job_bytes(name), domain=name)
            total += 20
            fleet.wait_done(total)
            # the registry is the process's: the second run counts on
            assert jobs_advanced(port, "verify-cname") == total
            d.say("stop")
            d.wait_line("stopped", run)
            assert d.lines("stopped")[-1] == "stopped 0"
            # the metrics server went with the runtime
            assert readyz(port) is None
        d.p.stdin.close()
        assert d.p.wait(timeout=30) == 0, d.output()[-3000:]

        assert fleet.counter("done") == 40 and fleet.counter("dead") == 0
        handled = [l.split() for l in d.lines("handled ")]
        assert len(handled) == 40 * 5
        for run in (1, 2):
            for stage in STAGES:
                assert sum(1 for h in handled if h[1] == stage and h[2].startswith(f"r{run}-")) == 20
        # nothing left pending or delayed by either run
        for stage in STAGES:
            assert fleet.r.xpending(f"dcv:stream:{stage}", "workers")["pending"] == 0
        assert fleet.r.zcard("dcv:delayed") == 0
        # every handler call drew from the thread's generator: no repeats
        draws = [int(h[3]) for h in handled]
        assert len(set(draws)) == len(draws) and 0 not in draws
        assert "start failed" not in d.output()
    finally:
        d.close()
        fleet.close()
