#!/usr/bin/python3
"""Fail when a C function body is longer than a limit (issue 12: "no
function over about 100 lines").

usage: func_length.py [--limit N] [--list] [--root DIR] FILE_OR_DIR...
       func_length.py --self-test

ctest runs it as lint_func_length over common/ and workers/ (the code
generated at build time, scripts_lua.c, lives in the build tree and is
not scanned), and as lint_func_length_self_test, which checks the scanner
on small made-up sources.

A function is counted from the line of its name to the line of its closing
brace.  The scan is lexical, not a C parser: comments, string and character
literals and preprocessor lines are blanked first, then a '{' at file scope
whose last preceding token is ')' (or a ')' followed by attribute/qualifier
words, as in K&R-free C11) opens a function body.  Braces at file scope
after '=' (tables), 'struct'/'enum'/'union' and the like are not functions.
This is reliable for this codebase's style (one function per definition,
no braces in macros that wrap whole functions); it is a lint, not a proof.

EXCEPTIONS lists "path:function" pairs allowed over the limit, each with
the reason.  Keep it short: generated code and data tables only.

Exit status: 0 when every function is within the limit, 1 otherwise.
"""
import os
import re
import sys

# path (relative to the source root) : function -> why it may be long
EXCEPTIONS = {
}

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def blank(text):
    """Replace comments, literals and preprocessor lines by spaces, keeping
    newlines so that line numbers stay right."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":
            # preprocessor line, with its backslash continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = False
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c
                       if j - i >= 2 else " " * (j - i))
            i = j
            continue
        if c == "\n":
            line_start = True
        out.append(c)
        i += 1
    return "".join(out)


def functions(text):
    """Yield (name, first_line, last_line) for each function definition."""
    src = blank(text)
    depth = 0
    start = None  # (name, line) of the function being read
    paren = 0
    last_close = None  # offset of the last ')' closing a top-level '('
    last_name = None   # identifier before the last top-level '('
    pending_name = None
    i, n = 0, len(src)
    line = 1
    tail = []  # tokens since the last top-level ')'
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if depth == 0:
            m = IDENT.match(src, i)
            if m:
                tail.append(m.group(0))
                pending_name = (m.group(0), line)
                i = m.end()
                continue
            if c == "(":
                if paren == 0:
                    last_name = pending_name
                    tail = []
                paren += 1
            elif c == ")":
                paren -= 1
                if paren == 0:
                    last_close = i
                    tail = []
            elif c == "{" and paren == 0:
                depth = 1
                if last_close is not None and last_name is not None and \
                        all(t.startswith("__") or t in ("const", "volatile")
                            for t in tail):
                    start = last_name
                else:
                    start = None
            elif c in ";=,":
                if paren == 0:
                    last_close = None
                    last_name = None
                tail.append(c)
            elif not c.isspace():
                tail.append(c)
            i += 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if start is not None:
                    yield start[0], start[1], line
                start = None
                last_close = None
                last_name = None
                tail = []
        i += 1


def c_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                for f in sorted(files):
                    if f.endswith(".c"):
                        yield os.path.join(root, f)
        else:
            yield p


def self_test():
    """The scanner on made-up sources whose answer is known."""
    body = "\n".join("\tx++;" for _ in range(8))
    src = (
        "#define M(a) { a }\n"
        "static const int table[] = {\n1,\n2 };\n"
        "struct s { int a; };\n"
        "/* void fake(void) { } */\n"
        "static int one(int x)\n{\n" + body + "\n\treturn x;\n}\n"
        "const char *two(void) __attribute__((pure));\n"
        "const char *two(void)\n{\n\treturn \"}{\" \"'\";\n}\n"
        "enum e { A, B };\n"
        "int three(void) { char c = '{'; return c; }\n"
    )
    got = list(functions(src))
    want = [("one", 7, 18), ("two", 20, 23), ("three", 25, 25)]
    if got != want:
        print("self-test: got %r, want %r" % (got, want), file=sys.stderr)
        return 1
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    limit = 100
    listing = False
    root = None
    args = []
    it = iter(argv)
    for a in it:
        if a == "--limit":
            limit = int(next(it))
        elif a == "--list":
            listing = True
        elif a == "--root":
            root = next(it)
        else:
            args.append(a)
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    bad = 0
    for path in c_files(args):
        rel = os.path.relpath(path, root) if root else path
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for name, first, last in functions(text):
            length = last - first + 1
            if listing:
                print("%5d %s:%d %s" % (length, rel, first, name))
            if length > limit and "%s:%s" % (rel, name) not in EXCEPTIONS:
                print("%s:%d: %s is %d lines (limit %d)"
                      % (rel, first, name, length, limit), file=sys.stderr)
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
