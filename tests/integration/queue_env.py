"""A redis-server plus dcv workers, for the queue runtime's tests."""
import json
import os
import subprocess
import time

import msgpack

import harness


def job_bytes(domain, **fields):
    job = {"v": 1, "domain": domain}
    job.update(fields)
    return msgpack.packb(job, use_bin_type=True)


class Fleet:
    """One Redis and any number of workers sharing a config file."""

    def __init__(self, tmp, aof=False, redis_extra=(), **cfg):
        self.tmp = tmp
        self.redis = harness.Redis(tmp, aof=aof, extra=redis_extra)
        self.r = self.redis.client()
        self.workers = []
        self.config = os.path.join(tmp, "dcv.yaml")
        self.write_config(**cfg)

    def write_config(self, **over):
        base = {
            "worker.concurrency": 2, "worker.batch": 16, "worker.block_ms": 200,
            "worker.visibility_timeout_ms": 60000, "worker.reclaim_interval_ms": 300,
            "worker.promote_interval_ms": 50, "worker.trim_interval_ms": 300,
            "worker.drain_ms": 10000, "worker.max_deliveries": 5,
            "log.level": "info", "metrics.port": 0,
        }
        base.update(over)
        tree = {}
        for path, value in base.items():
            node = tree
            parts = path.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = value
        lines = []

        def emit(node, indent):
            for k, v in node.items():
                if isinstance(v, dict):
                    lines.append(" " * indent + f"{k}:")
                    emit(v, indent + 2)
                elif isinstance(v, list):
                    lines.append(" " * indent + f"{k}: [{', '.join(map(str, v))}]")
                else:
                    lines.append(" " * indent + f"{k}: {v}")
        emit(tree, 0)
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def env(self):
        return {"DCV_REDIS_URL": self.redis.url}

    def start_worker(self, program="dcv-test-worker", args=()):
        i = len(self.workers)
        w = harness.Proc([harness.program(program), "-c", self.config, *args],
                         os.path.join(self.tmp, f"worker-{i}.log"), env=self.env())
        self.workers.append(w)
        return w

    def ctl(self, *args, check=True):
        p = subprocess.run([harness.program("dcvctl"), "-c", self.config, *args],
                           capture_output=True, text=True, env={**os.environ, **self.env()},
                           timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"dcvctl {args} exited {p.returncode}: {p.stderr}")
        return p

    def stats(self):
        return json.loads(self.ctl("stats", "--json").stdout)

    def counter(self, name):
        v = self.r.hget("dcv:stats", name)
        return int(v) if v else 0

    def wait_done(self, n, timeout=60):
        harness.wait_until(lambda: self.counter("done") + self.counter("dead") >= n,
                           timeout, what=f"{n} jobs settled "
                           f"(done={self.counter('done')} dead={self.counter('dead')})")

    def xadd(self, stage, job, domain="x"):
        fields = {"domain": domain}
        if job is not None:
            fields["job"] = job
        return self.r.xadd(f"dcv:stream:{stage}", fields)

    def dead(self):
        return [{k.decode(): v for k, v in f.items()} for _, f in self.r.xrange("dcv:dead")]

    def domain(self, name):
        return {k.decode(): v.decode() for k, v in self.r.hgetall(f"dcv:domain:{name}").items()}

    def handled(self):
        """Lines 'handled <stage> <domain> <attempt>' from every worker."""
        out = []
        for w in self.workers:
            out += [l.split() for l in w.output().splitlines() if l.startswith("handled ")]
        return out

    def close(self):
        for w in self.workers:
            w.kill()
        self.redis.stop()
