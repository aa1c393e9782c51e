#!/usr/bin/python3
"""The demo's driver (deploy/demo.sh runs it after installing and building):
the real thing on embedded defaults, on this machine, on loopback.

It starts redis-server, BIND (authoritative servers P and S, resolvers R for
the fleet and CA_R for the CA) and Pebble, registers the ACME account, runs
two dcv-worker processes with all five stages, onboards a few demo domains
and prints what happens to them until every one has its certificate.

The environment is tests/integration/fleet_env.py, the one the end-to-end
tests use: the demo and the tests share one definition of it (zones, TSIG
keys, nameserver addresses, resolvers, Pebble, the worker's configuration).
Only the timers are shortened here (a customer who takes seconds, not days).

Everything it starts is stopped by PID when it ends, also on Ctrl-C, SIGTERM
or an error; the last line names those PIDs.

  /usr/bin/python3 deploy/demo.py [--build-dir DIR] [--timeout S] [--keep]
                                 [--console [ADDR:PORT]]

--console: once every domain is issued, keep the fleet running and serve
the web console (dcvctl console, deploy/console/README.md) on ADDR:PORT
(default 127.0.0.1:8080) with a fresh write token, printed; Ctrl-C stops all.

DIR: the build tree with workers/dcv-worker and workers/dcvctl (default
$DCV_BUILD_DIR, else build/ of this checkout).  Exit 0 when every demo
domain was issued and its chain verified, 1 otherwise.
"""
import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The demo customers: readable zone names, one certificate each.
ZONES = ["shop.test", "blog.test", "bakery.test", "garden.test"]
READY = ["www.shop.test", "www.blog.test"]          # CNAME + A before onboarding
APEX = ("bakery.test", ["bakery.test", "www.bakery.test"])   # apex + www
LATE = "www.garden.test"                            # CNAME some seconds after
LATE_AFTER_S = 5.0
US = "203.0.113.10"          # in fleet_env.POINTING_RANGE: "pointing at us"

class Stop(Exception):
    """SIGTERM or SIGHUP: stop like on Ctrl-C."""


def _on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def out(line=""):
    print(line, flush=True)


def section(title):
    out()
    out(f"== {title}")


def indent(text, pad="   "):
    return "\n".join(pad + l for l in text.rstrip("\n").splitlines())


def when(ms):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(ms) / 1000)) + "Z"


class Demo:
    def __init__(self, args):
        self.args = args
        self.env = None
        self.tmp = None
        self.pids = []          # (what, pid) of every process started
        self.t0 = None          # onboarding began (monotonic)
        self.t0_ms = None       # the same in unix ms
        self.domains = READY + [APEX[0], LATE]
        self.sans = {d: [d] for d in self.domains}
        self.sans[APEX[0]] = APEX[1]
        self.issued = {}
        self.seen_state = {}

    def rel(self, ms=None):
        now = time.time() * 1000 if ms is None else int(ms)
        return f"+{(now - self.t0_ms) / 1000:5.1f}s"

    # ------------------------------------------------------------ set-up

    def start(self):
        from fleet_env import FAST_TIMERS, FleetEnv
        self.tmp = tempfile.mkdtemp(prefix="dcv-demo-")
        section("starting redis-server, BIND and Pebble on loopback "
                "(tests/integration/fleet_env.py)")
        self.env = FleetEnv(self.tmp, zones=ZONES)
        env = self.env
        env.base_config.update(FAST_TIMERS)
        env.write_config()
        self.pids += [("redis-server", env.redis.proc.pid)]
        rows = [("redis-server", env.redis.proc.pid, env.redis.url)]
        for name, srv, role in (("P", env.p, "authoritative ns1.dns.test"),
                                ("S", env.s, "authoritative ns2.dns.test"),
                                ("R", env.r, "resolver of the workers"),
                                ("CA_R", env.ca_r, "resolver of the CA")):
            self.pids.append((f"named {name}", srv.proc.pid))
            rows.append((f"named {name}", srv.proc.pid, f"127.0.0.1:{srv.port}  {role}"))
        self.pids.append(("pebble", env.pebble.proc.pid))
        rows.append(("pebble", env.pebble.proc.pid, env.pebble.directory))
        for what, pid, where in rows:
            out(f"   {what:<13} pid {pid:<7} {where}")
        out(f"   customer zones {', '.join(ZONES)}; validation zone {env.validation_zone}")
        out(f"   config {env.config}")

        section("registering the fleet's ACME account (dcvctl account register)")
        r = env.ctl("account", "register", "--email", "ops@example.com")
        out(indent(r.stdout))

        section("starting two dcv-worker processes (all five stages)")
        for _ in range(2):
            w = env.start_worker()
            self.pids.append(("dcv-worker", w.pid))
            out(f"   dcv-worker    pid {w.pid:<7} log {w.logpath}")

    # -------------------------------------------------------- onboarding

    def customer_ready(self, name):
        self.env.add_cname(name)
        self.env.set_a(name, [US])

    def onboard(self):
        env = self.env
        section("the customers that are ready: CNAME and A record in place")
        for d in READY + APEX[1]:
            self.customer_ready(d)
            out(f"   _acme-challenge.{d}. CNAME {env.target(d)}.   {d}. A {US}")
        env.set_a(LATE, [US])
        out(f"   ({LATE} points at us but has no CNAME yet)")

        section("onboarding (dcvctl onboard)")
        self.t0 = time.monotonic()
        self.t0_ms = time.time() * 1000
        self.late_cnames = []
        for d in self.domains:
            args = ["onboard", d, "--tenant", "demo"]
            if d == APEX[0]:
                args += ["--names", ",".join(APEX[1])]
            out(f"$ dcvctl {' '.join(args)}")
            r = env.ctl(*args)
            out(indent(r.stdout))
            if d == LATE:
                self.late_cnames = re.findall(r"^\s*(\S+)\. CNAME (\S+)\.\s*$",
                                              r.stdout, re.M)
        if not self.late_cnames:
            raise RuntimeError(f"dcvctl onboard {LATE} printed no CNAME")
        out(f"   (the customer of {LATE} creates its CNAME in {LATE_AFTER_S:.0f} s)")

    def late_customer(self):
        for name, target in self.late_cnames:
            self.env.set_rr(name, "CNAME", target + ".")
        out(f"{self.rel()}  {LATE:<17} {'CUSTOMER':<14} creates "
            + ", ".join(f"{n}. CNAME {t}." for n, t in self.late_cnames))

    # --------------------------------------------------------- following

    def status(self, d):
        r = self.env.ctl("status", d, check=False)
        return dict(l.split(None, 1) for l in r.stdout.splitlines() if len(l.split(None, 1)) == 2)

    def show_states(self):
        """A line whenever a domain's state or stage changes, or its error
        (up to the first ':', so a recheck with the same outcome is quiet);
        the error in full on the next line.  "issued" comes as an event."""
        for d in self.domains:
            h = self.env.domain(d)
            state, stage, err = h.get("state", "?"), h.get("stage", "-"), h.get("last_error", "")
            key = (state, stage, err.split(":")[0])
            if key == self.seen_state.get(d) or d in self.issued or state == "issued":
                continue
            self.seen_state[d] = key
            out(f"{self.rel()}  {d:<17} {state:<14} stage {stage}")
            if err:
                out(textwrap.fill(err, width=110, initial_indent=" " * 27 + "why: ",
                                  subsequent_indent=" " * 32))

    def on_event(self, e):
        d = e.get("domain", "?")
        detail = e.get("detail", "")
        out(f"{self.rel(e.get('time'))}  {d:<17} {'EVENT ' + e.get('type', '?'):<14} {detail}".rstrip())
        if e.get("type") == "issued" and d in self.sans and d not in self.issued:
            self.issued[d] = True
            self.summary(d)

    def summary(self, d):
        env = self.env
        c = env.cert(d)
        info = env.verify_cert(c["chain"], self.sans[d])   # raises if it does not verify
        st = self.status(d)
        n = c["chain"].count("-----BEGIN CERTIFICATE-----")
        out(f"{'':27}certificate (dcv:cert:{d}):")
        rows = [("names", c.get("names", "")),
                ("serial", c.get("serial", "")),
                ("not_after", when(int(c["not_after"]) * 1000)),
                ("issuer", info["issuer"]),
                ("chain", f"{n} certificates, verified against Pebble's root "
                          f"(SANs {', '.join(info['sans'])})"),
                ("key", c.get("key_enc", "")),
                ("status", f"state {st.get('state', '?')}, next stage "
                           f"{st.get('stage', '?')}, certificates {st.get('certificates', '?')}")]
        for k, v in rows:
            out(f"{'':29}{k:<10} {v}")

    def follow(self):
        section("following dcv:events (XREAD BLOCK) and each domain's state "
                "(time since onboarding)")
        client = self.env.client()
        stream = f"{self.env.prefix}:events"
        last = "0-0"
        late_at = self.t0 + LATE_AFTER_S
        late_done = False
        deadline = self.t0 + self.args.timeout
        while len(self.issued) < len(self.domains):
            now = time.monotonic()
            if now >= deadline:
                return False
            if not late_done and now >= late_at:
                self.late_customer()
                late_done = True
            self.show_states()
            block = 250
            if not late_done:
                block = max(1, min(block, int((late_at - now) * 1000)))
            resp = client.xread({stream: last}, count=100, block=block)
            for _, entries in resp or []:
                for eid, f in entries:
                    last = eid.decode()
                    self.on_event(self.env._dec(f))
        return True

    # ---------------------------------------------------------- the end

    def report_failure(self):
        out()
        missing = [d for d in self.domains if d not in self.issued]
        out(f"demo FAILED: not issued within {self.args.timeout:.0f} s: {', '.join(missing)}")
        for d in missing:
            h = self.env.domain(d)
            out(f"   {d:<17} state {h.get('state', '?')}, stage {h.get('stage', '?')}: "
                f"{h.get('last_error', '')}")
        for i, w in enumerate(self.env.workers):
            out(f"-- worker {i} log (last lines): {w.logpath}")
            out(indent("\n".join(self.env.log(w).splitlines()[-15:])))

    def final(self):
        section("final state (dcvctl status)")
        for d in self.domains:
            st = self.status(d)
            out(f"   {d:<17} {st.get('state', '?'):<8} serial {st.get('serial', '?')}  "
                f"not after {when(int(st.get('not_after', 0)) * 1000)}")
        section("the fleet (dcvctl stats)")
        out(indent(self.env.ctl("stats").stdout))

    def console(self, listen):
        """dcvctl console on LISTEN with a new write token, until Ctrl-C."""
        import harness
        token = os.urandom(12).hex()
        path = os.path.join(self.tmp, "console-write-token")
        with open(path, "w") as f:
            f.write(token + "\n")
        os.chmod(path, 0o600)
        log = os.path.join(self.tmp, "console.log")
        self.console_proc = harness.Proc(
            [harness.program("dcvctl"), "-c", self.env.config, "console", "--listen", listen,
             "--write-token-file", path], log, env=self.env.env())
        self.pids.append(("dcvctl console", self.console_proc.pid))
        deadline = time.time() + 20
        while "listening on" not in open(log).read():
            if self.console_proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"dcvctl console did not start: {open(log).read()}")
            time.sleep(0.05)
        url = re.search(r"listening on (\S+)", open(log).read()).group(1)
        section("the web console")
        out(f"   open {url} in a browser (actions ask for the write token {token});")
        out("   on another machine: ssh -L 8080:127.0.0.1:8080 THIS_HOST, then open it there")
        out("   Ctrl-C stops the console and the fleet")
        while self.console_proc.poll() is None:
            time.sleep(0.5)

    def stop(self):
        """Workers first, by SIGTERM (they drain), then the servers; all by PID."""
        env, self.env = self.env, None
        if env is None:
            return True     # nothing started, or FleetEnv stopped its own
        section("stopping everything by PID")
        if getattr(self, "console_proc", None):
            self.console_proc.stop()
        for w in list(env.workers):
            try:
                env.stop_worker(w, timeout=15)
            except Exception as e:
                out(f"   dcv-worker {w.pid}: {e}")
        env.close()
        left = []
        for what, pid in self.pids:
            try:
                os.kill(pid, 0)
                left.append(f"{what} {pid}")
            except ProcessLookupError:
                pass
            except PermissionError:
                left.append(f"{what} {pid}")
        if left:
            out(f"   STILL RUNNING: {', '.join(left)}")
        else:
            out(f"   stopped pids {' '.join(str(p) for _, p in self.pids)}; none left")
        return not left


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.environ.get("DCV_BUILD_DIR",
                                                          os.path.join(ROOT, "build")))
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds from onboarding until every domain must be issued")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    ap.add_argument("--console", nargs="?", const="127.0.0.1:8080", metavar="ADDR:PORT",
                    help="then serve the web console until Ctrl-C (default 127.0.0.1:8080)")
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    for prog in ("dcv-worker", "dcvctl"):
        if not os.access(os.path.join(build, "workers", prog), os.X_OK):
            sys.exit(f"demo: {build}/workers/{prog} is not built (run deploy/demo.sh, "
                     "or give --build-dir)")
    # harness.py reads these when imported; the tree is shared, no .pyc in it
    os.environ["DCV_BUILD_DIR"] = build
    os.environ.setdefault("DCV_SOURCE_DIR", ROOT)
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

    # Ctrl-C stops everything, even when started where SIGINT is ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    demo = Demo(args)
    ok = False
    keep = args.keep
    try:
        demo.start()
        demo.onboard()
        if demo.follow():
            demo.final()
            ok = True
            if args.console:
                demo.console(args.console)
        else:
            demo.report_failure()
            keep = True
    except (KeyboardInterrupt, Stop) as e:
        out()
        out(f"demo interrupted ({e.__class__.__name__ if isinstance(e, KeyboardInterrupt) else e})")
    except Exception as e:
        out()
        out(f"demo FAILED: {e}")
        keep = True
    finally:
        # a second Ctrl-C must not leave the servers running
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for s in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        try:
            if not demo.stop():
                ok = False
        except Exception as e:
            out(f"demo: stopping: {e}")
            ok = False
        if demo.tmp:
            if keep:
                out(f"   logs and config kept in {demo.tmp}")
            else:
                shutil.rmtree(demo.tmp, ignore_errors=True)
    if ok:
        out()
        out(f"demo OK: {len(demo.domains)} domains issued")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
