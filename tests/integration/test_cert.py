"""dcvctl cert get|list (issue 13, export) against a live fleet: redis-server,
BIND, Pebble and a dcv-worker with the five stages (fleet_env.py).

Two domains of two tenants are issued once for the module; the tests then
export them: the files and their modes, the key against the leaf, the chain
against Pebble's root, a symlink or a directory planted at a target and a
symlinked or foreign --out DIR refused, a failed rename that keeps the old
key and names what it replaced, a terminal (a pty)
refused, the wrong KEK and a key moved to another domain's hash refused
without key material in any message, a chain that does not match its key
refused even without --key, no chain printed without a KEK unless
--unchecked, and the list with its filters and its
SCAN walk over more keys than one batch."""
import base64
import json
import os
import re
import signal
import stat
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import harness
from test_e2e import customer_ready, fleet, wait_issued

FILES = {"cert.pem": 0o644, "chain.pem": 0o644, "fullchain.pem": 0o644, "key.pem": 0o600}


@pytest.fixture(scope="module")
def issued():
    """(env, {domain: tenant}) with both certificates stored."""
    tmp = harness.tmpdir("dcv-cert-")
    env = fleet(tmp)
    try:
        domains = {f"shop.{env.zones[0]}": "tenant-a", f"blog.{env.zones[1]}": "tenant-b"}
        for d, t in domains.items():
            customer_ready(env, d)
            env.ctl("onboard", d, "--tenant", t)
        env.start_worker()
        wait_issued(env, list(domains), 120)
        yield env, domains
    finally:
        env.close()
        if not os.environ.get("DCV_KEEP_TMP"):
            harness.rmtree(tmp)


def pem_certs(text):
    return [x509.load_pem_x509_certificate(b) for b in
            [("-----BEGIN CERTIFICATE-----" + p).encode()
             for p in text.split("-----BEGIN CERTIFICATE-----")[1:]]]


def key_matches(key_pem, leaf_pem):
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    pub = pem_certs(leaf_pem)[0].public_key()
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*raw) == pub.public_bytes(*raw)


def read(path):
    with open(path) as f:
        return f.read()


def no_secret(*texts):
    for t in texts:
        assert "PRIVATE KEY" not in t and "aesgcm1:" not in t, t


def test_get_out_writes_the_four_files(issued):
    env, domains = issued
    d = next(iter(domains))
    out = os.path.join(env.tmp, "out-1")
    p = env.ctl("cert", "get", d, "--out", out)
    no_secret(p.stdout, p.stderr)
    assert sorted(os.listdir(out)) == sorted(FILES), "no temporary file is left behind"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
    for name, mode in FILES.items():
        st = os.lstat(os.path.join(out, name))
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == mode, (name, oct(st.st_mode))
    stored = env.cert(d)
    full, leaf, chain = (read(os.path.join(out, f)) for f in ("fullchain.pem", "cert.pem", "chain.pem"))
    # certbot's convention: cert = the leaf, chain = the intermediates,
    # fullchain = both, as stored (leaf first)
    assert full == stored["chain"]
    assert leaf + chain == full
    assert len(pem_certs(leaf)) == 1 and len(pem_certs(chain)) == len(pem_certs(full)) - 1 >= 1
    assert key_matches(read(os.path.join(out, "key.pem")), leaf)
    info = env.verify_cert(os.path.join(out, "fullchain.pem"), [d])
    assert int(info["serial"], 16) == int(stored["serial"], 16)
    # and again over the same files: replaced, same content
    env.ctl("cert", "get", d, "--out", out)
    assert read(os.path.join(out, "fullchain.pem")) == full
    assert sorted(os.listdir(out)) == sorted(FILES)


def snapshot(out):
    """{name: (inode, content)} of what is in OUT."""
    return {n: (os.lstat(os.path.join(out, n)).st_ino,
                read(os.path.join(out, n)) if os.path.isfile(os.path.join(out, n)) else None)
            for n in os.listdir(out)}


def test_a_symlink_planted_at_key_pem_is_refused(issued):
    env, domains = issued
    d = next(iter(domains))
    out = os.path.join(env.tmp, "out-link")
    os.makedirs(out, mode=0o755)
    victim = os.path.join(env.tmp, "victim.txt")
    with open(victim, "w") as f:
        f.write("not yours\n")
    os.chmod(victim, 0o644)
    os.symlink(victim, os.path.join(out, "key.pem"))
    before = snapshot(out)
    p = env.ctl("cert", "get", d, "--out", out, check=False)
    assert p.returncode == 1 and "key.pem is a symlink" in p.stderr, p.stderr
    no_secret(p.stdout, p.stderr)
    assert read(victim) == "not yours\n"
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o644
    assert snapshot(out) == before and os.path.islink(os.path.join(out, "key.pem"))


def test_a_directory_planted_at_chain_pem_replaces_nothing(issued):
    """Every target is checked before anything is written: a directory at
    chain.pem leaves the files of an earlier export as they were (no new
    key next to an old certificate) and no temporary file."""
    env, domains = issued
    d = next(iter(domains))
    out = os.path.join(env.tmp, "out-planted")
    env.ctl("cert", "get", d, "--out", out)
    os.unlink(os.path.join(out, "chain.pem"))
    os.mkdir(os.path.join(out, "chain.pem"))
    before = snapshot(out)
    p = env.ctl("cert", "get", d, "--out", out, check=False)
    assert p.returncode == 1 and "chain.pem is a directory" in p.stderr, p.stderr
    no_secret(p.stdout, p.stderr)
    assert snapshot(out) == before


def test_out_dir_must_be_ours_and_no_symlink(issued):
    env, domains = issued
    d = next(iter(domains))
    real = os.path.join(env.tmp, "out-real")
    os.makedirs(real, mode=0o700)
    link = os.path.join(env.tmp, "out-dirlink")
    os.symlink(real, link)
    for arg in (link, link + "/"):
        p = env.ctl("cert", "get", d, "--out", arg, check=False)
        assert p.returncode == 1 and f"{arg} is a symlink" in p.stderr, (arg, p.stderr)
        assert os.listdir(real) == []
    for mode in (0o770, 0o707, 0o1777):
        os.chmod(real, mode)
        p = env.ctl("cert", "get", d, "--out", real, check=False)
        assert p.returncode == 1 and "refused" in p.stderr and real in p.stderr, (oct(mode), p.stderr)
        assert os.listdir(real) == []
    os.chmod(real, 0o700)
    if os.geteuid() == 0:
        os.chown(real, 12345, -1)
        foreign, uid = real, 12345
    else:  # root's own directory, not writable by us
        foreign, uid = "/", 0
    p = env.ctl("cert", "get", d, "--out", foreign, check=False)
    assert p.returncode == 1 and f"owned by uid {uid}" in p.stderr, p.stderr
    assert os.listdir(real) == []
    # a directory created by the command is 0700 whatever the umask
    new = os.path.join(env.tmp, "out-new")
    old = os.umask(0o022)
    try:
        env.ctl("cert", "get", d, "--out", new)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o700


def run_on_pty(env, *args):
    """dcvctl ARGS with stdout on a pseudo-terminal: (exit code, what the
    terminal got, stderr)."""
    rc, tty, _, err = harness.run_on_pty(
        [harness.program("dcvctl"), "-c", env.config, *args], {**os.environ, **env.env()})
    return rc, tty, err


def test_a_key_is_never_printed_to_a_terminal(issued):
    env, domains = issued
    d = next(iter(domains))
    for args in (["--key"], ["--key", "--json"]):
        rc, tty, err = run_on_pty(env, "cert", "get", d, *args)
        assert rc == 4, (rc, err)
        assert "terminal" in err
        no_secret(tty, err)
    # the chain alone is fine on a terminal
    rc, tty, err = run_on_pty(env, "cert", "get", d)
    assert rc == 0, err
    assert "BEGIN CERTIFICATE" in tty
    no_secret(tty)
    # to a pipe: the chain, and the key only when asked for
    p = env.ctl("cert", "get", d)
    assert p.stdout == env.cert(d)["chain"]
    p = env.ctl("cert", "get", d, "--key")
    assert p.stdout.startswith(env.cert(d)["chain"]) and "PRIVATE KEY" in p.stdout
    assert key_matches(p.stdout[len(env.cert(d)["chain"]):], env.cert(d)["chain"])


def test_json(issued):
    env, domains = issued
    d = next(iter(domains))
    stored = env.cert(d)
    j = json.loads(env.ctl("cert", "get", d, "--json").stdout)
    assert "key" not in j
    assert j["domain"] == d and j["names"] == [d] and j["serial"] == stored["serial"]
    assert j["not_after"] == int(stored["not_after"]) > time.time()
    assert j["not_before"] == int(stored["not_before"]) and j["fullchain"] == stored["chain"]
    assert j["cert"] + j["chain"] == j["fullchain"]
    k = json.loads(env.ctl("cert", "get", d, "--json", "--key").stdout)
    assert key_matches(k["key"], k["cert"])


def test_wrong_kek_and_moved_key_are_refused(issued):
    env, domains = issued
    d, other = list(domains)
    out = os.path.join(env.tmp, "out-refused")
    p = env.ctl("cert", "get", d, "--out", out, check=False,
                env={"DCV_CERT_KEK": os.urandom(32).hex()})
    assert p.returncode == 1 and "key-encryption key" in p.stderr, p.stderr
    no_secret(p.stdout, p.stderr)
    assert not os.path.exists(out) or os.listdir(out) == []
    # d's sealed key copied into other's hash: its AAD names d's hash
    r = env.client()
    key = f"{env.prefix}:cert:{other}"
    saved = r.hget(key, "key")
    r.hset(key, "key", r.hget(f"{env.prefix}:cert:{d}", "key"))
    try:
        p = env.ctl("cert", "get", other, "--key", check=False)
        assert p.returncode == 1 and "altered" in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
    finally:
        r.hset(key, "key", saved)
    # another domain's chain under a key that opens: the leaf does not match,
    # refused whether the key is asked for or not (the chain is not sealed)
    saved = r.hget(key, "chain")
    r.hset(key, "chain", r.hget(f"{env.prefix}:cert:{d}", "chain"))
    try:
        for args in ([], ["--json"], ["--unchecked"]):
            p = env.ctl("cert", "get", other, *args, check=False)
            assert p.returncode == 1 and "does not match" in p.stderr, (args, p.stderr)
            assert "BEGIN CERTIFICATE" not in p.stdout
            no_secret(p.stdout, p.stderr)
        p = env.ctl("cert", "get", other, "--out", out, check=False)
        assert p.returncode == 1 and "does not match" in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
        assert not os.path.exists(out) or os.listdir(out) == []
    finally:
        r.hset(key, "chain", saved)


def ctl_without_kek(env, *args, extra=None):
    """dcvctl ARGS with no certificate KEK (DCV_CERT_KEK) in its environment
    (and EXTRA); the account's is there, and does not open certificate keys."""
    e = {k: v for k, v in {**os.environ, **env.env()}.items() if k != "DCV_CERT_KEK"}
    return subprocess.run([harness.program("dcvctl"), "-c", env.config, *args],
                          capture_output=True, text=True, timeout=60, env={**e, **(extra or {})})


def test_a_chain_that_cannot_be_checked_needs_unchecked(issued):
    """Without a KEK (and plaintext keys not allowed) or with a wrong one,
    get refuses to print the chain, unless --unchecked: then it prints it
    and warns.  The key itself never comes out."""
    env, domains = issued
    d = next(iter(domains))
    chain = env.cert(d)["chain"]
    for run in (lambda *a: ctl_without_kek(env, *a),
                lambda *a: env.ctl(*a, check=False, env={"DCV_CERT_KEK": os.urandom(32).hex()})):
        for args in ([], ["--json"]):
            p = run("cert", "get", d, *args)
            assert p.returncode == 1 and "--unchecked" in p.stderr, (args, p.stderr)
            assert p.stdout == "", p.stdout
            no_secret(p.stdout, p.stderr)
        p = run("cert", "get", d, "--unchecked")
        assert p.returncode == 0 and p.stdout == chain, p.stderr
        assert "warning" in p.stderr and "unchecked" in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
        j = json.loads(run("cert", "get", d, "--unchecked", "--json").stdout)
        assert j["fullchain"] == chain and "key" not in j
        # the key cannot be had unchecked
        p = run("cert", "get", d, "--key")
        assert p.returncode == 1 and p.stdout == "", p.stderr
    # with the KEK, --unchecked changes nothing: checked, no warning
    p = env.ctl("cert", "get", d, "--unchecked")
    assert p.stdout == chain and "warning" not in p.stderr, p.stderr


def test_usage_and_not_found(issued):
    env, domains = issued
    d = next(iter(domains))
    for args, rc in ((["cert"], 2), (["cert", "get"], 2), (["cert", "bogus"], 2),
                     (["cert", "get", d, "--out", env.tmp, "--key"], 2),
                     (["cert", "get", d, "--out", env.tmp, "--unchecked"], 2),
                     (["cert", "get", d, "--key", "--unchecked"], 2),
                     (["cert", "list", "--expiring", "soon"], 2),
                     (["cert", "list", "--expiring", "30d\nx: 1"], 2),
                     (["cert", "get", f"nothing.{env.zones[2]}"], 3)):
        p = env.ctl(*args, check=False)
        assert p.returncode == rc, (args, p.returncode, p.stderr)


def listed(env, *args):
    return {e["domain"]: e for e in json.loads(env.ctl("cert", "list", "--json", *args).stdout)}


def test_list_filters(issued):
    env, domains = issued
    rows = listed(env)
    assert set(rows) == set(domains), rows
    for d, t in domains.items():
        c = env.cert(d)
        assert rows[d] == {"domain": d, "tenant": t, "serial": c["serial"],
                           "not_after": int(c["not_after"]), "state": "issued"}
    (a, ta), (b, tb) = domains.items()
    assert set(listed(env, "--tenant", ta)) == {a}
    assert set(listed(env, "--tenant", tb)) == {b}
    assert listed(env, "--tenant", "nobody") == {}
    # --expiring around the sooner not_after, in days
    days = (min(rows[d]["not_after"] for d in rows) - time.time()) / 86400
    assert listed(env, "--expiring", f"{int(days) - 1}d") == {}
    assert set(listed(env, "--expiring", f"{int(days) + 2}d")) >= {min(rows, key=lambda d: rows[d]["not_after"])}
    assert set(listed(env, "--expiring", f"{int(days) + 2}d", "--tenant", ta)) <= {a}
    text = env.ctl("cert", "list").stdout
    assert all(d in text for d in domains) and "DOMAIN" in text.splitlines()[0]
    no_secret(text)


def test_list_walks_every_batch(issued):
    """More hashes than one SCAN batch (COUNT 100), and keys of other
    prefixes and kinds that the walk must not list."""
    env, domains = issued
    r = env.client()
    fake = [f"f{i}.example.org" for i in range(250)]
    pipe = r.pipeline()
    for i, d in enumerate(fake):
        pipe.hset(f"{env.prefix}:cert:{d}", mapping={"serial": f"{i:04X}", "not_after": 1000 + i})
    pipe.hset("other:cert:x.example.org", mapping={"serial": "1"})
    pipe.set(f"{env.prefix}:certx", "1")
    hostile = f"{env.prefix}:cert:\x1b]0;owned\x07.example.org"
    pipe.hset(hostile, mapping={"serial": "1"})
    pipe.execute()
    try:
        p = env.ctl("cert", "list", "--json")
        rows = {e["domain"]: e for e in json.loads(p.stdout)}
        assert set(rows) == set(domains) | set(fake)
        assert "skipped 1 key" in p.stderr and "\x1b" not in p.stderr + p.stdout, p.stderr
        assert rows["f7.example.org"] == {"domain": "f7.example.org", "tenant": None,
                                         "serial": "0007", "not_after": 1007, "state": None}
        assert set(listed(env, "--expiring", "0s")) == set(fake)
    finally:
        r.delete(*[f"{env.prefix}:cert:{d}" for d in fake], "other:cert:x.example.org",
                 f"{env.prefix}:certx", hostile)


def test_each_example_opens_the_fleets_key(issued):
    """A key sealed by the fleet, opened by deploy/examples' certkey (Node
    and Python) with the KEK and the hash's name as AAD, matches its leaf."""
    from test_examples import certkey_cmd
    env, domains = issued
    kek_file = os.path.join(env.tmp, "cert-kek")
    with open(kek_file, "w") as f:
        f.write(env.cert_kek + "\n")
    for d in domains:
        c = env.cert(d)
        for which in ("node", "python"):
            p = subprocess.run(certkey_cmd(which) + ["open", "--aad", f"{env.prefix}:cert:{d}",
                                                     "--kek-file", kek_file],
                               input=c["key"], capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, (which, p.stderr)
            assert key_matches(p.stdout, c["chain"]), which


def test_a_stdout_that_cannot_be_written_fails(issued):
    env, domains = issued
    d = next(iter(domains))
    with open("/dev/full", "w") as full:
        for args in (["get", d], ["list", "--json"]):
            p = subprocess.run([harness.program("dcvctl"), "-c", env.config, "cert", *args],
                               stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
                               env={**os.environ, **env.env()})
            assert p.returncode == 1 and "stdout" in p.stderr, (args, p.returncode, p.stderr)


ESC = "\x1b]0;owned\x07\x1b[2J\x9b31m\x7f"
SAFE = "?]0;owned??[2J??31m?"  # \x9b is two bytes in UTF-8


def test_redis_values_put_no_escape_on_the_terminal(issued):
    """Values a Redis writer planted (tenant, serial, state, a status field,
    a dead letter's fields) reach text output with every control byte
    (and every byte from 0x7f) as '?'; JSON keeps them, escaped."""
    env, domains = issued
    d = next(iter(domains))
    r = env.client()
    fake = "esc.example.org"
    dkey, ckey = f"{env.prefix}:domain:{fake}", f"{env.prefix}:cert:{fake}"
    r.hset(dkey, mapping={"tenant": "t" + ESC, "state": "issued" + ESC, "note": ESC})
    r.hset(ckey, mapping={"serial": "AB" + ESC, "not_after": 1000})
    dead = r.xadd(f"{env.prefix}:dead", {"stage": "s" + ESC, "domain": fake,
                                         "reason": "why" + ESC})
    saved = r.hget(f"{env.prefix}:cert:{d}", "serial").decode()
    r.hset(f"{env.prefix}:cert:{d}", "serial", saved + ESC)
    try:
        outs = [env.ctl("cert", "list").stdout, env.ctl("status", fake).stdout,
                env.ctl("dead", "list").stdout,
                env.ctl("cert", "get", d, "--out", os.path.join(env.tmp, "out-esc")).stdout]
        for text in outs:
            assert not any(ord(ch) < 0x20 and ch != "\n" or ord(ch) >= 0x7f for ch in text), repr(text)
        row = next(line for line in outs[0].splitlines() if line.startswith(fake))
        assert all(v + SAFE in row for v in ("t", "AB", "issued")), row
        assert "note" in outs[1] and SAFE in outs[1], outs[1]
        assert "why" + SAFE in outs[2] and "s" + SAFE in outs[2], outs[2]
        assert f"serial {saved}{SAFE}" in outs[3], outs[3]
        rows = listed(env)
        assert rows[fake]["tenant"] == "t" + ESC and rows[fake]["serial"] == "AB" + ESC
    finally:
        r.hset(f"{env.prefix}:cert:{d}", "serial", saved)
        r.delete(dkey, ckey)
        r.xdel(f"{env.prefix}:dead", dead)


def test_a_failed_rename_says_what_was_replaced_and_keeps_the_old_key(issued):
    """fullchain.pem made immutable (chattr +i: renaming over it fails with
    EPERM, even for root): cert.pem and chain.pem, renamed first, are
    replaced and named on stderr; key.pem, renamed last, is not."""
    env, domains = issued
    d = next(iter(domains))
    out = os.path.join(env.tmp, "out-immutable")
    env.ctl("cert", "get", d, "--out", out)
    target = os.path.join(out, "fullchain.pem")
    if subprocess.run(["chattr", "+i", target], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not possible here (needs root on ext4 or the like)")
    try:
        before = snapshot(out)
        p = env.ctl("cert", "get", d, "--out", out, check=False)
        assert p.returncode == 1, p.stderr
        assert "fullchain.pem" in p.stderr and "already replaced: cert.pem chain.pem (" in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
        after = snapshot(out)
        assert sorted(after) == sorted(FILES), "no temporary file is left behind"
        for name in ("cert.pem", "chain.pem"):
            assert after[name][0] != before[name][0], name
        for name in ("fullchain.pem", "key.pem"):
            assert after[name] == before[name], name
    finally:
        subprocess.run(["chattr", "-i", target], check=True)


def seal(kek_hex, plain, aad):
    """A value in schemas/certificate.md's layout, sealed under KEK_HEX."""
    nonce = os.urandom(12)
    ct = AESGCM(bytes.fromhex(kek_hex)).encrypt(nonce, plain.encode(), aad.encode())
    return "aesgcm1:" + base64.urlsafe_b64encode(nonce + ct).decode().rstrip("=")


def unseal(kek_hex, sealed, aad):
    """The plaintext of SEALED under KEK_HEX, or InvalidTag."""
    assert sealed.startswith("aesgcm1:"), sealed[:16]
    b = sealed[len("aesgcm1:"):]
    raw = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4))
    return AESGCM(bytes.fromhex(kek_hex)).decrypt(raw[:12], raw[12:], aad.encode()).decode()


def opens(kek_hex, sealed, aad):
    try:
        unseal(kek_hex, sealed, aad)
        return True
    except InvalidTag:
        return False


def test_finalize_seals_under_the_certificate_kek(issued):
    """Issue 13, two keys with two jobs: the live pipeline's finalize sealed
    each key under the certificate KEK, which cert get opens; the account
    KEK opens none of them, and cert get given the account KEK as its
    certificate KEK refuses."""
    env, domains = issued
    assert env.kek != env.cert_kek
    for d in domains:
        c, aad = env.cert(d), f"{env.prefix}:cert:{d}"
        assert c["key_enc"] == "aes-256-gcm"
        assert key_matches(unseal(env.cert_kek, c["key"], aad), c["chain"])
        assert not opens(env.kek, c["key"], aad)
        p = env.ctl("cert", "get", d, "--key")
        assert key_matches(p.stdout[len(c["chain"]):], c["chain"])
        p = env.ctl("cert", "get", d, "--key", check=False, env={"DCV_CERT_KEK": env.kek})
        assert p.returncode == 1 and p.stdout == "", p.stderr
        assert "key-encryption key is missing or wrong" in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
    # cert get needs no account KEK at all (a backend is not given it)
    p = env.ctl("cert", "get", d, "--key", env={"DCV_ACME_KEK": ""})
    assert key_matches(p.stdout[len(c["chain"]):], c["chain"])


def test_an_unreadable_cert_kek_file_is_a_config_error(issued):
    env, domains = issued
    d = next(iter(domains))
    cfg = os.path.join(env.tmp, "dcv-certkek.yaml")
    missing = os.path.join(env.tmp, "no-such-cert-kek")
    with open(env.config) as f:
        text = f.read()
    assert re.search(r"(?m)^acme:$", text), text
    with open(cfg, "w") as f:
        f.write(re.sub(r"(?m)^acme:$", f"acme:\n  cert_kek_file: \"{missing}\"", text, count=1))
    for args in (["cert", "get", d], ["cert", "rewrap", "--from-account-kek"]):
        p = env.ctl(*args, config=cfg, check=False)
        assert p.returncode != 0, p.stderr
        assert "dcv-certkek.yaml:" in p.stderr and "acme.cert_kek_file" in p.stderr, p.stderr
        assert missing in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
        assert env.cert_kek not in p.stderr


def rewrap(env, *args):
    return env.ctl("cert", "rewrap", *args, check=False)


def test_rewrap_killed_halfway_then_resumed(issued):
    """A fleet from before the certificate KEK: keys (certificates' and
    pending ones) sealed under the account KEK.  cert get names the
    problem; rewrap killed (SIGKILL) after its progress showed some keys
    leaves some moved and some not, and run again moves the rest: every key
    then opens under the certificate KEK and none under the account KEK, a
    third run rewraps nothing, and a key under neither is named and fails
    the run."""
    env, domains = issued
    d = next(iter(domains))
    r = env.client()
    real = f"{env.prefix}:cert:{d}"
    original = r.hget(real, "key").decode()
    pem = unseal(env.cert_kek, original, real)
    r.hset(real, "key", seal(env.kek, pem, real))
    p = env.ctl("cert", "get", d, check=False)
    assert p.returncode == 1 and "rewrap --from-account-kek" in p.stderr, p.stderr
    no_secret(p.stdout, p.stderr)

    n = 4000
    names = [f"rw{i}.rewrap.example" for i in range(n)]
    values = {}
    with r.pipeline(transaction=False) as pipe:
        for i, name in enumerate(names):
            if i % 2:
                key, field, aad = f"{env.prefix}:cert:{name}", "key", f"{env.prefix}:cert:{name}"
            else:
                key, field = f"{env.prefix}:domain:{name}", "pending_key"
                aad = f"{key}:pending_key"
            plain = f"-----BEGIN PRIVATE KEY-----\nfake {i}\n-----END PRIVATE KEY-----\n"
            values[(key, field)] = (aad, plain)
            pipe.hset(key, field, seal(env.kek, plain, aad))
        pipe.execute()
    values[(real, "key")] = (real, pem)
    bad = f"{env.prefix}:cert:bad.rewrap.example"

    def under(kek):
        return sum(opens(kek, r.hget(k, f).decode(), aad) for (k, f), (aad, _) in values.items())

    try:
        cmd = [harness.program("dcvctl"), "-c", env.config, "cert", "rewrap", "--from-account-kek"]
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                env={**os.environ, **env.env()})
        seen = []
        try:
            for line in proc.stderr:
                seen.append(line)
                if " of " in line and int(line.split(":")[1].split()[0]) >= 1000:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
        finally:
            proc.wait(timeout=60)
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, seen
        moved = under(env.cert_kek)
        assert 0 < moved < len(values), (moved, seen)
        assert under(env.kek) == len(values) - moved

        p = rewrap(env, "--from-account-kek")
        assert p.returncode == 0, p.stderr
        assert f"{len(values) - moved} rewrapped" in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
        assert under(env.cert_kek) == len(values) and under(env.kek) == 0
        for (k, f), (aad, plain) in values.items():
            v = r.hget(k, f).decode()
            assert v.startswith("aesgcm1:") and unseal(env.cert_kek, v, aad) == plain
        assert r.hget(real, "key_enc") == b"aes-256-gcm"
        assert r.hget(f"{env.prefix}:domain:{names[0]}", "key_enc") is None
        c = env.cert(d)
        assert key_matches(env.ctl("cert", "get", d, "--key").stdout[len(c["chain"]):],
                           c["chain"])

        p = rewrap(env, "--from-account-kek")
        assert p.returncode == 0 and " 0 rewrapped" in p.stderr, p.stderr

        # a key under neither KEK: named by its hash, the run fails
        other = os.urandom(32).hex()
        r.hset(bad, "key", seal(other, "x", bad))
        p = rewrap(env, "--from-account-kek")
        assert p.returncode == 1, p.stderr
        assert "bad.rewrap.example" in p.stderr and "1 failed" in p.stderr, p.stderr
        no_secret(p.stdout, p.stderr)
        # from another old KEK given as a file
        kf = os.path.join(env.tmp, "old-kek")
        with open(kf, "w") as f:
            f.write(other + "\n")
        p = rewrap(env, "--old-kek-file", kf)
        assert p.returncode == 0 and " 1 rewrapped" in p.stderr, p.stderr
        assert unseal(env.cert_kek, r.hget(bad, "key").decode(), bad) == "x"
        for args in ([], ["--from-account-kek", "--old-kek-file", kf], ["--bogus"]):
            assert rewrap(env, *args).returncode == 2, args
    finally:
        with r.pipeline(transaction=False) as pipe:
            for (k, f) in values:
                if k != real:
                    pipe.delete(k)
            pipe.delete(bad)
            pipe.execute()
        r.hset(real, "key", original)
