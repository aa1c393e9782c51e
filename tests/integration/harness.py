"""Shared test harness: real servers on loopback, on free ports, stopped by PID.

Every server is started as a child process in the foreground (no daemonising)
so the test owns its PID; stop() sends SIGTERM, then SIGKILL after a deadline.
Waiting is always for a condition with a deadline (wait_until), never a bare
sleep.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("DCV_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("DCV_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    """A port free for both TCP and UDP on HOST at the time of the call."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


def wait_until(cond, timeout=30.0, interval=0.02, what="condition"):
    """Polls COND() until it returns a true value (returned) or TIMEOUT."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_port(port, host="127.0.0.1", timeout=20.0, proc=None):
    def up():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False
    wait_until(up, timeout, what=f"{host}:{port} to accept connections")


class Proc:
    """A child process whose output goes to a log file in the test's tmpdir."""

    def __init__(self, args, logpath, env=None, cwd=None):
        self.args = [str(a) for a in args]
        self.logpath = logpath
        self.log = open(logpath, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update({k: str(v) for k, v in env.items()})
        self.p = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=full_env, cwd=cwd, start_new_session=True)
        self.pid = self.p.pid

    def poll(self):
        return self.p.poll()

    @property
    def returncode(self):
        return self.p.returncode

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        return self.p.wait(timeout=timeout)

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL if it has not exited within TIMEOUT."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        self.log.close()
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)

    def output(self):
        self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Redis:
    """A redis-server on a free loopback port, AOF optional.  AUTH: (user,
    password) that client() logs in with (a server with an ACL file, whose
    default user is off)."""

    def __init__(self, tmpdir, aof=False, extra=(), auth=None):
        self.tmpdir = tmpdir
        self.port = free_port()
        self.aof = aof
        self.extra = list(extra)
        self.auth = auth
        self.proc = None
        self.start()

    def start(self):
        args = ["redis-server", "--port", self.port, "--bind", "127.0.0.1",
                "--save", "", "--dir", self.tmpdir, "--daemonize", "no",
                "--maxmemory-policy", "noeviction"]
        if self.aof:
            args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            args += ["--appendonly", "no"]
        self.proc = Proc(args + self.extra, os.path.join(self.tmpdir, f"redis-{self.port}.log"))
        wait_port(self.port, proc=self.proc)
        wait_until(lambda: self._ping(), 10, what="redis PING")

    def _ping(self):
        try:
            return self.client().ping()
        except Exception:
            return False

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        """A redis-py client; its connections name themselves "dcv-test"
        (CLIENT SETNAME), so that a MONITOR can tell them from the fleet's."""
        import redis  # python3-redis from Debian
        user, password = self.auth or (None, None)
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5,
                           username=user, password=password, client_name="dcv-test")

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


def tmpdir(prefix="dcv-"):
    d = tempfile.mkdtemp(prefix=prefix)
    return d


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)


def run_on_pty(argv, env, stdout_pty=True, stderr_pty=False, timeout=60):
    """Runs ARGV with stdout and/or stderr on a pseudo-terminal, the rest on
    pipes; returns (exit status, what the terminal got, stdout, stderr) as
    text (a stream on the terminal comes back as "").  The terminal is read
    while the program runs, so a large output cannot fill it and stall."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave if stdout_pty else subprocess.PIPE,
                         stderr=slave if stderr_pty else subprocess.PIPE, env=env)
    os.close(slave)
    term = b""
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:          # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            term += chunk
        out, err = p.communicate(timeout=timeout)
    finally:
        os.close(master)
    text = lambda b: (b or b"").decode(errors="replace")
    return p.returncode, text(term), text(out), text(err)


def program(name):
    """Path of a program built by this build tree."""
    for sub in ("workers", "tests", "bench", ""):
        p = os.path.join(BUILD, sub, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{name} not built under {BUILD}")


def metrics(port):
    """A worker's /metrics on 127.0.0.1:PORT as {series: value}."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        out = {}
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out
