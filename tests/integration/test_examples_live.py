"""The backend integration examples of deploy/examples (node/onboard.js and
python/onboard.py) against a live fleet: redis-server, BIND, Pebble and a
dcv-worker with the five stages (fleet_env.py), until the real `issued`
event.

Each example onboards its own domain the way a backend does (one XADD into
dcv:stream:verify-cname, no dcv:domain:<d>), so this also checks that the
recipe of schemas/job.md is enough for verify-cname to claim the job and
carry it to a certificate.

The edge consumers (node/edge.js, python/edge.py) run against the same
fleet: started before the onboarding, they serve both certificates from
the real `issued` events; then --once runs are fed a tampered hash, a
forged event and the wrong root, and refuse them; an unwritable domain
directory stops them without moving the position, and an installed leaf
that starts later makes the fleet's one refused as older."""
import os
import stat
import subprocess
import sys

import pytest

import harness
from test_e2e import customer_ready, fleet, issued
from test_examples import EXAMPLES, Run, node_example  # noqa: F401 (fixture)


@pytest.fixture
def tmp():
    d = harness.tmpdir("dcv-examples-live-")
    yield d
    if not os.environ.get("DCV_KEEP_TMP"):
        harness.rmtree(d)


def edge_cmd(which, node_example):
    if which == "node":
        return [node_example[0], os.path.join(os.path.dirname(node_example[1]), "edge.js")]
    return [sys.executable, os.path.join(EXAMPLES, "python", "edge.py")]


def openssl(*args):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, f"openssl {args}: {p.stdout}{p.stderr}"
    return p.stdout


def served_lines(run):
    return [l for l in run.stdout_lines() if "dir" in l]


def assert_served(out, domain, c, root):
    """OUT/DOMAIN holds the certificate of hash C as a server needs it: the
    modes, no temporary file left, the key the leaf's, the chain verifying
    up to ROOT."""
    d = os.path.join(out, domain)
    assert stat.S_IMODE(os.lstat(d).st_mode) == 0o700
    assert sorted(os.listdir(d)) == ["chain.pem", "fullchain.pem", "key.pem"], os.listdir(d)
    modes = {n: stat.S_IMODE(os.lstat(os.path.join(d, n)).st_mode) for n in os.listdir(d)}
    assert modes == {"chain.pem": 0o644, "fullchain.pem": 0o644, "key.pem": 0o600}, modes
    full = open(os.path.join(d, "fullchain.pem")).read()
    chain = open(os.path.join(d, "chain.pem")).read()
    end = "-----END CERTIFICATE-----\n"
    leaf = full[:full.index(end) + len(end)]
    assert full == leaf + chain and chain.count("BEGIN CERTIFICATE") >= 1
    assert c["chain"].startswith(leaf.strip())
    leaf_file = os.path.join(d, "..", f"{domain}.leaf.pem")
    with open(leaf_file, "w") as f:
        f.write(leaf)
    assert openssl("x509", "-noout", "-pubkey", "-in", leaf_file) == \
        openssl("pkey", "-pubout", "-in", os.path.join(d, "key.pem"))
    openssl("verify", "-CAfile", root, "-untrusted", os.path.join(d, "chain.pem"), leaf_file)
    assert openssl("x509", "-noout", "-serial", "-in", leaf_file).strip() == f"serial={c['serial']}"
    os.unlink(leaf_file)


def later_leaf_pem(domain):
    """A self-signed leaf for DOMAIN whose notBefore is tomorrow: later than
    any the fleet issued in this run."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, domain)])
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def id_key(eid):
    return tuple(int(x) for x in eid.split("-"))


def test_examples_onboard_and_exit_on_issued(tmp, node_example):
    env = fleet(tmp)
    runs, edges = [], {}
    try:
        domains = {"node": f"node.{env.zones[0]}", "python": f"python.{env.zones[1]}"}
        for d in domains.values():
            customer_ready(env, d)            # the CNAME, and an A record at us
        root = os.path.join(tmp, "root.pem")
        with open(root, "w") as f:
            f.write(env.root_pem())
        kek = os.path.join(tmp, "cert-kek")    # the certificate KEK, what a backend is given
        with open(kek, "w") as f:
            f.write(env.cert_kek + "\n")
        # The edge consumers, from "$" before anything is issued, the KEK
        # file from DCV_CERT_KEK_FILE, keeping their position in a file.
        for which in ("node", "python"):
            edges[which] = Run(tmp, edge_cmd(which, node_example) + [
                os.path.join(tmp, f"out-{which}"), "--ca-file", root,
                "--position-file", os.path.join(tmp, f"pos-{which}")], env.redis,
                env={"DCV_CERT_KEK_FILE": kek})
        for run in edges.values():
            harness.wait_until(lambda: "edge: reading" in run.stderr() or run.p.poll() is not None,
                               30, what="the edge consumer's first read")
            assert run.p.poll() is None, run.stderr()
        env.start_worker()
        cmds = {"node": node_example,
                "python": [sys.executable, os.path.join(EXAMPLES, "python", "onboard.py")]}
        for name, d in domains.items():
            runs.append((name, d, Run(tmp, cmds[name] + [d, "--timeout", "120"], env.redis)))
        for name, d, run in runs:
            rc = run.wait(timeout=150)
            log = env.log(env.workers[0])[-4000:]
            assert rc == 0, f"{name} example exited {rc}:\n{run.stderr()}\nworker:\n{log}"
            lines = run.stdout_lines()
            assert lines and all(l["domain"] == d for l in lines), lines
            issued = [l for l in lines if l["type"] == "issued"]
            assert issued, lines
            assert issued[-1]["detail"].startswith("serial "), issued
            # the same event as the fleet wrote it, and the certificate
            assert issued[-1]["id"] in [e["id"] for e in env.events(d) if e["type"] == "issued"]
            assert env.cert(d).get("chain"), f"no dcv:cert:{d}"
            # the event's own fields, as the example parsed them
            c = env.cert(d)
            assert issued[-1]["names"] == c["names"].split(",") == [d], issued
            assert issued[-1]["serial"] == c["serial"], issued
            assert issued[-1]["not_after"] == int(c["not_after"]), issued
            assert issued[-1]["cert_key"] == f"{env.prefix}:cert:{d}", issued
            assert issued[-1]["renewal"] is False, issued
            st = env.domain(d)
            # verify-cname created the record when it claimed the job
            assert st["state"] == "issued" and st["gen"] == "1", st
            assert st["target"] == env.target(d) and st["names"] == d, st
            env.verify_cert(env.cert(d)["chain"], [d])
        # each run removed its own consumer group
        groups = env.client().xinfo_groups(f"{env.prefix}:events")
        assert not [g for g in groups if g["name"].startswith(b"onboard-example-")], groups
        assert env.client().xlen(f"{env.prefix}:dead") == 0
        check_edges(env, tmp, domains, edges, root, kek, node_example)
    finally:
        for _, _, run in runs:
            run.kill()
        for run in edges.values():
            run.kill()
        env.close()


def check_edges(env, tmp, domains, edges, root, kek, node_example):
    certs = {d: env.cert(d) for d in domains.values()}
    ids = {d: issued(env, d)[-1]["id"] for d in domains.values()}
    for which, run in edges.items():
        harness.wait_until(lambda: len(served_lines(run)) >= 2 or run.p.poll() is not None, 30,
                           what=f"the {which} edge serving both")
        assert run.p.poll() is None, run.stderr()
        lines = served_lines(run)
        assert sorted((l["domain"], l["id"], l["serial"], l["not_after"]) for l in lines) == \
            sorted((d, ids[d], c["serial"], int(c["not_after"])) for d, c in certs.items()), lines
        out = os.path.join(tmp, f"out-{which}")
        for d, c in certs.items():
            assert_served(out, d, c, root)
        # the position is saved after the batch's lines are printed
        pos = os.path.join(tmp, f"pos-{which}")
        newest = max(id_key(i) for i in ids.values())
        harness.wait_until(lambda: os.path.exists(pos) and id_key(open(pos).read().strip()) >= newest,
                           10, what=f"the {which} edge's position past {newest}")
        assert "refused" not in run.stderr() and "PRIVATE" not in run.stderr(), run.stderr()
        run.kill()

    r, prefix = env.client(), env.prefix
    a, b = domains["node"], domains["python"]
    later = later_leaf_pem(a)

    def newest_id():
        return r.xrevrange(f"{prefix}:events", count=1)[0][0].decode()

    def once(which, out, *args, ca=root):
        run = Run(tmp, edge_cmd(which, node_example) + [
            os.path.join(tmp, out), "--ca-file", ca, "--cert-kek-file", kek, "--once", *args],
            env.redis)
        rc = run.wait(timeout=60)
        err = run.stderr()
        assert "PRIVATE" not in err and "PRIVATE" not in open(run.out).read(), err
        return rc, served_lines(run), err

    for which in edges:
        # another domain's chain in A's hash: the key is not the leaf's
        r.hset(f"{prefix}:cert:{a}", "chain", certs[b]["chain"])
        rc, lines, err = once(which, f"swap-{which}", "--from", "0")
        r.hset(f"{prefix}:cert:{a}", "chain", certs[a]["chain"])
        assert rc == 1 and f"refused {a}" in err and "does not match the leaf" in err, err
        assert not os.path.exists(os.path.join(tmp, f"swap-{which}", a)), "files of a refused cert"
        assert [l["domain"] for l in lines] == [b], lines      # the other one is served
        assert_served(os.path.join(tmp, f"swap-{which}"), b, certs[b], root)

        # A's sealed key moved into B's hash: its AAD is A's, it does not open
        r.hset(f"{prefix}:cert:{b}", "key", certs[a]["key"])
        rc, lines, err = once(which, f"moved-{which}", "--from", "0")
        r.hset(f"{prefix}:cert:{b}", "key", certs[b]["key"])
        assert rc == 1 and f"refused {b}" in err and "does not open" in err, err
        assert [l["domain"] for l in lines] == [a], lines
        assert not os.path.exists(os.path.join(tmp, f"moved-{which}", b))

        # a root that is not the CA's: nothing verifies, nothing written
        rc, lines, err = once(which, f"root-{which}", "--from", "0", ca=env.pebble.ca)
        n = len([e for e in env.events() if e["type"] == "issued"])  # forged ones too
        assert rc == 1 and lines == [] and err.count("does not lead to a root") == n >= 2, err
        assert not os.path.exists(os.path.join(tmp, f"root-{which}"))

        # a forged `issued` with the right serial and another not_after,
        # read from the position the blocking run kept: only it is read
        forged = r.xadd(f"{prefix}:events", {
            "type": "issued", "domain": a, "detail": "forged", "time": 1,
            "names": a, "serial": certs[a]["serial"], "cert_key": f"{prefix}:cert:{a}",
            "not_after": str(int(certs[a]["not_after"]) + 1), "renewal": "0"}).decode()
        pos = os.path.join(tmp, f"pos-{which}")
        kept = open(pos).read().strip()
        after = [e for e in env.events() if id_key(e["id"]) > id_key(kept)]
        assert after and all(e["detail"] == "forged" for e in after), after  # forged by this edge and the one before
        rc, lines, err = once(which, f"forged-{which}", "--position-file", pos)
        assert rc == 1 and lines == [] and f"reading {prefix}:events after {kept}" in err, err
        assert err.count("not_after is not the leaf's") == err.count("refused") == len(after), err
        assert open(pos).read().strip() == forged
        assert not os.path.exists(os.path.join(tmp, f"forged-{which}", a))

        # a local failure, not the certificate's: OUT/<A> cannot be written.
        # The run stops (exit 1) at A's event without keeping a position
        # past it; once repaired, a rerun from that position serves A.
        ro = os.path.join(tmp, f"ro-{which}")
        os.makedirs(ro, mode=0o700)
        blocked, rpos = os.path.join(ro, a), os.path.join(tmp, f"pos-ro-{which}")
        if os.geteuid() == 0:      # root writes through mode 0500: a file in the way instead
            open(blocked, "w").close()
        else:
            os.mkdir(blocked, 0o700)
            os.chmod(blocked, 0o500)
        rc, lines, err = once(which, f"ro-{which}", "--from", "0", "--position-file", rpos)
        assert rc == 1 and f"stopped at {a}" in err and "not moved past it" in err, err
        assert a not in [l["domain"] for l in lines], lines
        assert not os.path.exists(rpos) or id_key(open(rpos).read().strip()) < id_key(ids[a]), \
            (open(rpos).read(), ids[a])
        if os.geteuid() == 0:
            os.unlink(blocked)
        else:
            os.chmod(blocked, 0o700)
        rc, lines, err = once(which, f"ro-{which}", "--from", "0", "--position-file", rpos)
        assert "stopped" not in err and a in [l["domain"] for l in lines], err
        assert_served(ro, a, certs[a], root)
        assert open(rpos).read().strip() == newest_id(), err

        # an older certificate than the one installed (here a leaf made to
        # start tomorrow stands for the later one): refused, the file kept,
        # and skipped for good (the position moves on)
        kept_dir = os.path.join(tmp, f"old-{which}", a)
        os.makedirs(kept_dir, mode=0o700)
        with open(os.path.join(kept_dir, "fullchain.pem"), "w") as f:
            f.write(later)
        opos = os.path.join(tmp, f"pos-old-{which}")
        rc, lines, err = once(which, f"old-{which}", "--from", "0", "--position-file", opos)
        assert rc == 1 and f"refused {a}" in err and "older than the installed certificate" in err, err
        assert [l["domain"] for l in lines] == [b], lines
        assert open(os.path.join(kept_dir, "fullchain.pem")).read() == later
        assert sorted(os.listdir(kept_dir)) == ["fullchain.pem"], os.listdir(kept_dir)
        assert open(opos).read().strip() == newest_id(), err
