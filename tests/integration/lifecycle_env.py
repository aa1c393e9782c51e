"""What the lifecycle tests (test_ratelimit.py, test_chaos.py,
test_lifecycle.py) share on top of fleet_env: customers set up in bulk,
onboarding through the documented XADD path, the domains' states in bulk,
Redis command counts, and the CA's count of orders (ca_proxy)."""
import os
import time

import msgpack

import harness
from fleet_env import FAST_TIMERS, US, FleetEnv


def fleet(tmp, zones=8, config=None, workers=0, **kw):
    """A FleetEnv with FAST_TIMERS, CONFIG, a registered account and
    WORKERS dcv-worker processes started."""
    env = FleetEnv(tmp, zones=zones, **kw)
    try:
        env.base_config.update(FAST_TIMERS)
        env.base_config.update(config or {})
        env.write_config()
        env.ctl("account", "register", "--email", "ops@example.com")
        for _ in range(workers):
            env.start_worker()
    except BaseException:
        env.close()
        raise
    return env


def domains(env, n, prefix="d"):
    """N domain names spread over the env's zones."""
    return [f"{prefix}{i}.{env.zones[i % len(env.zones)]}" for i in range(n)]


def customers_ready(env, names, pointing=True, servers=("p", "s"), chunk=300):
    """Every name's _acme-challenge CNAME (and, with POINTING, an A record
    at us) on SERVERS, in few updates: one per zone, server and CHUNK."""
    by_zone = {}
    for d in names:
        by_zone.setdefault(env.zone_of(d), []).append(d)
    for zone, ds in by_zone.items():
        for i in range(0, len(ds), chunk):
            cmds = []
            for d in ds[i:i + chunk]:
                base = d[2:] if d.startswith("*.") else d
                cmds.append(f"update add _acme-challenge.{base}. 1 CNAME {env.target(base)}.")
                if pointing:
                    cmds.append(f"update add {base}. 1 A {US}")
            for w in servers:
                env.nsupdate(w, zone, cmds)


def job_bytes(domain, **kw):
    """A job as a backend writes it (schemas/job.md)."""
    j = {"v": 1, "id": os.urandom(16).hex(), "domain": domain,
         "created_at": int(time.time() * 1000)}
    j.update(kw)
    return msgpack.packb(j, use_bin_type=True)


def xadd_onboard(env, names, chunk=500):
    """Onboards NAMES the documented way: XADD to <prefix>:stream:verify-cname,
    pipelined.  Returns the time (unix ms) of the first XADD."""
    r = env.client()
    t0 = int(time.time() * 1000)
    for i in range(0, len(names), chunk):
        p = r.pipeline(transaction=False)
        for d in names[i:i + chunk]:
            p.xadd(f"{env.prefix}:stream:verify-cname", {"domain": d, "job": job_bytes(d)})
        p.execute()
    return t0


def states(env, names, fields=("state",)):
    """{domain: {field: value}} for NAMES in one pipeline."""
    r = env.client()
    p = r.pipeline(transaction=False)
    for d in names:
        p.hmget(f"{env.prefix}:domain:{d}", *fields)
    out = {}
    for d, vals in zip(names, p.execute()):
        out[d] = {f: (v.decode() if v is not None else None) for f, v in zip(fields, vals)}
    return out


def issued_set(env):
    """The domains with an "issued" event."""
    return {f[b"domain"].decode() for _, f in env.client().xrange(f"{env.prefix}:events")
            if f.get(b"type") == b"issued"}


def events_of(env, types):
    """(type, domain, detail, time) of every event whose type is in TYPES."""
    out = []
    for _, f in env.client().xrange(f"{env.prefix}:events"):
        t = f.get(b"type", b"").decode()
        if t in types:
            out.append((t, f[b"domain"].decode(), f.get(b"detail", b"").decode(),
                        int(f.get(b"time", b"0"))))
    return out


def dead_letters(env):
    return env.client().xlen(f"{env.prefix}:dead")


def commands(env):
    """Total calls per command since the server started (INFO commandstats)."""
    info = env.client().info("commandstats")
    return {k[len("cmdstat_"):]: v["calls"] for k, v in info.items()}


def delta(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def ca_orders_by_names(ca):
    """{names tuple: [order times]} as the CA created them."""
    out = {}
    for o in ca.new_orders():
        out.setdefault(tuple(o["names"]), []).append(o["t"])
    return out


def why_not(env, names, limit=5):
    """A summary of where NAMES are: states counted, and a few records."""
    st = states(env, names, ("state", "stage", "last_error", "updated_at"))
    count = {}
    for v in st.values():
        count[v["state"]] = count.get(v["state"], 0) + 1
    sample = [(d, v) for d, v in st.items() if v["state"] != "issued"][:limit]
    return f"states {count}; for example {sample}"


def wait_all_issued(env, names, timeout, on_tick=None, interval=1.0):
    want = set(names)

    def done():
        if on_tick:
            on_tick()
        return want <= issued_set(env)
    try:
        harness.wait_until(done, timeout, interval=interval, what=f"all {len(want)} issued")
    except AssertionError as e:
        missing = sorted(want - issued_set(env))
        raise AssertionError(f"{e}: {len(missing)} not issued: {why_not(env, missing)}") from None
