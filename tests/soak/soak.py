#!/usr/bin/python3
"""Months of lifecycle in minutes (issue 11, "Soak"): the real fleet
(dcv-worker processes), Redis, BIND (tests/integration/fleet_env.py) and
Pebble with short-lived certificates (certificateValidityPeriod), behind
ca_proxy (the CA's own log of orders), with scripted customers
(customers.py), outages, and an oracle (oracle.py) that checks the
invariants from Redis, DNS and the CA's records.  tests/soak/README.md has
the scale and the figures.

  soak.py [--days N] [--domains N] [--day-seconds S] [--ci] [--keep]

Exit 0 when the oracle found nothing, 1 with the violations listed."""
import argparse
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import harness                       # noqa: E402
import lifecycle_env as L            # noqa: E402
from fleet_env import ELSEWHERE, FAST_TIMERS, US, FleetEnv   # noqa: E402
import customers                     # noqa: E402
import oracle                        # noqa: E402
import verdict                       # noqa: E402

LIFETIME_DAYS = 90          # Let's Encrypt's; renewed with a third left (30 days)
WORKERS = 2
# The outages, (first day, days), again every 60 days (the renewal waves:
# the first certificates are issued in days 0-10 and renewed from day 60)
CA_DOWN = (61, 5)           # Pebble stopped
PAUSE = (67, 3)             # the validation primary SIGSTOPped
BLOCK = (71, 4)             # the CA answers rateLimited (Retry-After)
EVERY = 60


def outage_days(first, total):
    """The days an outage starts, every EVERY days, ending before TOTAL - 10."""
    return [d for d in range(first[0], int(total), EVERY) if d + first[1] < total - 10]


def scaled_config(day_ms, n):
    """Every calendar duration of the lifecycle in scaled days; what only
    depends on the machine (DNS timeouts, polls, propagation) stays real."""
    d = day_ms
    return {
        **FAST_TIMERS,
        "lifecycle.offboard_interval_ms": d,
        "lifecycle.offboard_jitter": 0.2,
        "lifecycle.offboard_after_ms": 7 * d,
        "lifecycle.offboard_min_checks": 3,
        "lifecycle.stale_interval_ms": 7 * d,
        "lifecycle.park_grace_ms": 30 * d,
        "lifecycle.verify_max_wait_ms": max(1000, 30 * d),
        "lifecycle.ari_poll_min_ms": max(100, d // 24),
        "lifecycle.ari_poll_max_ms": max(100, d),
        "lifecycle.invalid_backoff_ms": max(1, d // 24),
        "stages.offboard-check.backoff_cap_ms": max(200, d // 24),
        # the ACME stages' caps (5 min, 2 min, 1 min): a day, so that a job
        # retrying through the CA's outage resumes within a day after it and
        # its 20 attempts outlast the 5 days (finding 4 of README.md)
        "stages.create-order.backoff_cap_ms": max(500, d),
        "stages.provision-txt.backoff_cap_ms": max(500, d),
        "stages.finalize.backoff_cap_ms": max(500, d),
        # Let's Encrypt's 300 per 3 h is 2,400 a day: it would never bind
        # at this scale.  A bucket that the first onboarding exhausts (N at
        # once, N/5 per 2 days) and the renewals (N/60 a day) do not.
        "ratelimit.new_orders.limit": max(10, n // 5),
        "ratelimit.new_orders.period_ms": 2 * d,
        "ratelimit.failed_authorizations.period_ms": max(1, d // 24),
        "worker.concurrency": 8,
        "log.level": "info",
    }


def fleet(tmp, day_s, n):
    """FleetEnv with ca_proxy, Pebble restarted with certificates of
    LIFETIME_DAYS scaled days, the scaled config and an account."""
    env = FleetEnv(tmp, zones=8, ca_proxy=True)
    try:
        set_validity(env, int(LIFETIME_DAYS * day_s))
        env.base_config.update(scaled_config(int(day_s * 1000), n))
        env.write_config()
        env.ctl("account", "register", "--email", "ops@example.com")
    except BaseException:
        env.close()
        raise
    return env


def set_validity(env, seconds):
    import json
    cfg = env.pebble.args[env.pebble.args.index("-config") + 1]
    with open(cfg) as f:
        conf = json.load(f)
    conf["pebble"]["certificateValidityPeriod"] = seconds
    with open(cfg, "w") as f:
        json.dump(conf, f)
    env.pebble.restart()
    env._root = None


def batch(env, changes):
    """CHANGES [(name, commands)] in one update per zone and server."""
    by_zone = {}
    for name, cmds in changes:
        by_zone.setdefault(env.zone_of(name), []).extend(cmds)
    for zone, cmds in by_zone.items():
        for w in ("p", "s"):
            env.nsupdate(w, zone, cmds)


def commands(d, action):
    """The nsupdate lines of ACTION for customer domain D."""
    a = {"away": ELSEWHERE, "home": US}
    if action in a:
        return d, [f"update delete {d}. A", f"update add {d}. 1 A {a[action]}"]
    if action == "www-away":
        return d, [f"update delete www.{d}. A", f"update add www.{d}. 1 A {ELSEWHERE}"]
    if action == "undelegate":
        return d, [f"update delete _acme-challenge.{d}. CNAME"]
    if action == "caa-other":
        return d, [f"update delete {d}. CAA", f'update add {d}. 1 CAA 0 issue "otherca.example"']
    if action == "caa-ours":
        return d, [f"update delete {d}. CAA"]
    raise ValueError(action)


WORLD_KEY = {"away": ("points", False), "home": ("points", True),
             "www-away": ("www", False), "undelegate": ("delegated", False),
             "caa-other": ("caa", True), "caa-ours": ("caa", False)}


def apply(env, world, acts):
    if not acts:
        return
    world.busy += 1
    try:
        batch(env, [commands(d, a) for _, d, a in acts])
        t = time.time()
        for _, d, a in acts:
            world.set(d, *WORLD_KEY[a], t=t)
    finally:
        world.busy -= 1


def set_up_customers(env, cust, world):
    pointing = [n for d, c in cust.items() if c["kind"] != "never" for n in c["names"]]
    never = [d for d, c in cust.items() if c["kind"] == "never"]
    L.customers_ready(env, pointing)
    L.customers_ready(env, never, pointing=False)
    batch(env, [(d, [f"update add {d}. 1 A {ELSEWHERE}"]) for d in never])
    t = time.time()
    for d, c in cust.items():
        world.set(d, "points", c["kind"] != "never", t)
        world.set(d, "delegated", True, t)
        world.set(d, "caa", False, t)


def onboard(env, cust):
    """The documented XADD, pipelined; ctx.names for the multi-name ones."""
    r = env.client()
    p = r.pipeline(transaction=False)
    for d, c in cust.items():
        kw = {"ctx": {"names": ",".join(c["names"])}} if len(c["names"]) > 1 else {}
        p.xadd(f"{env.prefix}:stream:verify-cname", {"domain": d, "job": L.job_bytes(d, **kw)})
    p.execute()


class Outages:
    """The CA stopped (Pebble killed, started again: a new CA, so the
    account is registered again and the workers restarted, as in
    test_chaos), the primary paused, the CA's rateLimited; and a Pebble
    that stalls (TESTENV.md) restarted."""

    def __init__(self, env, sampler):
        self.env, self.sampler = env, sampler
        self.lock = threading.Lock()
        self.log = []              # (what, start, end)
        self.restarts = []
        self.down = False          # the driver stopped the CA

    def ca_back(self):
        """Pebble started again: the old workers drain first (SIGTERM, while
        the CA is still away their jobs only retry), then the new CA gets
        the account and new workers start with it.  (Draining them after
        would have their jobs meet accountDoesNotExist, a permanent error:
        a CA that forgets accounts is the test's doing.)"""
        with self.lock:
            live = [w for w in self.env.workers if w.poll() is None]
            for w in live:
                self.env.term_worker(w)
            for w in live:
                self.env.stop_worker(w, timeout=20)
            self.env.pebble._start()
            self.env._root = None
            self.restarts.append(time.time())
            self.env.client().delete(f"{self.env.prefix}:account")
            self.env.ctl("account", "register", "--email", "ops@example.com")
            for _ in live:
                self.env.start_worker(wait=False)

    def on_stall(self):
        if self.down or (self.restarts and time.time() - self.restarts[-1] < 10):
            return
        self.env.pebble.proc.kill()
        self.env.pebble.proc.log.close()
        self.log.append(("pebble stalled: restarted", time.time(), time.time()))
        self.ca_back()


def run(a):
    tmp = harness.tmpdir("dcv-soak-")
    env = fleet(tmp, a.day_seconds, a.domains)
    sampler = None
    try:
        cust = customers.make(env, a.domains)
        todo = customers.plan(cust, a.days)
        world = oracle.World()
        set_up_customers(env, cust, world)
        for _ in range(WORKERS):
            env.start_worker()
        day = a.day_seconds
        sampler = oracle.Sampler(env, cust, world, sample_s=min(1.0, day / 2),
                                 cover_grace_s=5 * day + 10)
        out = Outages(env, sampler)
        env.ca.on_stall = out.on_stall
        t0 = time.time()
        sampler.t0, sampler.day = t0, day
        onboard(env, cust)
        sampler.start()
        drive(env, a, cust, todo, world, sampler, out, t0)
        t_end = time.time()
        sampler.stop.set()
        sampler.join(timeout=30)
        sampler.sample()
        figures, bad = verdict.judge(env, a, cust, world, sampler, out, t0, t_end,
                                            LIFETIME_DAYS)
        print(figures)
        if bad:
            print(f"\nSOAK FAILED: {len(bad)} violations")
            for b in bad[:60]:
                print("  -", b)
            return 1
        print("\nsoak passed")
        return 0
    finally:
        if sampler:
            sampler.stop.set()
        try:
            env.p.proc.signal(signal.SIGCONT)      # whatever happened
        except Exception:
            pass
        env.close()
        if a.keep:
            print(f"kept {tmp}")
        else:
            harness.rmtree(tmp)


def drive(env, a, cust, todo, world, sampler, out, t0):
    """The calendar: customers' actions when due, the outages, the CAA
    switches timed over renewals; until DAYS have passed."""
    day = a.day_seconds
    T = a.days
    ca_down = pause = None
    down_at, pause_at = outage_days(CA_DOWN, T), outage_days(PAUSE, T)
    block_at = outage_days(BLOCK, T)
    caa_on = {}
    caa = [d for d, c in cust.items() if c["kind"] == "caa"]
    i = 0
    deferred = []
    while True:
        now = time.time()
        today = (now - t0) / day
        if today >= T:
            break
        due = []
        while i < len(todo) and todo[i][0] <= today:
            due.append(todo[i])
            i += 1
        if pause is None:
            apply(env, world, due)
        else:
            deferred += due             # the primary is paused: after it
        # the CAA customers: switched to another CA just before their renewal
        if today >= 12 and pause is None:
            r = env.client()
            sw = []
            for d in caa:
                if d not in caa_on:
                    ra = r.hget(f"{env.prefix}:domain:{d}", "renew_at")
                    if ra and int(ra) / 1000 - now < 2 * day and today < T * 0.7:
                        caa_on[d] = now
                        sw.append((0, d, "caa-other"))
                elif caa_on[d] and now - caa_on[d] >= customers.CAA_DAYS * day:
                    caa_on[d] = 0
                    sw.append((0, d, "caa-ours"))
            apply(env, world, sw)
        if ca_down is None and down_at and today >= down_at[0]:
            down_at.pop(0)
            out.down = True
            env.pebble.proc.kill()
            env.pebble.proc.log.close()
            ca_down = [time.time(), None]     # every order before this
            now = ca_down[0]
        elif ca_down and now - ca_down[0] >= CA_DOWN[1] * day:
            out.ca_back()
            out.down = False
            out.log.append(("CA stopped", ca_down[0], time.time()))
            ca_down = None
        if pause is None and pause_at and today >= pause_at[0]:
            pause_at.pop(0)
            sampler.pause.set()
            env.p.proc.signal(signal.SIGSTOP)
            # timed at the signal: the customers' updates before it take
            # a while, and a CA's lookup failed in the pause is excused
            pause = [time.time(), None]
        elif pause and now - pause[0] >= PAUSE[1] * day:
            env.p.proc.signal(signal.SIGCONT)
            sampler.pause.clear()
            out.log.append(("primary paused", pause[0], time.time()))
            pause = None
            apply(env, world, deferred)
            deferred = []
        if block_at and today >= block_at[0]:
            block_at.pop(0)
            env.ca.block_new_orders(BLOCK[1] * day)
            out.log.append(("CA rateLimited", now, now + BLOCK[1] * day))
        time.sleep(min(0.2, day / 10))
    if pause:
        env.p.proc.signal(signal.SIGCONT)
        sampler.pause.clear()
        out.log.append(("primary paused", pause[0], time.time()))
    apply(env, world, deferred)
    if ca_down:
        out.ca_back()
        out.down = False
        out.log.append(("CA stopped", ca_down[0], time.time()))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=float, default=180)
    p.add_argument("--domains", type=int, default=500)
    p.add_argument("--day-seconds", type=float, default=4.0)
    p.add_argument("--ci", action="store_true",
                   help="the CI variant: 100 domains, 120 days of 1 s")
    p.add_argument("--keep", action="store_true", help="keep the tmp directory")
    a = p.parse_args()
    if a.ci:
        a.days, a.domains, a.day_seconds = 120, 100, 1.0
    print(f"soak: {a.domains} domains, {a.days:g} days of {a.day_seconds:g} s "
          f"({a.days * a.day_seconds:.0f} s), certificates of {LIFETIME_DAYS} days", flush=True)
    sys.exit(run(a))


if __name__ == "__main__":
    main()
