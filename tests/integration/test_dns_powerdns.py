"""The powerdns TXT provider against a real pdns_server (sqlite3 backend,
HTTP API) started on 127.0.0.1."""
import os

import pytest

import harness
from dns_env import PowerDNS, dig, driver1

ZONE = "validation.test"


@pytest.fixture(scope="module")
def pdns():
    d = harness.tmpdir("dcv-pdns-")
    p = PowerDNS(d)
    p.create_zone(ZONE)
    p.cfg = p.provider_config(os.path.join(d, "prov.yaml"), ZONE)
    p.tmpdir = d
    yield p
    p.stop()
    harness.rmtree(d)


def test_add_remove_two_values_idempotent(pdns):
    name = "a.customer.test." + ZONE
    assert driver1(pdns.cfg, "txt-add", name, "v1")["status"] == "ok"
    assert driver1(pdns.cfg, "txt-add", name, "v2")["status"] == "ok"
    assert driver1(pdns.cfg, "txt-add", name, "v1")["status"] == "ok"  # no duplicate
    assert pdns.txt(ZONE, name) == ["v1", "v2"]
    assert sorted(dig(pdns.port, name)) == ['"v1"', '"v2"']
    assert driver1(pdns.cfg, "txt-remove", name, "v1")["status"] == "ok"
    assert driver1(pdns.cfg, "txt-remove", name, "v1")["status"] == "ok"  # no-op
    assert pdns.txt(ZONE, name) == ["v2"]
    assert dig(pdns.port, name) == ['"v2"']
    assert driver1(pdns.cfg, "txt-remove", name, "v2")["status"] == "ok"
    assert pdns.txt(ZONE, name) == []
    assert driver1(pdns.cfg, "txt-remove", name, "v2")["status"] == "ok"


def test_ttl_from_config(pdns):
    name = "ttl.customer.test." + ZONE
    assert driver1(pdns.cfg, "txt-add", name, "t")["status"] == "ok"
    st, z = pdns.api("GET", f"/api/v1/servers/localhost/zones/{ZONE}.")
    rr = [r for r in z["rrsets"] if r["name"] == name + "." and r["type"] == "TXT"]
    assert rr and rr[0]["ttl"] == 30


def test_wrong_api_key_is_permanent(pdns):
    cfg = pdns.provider_config(os.path.join(pdns.tmpdir, "badkey.yaml"), ZONE, api_key="wrong")
    r = driver1(cfg, "txt-add", "b.customer.test." + ZONE, "v")
    assert r["status"] == "permanent" and "401" in r["message"], r
    assert "wrong" not in r["message"]


def test_unknown_zone_is_permanent(pdns):
    cfg = pdns.provider_config(os.path.join(pdns.tmpdir, "nozone.yaml"), "nosuch.test")
    r = driver1(cfg, "txt-add", "b.nosuch.test", "v")
    assert r["status"] == "permanent", r


def test_api_down_is_transient(pdns):
    cfg = pdns.provider_config(os.path.join(pdns.tmpdir, "down.yaml"), ZONE)
    with open(cfg) as f:
        text = f.read().replace(str(pdns.api_port), str(harness.free_port()))
    with open(cfg, "w") as f:
        f.write(text)
    r = driver1(cfg, "txt-add", "c.customer.test." + ZONE, "v")
    assert r["status"] == "transient", r
