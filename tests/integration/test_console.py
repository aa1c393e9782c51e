"""dcvctl console (issue 16, section 1) in a real browser: headless Debian
chromium driven by python3-selenium, with a fresh profile in a temp dir,
against a live fleet (redis-server, BIND, Pebble, a dcv-worker; fleet_env.py).

A waiting domain is found and why it waits is read; it is nudged (once its
customer created the CNAME) and seen issued; a dead letter is replayed; an
action without the write token is refused, and forged POSTs (no CSRF token,
another Origin, another Host) too; no page carries key material; a hostile
domain name and reason are rendered as text.  With DCV_CONSOLE_SCREENSHOTS=DIR
the screenshots of the pages are written to DIR (deploy/console/ holds the
committed ones).  The fleet and the console log in as the dcv-worker ACL
user; Redis's ACL LOG stays empty."""
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        WebDriverException)

import harness
from test_e2e import customer_ready, fleet, issued, job, wait_issued

TOKEN = "w-" + os.urandom(12).hex()
HOSTILE_REASON = '<b id="pwn">bold</b><script>document.title="pwned"</script>'
HOSTILE_DOMAIN = '<img src=x id="pwn2">.test'
# slow re-checks: without the nudge the waiting domain is not looked at
# again within the test
SLOW_VERIFY = {"stages.verify-cname.backoff_base_ms": 120000,
               "stages.verify-cname.backoff_cap_ms": 120000}


def start_console(env, tmp, name, args=(), extra_env=None, config=None):
    """dcvctl console on a free port (CONFIG: another dcv.yaml); returns
    (Proc, base URL)."""
    p = harness.Proc([harness.program("dcvctl"), "-c", config or env.config, "console",
                      "--listen", "127.0.0.1:0", *args],
                     os.path.join(tmp, f"{name}.log"), env={**env.env(), **(extra_env or {})})
    found = {}

    def up():
        if p.poll() is not None:
            raise AssertionError(f"console exited {p.returncode}: {read(p.logpath)}")
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", read(p.logpath))
        if m:
            found["url"] = m.group(1)
        return bool(m)
    harness.wait_until(up, 20, interval=0.05, what="console listening")
    return p, found["url"]


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def live():
    tmp = harness.tmpdir("dcv-console-")
    # as the least-privilege Redis user of deploy/redis/users.acl: the
    # console needs no command beyond the workers' (checked at the end)
    env = fleet(tmp, config=SLOW_VERIFY, acl=True)
    procs, driver = [], None
    try:
        r = env.client()
        waiting, shop = f"wait.{env.zones[0]}", f"shop.{env.zones[1]}"
        customer_ready(env, shop)
        env.ctl("onboard", shop, "--tenant", "tenant-shop")
        env.ctl("onboard", waiting, "--tenant", "tenant-wait")   # no CNAME yet
        env.start_worker()
        wait_issued(env, [shop], 120)
        harness.wait_until(lambda: env.domain(waiting).get("state") == "waiting-cname" and
                           env.domain(waiting).get("last_error"), 60, what="waiting with a reason")
        # a dead letter the fleet makes (a job that is not the domain's
        # pipeline), and one with a hostile domain and reason
        r.xadd("dcv:stream:create-order", {"domain": waiting, "job": job(waiting)})
        harness.wait_until(lambda: r.xlen("dcv:dead") >= 1, 30, what="a dead letter")
        r.xadd("dcv:dead", {"domain": HOSTILE_DOMAIN, "stage": "verify-cname",
                            "reason": HOSTILE_REASON, "time": str(int(time.time() * 1000)),
                            "job": b"\xc1"})
        # key material where a careless page would show it
        r.hset(f"dcv:domain:{shop}", "pending_key", "-----BEGIN PRIVATE KEY-----planted")
        wtok = os.path.join(tmp, "write-token")
        with open(wtok, "w") as f:
            f.write(TOKEN + "\n")
        p, url = start_console(env, tmp, "console", ["--write-token-file", wtok])
        procs.append(p)
        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  f"--user-data-dir={os.path.join(tmp, 'profile')}", "--window-size=1100,1300"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        driver.set_page_load_timeout(60)
        yield {"env": env, "url": url, "driver": driver, "waiting": waiting, "shop": shop,
               "tmp": tmp, "procs": procs}
    finally:
        if driver:
            driver.quit()
        for p in procs:
            p.stop()
        env.close()
        if not os.environ.get("DCV_KEEP_TMP"):
            harness.rmtree(tmp)


def no_keys(src):
    for bad in ("PRIVATE KEY", "aesgcm1:", "pending_key", "planted"):
        assert bad not in src, bad


def shot(d, name):
    out = os.environ.get("DCV_CONSOLE_SCREENSHOTS")
    if out:
        os.makedirs(out, exist_ok=True)
        height = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(1100, max(600, min(int(height) + 40, 3000)))
        d.save_screenshot(os.path.join(out, f"{name}.png"))
        d.set_window_size(1100, 1300)


def open_page(live, path):
    d = live["driver"]
    d.get(live["url"] + path)
    no_keys(d.page_source)
    return d


def submit(d, form, token):
    if token is not None:
        form.find_element(By.NAME, "token").send_keys(token)
    navigate(d, form.find_element(By.TAG_NAME, "button").click)
    return harness.wait_until(lambda: body_text(d), 10, what="result page")


def navigate(d, act):
    """ACT (a click or a submit) loads a page: wait until the old one is gone,
    or what is read next may be the old page, made stale under the reader."""
    before = d.find_element(By.TAG_NAME, "html")
    act()
    harness.wait_until(lambda: gone(before), 10, what="the page replaced")


def gone(element):
    try:
        element.tag_name
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        # newer chromedrivers say so of a node of the page just replaced
        if "does not belong to the document" in str(e):
            return True
        raise


def body_text(d):
    try:
        return d.find_element(By.TAG_NAME, "body").text or None
    except (StaleElementReferenceException, NoSuchElementException):
        return None


def action_form(d, op, every=False):
    """The first form of OP (EVERY: the one acting on all shown)."""
    return next(f for f in d.find_elements(By.CSS_SELECTOR, "form[action='/action']")
                if f.find_element(By.NAME, "op").get_attribute("value") == op and
                bool(f.find_elements(By.NAME, "all")) == every)


def test_overview_shows_the_fleet(live):
    d = open_page(live, "/")
    stages = d.find_element(By.ID, "stages").text
    for s in ("verify-cname", "create-order", "provision-txt", "finalize", "offboard-check"):
        assert s in stages
    states = d.find_element(By.ID, "states").text
    assert "issued" in states and "waiting-cname" in states, states
    assert int(d.find_element(By.ID, "dead-count").text) >= 2
    assert d.find_elements(By.TAG_NAME, "svg"), "the throughput chart"
    # the page loads nothing from elsewhere and sends the headers
    assert not re.search(r'(src|href)="(https?:)?//', d.page_source)
    with urllib.request.urlopen(live["url"] + "/") as resp:
        h = resp.headers
        assert "default-src 'self'" in h["Content-Security-Policy"]
        assert h["X-Frame-Options"] == "DENY" and h["Cache-Control"] == "no-store"
    # wait for a few samples, so the chart has a line for the screenshot
    harness.wait_until(lambda: "polyline" in open_page(live, "/").page_source, 30,
                       what="a throughput line")


def test_find_the_waiting_domain_and_read_why(live):
    d = open_page(live, "/domain")
    box = d.find_element(By.NAME, "q")
    box.send_keys("tenant-wait")
    navigate(d, box.submit)
    link = d.find_element(By.ID, "found").find_element(By.LINK_TEXT, live["waiting"])
    navigate(d, link.click)
    no_keys(d.page_source)
    assert d.find_element(By.ID, "state").text == "waiting-cname"
    why = d.find_element(By.ID, "why").text
    assert why == live["env"].domain(live["waiting"])["last_error"] and why
    shot(d, "domain-waiting")


def test_issued_domain_shows_its_certificate_without_the_key(live):
    env, shop = live["env"], live["shop"]
    d = open_page(live, "/domain?q=" + shop)
    cert = d.find_element(By.ID, "cert").text
    assert env.cert(shop)["serial"] in cert and shop in cert
    assert d.find_element(By.ID, "state").text == "issued"
    assert [e for e in d.find_element(By.ID, "events").text.splitlines() if "issued" in e]
    shot(d, "domain-issued")


def test_action_without_the_token_is_refused(live):
    env, waiting = live["env"], live["waiting"]
    before = env.domain(waiting)
    d = open_page(live, "/domain?q=" + waiting)
    assert "refused: wrong or missing write token" in submit(d, action_form(d, "nudge"), None)
    d = open_page(live, "/domain?q=" + waiting)
    assert "refused: wrong or missing write token" in submit(d, action_form(d, "nudge"), "nope")
    assert env.domain(waiting).get("nudge_pending") == before.get("nudge_pending")


def post(url, fields, headers):
    req = urllib.request.Request(url + "/action", data=urllib.parse.urlencode(fields).encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded",
                                          **headers}, method="POST")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_forged_posts_are_refused(live):
    url, d = live["url"], live["driver"]
    open_page(live, "/domain?q=" + live["waiting"])
    sid = d.get_cookie("dcv_console")["value"]
    csrf = action_form(d, "nudge").find_element(By.NAME, "csrf").get_attribute("value")
    host = url[len("http://"):]
    good = {"op": "nudge", "domain": live["waiting"], "token": TOKEN}
    base = {"Cookie": f"dcv_console={sid}", "Origin": url}
    assert post(url, good, base)[0] == 403                                  # no CSRF token
    assert post(url, {**good, "csrf": "0" * 64}, base)[0] == 403            # a wrong one
    assert post(url, {**good, "csrf": csrf}, {**base, "Origin": "http://evil.example"})[0] == 403
    assert post(url, {**good, "csrf": csrf}, {"Cookie": f"dcv_console={sid}"})[0] == 403
    assert post(url, {**good, "csrf": csrf}, {**base, "Host": "evil.example"})[0] == 421
    assert post(url, {**good, "csrf": csrf}, {"Origin": url})[0] == 403     # no session
    code, body = post(url, {"x": "y" * 10000}, base)
    assert code == 413, body
    # a GET never acts
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url + "/action?" + urllib.parse.urlencode(good))
    assert e.value.code == 404 and host


def test_nudge_and_see_it_issued(live):
    env, waiting, d = live["env"], live["waiting"], live["driver"]
    customer_ready(env, waiting)          # the customer creates the CNAME now
    d = open_page(live, "/domain?q=" + waiting)
    assert "nudge done" in submit(d, action_form(d, "nudge"), TOKEN)
    navigate(d, d.find_element(By.ID, "back").click)

    def state():
        d.get(live["url"] + "/domain?q=" + waiting)
        return d.find_element(By.ID, "state").text
    # the next re-check was two minutes away: only the nudge makes it now
    harness.wait_until(lambda: state() == "issued", 60, interval=0.5, what="issued after nudge")
    assert issued(env, waiting)
    # the overview counts that work in its throughput, once sampled
    def rate():
        rows = open_page(live, "/").find_element(By.ID, "stages").find_elements(By.TAG_NAME, "tr")
        return sum(float(r.find_elements(By.TAG_NAME, "td")[-1].text.replace("-", "0"))
                   for r in rows[1:])
    harness.wait_until(lambda: rate() > 0, 30, interval=0.5, what="a throughput after the nudge")
    shot(d, "overview")


def test_dead_letters_filter_and_replay(live):
    env = live["env"]
    r = env.client()
    d = open_page(live, "/dead")
    # the hostile values are text: no element made of them, the title intact
    assert not d.find_elements(By.ID, "pwn") and not d.find_elements(By.ID, "pwn2")
    assert "pwned" not in d.title
    assert HOSTILE_REASON in d.find_element(By.ID, "dead").text
    assert HOSTILE_DOMAIN in d.find_element(By.ID, "dead").text
    shot(d, "dead-letters")
    # the fleet's own dead letter, found by a part of its reason
    mine = [f for _, f in r.xrange("dcv:dead") if f.get(b"domain") == live["waiting"].encode()]
    part = mine[0][b"reason"].decode()[:12]
    box = d.find_element(By.NAME, "reason")
    box.send_keys(part)
    navigate(d, box.submit)
    rows = d.find_element(By.ID, "dead").find_elements(By.TAG_NAME, "tr")[1:]
    assert rows and all(part in row.text for row in rows), [x.text for x in rows]
    first = rows[0].find_element(By.CSS_SELECTOR, "td.mono").text
    assert "replay of the dead letter done" in submit(d, action_form(d, "replay"), TOKEN)
    ids = [i.decode() for i, _ in r.xrange("dcv:dead")]
    assert first not in ids, "the replayed letter left the dead letters"
    # purge the hostile one by its filter
    d = open_page(live, "/dead?reason=" + urllib.parse.quote("id=\"pwn\""))
    assert "purge: 1 dead letter(s)" in submit(d, action_form(d, "purge", every=True), TOKEN)
    assert not [f for _, f in r.xrange("dcv:dead") if f.get(b"reason") == HOSTILE_REASON.encode()]


def test_purge_all_shown_leaves_letters_arrived_since(live):
    env, d = live["env"], live["driver"]
    r = env.client()
    tag = "bulk-" + os.urandom(4).hex()

    def letter():
        return r.xadd("dcv:dead", {"domain": "late.test", "stage": "verify-cname",
                                   "reason": tag, "time": str(int(time.time() * 1000))})
    shown = [letter() for _ in range(3)]
    d = open_page(live, "/dead?reason=" + tag)
    assert "3 shown" in d.find_element(By.ID, "dead-shown").text
    form = action_form(d, "purge", every=True)
    late = [letter() for _ in range(2)]          # after the page was rendered
    assert "purge: 3 dead letter(s)" in submit(d, form, TOKEN)
    left = [i for i, f in r.xrange("dcv:dead") if f.get(b"reason") == tag.encode()]
    assert sorted(left) == sorted(late) and not set(shown) & set(left), left
    r.xdel("dcv:dead", *late)


def test_nudge_of_a_bad_name_says_not_a_domain(live):
    url, d = live["url"], live["driver"]
    open_page(live, "/domain?q=" + live["shop"])
    sid = d.get_cookie("dcv_console")["value"]
    csrf = action_form(d, "nudge").find_element(By.NAME, "csrf").get_attribute("value")
    base = {"Cookie": f"dcv_console={sid}", "Origin": url}
    for op in ("nudge", "offboard"):
        code, body = post(url, {"op": op, "domain": "bad..name", "csrf": csrf, "token": TOKEN},
                          base)
        assert code == 400 and "not a domain" in body and "log" not in body, body


def test_expiring_lists_certificates_without_a_renewal(live):
    env, shop = live["env"], live["shop"]
    d = open_page(live, "/expiring?days=0")
    assert shop not in d.find_element(By.ID, "expiring").text
    d = open_page(live, "/expiring?days=2000")     # Pebble's certificates: 5 years
    assert shop in d.find_element(By.ID, "expiring").text
    shot(d, "expiring")
    # a renewal under way takes it off the list
    r = env.client()
    r.hset(f"dcv:domain:{shop}", "state", "renewing")
    try:
        d = open_page(live, "/expiring?days=2000")
        assert shop not in d.find_element(By.ID, "expiring").text
    finally:
        r.hset(f"dcv:domain:{shop}", "state", "issued")
    # so does a release (the domain is no longer ours), as in the gauge
    r.hset(f"dcv:domain:{shop}", "released_at", 1)
    try:
        d = open_page(live, "/expiring?days=2000")
        assert shop not in d.find_element(By.ID, "expiring").text
    finally:
        r.hdel(f"dcv:domain:{shop}", "released_at")


def test_authentication_when_configured(live):
    env, tmp = live["env"], live["tmp"]
    p, url = start_console(env, tmp, "console-auth", extra_env={"DCV_CONSOLE_AUTH": "ops:s3cret"})
    live["procs"].append(p)
    for path in ("/", "/domain", "/dead", "/expiring", "/console.css"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + path)
        assert e.value.code == 401
    req = urllib.request.Request(url + "/", headers={"Authorization": "Basic b3BzOnMzY3JldA=="})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200
        assert "Overview" in resp.read().decode()
    req = urllib.request.Request(url + "/", headers={"Authorization": "Basic b3BzOndyb25n"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 401
    assert "s3cret" not in read(p.logpath)


def raw_post(url, headers, body=b""):
    """Sends a POST's headers (and BODY, perhaps shorter than its
    Content-Length); returns the status line the server answers without
    waiting for the rest (5 s at most)."""
    host, port = url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as c:
        head = "POST /action HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        c.sendall(head.encode() + b"\r\n" + body)
        return c.recv(4096).decode("latin-1").split("\r\n")[0]


def test_post_headers_checked_before_the_body(live):
    url = live["url"]
    host = url[len("http://"):]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # the body announced is never sent: only an answer on the headers comes back
    assert " 413 " in raw_post(url, {"Host": host, "Content-Length": "100000", **form})
    assert " 421 " in raw_post(url, {"Host": "evil.example", "Content-Length": "100", **form})
    # a chunked body over the cap: answered (or closed) once over, not read to its end
    chunk = b"%x\r\n%s\r\n" % (9000, b"x" * 9000)
    try:
        line = raw_post(url, {"Host": host, "Transfer-Encoding": "chunked", **form}, chunk)
    except ConnectionError:
        line = "closed"
    assert " 413 " in line or line in ("", "closed"), line
    p, aurl = start_console(live["env"], live["tmp"], "console-auth-post",
                            extra_env={"DCV_CONSOLE_AUTH": "ops:s3cret"})
    live["procs"].append(p)
    assert " 401 " in raw_post(aurl, {"Host": aurl[len("http://"):], "Content-Length": "100",
                                      **form})


def page_as(url, host, path="/"):
    req = urllib.request.Request(url + path, headers={"Host": host})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read().decode(), resp.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), ""


def test_host_adds_to_the_default_hosts(live):
    env, tmp = live["env"], live["tmp"]
    p, url = start_console(env, tmp, "console-host", ["--host", "dcv.example:443",
                                                       "--host", "other.example"])
    live["procs"].append(p)
    port = url.rsplit(":", 1)[1]
    for h in (url[len("http://"):], f"localhost:{port}", "dcv.example:443", "other.example"):
        assert page_as(url, h)[0] == 200, h
    assert page_as(url, "evil.example")[0] == 421
    # behind a TLS-terminating proxy the Origin is https://<the --host value>
    code, body, cookie = page_as(url, "dcv.example:443", "/dead")
    sid = re.search(r"dcv_console=([0-9a-f]+)", cookie).group(1)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', body)
    assert csrf, body
    fields = {"op": "nudge", "domain": live["shop"], "csrf": csrf.group(1)}
    hdr = {"Cookie": f"dcv_console={sid}", "Host": "dcv.example:443"}
    code, body = post(url, fields, {**hdr, "Origin": "https://dcv.example:443"})
    assert code == 403 and "read-only" in body, body          # past the origin check
    code, body = post(url, fields, {**hdr, "Origin": "https://evil.example"})
    assert code == 403 and "does not come from this console" in body, body
    # https is for --host values only, not the listener's own address
    code, body = post(url, fields, {"Cookie": f"dcv_console={sid}",
                                    "Origin": "https://" + url[len("http://"):]})
    assert code == 403 and "does not come from this console" in body, body


def test_open_listener_needs_host_or_auth(live):
    env, tmp = live["env"], live["tmp"]
    log = os.path.join(tmp, "console-open.log")
    p = harness.Proc([harness.program("dcvctl"), "-c", env.config, "console",
                      "--listen", "0.0.0.0:0"], log, env=env.env())
    assert p.wait(20) != 0
    out = read(log)
    assert "DNS rebinding" in out and "--host" in out and "DCV_CONSOLE_AUTH" in out, out
    assert "listening on" not in out
    log = os.path.join(tmp, "console-open-auth.log")
    p = harness.Proc([harness.program("dcvctl"), "-c", env.config, "console",
                      "--listen", "0.0.0.0:0"], log,
                     env={**env.env(), "DCV_CONSOLE_AUTH": "ops:s3cret"})
    live["procs"].append(p)
    harness.wait_until(lambda: "listening on" in read(log) or p.poll() is not None, 20,
                       what="the console with authentication starts")
    assert p.poll() is None, read(log)
    assert "warning" in read(log) and "--host" in read(log)


def test_searches_are_capped_and_say_so(live):
    env = live["env"]
    r = env.client()
    keys = [f"dcv:domain:cap{i}.cap.test" for i in range(5100)]
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.hset(k, mapping={"state": "issued", "tenant": "t-cap"})
    pipe.execute()
    try:
        d = open_page(live, "/domain?q=no-such-tenant")
        assert "0 found" in d.find_element(By.ID, "found-count").text
        assert "scanned the first 5000" in d.find_element(By.ID, "capped").text
        d = open_page(live, "/")
        assert "counted the first 5000" in d.find_element(By.ID, "capped").text
    finally:
        for i in range(0, len(keys), 1000):
            r.delete(*keys[i:i + 1000])


def test_overview_shows_due_jobs_and_buckets_with_their_values(live):
    env = live["env"]
    r = env.client()
    dom = f"due.{env.zones[2]}"
    member = f"verify-cname {dom} j-due"
    r.zadd("dcv:delayed", {member: int(time.time() * 1000) + 150000})
    try:
        d = open_page(live, "/")
        rows = [x.text for x in d.find_element(By.ID, "due").find_elements(By.TAG_NAME, "tr")]
        mine = [x for x in rows if dom in x]
        assert mine, rows
        m = re.match(r"verify-cname " + re.escape(dom) + r" in (\d+) s$", mine[0])
        assert m and 130 <= int(m.group(1)) <= 150, mine
        link = d.find_element(By.ID, "due").find_element(By.LINK_TEXT, dom)
        assert link.get_attribute("href").endswith("/domain?q=" + dom)
    finally:
        r.zrem("dcv:delayed", member)
    # the fleet's own rate-limit buckets (the orders it sent), with the
    # values Redis holds
    keys = [k.decode() for k in r.scan_iter("dcv:rl:*")
            if not k.decode().endswith(":line") and r.type(k) == b"hash"]
    assert keys, "the fleet made no rate-limit bucket"
    d = open_page(live, "/")
    shown = {}
    for row in d.find_element(By.ID, "buckets").find_elements(By.TAG_NAME, "tr")[1:]:
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        shown[cells[0]] = cells[1:]
    for k in keys:
        tail = k[len("dcv:rl:"):]
        tokens, blocked = r.hmget(k, "tokens", "blocked_until")
        assert shown.get(tail) == [tokens.decode() if tokens else "-",
                                   blocked.decode() if blocked else "-"], (tail, shown)


def test_replay_a_domains_dead_letters_from_its_page(live):
    env, shop = live["env"], live["shop"]
    r = env.client()
    now = str(int(time.time() * 1000))
    ids = [r.xadd("dcv:dead", {"domain": shop, "stage": "create-order",
                               "reason": "page-replay", "time": now,
                               "job": job(shop)}).decode() for _ in range(2)]
    d = open_page(live, "/domain?q=" + shop)
    form = next(f for f in d.find_elements(By.CSS_SELECTOR, "form[action='/action']")
                if f.find_element(By.NAME, "op").get_attribute("value") == "replay" and
                not f.find_elements(By.NAME, "id"))
    assert "replay: 2 dead letter(s)" in submit(d, form, TOKEN)
    left = {i.decode() for i, _ in r.xrange("dcv:dead")}
    assert not set(ids) & left, "the domain's letters left the dead letters"
    # they went back to their stage (where the worker refuses them again:
    # not the domain's pipeline)
    harness.wait_until(lambda: len([f for _, f in r.xrange("dcv:dead")
                                    if f.get(b"domain") == shop.encode() and
                                    f.get(b"stage") == b"create-order"]) >= 2, 30,
                       what="the replayed jobs handled again")


def test_replay_all_shown_and_purge_one_on_the_dead_letters_page(live):
    env = live["env"]
    r = env.client()
    tag = "pg-" + os.urandom(4).hex()

    def letter(stage):
        return r.xadd("dcv:dead", {"domain": "nobody.test", "stage": stage, "reason": tag,
                                   "time": str(int(time.time() * 1000)),
                                   "job": job("nobody.test")}).decode()
    three = [letter("verify-cname") for _ in range(3)]
    d = open_page(live, "/dead?reason=" + tag)
    # purge one: the form of one row
    row = [x for x in d.find_element(By.ID, "dead").find_elements(By.TAG_NAME, "tr")[1:]
           if three[0] in x.text][0]
    form = next(f for f in row.find_elements(By.CSS_SELECTOR, "form[action='/action']")
                if f.find_element(By.NAME, "op").get_attribute("value") == "purge")
    assert "purge of the dead letter done" in submit(d, form, TOKEN)
    ids = {i.decode() for i, _ in r.xrange("dcv:dead")}
    assert three[0] not in ids and three[1] in ids and three[2] in ids
    # replay all shown: both back in verify-cname
    d = open_page(live, "/dead?reason=" + tag)
    assert "2 shown" in d.find_element(By.ID, "dead-shown").text
    before = r.xlen("dcv:stream:verify-cname")
    assert "replay: 2 dead letter(s)" in submit(d, action_form(d, "replay", every=True), TOKEN)
    ids = {i.decode() for i, _ in r.xrange("dcv:dead")}
    assert not set(three[1:]) & ids
    assert r.xlen("dcv:stream:verify-cname") >= before + 2 or \
        len([f for _, f in r.xrange("dcv:dead") if f.get(b"domain") == b"nobody.test"]) >= 2


def test_offboard_from_the_domain_page(live):
    env, waiting = live["env"], live["waiting"]
    assert env.domain(waiting)["state"] == "issued"
    d = open_page(live, "/domain?q=" + waiting)
    assert "offboard done" in submit(d, action_form(d, "offboard"), TOKEN)
    harness.wait_until(lambda: env.domain(waiting).get("state") == "offboarded", 30,
                       what=f"{waiting} offboarded")
    d = open_page(live, "/domain?q=" + waiting)
    assert d.find_element(By.ID, "state").text == "offboarded"


def test_authentication_by_file_config_bearer_and_write_token_env(live):
    env, tmp = live["env"], live["tmp"]
    token = "bearer-" + os.urandom(8).hex()
    tok_file = os.path.join(tmp, "auth-token")
    with open(tok_file, "w") as f:
        f.write(token + "\n")
    basic_file = os.path.join(tmp, "auth-basic")
    with open(basic_file, "w") as f:
        f.write("ops:f1le-secret\n")
    cfg = env.write_config(path=os.path.join(tmp, "console-auth.yaml"),
                           **{"console.auth_file": basic_file})
    wtoken = "env-" + os.urandom(8).hex()

    def status(url, auth=None):
        req = urllib.request.Request(url + "/", headers={"Authorization": auth} if auth else {})
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code
    # --auth-file with a token: Bearer, or the basic password with any user
    p, url = start_console(env, tmp, "console-bearer", ["--auth-file", tok_file],
                           extra_env={"DCV_CONSOLE_WRITE_TOKEN": wtoken})
    live["procs"].append(p)
    import base64
    assert status(url) == 401
    assert status(url, "Bearer " + token) == 200
    assert status(url, "Bearer " + token[:-1]) == 401
    assert status(url, "Basic " + base64.b64encode(f"anyone:{token}".encode()).decode()) == 200
    # console.auth_file with user:password (basic)
    p2, url2 = start_console(env, tmp, "console-cfg-auth", config=cfg)
    live["procs"].append(p2)
    assert status(url2) == 401
    assert status(url2, "Basic " + base64.b64encode(b"ops:f1le-secret").decode()) == 200
    assert status(url2, "Basic " + base64.b64encode(b"ops:wrong").decode()) == 401
    for log in (p.logpath, p2.logpath):
        assert token not in read(log) and "f1le-secret" not in read(log)
    # DCV_CONSOLE_WRITE_TOKEN: the env's token acts, another is refused
    # (in the browser, which cannot set headers: its own console)
    p3, url3 = start_console(env, tmp, "console-envtoken",
                             extra_env={"DCV_CONSOLE_WRITE_TOKEN": wtoken})
    live["procs"].append(p3)
    d = live["driver"]
    d.get(url3 + "/domain?q=" + live["shop"])
    assert "refused: wrong or missing write token" in submit(d, action_form(d, "nudge"), TOKEN)
    d.get(url3 + "/domain?q=" + live["shop"])
    assert "nudge done" in submit(d, action_form(d, "nudge"), wtoken)
    assert wtoken not in read(p3.logpath)


def test_no_page_scrolls_sideways_on_a_phone(live):
    d = live["driver"]
    d.set_window_size(390, 844)
    try:
        pages = ["/", "/domain", "/domain?q=" + live["shop"], "/domain?q=tenant-shop",
                 "/domain?q=" + live["waiting"], "/dead", "/expiring?days=2000"]
        for path in pages:
            open_page(live, path)
            inner = d.execute_script("return window.innerWidth")
            assert inner <= 400, inner
            wide = d.execute_script("return document.documentElement.scrollWidth")
            assert wide <= inner, f"{path}: {wide} px wide in a {inner} px viewport"
        # the measure sees a page that is too wide
        d.execute_script("var e = document.createElement('div');"
                         "e.style.width = '900px'; e.style.height = '1px';"
                         "document.body.appendChild(e);")
        assert d.execute_script("return document.documentElement.scrollWidth") > 800
    finally:
        d.set_window_size(1100, 1300)


def test_no_command_was_refused_by_the_acl(live):
    log = live["env"].client().acl_log()
    assert log == [], log
