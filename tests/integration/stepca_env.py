"""step-ca (smallstep's ACME server, a second implementation beside Pebble)
on loopback, on a free port, stopped by PID.

Debian 12 has no step-ca binary: tests/stepca/build.sh compiles it once from
Debian's packaged Go source (golang-go, golang-github-smallstep-certificates-dev,
installed by deploy/install-deps.sh) into <build>/stepca/step-ca.  A build
that fails raises: a test that needs step-ca fails, it is never skipped.

The PKI is made here with openssl: a P-256 root and an intermediate, keys
unencrypted.  step-ca serves HTTPS with a certificate its intermediate
issues for 127.0.0.1/localhost, so the root is both what the client trusts
(acme.ca_bundle) and what every issued chain verifies against.

StepCA has the interface of pebble_env.Pebble that fleet_env.FleetEnv uses:
directory, ca (the HTTPS trust file), root_pem(), stop().
"""
import json
import os
import ssl
import subprocess
import urllib.request

import harness

BUILD_SCRIPT = os.path.join(harness.SOURCE, "tests", "stepca", "build.sh")


def binary(out=None):
    """OUT (default <build>/stepca/step-ca), built on first use (cached; see
    build.sh).  Raises AssertionError with the build's output when it
    fails."""
    out = out or os.path.join(os.path.abspath(harness.BUILD), "stepca", "step-ca")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = subprocess.run([BUILD_SCRIPT, out], capture_output=True, text=True, timeout=900)
    if r.returncode != 0 or not os.access(out, os.X_OK):
        raise AssertionError(f"cannot build step-ca ({BUILD_SCRIPT} exited "
                             f"{r.returncode}):\n{r.stdout}{r.stderr}")
    return out


def _openssl(args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_pki(d):
    """root.pem/root.key and intermediate.pem/intermediate.key in D."""
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("[root]\nbasicConstraints=critical,CA:true\n"
                "keyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n"
                "[inter]\nbasicConstraints=critical,CA:true,pathlen:0\n"
                "keyUsage=critical,digitalSignature,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(["req", "-x509", *ec, "-keyout", "root.key", "-out", "root.pem",
              "-days", "2", "-subj", "/CN=dcv test step-ca root",
              "-extensions", "root", "-config", "ext.cnf"], d)
    _openssl(["req", *ec, "-keyout", "intermediate.key", "-out", "intermediate.csr",
              "-subj", "/CN=dcv test step-ca intermediate"], d)
    _openssl(["x509", "-req", "-in", "intermediate.csr", "-CA", "root.pem",
              "-CAkey", "root.key", "-CAcreateserial", "-out", "intermediate.pem",
              "-days", "2", "-extfile", "ext.cnf", "-extensions", "inter"], d)


class StepCA:
    """step-ca with one ACME provisioner named "acme", DNS-01 lookups sent
    to DNSSERVER ("127.0.0.1:PORT", a resolver that chains CNAME and TXT).
    CERT_DURATION: the lifetime of issued certificates (a Go duration)."""

    def __init__(self, tmpdir, dnsserver, cert_duration="24h"):
        self.dir = tmpdir
        self.dnsserver = dnsserver
        exe = binary()
        make_pki(tmpdir)
        self.ca = os.path.join(tmpdir, "root.pem")
        self.port = harness.free_port()
        conf = {
            "root": self.ca,
            "crt": os.path.join(tmpdir, "intermediate.pem"),
            "key": os.path.join(tmpdir, "intermediate.key"),
            "address": f"127.0.0.1:{self.port}",
            "dnsNames": ["127.0.0.1", "localhost"],
            "logger": {"format": "text"},
            "db": {"type": "bbolt", "dataSource": os.path.join(tmpdir, "db")},
            "authority": {
                "provisioners": [{"type": "ACME", "name": "acme"}],
                "claims": {"minTLSCertDuration": "1m",
                           "defaultTLSCertDuration": cert_duration,
                           "maxTLSCertDuration": "2160h"},
            },
        }
        self.config = os.path.join(tmpdir, "ca.json")
        with open(self.config, "w") as f:
            json.dump(conf, f)
        self.proc = harness.Proc([exe, "--resolver", dnsserver, self.config],
                                 os.path.join(tmpdir, "step-ca.log"))
        try:
            harness.wait_port(self.port, proc=self.proc)
            harness.wait_until(self._answers, 20, interval=0.1,
                               what="step-ca's ACME directory")
        except BaseException:
            self.stop()
            raise

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"step-ca exited {self.proc.returncode}:\n{self.log()[-3000:]}")
        try:
            return json.loads(self.get(self.directory)).get("newOrder")
        except OSError:
            return None

    def get(self, url):
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            return r.read().decode()

    def log(self):
        with open(self.proc.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/acme/acme/directory"

    def root_pem(self):
        with open(self.ca) as f:
            return f.read()

    def stop(self):
        if getattr(self, "proc", None) is not None:
            self.proc.stop()
