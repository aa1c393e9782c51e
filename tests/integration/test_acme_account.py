"""The fleet-shared ACME account in Redis ("dcvctl account ...", common/account.c)
against a real redis-server and a real Pebble.

The acme_driver program carries ctl_account_main(), so these run the same
code dcvctl runs, configured through the environment (DCV_ACME_*).
"""
import os
import subprocess

import pytest

import harness
import pebble_env

DRIVER = harness.program("acme_driver")
KEK = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def servers(prefix, eab=False):
    """(tmp, Pebble, Redis) for a module fixture; stopped by PID after it."""
    tmp = harness.tmpdir(prefix)
    p = pebble_env.Pebble(tmp, eab=eab)
    r = None
    try:
        r = harness.Redis(tmp)
        yield tmp, p, r
    finally:
        if r:
            r.stop()
        p.stop()
        harness.rmtree(tmp)


@pytest.fixture(scope="module")
def env():
    yield from servers("dcv-acct-")


def ctl(env, *args, prefix="dcv", kek=KEK, stdin=None, extra=None):
    tmp, p, r = env
    e = {k: v for k, v in os.environ.items() if not k.startswith("DCV_ACME_")}
    e.update({"DCV_ACME_DIRECTORY": p.directory, "DCV_ACME_CA_BUNDLE": p.ca})
    if kek:
        e["DCV_ACME_KEK"] = kek
    e.update(extra or {})
    return subprocess.run([DRIVER, "--redis", f"127.0.0.1:{r.port}", "--prefix",
                           prefix, "account", *args], capture_output=True,
                          text=True, env=e, timeout=60)


def fields(env, prefix="dcv"):
    h = env[2].client().hgetall(f"{prefix}:account")
    return {k.decode(): v.decode() for k, v in h.items()}


def test_usage_errors(env):
    assert ctl(env, "register").returncode == 2          # no --email
    assert ctl(env, "frobnicate").returncode == 2
    assert ctl(env, "register", "--email").returncode == 2
    assert ctl(env, "deactivate").returncode == 2        # needs --yes
    r = ctl(env, "show", prefix="nothing")
    assert r.returncode == 1 and "no ACME account" in r.stderr


def test_register_encrypted_show_and_kek(env):
    r = ctl(env, "register", "--email", "ops@example.com")
    assert r.returncode == 0, r.stderr
    assert "key encrypted" in r.stdout
    f = fields(env)
    assert f["url"].startswith(f"https://127.0.0.1:{env[1].port}/")
    assert f["enc"] == "aes-256-gcm"
    assert f["key"].startswith("aesgcm1:")
    assert f["alg"] == "ES256" and f["key_version"] == "1"
    assert all("PRIVATE KEY" not in v for v in f.values())

    r = ctl(env, "show")
    assert r.returncode == 0, r.stderr
    assert f"url: {f['url']}" in r.stdout and "key_encrypted: yes" in r.stdout
    assert "PRIVATE" not in r.stdout + r.stderr and f["key"] not in r.stdout

    r = ctl(env, "show", kek=None)
    assert r.returncode == 1 and "key-encryption key" in r.stderr
    r = ctl(env, "show", kek="ff" * 32)
    assert r.returncode == 1 and "key-encryption key" in r.stderr
    r = ctl(env, "show", kek="not-a-key")
    assert r.returncode == 1

    r = ctl(env, "register", "--email", "ops@example.com")
    assert r.returncode == 1 and "already stored" in r.stderr


def test_rotate_while_a_worker_runs(env):
    tmp, p, red = env
    before = fields(env)
    e = dict(os.environ, DCV_ACME_KEK=KEK)
    worker = subprocess.Popen(
        [DRIVER, "--dir", p.directory, "--ca", p.ca, "--redis",
         f"127.0.0.1:{red.port}", "account-worker", "--names", "w.example.com"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=e)
    try:
        assert worker.stdout.readline().strip() == '{"ready":true}'
        r = ctl(env, "rotate-key")
        assert r.returncode == 0, r.stderr
        assert "key_version 2" in r.stdout
        after = fields(env)
        assert after["key_version"] == "2" and after["key"] != before["key"]
        assert after["url"] == before["url"]
        assert "pending_key" not in after
        # The worker still holds key 1: its next request is refused, it
        # sees key_version 2, reloads and succeeds.
        out, _ = worker.communicate("go\n", timeout=60)
        assert '"status":"ok"' in out, out
        assert '"version_before":1' in out and '"version_after":2' in out
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_rotation_in_progress_is_refused(env):
    red = env[2].client()
    red.hset("dcv:account", mapping={"pending_key": "aesgcm1:AAAA",
                                     "pending_alg": "ES256",
                                     "pending_version": "3"})
    v = fields(env)["key_version"]
    r = ctl(env, "rotate-key")
    assert r.returncode == 1 and "rotation is in progress" in r.stderr
    assert fields(env)["key_version"] == v
    red.hdel("dcv:account", "pending_key", "pending_alg", "pending_version")


PLAIN = {"DCV_ACME_ALLOW_PLAINTEXT_KEYS": "true"}


def test_plain_account_needs_consent_and_a_kek_refuses_it(env):
    # without a KEK, storing a key in the clear needs acme.allow_plaintext_keys
    for sub in (("register", "--email", "plain@example.com"), ("rotate-key",)):
        r = ctl(env, *sub, prefix="plain", kek=None)
        assert r.returncode == 2, r.stderr
        assert "no key-encryption key" in r.stderr and "allow_plaintext_keys" in r.stderr
    assert fields(env, "plain") == {}
    r = ctl(env, "register", "--email", "plain@example.com", prefix="plain",
            kek=None, extra=PLAIN)
    assert r.returncode == 0, r.stderr
    f = fields(env, "plain")
    assert f["enc"] == "none" and "PRIVATE KEY" in f["key"]
    assert ctl(env, "show", prefix="plain", kek=None).returncode == 0
    # with a KEK the key in the clear is refused, not used: anyone who can
    # write to Redis could have put it there
    for sub in (("show",), ("rotate-key",), ("deactivate", "--yes")):
        r = ctl(env, *sub, prefix="plain")
        assert r.returncode == 1, (sub, r.stdout, r.stderr)
        assert "not encrypted" in r.stderr and "key-encryption key is configured" in r.stderr
    # the "enc" field is no way around it: the value decides
    red = env[2].client()
    red.hset("plain:account", "enc", "aes-256-gcm")
    r = ctl(env, "show", prefix="plain")
    assert r.returncode == 1 and "does not parse" in r.stderr, r.stderr
    red.hset("plain:account", "enc", "none")
    assert fields(env, "plain")["key_version"] == "1"


def test_planted_pending_key_is_not_used(env):
    # a rotation "in progress" whose pending key is in the clear: under a KEK
    # it is dropped as unreadable, and the real key keeps signing
    red = env[2].client()
    pem = ctl(env, "show").stdout  # the account is there and readable
    assert "key_encrypted: yes" in pem
    planted = fields(env, "plain")["key"]
    red.hset("dcv:account", mapping={"pending_key": planted, "pending_alg": "ES256",
                                     "pending_version": "2"})
    r = ctl(env, "show")
    assert r.returncode == 0, r.stderr
    assert "rotation_pending" not in r.stdout
    red.hdel("dcv:account", "pending_key", "pending_alg", "pending_version")


def test_plain_account_and_deactivate(env):
    r = ctl(env, "deactivate", "--yes", prefix="plain", kek=None)
    assert r.returncode == 0, r.stderr
    assert fields(env, "plain") == {}
    r = ctl(env, "deactivate", "--yes")
    assert r.returncode == 0, r.stderr
    assert fields(env) == {}


# ---- External Account Binding: the HMAC key never on the command line --------

@pytest.fixture(scope="module")
def eab_env():
    yield from servers("dcv-acct-eab-", eab=True)


def test_eab_hmac_from_a_file_or_the_environment(eab_env):
    tmp = eab_env[0]
    hmac = pebble_env.EAB_HMAC
    kid = ("--eab-kid", pebble_env.EAB_KID)
    # the old option is refused before anything is sent, and says why
    r = ctl(eab_env, "register", "--email", "a@example.com", *kid, "--eab-hmac", hmac)
    assert r.returncode == 2 and "--eab-hmac-file" in r.stderr, r.stderr
    assert hmac not in r.stdout + r.stderr
    assert fields(eab_env) == {}
    # the CA requires the binding: without the HMAC key it is refused
    r = ctl(eab_env, "register", "--email", "a@example.com")
    assert r.returncode == 1 and "external account binding" in r.stderr, r.stderr
    r = ctl(eab_env, "register", "--email", "a@example.com", *kid)
    assert r.returncode == 2 and "--eab-hmac-file" in r.stderr, r.stderr
    r = ctl(eab_env, "register", "--email", "a@example.com", *kid,
            "--eab-hmac-file", os.path.join(tmp, "missing"))
    assert r.returncode == 1 and "cannot read" in r.stderr
    # from a file (with a trailing newline, as editors write it)
    path = os.path.join(tmp, "eab.hmac")
    with open(path, "w") as f:
        f.write(hmac + "\n")
    r = ctl(eab_env, "register", "--email", "a@example.com", *kid, "--eab-hmac-file", path)
    assert r.returncode == 0, r.stderr
    assert fields(eab_env)["key"].startswith("aesgcm1:")
    # from the environment (acme.eab_hmac), under another prefix
    r = ctl(eab_env, "register", "--email", "b@example.com", *kid, prefix="envhmac",
            extra={"DCV_ACME_EAB_HMAC": hmac})
    assert r.returncode == 0, r.stderr
    assert fields(eab_env, "envhmac")["url"] != fields(eab_env)["url"]
    # a wrong key is the CA's refusal, and the key is not echoed
    wrong = "A" * len(hmac)
    r = ctl(eab_env, "register", "--email", "c@example.com", *kid, prefix="wrong",
            extra={"DCV_ACME_EAB_HMAC": wrong})
    assert r.returncode == 1 and fields(eab_env, "wrong") == {}
    assert wrong not in r.stdout + r.stderr and hmac not in r.stdout + r.stderr
