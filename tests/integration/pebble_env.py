"""Pebble and pebble-challtestsrv on loopback, on free ports, for the ACME tests.

Pebble needs an HTTPS certificate of its own: a throwaway CA and a server
certificate for 127.0.0.1/localhost are made with the openssl CLI in the
test's tmpdir, and the client trusts that CA (ca.pem).  The root Pebble
issues under is regenerated at every start: fetch it from the management
port (/roots/0) to verify chains.
"""
import json
import os
import ssl
import subprocess
import urllib.request

import harness

# A fixed EAB key pair for the variant that requires external account binding.
EAB_KID = "kid-dcv"
EAB_HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"


def _run(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_tls(d):
    """Throwaway CA (ca.pem) and server cert (server.pem/.key) in D."""
    _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
          "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
          "ca.pem", "-days", "2", "-subj", "/CN=dcv test https CA"], d)
    _run(["openssl", "req", "-newkey", "ec", "-pkeyopt",
          "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out",
          "server.csr", "-subj", "/CN=localhost"], d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
          "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
          "-days", "2", "-extfile", "san.ext"], d)
    return os.path.join(d, "ca.pem")


class Pebble:
    """pebble + pebble-challtestsrv.  ENV adds PEBBLE_* variables.

    DNSSERVER ("127.0.0.1:PORT"): use that DNS server for validation instead
    of starting pebble-challtestsrv (then dns_port, ctl_port and chall are
    None).  EAB_KEYS ({kid: hmac}): the EAB keys Pebble accepts (default,
    with EAB, the one EAB_KID)."""

    def __init__(self, tmpdir, eab=False, env=None, dnsserver=None, eab_keys=None):
        self.dir = tmpdir
        self.ca = make_tls(tmpdir)
        self.chall = None
        self.dns_port = self.ctl_port = None
        self.port = harness.free_port()
        self.mgmt_port = harness.free_port()
        if dnsserver is None:
            self.dns_port = harness.free_port()
            self.ctl_port = harness.free_port()
            self.chall = harness.Proc(
                ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{self.dns_port}",
                 "-http01", "", "-https01", "", "-tlsalpn01", "",
                 "-management", f"127.0.0.1:{self.ctl_port}",
                 "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
                os.path.join(tmpdir, "challtestsrv.log"))
            harness.wait_port(self.ctl_port, proc=self.chall)
            dnsserver = f"127.0.0.1:{self.dns_port}"
        self.dnsserver = dnsserver
        conf = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": os.path.join(tmpdir, "server.pem"),
            "privateKey": os.path.join(tmpdir, "server.key"),
            "httpPort": harness.free_port(), "tlsPort": harness.free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(eab),
        }}
        if eab:
            conf["pebble"]["externalAccountMACKeys"] = dict(eab_keys or {EAB_KID: EAB_HMAC})
        cfg = os.path.join(tmpdir, "pebble.json")
        with open(cfg, "w") as f:
            json.dump(conf, f)
        penv = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_AUTHZREUSE": "0",
                "PEBBLE_WFE_NONCEREJECT": "0"}
        penv.update(env or {})
        self.proc = None
        self.args = ["pebble", "-config", cfg, "-dnsserver", self.dnsserver]
        self.penv = penv
        try:
            self._start()
        except Exception:
            for p in (self.proc, self.chall):
                if p is not None:
                    p.stop()
            raise

    def _start(self):
        self.proc = harness.Proc(self.args, os.path.join(self.dir, "pebble.log"),
                                 env=self.penv)
        harness.wait_port(self.port, proc=self.proc)
        harness.wait_port(self.mgmt_port, proc=self.proc)

    def restart(self):
        """SIGKILL and start again on the same ports: a new CA as far as
        accounts, orders and the root go (Pebble keeps nothing)."""
        self.proc.kill()
        self.proc.log.close()
        self._start()

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def challtestsrv(self):
        if self.ctl_port is None:
            return None
        return f"http://127.0.0.1:{self.ctl_port}"

    def root_pem(self):
        """The root this Pebble run issues under (management port)."""
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(
                f"https://127.0.0.1:{self.mgmt_port}/roots/0", context=ctx,
                timeout=10) as r:
            return r.read().decode()

    def stop(self):
        for p in (getattr(self, "proc", None), self.chall):
            if p is not None:
                p.stop()
