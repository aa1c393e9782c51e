"""Each Lua script of common/lua/ run directly against a real redis-server
(issue 12, point 3): SCRIPT LOAD of the text the build embeds (dcv-script
prints it, the ACTIVE set of lifecycle_names.h pasted in), then EVALSHA
with the KEYS and ARGV that the header of its .lua file names, in that
order.  One test per script covers each branch of its contract: success,
the generation guards and the refusals.  The wiring (queue.c, the stages)
is tested by test_queue.py, test_tenant.py and test_e2e.py.

The argument lists below follow the headers of the .lua files, field by
field; test_every_script_documents_its_layout checks that every header
names its KEYS and ARGV, and that the scripts here are all there are."""
import os
import re
import subprocess
import time

import msgpack
import pytest

import harness

P = "t"
LUA = os.path.join(harness.SOURCE, "common", "lua")
SCRIPTS = ["commit", "promote", "reclaim", "trim", "replay", "onboard", "claim",
           "nudge", "offboard", "release", "bucket", "domain_set", "cert_retire", "revoke",
           "reindex"]


def source(name):
    return subprocess.run([harness.program("dcv-script"), name], check=True,
                          capture_output=True).stdout


@pytest.fixture(scope="module")
def server():
    d = harness.tmpdir("dcv-scripts-")
    srv = harness.Redis(d)
    yield srv
    srv.stop()
    harness.rmtree(d)


class Scripts:
    """SCRIPT LOAD once, EVALSHA by name."""

    def __init__(self, r):
        self.r, self.sha = r, {}

    def __call__(self, name, keys, *argv):
        if name not in self.sha:
            self.sha[name] = self.r.script_load(source(name))
        return self.r.evalsha(self.sha[name], len(keys), *keys, *argv)


@pytest.fixture
def r(server):
    c = server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def run(r):
    return Scripts(r)


def now():
    return int(time.time() * 1000)


def rec(r, dom):
    return {k.decode(): v.decode() for k, v in r.hgetall(f"{P}:domain:{dom}").items()}


def stream(r, key):
    """[(id, {field: value})] of stream KEY, text."""
    return [(i.decode(), {k.decode(): v.decode(errors="surrogateescape")
                          for k, v in f.items()})
            for i, f in r.xrange(key)]


def job(dom, jid, gen=0):
    return msgpack.packb({"v": 1, "domain": dom, "id": jid, "gen": gen}, use_bin_type=True)


def pending_entry(r, stage, dom, body, consumer="c1"):
    """An entry of STAGE's stream read by CONSUMER (pending); its id."""
    s = f"{P}:stream:{stage}"
    try:
        r.xgroup_create(s, "g", id="0", mkstream=True)
    except Exception:
        pass            # BUSYGROUP
    eid = r.xadd(s, {"domain": dom, "job": body}).decode()
    r.xreadgroup("g", consumer, {s: ">"})
    return eid


# ------------------------------------------------------------ the files

def test_every_script_documents_its_layout():
    files = sorted(f[:-4] for f in os.listdir(LUA) if f.endswith(".lua"))
    assert files == sorted(SCRIPTS)
    out = subprocess.run([harness.program("dcv-script"), "nonesuch"], capture_output=True)
    assert out.returncode == 2
    assert sorted(out.stderr.decode().split("known:")[1].split()) == sorted(SCRIPTS)
    for name in SCRIPTS:
        text = open(os.path.join(LUA, name + ".lua")).read()
        head = re.match(r"((?:--[^\n]*\n)+)", text).group(1)
        assert re.search(r"^-- KEYS:", head, re.M), name
        assert re.search(r"^-- ARGV:", head, re.M), name
        assert "Returns" in head, name
        # the ARGV of the scripts are named, never indexed by hand
        assert not re.search(r"ARGV\[\d", text), f"{name}.lua indexes ARGV by hand"
        embedded = source(name).decode()
        assert not any(ln.lstrip().startswith("--") for ln in embedded.splitlines()), \
            f"{name}: comment lines are left out of the loaded text"
        if "ACTIVE[" in text:
            assert "local ACTIVE = {['queued'] = 1," in embedded, name


# ------------------------------------------------------------ COMMIT

def item(**kw):
    """One COMMIT item, in the order of commit.lua's header."""
    d = dict(src="verify-cname", entry="", kind="d", dst="", due=0, job=b"",
             domain="", job_id="", state="", attempts=0, last_error="", event="",
             detail="", gen=0, clear="", fields="")
    d.update(kw)
    return [d[k] for k in ("src", "entry", "kind", "dst", "due", "job", "domain",
                           "job_id", "state", "attempts", "last_error", "event",
                           "detail", "gen", "clear", "fields")]


def commit(run, *items, t=None):
    argv = [P, "g", t or now(), 1000, 1000, len(items)]
    for it in items:
        argv += it
    return run("commit", [], *argv)


def test_commit_event_fields(r, run):
    """An item's fields go into its event after type, domain, detail and
    time, which a field of the same name cannot replace; an empty value is
    kept."""
    e = pending_entry(r, "finalize", "f.example", b"J")
    fields = "names\nf.example,www.f.example\nserial\n0A1B\nrenewal\n0\nari\n\n" \
             "time\n1\ntype\nforged\n"
    assert commit(run, item(src="finalize", entry=e, kind="d", domain="f.example",
                            job_id="j", state="issued", event="issued", detail="ok",
                            fields=fields), t=9000) == 1
    [(_, ev)] = stream(r, f"{P}:events")
    assert ev == {"type": "issued", "domain": "f.example", "detail": "ok", "time": "9000",
                  "names": "f.example,www.f.example", "serial": "0A1B", "renewal": "0",
                  "ari": ""}
    # no event: the fields go nowhere
    e = pending_entry(r, "finalize", "f.example", b"J")
    assert commit(run, item(src="finalize", entry=e, kind="d", domain="f.example",
                            job_id="j", state="issued", fields=fields)) == 1
    assert r.xlen(f"{P}:events") == 1


def test_commit(r, run):
    # forward: acknowledged, XADDed to dst, the hash and the counters written
    e1 = pending_entry(r, "verify-cname", "a.example", b"J1")
    r.hset(f"{P}:domain:a.example", mapping={"last_error": "old", "authz": "x", "gen": 1})
    assert commit(run, item(entry=e1, kind="f", dst="create-order", job=b"J1b",
                            domain="a.example", job_id="j1", state="ordering",
                            attempts=2, clear="authz", gen=1), t=5000) == 1
    assert r.xpending(f"{P}:stream:verify-cname", "g")["pending"] == 0
    [(_, f)] = stream(r, f"{P}:stream:create-order")
    assert f == {"domain": "a.example", "job": "J1b"}
    h = rec(r, "a.example")
    assert (h["state"], h["stage"], h["attempts"], h["job"], h["updated_at"]) == \
        ("ordering", "create-order", "2", "j1", "5000")
    assert "last_error" not in h and "authz" not in h and "notified" not in h
    stats = {k.decode(): int(v) for k, v in r.hgetall(f"{P}:stats").items()}
    assert stats == {"verify-cname.forwarded": 1, "forwarded": 1, "transitions": 1}

    # the same entry again (the worker that reclaimed it finishes too): dropped
    assert commit(run, item(entry=e1, kind="f", dst="create-order", job=b"J1b",
                            domain="a.example", job_id="j1", state="x")) == 0
    assert r.xlen(f"{P}:stream:create-order") == 1 and rec(r, "a.example")["state"] == "ordering"

    # later: into the delayed set at due; with a nudge pending, due now
    e2 = pending_entry(r, "create-order", "a.example", b"J2")
    e3 = pending_entry(r, "create-order", "b.example", b"J3")
    r.hset(f"{P}:domain:b.example", "nudge_pending", 1)
    assert commit(run, item(src="create-order", entry=e2, kind="l", dst="finalize", due=9999,
                            job=b"J2", domain="a.example", job_id="j1", state="validating"),
                  item(src="create-order", entry=e3, kind="l", dst="finalize", due=9999,
                       job=b"J3", domain="b.example", job_id="j3", state="validating"),
                  t=7000) == 2
    assert r.zscore(f"{P}:delayed", "finalize a.example j1") == 9999
    assert r.zscore(f"{P}:delayed", "finalize b.example j3") == 7000
    assert r.hget(f"{P}:delayed:jobs", "finalize a.example j1") == b"J2"
    assert "nudge_pending" not in rec(r, "b.example")
    assert rec(r, "a.example")["stage"] == "finalize"

    # dead: to the dead letters with the reason; done with an event
    e4 = pending_entry(r, "finalize", "a.example", b"J4")
    e5 = pending_entry(r, "finalize", "c.example", b"J5")
    assert commit(run, item(src="finalize", entry=e4, kind="x", job=b"J4", domain="a.example",
                            job_id="j1", state="failed", last_error="boom",
                            event="failed", detail="boom"),
                  item(src="finalize", entry=e5, kind="d", domain="c.example", job_id="j5",
                       state="issued", event="issued", detail="ok"), t=8000) == 2
    [(_, d)] = stream(r, f"{P}:dead")
    assert d == {"domain": "a.example", "stage": "finalize", "reason": "boom",
                 "time": "8000", "job": "J4"}
    h = rec(r, "a.example")
    assert (h["state"], h["last_error"], h["notified"]) == ("failed", "boom", "failed")
    evs = [f for _, f in stream(r, f"{P}:events")]
    assert evs == [{"type": "failed", "domain": "a.example", "detail": "boom", "time": "8000"},
                   {"type": "issued", "domain": "c.example", "detail": "ok", "time": "8000"}]
    assert rec(r, "c.example")["state"] == "issued"

    # state "": the hash is left alone (a job too broken to trust)
    e6 = pending_entry(r, "finalize", "c.example", b"J6")
    assert commit(run, item(src="finalize", entry=e6, kind="d", domain="c.example",
                            job_id="zz", state="")) == 1
    assert rec(r, "c.example")["job"] == "j5"

    # the generation guard: an older job is acknowledged, not routed
    r.hset(f"{P}:domain:c.example", "gen", 3)
    e7 = pending_entry(r, "finalize", "c.example", b"J7")
    before = rec(r, "c.example")
    nev = r.xlen(f"{P}:events")
    assert commit(run, item(src="finalize", entry=e7, kind="f", dst="create-order",
                            job=b"J7", domain="c.example", job_id="old", state="ordering",
                            event="failed", gen=2)) == 1
    routed = [f["job"] for _, f in stream(r, f"{P}:stream:create-order")]
    assert "J7" not in routed
    assert rec(r, "c.example") == before and r.xlen(f"{P}:events") == nev
    assert r.xpending(f"{P}:stream:finalize", "g")["pending"] == 0
    assert int(r.hget(f"{P}:stats", "finalize.done")) == 3
    # the current generation is routed
    e8 = pending_entry(r, "finalize", "c.example", b"J8")
    assert commit(run, item(src="finalize", entry=e8, kind="f", dst="create-order",
                            job=b"J8", domain="c.example", job_id="new", state="ordering",
                            gen=3)) == 1
    assert stream(r, f"{P}:stream:create-order")[-1][1]["job"] == "J8"
    assert rec(r, "c.example")["job"] == "new"


# ------------------------------------------------------------ PROMOTE

def test_promote(r, run):
    r.zadd(f"{P}:delayed", {"finalize a.example j1": 100, "create-order b.example j2": 200,
                            "finalize c.example j3": 300, "finalize d.example j4": 9000})
    r.hset(f"{P}:delayed:jobs", mapping={"finalize a.example j1": b"A",
                                         "create-order b.example j2": b"B",
                                         "finalize d.example j4": b"D"})
    # at most MAX per call, oldest first
    assert run("promote", [], P, 1000, 1) == 1
    assert [f for _, f in stream(r, f"{P}:stream:finalize")] == [{"domain": "a.example", "job": "A"}]
    # c has no bytes: dropped, not moved
    assert run("promote", [], P, 1000, 10) == 2
    assert [f for _, f in stream(r, f"{P}:stream:create-order")] == [{"domain": "b.example", "job": "B"}]
    assert r.xlen(f"{P}:stream:finalize") == 1
    assert r.zrange(f"{P}:delayed", 0, -1) == [b"finalize d.example j4"]
    assert r.hkeys(f"{P}:delayed:jobs") == [b"finalize d.example j4"]
    assert run("promote", [], P, 1000, 10) == 0


# ------------------------------------------------------------ RECLAIM

def reclaim(run, stage, consumer="c2", maxd=5, t=1234):
    return run("reclaim", [f"{P}:stream:{stage}"], P, "g", consumer, 0, 10, maxd,
               stage, t, 1000, 1000)


def test_reclaim(r, run):
    s = f"{P}:stream:finalize"
    r.hset(f"{P}:domain:a.example", mapping={"job": "j1", "gen": 2, "state": "finalizing"})
    r.hset(f"{P}:domain:b.example", mapping={"job": "other", "state": "finalizing"})
    r.hset(f"{P}:domain:c.example", mapping={"job": "j3", "gen": 5, "state": "finalizing"})
    r.hset(f"{P}:domain:d.example", mapping={"job": "j4", "state": "finalizing"})
    ea = pending_entry(r, "finalize", "a.example", job("a.example", "j1", 2))
    pending_entry(r, "finalize", "b.example", job("b.example", "j2"))
    pending_entry(r, "finalize", "c.example", job("c.example", "j3", 4))
    pending_entry(r, "finalize", "d.example", b"\xc1not msgpack")
    # claimed for the new consumer, in XREADGROUP's entry format
    got = reclaim(run, "finalize")
    assert [e[0].decode() for e in got][0] == ea and len(got) == 4
    assert dict(zip(got[0][1][::2], got[0][1][1::2]))[b"domain"] == b"a.example"
    assert {c["name"]: c["pending"] for c in r.xinfo_consumers(s, "g")}[b"c2"] == 4
    assert r.xlen(f"{P}:dead") == 0
    # delivered 3 times now, more than max_deliveries 2: poison
    assert reclaim(run, "finalize", maxd=2) == []
    assert r.xpending(s, "g")["pending"] == 0
    dead = stream(r, f"{P}:dead")
    assert len(dead) == 4
    assert dead[0][1]["reason"] == "poison: delivered 3 times without completing"
    assert (dead[0][1]["stage"], dead[0][1]["domain"], dead[0][1]["time"]) == \
        ("finalize", "a.example", "1234")
    evs = [f for _, f in stream(r, f"{P}:events")]
    assert [e["type"] for e in evs] == ["dead-letter"] * 4
    # only the domain whose pipeline job this was fails
    assert rec(r, "a.example")["state"] == "failed"
    assert rec(r, "a.example")["last_error"].startswith("poison: ")
    assert rec(r, "b.example")["state"] == "finalizing"     # another job id
    assert rec(r, "c.example")["state"] == "finalizing"     # an older generation
    assert rec(r, "d.example")["state"] == "finalizing"     # bytes no job
    stats = {k.decode(): int(v) for k, v in r.hgetall(f"{P}:stats").items()}
    assert stats == {"dead": 4, "finalize.poison": 4}


# ------------------------------------------------------------ TRIM

def test_trim(r, run):
    s = f"{P}:stream:provision-txt"
    key = [s]
    r.xgroup_create(s, "g", id="0", mkstream=True)
    ids = [r.xadd(s, {"n": i}) for i in range(400)]
    # nothing delivered: nothing to trim
    assert run("trim", key, "g", 10 ** 9) == 0 and r.xlen(s) == 400
    r.xreadgroup("g", "c1", {s: ">"}, count=300)
    r.xack(s, "g", *ids[:250])
    trimmed = run("trim", key, "g", 10 ** 9)
    assert trimmed > 0                                       # whole nodes only
    first = r.xrange(s, count=1)[0][0]
    assert first <= ids[250], "a pending entry was trimmed"
    assert r.xlen(s) == 400 - trimmed and r.xpending(s, "g")["pending"] == 50
    # everything acknowledged: trimmed up to what was delivered, never beyond
    r.xack(s, "g", *ids[250:300])
    run("trim", key, "g", 10 ** 9)
    assert r.xrange(s, count=1)[0][0] <= ids[300] and r.xlen(s) >= 100
    # consumers idle longer than consumer_idle_ms with nothing pending go
    r.xgroup_createconsumer(s, "g", "idle")
    r.xreadgroup("g", "busy", {s: ">"}, count=1)
    harness.wait_until(lambda: all(c["idle"] > 5 for c in r.xinfo_consumers(s, "g")),
                       5, what="consumers idle")
    run("trim", key, "g", 5)
    assert sorted(c["name"] for c in r.xinfo_consumers(s, "g")) == [b"busy"]
    assert run("trim", key, "other-group", 0) == 0


# ------------------------------------------------------------ REPLAY

def test_replay(r, run):
    ok = r.xadd(f"{P}:dead", {"domain": "a.example", "stage": "finalize",
                              "reason": "boom", "time": 1, "job": b"JOB"}).decode()
    bad = r.xadd(f"{P}:dead", {"domain": "b.example", "stage": "finalize",
                               "reason": "boom"}).decode()
    assert run("replay", [], P, ok) == b"finalize"
    assert [f for _, f in stream(r, f"{P}:stream:finalize")] == [{"domain": "a.example", "job": "JOB"}]
    assert [i for i, _ in stream(r, f"{P}:dead")] == [bad]
    assert run("replay", [], P, ok) is None                  # gone
    assert run("replay", [], P, bad) is None                 # no job: stays
    assert r.xlen(f"{P}:dead") == 1 and r.xlen(f"{P}:stream:finalize") == 1


# ------------------------------------------------------------ ONBOARD

def ob(dom, tenant, names=None, jid="j"):
    """One ONBOARD item, in the order of onboard.lua's header."""
    return [dom, tenant, f"{dom}.v.test", names or dom, job(dom, jid), jid]


def onboard(run, *items, t=1000):
    argv = [P, t, len(items)]
    for it in items:
        argv += it
    return [x.decode() for x in run("onboard", [], *argv)]


def test_onboard(r, run):
    assert onboard(run, ob("a.example", "t1", "a.example,www.a.example", "j1"),
                   ob("www.a.example", "t2", jid="j2")) == \
        ["queued", "refused: www.a.example is held by another tenant (domain a.example); "
         "it must be released first (dcvctl release a.example)"]
    h = rec(r, "a.example")
    assert (h["state"], h["stage"], h["gen"], h["job"], h["tenant"], h["target"]) == \
        ("queued", "verify-cname", "1", "j1", "t1", "a.example.v.test")
    [(eid, f)] = stream(r, f"{P}:stream:verify-cname")
    assert h["claim_entry"] == eid and f["domain"] == "a.example"
    assert r.hgetall(f"{P}:owner:www.a.example") == {b"tenant": b"t1", b"a.example": b"1"}
    assert not r.exists(f"{P}:domain:www.a.example")
    # running: only nudged (its waiting job due now), the generation kept
    r.zadd(f"{P}:delayed", {"verify-cname a.example j1": 99999})
    assert onboard(run, ob("a.example", "t1", jid="j9"), t=2000) == ["nudged"]
    h = rec(r, "a.example")
    assert (h["gen"], h["job"], h["nudged_at"]) == ("1", "j1", "2000")
    assert r.zscore(f"{P}:delayed", "verify-cname a.example j1") == 2000
    assert r.xlen(f"{P}:stream:verify-cname") == 1
    # ended: a new generation, what the old one recorded forgotten, the
    # names it no longer holds given up
    r.hset(f"{P}:domain:a.example", mapping={"state": "failed", "last_error": "x",
                                            "order_url": "u"})
    assert onboard(run, ob("a.example", "t1", jid="j3"), t=3000) == ["queued"]
    h = rec(r, "a.example")
    assert (h["state"], h["gen"], h["job"], h["created_at"]) == ("queued", "2", "j3", "1000")
    assert "last_error" not in h and "order_url" not in h and "nudged_at" not in h
    assert not r.exists(f"{P}:owner:www.a.example")
    assert r.hgetall(f"{P}:owner:a.example") == {b"tenant": b"t1", b"a.example": b"2"}
    # the name given up is free for another tenant
    assert onboard(run, ob("www.a.example", "t2")) == ["queued"]


# ------------------------------------------------------------ CLAIM

def claim(run, dom, jid, tenant="t1", names=None, entry="1-1", t=1000):
    out = run("claim", [], P, t, dom, jid, tenant, f"{dom}.v.test", names or dom, entry)
    return [x.decode() if isinstance(x, bytes) else x for x in out]


def test_claim(r, run):
    # a new pipeline
    assert claim(run, "a.example", "j1", names="a.example,*.a.example") == [1, 1]
    h = rec(r, "a.example")
    assert (h["state"], h["stage"], h["gen"], h["job"], h["claim_entry"], h["target"]) == \
        ("verifying", "verify-cname", "1", "j1", "1-1", "a.example.v.test")
    assert r.hgetall(f"{P}:owner:a.example") == {b"tenant": b"t1", b"a.example": b"1"}
    # the same entry again (a redelivery): adopt
    assert claim(run, "a.example", "j1") == [2, 1]
    # another job while it runs (a second XADD): nudged, dropped
    assert claim(run, "a.example", "j2", entry="2-2", t=5000) == [0, 1]
    assert rec(r, "a.example")["nudge_pending"] == "1"      # not in the delayed set
    assert rec(r, "a.example")["job"] == "j1"
    # the same job id from another entry is not the pipeline's
    assert claim(run, "a.example", "j1", entry="3-3") == [0, 1]
    # another tenant: refused, nothing written
    before = rec(r, "a.example")
    code, gen, why = claim(run, "a.example", "j4", tenant="t2")
    assert (code, gen) == (-1, 1) and "held by another tenant" in why
    code, gen, why = claim(run, "b.example", "j5", tenant="t2", names="b.example,a.example")
    assert (code, gen) == (-1, 0) and not r.exists(f"{P}:domain:b.example")
    assert rec(r, "a.example") == before
    # ended: a new generation
    r.hset(f"{P}:domain:a.example", "state", "abandoned")
    assert claim(run, "a.example", "j6", entry="4-4") == [1, 2]
    assert "nudge_pending" not in rec(r, "a.example")


# ------------------------------------------------------------ NUDGE

def test_nudge(r, run):
    k = f"{P}:domain:a.example"
    assert run("nudge", [], P, 1000, "a.example") == -1      # unknown
    r.hset(k, mapping={"state": "issued", "stage": "finalize", "job": "j1"})
    assert run("nudge", [], P, 1000, "a.example") == 0       # in a stream / handler
    assert rec(r, "a.example")["nudge_pending"] == "1"
    r.zadd(f"{P}:delayed", {"finalize a.example j1": 99999})
    assert run("nudge", [], P, 2000, "a.example") == 1
    assert r.zscore(f"{P}:delayed", "finalize a.example j1") == 2000
    assert rec(r, "a.example")["nudged_at"] == "2000"
    for st in ("failed", "offboarded", "parked", "done"):
        r.hset(k, "state", st)
        assert run("nudge", [], P, 3000, "a.example") == -2, st
    assert r.zscore(f"{P}:delayed", "finalize a.example j1") == 2000


# ------------------------------------------------------------ OFFBOARD

def test_offboard(r, run):
    def off(dom, gen, t=1000):
        return run("offboard", [], P, t, dom, b"OFFJOB", gen)

    assert off("a.example", "1") == -1                       # unknown
    r.hset(f"{P}:domain:a.example", mapping={"state": "issued", "gen": 2,
                                            "stage": "finalize", "job": "j1"})
    assert off("a.example", "1") == -2                       # the generation moved
    r.zadd(f"{P}:delayed", {"finalize a.example j1": 99999})
    assert off("a.example", "2", t=4000) == 1                # flagged and nudged
    h = rec(r, "a.example")
    assert (h["offboard_requested"], h["state"]) == ("4000", "issued")
    assert r.zscore(f"{P}:delayed", "finalize a.example j1") == 4000
    assert off("a.example", "2") == 0                        # flagged already
    assert r.xlen(f"{P}:stream:offboard-check") == 0
    # ended: the job is enqueued
    r.hset(f"{P}:domain:b.example", mapping={"state": "failed", "gen": 1})
    assert off("b.example", "1", t=5000) == 2
    h = rec(r, "b.example")
    assert (h["state"], h["stage"], h["offboard_requested"]) == \
        ("offboarded", "offboard-check", "5000")
    assert [f for _, f in stream(r, f"{P}:stream:offboard-check")] == \
        [{"domain": "b.example", "job": "OFFJOB"}]
    r.hdel(f"{P}:domain:b.example", "offboard_requested")
    assert off("b.example", "1") == 0                        # offboarded already
    # released: nothing runs for it
    r.hset(f"{P}:domain:c.example", mapping={"state": "failed", "gen": 1, "released_at": 1})
    assert off("c.example", "1") == -3
    assert r.xlen(f"{P}:stream:offboard-check") == 1


# ------------------------------------------------------------ RELEASE

def test_release(r, run):
    assert [x if isinstance(x, int) else x.decode()
            for x in run("release", [], P, 1000, "a.example")] == [-1, ""]
    assert onboard(run, ob("a.example", "t1", "a.example,b.example")) == ["queued"]

    def rel(t=1000):
        code, st = run("release", [], P, t, "a.example")
        return code, st.decode()

    assert rel() == (-2, "queued")                           # its pipeline runs
    assert r.exists(f"{P}:owner:b.example")
    r.hset(f"{P}:domain:a.example", "state", "offboarded")
    assert rel(t=7000) == (1, "offboarded")
    assert not r.exists(f"{P}:owner:a.example") and not r.exists(f"{P}:owner:b.example")
    h = rec(r, "a.example")
    assert (h["released_at"], h["gen"], h["names"]) == ("7000", "1", "a.example,b.example")
    assert rel(t=8000) == (0, "offboarded")                  # released already
    assert rec(r, "a.example")["released_at"] == "7000"
    # a name another domain of the tenant still holds stays held
    assert onboard(run, ob("x.example", "t1", "x.example,shared.example"),
                   ob("y.example", "t1", "y.example,shared.example")) == ["queued", "queued"]
    r.hset(f"{P}:domain:x.example", "state", "failed")
    assert run("release", [], P, 1000, "x.example")[0] == 1
    assert r.hgetall(f"{P}:owner:shared.example") == {b"tenant": b"t1", b"y.example": b"1"}



# ------------------------------------------------------------ the expiry index

def reindex_all(run, what):
    """REINDEX of WHAT, two keys a SCAN step, until the cursor is back at 0:
    [indexed or counted, removed] in all."""
    cur, total = "0", [0, 0]
    while True:
        nxt, a, rm = run("reindex", [], P, cur, 2, what)
        total = [total[0] + a, total[1] + rm]
        cur = nxt.decode()
        if cur == "0":
            return total


def test_expiry_index_release_onboard_and_reindex(r, run):
    """RELEASE and OFFBOARD take a domain out of <p>:expiry, ONBOARD puts
    back a certificate it kept, REINDEX rebuilds the index from the
    certificate hashes (idempotent, hostile not_after left alone)."""
    ex = f"{P}:expiry"
    for d in ("a.example", "b.example", "c.example", "gone.example", "rel.example"):
        assert onboard(run, ob(d, "t1", d)) == ["queued"]
        r.hset(f"{P}:cert:{d}", mapping={"serial": "01", "not_after": 1700000000})
    r.hset(f"{P}:cert:bad.example", mapping={"serial": "02", "not_after": "soon"})
    r.set(f"{P}:cert:str.example", "not a hash")
    r.hset(f"{P}:cert:orphan.example", "not_after", 5)           # no record
    # OFFBOARD of a domain with no pipeline running
    r.hset(f"{P}:domain:gone.example", "state", "failed")
    r.zadd(ex, {"gone.example": 1})
    assert run("offboard", [], P, 2000, "gone.example", b"job", "1") == 2
    assert r.zscore(ex, "gone.example") is None
    # RELEASE
    r.hset(f"{P}:domain:rel.example", "state", "failed")
    r.zadd(ex, {"rel.example": 1, "orphan.example": 5})
    assert run("release", [], P, 3000, "rel.example")[0] == 1
    assert r.zscore(ex, "rel.example") is None

    def reindex():
        return reindex_all(run, "expiry")
    assert reindex() == [3, 1]                    # a, b, c; orphan removed
    assert {m.decode(): s for m, s in r.zrange(ex, 0, -1, withscores=True)} == \
        {d: 1700000000 for d in ("a.example", "b.example", "c.example")}
    assert reindex() == [3, 0]                    # the same again
    # ONBOARD again after the offboarding: the kept certificate is back
    r.hset(f"{P}:domain:gone.example", "state", "offboarded")
    assert onboard(run, ob("gone.example", "t1", "gone.example")) == ["queued"]
    assert r.zscore(ex, "gone.example") == 1700000000
    # a hash whose not_after is no number is never indexed
    assert onboard(run, ob("bad.example", "t1", "bad.example")) == ["queued"]
    assert r.zscore(ex, "bad.example") is None
    # CLAIM (a job the backend XADDed) after a release: the same as ONBOARD
    r.hset(f"{P}:domain:rel.example", "state", "failed")
    assert claim(run, "rel.example", "j-rel")[0] == 1
    assert r.zscore(ex, "rel.example") == 1700000000


def states(r):
    return {k.decode(): int(v) for k, v in r.hgetall(f"{P}:states").items() if int(v)}


def test_state_counts_follow_every_script_and_reindex(r, run):
    """<p>:states: ONBOARD, OFFBOARD and RELEASE (no change) keep the
    count by state, one down and one up per change; a record from before
    the counts (no "counted") is counted at its first change, or by
    REINDEX, once."""
    assert onboard(run, ob("a.example", "t1"), ob("b.example", "t1")) == ["queued", "queued"]
    assert states(r) == {"queued": 2}
    assert rec(r, "a.example")["counted"] == "queued"
    r.hset(f"{P}:domain:a.example", "state", "failed")            # by hand: not counted
    assert run("offboard", [], P, 2000, "a.example", b"job", "1") == 2
    assert states(r) == {"queued": 1, "offboarded": 1}
    assert run("release", [], P, 3000, "a.example")[0] == 1
    assert states(r) == {"queued": 1, "offboarded": 1}
    assert onboard(run, ob("a.example", "t1")) == ["queued"]       # again
    assert states(r) == {"queued": 2}
    # records of an older version: counted by REINDEX, once
    for i in range(5):
        r.hset(f"{P}:domain:old{i}.example", mapping={"state": "failed", "gen": 1})
    r.hset(f"{P}:domain:nostate.example", "gen", 1)

    def reindex():
        return reindex_all(run, "states")[0]
    assert reindex() == 5
    assert states(r) == {"queued": 2, "failed": 5}
    assert reindex() == 0
    assert states(r) == {"queued": 2, "failed": 5}
    # one of them changes: down from failed, up in offboarded
    assert run("offboard", [], P, 4000, "old0.example", b"job", "1") == 2
    assert states(r) == {"queued": 2, "failed": 4, "offboarded": 1}


# ------------------------------------------------------------ BUCKET

def test_bucket(r, run):
    key = [f"{P}:rl:orders"]
    delayed = f"{P}:delayed"

    def b(t, mode, a1=0, a2=0, member=""):
        return run("bucket", key, t, 2, 1000, mode, a1, a2, member, delayed)

    # LIMIT 2 per second: two at once from a full bucket, then one per 500 ms
    assert b(10000, "peek") == [0, 0, 0]
    assert b(10000, "take")[0] == 0 and b(10000, "take")[0] == 0
    assert b(10000, "take")[0] == 500
    assert b(10000, "peek")[0] == 500                        # peek takes nothing
    assert b(10500, "take")[0] == 0
    # reserve: the next slot in line; a waiter is put in the line
    r.zadd(delayed, {"create-order w.example j": 11000})
    wait, slot, shift = b(10500, "reserve", member="create-order w.example j")
    assert (wait, slot, shift) == (500, 11000, 0)
    assert r.zscore(f"{key[0]}:line", "create-order w.example j") == 11000
    # block until 13000: the line and the waiter's delayed entry move with it
    assert b(10500, "block", 13000)[0] == 0
    assert r.zscore(f"{key[0]}:line", "create-order w.example j") == 13500
    assert r.zscore(delayed, "create-order w.example j") == 13500
    # blocked, and behind the slot given out (pushed back by the block too)
    assert b(12000, "take")[0] == 2000
    # claim: the holder's slot moved by the shift since; it goes at 13500
    wait, slot, shift2 = b(12000, "claim", 11000, shift, "create-order w.example j")
    assert (wait, slot, shift2) == (1500, 13500, 2500)
    assert b(13500, "claim", 11000, shift, "create-order w.example j")[0] == 0
    assert r.zscore(f"{key[0]}:line", "create-order w.example j") is None
    assert 0 < r.pttl(key[0]) <= 13500 - 10000 + 2000 + 1000


# ------------------------------------------------------------ CERT_RETIRE

def cretire(run, gen="2", jid="j1", action="delete", event="cert-deleted", arg="", t=5000):
    """CERT_RETIRE in the order of cert_retire.lua's header."""
    return run("cert_retire", [], P, "a.example", gen, jid, action, event, arg, 1000, t)


def cdrop(run, gen="2", jid="j1", t=5000):
    return cretire(run, gen, jid, t=t)


def test_cert_retire(r, run):
    """A departed domain's certificate deleted with its event, only while
    the record is at the job's generation, gone, and names that serial."""
    k, ck = f"{P}:domain:a.example", f"{P}:cert:a.example"
    r.hset(k, mapping={"gen": 2, "job": "j1", "state": "issued", "serial": "AB"})
    r.hset(ck, mapping={"serial": "AB", "chain": "pem"})
    r.zadd(f"{P}:expiry", {"a.example": 1})
    assert cdrop(run) == -3                                  # still ours
    r.hset(k, "state", "offboarded")
    assert cdrop(run, gen="1") == -1                         # onboarded again since
    assert cdrop(run, jid="j0") == -1
    r.hset(k, "serial", "CD")                                # not the record's
    assert cdrop(run) == 0 and r.exists(ck)
    assert r.xlen(f"{P}:events") == 0
    r.hset(k, "serial", "AB")
    assert cdrop(run) == 1
    assert not r.exists(ck) and r.zscore(f"{P}:expiry", "a.example") is None
    assert [f for _, f in stream(r, f"{P}:events")] == [
        {"type": "cert-deleted", "domain": "a.example", "serial": "AB", "time": "5000",
         "detail": "serial AB: the certificate of a departed domain deleted after its "
                   "retention"}]
    h = rec(r, "a.example")
    assert h["cert_deleted_at"] == "5000" and "notified" not in h
    assert cdrop(run) == 0 and r.xlen(f"{P}:events") == 1   # once
    # parked, and an offboarding asked of a running pipeline, are gone too
    for state, extra in (("parked", {}), ("issued", {"offboard_requested": 1})):
        r.hset(k, mapping={"state": state, **extra})
        r.hset(ck, "serial", "AB")
        assert cdrop(run) == 1
        r.hdel(k, "offboard_requested")


def test_cert_retire_revoked(r, run):
    """A revocation recorded on the certificate with its event, once; a
    refusal recorded without one, and nothing after either."""
    k, ck = f"{P}:domain:a.example", f"{P}:cert:a.example"
    r.hset(k, mapping={"gen": 2, "job": "j1", "state": "offboarded", "serial": "AB"})
    r.hset(ck, mapping={"serial": "AB", "chain": "pem"})
    rv = dict(action="revoked", event="revoked", arg="cessationOfOperation")
    assert cretire(run, gen="1", **rv) == -1
    assert cretire(run, **rv) == 1
    c = rec_of(r, ck)
    assert (c["revoked_at"], c["revoked_reason"]) == ("5000", "cessationOfOperation")
    assert [f for _, f in stream(r, f"{P}:events")] == [
        {"type": "revoked", "domain": "a.example", "serial": "AB",
         "reason": "cessationOfOperation", "time": "5000",
         "detail": "serial AB revoked (cessationOfOperation): the domain left"}]
    assert cretire(run, **rv) == 0 and r.xlen(f"{P}:events") == 1
    assert cretire(run, action="refused", event="", arg="x") == 0
    r.hdel(ck, "revoked_at", "revoked_reason")
    assert cretire(run, action="refused", event="", arg="unauthorized") == 1
    assert rec_of(r, ck)["revoke_error"] == "unauthorized"
    assert cretire(run, **rv) == 0 and r.xlen(f"{P}:events") == 1


def rec_of(r, key):
    return {k.decode(): v.decode() for k, v in r.hgetall(key).items()}


# ------------------------------------------------------------ DOMAIN_SET

def dset(run, gen="2", jid="j1", incr="", guard="", expect="", event="", detail="",
         sets=(), dels=(), t=1000):
    """DOMAIN_SET in the order of domain_set.lua's header."""
    argv = [P, "a.example", gen, jid, incr, guard, expect, event, detail, 1000, t,
            len(sets)]
    for f, v in sets:
        argv += [f, v]
    return run("domain_set", [], *argv, *dels)


def test_domain_set(r, run):
    k = f"{P}:domain:a.example"
    assert dset(run) == -1                                   # no record
    r.hset(k, mapping={"gen": 2, "job": "j1", "state": "provisioning", "old": "x",
                       "pending_key": "k1"})
    before = rec(r, "a.example")
    assert dset(run, gen="1", sets=[("a", "1")]) == -1       # overtaken: generation
    assert dset(run, jid="j0", sets=[("a", "1")]) == -1      # overtaken: job
    assert dset(run, guard="pending_key", expect="k0", sets=[("a", "1")]) == -2
    assert dset(run, guard="absent", expect="x", sets=[("a", "1")]) == -2
    assert rec(r, "a.example") == before and r.xlen(f"{P}:events") == 0
    # sets, then deletes, under a guard that holds ('' reads absent)
    assert dset(run, guard="pending_key", expect="k1", sets=[("a", "1"), ("b", "2")],
                dels=("old",)) == 1
    assert dset(run, guard="absent", expect="", sets=[("c", "3")]) == 1
    h = rec(r, "a.example")
    assert (h["a"], h["b"], h["c"]) == ("1", "2", "3") and "old" not in h
    # an event with the writes, recorded as notified
    assert dset(run, event="moving-away", detail="cname gone", t=2000) == 1
    assert [f for _, f in stream(r, f"{P}:events")] == \
        [{"type": "moving-away", "domain": "a.example", "detail": "cname gone", "time": "2000"}]
    assert rec(r, "a.example")["notified"] == "moving-away"
    # incr: the incremented value
    assert dset(run, incr="invalid_count") == 1
    assert dset(run, incr="invalid_count", dels=("a", "b")) == 2
    h = rec(r, "a.example")
    assert h["invalid_count"] == "2" and "a" not in h and "b" not in h


# ------------------------------------------------------------ REVOKE

def revoke(run, serial="AB01", reason="keyCompromise", renew="1", t=5000):
    """REVOKE in the order of revoke.lua's header."""
    return run("revoke", [], P, t, "a.example", serial, reason, renew,
               f"serial {serial} revoked ({reason})", 1000)


def test_revoke(r, run):
    k, c = f"{P}:domain:a.example", f"{P}:cert:a.example"
    fields = ("revoked_at", "revoked_reason", "revoked_serial")
    # a certificate without a record: the hash only, no record created
    r.hset(c, mapping={"serial": "AB01", "chain": "x"})
    assert revoke(run) == 1
    assert not r.exists(k)
    assert [r.hget(c, f).decode() for f in fields] == ["5000", "keyCompromise", "AB01"]
    ev = [f for _, f in stream(r, f"{P}:events")]
    assert ev == [{"type": "revoked", "domain": "a.example", "time": "5000",
                   "detail": "serial AB01 revoked (keyCompromise)", "serial": "AB01",
                   "reason": "keyCompromise"}]
    # issued, its job waiting in offboard-check: renew_at now, due now
    r.hset(k, mapping={"state": "issued", "stage": "offboard-check", "job": "j1",
                       "renew_at": 99999999, "notified": "issued"})
    r.zadd(f"{P}:delayed", {"offboard-check a.example j1": 99999999})
    assert revoke(run, t=6000) == 1 + 2 + 4
    h = rec(r, "a.example")
    assert (h["renew_at"], h["revoked_serial"], h["revoked_reason"]) == \
        ("6000", "AB01", "keyCompromise")
    assert h["notified"] == "issued", "notified is left alone"
    assert r.zscore(f"{P}:delayed", "offboard-check a.example j1") == 6000
    # its job in a stream or a handler: its next delay is zero (COMMIT)
    r.zrem(f"{P}:delayed", "offboard-check a.example j1")
    assert revoke(run, t=6500) == 1 + 2 + 4
    assert rec(r, "a.example")["nudge_pending"] == "1"
    # another reason: recorded, no renewal
    r.hset(k, "renew_at", 99999999)
    assert revoke(run, reason="superseded", renew="0", t=7000) == 1 + 2
    assert rec(r, "a.example")["renew_at"] == "99999999"
    # the stored certificate changed meanwhile: the hash is not marked
    r.hset(c, "serial", "CD02")
    assert revoke(run, t=8000) == 2 + 4
    assert r.hget(c, "revoked_serial") == b"AB01" and r.hget(c, "revoked_at") == b"7000"
    # no longer ours: recorded, never renewed
    for st, extra in (("offboarded", {}), ("parked", {}), ("failed", {}),
                      ("abandoned", {}), ("issued", {"offboard_requested": 1}),
                      ("issued", {"released_at": 1})):
        r.hdel(k, "offboard_requested", "released_at")
        r.hset(k, mapping={"state": st, "renew_at": 99999999, **extra})
        assert revoke(run, serial="CD02", t=9000) == 1 + 2, (st, extra)
        assert rec(r, "a.example")["renew_at"] == "99999999", (st, extra)
    assert len(stream(r, f"{P}:events")) == 11
