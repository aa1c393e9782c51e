"""Secrets in the programs' hands (issue 10, "Secrets and transport"), with
real servers:

  - a Redis password (here with '@', '/' and ':') works, and never appears
    in a message or log line of dcvctl or dcv-worker, whatever fails: a bad
    port, host or database in the URL, a database the server lacks, a
    refused connection, a refused AUTH (at start and on a reconnect);
  - without a key-encryption key the worker refuses to start unless the
    configuration allows keys in the clear; an http:// ACME directory is a
    configuration error naming the file and line;
  - with a KEK, keys found in the clear in Redis are refused, not used: a
    planted account key stops the stages until the sealed one is back; a
    planted pending_key of a finalized order is passed over for a new order,
    and the certificate stored is not for the planted key.
"""
import base64
import os
import subprocess


import harness
from fleet_env import FAST_TIMERS, FleetEnv
from test_cert import seal, unseal
from test_e2e import tmp, customer_ready, orders, wait_issued  # noqa: F401 (tmp: the fixture)

# '@', '/', ':', and a tail that reads as a host and port of its own (port 1
# of loopback: nothing listens there)
PASSWORD = "p@ss/w:rd@127.0.0.1:1"
USER = "secret-user"


def run(program, args, url, tmp, extra_env=None, timeout=30):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCV_")}
    env.update({"DCV_REDIS_URL": url, **(extra_env or {})})
    return subprocess.run([harness.program(program), *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=tmp)


def no_secret(text, *secrets):
    for s in secrets:
        for part in (s, s[:6], s[-6:]):
            assert part not in text, f"{part!r} in {text!r}"


def noop_config(tmp):
    path = os.path.join(tmp, "noop.yaml")
    with open(path, "w") as f:
        f.write("worker:\n  handlers: noop\n  concurrency: 1\n  block_ms: 100\n"
                "metrics:\n  port: 0\n")
    return path


def test_redis_url_failures_never_show_the_password(tmp):
    red = harness.Redis(tmp)
    try:
        admin = red.client()
        admin.execute_command("ACL", "SETUSER", USER, "on", ">" + PASSWORD, "~*", "+@all")
        cfg = noop_config(tmp)
        base = f"127.0.0.1:{red.port}"
        good = f"redis://{USER}:{PASSWORD}@{base}/0"
        # the password with '@', '/' and ':' parses and logs in
        p = run("dcvctl", ["-c", cfg, "stats"], good, tmp)
        assert p.returncode == 0, p.stderr
        free = harness.free_port()
        cases = [   # url, exit code, what the message says
            (f"redis://{USER}:{PASSWORD}@{base}:x/0", 2, "port"),
            (f"redis://{USER}:{PASSWORD}@127.0.0.1:99999/0", 2, "port"),
            (f"redis://{USER}:{PASSWORD}@:{red.port}/0", 2, "host"),
            (f"redis://{USER}:{PASSWORD}@{base}/zero", 2, "database"),
            # "@host" forgotten: the password's tail (after its last '@')
            # is taken for the host, so no message names host or port
            (f"redis://{USER}:{PASSWORD}", 1, "cannot connect to redis at the server of redis.url"),
            (f"rediss://{USER}:{PASSWORD}@{base}/0", 2, "redis://"),
            (f"redis://{USER}:{PASSWORD}@{base}/999", 1, "SELECT 999 failed"),
            (f"redis://{USER}:{PASSWORD}@127.0.0.1:{free}/0", 1, "Connection refused"),
            (f"redis://{USER}:{PASSWORD[:-1]}X@{base}/0", 1, "AUTH failed"),
            (f"redis://:{PASSWORD}@{base}/0", 1, "AUTH failed"),
        ]
        for url, code, want in cases:
            for program, args in (("dcvctl", ["-c", cfg, "stats"]),
                                  ("dcv-worker", ["-c", cfg, "--check-config"]),
                                  ("dcv-worker", ["-c", cfg])):
                if program == "dcv-worker" and "--check-config" in args and code != 2:
                    continue    # a reachable-server failure: only when it connects
                p = run(program, args, url, tmp)
                out = p.stdout + p.stderr
                assert p.returncode == (code if program == "dcvctl" or code == 2 else 1), \
                    (program, url, p.returncode, out)
                assert want in out, (program, want, out)
                no_secret(out, PASSWORD)
        # a running worker whose password is changed under it: it keeps
        # retrying AUTH, and says so without the password
        w = harness.Proc([harness.program("dcv-worker"), "-c", cfg],
                         os.path.join(tmp, "worker.log"), env={"DCV_REDIS_URL": good})
        try:
            harness.wait_until(lambda: "started:" in w.output(), 20, what="worker started")
            admin.execute_command("ACL", "SETUSER", USER, "resetpass", ">other-" + PASSWORD)
            admin.execute_command("CLIENT", "KILL", "USER", USER)
            harness.wait_until(lambda: "AUTH failed" in w.output(), 20, what="AUTH refused")
            admin.execute_command("ACL", "SETUSER", USER, "resetpass", ">" + PASSWORD)
            harness.wait_until(lambda: "reconnected to redis" in w.output(), 20,
                               what="reconnected")
        finally:
            w.stop()
        with open(w.logpath) as f:
            log = f.read()
        assert "AUTH failed" in log and "reconnected" in log
        no_secret(log, PASSWORD, "other-" + PASSWORD)
    finally:
        red.stop()


def test_the_worker_needs_a_kek_and_an_https_directory(tmp):
    path = os.path.join(tmp, "dcv.yaml")

    def check(text, **env):
        with open(path, "w") as f:
            f.write(text)
        return run("dcv-worker", ["-c", path, "--stage", "verify-cname", "--check-config"],
                   "redis://127.0.0.1:1/0", tmp, extra_env=env)

    base = "metrics:\n  port: 0\n"
    p = check(base)
    assert p.returncode == 2 and "no key-encryption key" in p.stderr, p.stderr
    assert "acme.allow_plaintext_keys" in p.stderr
    # refused at start too, before anything is connected
    p = run("dcv-worker", ["-c", path, "--stage", "verify-cname"], "redis://127.0.0.1:1/0", tmp)
    assert p.returncode == 2 and "no key-encryption key" in p.stderr, p.stderr
    assert check(base, DCV_ACME_KEK="00" * 32).returncode == 0
    p = check(base, DCV_ACME_KEK="not a key")
    assert p.returncode == 2 and "cannot read the key-encryption key" in p.stderr
    assert "not a key" not in p.stderr
    p = check(base + "acme:\n  allow_plaintext_keys: true\n")
    assert p.returncode == 0, p.stderr
    assert "in the clear" in p.stderr        # and it says what that means
    p = check(base + "acme:\n  directory: http://ca.example/dir\n", DCV_ACME_KEK="00" * 32)
    assert p.returncode == 2, p.stderr
    assert "dcv.yaml:4: acme.directory: must be an https:// URL" in p.stderr, p.stderr
    p = check(base, DCV_ACME_KEK="00" * 32, DCV_ACME_DIRECTORY="http://ca.example/dir")
    assert p.returncode == 2 and "DCV_ACME_DIRECTORY: must be an https:// URL" in p.stderr


def new_key_pem():
    return subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                           "ec_paramgen_curve:P-256"], capture_output=True, text=True,
                          check=True).stdout


def pubkey(pem, kind):
    """The public key (PEM) of a certificate (KIND "x509") or private key ("pkey")."""
    args = ["openssl", "x509", "-pubkey", "-noout"] if kind == "x509" else \
           ["openssl", "pkey", "-pubout"]
    return subprocess.run(args, input=pem, capture_output=True, text=True, check=True).stdout


def test_keys_in_the_clear_under_a_kek_are_refused(tmp):
    env = FleetEnv(tmp, zones=2)
    try:
        env.base_config.update(FAST_TIMERS)
        env.write_config()
        env.ctl("account", "register", "--email", "ops@example.com")
        r = env.client()
        sealed = r.hgetall("dcv:account")
        assert sealed[b"key"].startswith(b"aesgcm1:")

        # 1. a planted account key in the clear: the stages do not use it
        r.hset("dcv:account", mapping={"key": new_key_pem(), "enc": "none"})
        a = f"a.{env.zones[0]}"
        customer_ready(env, a)
        w = env.start_worker()
        env.ctl("onboard", a)
        harness.wait_until(lambda: "not encrypted" in env.domain(a).get("last_error", ""),
                           30, what="the planted account key refused")
        assert "key-encryption key is configured" in env.domain(a)["last_error"]
        assert orders(env, a) == 0
        r.hset("dcv:account", mapping={"key": sealed[b"key"], "enc": sealed[b"enc"]})
        env.ctl("nudge", a)
        wait_issued(env, [a], 60)
        env.stop_worker(w)

        # 2. a planted pending_key of a finalized order.  A worker that may
        # not DEL cannot store the certificate (certstore: MULTI, DEL, HSET,
        # EXEC), so its job waits in finalize with the order valid and its
        # sealed key recorded; then the key is replaced by one in the clear.
        r.execute_command("ACL", "SETUSER", "nodel", "on", ">nodel", "~*", "+@all", "-del")
        nodel = f"redis://nodel:nodel@127.0.0.1:{env.redis.port}/0"
        b = f"b.{env.zones[1]}"
        customer_ready(env, b)
        w = env.start_worker(env={"DCV_REDIS_URL": nodel})
        env.ctl("onboard", b)
        harness.wait_until(lambda: "cannot store the certificate: NOPERM" in env.log(w), 60,
                           what="finalize stuck before storing")
        env.stop_worker(w)
        assert env.domain(b)["pending_key"].startswith("aesgcm1:")
        assert orders(env, b) == 1 and not env.cert(b)
        planted = new_key_pem()
        r.hset(f"dcv:domain:{b}", "pending_key", planted)
        w = env.start_worker()
        wait_issued(env, [b], 60)
        assert "refused the recorded key of the finalized order: the key is stored " \
               "in the clear" in env.log(w)
        assert orders(env, b) == 2
        c = env.cert(b)
        assert c["key"].startswith("aesgcm1:")
        leaf = c["chain"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        assert pubkey(leaf, "x509") != pubkey(planted, "pkey")
        assert "pending_key" not in env.domain(b)
        env.stop_worker(w)

        # 3. a pending_key of an order in flight sealed under the account
        # KEK (a fleet from before the certificate KEK): once rewrapped
        # (dcvctl cert rewrap), the same order is downloaded, its key kept.
        c3 = f"c.{env.zones[0]}"
        customer_ready(env, c3)
        w = env.start_worker(env={"DCV_REDIS_URL": nodel})
        env.ctl("onboard", c3)
        harness.wait_until(lambda: "cannot store the certificate: NOPERM" in env.log(w)
                           and "pending_key" in env.domain(c3), 60,
                           what="finalize stuck before storing")
        env.stop_worker(w)
        dkey = f"dcv:domain:{c3}"
        aad = dkey + ":pending_key"
        pem = unseal(env.cert_kek, env.domain(c3)["pending_key"], aad)
        old = seal(env.kek, pem, aad)
        r.hset(dkey, "pending_key", old)
        p = env.ctl("cert", "rewrap", "--from-account-kek")
        assert "1 rewrapped" in p.stderr, p.stderr
        no_secret(p.stderr, pem, env.kek, env.cert_kek)
        assert unseal(env.cert_kek, env.domain(c3)["pending_key"], aad) == pem
        w = env.start_worker()
        wait_issued(env, [c3], 60)
        assert orders(env, c3) == 1, "the rewrapped key was used, no new order"
        c = env.cert(c3)
        leaf = c["chain"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        assert pubkey(leaf, "x509") == pubkey(pem, "pkey")
        env.stop_worker(w)

        # 4. the same without the rewrap: refused, the log names the fix
        d4 = f"d.{env.zones[1]}"
        customer_ready(env, d4)
        w = env.start_worker(env={"DCV_REDIS_URL": nodel})
        env.ctl("onboard", d4)
        harness.wait_until(lambda: "pending_key" in env.domain(d4) and
                           "cannot store the certificate: NOPERM" in env.log(w), 60,
                           what="finalize stuck before storing")
        env.stop_worker(w)
        dkey = f"dcv:domain:{d4}"
        aad = dkey + ":pending_key"
        pem = unseal(env.cert_kek, env.domain(d4)["pending_key"], aad)
        r.hset(dkey, "pending_key", seal(env.kek, pem, aad))
        assert orders(env, d4) == 1
        w = env.start_worker()
        wait_issued(env, [d4], 60)
        env.stop_worker(w)
        log = env.log(w)
        assert "sealed under the account's key-encryption key" in log, log[-3000:]
        assert "dcvctl cert rewrap --from-account-kek" in log
        assert orders(env, d4) == 2
        for secret in (pem, env.kek, env.cert_kek, "PRIVATE KEY"):
            assert secret not in log
    finally:
        env.close()


def test_finalize_needs_a_certificate_kek_of_its_own(tmp):
    """A worker that runs finalize needs the certificate KEK (DCV_CERT_KEK
    or acme.cert_kek_file), not only the account's; one without finalize
    does not.  A missing file is an error at its line, naming it."""
    path = os.path.join(tmp, "dcv.yaml")
    base = ("metrics:\n  port: 0\nprovider:\n  type: rfc2136\n  zone: v.example\n"
            "  server: 127.0.0.1:53\n  tsig:\n    name: k\n    algorithm: hmac-sha256\n"
            "    secret: " + base64.b64encode(b"0" * 32).decode() + "\n")

    def check(text, stage="finalize", **env):
        with open(path, "w") as f:
            f.write(text)
        return run("dcv-worker", ["-c", path, "--stage", stage, "--check-config"],
                   "redis://127.0.0.1:1/0", tmp, extra_env=env)

    acct = {"DCV_ACME_KEK": "00" * 32}
    p = check(base, **acct)
    assert p.returncode == 2 and "acme.cert_kek_file or DCV_CERT_KEK" in p.stderr, p.stderr
    assert check(base, stage="verify-cname", **acct).returncode == 0
    assert check(base, DCV_CERT_KEK="11" * 32, **acct).returncode == 0
    p = check(base, DCV_CERT_KEK="not a key", **acct)
    assert p.returncode == 2 and "DCV_CERT_KEK" in p.stderr and "not a key" not in p.stderr
    missing = os.path.join(tmp, "no-such-kek")
    p = check(base + f"acme:\n  cert_kek_file: {missing}\n", DCV_CERT_KEK="11" * 32, **acct)
    assert p.returncode == 2, p.stderr
    assert f"dcv.yaml:12: acme.cert_kek_file: " in p.stderr and missing in p.stderr, p.stderr
    kf = os.path.join(tmp, "cert-kek")
    with open(kf, "w") as f:
        f.write("22" * 32 + "\n")
    assert check(base + f"acme:\n  cert_kek_file: {kf}\n", **acct).returncode == 0
    # each KEK independent: the account's in the clear does not excuse the
    # certificates' (one consent, acme.allow_plaintext_keys, covers both)
    p = check(base, DCV_CERT_KEK="11" * 32)
    assert p.returncode == 2 and "acme.kek_file or DCV_ACME_KEK" in p.stderr, p.stderr
    p = check(base + "acme:\n  allow_plaintext_keys: true\n", DCV_CERT_KEK="11" * 32)
    assert p.returncode == 0 and "the account key stored in Redis in the clear" in p.stderr
    assert "certificate keys stored" not in p.stderr
    p = check(base + "acme:\n  allow_plaintext_keys: true\n", **acct)
    assert p.returncode == 0 and "the certificate keys stored in Redis in the clear" in p.stderr
    # the same key twice: allowed, with a warning
    p = check(base, DCV_CERT_KEK="00" * 32, **acct)
    assert p.returncode == 0 and "the certificate KEK is the account's" in p.stderr, p.stderr
