"""The whole product on loopback, for end-to-end tests: one redis-server, three
BIND servers, Pebble and any number of dcv-worker processes, all on free
ports and stopped by PID.

DNS (every server on 127.0.0.1, TEST-NET addresses mapped with dns.port_map):

  P  named, authoritative only (recursion no), 192.0.2.1 = ns1.dns.test
     - customer zones c1.test .. cN.test: primary, own data, dynamic with
       the customer key (allow-update)
     - validation.test: primary, dynamic with the validation key, which may
       only update TXT (update-policy grant ... zonesub TXT); NOTIFYs S
     - dns.test: the nameservers' addresses (static)
  S  named, authoritative only, 192.0.2.2 = ns2.dns.test
     - the same customer zones, primary too, with their OWN data: a record
       is added on P and on S separately (a lagging nameserver)
     - validation.test: secondary of P (NOTIFY + transfer)
     - dns.test
  R  named resolver for 127.0.0.1 (recursion yes), forward only of "test"
     to P, max-cache-ttl 1, max-ncache-ttl 1.  Pebble validates through R,
     which chains _acme-challenge.<d> CNAME -> <d>.validation.test TXT (Pebble
     does not chase CNAMEs itself).  R sees P's data, never S's.

Every customer zone and validation.test has NS ns1.dns.test (192.0.2.1 -> P)
and ns2.dns.test (192.0.2.2 -> S).  Records are written with nsupdate (from
bind9-dnsutils; dnspython is not installed) with TTL 1.

With validation_ns=PORT the validation zone is not on P and S but on
another authoritative server on 127.0.0.1:PORT (PowerDNS, Knot: whatever a
provider updates), whose zone says NS ns3.dns.test (NS3, 192.0.2.3 -> PORT,
in dns.test and the port map); R and CA_R forward the validation zone to
it, so both the CNAME chain and the propagation check reach it.

Pebble (pebble_env.Pebble) runs with -dnsserver R and no challtestsrv.
With STEPCA, step-ca (stepca_env.StepCA) is the only CA instead, with
--resolver CA_R; self.pebble is then the StepCA (the same interface).
"""
import base64
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
import pebble_env as pebble_mod
from dns_env import Named, dig_status
from harness import Proc, free_port, wait_until

NS1 = "192.0.2.1"   # P
NS2 = "192.0.2.2"   # S
NS3 = "192.0.2.3"   # the validation zone's own server (validation_ns=PORT)
NS_ZONE = "dns.test"
POINTING_RANGE = "203.0.113.0/24"   # the provider's ranges ("pointing at us")
US = "203.0.113.10"                 # an address in them

# Short timers for the stages: a customer who takes seconds instead of days.
# The end-to-end tests and the demo (deploy/demo.py) add them to the config.
FAST_TIMERS = {
    "acme.caa_identities": ["pebble.test"],
    "stages.verify-cname.backoff_base_ms": 300,
    "stages.verify-cname.backoff_cap_ms": 1500,
    "stages.create-order.backoff_base_ms": 200,
    "stages.provision-txt.backoff_base_ms": 200,
    "stages.finalize.backoff_base_ms": 200,
    "stages.offboard-check.backoff_base_ms": 200,
    "lifecycle.propagation_poll_ms": 200,
    "lifecycle.authz_poll_ms": 200,
    "lifecycle.offboard_interval_ms": 3600000,
}
ELSEWHERE = "198.51.100.7"          # an address outside them


def _secret():
    return base64.b64encode(os.urandom(32)).decode()


def _soa(serial=1):
    return (f"$TTL 1\n@ SOA ns1.{NS_ZONE}. hostmaster.{NS_ZONE}. {serial} 3600 600 86400 1\n"
            f"@ NS ns1.{NS_ZONE}.\n@ NS ns2.{NS_ZONE}.\n")


def _fqdn(name):
    return name if name.endswith(".") else name + "."


def _txt_strings(line):
    """'"a" "b"' (one dig +short TXT line) -> 'ab'."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
    return "".join(parts) if parts else line


class _Named(Named):
    """dns_env.Named with a port chosen by the caller and a separate start(),
    so the owner can register it for close() before it starts."""

    def __init__(self, tmpdir, name, zones, extra_options="", keys="", port=None):
        self.dir = os.path.join(tmpdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.port = port or free_port()
        self.zones = zones
        self.extra = extra_options
        self.keys = keys
        self.proc = None
        self.write_config()


# ---------------------------------------------------------------- YAML

def _yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    # Always double-quoted: a JSON string is a valid YAML double-quoted
    # scalar, so ':', '{', '#', '*', leading '-' and the like are safe.
    return json.dumps(str(v))


def flatten(d, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1} (lists and scalars are leaves)."""
    out = {}
    for k, v in d.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out


def yaml_text(dotted):
    """YAML for a dict of dotted paths -> values.  Lists become block
    sequences, strings are always double-quoted, a value of None drops the
    key.  Raises on a path that is both a leaf and a section."""
    tree = {}
    for path, value in dotted.items():
        if value is None:
            continue
        node = tree
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"{path}: {p} is already a value")
        if isinstance(node.get(parts[-1]), dict):
            raise ValueError(f"{path} is already a section")
        node[parts[-1]] = value
    lines = []

    def emit(node, indent):
        pad = "  " * indent
        for k, v in node.items():
            if isinstance(v, dict):
                lines.append(f"{pad}{k}:")
                emit(v, indent + 1)
            elif isinstance(v, (list, tuple)):
                if not v:
                    lines.append(f"{pad}{k}: []")
                else:
                    lines.append(f"{pad}{k}:")
                    lines.extend(f"{pad}  - {_yaml_scalar(i)}" for i in v)
            else:
                lines.append(f"{pad}{k}: {_yaml_scalar(v)}")
    emit(tree, 0)
    return "\n".join(lines) + "\n"


# ---------------------------------------------- challtestsrv -> nsupdate

class NsupdateChallSrv:
    """A stand-in for pebble-challtestsrv's management API (/set-txt,
    /clear-txt) that publishes the TXT in the validation zone with nsupdate
    and the validation key, at the CNAME target of the host asked for.  It
    lets tests/integration/acme_driver.c (which talks challtestsrv) issue
    through the real BIND setup.  In-process HTTP server on a free port."""

    def __init__(self, env):
        self.env = env
        self.calls = []
        me = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                host = body.get("host", "").rstrip(".")
                code = 200
                try:
                    me.calls.append((self.path, host, body.get("value")))
                    target = me.env.delegation_target(host)
                    if self.path == "/set-txt":
                        me.env.publish_txt(target, body["value"])
                    elif self.path == "/clear-txt":
                        me.env.remove_txt(target)
                    else:
                        code = 404
                except Exception as e:  # reported to the driver as a failure
                    me.calls.append(("error", host, repr(e)))
                    code = 500
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


# ------------------------------------------------------------ the env

class FleetEnv:
    """Redis + BIND (P, S, R) + Pebble + dcv-worker processes.

    FleetEnv(tmp, zones=3, pebble_env=None, nonce_reject=0, eab=False,
             validation_zone="validation.test", config=None, acl=False)

    ZONES: a number N (customer zones c1.test .. cN.test) or a list of zone
    names.  CA_PROXY: the fleet talks to Pebble through ca_proxy.CAProxy
    (self.ca), which counts orders as the CA sees them.  REDIS_AOF: Redis
    keeps an append-only file (everysec), so it can be killed and restarted
    with what it had written.  PEBBLE_ENV: extra PEBBLE_* variables for Pebble (e.g.
    {"PEBBLE_WFE_NONCEREJECT": "50"}); NONCE_REJECT is a shortcut for that
    one.  CONFIG: dotted overrides for the first write_config().
    ACL: Redis runs with deploy/redis/users.acl (test passwords filled in;
    the default user off): the workers and dcvctl log in as dcv-worker, with
    a password that holds '/', '@' and ':' (self.worker_password), the
    test's own client() as dcv-admin (self.admin_password).
    STEPCA: step-ca is the CA instead of Pebble (PEBBLE_ENV, NONCE_REJECT,
    EAB and CA_PROXY do not apply).
    Use as a context manager or call close(); a failure half-way through
    __init__ stops what was already started."""

    def __init__(self, tmp, zones=3, pebble_env=None, nonce_reject=0, eab=False,
                 validation_zone="validation.test", config=None, acl=False,
                 ca_proxy=False, redis_aof=False, validation_ns=None,
                 stepca=False):
        self.tmp = tmp
        if isinstance(zones, int):
            zones = [f"c{i}.test" for i in range(1, zones + 1)]
        self.zones = [z.lower().rstrip(".") for z in zones]
        self.validation_zone = validation_zone
        self.validation_ns = validation_ns
        self.customer_key = ("customer-update", _secret())
        self.validation_key = ("dcv-update", _secret())
        self.kek = os.urandom(32).hex()        # the account key's
        self.cert_kek = os.urandom(32).hex()   # the certificates' keys'
        self.workers = []
        self.redis = self.pebble = self.chall = self.ca = None
        self.p = self.s = self.r = self.ca_r = None
        self._servers = []
        self._root = None
        self.config = os.path.join(tmp, "dcv.yaml")
        self.base_config = {}
        self.config_values = {}
        self.acl = acl
        self.worker_password = "w/rk@r:" + os.urandom(8).hex()
        self.admin_password = os.urandom(16).hex()
        try:
            if acl:
                self.redis = harness.Redis(tmp, extra=["--aclfile", self.acl_file()],
                                           auth=("dcv-admin", self.admin_password),
                                           aof=redis_aof)
            else:
                self.redis = harness.Redis(tmp, aof=redis_aof)
            self._start_dns()
            if stepca:
                self._start_stepca()
            else:
                self._start_pebble(pebble_env, nonce_reject, eab, ca_proxy)
            self.base_config = self.default_config()
            self.write_config(config or {})
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def _start_pebble(self, pebble_env, nonce_reject, eab, ca_proxy):
        penv = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_AUTHZREUSE": "0",
                "PEBBLE_WFE_NONCEREJECT": str(nonce_reject)}
        penv.update({k: str(v) for k, v in (pebble_env or {}).items()})
        pdir = os.path.join(self.tmp, "pebble")
        os.makedirs(pdir, exist_ok=True)
        self.pebble = pebble_mod.Pebble(pdir, eab=eab, env=penv,
                                        dnsserver=f"127.0.0.1:{self.ca_r.port}")
        if ca_proxy:
            # the CA's own count of orders, rateLimited and ARI on demand
            import ca_proxy as ca_proxy_mod
            self.ca = ca_proxy_mod.CAProxy(self.pebble, pdir)

    def _start_stepca(self):
        import stepca_env
        sdir = os.path.join(self.tmp, "step-ca")
        os.makedirs(sdir, exist_ok=True)
        self.pebble = stepca_env.StepCA(sdir, dnsserver=f"127.0.0.1:{self.ca_r.port}")

    def acl_file(self, users=None):
        """deploy/redis/users.acl with this env's passwords (every other
        user gets a random one) in TMP; returns its path."""
        import hashlib
        pw = {"DCV_WORKER": self.worker_password, "DCV_ADMIN": self.admin_password}
        with open(os.path.join(harness.SOURCE, "deploy", "redis", "users.acl")) as f:
            text = f.read()
        text = re.sub(r"#(DCV_[A-Z]+)_PASSWORD_SHA256", lambda m: "#" + hashlib.sha256(
            pw.get(m.group(1), os.urandom(16).hex()).encode()).hexdigest(), text)
        assert "_SHA256" not in text
        path = os.path.join(self.tmp, "users.acl")
        with open(path, "w") as f:
            f.write(text)
        return path

    @property
    def worker_url(self):
        """The URL the workers and dcvctl use (with the dcv-worker
        credentials in ACL mode)."""
        if not self.acl:
            return self.redis.url
        return f"redis://dcv-worker:{self.worker_password}@127.0.0.1:{self.redis.port}/0"

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- DNS

    def _keyfile(self, key, path=None):
        name, secret = key
        if path is None:
            fd, path = tempfile.mkstemp(dir=self.tmp, prefix="tsig-", suffix=".key")
            os.close(fd)
        with open(path, "w") as f:
            f.write(f'key "{name}" {{ algorithm hmac-sha256; secret "{secret}"; }};\n')
        return path

    def _customer_zone(self, zone):
        return _soa()

    def _ns_zone(self):
        return _soa() + f"ns1 A {NS1}\nns2 A {NS2}\nns3 A {NS3}\n"

    def _start_dns(self):
        self.customer_keyfile = self._keyfile(self.customer_key)
        self.validation_keyfile = self._keyfile(self.validation_key)
        keys = "".join(f'key "{n}" {{ algorithm hmac-sha256; secret "{s}"; }};\n'
                       for n, s in (self.customer_key, self.validation_key))
        cust = f'type primary; allow-update {{ key "{self.customer_key[0]}"; }};'
        s_port = free_port()
        # the TLD itself, so that a CAA climb (RFC 8659 stops at the TLD)
        # gets an answer through R instead of REFUSED
        tld = _soa() + f"ns1.dns A {NS1}\nns2.dns A {NS2}\nns3.dns A {NS3}\n"
        if self.validation_ns:
            tld += f"{self.validation_zone}. NS ns3.{NS_ZONE}.\n"
        pz = {NS_ZONE: ("type primary;", self._ns_zone()),
              "test": ("type primary;", tld)}
        pz.update({z: (cust, self._customer_zone(z)) for z in self.zones})
        if not self.validation_ns:
            pz[self.validation_zone] = (
                f'type primary; update-policy {{ grant "{self.validation_key[0]}" zonesub TXT; }}; '
                f"allow-transfer {{ 127.0.0.1; }}; also-notify {{ 127.0.0.1 port {s_port}; }}; "
                "notify explicit; notify-delay 0;", _soa())
        self.p = _Named(self.tmp, "p", pz, extra_options="recursion no;", keys=keys)
        self._servers.append(self.p)
        sz = {NS_ZONE: ("type primary;", self._ns_zone())}
        sz.update({z: (cust, self._customer_zone(z)) for z in self.zones})
        if not self.validation_ns:
            sz[self.validation_zone] = (
                f"type secondary; primaries {{ 127.0.0.1 port {self.p.port}; }};", None)
        self.s = _Named(self.tmp, "s", sz, extra_options="recursion no;", keys=keys,
                        port=s_port)
        self._servers.append(self.s)
        # R is the fleet's resolver; the CA (Pebble) has its own, CA_R, as
        # a real CA does: nothing the workers look up is in its cache
        for name in ("r", "ca_r"):
            fwd = {"test": (f"type forward; forward only; forwarders {{ 127.0.0.1 port {self.p.port}; }};", None)}
            if self.validation_ns:
                fwd[self.validation_zone] = (
                    "type forward; forward only; "
                    f"forwarders {{ 127.0.0.1 port {self.validation_ns}; }};", None)
            srv = _Named(self.tmp, name, fwd, extra_options="recursion yes; allow-recursion { 127.0.0.1; }; "
                             "max-ncache-ttl 1; max-cache-ttl 1; qname-minimization off;")
            setattr(self, name, srv)
            self._servers.append(srv)
        for srv in (self.p, self.s, self.r, self.ca_r):
            srv.start()
        for srv in (self.p, self.s):
            for z in self.zones + [NS_ZONE] + ([] if self.validation_ns else [self.validation_zone]):
                wait_until(lambda: dig_status(srv.port, z) == "NOERROR", 20,
                           what=f"named {srv.name} serving {z}")

    def server(self, which):
        """The Named object of "p", "s" or "r"."""
        return {"p": self.p, "s": self.s, "r": self.r}[which]

    def port_map(self):
        m = [f"{NS1}=127.0.0.1:{self.p.port}", f"{NS2}=127.0.0.1:{self.s.port}"]
        if self.validation_ns:
            m.append(f"{NS3}=127.0.0.1:{self.validation_ns}")
        return m

    @property
    def resolver(self):
        return f"127.0.0.1:{self.r.port}"

    def zone_of(self, name):
        """The customer (or validation / dns.test) zone NAME is in."""
        name = name.lower().rstrip(".")
        best = None
        for z in self.zones + [self.validation_zone, NS_ZONE]:
            if (name == z or name.endswith("." + z)) and (best is None or len(z) > len(best)):
                best = z
        if best is None:
            raise ValueError(f"{name} is in no zone of this env")
        return best

    def target(self, domain):
        """The delegation target of DOMAIN with the default template
        {domain}.{zone}: '*.' stripped, lower case."""
        d = domain.lower().rstrip(".")
        if d.startswith("*."):
            d = d[2:]
        return f"{d}.{self.validation_zone}"

    def nsupdate(self, which, zone, commands, key=None, check=True):
        """Sends one update (COMMANDS: 'update add ...' lines) for ZONE to
        server WHICH ("p" or "s"), signed with KEY (default: the customer key
        for customer zones, the validation key for the validation zone).
        Returns the CompletedProcess; raises if CHECK and it failed."""
        if key is None:
            key = self.validation_key if zone == self.validation_zone else self.customer_key
        own = key not in (self.validation_key, self.customer_key)
        keyfile = (self._keyfile(key) if own else self.validation_keyfile
                   if key == self.validation_key else self.customer_keyfile)
        script = (f"server 127.0.0.1 {self.server(which).port}\nzone {zone}\n"
                  + "".join(c + "\n" for c in commands) + "send\n")
        try:
            # over TCP, and again after a timeout: a single-threaded named
            # busy with the workers' checks may drop a packet
            for _ in range(3):
                p = subprocess.run(["nsupdate", "-v", "-k", keyfile, "-t", "5"],
                                   input=script, capture_output=True, text=True,
                                   timeout=30)
                if p.returncode == 0 or "timed out" not in p.stdout + p.stderr:
                    break
        finally:
            if own:
                os.unlink(keyfile)
        if check and p.returncode != 0:
            raise AssertionError(f"nsupdate on {which} failed ({p.returncode}): "
                                 f"{p.stdout}{p.stderr}\n{script}")
        return p

    def _each(self, servers, name, commands):
        zone = self.zone_of(name)
        if isinstance(servers, str):
            servers = (servers,)
        for w in servers:
            self.nsupdate(w, zone, commands)

    def set_rr(self, name, rtype, values, servers=("p", "s"), ttl=1):
        """Replaces the RRset NAME/RTYPE with VALUES (a string or a list)."""
        if isinstance(values, str):
            values = [values]
        n = _fqdn(name)
        self._each(servers, name, [f"update delete {n} {rtype}"] +
                   [f"update add {n} {ttl} {rtype} {v}" for v in values])

    def remove_rr(self, name, rtype, servers=("p", "s")):
        self._each(servers, name, [f"update delete {_fqdn(name)} {rtype}"])

    def add_cname(self, domain, target=None, servers=("p", "s")):
        """_acme-challenge.<domain> CNAME TARGET (default self.target(domain))."""
        d = domain.lower().rstrip(".")
        if d.startswith("*."):
            d = d[2:]
        self.set_rr(f"_acme-challenge.{d}", "CNAME",
                    _fqdn(target or self.target(domain)), servers)

    def remove_cname(self, domain, servers=("p", "s")):
        d = domain.lower().rstrip(".")
        if d.startswith("*."):
            d = d[2:]
        self.remove_rr(f"_acme-challenge.{d}", "CNAME", servers)

    def set_a(self, domain, addrs, servers=("p", "s")):
        self.set_rr(domain, "A", addrs, servers)

    def remove_a(self, domain, servers=("p", "s")):
        self.remove_rr(domain, "A", servers)

    def set_aaaa(self, domain, addrs, servers=("p", "s")):
        self.set_rr(domain, "AAAA", addrs, servers)

    def remove_aaaa(self, domain, servers=("p", "s")):
        self.remove_rr(domain, "AAAA", servers)

    def set_caa(self, name, values=('0 issue "otherca.example"',), servers=("p", "s")):
        """CAA at NAME, e.g. ['0 issue "otherca.example"']."""
        self.set_rr(name, "CAA", list(values), servers)

    def remove_caa(self, name, servers=("p", "s")):
        self.remove_rr(name, "CAA", servers)

    def publish_txt(self, name, value):
        """Adds VALUE at NAME in the validation zone on P with the
        validation key (what the rfc2136 provider does)."""
        self.nsupdate("p", self.validation_zone,
                      [f'update add {_fqdn(name)} 1 TXT "{value}"'])

    def remove_txt(self, name, value=None):
        v = f' TXT "{value}"' if value is not None else " TXT"
        self.nsupdate("p", self.validation_zone, [f"update delete {_fqdn(name)}{v}"])

    def delegation_target(self, name):
        """What _acme-challenge.<d> (NAME) is a CNAME of on P, or
        self.target(d) when there is none."""
        n = name.lower().rstrip(".")
        cn = self.query("p", n, "CNAME")
        if cn:
            return cn[0].rstrip(".")
        return self.target(n[len("_acme-challenge."):] if n.startswith("_acme-challenge.") else n)

    def query(self, which, name, rtype="A"):
        """dig +short lines of NAME/RTYPE at server WHICH: P and S are asked
        with +norec, R with recursion."""
        srv = self.server(which)
        args = ["dig", "@127.0.0.1", "-p", str(srv.port), name, rtype, "+short",
                "+time=1", "+tries=2"]
        if which != "r":
            args.append("+norecurse")
        out = subprocess.run(args, capture_output=True, text=True, timeout=15)
        return [l for l in out.stdout.splitlines() if l.strip()]

    def status(self, which, name, rtype="A"):
        """The rcode (NOERROR, NXDOMAIN, ...) of NAME/RTYPE at WHICH."""
        srv = self.server(which)
        args = ["dig", "@127.0.0.1", "-p", str(srv.port), name, rtype,
                "+time=1", "+tries=2"] + ([] if which == "r" else ["+norecurse"])
        out = subprocess.run(args, capture_output=True, text=True, timeout=15)
        m = re.search(r"status: (\w+)", out.stdout)
        return m.group(1) if m else None

    def txt(self, name, which="p"):
        """TXT strings at NAME on WHICH ("p", "s"; "r" resolves, following
        CNAMEs).  Multi-string records are joined."""
        lines = self.query(which, name, "TXT")
        return sorted(_txt_strings(l) for l in lines if l.startswith('"'))

    def cname(self, name, which="p"):
        out = self.query(which, name, "CNAME")
        return out[0].rstrip(".") if out else None

    def wait_txt(self, name, values, servers=("p", "s"), timeout=10):
        """Waits until the TXT set at NAME is exactly VALUES on SERVERS."""
        want = sorted(values)
        for w in servers:
            wait_until(lambda: self.txt(name, w) == want, timeout, interval=0.05,
                       what=f"TXT {name} == {want} on {w}")

    # ------------------------------------------------------------ config

    def default_config(self):
        vkey, vsecret = self.validation_key
        return {
            "redis.url": self.redis.url,
            "worker.concurrency": 4,
            "worker.block_ms": 200,
            "worker.promote_interval_ms": 50,
            "worker.reclaim_interval_ms": 500,
            "worker.visibility_timeout_ms": 20000,
            "worker.drain_ms": 10000,
            "log.level": "info",
            "metrics.port": 0,
            "validation.zone": self.validation_zone,
            "acme.directory": self.ca.directory if self.ca else self.pebble.directory,
            "acme.ca_bundle": self.pebble.ca,
            "acme.email": "ops@example.com",
            "acme.poll_default_ms": 200,
            "dns.resolvers": [self.resolver],
            "dns.port_map": self.port_map(),
            "dns.allowed_ns_ranges": ["192.0.2.0/24"],  # NS1, NS2 (TEST-NET)
            "dns.confirmations": 2,
            "dns.confirmation_interval_ms": 300,
            "dns.timeout_ms": 500,
            "dns.tries": 2,
            "dns.pointing.ip_ranges": [POINTING_RANGE],
            "provider.type": "rfc2136",
            "provider.zone": self.validation_zone,
            "provider.server": f"127.0.0.1:{self.p.port}",
            "provider.tsig.name": vkey,
            "provider.tsig.algorithm": "hmac-sha256",
            "provider.tsig.secret": vsecret,
            "provider.ttl": 1,
        }

    def write_config(self, over=None, path=None, **kw):
        """Writes base_config plus OVER (and KW) to PATH (default
        self.config) and returns the path.  Keys are dotted paths
        ("lifecycle.renew_before_ms"; as KW use **{"a.b": v}); a dict value
        is merged key by key, any other value replaces the key and whatever
        was under it; None removes a key.  Every call starts again from
        base_config (change that dict to make an override stick).  The
        values written are in self.config_values."""
        merged = dict(self.base_config)
        for src in (over or {}, kw):
            for k, v in src.items():
                if isinstance(v, dict):
                    for fk, fv in flatten(v, k + ".").items():
                        merged[fk] = fv
                    continue
                # an override replaces a whole section too
                for old in [o for o in merged if o.startswith(k + ".")]:
                    del merged[old]
                merged[k] = v
        path = path or self.config
        with open(path, "w") as f:
            f.write(yaml_text(merged))
        self.config_values = merged
        return path

    # ----------------------------------------------------------- workers

    def env(self):
        return {"DCV_REDIS_URL": self.worker_url, "DCV_ACME_KEK": self.kek,
                "DCV_CERT_KEK": self.cert_kek}

    def check_config(self, path=None):
        """dcv-worker -c PATH --check-config: the CompletedProcess."""
        return subprocess.run([harness.program("dcv-worker"), "-c", path or self.config,
                               "--check-config"], capture_output=True, text=True,
                              env={**os.environ, **self.env()}, timeout=30)

    def start_worker(self, stages=None, env=None, args=(), config=None,
                     program="dcv-worker", wait=True):
        """Starts PROGRAM -c CONFIG [--stage S]... ; returns its Proc (log in
        tmp/worker-<i>.log).  WAIT: until it logs 'started:'."""
        i = len(self.workers)
        cmd = [harness.program(program), "-c", config or self.config]
        for s in stages or ():
            cmd += ["--stage", s]
        cmd += list(args)
        w = Proc(cmd, os.path.join(self.tmp, f"worker-{i}.log"),
                 env={**self.env(), **(env or {})})
        self.workers.append(w)
        if wait:
            self.wait_started(w)
        return w

    @staticmethod
    def wait_started(w, timeout=20):
        def up():
            if w.poll() is not None:
                raise AssertionError(f"worker exited {w.returncode}:\n{FleetEnv.log(w)[-3000:]}")
            return "started:" in FleetEnv.log(w)
        wait_until(up, timeout, interval=0.05, what="worker started")

    def stop_worker(self, w, timeout=15):
        """SIGTERM (drain) and wait; SIGKILL after TIMEOUT.  Returns the exit code."""
        return w.stop(timeout=timeout)

    @staticmethod
    def log(w):
        """The worker's log so far (works after it was stopped, too)."""
        with open(w.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def term_worker(self, w):
        """SIGTERM without waiting."""
        w.signal(signal.SIGTERM)

    def kill_worker(self, w):
        """SIGKILL (a crash): its jobs stay pending for reclaim."""
        w.kill()

    def ctl(self, *args, check=True, config=None, env=None, stdin=None):
        """dcvctl -c CONFIG ARGS with self.env() and ENV; the CompletedProcess."""
        p = subprocess.run([harness.program("dcvctl"), "-c", config or self.config, *args],
                           capture_output=True, text=True, input=stdin,
                           env={**os.environ, **self.env(), **(env or {})}, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"dcvctl {args} exited {p.returncode}: {p.stderr}")
        return p

    # ------------------------------------------------------------- redis

    @property
    def prefix(self):
        return str(self.config_values.get("redis.prefix", "dcv"))

    def client(self):
        return self.redis.client()

    @staticmethod
    def _dec(h):
        return {k.decode(): v.decode("utf-8", "replace") for k, v in h.items()}

    def events(self, domain=None):
        """XRANGE <prefix>:events as a list of dicts (plus "id"), oldest
        first; only DOMAIN's when given."""
        out = []
        for eid, f in self.client().xrange(f"{self.prefix}:events"):
            e = self._dec(f)
            e["id"] = eid.decode()
            if domain is None or e.get("domain") == domain:
                out.append(e)
        return out

    def domain(self, name):
        return self._dec(self.client().hgetall(f"{self.prefix}:domain:{name}"))

    def cert(self, name):
        return self._dec(self.client().hgetall(f"{self.prefix}:cert:{name}"))

    # ------------------------------------------------------------ certs

    def root_pem(self):
        if self._root is None:
            self._root = self.pebble.root_pem()
        return self._root

    def verify_cert(self, pem_chain, sans):
        """Verifies PEM_CHAIN (text, or a path) against Pebble's root
        (openssl verify, the intermediates as -untrusted) and that the
        leaf's DNS SANs are exactly SANS.  Returns {"sans", "not_before",
        "not_after", "serial", "issuer"} of the leaf; raises AssertionError."""
        if "-----BEGIN" not in pem_chain and os.path.exists(pem_chain):
            with open(pem_chain) as f:
                pem_chain = f.read()
        certs = ["-----BEGIN CERTIFICATE-----" + c.split("-----END CERTIFICATE-----")[0]
                 + "-----END CERTIFICATE-----\n"
                 for c in pem_chain.split("-----BEGIN CERTIFICATE-----")[1:]]
        assert certs, "no certificate in the chain"
        d = tempfile.mkdtemp(dir=self.tmp, prefix="verify-")
        root, leaf, inter = (os.path.join(d, n) for n in ("root.pem", "leaf.pem", "inter.pem"))
        with open(root, "w") as f:
            f.write(self.root_pem())
        with open(leaf, "w") as f:
            f.write(certs[0])
        args = ["openssl", "verify", "-CAfile", root]
        if len(certs) > 1:
            with open(inter, "w") as f:
                f.write("".join(certs[1:]))
            args += ["-untrusted", inter]
        r = subprocess.run(args + [leaf], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"chain does not verify: {r.stdout}{r.stderr}"
        info = _leaf_info(certs[0], leaf)
        assert sorted(info["sans"]) == sorted(s.lower() for s in sans), \
            f"SANs {info['sans']} != {sorted(sans)}"
        return info

    # ------------------------------------------------------------- close

    def close(self):
        """Stops everything by PID (workers first); safe to call twice and
        after a failed start."""
        for w in self.workers:
            try:
                w.kill()
                w.log.close()
            except Exception:
                pass
        self.workers = []
        for part in (self.chall, self.ca, self.pebble):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    pass
        self.chall = self.pebble = self.ca = None
        for srv in reversed(self._servers):
            try:
                srv.stop()
            except Exception:
                pass
        self._servers = []
        if self.redis is not None:
            try:
                self.redis.stop()
            except Exception:
                pass
            self.redis = None

    def challtestsrv(self):
        """Starts (once) the NsupdateChallSrv and returns its URL, for
        acme_driver --challtestsrv."""
        if self.chall is None:
            self.chall = NsupdateChallSrv(self)
        return self.chall.url


def _leaf_info(pem, path):
    try:
        from cryptography import x509
        from cryptography.x509.oid import ExtensionOID
        c = x509.load_pem_x509_certificate(pem.encode())
        try:
            san = c.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
            names = [n.lower() for n in san.value.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            names = []
        return {"sans": sorted(names), "not_before": c.not_valid_before.isoformat(),
                "not_after": c.not_valid_after.isoformat(), "serial": format(c.serial_number, "x"),
                "issuer": c.issuer.rfc4514_string()}
    except ImportError:
        r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-ext", "subjectAltName",
                            "-startdate", "-enddate", "-serial", "-issuer"],
                           capture_output=True, text=True, check=True)
        lines = r.stdout.splitlines()
        names = []
        for i, l in enumerate(lines):
            if "Subject Alternative Name" in l and i + 1 < len(lines):
                names = [s.strip()[4:].lower() for s in lines[i + 1].split(",")
                         if s.strip().startswith("DNS:")]
        kv = dict(l.split("=", 1) for l in lines if "=" in l and not l.startswith(" "))
        return {"sans": sorted(names), "not_before": kv.get("notBefore"),
                "not_after": kv.get("notAfter"), "serial": kv.get("serial"),
                "issuer": kv.get("issuer")}
