#!/usr/bin/env python3
"""End-to-end issuance benchmark (bench/ISSUANCE.md): certificates per second
and the median enqueue->issued time for DNS-01 with CNAME delegation, against
one local Pebble and one local BIND named, for the peer clients `lego`
(rfc2136 provider) and `uacme` (with bench/uacme-hook.sh), one at a time and
N at a time, and for dcvfleet (run_dcvfleet, below) in the same run.

Also the server side's ceiling: Pebble's and named's CPU seconds per
certificate during each run (utime+stime from /proc/<pid>/stat before and
after), turned into certificates per second for a given number of cores.

Run it through bench/issuance.sh (checks the packages, builds if needed).
Needs root: named, and `unshare -m` + a bind mount for uacme (which has no
option for a CA file and trusts the system bundle only).

Layout of the DNS (one named, authoritative for everything it is asked about,
so nothing ever leaves the machine):
  b.test            customer zone: _acme-challenge.dN.b.test CNAME
                    dN.b.test.validation.test. for every domain, in place
                    before anything starts
  validation.test   the validation zone, dynamic: the TSIG key may add and
                    delete TXT records under it (update-policy zonesub TXT)
  .                 a stub root zone, so the recursion Pebble needs (named
                    chains CNAME -> TXT across its own zones for Pebble's
                    -dnsserver queries, see shared TESTENV.md) never asks the
                    root servers
Both zones name ns1.<zone> at 192.0.2.1 (TEST-NET); the env's port_map maps
that to the named's loopback port for dcvfleet's DNS layer.
"""
import argparse
import base64
import concurrent.futures
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402  (tests/integration)
import pebble_env  # noqa: E402
from dns_env import Named, yaml_dump  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
EMAIL = "bench@dcvfleet.test"
NS_ADDR = "192.0.2.1"


def log(msg):
    print(f"issuance: {msg}", file=sys.stderr, flush=True)


def proc_cpu(pid):
    """utime+stime of PID (all its threads) in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rfind(")") + 2:].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def write_secret_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


# --------------------------------------------------------------------------
# The environment: Pebble + named + TSIG key + domains with CNAMEs in place.
# --------------------------------------------------------------------------

class IssuanceEnv:
    """Pebble (its own throwaway TLS CA) pointed at one named that holds the
    customer zone with every delegation CNAME and the dynamic validation zone.

    What a client needs (run_dcvfleet included):
      directory_url      Pebble's ACME directory
      pebble_ca          PEM of the CA that signed Pebble's HTTPS certificate
      root_pem()         the root Pebble issues under (this start only)
      dns_port           the named's port on 127.0.0.1 (dns_server: "addr:port")
      port_map           ["192.0.2.1=127.0.0.1:PORT"]: NS address -> named
                         (and dns.allowed_ns_ranges [192.0.2.1]: TEST-NET)
      tsig_name, tsig_algorithm, tsig_secret (never printed),
      tsig_secret_file   (the base64 secret alone, 0600),
      tsig_keyfile       (a BIND `key` clause, 0600, for nsupdate -k)
      validation_zone, customer_zone, target(domain)
      take_domains(n)    the next n unused domains (distinct sets per run, so
                         no authorization reuse crosses runs)
      pebble_pid, named_pid  for CPU accounting (Meter)
      dcv_config(path, redis_url)  a dcv.yaml with acme/dns/provider/
                         validation sections pointing here
    """

    customer_zone = "b.test"
    validation_zone = "validation.test"
    tsig_name = "dcv-bench."
    tsig_algorithm = "hmac-sha256"

    def __init__(self, tmp, n_domains, pebble_vars=None):
        self.tmp = tmp
        self.domains = [f"d{i}.{self.customer_zone}" for i in range(1, n_domains + 1)]
        self._next = 0
        self._secret = base64.b64encode(os.urandom(32)).decode()
        self.tsig_secret_file = write_secret_file(os.path.join(tmp, "tsig.secret"),
                                                  self._secret + "\n")
        self.tsig_keyfile = write_secret_file(
            os.path.join(tmp, "tsig.key"),
            f'key "{self.tsig_name}" {{ algorithm {self.tsig_algorithm}; '
            f'secret "{self._secret}"; }};\n')
        self.named = None
        self.pebble = None
        try:
            self._start_named()
            self._start_pebble(pebble_vars or {})
        except BaseException:
            self.stop()
            raise

    def __repr__(self):
        return (f"IssuanceEnv(directory={self.directory_url}, dns=127.0.0.1:"
                f"{self.dns_port}, domains={len(self.domains)}, tsig={self.tsig_name})")

    # -- DNS --
    def target(self, domain):
        return f"{domain}.{self.validation_zone}"

    def _zone_head(self, zone, ttl):
        return (f"$TTL {ttl}\n@ SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 1\n"
                f"@ NS ns1.{zone}.\nns1 A {NS_ADDR}\n")

    def _start_named(self):
        cz = [self._zone_head(self.customer_zone, 300)]
        suffix = "." + self.customer_zone
        for d in self.domains:
            cz.append(f"_acme-challenge.{d[:-len(suffix)]} CNAME {self.target(d)}.\n")
        vz = self._zone_head(self.validation_zone, 60)
        root = ("$TTL 300\n@ SOA a.root. hostmaster.root. 1 3600 600 86400 1\n"
                "@ NS a.root.\na.root. A 127.0.0.1\n")
        keys = open(self.tsig_keyfile).read()
        self.named = Named(self.tmp, "named", {
            self.customer_zone: ("type primary;", "".join(cz)),
            self.validation_zone: (f"type primary; update-policy {{ grant {self.tsig_name} "
                                   "zonesub TXT; };", vz),
            ".": ("type primary;", root),
        }, extra_options="recursion yes; allow-recursion { 127.0.0.1; }; "
                         "allow-query { 127.0.0.1; }; qname-minimization off;",
            keys=keys)

    @property
    def dns_port(self):
        return self.named.port

    @property
    def dns_server(self):
        return f"127.0.0.1:{self.named.port}"

    @property
    def port_map(self):
        return [f"{NS_ADDR}=127.0.0.1:{self.named.port}"]

    @property
    def tsig_secret(self):
        return self._secret

    @property
    def named_pid(self):
        return self.named.proc.pid

    # -- Pebble --
    def _start_pebble(self, extra_vars, restart=0):
        d = os.path.join(self.tmp, "pebble")
        if not restart:
            os.makedirs(d)
            self.pebble_ca = pebble_env.make_tls(d)
        self.pebble_port = harness.free_port()
        self.pebble_mgmt_port = harness.free_port()
        conf = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.pebble_port}",
            "managementListenAddress": f"127.0.0.1:{self.pebble_mgmt_port}",
            "certificate": os.path.join(d, "server.pem"),
            "privateKey": os.path.join(d, "server.key"),
            "httpPort": harness.free_port(), "tlsPort": harness.free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        cfg = os.path.join(d, "pebble.json")
        with open(cfg, "w") as f:
            json.dump(conf, f)
        self.pebble_vars = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_AUTHZREUSE": "0",
                            "PEBBLE_WFE_NONCEREJECT": "0"}
        self.pebble_vars.update(extra_vars)
        self.pebble_restarts = restart
        self.pebble = harness.Proc(["pebble", "-config", cfg, "-dnsserver", self.dns_server],
                                   os.path.join(d, f"pebble{'-' + str(restart) if restart else ''}.log"),
                                   env=self.pebble_vars)
        harness.wait_port(self.pebble_port, proc=self.pebble)
        harness.wait_port(self.pebble_mgmt_port, proc=self.pebble)
        harness.wait_until(self._directory_ok, 20, what="Pebble directory")

    def _directory_ok(self):
        if self.pebble.poll() is not None:
            raise RuntimeError(f"pebble exited:\n{self.pebble.output()[-2000:]}")
        try:
            ctx = ssl.create_default_context(cafile=self.pebble_ca)
            with urllib.request.urlopen(self.directory_url, context=ctx, timeout=2) as r:
                return b"newOrder" in r.read()
        except OSError:
            return False

    def pebble_answers(self, timeout=3):
        """Whether Pebble's store answers within TIMEOUT seconds: a lookup of
        an unknown serial on the management port takes the store's read lock
        (the directory and nonces do not, and keep answering when it is
        wedged).  Any HTTP answer (404 here) is a live store."""
        try:
            ctx = ssl.create_default_context(cafile=self.pebble_ca)
            with urllib.request.urlopen(
                    f"https://127.0.0.1:{self.pebble_mgmt_port}/cert-status-by-serial/1",
                    context=ctx, timeout=timeout) as r:
                r.read()
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def restart_pebble(self, dump=True):
        """Pebble 2.4 can wedge under concurrent load (a lock-ordering
        deadlock in its in-memory store, see ISSUANCE.md): SIGQUIT makes the
        Go runtime write every goroutine's stack to its log and exit; then a
        fresh Pebble (same settings, same HTTPS CA, new ports and a new root)."""
        if self.pebble is not None:
            if dump and self.pebble.poll() is None:
                self.pebble.signal(signal.SIGQUIT)
                try:
                    self.pebble.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            self.pebble.stop()
            if dump:
                log(f"Pebble stopped; its goroutine dump is in {self.pebble.logpath}")
            self.pebble = None
        root = os.path.join(self.tmp, "pebble-root.pem")
        if os.path.exists(root):
            os.unlink(root)   # the new Pebble issues under a new root
        extra = {k: v for k, v in self.pebble_vars.items()}
        self._start_pebble(extra, restart=self.pebble_restarts + 1)

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.pebble_port}/dir"

    @property
    def pebble_pid(self):
        return self.pebble.pid

    def root_pem(self):
        ctx = ssl.create_default_context(cafile=self.pebble_ca)
        with urllib.request.urlopen(f"https://127.0.0.1:{self.pebble_mgmt_port}/roots/0",
                                    context=ctx, timeout=10) as r:
            return r.read().decode()

    # -- domains --
    def take_domains(self, n):
        if self._next + n > len(self.domains):
            raise RuntimeError(f"only {len(self.domains) - self._next} unused domains left, need {n}")
        out = self.domains[self._next:self._next + n]
        self._next += n
        return out

    def dcv_config(self, path, redis_url, **sections):
        """Writes a dcv.yaml for dcv-worker/dcvctl pointing at this env (the
        secret by file).  SECTIONS override or add top-level sections."""
        conf = {
            "redis": {"url": redis_url},
            "log": {"level": "warn"},
            "metrics": {"port": 0},
            "validation": {"zone": self.validation_zone},
            "acme": {"directory": self.directory_url, "ca_bundle": self.pebble_ca,
                     "email": EMAIL},
            "dns": {"resolvers": [self.dns_server], "port_map": self.port_map,
                    "allowed_ns_ranges": [NS_ADDR]},  # TEST-NET, mapped
            "provider": {"type": "rfc2136", "zone": self.validation_zone,
                         "server": self.dns_server,
                         "tsig": {"name": self.tsig_name,
                                  "algorithm": self.tsig_algorithm,
                                  "secret_file": self.tsig_secret_file}},
        }
        for k, v in sections.items():
            if isinstance(v, dict) and isinstance(conf.get(k), dict):
                conf[k].update(v)
            else:
                conf[k] = v
        with open(path, "w") as f:
            f.write(yaml_dump(conf))
        return path

    def stop(self):
        if self.pebble is not None:
            self.pebble.stop()
            self.pebble = None
        if self.named is not None:
            self.named.stop()
            self.named = None


# --------------------------------------------------------------------------
# CPU and wall-clock accounting for one run.
# --------------------------------------------------------------------------

class Meter:
    """start() ... stop() around the timed part of a run.  Server CPU from
    /proc of Pebble and named; client CPU from this process's reaped children
    (os.times) plus any CLIENT_PIDS (long-running, not yet reaped children
    such as dcv-worker: pass the same pids to start and stop, and call stop()
    before stopping them)."""

    def __init__(self, env):
        self.env = env
        self.t0 = self.t1 = None

    def _snap(self, client_pids):
        t = os.times()
        return {"t": time.monotonic(),
                "pebble": proc_cpu(self.env.pebble_pid),
                "named": proc_cpu(self.env.named_pid),
                "children": t.children_user + t.children_system,
                "pids": {p: proc_cpu(p) for p in client_pids}}

    def start(self, client_pids=()):
        self.a = self._snap(client_pids)
        self.t0 = self.a["t"]
        return self.t0

    def stop(self, client_pids=()):
        self.b = self._snap(client_pids)
        self.t1 = self.b["t"]
        return self.t1

    def result(self):
        a, b = self.a, self.b
        client = b["children"] - a["children"]
        client += sum(v - a["pids"].get(p, 0.0) for p, v in b["pids"].items())
        return {"wall": b["t"] - a["t"], "pebble_cpu": b["pebble"] - a["pebble"],
                "named_cpu": b["named"] - a["named"], "client_cpu": client}


# --------------------------------------------------------------------------
# Child processes: each in its own process group, killed by its pid on abort.
# --------------------------------------------------------------------------

_running = {}
_running_lock = threading.Lock()
_abort = threading.Event()


def run_child(argv, env, logpath, timeout):
    """Runs ARGV with output to LOGPATH; returns its exit status (-9 after a
    timeout kill, None when aborted before it started)."""
    full = dict(os.environ)
    full.update(env)
    with open(logpath, "ab") as out:
        # Started and registered under the lock, after the abort check: a
        # child either is seen by kill_running() or is never started.
        with _running_lock:
            if _abort.is_set():
                return None
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=full,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
            _running[p.pid] = p
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(p)
            return -9
        finally:
            with _running_lock:
                _running.pop(p.pid, None)


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)  # its own group: pgid == its pid
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def kill_running():
    _abort.set()
    with _running_lock:
        procs = list(_running.values())
    for p in procs:
        _kill_group(p)


# --------------------------------------------------------------------------
# The peers.
# --------------------------------------------------------------------------

class Lego:
    name = "lego"

    def __init__(self, env, tmp, polling_interval=None):
        self.env = env
        self.path = os.path.join(tmp, "lego")
        os.makedirs(self.path)
        self.vars = {
            "LEGO_CA_CERTIFICATES": env.pebble_ca,
            "RFC2136_NAMESERVER": env.dns_server,
            "RFC2136_TSIG_KEY": env.tsig_name,
            "RFC2136_TSIG_ALGORITHM": env.tsig_algorithm + ".",
            # lego reads any of its variables from NAME_FILE: the secret
            # stays out of argv and environ.
            "RFC2136_TSIG_SECRET_FILE": env.tsig_secret_file,
        }
        if polling_interval is not None:
            self.vars["RFC2136_POLLING_INTERVAL"] = str(polling_interval)

    def argv(self, domain):
        # --dns.disable-cp + --dns.resolvers: lego's full propagation check
        # asks the zone's nameservers on port 53 (TESTENV.md).
        return ["lego", "--path", self.path, "--server", self.env.directory_url,
                "--email", EMAIL, "--accept-tos", "--key-type", "ec256",
                "--dns", "rfc2136", "--dns.disable-cp",
                "--dns.resolvers", self.env.dns_server,
                "--domains", domain, "run"]

    def cert_path(self, domain):
        return os.path.join(self.path, "certificates", f"{domain}.crt")

    def register(self, logdir):
        """lego 4.9 has no register-only command: its first `run` registers
        the account (saved under --path, shared by later processes); the
        warm-up issuance that does it is outside the timing."""
        return None


class Uacme:
    name = "uacme"

    def __init__(self, env, tmp):
        self.env = env
        self.confdir = os.path.join(tmp, "uacme")
        os.makedirs(self.confdir)
        self.hook = os.path.join(HERE, "uacme-hook.sh")
        self.vars = {"ISSUANCE_DNS_PORT": str(env.dns_port),
                     "ISSUANCE_ZONE": env.validation_zone,
                     "ISSUANCE_KEYFILE": env.tsig_keyfile}

    def _base(self):
        # uacme trusts the system store only: a private mount namespace with
        # the test CA bound over the system bundle (TESTENV.md).
        return ["unshare", "-m", "sh", "-c",
                'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"',
                self.env.pebble_ca,
                "uacme", "-a", self.env.directory_url, "-c", self.confdir,
                "-t", "EC", "-b", "256", "-y", "-h", self.hook]

    def argv(self, domain):
        return self._base() + ["issue", domain]

    def cert_path(self, domain):
        return os.path.join(self.confdir, domain, "cert.pem")

    def register(self, logdir):
        return self._base() + ["new", EMAIL]


def prepare_peer(env, peer, logdir, timeout):
    """Account registration and one warm-up issuance, outside the timing."""
    reg = peer.register(logdir)
    if reg:
        rc = run_child(reg, peer.vars, os.path.join(logdir, f"{peer.name}-register.log"), timeout)
        if rc != 0:
            raise RuntimeError(f"{peer.name} account registration failed (exit {rc}); "
                               f"see {logdir}/{peer.name}-register.log")
    (d,) = env.take_domains(1)
    lp = os.path.join(logdir, f"{peer.name}-warmup.log")
    rc = run_child(peer.argv(d), peer.vars, lp, timeout)
    if rc != 0 or not os.path.exists(peer.cert_path(d)):
        raise RuntimeError(f"{peer.name} warm-up issuance for {d} failed (exit {rc}):\n"
                           + tail(lp))
    verify_cert(env, peer.cert_path(d), d)


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def verify_cert(env, path, domain):
    """Checks one issued chain against this Pebble's root and the domain."""
    root = os.path.join(env.tmp, "pebble-root.pem")
    if not os.path.exists(root):
        with open(root, "w") as f:
            f.write(env.root_pem())
    r = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted", path, path],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"certificate {path} does not verify: {r.stdout}{r.stderr}")
    r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-ext", "subjectAltName"],
                       capture_output=True, text=True, timeout=30)
    if f"DNS:{domain}" not in r.stdout:
        raise RuntimeError(f"certificate {path} is not for {domain}: {r.stdout}")


def run_peer(env, peer, domains, parallel, logdir, timeout):
    """Issues one certificate per domain with PARALLEL processes at a time.
    Every domain counts as enqueued at the start of the run."""
    meter = Meter(env)
    rundir = os.path.join(logdir, f"{peer.name}-{parallel}")
    os.makedirs(rundir)
    results = []

    def one(d):
        ts = time.monotonic()
        rc = run_child(peer.argv(d), peer.vars, os.path.join(rundir, f"{d}.log"), timeout)
        te = time.monotonic()
        ok = rc == 0 and os.path.exists(peer.cert_path(d))
        return d, ts, te, rc, ok

    t0 = meter.start()
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        try:
            for f in concurrent.futures.as_completed([ex.submit(one, d) for d in domains]):
                results.append(f.result())
        except BaseException:
            kill_running()
            ex.shutdown(wait=True, cancel_futures=True)
            raise
    meter.stop()
    fails = [r for r in results if not r[4]]
    for d, _, _, rc, _ in fails[:3]:
        log(f"{peer.name} x{parallel}: {d} failed (exit {rc}):\n"
            + tail(os.path.join(rundir, f"{d}.log")))
    oks = [r for r in results if r[4]]
    if oks:
        verify_cert(env, peer.cert_path(oks[0][0]), oks[0][0])
    return summarize(f"{peer.name}", parallel, meter.result(),
                     service=[te - ts for _, ts, te, _, ok in results if ok],
                     latency=[te - t0 for _, _, te, _, ok in results if ok],
                     failed=len(fails))


# --------------------------------------------------------------------------
# dcvfleet: redis-server + K dcv-worker processes against the same servers.
# --------------------------------------------------------------------------

DCV_TERMINAL = ("failed", "dead-letter", "abandoned")


def dcv_settings(procs=2, threads=16, batch=1, poll_ms=50, log_level="info",
                 caa_check=True):
    """The configuration the benchmark runs with (besides the env's acme/dns/
    provider/validation sections): production-shaped, tuned for a local CA
    whose validation takes milliseconds.  Returned as sections for
    env.dcv_config and printed in the report."""
    return {
        "worker": {"concurrency": threads, "batch": batch, "block_ms": 100,
                   "promote_interval_ms": 20, "reclaim_interval_ms": 5000,
                   "visibility_timeout_ms": 60000, "drain_ms": 10000},
        "log": {"level": log_level},
        "metrics": {"port": 0, "address": "127.0.0.1"},
        "acme": {"poll_default_ms": poll_ms, "caa_identities": ["pebble.letsencrypt.org"]},
        # one confirmation: the delegation is checked once on every
        # authoritative server and resolver (production default: 2, 30 s apart)
        "dns": {"confirmations": 1, "confirmation_interval_ms": 0,
                "timeout_ms": 1000, "tries": 2},
        "lifecycle": {"caa_check": caa_check, "propagation_poll_ms": poll_ms,
                      "authz_poll_ms": poll_ms},
        "provider": {"ttl": 60},
        "stages": {s: {"backoff_base_ms": 100, "backoff_cap_ms": 2000}
                   for s in ("verify-cname", "create-order", "provision-txt", "finalize")},
        "_procs": procs,
    }


def _http_get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8", "replace")


def _metrics_handler(text):
    """{stage: (count, sum_seconds)} from dcv_handler_seconds."""
    out = {}
    for line in text.splitlines():
        if not line.startswith("dcv_handler_seconds_"):
            continue
        name, _, val = line.rpartition(" ")
        kind = name.split("{")[0].rsplit("_", 1)[-1]
        if kind not in ("count", "sum") or 'stage="' not in name:
            continue
        stage = name.split('stage="', 1)[1].split('"', 1)[0]
        c, s = out.get(stage, (0.0, 0.0))
        out[stage] = (c + float(val), s) if kind == "count" else (c, s + float(val))
    return out


class DcvFleet:
    """redis-server + account + K dcv-worker processes, stopped by PID."""

    def __init__(self, env, build, logdir, settings):
        self.env = env
        self.build = build
        self.dir = os.path.join(logdir, f"dcvfleet-{len(os.listdir(logdir))}")
        os.makedirs(self.dir, exist_ok=True)
        self.settings = dict(settings)
        self.procs = self.settings.pop("_procs", 2)
        self.redis = None
        self.workers = []
        self.metrics_ports = []
        # the account key and the certificates' keys sealed under their two
        # key-encryption keys, as in production
        self.vars = {"DCV_ACME_KEK": os.urandom(32).hex(),
                     "DCV_CERT_KEK": os.urandom(32).hex()}
        self.worker_bin = os.path.join(build, "workers", "dcv-worker")
        self.ctl_bin = os.path.join(build, "workers", "dcvctl")

    def start(self):
        self.redis = harness.Redis(self.dir)
        self.cfg = self.env.dcv_config(os.path.join(self.dir, "dcv.yaml"), self.redis.url,
                                       **self.settings)
        r = self._run([self.worker_bin, "-c", self.cfg, "--check-config"], "check-config")
        if r.returncode != 0:
            raise RuntimeError(f"dcv-worker --check-config: {r.stdout}{r.stderr}")
        r = self._run([self.ctl_bin, "-c", self.cfg, "account", "register", "--email", EMAIL],
                      "account")
        if r.returncode != 0:
            raise RuntimeError(f"dcvctl account register exited {r.returncode}: {r.stderr[-2000:]}")
        for i in range(self.procs):
            port = harness.free_port()
            w = harness.Proc([self.worker_bin, "-c", self.cfg],
                             os.path.join(self.dir, f"worker-{i}.log"),
                             env={**self.vars, "DCV_METRICS_PORT": str(port)})
            self.workers.append(w)
            self.metrics_ports.append(port)
        for w, port in zip(self.workers, self.metrics_ports):
            harness.wait_until(lambda: self._ready(w, port), 30, interval=0.05,
                               what=f"dcv-worker {w.pid} /readyz")

    def _ready(self, w, port):
        if w.poll() is not None:
            raise RuntimeError(f"dcv-worker exited {w.returncode}:\n{w.output()[-2000:]}")
        try:
            return _http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        except OSError:
            return False

    def _run(self, argv, name, timeout=60):
        full = {**os.environ, **self.vars}
        r = subprocess.run(argv, capture_output=True, text=True, env=full, timeout=timeout)
        with open(os.path.join(self.dir, f"{name}.log"), "a") as f:
            f.write(f"$ {' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv))}"
                    f"\n{r.stdout}{r.stderr}")
        return r

    @property
    def pids(self):
        # Redis is part of the product's cost: counted as client CPU with the workers
        return [w.pid for w in self.workers] + [self.redis.proc.pid]

    def client(self):
        return self.redis.client()

    def handler_metrics(self):
        out = {}
        for port in self.metrics_ports:
            try:
                for s, (c, t) in _metrics_handler(
                        _http_get(f"http://127.0.0.1:{port}/metrics")[1]).items():
                    c0, t0 = out.get(s, (0.0, 0.0))
                    out[s] = (c0 + c, t0 + t)
            except OSError as e:
                log(f"dcvfleet: /metrics on {port}: {e}")
        return out

    def onboard(self, domains, name):
        path = os.path.join(self.dir, f"{name}.txt")
        with open(path, "w") as f:
            f.write("".join(d + "\n" for d in domains))
        r = self._run([self.ctl_bin, "-c", self.cfg, "onboard", "--file", path], f"onboard-{name}")
        if r.returncode != 0:
            raise RuntimeError(f"dcvctl onboard --file exited {r.returncode}: {r.stderr[-2000:]}")

    def stop(self):
        rcs = []
        for w in self.workers:
            try:
                rcs.append(w.stop(timeout=15))
            except Exception as e:  # keep stopping the others
                log(f"dcvfleet: stopping worker {w.pid}: {e}")
        self.workers = []
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        return rcs


class PebbleWedged(RuntimeError):
    pass


def wait_events(client, domains, since_id, deadline, env=None, stall_s=15):
    """Reads dcv:events from SINCE_ID until every domain of DOMAINS has an
    `issued` or a terminal event, or DEADLINE (monotonic).  Returns
    ({domain: issued time ms}, {domain: terminal event}, last id).  Raises
    PebbleWedged when ENV is given and nothing was issued for STALL_S
    seconds."""
    want = set(domains)
    issued, bad = {}, {}
    last = since_id
    progress = time.monotonic()
    while want and time.monotonic() < deadline:
        if _abort.is_set():
            raise KeyboardInterrupt("aborted")
        if env is not None and time.monotonic() - progress > stall_s:
            # Certificates come every few ms in a healthy run: a stall this
            # long is Pebble's lock-up (its store may or may not still answer
            # the management port's lookups, both were seen).
            store = "answers" if env.pebble_answers() else "does not answer"
            raise PebbleWedged(f"Pebble stalled: {len(issued)} of {len(domains)} issued, "
                               f"none in the last {stall_s} s (its store {store})")
        resp = client.xread({"dcv:events": last}, count=1000, block=50)
        for _, entries in resp or ():
            for eid, f in entries:
                last = eid
                d = f.get(b"domain", b"").decode()
                t = f.get(b"type", b"").decode()
                if d not in want:
                    continue
                if t == "issued":
                    issued[d] = int(f[b"time"])
                    want.discard(d)
                    progress = time.monotonic()
                elif t in DCV_TERMINAL:
                    bad[d] = f"{t}: {f.get(b'detail', b'').decode()}"
                    want.discard(d)
    return issued, bad, last


def run_dcvfleet(env, domains, meter, build, logdir, timeout, settings=None,
                 serial_domains=(), report=None):
    """Onboards DOMAINS (CNAMEs already in place in env) through dcvfleet with
    one `dcvctl onboard --file` and returns {"latency": {domain: enqueue->issued
    seconds}, "failed": [domains]} with METER started right before the
    enqueue and stopped when the last `issued` event arrived (before stopping
    the workers).  Enqueue time is the start of `dcvctl onboard --file` for
    every domain (as the peers count theirs: all at the start of the run);
    each domain's `onboarded_at` gives a second figure (in REPORT).

    SERIAL_DOMAINS, when given, are then onboarded one at a time (the next
    after the previous one's `issued` event) on the same fleet, for the
    unloaded enqueue->issued time (REPORT["serial"]).

    REPORT (a dict) gets the diagnostics: per-stage handler time from the
    workers' /metrics, dcv:stats, Redis CPU, onboarded_at-based latencies.
    Everything started here is stopped by PID in `finally`."""
    settings = settings or dcv_settings()
    report = report if report is not None else {}
    fleet = DcvFleet(env, build, logdir, settings)
    try:
        fleet.start()
        c = fleet.client()
        last = c.xinfo_stream("dcv:events")["last-generated-id"] if c.exists("dcv:events") else b"0-0"
        pids = fleet.pids
        log(f"dcvfleet: {fleet.procs} dcv-worker x {settings['worker']['concurrency']} threads "
            f"(pids {pids[:-1]}), redis pid {pids[-1]}; onboarding {len(domains)} domains")
        m0 = fleet.handler_metrics()
        meter.start(client_pids=pids)
        t_enq = time.time() * 1000.0
        fleet.onboard(domains, "batch")
        issued, bad, last = wait_events(c, domains, last, time.monotonic() + timeout, env)
        meter.stop(client_pids=pids)
        m1 = fleet.handler_metrics()
        n_ok = max(1, len(issued))
        cpu = {p: meter.b["pids"][p] - meter.a["pids"].get(p, 0.0) for p in pids}
        report["cpu_ms_per_cert"] = {
            "dcv-worker": 1000 * sum(cpu[p] for p in pids[:-1]) / n_ok,
            "redis-server": 1000 * cpu[pids[-1]] / n_ok,
            "dcvctl": 1000 * (meter.b["children"] - meter.a["children"]) / n_ok}
        # diagnostics (outside the timing)
        pipe = c.pipeline(transaction=False)
        for d in domains:
            pipe.hget(f"dcv:domain:{d}", "onboarded_at")
        onb = {d: int(v) for d, v in zip(domains, pipe.execute()) if v}
        report["onboard_spread_ms"] = (max(onb.values()) - t_enq) if onb else None
        report["latency_onboarded_at"] = {d: (issued[d] - onb[d]) / 1000.0
                                          for d in issued if d in onb}
        report["handler"] = {s: (m1.get(s, (0, 0))[0] - m0.get(s, (0, 0))[0],
                                 m1.get(s, (0, 0))[1] - m0.get(s, (0, 0))[1]) for s in m1}
        report["stats"] = {k.decode(): int(v) for k, v in c.hgetall("dcv:stats").items()}
        report["issued_times"] = sorted(issued.values())
        report["t_enq_ms"] = t_enq
        failed = [d for d in domains if d not in issued]
        for d in failed[:5]:
            h = {k.decode(): v.decode("utf-8", "replace")
                 for k, v in c.hgetall(f"dcv:domain:{d}").items()}
            log(f"dcvfleet: {d} not issued: {bad.get(d, 'timeout')}; state={h.get('state')} "
                f"stage={h.get('stage')} last_error={h.get('last_error')}")
        if issued:
            d = sorted(issued)[0]
            chain = c.hget(f"dcv:cert:{d}", "chain")
            path = os.path.join(fleet.dir, f"{d}.pem")
            with open(path, "wb") as f:
                f.write(chain or b"")
            verify_cert(env, path, d)
            log(f"dcvfleet: chain of {d} from dcv:cert verifies against Pebble's root")
        # unloaded latency: one at a time on the same fleet (not metered)
        serial = {}
        for d in serial_domains:
            t0 = time.time() * 1000.0
            fleet.onboard([d], "serial")
            got, sbad, last = wait_events(c, [d], last, time.monotonic() + 60, env)
            if d in got:
                serial[d] = (got[d] - t0) / 1000.0
            else:
                log(f"dcvfleet: serial {d} not issued: {sbad.get(d, 'timeout')}")
        report["serial"] = serial
        report["serial_failed"] = [d for d in serial_domains if d not in serial]
        return {"latency": {d: (t - t_enq) / 1000.0 for d, t in issued.items()},
                "failed": failed}
    finally:
        rcs = fleet.stop()
        if any(rc not in (0, None) for rc in rcs):
            log(f"dcvfleet: worker exit codes {rcs} (logs in {fleet.dir})")


# --------------------------------------------------------------------------
# Figures.
# --------------------------------------------------------------------------

def summarize(client, parallel, m, service, latency, failed):
    n = len(latency)
    per = (lambda x: x / n if n else float("nan"))
    srv = (m["pebble_cpu"] + m["named_cpu"]) / n if n else float("nan")
    return {
        "client": client, "parallel": parallel, "certs": n, "failed": failed,
        "wall": m["wall"], "rate": n / m["wall"] if m["wall"] > 0 else float("nan"),
        "median_service": statistics.median(service) if service else float("nan"),
        "median_latency": statistics.median(latency) if latency else float("nan"),
        "p90_latency": (statistics.quantiles(latency, n=10)[-1] if n >= 2 else
                        (latency[0] if latency else float("nan"))),
        "client_ms": 1000 * per(m["client_cpu"]),
        "pebble_ms": 1000 * per(m["pebble_cpu"]),
        "named_ms": 1000 * per(m["named_cpu"]),
        "server_cpu_per_cert": srv,
    }


def fmt(v, d=2):
    if v is None or v != v:
        return "n/a"
    return f"{v:.{d}f}"


def print_table(rows, cores):
    hdr = ["client", "par", "certs", "fail", "wall s", "certs/s", "median s/cert",
           "median enq->issued s", "p90 enq->issued s", "client CPU ms/cert",
           "Pebble CPU ms/cert", "named CPU ms/cert", f"ceiling certs/s ({cores} cores)"]
    lines = []
    for r in rows:
        ceil = cores / r["server_cpu_per_cert"] if r["server_cpu_per_cert"] > 0 else float("nan")
        r["ceiling"] = ceil
        lines.append([r["client"], str(r["parallel"]), str(r["certs"]), str(r["failed"]),
                      fmt(r["wall"]), fmt(r["rate"]), fmt(r["median_service"]),
                      fmt(r["median_latency"]), fmt(r["p90_latency"]), fmt(r["client_ms"], 1),
                      fmt(r["pebble_ms"], 1), fmt(r["named_ms"], 1), fmt(ceil, 1)])
    w = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(hdr)]
    print("  ".join(h.rjust(w[i]) for i, h in enumerate(hdr)))
    for l in lines:
        print("  ".join(c.rjust(w[i]) for i, c in enumerate(l)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m1", type=int, default=20, help="domains for each one-at-a-time run (20)")
    ap.add_argument("--mp", type=int, default=64, help="domains for each parallel run (64)")
    ap.add_argument("--par", type=int, default=8, help="processes at a time for the parallel runs (8)")
    ap.add_argument("--dcv-domains", type=int, default=200, help="domains onboarded through dcvfleet (200)")
    ap.add_argument("--phases", default="lego,uacme,dcvfleet",
                    help="comma-separated subset of lego,uacme,dcvfleet")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="dcvfleet build directory")
    ap.add_argument("--cores", type=int, default=2, help="cores for the server ceiling (2)")
    ap.add_argument("--timeout", type=float, default=120, help="deadline per issuance process, s")
    ap.add_argument("--dcv-timeout", type=float, default=600, help="deadline for the dcvfleet run, s")
    ap.add_argument("--dcv-fleets", default="2x16",
                    help="dcvfleet configurations to run, comma-separated PROCSxTHREADS[bBATCH] "
                         "(worker processes x worker.concurrency, worker.batch; default 2x16, "
                         "batch 1); each gets --dcv-domains fresh domains and a row")
    ap.add_argument("--dcv-poll-ms", type=int, default=50,
                    help="lifecycle.authz_poll_ms = lifecycle.propagation_poll_ms = "
                         "acme.poll_default_ms for dcvfleet (50)")
    ap.add_argument("--dcv-serial", type=int, default=20,
                    help="domains then onboarded one at a time on the first dcvfleet "
                         "configuration, for the unloaded enqueue->issued time (20; 0: none)")
    ap.add_argument("--dcv-log-level", default="info", help="log.level of the workers (info)")
    ap.add_argument("--no-dcv-fresh-pebble", dest="dcv_fresh_pebble", action="store_false",
                    help="run dcvfleet on the Pebble the peers used instead of a fresh one "
                         "(same settings) per configuration; Pebble 2.4 locks up under "
                         "dcvfleet's load, see ISSUANCE.md")
    ap.add_argument("--dcv-retries", type=int, default=4,
                    help="runs of a dcvfleet configuration again (fresh Pebble, fresh domains) "
                         "when Pebble wedges (4)")
    ap.add_argument("--lego-polling-interval", type=int, default=None,
                    help="RFC2136_POLLING_INTERVAL for lego, s (default: lego's own, 2)")
    ap.add_argument("--nonce-reject", type=int, default=0,
                    help="PEBBLE_WFE_NONCEREJECT percent (0)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    phases = [p for p in a.phases.split(",") if p]
    for p in phases:
        if p not in ("lego", "uacme", "dcvfleet"):
            ap.error(f"unknown phase {p}")
    if min(a.m1, a.mp, a.par, a.dcv_domains) < 1 or a.dcv_serial < 0:
        ap.error("counts must be positive")
    fleets = []
    for spec in [x for x in a.dcv_fleets.split(",") if x]:
        try:
            k, rest = spec.lower().split("x", 1)
            t, _, b = rest.partition("b")
            fleets.append((int(k), int(t), int(b or 1)))
        except ValueError:
            ap.error(f"--dcv-fleets: bad entry {spec!r} (want e.g. 2x16 or 2x16b4)")
        if min(fleets[-1]) < 1:
            ap.error(f"--dcv-fleets: {spec}: counts must be positive")
    if "dcvfleet" in phases and not fleets:
        ap.error("--dcv-fleets is empty")

    peers = [p for p in phases if p != "dcvfleet"]
    n_domains = len(peers) * (1 + a.m1 + a.mp) + (
        len(fleets) * (1 + a.dcv_retries) * (a.dcv_domains + a.dcv_serial)
        if "dcvfleet" in phases else 0)

    def on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")
    signal.signal(signal.SIGTERM, on_signal)

    tmp = harness.tmpdir("dcv-issuance-")
    logdir = os.path.join(tmp, "logs")
    os.makedirs(logdir)
    env = None
    rows = []
    failed = []
    dcv = None
    dcv_rows = []
    dcv_notes = []
    try:
        log(f"starting named and Pebble ({n_domains} domains with CNAMEs in {IssuanceEnv.customer_zone})")
        env = IssuanceEnv(tmp, n_domains, {"PEBBLE_WFE_NONCEREJECT": str(a.nonce_reject)})
        log(f"{env!r}; Pebble pid {env.pebble_pid}, named pid {env.named_pid}")
        for name in peers:
            peer = Lego(env, tmp, a.lego_polling_interval) if name == "lego" else Uacme(env, tmp)
            log(f"{name}: account + warm-up issuance (not timed)")
            try:
                prepare_peer(env, peer, logdir, a.timeout)
            except RuntimeError as e:
                log(str(e))
                failed.append(name)
                env.take_domains(a.m1 + a.mp)  # keep the domain slices apart
                continue
            for par, m in ((1, a.m1), (a.par, a.mp)):
                doms = env.take_domains(m)
                log(f"{name}: {m} certificates, {par} at a time ({doms[0]} .. {doms[-1]})")
                r = run_peer(env, peer, doms, par, logdir, a.timeout)
                log(f"{name} x{par}: {r['certs']} issued, {r['failed']} failed, "
                    f"{fmt(r['rate'])} certs/s")
                rows.append(r)
                if r["failed"]:
                    failed.append(f"{name}x{par}")
        if "dcvfleet" in phases:
            for i, (k, t, b) in enumerate(fleets):
                name = f"dcvfleet {k}x{t}" + (f" b{b}" if b != 1 else "")
                settings = dcv_settings(procs=k, threads=t, batch=b, poll_ms=a.dcv_poll_ms,
                                        log_level=a.dcv_log_level)
                wedged = []
                out = None
                if a.dcv_fresh_pebble and (peers or i):
                    log(f"{name}: a fresh Pebble (same settings) for this configuration")
                    env.restart_pebble(dump=False)
                for attempt in range(1 + a.dcv_retries):
                    doms = env.take_domains(a.dcv_domains)
                    serial = env.take_domains(a.dcv_serial) if i == 0 and a.dcv_serial else []
                    log(f"{name}: {len(doms)} domains ({doms[0]} .. {doms[-1]})")
                    meter = Meter(env)
                    report = {}
                    try:
                        out = run_dcvfleet(env, doms, meter, a.build, logdir, a.dcv_timeout,
                                           settings=settings, serial_domains=serial,
                                           report=report)
                        break
                    except PebbleWedged as e:
                        log(f"{name}: {e}; restarting Pebble and running again on fresh domains")
                        wedged.append(str(e))
                        env.restart_pebble()
                if out is None:
                    failed.append(f"{name} (Pebble wedged {len(wedged)} times)")
                    continue
                report["pebble_wedged"] = wedged
                lat = list(out["latency"].values())
                r = summarize(name, "fleet", meter.result(), service=lat,
                              latency=lat, failed=len(out.get("failed", [])))
                log(f"{name}: {r['certs']} issued, {r['failed']} failed, {fmt(r['rate'])} certs/s")
                rows.append(r)
                dcv_rows.append(r)
                dcv_notes.append((name, settings, report, r))
                if r["failed"]:
                    failed.append(name)
            dcv = dcv_rows[0] if dcv_rows else None
    except KeyboardInterrupt as e:
        log(f"interrupted ({e})")
        kill_running()
        failed.append("interrupted")
    finally:
        kill_running()
        if env is not None:
            env.stop()
        if a.keep or failed:
            log(f"logs kept in {tmp}")
        else:
            harness.rmtree(tmp)

    # ---- report ----
    load1 = open("/proc/loadavg").read().split()[0]
    print(f"\n== issuance benchmark: Pebble 2.4 (PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 "
          f"PEBBLE_WFE_NONCEREJECT={a.nonce_reject}) + named, DNS-01 via CNAME, "
          f"{os.cpu_count()} CPUs, load at end {load1} ==")
    print_table(rows, a.cores)
    print("median s/cert: one issuance process from start to exit; enq->issued: from "
          "the start of the run (every domain enqueued at once) to that certificate")
    print(f"ceiling: {a.cores} / (Pebble + named CPU s per certificate) in that run")
    peer_rows = [r for r in rows if not r["client"].startswith("dcvfleet") and r["certs"]]
    best = max(peer_rows, key=lambda r: r["rate"]) if peer_rows else None
    if best:
        print(f"best peer: {best['client']} x{best['parallel']} {fmt(best['rate'])} certs/s, "
              f"median enq->issued {fmt(best['median_latency'])} s")
        lo = min(peer_rows, key=lambda r: r["server_cpu_per_cert"])
        print(f"server ceiling: {fmt(lo['ceiling'], 1)} certs/s on {a.cores} cores at the "
              f"lowest server CPU per cert seen ({fmt(1000 * lo['server_cpu_per_cert'], 1)} ms, "
              f"{lo['client']} x{lo['parallel']})")
    for name, settings, rep_, r in dcv_notes:
        w = settings["worker"]
        print(f"{name}: {settings['_procs']} dcv-worker processes x worker.concurrency "
              f"{w['concurrency']}, worker.batch {w['batch']}, block_ms {w['block_ms']}, "
              f"promote_interval_ms {w['promote_interval_ms']}; dns.confirmations "
              f"{settings['dns']['confirmations']} (benchmark setting; production default 2), "
              f"lifecycle.authz_poll_ms/propagation_poll_ms/acme.poll_default_ms "
              f"{settings['lifecycle']['authz_poll_ms']}, caa_check "
              f"{str(settings['lifecycle']['caa_check']).lower()}; client CPU = workers + "
              f"redis-server + dcvctl")
        lat_onb = list(rep_.get("latency_onboarded_at", {}).values())
        if lat_onb:
            print(f"  enq->issued from each domain's onboarded_at: median {fmt(statistics.median(lat_onb))} s "
                  f"(onboard --file put the last domain in {fmt(rep_['onboard_spread_ms'], 0)} ms)")
        it = rep_.get("issued_times") or []
        if len(it) >= 2:
            t0 = rep_["t_enq_ms"]
            print(f"  first issued {fmt((it[0] - t0) / 1000)} s after enqueue, last "
                  f"{fmt((it[-1] - t0) / 1000)} s; steady rate between the 10th and 90th "
                  f"percentile certificate "
                  f"{fmt(0.8 * len(it) / max(1e-9, (it[int(0.9 * len(it)) - 1] - it[int(0.1 * len(it))]) / 1000))} certs/s")
        cm = rep_.get("cpu_ms_per_cert")
        if cm:
            print("  client CPU ms/cert by process: " + ", ".join(f"{k} {fmt(v, 2)}" for k, v in cm.items()))
        h = rep_.get("handler") or {}
        if h:
            print("  handler time per stage (workers' dcv_handler_seconds): " + "; ".join(
                f"{st} {int(c)} runs {fmt(1000 * t / c, 1) if c else 'n/a'} ms/run "
                f"{fmt(1000 * t / max(1, r['certs']), 1)} ms/cert"
                for st, (c, t) in sorted(h.items()) if c))
        stt = rep_.get("stats") or {}
        if stt:
            print("  dcv:stats: " + ", ".join(f"{k}={v}" for k, v in sorted(stt.items())
                                               if "." in k and v))
        if rep_.get("pebble_wedged"):
            print(f"  Pebble wedged {len(rep_['pebble_wedged'])} time(s) before this run "
                  f"(restarted, run again on fresh domains): {rep_['pebble_wedged']}")
        ser = list(rep_.get("serial", {}).values())
        if ser:
            print(f"  one at a time (unloaded, {len(ser)} domains, each onboarded after the "
                  f"previous was issued): median enq->issued {fmt(statistics.median(ser), 3)} s, "
                  f"min {fmt(min(ser), 3)}, max {fmt(max(ser), 3)}"
                  + (f", {len(rep_['serial_failed'])} not issued" if rep_.get("serial_failed") else ""))
    if best and dcv_rows:
        for d in dcv_rows:
            if not d["certs"]:
                continue
            print(f"ratio {d['client']}/best peer certs/s = {fmt(d['rate'] / best['rate'])}; "
                  f"best peer/{d['client']} median enq->issued = "
                  f"{fmt(best['median_latency'] / d['median_latency'])}; "
                  f"{d['client']}/own server ceiling = {fmt(d['rate'] / d['ceiling'])}; "
                  f"/best peer's server ceiling = {fmt(d['rate'] / lo['ceiling'])}")
    else:
        print("ratio dcvfleet/best peer: n/a (no peer or no dcvfleet row)")
    for r in rows:
        print("result " + " ".join(
            f"{k}={fmt(v, 4) if isinstance(v, float) else v}" for k, v in r.items()))
    if failed:
        log(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
