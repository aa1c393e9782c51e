"""JSON schemas of the Kubernetes and KEDA objects deploy/k8s renders to.

The schemas are not vendored: tests/integration/k8s_schemas/ pins the npm
packages they come from (kubernetes-types for two Kubernetes releases,
@kubernetes-models/keda for KEDA's API) and gen.mjs turns their TypeScript
types into draft-07 JSON schemas.  The first run installs them with `npm ci`
into a cache directory keyed by the hash of those files
($DCV_CACHE_DIR or ~/.cache/dcvfleet), later runs reuse it.  Validation is
python3-jsonschema's (Debian).
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "k8s_schemas")
FILES = ("package.json", "package-lock.json", "tsconfig.json", "gen.mjs")

# The releases the schemas describe, as gen.mjs names them.
KUBERNETES = ("kubernetes-1.29", "kubernetes-1.30")
KEDA = "keda"


def _cache_root():
    root = os.environ.get("DCV_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dcvfleet")
    os.makedirs(root, exist_ok=True)
    return root


def _key():
    h = hashlib.sha256()
    for f in FILES:
        with open(os.path.join(HERE, f), "rb") as fh:
            h.update(f.encode() + b"\0" + fh.read() + b"\0")
    return h.hexdigest()[:16]


def schema_dir():
    """The directory with index.json and the schemas, generated if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "the schema check needs node and npm (deploy/install-deps.sh)"
    final = os.path.join(_cache_root(), "k8s-schemas-" + _key())
    if os.path.exists(os.path.join(final, "out", "index.json")):
        return os.path.join(final, "out")
    work = tempfile.mkdtemp(prefix="k8s-schemas-", dir=_cache_root())
    try:
        for f in FILES:
            shutil.copy(os.path.join(HERE, f), work)
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error",
                            "--ignore-scripts"], cwd=work, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, f"npm ci in {work} failed:\n{r.stdout}\n{r.stderr}"
        r = subprocess.run([node, "gen.mjs", os.path.join(work, "out")], cwd=work,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"gen.mjs failed:\n{r.stdout}\n{r.stderr}"
        try:
            os.rename(work, final)   # atomic: a concurrent run may have won
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
        work = None
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
    return os.path.join(final, "out")


def load():
    """{(version, apiVersion, kind): schema}."""
    d = schema_dir()
    with open(os.path.join(d, "index.json")) as f:
        index = json.load(f)
    out = {}
    for e in index:
        with open(os.path.join(d, e["file"])) as f:
            out[(e["version"], e["apiVersion"], e["kind"])] = json.load(f)
    return out


def errors(schema, doc):
    """Every validation error of DOC against SCHEMA, as 'path: message'."""
    import jsonschema  # python3-jsonschema (Debian)
    v = jsonschema.Draft7Validator(schema)
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))]
