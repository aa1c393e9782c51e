"""The demo works: deploy/demo.py (what deploy/demo.sh runs after installing
and building) against this build's dcv-worker and dcvctl, from another
working directory.  It must exit 0, show every demo domain issued with a
verified chain, and leave none of the processes it started behind."""
import importlib.util
import os
import re
import subprocess

import harness

DEMO = os.path.join(harness.SOURCE, "deploy", "demo.py")


def demo_module():
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_issues_every_domain_and_stops_everything():
    demo = demo_module()
    domains = demo.READY + [demo.APEX[0], demo.LATE]
    cwd = harness.tmpdir("dcv-demo-cwd-")
    try:
        p = subprocess.run(["/usr/bin/python3", DEMO, "--build-dir", harness.BUILD],
                           cwd=cwd, capture_output=True, text=True, timeout=240)
    finally:
        harness.rmtree(cwd)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert f"demo OK: {len(domains)} domains issued" in out, out

    # every domain: its CNAME printed by dcvctl onboard, one issued event,
    # a summary with a verified chain, and "issued" in the final status
    assert re.search(rf"^\s+_acme-challenge\.{re.escape(demo.LATE)}\. CNAME \S+\.$", out, re.M), out
    assert re.search(rf"{re.escape(demo.LATE)}\s+CUSTOMER\s+creates", out), out
    for d in domains:
        assert len(re.findall(rf"^\+\s*[\d.]+s\s+{re.escape(d)}\s+EVENT issued\s+serial ", out,
                              re.M)) == 1, (d, out)
        assert f"certificate (dcv:cert:{d}):" in out, (d, out)
        assert re.search(rf"^\s+{re.escape(d)}\s+issued\s+serial [0-9A-Fa-f]+", out, re.M), (d, out)
    assert out.count("verified against Pebble's root") == len(domains), out
    assert re.search(r"SANs bakery\.test, www\.bakery\.test\)", out), out
    # the late domain is issued only after its customer created the CNAME
    late = re.escape(demo.LATE)
    created = float(re.search(rf"^\+\s*([\d.]+)s\s+{late}\s+CUSTOMER", out, re.M).group(1))
    issued = float(re.search(rf"^\+\s*([\d.]+)s\s+{late}\s+EVENT issued", out, re.M).group(1))
    assert issued >= created >= demo.LATE_AFTER_S - 0.5, out
    assert "== the fleet (dcvctl stats)" in out and "dead 0" in out, out

    # nothing left: every PID it started is gone, and its tmpdir too
    m = re.search(r"stopped pids ([\d ]+); none left", out)
    assert m, out
    pids = [int(x) for x in m.group(1).split()]
    assert len(pids) == 8, pids     # redis, named P S R CA_R, pebble, 2 workers
    assert not [x for x in pids if alive(x)], pids
    tmp = re.search(r"config (/\S+)/dcv\.yaml", out).group(1)
    assert not os.path.exists(tmp), tmp


def test_demo_console_opens_then_ctrl_c_stops_everything():
    """deploy/demo.sh --console (README): the console of the demo answers at
    the printed address, and Ctrl-C stops it with the fleet."""
    import signal
    import urllib.request
    cwd = harness.tmpdir("dcv-demo-cwd-")
    log = os.path.join(cwd, "demo.log")
    p = harness.Proc(["/usr/bin/python3", DEMO, "--build-dir", harness.BUILD,
                      "--console", "127.0.0.1:0"], log, cwd=cwd)
    try:
        def printed():
            with open(log) as f:
                m = re.search(r"open (http://127\.0\.0\.1:\d+/) in a browser \(actions ask for "
                              r"the write token ([0-9a-f]+)\)", f.read())
            if p.poll() is not None:
                raise AssertionError(f"demo exited {p.returncode}")
            return m
        harness.wait_until(printed, 200, interval=0.2, what="the console's address")
        url = printed().group(1)
        with urllib.request.urlopen(url + "expiring?days=3650") as resp:
            page = resp.read().decode()
        assert resp.status == 200 and "4 of 4 certificates" in page, page
        p.signal(signal.SIGINT)
        assert p.wait(60) == 0
        with open(log) as f:
            out = f.read()
        m = re.search(r"stopped pids ([\d ]+); none left", out)
        assert m and "demo OK" in out, out
        pids = [int(x) for x in m.group(1).split()]
        assert len(pids) == 9 and not [x for x in pids if alive(x)], pids
    finally:
        p.stop()
        harness.rmtree(cwd)
