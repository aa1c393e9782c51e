"""The Redis commands dcvfleet sends, read off its sources, and the ones a
user of deploy/redis/users.acl may send: what the ACL tests compare.

Nothing here is a hand-written list of commands.  The sources are read as
they are (common/ and workers/):

  - in every C file that talks to Redis (it includes hiredis or queue.h,
    or calls hiredis's, queue.h's or dcvctl's command functions),
    each string literal that starts with a Redis command name (as the
    server itself lists them, COMMAND LIST) followed by a space, '%' or
    its end: "HGETALL %s", "XGROUP CREATE %s ...", { "MULTI" },
    argv[a++] = "XREADGROUP";
  - in every C and Lua file, each redis.call('X', ...) / redis.pcall.

A container command (XGROUP, XINFO, SCRIPT, ...) counts with its
subcommand, taken from the same literal or the next one.  What cannot be
derived (a redis.call whose command is not a literal, a container without a
known subcommand) is reported, so that the tests fail rather than guess.

The dynamic side, monitor_commands(), reads what a redis-server's MONITOR
printed, so that a test can check the scan against what really went over
the wire.
"""
import os
import re

import harness

CODE_DIRS = ("common", "workers")


# ------------------------------------------------------------ the server

def server_commands(port, username=None, password=None):
    """(names, no_auth) of the redis-server on PORT: every command and
    subcommand name in lower case ("xgroup|create"), and the commands that a
    connection may send whatever its ACL (flag no_auth: AUTH, HELLO)."""
    import redis
    conn = redis.Connection(host="127.0.0.1", port=port, username=username,
                            password=password, socket_timeout=10)
    try:
        # raw replies: redis-py's own parser of COMMAND predates Redis 7
        conn.send_command("COMMAND", "LIST")
        names = {n.decode().lower() for n in conn.read_response()}
        tops = sorted(n for n in names if "|" not in n)
        conn.send_command("COMMAND", "INFO", *tops)
        no_auth = {i[0].decode().lower() for i in conn.read_response()
                   if i and b"no_auth" in i[2]}
    finally:
        conn.disconnect()
    return names, no_auth


def containers(names):
    """The commands of NAMES that have subcommands."""
    return {n.split("|")[0] for n in names if "|" in n}


# ------------------------------------------------------------ the sources

def _c_tokens(text):
    """(code without comments, [string literal contents in order]) of C
    TEXT; character constants are kept in the code, skipped as literals."""
    code, lits = [], []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            code.append(" ")
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if c == '"':
                lits.append(text[i + 1:j])
            code.append(text[i:j + 1])
            i = j + 1
        else:
            code.append(c)
            i += 1
    return "".join(code), lits


# the quotes may be escaped: Lua inside a C string literal
_LUA_CALL = re.compile(r"redis\.p?call\(\s*(?:\\?(['\"])([A-Za-z]+)\\?\1"
                       r"(?:\s*,\s*\\?(['\"])([A-Za-z]+)\\?\3)?|(\S))")
# a C file that can send a command: it includes hiredis or queue.h, or
# calls hiredis's, queue.h's or dcvctl's (ctl.h) command functions
_TALKS = re.compile(r'#include\s+[<"](?:hiredis/hiredis\.h|queue\.h)[>"]'
                    r'|\bredis\w*Command\w*\s*\('
                    r'|\bqueue_(?:command|eval)\s*\(|\bctl_run\w*\s*\(')
_CMD_LIT = re.compile(r"([A-Z][A-Z]+)(?: ([A-Z]+))?(?=[ %]|$)")


def _name(cmd, sub, names, where, problems):
    cmd = cmd.lower()
    if cmd not in containers(names):
        return cmd
    full = f"{cmd}|{(sub or '').lower()}"
    if full in names:
        return full
    problems.append(f"{where}: {cmd.upper()} without a subcommand that can be read off")
    return cmd


def code_commands(names, root=None):
    """{command: [where used, ...]} of every Redis command in the sources
    under ROOT (the checkout), NAMES being server_commands()[0]; and a list
    of problems (uses that cannot be derived)."""
    root = root or harness.SOURCE
    found, problems = {}, []

    def add(name, where):
        found.setdefault(name, []).append(where)

    for d in CODE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if not f.endswith((".c", ".lua")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                code, lits = _c_tokens(text) if f.endswith(".c") else (text, [])
                for m in _LUA_CALL.finditer(code if f.endswith(".c") else text):
                    where = f"{rel}: redis.call"
                    if m.group(5):
                        problems.append(f"{where} with a command that is not a literal")
                    else:
                        add(_name(m.group(2), m.group(4), names, where, problems), rel)
                if not f.endswith(".c") or not _TALKS.search(code):
                    continue
                for k, lit in enumerate(lits):
                    m = _CMD_LIT.match(lit)
                    if not m or m.group(1).lower() not in names:
                        continue
                    sub = m.group(2) or (lits[k + 1] if k + 1 < len(lits) else "")
                    add(_name(m.group(1), sub, names, f'{rel}: "{lit[:40]}"', problems), rel)
    return found, problems


# ---------------------------------------------------------------- the ACL

def acl_rules(path=None):
    """{user: [rules]} of an ACL file (deploy/redis/users.acl)."""
    path = path or os.path.join(harness.SOURCE, "deploy", "redis", "users.acl")
    users = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                words = line.split()
                assert words[0] == "user", "ACL files take no comments"
                users[words[1]] = words[2:]
    return users


def acl_commands(rules):
    """The commands RULES grant one by one ("+xgroup|create", "+hget"),
    lower case; categories (+@...) are not expanded."""
    return {r[1:].lower() for r in rules if r.startswith("+") and not r.startswith("+@")}


def allowed(name, granted):
    """Whether NAME ("xinfo|groups") is within GRANTED (acl_commands())."""
    return name in granted or name.split("|")[0] in granted


# ---------------------------------------------------------------- MONITOR

_MON = re.compile(r'^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$')
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


def monitor_commands(lines, names, skip_clients=("dcv-test",)):
    """{command: count} of MONITOR output LINES (redis-cli monitor), with
    subcommands as code_commands() names them.  Commands of a connection
    that named itself one of SKIP_CLIENTS (CLIENT SETNAME, as the tests' own
    redis-py connections do) are left out; a connection is known by its
    address from its AUTH on.  Lines of scripts ("lua") count."""
    seen, skip = {}, set()
    for line in lines:
        m = _MON.match(line.strip())
        if not m:
            continue
        client, args = m.group(1), _ARG.findall(m.group(2))
        if not args:
            continue
        cmd = args[0].lower()
        if cmd == "auth":
            skip.discard(client)       # a new connection on this address
        if cmd == "client" and len(args) > 2 and args[1].lower() == "setname" \
                and args[2] in skip_clients:
            skip.add(client)
        if client in skip:
            continue
        if cmd in containers(names) and len(args) > 1:
            sub = f"{cmd}|{args[1].lower()}"
            cmd = sub if sub in names else cmd
        seen[cmd] = seen.get(cmd, 0) + 1
    return seen
