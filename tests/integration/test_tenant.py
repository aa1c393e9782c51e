"""Tenant isolation (issue 10): a name belongs to the tenant that onboarded
it until it is released.  The lifecycle scripts (ONBOARD, CLAIM, RELEASE,
OFFBOARD) are run directly against a real redis-server with their source
from dcv-script; then dcvctl's onboard and release against the same.  The
workers' side (a backend's XADDed job, the gate) is in test_e2e.py."""
import json
import os
import subprocess
import time

import msgpack
import pytest

import harness
from queue_env import Fleet, job_bytes

P = "dcv"


@pytest.fixture
def tmp():
    d = harness.tmpdir()
    yield d
    harness.rmtree(d)


@pytest.fixture
def redis(tmp):
    srv = harness.Redis(tmp)
    yield srv.client()
    srv.stop()


class Scripts:
    """Runs a script of common/lua/ by name, with EVAL."""

    def __init__(self, r):
        self.r = r
        self.src = {}

    def __call__(self, name, *argv):
        if name not in self.src:
            self.src[name] = subprocess.run([harness.program("dcv-script"), name],
                                            check=True, capture_output=True).stdout
        return self.r.eval(self.src[name], 0, *argv)


@pytest.fixture
def run(redis):
    return Scripts(redis)


def now():
    return str(int(time.time() * 1000))


def onboard(run, *items):
    """ONBOARD of ITEMS, each (domain, tenant[, names]); returns the
    per-item answers as text."""
    argv = [P, now(), str(len(items))]
    for it in items:
        dom, tenant = it[0], it[1]
        names = it[2] if len(it) > 2 else dom
        jid = os.urandom(16).hex()
        argv += [dom, tenant, f"{dom.lstrip('*.')}.validation.test", names,
                 job_bytes(dom, id=jid, tenant=tenant), jid]
    return [a.decode() for a in run("onboard", *argv)]


def claim(run, dom, tenant, names=None, jid=None, entry="1-1"):
    r = run("claim", P, now(), dom, jid or os.urandom(16).hex(), tenant,
            f"{dom}.validation.test", names or dom, entry)
    return [x.decode() if isinstance(x, bytes) else x for x in r]


def owner(r, name):
    return {k.decode(): v.decode() for k, v in r.hgetall(f"{P}:owner:{name}").items()}


def record(r, dom):
    return {k.decode(): v.decode() for k, v in r.hgetall(f"{P}:domain:{dom}").items()}


def end(r, dom, state="failed"):
    """The pipeline ended (what finalize, verify-cname or the runtime
    write; the scripts only read the state)."""
    r.hset(f"{P}:domain:{dom}", "state", state)


def snapshot(r):
    """Every key with its content, to show that a refusal wrote nothing."""
    out = {}
    for k in sorted(r.keys("*")):
        t = r.type(k).decode()
        out[k] = (r.hgetall(k) if t == "hash" else r.xrange(k) if t == "stream"
                  else r.zrange(k, 0, -1, withscores=True) if t == "zset" else r.get(k))
    return out


# ------------------------------------------------------------ the scripts

def test_onboard_claims_every_base_name_for_its_tenant(redis, run):
    r = redis
    assert onboard(run, ("example.com", "a", "example.com,www.example.com,*.example.com")) == ["queued"]
    assert owner(r, "example.com") == {"tenant": "a", "example.com": "1"}
    assert owner(r, "www.example.com") == {"tenant": "a", "example.com": "1"}
    # a wildcard is claimed as its base: it shares _acme-challenge.example.com
    assert r.exists(f"{P}:owner:*.example.com") == 0
    # a wildcard domain's own record claims its base too
    assert onboard(run, ("*.wild.example", "a")) == ["queued"]
    assert owner(r, "wild.example") == {"tenant": "a", "*.wild.example": "1"}


@pytest.mark.parametrize("dom,names", [
    ("example.com", None),                            # the domain itself
    ("www.example.com", None),                        # A's SAN, as a domain
    ("other.example", "other.example,www.example.com"),   # A's SAN, as a SAN
    ("*.example.com", None),                          # A's apex, through a wildcard
    ("other.example", "other.example,*.example.com"),     # the same as a SAN
])
def test_another_tenant_is_refused_and_nothing_changes(redis, run, dom, names):
    r = redis
    onboard(run, ("example.com", "a", "example.com,www.example.com"))
    before = snapshot(r)
    [why] = onboard(run, (dom, "b", names or dom))
    assert why.startswith("refused: ") and "held by another tenant" in why, why
    assert "(domain example.com)" in why and "dcvctl release example.com" in why, why
    assert '"a"' not in why and " a " not in why, "the reason names no tenant"
    assert snapshot(r) == before, "a refused onboarding wrote something"
    # the worker's entrance refuses the same, and changes nothing either
    code, gen, why2 = claim(run, dom, "b", names)
    assert code == -1 and why2 == why
    assert snapshot(r) == before


def test_no_tenant_is_a_tenant_of_its_own(redis, run):
    onboard(run, ("plain.example", ""), ("owned.example", "a"))
    assert onboard(run, ("plain.example", "a"))[0].startswith("refused: plain.example is held")
    assert onboard(run, ("owned.example", ""))[0].startswith("refused: owned.example is held")
    assert claim(run, "owned.example", "")[0] == -1
    assert claim(run, "plain.example", "a")[0] == -1
    # and "" is not refused its own names
    assert onboard(run, ("plain.example", "")) == ["nudged"]
    assert owner(redis, "plain.example") == {"tenant": "", "plain.example": "1"}


def test_items_of_one_call_are_checked_in_order(redis, run):
    out = onboard(run, ("one.example", "a"), ("two.example", "b", "two.example,one.example"),
                  ("three.example", "a", "three.example,one.example"))
    assert out[0] == "queued" and out[1].startswith("refused: one.example") and out[2] == "queued"
    assert record(redis, "two.example") == {}
    assert owner(redis, "two.example") == {}
    assert owner(redis, "one.example") == {"tenant": "a", "one.example": "1", "three.example": "1"}


def test_release_frees_the_names_of_an_ended_pipeline(redis, run):
    r = redis
    onboard(run, ("example.com", "a", "example.com,www.example.com"))
    assert run("release", P, now(), "nobody.example") == [-1, b""]
    # a running pipeline is offboarded first
    assert run("release", P, now(), "example.com") == [-2, b"queued"]
    assert owner(r, "example.com")["tenant"] == "a"
    for st in ("issued", "renewing", "waiting-cname", "waiting", "active"):
        end(r, "example.com", st)
        assert run("release", P, now(), "example.com")[0] == -2, st
    end(r, "example.com", "offboarded")
    assert run("release", P, now(), "example.com") == [1, b"offboarded"]
    assert owner(r, "example.com") == {} and owner(r, "www.example.com") == {}
    rec = record(r, "example.com")
    assert int(rec["released_at"]) > 0 and rec["tenant"] == "a" and rec["gen"] == "1"
    assert run("release", P, now(), "example.com") == [0, b"offboarded"]
    # nothing runs for a released domain: OFFBOARD says so
    assert run("offboard", P, now(), "example.com", b"job", "1") == -3
    # now B may have it, in any form; a new generation forgets the release
    assert onboard(run, ("www.example.com", "b")) == ["queued"]
    assert onboard(run, ("example.com", "b")) == ["queued"]
    rec = record(r, "example.com")
    assert "released_at" not in rec and rec["tenant"] == "b" and rec["gen"] == "2"
    assert owner(r, "example.com") == {"tenant": "b", "example.com": "2"}
    assert owner(r, "www.example.com") == {"tenant": "b", "www.example.com": "1"}
    # and A is refused now
    assert onboard(run, ("example.com", "a"))[0].startswith("refused")


def test_one_tenants_domains_share_a_name_until_the_last_releases_it(redis, run):
    r = redis
    onboard(run, ("example.com", "a", "example.com,www.example.com"), ("www.example.com", "a"))
    assert owner(r, "www.example.com") == {"tenant": "a", "example.com": "1",
                                           "www.example.com": "1"}
    end(r, "www.example.com")
    assert run("release", P, now(), "www.example.com")[0] == 1
    assert owner(r, "www.example.com") == {"tenant": "a", "example.com": "1"}
    assert onboard(run, ("www.example.com", "b"))[0].startswith("refused: www.example.com")
    end(r, "example.com")
    run("release", P, now(), "example.com")
    assert owner(r, "www.example.com") == {}
    assert onboard(run, ("www.example.com", "b")) == ["queued"]


def test_a_new_generation_gives_up_the_names_it_no_longer_has(redis, run):
    r = redis
    onboard(run, ("example.com", "a", "example.com,www.example.com,shop.example.com"))
    end(r, "example.com")
    assert onboard(run, ("example.com", "a", "example.com,api.example.com")) == ["queued"]
    assert owner(r, "www.example.com") == {} and owner(r, "shop.example.com") == {}
    assert owner(r, "example.com") == {"tenant": "a", "example.com": "2"}
    assert owner(r, "api.example.com") == {"tenant": "a", "example.com": "2"}
    assert onboard(run, ("www.example.com", "b")) == ["queued"]
    # the same through CLAIM (a backend's job)
    end(r, "example.com")
    assert claim(run, "example.com", "a", "example.com", entry="9-1")[0] == 1
    assert owner(r, "api.example.com") == {}
    assert owner(r, "example.com") == {"tenant": "a", "example.com": "3"}


def test_claim_adopts_its_own_entry_nudges_its_tenant_refuses_another(redis, run):
    r = redis
    jid = os.urandom(16).hex()
    assert claim(run, "example.com", "a", "example.com,www.example.com", jid=jid, entry="5-0") == [1, 1]
    rec = record(r, "example.com")
    assert rec["state"] == "verifying" and rec["tenant"] == "a" and rec["claim_entry"] == "5-0"
    assert owner(r, "www.example.com") == {"tenant": "a", "example.com": "1"}
    # a redelivery of the same entry is the pipeline
    assert claim(run, "example.com", "a", jid=jid, entry="5-0") == [2, 1]
    # another job of the same tenant nudges it
    assert claim(run, "example.com", "a", entry="6-0") == [0, 1]
    # another tenant's job is refused, even for a name that is only a SAN
    before = snapshot(r)
    code, gen, why = claim(run, "www.example.com", "b", entry="7-0")
    assert code == -1 and "www.example.com is held by another tenant (domain example.com)" in why
    assert snapshot(r) == before


# ------------------------------------------------------------ dcvctl

@pytest.fixture
def fleet(tmp):
    f = Fleet(tmp)
    yield f
    f.close()


def test_dcvctl_onboard_refuses_another_tenants_names(fleet):
    f = fleet
    f.ctl("onboard", "shop.example.com", "--tenant", "a", "--names",
          "shop.example.com,www.shop.example.com")
    p = f.ctl("onboard", "www.shop.example.com", "--tenant", "b", check=False)
    assert p.returncode == 4, p
    assert "refused: www.shop.example.com is held by another tenant (domain shop.example.com)" \
        in p.stderr and "dcvctl release shop.example.com" in p.stderr
    assert p.stdout == ""
    p = f.ctl("onboard", "b.example", "--tenant", "b", "--names", "b.example,shop.example.com",
              "--json", check=False)
    assert p.returncode == 4
    j = json.loads(p.stdout)
    assert j["result"] == "refused" and "shop.example.com is held" in j["reason"]
    assert f.domain("b.example") == {}
    # no tenant at all is another tenant too
    assert f.ctl("onboard", "shop.example.com", check=False).returncode == 4
    # the same tenant only nudges its running pipeline
    assert "already in progress: nudged" in f.ctl("onboard", "shop.example.com",
                                                  "--tenant", "a").stdout
    # a file: the others are queued, the refused ones said one by one
    path = os.path.join(f.tmp, "list.txt")
    with open(path, "w") as fh:
        fh.write("x1.example\nshop.example.com\nx2.example\n")
    p = f.ctl("onboard", "--file", path, "--tenant", "b", check=False)
    assert p.returncode == 4
    assert "2 domains queued, 1 refused" in p.stdout
    assert "dcvctl onboard: shop.example.com: refused" in p.stderr
    assert f.domain("x1.example")["tenant"] == "b" and f.domain("x2.example")["tenant"] == "b"
    assert f.domain("shop.example.com")["tenant"] == "a"
    assert f.r.xlen("dcv:stream:verify-cname") == 3


def test_dcvctl_release(fleet):
    f = fleet
    f.ctl("onboard", "fail-r.example.com", "--tenant", "a", "--names",
          "fail-r.example.com,www.fail-r.example.com")
    assert "release DOMAIN" in f.ctl("--help").stdout
    assert f.ctl("release", check=False).returncode == 2
    assert f.ctl("release", "no.example", check=False).returncode == 3
    p = f.ctl("release", "fail-r.example.com", check=False)
    assert p.returncode == 4 and "is running (state queued): offboard it first" in p.stderr
    f.start_worker()      # the test handler fails it: the pipeline ends
    harness.wait_until(lambda: f.domain("fail-r.example.com").get("state") == "failed", 20,
                       what="failed")
    assert f.ctl("onboard", "www.fail-r.example.com", "--tenant", "b", check=False).returncode == 4
    out = f.ctl("release", "fail-r.example.com").stdout
    assert "released (state failed): any tenant may onboard its names" in out
    assert "already released" in f.ctl("release", "FAIL-R.example.com.").stdout
    assert "released: nothing runs for it" in f.ctl("offboard", "fail-r.example.com").stdout
    assert "queued" in f.ctl("onboard", "www.fail-r.example.com", "--tenant", "b").stdout
    f.wait_done(2)
    assert f.domain("www.fail-r.example.com")["state"] == "done"
    st = json.loads(f.ctl("status", "fail-r.example.com", "--json").stdout)
    assert st["released_at"] and st["tenant"] == "a"
    assert msgpack.unpackb(f.dead()[0]["job"])["tenant"] == "a"
