#!/usr/bin/env python3
"""A provider's backend talking to dcvfleet through Redis, in Python.

    onboard.py DOMAIN [--tenant T] [--timeout SECONDS] [--group G] [--consumer C]

1. Creates its own consumer group on <prefix>:events at "$" (MKSTREAM),
   before enqueueing, so no event of the new job can slip past it.
2. Enqueues the onboarding job as schemas/job.md says a backend does: one
   XADD <prefix>:stream:verify-cname with the fields domain and job =
   msgpack {v, id, domain, tenant?, created_at}, and nothing else.  It never
   writes <prefix>:domain:<domain>: the worker that claims the job creates
   that record and the domain's generation (a domain with a pipeline running
   is only nudged).
3. Reads events with XREADGROUP BLOCK, prints each event of its domain as one
   JSON line on stdout (for `issued` also names, serial, not_after,
   cert_key and renewal, when the event has them) and XACKs every event once handled (at-least-once: a
   restart with the same --group/--consumer first re-reads what it had read
   but not acknowledged).

Exit status: 0 on the `issued` event for the domain; 1 on `failed`,
`abandoned` or `dead-letter` for it, on --timeout, or on a Redis error; 2 on
a usage error.  Environment: DCV_REDIS_URL (default
redis://127.0.0.1:6379/0), DCV_PREFIX (default dcv).

Needs redis-py and msgpack (Debian: python3-redis python3-msgpack).
"""
import argparse
import json
import math
import os
import re
import secrets
import socket
import sys
import time

import msgpack
import redis

SUCCESS = {"issued"}


def issued_fields(f):
    """What an `issued` event tells a backend (schemas/redis.md, "Events:
    the fields of `issued`"): the names (a list), the serial, not_after
    (unix seconds), the key of the certificate's hash and whether it
    replaces one.  Only the fields the event has (an older fleet sends the
    detail text alone)."""
    out = {}
    if "names" in f:
        out["names"] = [n for n in f["names"].split(",") if n]
    for k in ("serial", "cert_key"):
        if k in f:
            out[k] = f[k]
    if f.get("not_after", "").isdigit():
        out["not_after"] = int(f["not_after"])
    if f.get("renewal") in ("0", "1"):
        out["renewal"] = f["renewal"] == "1"
    return out
FAILURE = {"failed", "abandoned", "dead-letter"}


def parse():
    p = argparse.ArgumentParser(prog="onboard.py",
                                description="Enqueue a dcvfleet onboarding job and follow its events.")
    p.add_argument("domain")
    p.add_argument("--tenant")
    p.add_argument("--timeout", type=float, default=0.0, help="seconds; 0 waits forever")
    p.add_argument("--group", help="consumer group on the events stream (default: this run's own, removed at exit)")
    p.add_argument("--consumer", default=f"{socket.gethostname()}-{os.getpid()}")
    a = p.parse_args()  # exits 2 on a usage error
    # The workers normalise upper case and one trailing dot; do the same so
    # that the events carry the name we look for.
    a.domain = a.domain.lower()
    if a.domain.endswith("."):
        a.domain = a.domain[:-1]
    if (not a.domain or len(a.domain) > 253 or "." not in a.domain
            or re.search(r"[^a-z0-9._*-]", a.domain)):
        p.error(f"not a domain name: {a.domain}")
    # schemas/job.md: a token, because it can go into delegation targets
    if a.tenant is not None and not re.fullmatch(
            r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", a.tenant):
        p.error("--tenant must be 1-63 of A-Z a-z 0-9 - _, not starting or ending with -")
    if not math.isfinite(a.timeout) or a.timeout < 0:
        p.error("--timeout takes seconds (0: wait forever)")
    a.ephemeral = a.group is None
    if a.ephemeral:
        a.group = f"onboard-example-{secrets.token_hex(6)}"
    return a


def text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def run(opt, r, prefix):
    events = f"{prefix}:events"

    # 1. Our own consumer group, from now on ("$"); it may already exist when
    #    --group names a long-lived one.
    try:
        r.xgroup_create(events, opt.group, id="$", mkstream=True)
    except redis.ResponseError as e:
        if not str(e).startswith("BUSYGROUP"):
            raise

    # 2. The job, and nothing else: no HSET of <prefix>:domain:<domain>
    #    (verify-cname creates it when it claims the job).  A new random id
    #    for every XADD: the id is what makes this job the domain's pipeline.
    now = int(time.time() * 1000)
    job = {"v": 1, "id": secrets.token_hex(16), "domain": opt.domain}
    if opt.tenant is not None:
        job["tenant"] = opt.tenant
    job["created_at"] = now
    entry = r.xadd(f"{prefix}:stream:verify-cname",
                   {"domain": opt.domain, "job": msgpack.packb(job, use_bin_type=True)})
    print(f"queued {opt.domain} job {job['id']} as {text(entry)}; "
          f"reading {events} as group {opt.group}", file=sys.stderr, flush=True)

    # 3. Events until one settles the domain.
    deadline = time.monotonic() + opt.timeout if opt.timeout > 0 else math.inf
    start = "0"  # first our own unacknowledged history, then new entries
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"timed out waiting for {opt.domain}", file=sys.stderr)
            return 1
        block = max(1, int(min(5.0, left) * 1000))
        res = r.xreadgroup(opt.group, opt.consumer, {events: start}, count=100, block=block)
        entries = res[0][1] if res else []
        if start == "0" and not entries:
            start = ">"
            continue
        for eid, fields in entries:
            # fields is empty for an entry trimmed while it was pending
            f = {text(k): text(v) for k, v in (fields or {}).items()}
            settled = None
            if f.get("domain") == opt.domain:
                t = f.get("time")
                line = {"id": text(eid), "type": f.get("type"), "domain": f["domain"],
                        "detail": f.get("detail", ""),
                        "time": int(t) if t and t.isdigit() else t}
                if f.get("type") == "issued":
                    line.update(issued_fields(f))
                print(json.dumps(line), flush=True)
                if f.get("type") in SUCCESS:
                    settled = 0
                elif f.get("type") in FAILURE:
                    settled = 1
            # Handled (printed, or not ours): acknowledge.  A crash before
            # this line means the event is delivered again, so handling must
            # be idempotent.
            r.xack(events, opt.group, eid)
            if settled is not None:
                return settled


def main():
    opt = parse()
    url = os.environ.get("DCV_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = os.environ.get("DCV_PREFIX", "dcv")
    r = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        code = run(opt, r, prefix)
    except redis.RedisError as e:
        print(f"onboard.py: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 1
    if opt.ephemeral:
        try:
            r.xgroup_destroy(f"{prefix}:events", opt.group)
        except redis.RedisError:
            pass  # best effort: the group is only this run's
    r.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
