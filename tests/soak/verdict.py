"""The oracle's verdict over a soak run: figures (printed) and violations
(each a line; none is a pass).  Reads the Sampler's events and samples, the
World's timeline, the CA's order log and Redis; nothing from the workers'
code.  Bounds, in scaled days unless said:

  - covered: every sample of a domain that points at us, keeps its
    delegation and has no CAA against us found a certificate not expired
    whose names include the ones it must cover;
  - renewals: each certificate after the first is issued after the last
    third of its predecessor's life began (minus 1 s) and before it ended;
    except the renewal a `back` into the certificate asks for at once;
  - flapping and returning: no offboarding, no name-left; end active;
  - departed: offboarded no sooner than 7 days - 1 s after leaving and no
    later than 7 + 3.5 days (+ the primary's pause and the CA's outage)
    after, or after the last renewal since it left (its away run starts
    again after one); no order for
    their names after it; www of apex+www: name-left, nothing ordered for
    www after it; never pointed: parked (runs of 45 days and more);
    delegation removed: delegation-missing, no order 1 day after;
  - orders: the CA's newOrders per issuance <= 1.005, not counting those a
    CA that stopped or stalled lost (made before it went, their
    certificate not handed out by it), those it found invalid because its
    DNS lookups failed in the primary's pause, and the last order of a
    domain still in flight at the end;
  - the limit: at no interval of the CA's orders more than the bucket
    allows (limit, then limit per period) plus 2;
  - nothing lost: 0 dead letters, every domain in an end or active state
    its kind allows; nothing stuck: no non-waiting state held longer than
    the CA's outage + 60 s;
  - bounded: each pipeline stream, dcv:delayed and used_memory at most
    2 times + 100 entries (the streams, trimmed in steps), 1.5 times + 2 MB
    (memory) in the last third what they were in
    the first; dcv:events within its MAXLEN."""
import calendar
import re
import time

import oracle

ACTIVE = {"issued", "renewing", "verifying", "ordering", "rate-limited", "provisioning",
          "validating", "finalizing", "waiting-cname", "queued"}
END = {
    "left": {"offboarded"}, "wild-left": {"offboarded"},
    "undelegated": ACTIVE | {"abandoned"},
}


def not_after(detail):
    m = re.search(r"not after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", detail)
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ")) if m else None


def by_domain(events):
    out = {}
    for t, typ, d, det in events:
        out.setdefault(d, []).append((t, typ, det))
    return out


def order_owner(cust):
    own = {}
    for d, c in cust.items():
        for n in c["names"]:
            own[n] = d
    return own


def judge(env, a, cust, world, s, out, t0, t_end, lifetime_days):
    day = a.day_seconds
    life = lifetime_days * day
    bad, fig = [], []
    ev = by_domain(s.events)
    orders = oracle.ca_orders(env.ca.log_path)
    own = order_owner(cust)
    per = {}
    for o in orders:
        d = next((own[n] for n in o["names"] if n in own), None)
        per.setdefault(d, []).append(o)
    pause = sum(e - b for w, b, e in out.log if w == "primary paused")
    rec = L_states(env, cust)
    kinds = {}
    for d, c in cust.items():
        kinds.setdefault(c["kind"], []).append(d)
    fig.append(f"customers: " + ", ".join(f"{k} {len(v)}" for k, v in kinds.items()))
    fig.append("outages: " + "; ".join(f"{w} at day {(b - t0) / day:.0f} for "
                                       f"{(e - b) / day:.1f} days" for w, b, e in out.log))

    # --- covered
    fig.append(f"coverage: {s.checks} domain-samples that had to hold a valid certificate "
               f"in {s.samples} samples; {s.uncovered_n} without one "
               f"({len(s.uncovered)} domains)")
    for d, (t, why, st) in sorted(s.uncovered.items())[:20]:
        bad.append(f"{d} ({cust[d]['kind']}) without a valid certificate at day "
                   f"{(t - t0) / day:.1f}: {why} (state {st})")

    # --- renewals in their window
    renewals = early = late = 0
    issued_total = 0
    for d in cust:
        iss = [(t, not_after(det)) for t, typ, det in ev.get(d, []) if typ == "issued"]
        backs = [t for t, typ, det in ev.get(d, []) if typ == "back" and "renewing now" in det]
        issued_total += len(iss)
        for (t1, na1), (t2, _) in zip(iss, iss[1:]):
            if any(t1 < b <= t2 for b in backs):
                continue
            renewals += 1
            if t2 < na1 - life / 3 - 1:
                early += 1
                bad.append(f"{d}: renewed at day {(t2 - t0) / day:.1f}, "
                           f"{(na1 - t2) / day:.1f} days before expiry (window opens at "
                           f"{life / 3 / day:.0f})")
            elif t2 >= na1:
                late += 1
                bad.append(f"{d}: renewed {(t2 - na1) / day:.1f} days after expiry")
    fig.append(f"renewals: {renewals} checked, {early} early, {late} late; "
               f"{issued_total} certificates issued in all")

    # --- flapping, returning: never offboarded
    moves = backs = 0
    for d in kinds.get("flapping", []) + kinds.get("returning", []):
        types = [typ for _, typ, _ in ev.get(d, [])]
        moves += types.count("moving-away")
        backs += types.count("back")
        if any(t in types for t in oracle.OFFBOARD_EVENTS + ("name-left", "never-pointed")):
            # finding 3 of README.md (fixed): a renewal inside the away run
            # no longer lets the run go on as if every check had been made
            last = max((i for i, t in enumerate(types) if t == "moving-away"), default=0)
            bad.append(f"{d} ({cust[d]['kind']}) offboarded or dropped: {types[-8:]}"
                       + (" (a renewal ran inside its away run)"
                          if "issued" in types[last:] else ""))
        elif rec[d] not in ACTIVE:
            bad.append(f"{d} ({cust[d]['kind']}) ends {rec[d]}")
    fig.append(f"flapping+returning: {len(kinds.get('flapping', [])) + len(kinds.get('returning', []))}"
               f" domains, {moves} moving-away, {backs} back, "
               f"{sum('offboarded or dropped' in b for b in bad)} offboarded")

    # --- departed
    delays = []
    # no check runs while a renewal waits for a stopped CA: its outage too
    ca_out = sum(e - b for w, b, e in out.log if w == "CA stopped")
    late_bound = (7 + 3.5) * day + pause + ca_out + 2
    for d in kinds.get("left", []) + kinds.get("wild-left", []):
        t_left = world.first(d, "points", False)
        t_off = s.offboarded_at.get(d)
        if t_off is None:
            bad.append(f"{d} left at day {(t_left - t0) / day:.1f}, never offboarded "
                       f"(state {rec[d]})")
            continue
        delays.append((t_off - t_left) / day)
        if t_off - t_left < 7 * day - 1:
            bad.append(f"{d} offboarded {(t_off - t_left) / day:.1f} days after it left (< 7)")
        # a renewal after it left ran no check: the away run started again
        # after it (lifecycle.md, `away`; finding 3)
        t_run = max([t_left] + [t for t, typ, _ in ev.get(d, [])
                                if typ == "issued" and t_left < t < t_off])
        if t_off - t_run > late_bound:
            bad.append(f"{d} offboarded {(t_off - t_left) / day:.1f} days after it left"
                       + (f", {(t_off - t_run) / day:.1f} after its renewal"
                          if t_run > t_left else ""))
        after = [o for o in per.get(d, []) if o["t"] / 1000 > t_off]
        if after:
            bad.append(f"{d}: {len(after)} orders after its offboarding")
    if delays:
        fig.append(f"departed: {len(delays)} offboarded {min(delays):.1f}-{max(delays):.1f} "
                   f"days after leaving (window 7 days)")
    www_after = 0
    for d in kinds.get("apexwww", []):
        nl = [t for t, typ, det in ev.get(d, []) if typ == "name-left"]
        if not nl:
            bad.append(f"{d}: www left at day {(world.first(d, 'www', False) - t0) / day:.1f}"
                       f", no name-left (state {rec[d]})")
            continue
        n = sum(1 for o in per.get(d, []) if o["t"] / 1000 > nl[0] and f"www.{d}" in o["names"])
        www_after += n
        if n:
            bad.append(f"{d}: {n} orders for www after name-left")
        if rec[d] not in ACTIVE:
            bad.append(f"{d} (apexwww) ends {rec[d]}")
    fig.append(f"apex+www: {len(kinds.get('apexwww', []))} www left, "
               f"{sum(1 for d in kinds.get('apexwww', []) if any(t == 'name-left' for _, t, _ in ev.get(d, [])))}"
               f" name-left, {www_after} orders for www after")
    parked = 0
    for d in kinds.get("never", []):
        np_ = [t for t, typ, _ in ev.get(d, []) if typ == "never-pointed"]
        if np_:
            parked += 1
            if any(o["t"] / 1000 > np_[0] for o in per.get(d, [])):
                bad.append(f"{d}: ordered after it was parked")
        elif a.days >= 45:
            bad.append(f"{d} never pointed, not parked (state {rec[d]})")
        if rec[d] in oracle.OFFBOARD_EVENTS or rec[d] == "offboarded":
            bad.append(f"{d} never pointed, offboarded")
    fig.append(f"never pointed: {parked} of {len(kinds.get('never', []))} parked")
    miss = waiting = stale_verified = 0
    for d in kinds.get("undelegated", []):
        t_rm = world.first(d, "delegated", False)
        if any(typ == "delegation-missing" for _, typ, _ in ev.get(d, [])):
            miss += 1
        elif rec[d] in ("waiting-cname", "verifying", "abandoned"):
            waiting += 1          # its renewal began: it waits for the delegation
        else:
            bad.append(f"{d}: delegation removed at day {(t_rm - t0) / day:.1f}, "
                       f"no delegation-missing")
        # create-order trusts a verification of the last 4
        # dns.confirmation_interval_ms (1.2 s: 1.2 days here) and looks
        # again at an older one (finding 2 of README.md, fixed): no order
        # two days after the removal
        late_o = [o for o in per.get(d, []) if o["t"] / 1000 > t_rm + 2 * day]
        stale_verified += len(late_o)
        if late_o:
            bad.append(f"{d}: {len(late_o)} orders after its delegation was removed")
    fig.append(f"delegation removed: {len(kinds.get('undelegated', []))} domains, {miss} "
               f"delegation-missing, {waiting} renewing and waiting for the delegation; "
               f"{stale_verified} ordered once more on a verification made before the removal")
    blocked = sum(1 for d in kinds.get("caa", [])
                  if any(typ == "caa-blocked" for _, typ, _ in ev.get(d, [])))
    fig.append(f"CAA switched: {blocked} of {len(kinds.get('caa', []))} met a renewal "
               f"(caa-blocked), all covered after")

    # --- orders per issuance, orders per window
    bad_o, fig_o = orders_figures(a, cust, per, ev, out, orders, env)
    bad += bad_o
    fig += fig_o

    # --- lost, stuck
    dead = env.client().xlen(f"{env.prefix}:dead")
    if dead:
        bad.append(f"{dead} dead letters")
    wrong = [(d, cust[d]["kind"], st) for d, st in rec.items()
             if st not in END.get(cust[d]["kind"], ACTIVE | {"parked"})
             and not (cust[d]["kind"] == "never" and st == "parked")]
    for w in wrong[:20]:
        bad.append(f"{w[0]} ({w[1]}) ends in state {w[2]}")
    ca_down = max([e - b for w, b, e in out.log if w == "CA stopped"] + [0])
    stuck = ca_down + 60
    fig.append(f"lost: {dead} dead letters, {len(wrong)} domains in a state their kind "
               f"does not allow; stuck: longest non-waiting state {s.worst[0]:.0f} s "
               f"({s.worst[2]}, {s.worst[1]}; bound {stuck:.0f} s)")
    if s.worst[0] > stuck:
        bad.append(f"stuck: {s.worst}")
    t_steady = max([s.first_issued.get(d, t0) for d in cust
                    if cust[d]["kind"] != "undelegated"] + [t0 + 10 * day])
    bad_m, fig_m = bounded(s, env, t_steady)
    bad += bad_m
    fig += fig_m
    fig.append(f"DNS spot checks against the script: {s.samples} asked, "
               f"{len(s.dns_mismatch)} differed; sampler errors {s.errors}")
    for m in s.dns_mismatch[:5]:
        bad.append(f"DNS differs from the script: {m}")
    fig.append(f"wall time {t_end - t0:.0f} s for {a.days:g} days")
    return "\n".join(fig), bad


def L_states(env, cust):
    r = env.client()
    p = r.pipeline(transaction=False)
    for d in cust:
        p.hget(f"{env.prefix}:domain:{d}", "state")
    return {d: (v.decode() if v else None) for d, v in zip(cust, p.execute())}


# after the primary's pause, the CA's lookups that were waiting on it
# still fail for a while (its resolver's timeout), and the fleet sees the
# authorization invalid at its next poll
PAUSE_GRACE_S = 30
# the CA's word for a lookup of the TXT that failed (Pebble: "Error
# retrieving TXT records for DNS challenge (... i/o timeout)")
DNS_FAILED = re.compile(r"(?i)timeout|servfail|retrieving TXT")


def lost_with_ca(o, kills, states):
    """Whether order O died with its CA: a CA that stopped or stalled
    (KILLS, its times) came back new, without its orders, before it had
    handed out O's certificate or found O invalid (STATES: order id ->
    [(time, status)] as the CA answered)."""
    t = o["t"] / 1000
    k = next((k for k in kills if k >= t), None)
    return k is not None and not any(
        when <= k and st in ("downloaded", "invalid")
        for when, st in states.get(oracle.order_id(o), []))


def failed_in_pause(evs, pauses):
    """The orders of a domain (its events EVS) that the CA found invalid
    because its DNS lookup of the TXT failed while the primary was paused
    (PAUSES: (start, end + grace)); the events of one order's
    authorizations (a wildcard pair has two) count once."""
    n, last = 0, None
    for t, typ, det in evs:
        if typ == "authz-invalid" and DNS_FAILED.search(det) and \
                any(b <= t <= e for b, e in pauses):
            if last is None or t - last > 2:
                n += 1
            last = t
    return n


def orders_figures(a, cust, per, ev, out, orders, env):
    bad, fig = [], []
    # the orders the outages cost: those a CA that went took with it, and
    # those it failed because its DNS lookups met the paused primary
    kills = sorted(b for w, b, e in out.log if w == "CA stopped" or "stalled" in w)
    pauses = [(b, e + PAUSE_GRACE_S) for w, b, e in out.log if w == "primary paused"]
    states = oracle.ca_order_states(env.ca.log_path)
    n_orders = n_iss = n_lost = n_failed = inflight = 0
    extra = []
    for d in cust:
        os_ = per.get(d, [])
        iss = [t for t, typ, _ in ev.get(d, []) if typ == "issued"]
        n_orders += len(os_)
        n_iss += len(iss)
        fly = 1 if os_ and (not iss or os_[-1]["t"] / 1000 > iss[-1]) else 0
        x = max(0, len(os_) - len(iss) - fly)
        lost = min(x, sum(1 for o in os_ if lost_with_ca(o, kills, states)))
        failed = min(x - lost, failed_in_pause(ev.get(d, []), pauses))
        n_lost += lost
        n_failed += failed
        inflight += fly
        if x - lost - failed > 0:
            extra.append((d, x - lost - failed))
    nx = sum(x for _, x in extra)
    ratio = (n_orders - n_lost - n_failed - inflight) / max(1, n_iss)
    fig.append(f"orders at the CA: {n_orders} for {n_iss} certificates; {n_lost} lost with "
               f"a CA that stopped (neither served nor failed before), {n_failed} "
               f"failed by the CA's DNS lookups in the primary's pause, {inflight} in "
               f"flight at the end; {nx} extra ({100 * nx / max(1, n_iss):.2f} %): "
               f"{ratio:.4f} orders per certificate" + (f"; e.g. {extra[:5]}" if extra else ""))
    if ratio > 1.005:
        bad.append(f"{ratio:.4f} orders per certificate (> 1.005): {extra[:10]}")
    cfg = env.config_values
    lim = int(cfg["ratelimit.new_orders.limit"])
    per_s = int(cfg["ratelimit.new_orders.period_ms"]) / 1000
    ts = [o["t"] / 1000 for o in orders]
    # finding 1 of README.md (fixed): the slots taken while the CA was
    # down were spent together when it was back; the period after it is
    # printed apart, and judged with the rest
    backs = [e for w, b, e in out.log if w == "CA stopped"]
    ex = oracle.bucket_excess(ts, lim, per_s)
    ex_back = max([oracle.bucket_excess([t for t in ts if e <= t <= e + per_s], lim, per_s)
                   for e in backs] + [0])
    # the gate is passed at the worker's clock, the CA logs the request when it
    # arrives: the scheduling between the two (a loaded 2-core machine:
    # a few hundred ms) can bunch a few orders; at 1 s a day a token is
    # 100 ms, so the slack is 300 ms of orders, and at least 2
    allowed = max(2.0, 0.3 * lim / per_s)
    busiest = max_window(sorted(ts), per_s)
    fig.append(f"rate limit {lim} per {per_s / a.day_seconds:g} days: busiest window "
               f"{busiest} orders, largest excess over the bucket {ex:.1f} (allowed {allowed:.1f}), "
               f"{ex_back:.1f} in the period after the CA came back; "
               f"{env.ca.blocked} newOrders answered rateLimited by the CA")
    if ex > allowed:
        bad.append(f"orders exceed the bucket by {ex:.1f}")
    return bad, fig


def max_window(ts, w):
    best, i = 0, 0
    for j, t in enumerate(ts):
        while ts[i] < t - w:
            i += 1
        best = max(best, j - i + 1)
    return best


def bounded(s, env, t_steady):
    """The run after T_STEADY (every first issuance done) in thirds."""
    bad, fig = [], []
    ser = [x for x in s.series if x[0] >= t_steady] or s.series
    k = max(1, len(ser) // 3)
    first, last = ser[:k], ser[-k:]
    keys = set()
    for _, _, lens in ser:
        keys |= set(lens)
    parts = []
    for key in sorted(keys):
        f = max(l.get(key, 0) for _, _, l in first)
        g = max(l.get(key, 0) for _, _, l in last)
        parts.append(f"{key.split(':', 1)[1]} {f}->{g}")
        if key.endswith(":events"):
            if g > 100000 * 1.1:
                bad.append(f"{key} {g} entries, past its MAXLEN")
        elif g > 2 * f + 100:       # trimmed in steps (XTRIM MINID ~): a sawtooth
            bad.append(f"{key} grew: at most {f} in the first third, {g} in the last")
    tenth = [ser[min(len(ser) - 1, i * len(ser) // 10)] for i in range(10)] + [ser[-1]]
    fig.append("stream lengths at each tenth of the steady run: " + "; ".join(
        f"{key.split(':', 1)[1]} " + " ".join(str(l.get(key, 0)) for _, _, l in tenth)
        for key in sorted(keys) if ":stream:" in key))
    fm = max(m for _, m, _ in first)
    gm = max(m for _, m, _ in last)
    fig.append(f"bounded (after day {(t_steady - s.t0) / s.day:.0f}, max in the first third -> "
               f"in the last): used_memory "
               f"{fm / 1e6:.1f}->{gm / 1e6:.1f} MB; " + ", ".join(parts))
    if gm > 1.5 * fm + 2e6:
        bad.append(f"used_memory grew: {fm} -> {gm}")
    return bad, fig

