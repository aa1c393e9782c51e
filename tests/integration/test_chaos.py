"""The fleet under crashes (issue 11, "Chaos"): N domains (default 1000,
DCV_CHAOS_DOMAINS) onboarded at once through the documented XADD path,
against real Redis (AOF everysec), BIND and Pebble (behind ca_proxy, which
counts the orders as the CA sees them), with WORKERS dcv-worker processes:

  - a random worker SIGKILLed every 2 s (and another started in its place);
  - Redis SIGKILLed once and restarted on the same port and directory (it
    comes back with what its append-only file had: up to about a second of
    writes lost);
  - the validation zone's primary (P) paused for 30 s (SIGSTOP / SIGCONT);
  - a Pebble that stops answering (TESTENV.md) is restarted, not waited for.

Pass: every domain issued; at most 0.5 % of the domains with a second order
at the CA; no dead letter; no domain in the same non-waiting state longer
than STUCK_S.  The figures, and the duplicates by cause, are printed."""
import os
import random
import signal
import threading
import time

import pytest

import harness
import lifecycle_env as L

N = int(os.environ.get("DCV_CHAOS_DOMAINS", "1000"))
WORKERS = 3
KILL_EVERY_S = 2.0
REDIS_KILL_AT_S = 15.0
PAUSE_AT_S = 25.0
PAUSE_S = 30.0
# the longest a domain may stay in one state that is not a wait (rate-limited,
# waiting-cname, caa-blocked) or the end (issued): the 30 s pause of the
# primary, a worker's visibility timeout, and the backlog of N domains at
# once behind it
STUCK_S = 120.0
WAITING = {"rate-limited", "waiting-cname", "caa-blocked", "issued", None}


class FleetEnvLog:
    @staticmethod
    def count(w, text):
        with open(w.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace").count(text)


@pytest.fixture
def tmp():
    d = harness.tmpdir("dcv-chaos-")
    yield d
    if not os.environ.get("DCV_KEEP_TMP"):
        harness.rmtree(d)


class Sampler(threading.Thread):
    """Reads every domain's state once a second and keeps, per domain, how
    long it has been in its current state; the longest stay in a state that
    is not a wait is the result."""

    def __init__(self, env, names):
        super().__init__(daemon=True)
        self.env, self.names = env, names
        self.since = {}
        self.worst = (0.0, None, None)
        self.stop = threading.Event()
        self.errors = 0

    def run(self):
        while not self.stop.is_set():
            try:
                st = L.states(self.env, self.names)
            except Exception:       # Redis down for its restart
                self.errors += 1
                self.stop.wait(0.5)
                continue
            now = time.time()
            for d, v in st.items():
                s = v["state"]
                old = self.since.get(d)
                if not old or old[0] != s:
                    self.since[d] = (s, now)
                elif s not in WAITING and now - old[1] > self.worst[0]:
                    self.worst = (now - old[1], d, s)
            self.stop.wait(1.0)


def test_chaos(tmp, capsys):
    env = L.fleet(tmp, zones=10, ca_proxy=True, redis_aof=True, config={
        # the limiter binds a little (20 orders/s): places in line under chaos
        "ratelimit.new_orders.limit": 100,
        "ratelimit.new_orders.period_ms": 5000,
        # a killed worker's jobs are taken over after 10 s; every handler
        # ends well within that (the TXT provider and the CA time out
        # first), else a job would be delivered twice while it runs
        "worker.visibility_timeout_ms": 10000,
        "worker.reclaim_interval_ms": 300,
        "provider.timeout_ms": 1000,
        "acme.timeout_ms": 8000,
        "lifecycle.invalid_backoff_ms": 1000,
        # a worker dies every 6 s on average: a job in a 2 s handler (the
        # primary paused) is killed under three times in a row now and
        # then; that is not a job that kills workers (poison)
        "worker.max_deliveries": 20,
        "log.level": "info",
    })
    killer = None
    sampler = None
    stop = threading.Event()
    try:
        names = L.domains(env, N)
        L.customers_ready(env, names)
        for _ in range(WORKERS):
            env.start_worker()
        events = {"worker_kills": [], "redis_kill": None, "pause": None,
                  "pebble_restarts": []}
        lock = threading.Lock()

        def restart_pebble():
            with lock:
                if events["pebble_restarts"] and \
                        time.time() - events["pebble_restarts"][-1] < 10:
                    return
                events["pebble_restarts"].append(time.time())
                env.pebble.restart()
                env._root = None
                # a new CA: the fleet's account is registered again there,
                # and the workers start afresh with it
                env.client().delete(f"{env.prefix}:account")
                env.ctl("account", "register", "--email", "ops@example.com")
                live = [w for w in env.workers if w.poll() is None]
                for w in live:
                    env.kill_worker(w)
                for _ in live:
                    env.start_worker(wait=False)
        env.ca.on_stall = restart_pebble

        rnd = random.Random(11)

        def chaos():
            t0 = time.time()
            while not stop.wait(KILL_EVERY_S):
                live = [w for w in env.workers if w.poll() is None]
                if live:
                    w = rnd.choice(live)
                    env.kill_worker(w)
                    events["worker_kills"].append(time.time())
                    env.start_worker(wait=False)
                t = time.time() - t0
                if events["redis_kill"] is None and t >= REDIS_KILL_AT_S:
                    events["redis_kill"] = time.time()
                    env.redis.proc.kill()
                    env.redis.start()
                if events["pause"] is None and t >= PAUSE_AT_S:
                    events["pause"] = time.time()
                    env.p.proc.signal(signal.SIGSTOP)
                if events["pause"] and not events.get("resumed") and \
                        time.time() >= events["pause"] + PAUSE_S:
                    events["resumed"] = time.time()
                    env.p.proc.signal(signal.SIGCONT)
        killer = threading.Thread(target=chaos, daemon=True)

        t0 = L.xadd_onboard(env, names)
        sampler = Sampler(env, names)
        sampler.start()
        killer.start()

        # the chaos runs at least until the pause is over, then until done
        harness.wait_until(lambda: events.get("resumed"), 120, interval=0.5,
                           what="the primary paused and resumed")
        L.wait_all_issued(env, names, 600, interval=2.0)
        t_done = time.time()
        stop.set()
        killer.join(timeout=PAUSE_S + 10)
        sampler.stop.set()
        sampler.join(timeout=10)

        per = L.ca_orders_by_names(env.ca)
        dup = {n[0]: ts for n, ts in per.items() if len(ts) > 1}
        invalid = {d for _, d, _, _ in L.events_of(env, ("authz-invalid",))}
        rk = events["redis_kill"] * 1000
        kills = [k * 1000 for k in events["worker_kills"]]
        restarts = [k * 1000 for k in events["pebble_restarts"]]
        causes = {}
        for d, ts in dup.items():
            first = ts[0]
            if d in invalid:
                c = "the CA found an authorization invalid"
            elif any(r0 - 2000 <= t <= r0 + 30000 for r0 in restarts for t in ts):
                c = "Pebble restarted"
            elif rk - 2000 <= first <= rk:
                c = "Redis lost the last second"
            elif any(k - 1500 <= first <= k for k in kills):
                c = "a worker killed mid-order"
            else:
                c = "other"
            causes.setdefault(c, []).append(d)
        exposed = [o for o in env.ca.new_orders() if rk - 2000 <= o["t"] <= rk]
        again = [o for o in exposed if len(per[tuple(o["names"])]) > 1]
        recalls = sum(FleetEnvLog.count(w, "the record lost the order") for w in env.workers)
        deadn = L.dead_letters(env)
        orders_total = len(env.ca.new_orders())
        with capsys.disabled():
            print(f"\nchaos: {N} domains issued in {t_done - t0 / 1000:.0f} s with "
                  f"{len(events['worker_kills'])} worker SIGKILLs, Redis killed at "
                  f"{rk / 1000 - t0 / 1000:.0f} s, the primary paused at "
                  f"{events['pause'] - t0 / 1000:.0f} s for {PAUSE_S:.0f} s, "
                  f"{len(events['pebble_restarts'])} Pebble restarts "
                  f"({env.ca.stalls} stalls seen)")
            print(f"orders at the CA: {orders_total} for {N} domains; {len(dup)} domains "
                  f"({100 * len(dup) / N:.2f} %) with a second order: "
                  + (", ".join(f"{c}: {len(v)} {sorted(v)[:4]}" for c, v in causes.items())
                     or "none"))
            print(f"Redis lost up to a second of writes: {len(exposed)} orders were created "
                  f"in the 2 s before it was killed, {len(again)} of them ordered again; "
                  f"{recalls} orders found again in a worker's memory after Redis lost them")
            print(f"dead letters {deadn}; the longest stay in one non-waiting state "
                  f"{sampler.worst[0]:.0f} s ({sampler.worst[2]}, {sampler.worst[1]}); "
                  f"authz-invalid {len(invalid)}")
        assert deadn == 0
        # a restarted Pebble lost its orders: those re-orders are the test's
        # doing, not the fleet's
        counted = len(dup) - len(causes.get("Pebble restarted", []))
        assert counted <= N * 0.005, causes
        assert sampler.worst[0] <= STUCK_S, sampler.worst
        st = L.states(env, names)
        assert all(v["state"] == "issued" for v in st.values()), L.why_not(env, names)
    finally:
        # the chaos ends before the environment: no worker started after it
        stop.set()
        if killer and killer.is_alive():
            killer.join(timeout=60)
        if sampler:
            sampler.stop.set()
        try:
            env.p.proc.signal(signal.SIGCONT)
        except Exception:
            pass
        env.close()
