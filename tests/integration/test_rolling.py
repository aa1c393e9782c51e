"""Rolling restart under load: every worker of a running fleet is replaced,
one at a time, while the backend keeps enqueueing.  SIGTERM makes a worker
finish and acknowledge what it holds, so no job is lost, none is dead-lettered,
none is left pending and none is handled twice.

Workers are dcv-test-worker (test_worker.c): a domain whose first label is
sleep<ms>- sleeps <ms> in every stage, which keeps jobs in flight when the
signal arrives."""
import re
import signal
import threading

import pytest

import harness
from queue_env import Fleet, job_bytes

STAGES = ["verify-cname", "create-order", "provision-txt", "finalize", "offboard-check"]
WORKERS = 3
ROUNDS = 2              # every worker is replaced this many times
MIN_JOBS = 3000         # the producer enqueues at least this many
CHUNK = 100             # domains per producer pipeline
IN_SYSTEM = 600         # the producer keeps at most this many jobs unfinished
DRAIN_MS = 20000


@pytest.fixture
def tmp():
    d = harness.tmpdir()
    yield d
    harness.rmtree(d)


def label(i):
    """Some domains are slow in every stage so that a SIGTERM finds them in
    a handler; most are fast so the streams carry a real volume."""
    if i % 20 == 0:
        return f"sleep250-roll{i}.example.com"
    if i % 5 == 0:
        return f"sleep20-roll{i}.example.com"
    return f"roll{i}.example.com"


class Producer(threading.Thread):
    """Enqueues domains the way a backend does (XADD + the domain's state,
    here a chunk of domains in one MULTI) until told to stop and at least
    MIN_JOBS are in, keeping at most IN_SYSTEM jobs unfinished so the run
    stays bounded."""

    def __init__(self, fleet):
        super().__init__(daemon=True)
        self.fleet = fleet
        self.r = fleet.redis.client()
        self.names = []
        self.stop = threading.Event()
        self.error = None

    def settled(self):
        v = self.r.hmget("dcv:stats", "done", "dead")
        return sum(int(x) for x in v if x)

    def run(self):
        try:
            while not (self.stop.is_set() and len(self.names) >= MIN_JOBS):
                harness.wait_until(lambda: len(self.names) - self.settled() < IN_SYSTEM,
                                   60, interval=0.01, what="the fleet to keep up")
                pipe = self.r.pipeline()  # one MULTI ... EXEC per chunk
                chunk = [label(i) for i in range(len(self.names), len(self.names) + CHUNK)]
                for name in chunk:
                    jid = f"job-{name.split('.')[0]}"
                    pipe.xadd("dcv:stream:verify-cname",
                              {"domain": name, "job": job_bytes(name, id=jid)})
                    pipe.hset(f"dcv:domain:{name}",
                              mapping={"state": "queued", "stage": "verify-cname"})
                pipe.execute()
                self.names.extend(chunk)
        except BaseException as e:  # reported by the main thread
            self.error = e


def pending_of(fleet, pid):
    """Entries pending for the consumers of process PID, over every stage."""
    total = 0
    for s in STAGES:
        for c in fleet.r.xpending(f"dcv:stream:{s}", "workers")["consumers"]:
            if re.search(rf"-{pid}-\d+$", c["name"].decode()):
                total += int(c["pending"])
    return total


def started(w):
    return "started:" in w.output()


def test_rolling_restart_under_load_loses_nothing(tmp):
    fleet = Fleet(tmp, **{"worker.concurrency": 4, "worker.batch": 8,
                          "worker.drain_ms": DRAIN_MS,
                          # nothing may be left for reclaim: a job a drained
                          # worker failed to settle would stay pending here
                          "worker.visibility_timeout_ms": 600000,
                          "worker.reclaim_interval_ms": 1000})
    producer = Producer(fleet)
    try:
        live = [fleet.start_worker() for _ in range(WORKERS)]
        for w in live:
            harness.wait_until(lambda: started(w), 20, what=f"worker {w.pid} started")
        producer.start()

        restarts = 0
        for _ in range(ROUNDS):
            for slot in range(WORKERS):
                old = live[slot]
                # spread the restarts over the enqueueing, and the signal
                # must find jobs in this worker's handlers
                quota = restarts * MIN_JOBS // (WORKERS * ROUNDS)
                harness.wait_until(lambda: producer.error or len(producer.names) >= quota,
                                   60, what=f"{quota} jobs enqueued")
                harness.wait_until(lambda: producer.error or pending_of(fleet, old.pid) > 0,
                                   30, interval=0.005, what=f"worker {old.pid} holding jobs")
                assert producer.error is None, producer.error
                old.signal(signal.SIGTERM)
                new = fleet.start_worker()
                rc = old.wait(timeout=DRAIN_MS / 1000 + 15)
                assert rc == 0, f"worker {old.pid} exited {rc}:\n{old.output()[-2000:]}"
                out = old.output()
                assert "drained; exiting" in out, out[-2000:]
                assert "drain time over" not in out
                # what it read it also settled: nothing of it stays pending
                assert pending_of(fleet, old.pid) == 0
                # the replacement takes over before the next one goes
                harness.wait_until(lambda: new.output().count("handled ") >= 50, 30,
                                   what=f"worker {new.pid} handling jobs")
                live[slot] = new
                restarts += 1
        assert restarts == WORKERS * ROUNDS

        producer.stop.set()
        producer.join(timeout=120)
        assert not producer.is_alive(), "producer did not finish"
        assert producer.error is None, producer.error
        names = producer.names
        n = len(names)
        assert n >= MIN_JOBS and len(set(names)) == n

        fleet.wait_done(n, timeout=240)
        # exact counts: one lost job, one duplicate or one dead letter fails
        assert fleet.counter("done") == n
        assert fleet.counter("dead") == 0
        assert fleet.r.xlen("dcv:dead") == 0
        assert fleet.counter("transitions") == 5 * n
        for s in STAGES[:-1]:
            assert fleet.counter(f"{s}.forwarded") == n, s
        assert fleet.counter("offboard-check.done") == n
        for s in STAGES:
            p = fleet.r.xpending(f"dcv:stream:{s}", "workers")
            assert p["pending"] == 0, (s, p)
            lag = [g for g in fleet.r.xinfo_groups(f"dcv:stream:{s}") if g["name"] == b"workers"]
            assert lag and lag[0]["lag"] == 0, (s, lag)
        assert fleet.r.zcard("dcv:delayed") == 0
        assert fleet.r.hlen("dcv:delayed:jobs") == 0

        # every domain went through every stage exactly once
        handled = fleet.handled()
        assert len(handled) == 5 * n
        assert {(h[1], h[2]) for h in handled} == {(s, d) for s in STAGES for d in names}
        pipe = fleet.r.pipeline(transaction=False)
        for d in names:
            pipe.hmget(f"dcv:domain:{d}", "state", "stage")
        states = pipe.execute()
        bad = [(d, s) for d, s in zip(names, states) if s != [b"done", b"offboard-check"]]
        assert not bad, bad[:10]

        # nothing had to be reclaimed from a worker that went away
        assert not any("reclaimed" in w.output() for w in fleet.workers)
        # the replacements are healthy and drain cleanly too
        for w in live:
            assert w.poll() is None
            w.signal(signal.SIGTERM)
        for w in live:
            assert w.wait(timeout=DRAIN_MS / 1000 + 15) == 0
    finally:
        producer.stop.set()
        fleet.close()
