"""The soak's oracle, written apart from the workers: it knows nothing of
their code, only what the world shows.

  - the customers' DNS as the script applied it (World: every change with
    its time), spot-checked against BIND (dig on P) at every sample;
  - Redis: the domain records, dcv:cert:<d> (`not_after`, `names`), the
    events (read as they come, so MAXLEN trimming loses nothing), the
    dead letters, the streams and used_memory;
  - the CA's own records: every newOrder ca_proxy saw (ca-orders.jsonl)
    and what became of each order: its statuses, its certificate handed
    out (.states).

Sampler samples all of it every SAMPLE_S; verdict() turns the samples into
figures and a list of violations (an empty list is a pass)."""
import json
import subprocess
import threading
import time

# states that are a wait or an end: a domain may stay in them for long
WAITING = {"rate-limited", "waiting-cname", "caa-blocked", "issued", "parked",
           "offboarded", "abandoned", None}
OFFBOARD_EVENTS = ("stale-delegation", "delegation-removed")


class World:
    """What the customers did, as the driver applied it to BIND: per domain
    a list of (time, key, value), keys "points" (the A of the domain: us or
    not), "www" (the www name of an apex+www customer), "delegated" (the
    _acme-challenge CNAME) and "caa" (a CAA for another CA)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log = {}
        self.now = {}
        self.busy = 0          # the driver is writing DNS: the World lags

    def set(self, d, key, value, t=None):
        t = time.time() if t is None else t
        with self.lock:
            self.log.setdefault(d, []).append((t, key, value))
            self.now.setdefault(d, {})[key] = (value, t)

    def get(self, d, key, default=None):
        with self.lock:
            v = self.now.get(d, {}).get(key)
        return v if v is not None else (default, 0.0)

    def first(self, d, key, value):
        """The first time KEY took VALUE, or None."""
        with self.lock:
            for t, k, v in self.log.get(d, []):
                if k == key and v == value:
                    return t
        return None


class Sampler(threading.Thread):
    """Every SAMPLE_S: the events since the last sample, every record and
    certificate, the coverage invariant, the longest stay in a non-waiting
    state, the streams and memory, and a DNS spot check."""

    def __init__(self, env, cust, world, sample_s, cover_grace_s):
        super().__init__(daemon=True)
        self.env, self.cust, self.world = env, cust, world
        self.names = list(cust)
        self.sample_s = sample_s
        self.cover_grace_s = cover_grace_s
        self.stop = threading.Event()
        self.events = []           # (time s, type, domain, detail)
        self.last_id = b"0-0"
        self.since = {}            # domain -> (state, since)
        self.worst = (0.0, None, None)
        self.uncovered = {}        # domain -> first (time, why) seen without a valid cert
        self.uncovered_n = 0
        self.samples = 0
        self.checks = 0
        self.series = []           # (time, used_memory, {stream: len})
        self.dns_mismatch = []
        self.errors = 0
        self.first_issued = {}
        self.offboarded_at = {}
        self.pause = threading.Event()   # set: the primary is paused, no dig
        self.t0, self.day = time.time(), 1.0

    def read_events(self, r):
        p = self.env.prefix
        while True:
            got = r.xrange(f"{p}:events", min=b"(" + self.last_id, count=5000)
            if not got:
                return
            for eid, f in got:
                self.last_id = eid
                t = int(f.get(b"time", b"0")) / 1000
                typ = f.get(b"type", b"").decode()
                d = f.get(b"domain", b"").decode()
                self.events.append((t, typ, d, f.get(b"detail", b"").decode()))
                if typ == "issued":
                    self.first_issued.setdefault(d, t)
                if typ in OFFBOARD_EVENTS and "moved away" in self.events[-1][3]:
                    self.offboarded_at.setdefault(d, t)

    def covered_expected(self, d, now):
        """Whether D must hold a valid certificate now: issued once, points
        at us, its delegation in place, no CAA against us (each for longer
        than the grace), and not offboarded by the backend's script."""
        if d not in self.first_issued:
            return False
        for key, good in (("points", True), ("delegated", True), ("caa", False)):
            v, t = self.world.get(d, key, good)
            if v != good or (now - t < self.cover_grace_s and t > self.first_issued[d]
                             and key != "points"):
                return False
        return True

    def sample(self):
        r = self.env.client()
        self.read_events(r)
        p = self.env.prefix
        pipe = r.pipeline(transaction=False)
        for d in self.names:
            pipe.hmget(f"{p}:domain:{d}", "state")
            pipe.hmget(f"{p}:cert:{d}", "not_after", "names")
        res = pipe.execute()
        now = time.time()
        for i, d in enumerate(self.names):
            state = res[2 * i][0]
            state = state.decode() if state else None
            na, cnames = res[2 * i + 1]
            old = self.since.get(d)
            if not old or old[0] != state:
                self.since[d] = (state, now)
            elif state not in WAITING and now - old[1] > self.worst[0]:
                self.worst = (now - old[1], d, state)
            if not self.covered_expected(d, now):
                continue
            self.checks += 1
            want = self.cust[d]["cover"]
            names = set(cnames.decode().split(",")) if cnames else set()
            why = None
            if na is None:
                why = "no certificate"
            elif int(na) <= now:
                why = f"expired {now - int(na):.0f} s ago"
            elif not set(want) <= names:
                why = f"certificate names {sorted(names)} lack {sorted(set(want) - names)}"
            if why:
                self.uncovered_n += 1
                self.uncovered.setdefault(d, (now, why, state))
        lens = {}
        for k in r.scan_iter(match=f"{p}:stream:*", count=1000):
            if r.type(k) == b"stream":
                lens[k.decode()] = r.xlen(k)
        lens[f"{p}:delayed"] = r.zcard(f"{p}:delayed")
        lens[f"{p}:events"] = r.xlen(f"{p}:events")
        lens[f"{p}:dead"] = r.xlen(f"{p}:dead")
        self.series.append((now, int(r.info("memory")["used_memory"]), lens))
        self.samples += 1
        if not self.pause.is_set():
            self.spot_check()

    def spot_check(self):
        """One domain's A and _acme-challenge on P against the World."""
        if self.world.busy:
            return
        d = self.names[self.samples % len(self.names)]
        base = d[2:] if d.startswith("*.") else d
        port = str(self.env.p.port)
        out = subprocess.run(["dig", "@127.0.0.1", "-p", port, base, "A", "+short",
                              "+norecurse", "+time=1", "+tries=1",
                              f"_acme-challenge.{base}", "CNAME", "+short"],
                             capture_output=True, text=True, timeout=10).stdout.split()
        from fleet_env import US
        pts, t1 = self.world.get(d, "points", True)
        dlg, t2 = self.world.get(d, "delegated", True)
        if not out or self.world.busy or time.time() - max(t1, t2) < 2:
            return
        if (US in out) != pts or any(o.endswith(self.env.validation_zone + ".")
                                     for o in out) != dlg:
            self.dns_mismatch.append((d, out, pts, dlg))

    def run(self):
        while not self.stop.is_set():
            t0 = time.time()
            try:
                self.sample()
            except Exception:        # Redis or BIND busy: counted, next sample
                self.errors += 1
            self.stop.wait(max(0.05, self.sample_s - (time.time() - t0)))


def ca_orders(path):
    """Every newOrder Pebble created, as ca_proxy logged it."""
    out = []
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            if o["status"] == 201:
                out.append(o)
    return out


def ca_order_states(path):
    """{order id: [(unix s, status)]}: what the CA answered for each order,
    as ca_proxy logged it (<path>.states): each new status, and
    "downloaded" when it handed out the certificate."""
    out = {}
    try:
        with open(path + ".states") as f:
            for line in f:
                c = json.loads(line)
                out.setdefault(c["order"], []).append((c["t"] / 1000, c["status"]))
    except FileNotFoundError:
        pass
    return out


def order_id(o):
    """The id of order O (the last part of its URL), as in ca_order_states."""
    return o["url"].rsplit("/", 1)[-1]


def bucket_excess(times, limit, period_s, slack=2):
    """The largest excess of orders over the token bucket (a burst of LIMIT,
    then LIMIT per PERIOD_S) over any interval of TIMES; <= SLACK passes."""
    rate = limit / period_s
    best, worst = None, 0.0
    for j, t in enumerate(sorted(times)):
        v = t * rate - j                 # i's term: (t_i * rate - i)
        best = v if best is None else max(best, v)
        # orders in [t_i, t_j] = j - i + 1; allowed = limit + (t_j - t_i) * rate
        worst = max(worst, (j + 1 - t * rate) + best - limit)
    return worst
