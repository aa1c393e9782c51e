"""The ACME client against a real Pebble (tests/integration/acme_driver.c).

Accounts (register, look up, deactivate), EAB, issuance for one and several
identifiers with the chain checked against Pebble's root, badNonce storms,
keyChange, revocation and a failing validation.
"""
import json
import os
import subprocess

import pytest

import harness
import pebble_env

DRIVER = harness.program("acme_driver")


class Env:
    def __init__(self, tmp, pebble):
        self.tmp = tmp
        self.p = pebble

    def run(self, key, *args, account=None, retries=10, check=None):
        cmd = [DRIVER, "--dir", self.p.directory, "--ca", self.p.ca,
               "--key", key, "--nonce-retries", str(retries)]
        if account:
            cmd += ["--account", account]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True,
                           timeout=120)
        assert r.returncode in (0, 1), r.stderr
        out = json.loads(r.stdout.strip().splitlines()[-1])
        if check is not None:
            assert (out["status"] == "ok") == check, out
        return out

    def new_account(self, name="acct", email="ops@example.com"):
        key = os.path.join(self.tmp, f"{name}.pem")
        self.run(key, "newkey", check=True)
        out = self.run(key, "register", "--email", email, check=True)
        return key, out["account"]

    def issue(self, key, account, names, check=True, **kw):
        outdir = os.path.join(self.tmp, "out-" + names.replace(",", "_"))
        os.makedirs(outdir, exist_ok=True)
        extra = []
        if kw.get("wrong_txt"):
            extra.append("--wrong-txt")
        if kw.get("count"):
            extra += ["--count", str(kw["count"])]
        return self.run(key, "issue", "--names", names, "--challtestsrv",
                        self.p.challtestsrv, "--out", outdir, *extra,
                        account=account, retries=kw.get("retries", 10),
                        check=check)


def _env(tmp, **kw):
    p = pebble_env.Pebble(tmp, **kw)
    return Env(tmp, p)


@pytest.fixture(scope="module")
def env():
    tmp = harness.tmpdir("dcv-acme-")
    e = _env(tmp)
    yield e
    e.p.stop()
    harness.rmtree(tmp)


def verify_chain(env, chain_path, names):
    """openssl verify against Pebble's root, and the leaf's SANs."""
    root = os.path.join(env.tmp, "root.pem")
    with open(root, "w") as f:
        f.write(env.p.root_pem())
    with open(chain_path) as f:
        pem = f.read()
    certs = ["-----BEGIN CERTIFICATE-----" + c for c in
             pem.split("-----BEGIN CERTIFICATE-----")[1:]]
    assert len(certs) >= 2, "chain has no intermediate"
    leaf = chain_path + ".leaf"
    inter = chain_path + ".inter"
    with open(leaf, "w") as f:
        f.write(certs[0])
    with open(inter, "w") as f:
        f.write("".join(certs[1:]))
    r = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted",
                        inter, leaf], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["openssl", "x509", "-in", leaf, "-noout", "-ext",
                        "subjectAltName"], capture_output=True, text=True,
                       check=True)
    sans = sorted(s.strip()[4:] for s in r.stdout.splitlines()[1].split(","))
    assert sans == sorted(names)


def test_register_lookup_deactivate(env):
    key, url = env.new_account("lookup")
    assert url.startswith(f"https://127.0.0.1:{env.p.port}/")
    out = env.run(key, "register", "--only-existing", check=True)
    assert out["account"] == url
    other = os.path.join(env.tmp, "unknown.pem")
    env.run(other, "newkey", check=True)
    out = env.run(other, "register", "--only-existing", check=False)
    assert out["code"] == "account does not exist"
    assert out["retryable"] is False
    env.run(key, "deactivate", account=url, check=True)
    out = env.run(key, "order", "--names", "x.example.com", account=url,
                  check=False)
    assert out["code"] == "unauthorized" and out["retryable"] is False


def test_issue_one_identifier(env):
    key, url = env.new_account("one")
    out = env.issue(key, url, "one.example.com")
    verify_chain(env, out["certs"][0], ["one.example.com"])


def test_issue_several_identifiers(env):
    key, url = env.new_account("several")
    names = ["several.example.com", "www.several.example.com",
             "*.wild.example.org"]
    out = env.issue(key, url, ",".join(names))
    verify_chain(env, out["certs"][0], names)


def test_wrong_txt_is_permanent_with_ca_detail(env):
    key, url = env.new_account("wrong")
    out = env.issue(key, url, "wrong.example.com", check=False, wrong_txt=True)
    assert out["code"] == "validation failed"
    assert out["retryable"] is False
    assert out["type"].endswith(":unauthorized")
    assert "Correct value not found" in out["detail"]


def test_key_change(env):
    key, url = env.new_account("rollover")
    new_key = os.path.join(env.tmp, "rollover-new.pem")
    env.run(key, "keychange", "--new-key", new_key, account=url, check=True)
    env.issue(new_key, url, "rolled.example.com")
    out = env.run(key, "order", "--names", "old.example.com", account=url,
                  check=False)
    # Pebble refuses the old key's signature as "malformed" (JWS
    # verification error); Boulder says "unauthorized".  Either is final.
    assert out["code"] in ("unauthorized", "malformed request"), out
    assert out["retryable"] is False
    out = env.run(key, "register", "--only-existing", check=False)
    assert out["code"] == "account does not exist"
    out = env.run(new_key, "register", "--only-existing", check=True)
    assert out["account"] == url


def test_revoke(env):
    key, url = env.new_account("revoke")
    out = env.issue(key, url, "revoke.example.com")
    cert = out["certs"][0]
    env.run(key, "revoke", "--cert", cert, "--reason", "4", account=url,
            check=True)
    out = env.run(key, "revoke", "--cert", cert, "--reason", "4", account=url,
                  check=False)
    assert out["code"] == "already revoked"


def test_eab_required():
    tmp = harness.tmpdir("dcv-acme-eab-")
    e = _env(tmp, eab=True)
    try:
        key = os.path.join(tmp, "eab.pem")
        e.run(key, "newkey", check=True)
        out = e.run(key, "register", "--email", "a@example.com", check=False)
        assert out["code"].startswith("external account binding")
        wrong = "A" * 64
        out = e.run(key, "register", "--email", "a@example.com", "--eab-kid",
                    pebble_env.EAB_KID, "--eab-hmac", wrong, check=False)
        assert out["code"].startswith("external account binding"), out
        assert out["retryable"] is False
        assert "external account binding" in out["detail"], out  # the CA's own words
        out = e.run(key, "register", "--email", "a@example.com", "--eab-kid",
                    pebble_env.EAB_KID, "--eab-hmac", pebble_env.EAB_HMAC,
                    check=True)
        e.issue(key, out["account"], "eab.example.com")
    finally:
        e.p.stop()
        harness.rmtree(tmp)


def test_nonce_reject_50_twenty_issuances():
    tmp = harness.tmpdir("dcv-acme-nonce-")
    e = _env(tmp, env={"PEBBLE_WFE_NONCEREJECT": "50"})
    try:
        key = os.path.join(tmp, "n.pem")
        e.run(key, "newkey", check=True)
        out = e.run(key, "register", "--email", "a@example.com", retries=40,
                    check=True)
        acct = out["account"]
        # Without retries the storm shows: some request is refused (a whole
        # issuance is about ten signed requests, each refused half the time).
        out = e.issue(key, acct, "storm.example.com", count=3, retries=0,
                      check=False)
        assert out["code"] == "bad nonce (retries exhausted)", out
        assert out["retryable"] is True
        out = e.issue(key, acct, "nonce.example.com", count=20, retries=40)
        assert out["issued"] == 20
        assert len(out["certs"]) == 20
    finally:
        e.p.stop()
        harness.rmtree(tmp)
