"""The hardening flags of every binary this build makes (CMakeLists.txt):
stack protector, _FORTIFY_SOURCE, PIE, full RELRO and immediate binding,
read off the ELF files with readelf, as an attacker's toolkit would."""
import os
import re
import subprocess

import pytest

from harness import BUILD


def _cache():
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        return dict(re.findall(r"^(\w+):\w+=(.*)$", f.read(), re.M))


def _executables():
    out = []
    for top in ("workers", "tests", "bench"):
        for root, dirs, files in os.walk(os.path.join(BUILD, top)):
            dirs[:] = [d for d in dirs if d != "CMakeFiles" and not d.startswith("fuzz")]
            for f in files:
                p = os.path.join(root, f)
                if not os.access(p, os.X_OK) or os.path.islink(p):
                    continue
                with open(p, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        out.append(p)
    return sorted(out)


def _readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True,
                          text=True).stdout


def _flags_of(path):
    """The C flags CMake compiled PATH's sources with ("" when unknown)."""
    flags = os.path.join(os.path.dirname(path), "CMakeFiles",
                         os.path.basename(path) + ".dir", "flags.make")
    try:
        with open(flags) as f:
            return f.read()
    except OSError:
        return ""


BINARIES = _executables()


def test_every_program_is_there():
    names = {os.path.basename(p) for p in BINARIES}
    assert {"dcv-worker", "dcvctl", "dcv-test-worker", "test_job"} <= names, names


@pytest.mark.parametrize("path", BINARIES, ids=lambda p: os.path.relpath(p, BUILD))
def test_hardened(path):
    cache = _cache()
    fortify = cache.get("DCV_SANITIZE", "OFF") not in ("ON", "TRUE", "1") and \
        cache.get("CMAKE_BUILD_TYPE", "") != "Debug"
    header = _readelf("-h", path)
    dynamic = _readelf("-d", path)
    segments = _readelf("-l", path)
    symbols = _readelf("--dyn-syms", path)
    missing = []
    if "DYN (Position-Independent Executable" not in header or "PIE" not in dynamic:
        missing.append("PIE")
    if "GNU_RELRO" not in segments:
        missing.append("RELRO")
    if "BIND_NOW" not in dynamic and not re.search(r"FLAGS_1.*\bNOW\b", dynamic):
        missing.append("-z now")
    stack = re.search(r"GNU_STACK.*", segments)
    if not stack or "RWE" in stack.group(0):
        missing.append("non-executable stack")
    if "__stack_chk_fail" not in symbols:
        missing.append("-fstack-protector-strong")
    if fortify:
        # FORTIFY rewrites a call only where it knows the object's size: a
        # small program (a unit test copying into heap buffers) may have no
        # such call.  Its compile flags must still say so; the programs that
        # run in production must show the checked calls themselves.
        if not re.search(r"__\w+_chk\b", symbols) and (
                os.path.basename(path) in ("dcv-worker", "dcvctl")
                or "-D_FORTIFY_SOURCE=3" not in _flags_of(path)):
            missing.append("_FORTIFY_SOURCE")
    else:
        print(f"{path}: _FORTIFY_SOURCE not checked: a Debug or sanitizer build "
              "(FORTIFY needs the optimiser and does not mix with ASan)")
    assert not missing, f"{path} lacks {', '.join(missing)}"
