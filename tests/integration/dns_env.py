"""Real DNS servers for the DNS layer's tests: BIND named and PowerDNS on
127.0.0.1, on free ports, stopped by PID (through harness.Proc).

Every server listens on 127.0.0.1 only.  The zones name their nameservers
with TEST-NET addresses (192.0.2.x, 2001:db8::x); the dns_driver config maps
each of those addresses to 127.0.0.1 and the right port with dns.port_map,
the test setting the DNS layer has for exactly this.
"""
import base64
import json
import os
import socket
import subprocess
import urllib.request

import harness
from harness import Proc, free_port, wait_until


def tsig_secret():
    return base64.b64encode(os.urandom(32)).decode()


def dig(port, name, rtype="TXT", short=True, server="127.0.0.1"):
    """Answer of one non-recursive query as dig +short lines ([] if none)."""
    args = ["dig", f"@{server}", "-p", str(port), name, rtype, "+norecurse",
            "+time=1", "+tries=1"]
    if short:
        args.append("+short")
    out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    return [l for l in out.stdout.splitlines() if l.strip()]


def dig_status(port, name, rtype="SOA"):
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), name, rtype,
                          "+norecurse", "+time=1", "+tries=1"],
                         capture_output=True, text=True, timeout=10)
    for line in out.stdout.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    return None


class Named:
    """One `named -g -c CONF` with the given zone clauses and zone files."""

    def __init__(self, tmpdir, name, zones, extra_options="", keys=""):
        self.dir = os.path.join(tmpdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.zones = zones  # dict zone -> (clause body, file text or None)
        self.extra = extra_options
        self.keys = keys
        self.proc = None
        self.write_config()
        self.start()

    def zone_path(self, zone):
        return os.path.join(self.dir, f"{zone}.zone")

    def write_zone(self, zone, text):
        with open(self.zone_path(zone), "w") as f:
            f.write(text)

    def write_config(self):
        clauses = []
        for zone, (body, text) in self.zones.items():
            if text is not None:
                self.write_zone(zone, text)
            fileclause = "" if "type forward" in body else f'file "{self.zone_path(zone)}"; '
            clauses.append(f'zone "{zone}" {{ {fileclause}{body} }};')
        conf = f"""
{self.keys}
options {{
    directory "{self.dir}";
    pid-file "{self.dir}/named.pid";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    dnssec-validation no;
    notify explicit;
    {self.extra}
}};
controls {{ }};
{chr(10).join(clauses)}
"""
        self.conf = os.path.join(self.dir, "named.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self):
        self.proc = Proc(["named", "-g", "-c", self.conf, "-n", "1"],
                         os.path.join(self.dir, "named.log"))
        first = next(iter(self.zones))
        wait_until(lambda: self._up(first), 20, what=f"named {self.name} serving {first}")

    def _up(self, zone):
        if self.proc.poll() is not None:
            raise AssertionError(f"named {self.name} exited:\n{self.proc.output()[-3000:]}")
        try:
            return dig_status(self.port, zone) is not None
        except subprocess.TimeoutExpired:
            return False

    def reload(self):
        """SIGHUP: named re-reads its configuration and zone files."""
        import signal
        self.proc.signal(signal.SIGHUP)

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


class BlackHole:
    """A UDP+TCP port on 127.0.0.1 that takes queries and never answers."""

    def __init__(self):
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)

    def stop(self):
        self.udp.close()
        self.tcp.close()


SOA = "@ SOA ns1.customer.test. hostmaster.customer.test. {serial} 3600 600 86400 1\n"


def customer_zone(serial, lagging):
    z = "$TTL 1\n" + SOA.format(serial=serial) + """
@ NS ns1.customer.test.
@ NS ns2.customer.test.
ns1 A 192.0.2.1
ns2 A 192.0.2.2
ns2 AAAA 2001:db8::2
ns6 AAAA 2001:db8::2
_acme-challenge.good CNAME good.customer.test.validation.test.
_acme-challenge.multi CNAME hop1.other.test.
_acme-challenge.inzone CNAME hopx.customer.test.
hopx CNAME inzone.customer.test.validation.test.
_acme-challenge.wrong CNAME somewhere.other.test.
_acme-challenge.loop CNAME loop1.other.test.
_acme-challenge.endless CNAME a.e.other.test.
*.deep CNAME wild.other.test.
_acme-challenge.nsdel NS ns.other.test.
_acme-challenge.txtonly TXT "not-a-cname"
www A 198.51.100.10
app2 CNAME edge.other.test.
v6only CNAME v6.other.test.
gone A 192.0.2.200
gone AAAA 2001:db8:dead::1
viacdn CNAME x.cdn.test.
"""
    if not lagging:
        z += "_acme-challenge.lag CNAME lag.customer.test.validation.test.\n"
    return z


OTHER_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns1.customer.test.
hop1 CNAME hop2.other.test.
hop2 CNAME multi.customer.test.validation.test.
somewhere CNAME somewhere-else.other.test.
loop1 CNAME loop2.other.test.
loop2 CNAME loop1.other.test.
ns A 192.0.2.50
edge CNAME lb.other.test.
lb A 203.0.113.7
lb AAAA 2001:db8:cafe::7
v6 AAAA 2001:db8:cafe::9
e DNAME x.e.other.test.
"""

CDN_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns1.customer.test.
x A 192.0.2.201
"""

SLOW_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns1.customer.test.
@ NS ns.slow.test.
ns A 192.0.2.99
_acme-challenge.d CNAME d.slow.test.validation.test.
"""

# Served by P (for the resolver) and by Q alone as its nameserver: with Q
# stopped (SIGSTOP) the zone's only server answers late or never.
LAZY_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns.lazy.test.
ns A 192.0.2.98
_acme-challenge.d CNAME d.lazy.test.validation.test.
"""

# A zone whose one NS name has 32 addresses (the 32-slot arrays of issue
# 10), and one whose four NS names have 40 between them.  127.0.0.1 is P;
# with dns.ns_port set to P's port the other loopback addresses refuse at
# once (ICMP port unreachable), so a check that does ask them ends quickly.
BIG_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns.big.test.
_acme-challenge.d CNAME d.big.test.validation.test.
""" + "".join(f"ns A 127.0.0.{i}\n" for i in range(1, 33))

WIDE_ZONE = "$TTL 1\n" + SOA.format(serial=1) + \
    "".join(f"@ NS n{k}.wide.test.\n" for k in range(4)) + \
    "_acme-challenge.d CNAME d.wide.test.validation.test.\n" + \
    "".join(f"n{k} A 127.0.1.{10 * k + i + 1}\n" for k in range(4) for i in range(10))

# NS addresses a customer must not make us query: loopback (I, a named on
# 127.0.0.1 that logs its queries, when dns.ns_port is I's port), private,
# link-local, multicast and an IPv4-mapped loopback; and ns1.customer.test
# (192.0.2.1 -> P), which may be asked.  WALLED_ZONE has nothing else.
INSIDE_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns1.customer.test.
@ NS ns1.inside.test.
@ NS ns2.inside.test.
@ NS ns3.inside.test.
ns1 A 127.0.0.1
ns2 A 10.0.0.53
ns2 AAAA fe80::53
ns3 A 224.0.0.53
ns3 AAAA ::ffff:127.0.0.1
_acme-challenge.d CNAME d.inside.test.validation.test.
"""

WALLED_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns.walled.test.
ns A 192.168.1.53
ns A 100.64.0.53
ns AAAA fd00::53
_acme-challenge.d CNAME d.walled.test.validation.test.
"""

# More NS names than dns.max_ns_names (10 by default).
MANY_ZONE = "$TTL 1\n" + SOA.format(serial=1) + \
    "".join(f"@ NS n{k}.many.test.\nn{k} A 192.0.2.{150 + k}\n" for k in range(12)) + \
    "_acme-challenge.d CNAME d.many.test.validation.test.\n"

VALIDATION_ZONE = "$TTL 1\n" + SOA.format(serial=1) + """
@ NS ns1.customer.test.
@ NS ns6.customer.test.
"""


class BindEnv:
    """Primary P (all zones; validation.test dynamic), second server S
    (customer.test from its own, older file; validation.test as a secondary
    of P), resolver R (recursion, forwarding *.test to P), a server that
    never answers (for slow.test), Q, the only nameserver of lazy.test,
    which a test stops and continues to make it answer late, and I, which
    serves inside.test on 127.0.0.1 and logs every query it gets."""

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.key256 = ("k256.", tsig_secret())
        self.key512 = ("k512.", base64.b64encode(os.urandom(64)).decode())
        keys = "".join(f'key "{n}" {{ algorithm {a}; secret "{s}"; }};\n'
                       for (n, s), a in ((self.key256, "hmac-sha256"),
                                         (self.key512, "hmac-sha512")))
        self.hole = BlackHole()
        self.servers = []
        try:
            self.s_port = free_port()
            self.p = Named(tmpdir, "p", {
                "customer.test": ("type primary;", customer_zone(2, False)),
                "validation.test": (
                    "type primary; update-policy { grant k256. zonesub TXT; "
                    "grant k512. zonesub TXT; }; allow-transfer { 127.0.0.1; }; "
                    f"also-notify {{ 127.0.0.1 port {self.s_port}; }}; notify explicit; notify-delay 0;",
                    VALIDATION_ZONE),
                "other.test": ("type primary;", OTHER_ZONE),
                "cdn.test": ("type primary;", CDN_ZONE),
                "slow.test": ("type primary;", SLOW_ZONE),
                "lazy.test": ("type primary;", LAZY_ZONE),
                "big.test": ("type primary;", BIG_ZONE),
                "wide.test": ("type primary;", WIDE_ZONE),
                "inside.test": ("type primary;", INSIDE_ZONE),
                "walled.test": ("type primary;", WALLED_ZONE),
                "many.test": ("type primary;", MANY_ZONE),
            }, extra_options="recursion no;", keys=keys)
            self.servers.append(self.p)
            self.q = Named(tmpdir, "q", {"lazy.test": ("type primary;", LAZY_ZONE)},
                           extra_options="recursion no;")
            self.servers.append(self.q)
            self.i = Named(tmpdir, "i", {"inside.test": ("type primary;", INSIDE_ZONE)},
                           extra_options="recursion no; querylog yes;")
            self.servers.append(self.i)
            self.s = self._start_s()
            self.servers.append(self.s)
            self.r = Named(tmpdir, "r", {
                "test": (f"type forward; forward only; forwarders {{ 127.0.0.1 port {self.p.port}; }};", None),
            }, extra_options="recursion yes; allow-recursion { 127.0.0.1; }; "
                             "max-ncache-ttl 1; max-cache-ttl 1; "
                             "qname-minimization off;")
            self.servers.append(self.r)
        except BaseException:
            self.stop()
            raise

    def _start_s(self):
        # Named picks its own free port; S must be on the port P notifies.
        s = Named.__new__(Named)
        s.dir = os.path.join(self.tmpdir, "s")
        os.makedirs(s.dir, exist_ok=True)
        s.name = "s"
        s.port = self.s_port
        s.zones = {
            "customer.test": ("type primary;", customer_zone(1, True)),
            "validation.test": (f"type secondary; primaries {{ 127.0.0.1 port {self.p.port}; }};", None),
        }
        s.extra = "recursion no;"
        s.keys = ""
        s.proc = None
        s.write_config()
        s.start()
        return s

    def catch_up_s(self):
        """S gets the current customer zone (what a lagging secondary does
        eventually)."""
        self.s.write_zone("customer.test", customer_zone(3, False))
        self.s.reload()

    def port_map(self):
        return [f"192.0.2.1=127.0.0.1:{self.p.port}",
                f"192.0.2.2=127.0.0.1:{self.s.port}",
                f"2001:db8::2=127.0.0.1:{self.s.port}",
                f"192.0.2.99=127.0.0.1:{self.hole.port}",
                f"192.0.2.98=127.0.0.1:{self.q.port}"]

    def dns_config(self, path, **over):
        """Writes a dns: config for dns_driver and returns PATH."""
        o = {
            "resolvers": [f"127.0.0.1:{self.r.port}"],
            "timeout_ms": 400,
            "tries": 1,
            "max_cname_depth": 8,
            "confirmations": 2,
            "confirmation_interval_ms": 1500,
            "port_map": self.port_map(),
            # the zones publish TEST-NET nameserver addresses, which the
            # DNS layer never queries unless allowed (port_map then sends
            # them to loopback)
            "allowed_ns_ranges": ["192.0.2.0/24", "2001:db8::/32"],
            "pointing": {"ip_ranges": ["203.0.113.0/24", "2001:db8:cafe::/48",
                                       "198.51.100.0/24"],
                         "host_suffixes": ["*.cdn.test"]},
        }
        o.update(over)
        with open(path, "w") as f:
            f.write(yaml_dump({"dns": o}))
        return path

    def provider_config(self, path, key=None, alg="hmac-sha256", zone="validation.test",
                        secret=None):
        name, sec = key or self.key256
        with open(path, "w") as f:
            f.write(yaml_dump({"provider": {
                "type": "rfc2136",
                "zone": zone,
                "server": f"127.0.0.1:{self.p.port}",
                "ttl": 30,
                "timeout_ms": 1000,
                "tries": 1,
                "tsig": {"name": name, "algorithm": alg,
                         "secret": secret if secret is not None else sec},
            }}))
        return path

    def stop(self):
        for s in reversed(self.servers):
            s.stop()
        self.servers = []
        self.hole.stop()


class PowerDNS:
    """pdns_server with the sqlite3 backend and its HTTP API."""

    SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"

    def __init__(self, tmpdir):
        self.dir = os.path.join(tmpdir, "pdns")
        os.makedirs(self.dir, exist_ok=True)
        self.db = os.path.join(self.dir, "pdns.sqlite3")
        with open(self.SCHEMA) as f:
            subprocess.run(["sqlite3", self.db], input=f.read(), text=True, check=True)
        self.port = free_port()
        self.api_port = free_port()
        self.api_key = base64.b16encode(os.urandom(12)).decode()
        args = ["pdns_server", "--no-config", "--daemon=no", "--guardian=no",
                "--disable-syslog", "--write-pid=no", f"--socket-dir={self.dir}",
                "--launch=gsqlite3", f"--gsqlite3-database={self.db}",
                "--local-address=127.0.0.1", f"--local-port={self.port}",
                "--api=yes", f"--api-key={self.api_key}", "--webserver=yes",
                "--webserver-address=127.0.0.1", f"--webserver-port={self.api_port}",
                "--webserver-allow-from=127.0.0.1", "--loglevel=4"]
        self.proc = Proc(args, os.path.join(self.dir, "pdns.log"))
        harness.wait_port(self.api_port, proc=self.proc)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.api_port}"

    def api(self, method, path, body=None, key=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"X-API-Key": key or self.api_key,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                data = r.read()
                return r.status, (json.loads(data) if data else None)
        except urllib.error.HTTPError as e:
            return e.code, None

    def create_zone(self, zone, nameservers=None):
        st, _ = self.api("POST", "/api/v1/servers/localhost/zones",
                         {"name": zone + ".", "kind": "Native",
                          "nameservers": nameservers or ["ns1." + zone + "."]})
        assert st == 201, st

    def txt(self, zone, name):
        """TXT values at NAME as the API shows them (unquoted, sorted)."""
        st, z = self.api("GET", f"/api/v1/servers/localhost/zones/{zone}.")
        assert st == 200
        vals = []
        for rr in z["rrsets"]:
            if rr["name"] == name + "." and rr["type"] == "TXT":
                vals += [r["content"].strip('"') for r in rr["records"]]
        return sorted(vals)

    def provider_config(self, path, zone, api_key=None):
        with open(path, "w") as f:
            f.write(yaml_dump({"provider": {
                "type": "powerdns", "zone": zone, "api_url": self.url,
                "api_key": api_key or self.api_key, "server_id": "localhost",
                "ttl": 30, "timeout_ms": 3000, "tries": 1}}))
        return path

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


class Knot:
    """knotd with one dynamic zone ZONE (NS NSNAME) that the TSIG key
    (self.key: name, base64 secret; hmac-sha256) may update, TXT only."""

    def __init__(self, tmpdir, zone, nsname):
        self.dir = os.path.join(tmpdir, "knot")
        os.makedirs(self.dir, exist_ok=True)
        self.zone = zone
        self.port = free_port()
        self.key = ("dcv-knot.", tsig_secret())
        with open(os.path.join(self.dir, f"{zone}.zone"), "w") as f:
            f.write(f"$TTL 1\n@ SOA {nsname}. hostmaster.{zone}. 1 3600 600 86400 1\n"
                    f"@ NS {nsname}.\n")
        conf = f"""server:
    rundir: {self.dir}
    listen: 127.0.0.1@{self.port}
database:
    storage: {self.dir}
key:
  - id: {self.key[0]}
    algorithm: hmac-sha256
    secret: {self.key[1]}
acl:
  - id: update
    key: {self.key[0]}
    action: update
    update-type: [TXT]
zone:
  - domain: {zone}
    storage: {self.dir}
    file: {zone}.zone
    acl: update
    zonefile-sync: -1
log:
  - target: stderr
    any: info
"""
        self.conf = os.path.join(self.dir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = Proc(["knotd", "-c", self.conf], os.path.join(self.dir, "knot.log"))
        wait_until(self._up, 20, what=f"knotd serving {zone}")

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"knotd exited:\n{self.proc.output()[-3000:]}")
        try:
            return dig_status(self.port, self.zone) == "NOERROR"
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


def yaml_dump(obj, indent=0):
    """Tiny YAML writer (mappings, lists of scalars, scalars) so the tests do
    not need PyYAML."""
    pad = "  " * indent
    out = []
    for k, v in obj.items():
        if isinstance(v, dict):
            out.append(f"{pad}{k}:")
            out.append(yaml_dump(v, indent + 1))
        elif isinstance(v, list):
            out.append(f"{pad}{k}:")
            out += [f"{pad}  - {json.dumps(str(i))}" for i in v]
        elif isinstance(v, bool):
            out.append(f"{pad}{k}: {'true' if v else 'false'}")
        else:
            out.append(f"{pad}{k}: {json.dumps(v) if isinstance(v, str) else v}")
    return "\n".join(out) + ("\n" if indent == 0 else "")


def driver(config, *args, timeout=60):
    """Runs dns_driver and returns its JSON lines (a list of dicts)."""
    out = subprocess.run([harness.program("dns_driver"), config, *map(str, args)],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"dns_driver {args}: rc={out.returncode} {out.stderr}"
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def driver1(config, *args, **kw):
    res = driver(config, *args, **kw)
    assert len(res) == 1, res
    return res[0]
