"""The soak's scripted customers: who does what on which (scaled) day.

Kinds, as fractions of N domains (at least one of each):

  steady       points at us, keeps its delegation, the whole run
  never        delegates but never points at us (A elsewhere): parked
  left         points, then leaves for good on a day in the middle
  returning    leaves, comes back after RETURN_DAYS (< the offboard window)
  flapping     away FLAP_AWAY days, back FLAP_HOME days, over and over
  undelegated  removes its _acme-challenge CNAME while pointing at us
  caa          a CAA for another CA for CAA_DAYS, timed over its renewal
  wild         *.<d> and <d> in one certificate, staying
  wild-left    *.<d> and <d>, the base leaves (the wildcard's base with it)
  apexwww      <apex> and www.<apex>; www leaves for good, the apex stays

A plan is a list of (day, domain, action); the driver applies them.
Actions: away, home, undelegate, caa-other, caa-ours, www-away.  The caa
customers are timed by the driver from their record's renew_at (a script
that wants its CAA switch to meet a renewal), not here."""
import random

MIX = [("steady", 0.36), ("never", 0.07), ("left", 0.10), ("returning", 0.08),
       ("flapping", 0.08), ("undelegated", 0.06), ("caa", 0.07), ("wild", 0.05),
       ("wild-left", 0.04), ("apexwww", 0.09)]
RETURN_DAYS = 3          # away, then back: well inside the 7-day window
FLAP_AWAY, FLAP_HOME = 2, 3
CAA_DAYS = 8


def make(env, n, seed=11):
    """{domain: {"kind", "names", "cover"}} for N customers over env's zones.
    "names" is the certificate's names, "cover" those that must stay covered
    while the domain points at us."""
    kinds = []
    for k, f in MIX:
        kinds += [k] * max(1, round(n * f))
    kinds = (kinds + ["steady"] * n)[:max(n, len(MIX))]
    random.Random(seed).shuffle(kinds)
    out = {}
    for i, k in enumerate(kinds):
        z = env.zones[i % len(env.zones)]
        d = f"{k.replace('-', '')}{i}.{z}"
        names, cover = [d], [d]
        if k in ("wild", "wild-left"):
            names = cover = [f"*.{d}", d]
        elif k == "apexwww":
            names = [d, f"www.{d}"]
        out[d] = {"kind": k, "names": names, "cover": cover}
    return out


def plan(cust, days, seed=12):
    """The timed actions of every customer over DAYS: departures and
    returns from day 0.2 * DAYS to 0.7 * DAYS, so that every departed one
    has its window (7 days) and the checks to be offboarded before the end."""
    rnd = random.Random(seed)
    lo, hi = max(12, int(days * 0.2)), max(14, int(days * 0.7))
    out = []
    for d, c in cust.items():
        k = c["kind"]
        day = rnd.uniform(lo, hi)
        if k in ("left", "wild-left"):
            out.append((day, d, "away"))
        elif k == "returning":
            out += [(day, d, "away"), (day + RETURN_DAYS, d, "home")]
        elif k == "flapping":
            t = rnd.uniform(lo, lo + FLAP_AWAY + FLAP_HOME)
            while t + FLAP_AWAY < hi + 10:
                out += [(t, d, "away"), (t + FLAP_AWAY, d, "home")]
                t += FLAP_AWAY + FLAP_HOME + rnd.uniform(0, 1)
        elif k == "undelegated":
            out.append((day, d, "undelegate"))
        elif k == "apexwww":
            out.append((day, d, "www-away"))
    out.sort()
    return out
