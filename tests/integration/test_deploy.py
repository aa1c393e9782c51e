"""What a reviewer checks in deploy/: manifests parse and lint; every
Deployment has probes, resources, the hardened security context and a grace
period above the worker's drain time; every ScaledObject scales an existing
Deployment on streams and a consumer group the code really uses; the Redis
ACL allows exactly the commands the fleet's code sends (read off the C and
Lua sources, tests/integration/redis_commands.py) on its prefix, checked
against a real redis-server (tests/integration/test_acl.py runs the whole
fleet as that user); the Dockerfile runs dcv-worker as a non-root user; and, once
dcv-worker is built, the shipped dcv.yaml passes --check-config with each
Deployment's arguments and environment.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml  # python3-yaml (Debian)

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import redis_commands  # noqa: E402

DEPLOY = os.path.join(harness.SOURCE, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
COMPONENT = os.path.join(K8S, "components", "redis-tls-sidecar")

STAGES = ["verify-cname", "create-order", "provision-txt", "finalize", "offboard-check"]


# ---- loading ----------------------------------------------------------------

def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


@pytest.fixture(scope="module")
def kustomization():
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def docs(kustomization):
    out = []
    for res in kustomization["resources"]:
        out += load_all(os.path.join(K8S, res))
    return out


def generated_file(kustomization, cm_name, file_name):
    for gen in kustomization.get("configMapGenerator", []):
        if gen["name"] == cm_name:
            for f in gen.get("files", []):
                key, _, path = f.partition("=")
                if (path or key) == file_name or key == file_name:
                    return os.path.join(K8S, path or key)
    raise AssertionError(f"configMapGenerator {cm_name} has no {file_name}")


def generated_literal(kustomization, cm_name, key):
    for gen in kustomization.get("configMapGenerator", []):
        if gen["name"] == cm_name:
            for lit in gen.get("literals", []):
                k, _, v = lit.partition("=")
                if k == key:
                    return v
    raise AssertionError(f"configMapGenerator {cm_name} has no literal {key}")


@pytest.fixture(scope="module")
def dcv_yaml_path(kustomization):
    return generated_file(kustomization, "dcv-config", "dcv.yaml")


@pytest.fixture(scope="module")
def dcv_cfg(dcv_yaml_path):
    with open(dcv_yaml_path) as f:
        return yaml.safe_load(f)


def duration_ms(v, default):
    """A *_ms value as cfg_int reads it: a number of ms or 250ms/30s/5m/2h/7d."""
    if v is None:
        return default
    if isinstance(v, int):
        return v
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", str(v).strip())
    assert m, f"bad duration {v!r}"
    mult = {None: 1, "ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}[m.group(2)]
    return int(m.group(1)) * mult


@pytest.fixture(scope="module")
def settings(dcv_cfg):
    redis = dcv_cfg.get("redis") or {}
    worker = dcv_cfg.get("worker") or {}
    metrics = dcv_cfg.get("metrics") or {}
    return {
        "prefix": redis.get("prefix", "dcv"),
        "group": redis.get("group", "workers"),
        "drain_ms": duration_ms(worker.get("drain_ms"), 25000),
        "visibility_ms": duration_ms(worker.get("visibility_timeout_ms"), 60000),
        "metrics_port": int(metrics.get("port", 9464)),
    }


def kind(docs, k):
    return [d for d in docs if d.get("kind") == k]


def worker_container(dep):
    cs = [c for c in dep["spec"]["template"]["spec"]["containers"] if "dcv-worker" in c["image"]]
    assert len(cs) == 1, f"{dep['metadata']['name']}: expected one dcv-worker container"
    return cs[0]


def stages_of(dep):
    args = worker_container(dep).get("args", [])
    out = [args[i + 1] for i, a in enumerate(args) if a == "--stage"]
    out += [a.split("=", 1)[1] for a in args if a.startswith("--stage=")]
    return out


def quantity(q):
    """CPU or memory quantity to a float (cores or bytes)."""
    s = str(q)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for u, mult in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if s.endswith(u):
            return float(s[: -len(u)]) * mult
    return float(s)


# ---- lint -------------------------------------------------------------------

def test_yamllint_every_yaml_under_deploy():
    files = []
    for root, _, names in os.walk(DEPLOY):
        files += [os.path.join(root, n) for n in names if n.endswith((".yaml", ".yml"))]
    assert len(files) >= 8, files
    r = subprocess.run(["yamllint", "-f", "parsable", "-c", os.path.join(DEPLOY, ".yamllint")] + files,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    for f in files:  # and every document parses
        load_all(f)


def test_kustomization_lists_every_manifest(kustomization):
    listed = set(kustomization["resources"])
    for res in listed:
        assert os.path.exists(os.path.join(K8S, res)), res
    here = {n for n in os.listdir(K8S) if n.endswith(".yaml")}
    not_resources = {"kustomization.yaml", "dcv.yaml", "secret.example.yaml"}
    assert here - not_resources == listed, "manifest not in kustomization.yaml"
    assert "namespace" not in kustomization, "the base stays namespace-agnostic"


# ---- Deployments --------------------------------------------------------------

def check_deployment(dep, settings, env_order=True):
    name = dep["metadata"]["name"]
    spec = dep["spec"]["template"]["spec"]
    c = worker_container(dep)
    port = settings["metrics_port"]
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}

    def probe_port(p):
        v = p["httpGet"]["port"]
        return ports[v] if isinstance(v, str) else v

    live, ready = c.get("livenessProbe"), c.get("readinessProbe")
    assert live and live["httpGet"]["path"] == "/healthz", f"{name}: liveness /healthz"
    assert ready and ready["httpGet"]["path"] == "/readyz", f"{name}: readiness /readyz"
    assert probe_port(live) == port and probe_port(ready) == port, f"{name}: probes on metrics.port"

    res = c.get("resources", {})
    for k in ("cpu", "memory"):
        assert k in res.get("requests", {}) and k in res.get("limits", {}), f"{name}: {k} request+limit"
        assert quantity(res["requests"][k]) <= quantity(res["limits"][k]), f"{name}: {k} request > limit"

    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    assert csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, f"{name}: runAsNonRoot"
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    assert uid is None or uid != 0, f"{name}: runs as root"
    assert csc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem"
    assert csc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation"
    assert csc.get("privileged", False) is False, f"{name}: privileged"
    assert "ALL" in csc.get("capabilities", {}).get("drop", []), f"{name}: drop ALL"
    assert not csc.get("capabilities", {}).get("add"), f"{name}: adds capabilities"
    seccomp = csc.get("seccompProfile", psc.get("seccompProfile", {}))
    assert seccomp.get("type") == "RuntimeDefault", f"{name}: seccomp RuntimeDefault"

    grace = spec.get("terminationGracePeriodSeconds", 30)
    drain_s = settings["drain_ms"] / 1000
    assert grace >= drain_s + 5, f"{name}: grace {grace}s not above drain {drain_s}s (+5s to ack and exit)"

    ann = dep["spec"]["template"]["metadata"].get("annotations", {})
    assert ann.get("prometheus.io/scrape") == "true", f"{name}: scrape annotation"
    assert int(ann.get("prometheus.io/port", 0)) == port, f"{name}: scrape port"
    assert ann.get("prometheus.io/path", "/metrics") == "/metrics"

    args = c.get("args", [])
    assert "-c" in args and args[args.index("-c") + 1] == "/etc/dcv/dcv.yaml", f"{name}: -c /etc/dcv/dcv.yaml"
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    assert "/etc/dcv" in mounts and mounts["/etc/dcv"].get("readOnly"), f"{name}: config mount"
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    assert vols[mounts["/etc/dcv"]["name"]]["configMap"]["name"].startswith("dcv-config")

    assert spec.get("automountServiceAccountToken") is False, f"{name}: no API token"
    assert "replicas" not in dep["spec"], f"{name}: replicas belong to KEDA"

    if env_order:
        check_env_order(name, c.get("env", []))
    for ic in spec.get("initContainers", []):  # sidecars are hardened too
        isc = ic.get("securityContext", {})
        assert isc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, f"{name}/{ic['name']}"
        assert isc.get("readOnlyRootFilesystem") is True, f"{name}/{ic['name']}"
        assert isc.get("allowPrivilegeEscalation") is False, f"{name}/{ic['name']}"
        assert "ALL" in isc.get("capabilities", {}).get("drop", []), f"{name}/{ic['name']}"
        assert "limits" in ic.get("resources", {}), f"{name}/{ic['name']}"


def check_env_order(name, env):
    """Kubernetes expands $(VAR) only for variables defined earlier."""
    seen = set()
    for e in env:
        for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(e.get("value", ""))):
            assert ref in seen, f"{name}: {e['name']} uses $({ref}) before it is defined"
        seen.add(e["name"])


def test_deployments(docs, settings):
    deps = kind(docs, "Deployment")
    assert {d["metadata"]["name"] for d in deps} == {"dcv-dns", "dcv-acme"}
    for d in deps:
        check_deployment(d, settings)


def test_stage_groups(docs):
    deps = {d["metadata"]["name"]: d for d in kind(docs, "Deployment")}
    served = []
    for d in deps.values():
        st = stages_of(d)
        assert st, f"{d['metadata']['name']} serves no --stage (would serve all)"
        for s in st:
            assert s in STAGES, f"unknown stage {s}"
        served += st
    assert sorted(served) == sorted(STAGES), "each stage served by exactly one Deployment"
    assert set(stages_of(deps["dcv-dns"])) == {"verify-cname", "provision-txt", "offboard-check"}
    assert set(stages_of(deps["dcv-acme"])) == {"create-order", "finalize"}


def secret_refs(container):
    out = set()
    for e in container.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            out.add((ref["name"], ref["key"]))
    return out


def test_secrets_referenced_not_committed(docs):
    assert not kind(docs, "Secret"), "no Secret with values in the kustomization"
    example = {}
    for s in load_all(os.path.join(K8S, "secret.example.yaml")):
        assert s["kind"] == "Secret"
        for k, v in s.get("stringData", {}).items():
            assert k == "username" or "REPLACE_ME" in v, f"secret.example.yaml {s['metadata']['name']}.{k} looks real"
        example[s["metadata"]["name"]] = set(s.get("stringData", {}))
    deps = {d["metadata"]["name"]: worker_container(d) for d in kind(docs, "Deployment")}
    for name, c in deps.items():
        for sec, key in secret_refs(c):
            assert key in example.get(sec, set()), f"{name} uses {sec}.{key}, missing in secret.example.yaml"
    env = {n: {e["name"] for e in c["env"]} for n, c in deps.items()}
    # The credentials of issue 6, each where it is needed and only there:
    # both groups read the account (the DNS group for key authorizations
    # and CAA's accounturi) and both touch TXT values (finalize removes
    # them); only the ACME group may need the EAB credentials.
    assert {"DCV_ACME_KEK", "DCV_ACME_EAB_KID", "DCV_ACME_EAB_HMAC"} <= env["dcv-acme"]
    assert {"DCV_PROVIDER_TSIG_SECRET", "DCV_PROVIDER_API_KEY"} <= env["dcv-dns"]
    assert {"DCV_PROVIDER_TSIG_SECRET", "DCV_PROVIDER_API_KEY"} <= env["dcv-acme"]
    assert "DCV_ACME_KEK" in env["dcv-dns"]
    assert not any(e.startswith("DCV_ACME_EAB") for e in env["dcv-dns"])
    for n in env:
        assert "DCV_REDIS_URL" in env[n]


def test_pod_disruption_budgets(docs):
    pdbs = kind(docs, "PodDisruptionBudget")
    for d in kind(docs, "Deployment"):
        labels = d["spec"]["template"]["metadata"]["labels"]
        match = [p for p in pdbs
                 if all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())]
        assert len(match) == 1, f"{d['metadata']['name']}: one PDB"
        # maxUnavailable never blocks drains of a group scaled to 0 or 1
        assert "maxUnavailable" in match[0]["spec"], "use maxUnavailable"


# ---- ScaledObjects ----------------------------------------------------------------

def test_scaled_objects(docs, settings):
    deps = {d["metadata"]["name"]: d for d in kind(docs, "Deployment")}
    sos = kind(docs, "ScaledObject")
    assert len(sos) == len(deps)
    targets = set()
    for so in sos:
        name = so["metadata"]["name"]
        target = so["spec"]["scaleTargetRef"]["name"]
        assert target in deps, f"{name} scales missing Deployment {target}"
        assert so["spec"]["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        targets.add(target)
        stages = set(stages_of(deps[target]))
        env = {e["name"] for e in worker_container(deps[target]).get("env", [])}
        covered = set()
        for t in so["spec"]["triggers"]:
            md = t["metadata"]
            assert t["type"] == "redis-streams", f"{name}: trigger type"
            m = re.fullmatch(re.escape(settings["prefix"]) + r":stream:(.+)", md["stream"])
            assert m, f"{name}: stream {md['stream']} is not {settings['prefix']}:stream:<stage>"
            assert m.group(1) in STAGES, f"{name}: {m.group(1)} is not a stage"
            assert m.group(1) in stages, f"{name}: {m.group(1)} not served by {target}"
            assert md.get("consumerGroup") == settings["group"], f"{name}: consumer group"
            assert int(md["lagCount"]) > 0 and "activationLagCount" in md, f"{name}: lagCount"
            assert "pendingEntriesCount" not in md and "streamLength" not in md
            for k in ("addressFromEnv", "usernameFromEnv", "passwordFromEnv"):
                if k in md:
                    assert md[k] in env, f"{name}: {k} {md[k]} not in {target}'s env"
            covered.add(m.group(1))
        assert covered == stages, f"{name}: every served stage has a trigger"
        lo, hi = so["spec"].get("minReplicaCount", 0), so["spec"]["maxReplicaCount"]
        assert 0 <= lo <= hi
        if lo == 0:  # waking from zero must not wait for pending work
            assert so["spec"].get("cooldownPeriod", 300) * 1000 > settings["visibility_ms"]
    assert targets == set(deps), "one ScaledObject per Deployment"
    # dcv:delayed is invisible to stream lag: the group holding verify-cname
    # retries keeps a replica to promote due jobs.
    for so in sos:
        if "verify-cname" in stages_of(deps[so["spec"]["scaleTargetRef"]["name"]]):
            assert so["spec"]["minReplicaCount"] >= 1
    assert "dcv:delayed" in open(os.path.join(DEPLOY, "README.md")).read()


# ---- the optional TLS component ---------------------------------------------------

def test_tls_component_static(docs):
    with open(os.path.join(COMPONENT, "kustomization.yaml")) as f:
        comp = yaml.safe_load(f)
    assert comp["kind"] == "Component"
    so_names = {s["metadata"]["name"] for s in kind(docs, "ScaledObject")}
    triggers = {s["metadata"]["name"]: len(s["spec"]["triggers"]) for s in kind(docs, "ScaledObject")}
    for p in comp["patches"]:
        assert os.path.exists(os.path.join(COMPONENT, p["path"])), p["path"]
        if p["target"]["kind"] == "ScaledObject":
            assert p["target"]["name"] in so_names
            ops = load_all(os.path.join(COMPONENT, p["path"]))[0]
            idx = {int(re.match(r"/spec/triggers/(\d+)/", o["path"]).group(1)) for o in ops}
            assert idx == set(range(triggers[p["target"]["name"]])), "enableTLS on every trigger"
    side = load_all(os.path.join(COMPONENT, "sidecar.yaml"))[0]["spec"]["template"]["spec"]
    ic = side["initContainers"][0]
    assert ic["restartPolicy"] == "Always", "native sidecar: outlives the worker's drain"
    assert "--listen=127.0.0.1:6379" in ic["args"], "plaintext only on loopback"
    env = {e["name"]: e.get("value") for e in side["containers"][0]["env"]}
    assert env == {"REDIS_WORKER_ADDRESS": "127.0.0.1:6379"}


def kubectl_kustomize(path):
    r = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def test_kustomize_renders_base_and_component(tmp_path, settings):
    if not shutil.which("kubectl"):
        # kubectl is no Debian package: check what kustomize would read instead
        for root in (K8S, os.path.join(K8S, "components", "redis-tls-sidecar")):
            kz = yaml.safe_load(open(os.path.join(root, "kustomization.yaml")))
            for key in ("resources", "components", "patches"):
                for item in kz.get(key) or []:
                    ref = item if isinstance(item, str) else item.get("path")
                    if ref:
                        assert os.path.exists(os.path.join(root, ref)), (root, ref)
        print("kubectl not installed: checked kustomization references statically")
        return
    base = kubectl_kustomize(K8S)
    for d in kind(base, "Deployment"):
        check_deployment(d, settings)
    # the component needs an overlay with the base inside its root
    shutil.copytree(K8S, tmp_path / "base")
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [base]\ncomponents: [base/components/redis-tls-sidecar]\n")
    tls = kubectl_kustomize(str(tmp_path))
    for d in kind(tls, "Deployment"):
        check_deployment(d, settings)
        assert d["spec"]["template"]["spec"]["initContainers"][0]["name"] == "redis-tls"
    for so in kind(tls, "ScaledObject"):
        assert all(t["metadata"].get("enableTLS") == "true" for t in so["spec"]["triggers"])


# ---- Redis ------------------------------------------------------------------------

def acl_users():
    return redis_commands.acl_rules()


def test_acl_file_static():
    users = acl_users()
    w = users["dcv-worker"]
    assert "-@all" in w and "resetkeys" in w and "resetchannels" in w
    assert "+@all" not in w and "~*" not in w and "allkeys" not in w
    assert [r for r in w if r.startswith(("~", "%"))] == ["~dcv:*", "~{dcv}:*"]
    k = users["dcv-keda"]
    assert all(r.startswith("%R~") for r in k if "~" in r), "KEDA's user is read-only"
    assert not any(r.lstrip("+").split("|")[0] in ("xadd", "xack", "eval", "del") for r in k)
    # KEDA reads the server version from INFO (lagCount needs Redis 7)
    assert "+info" in k


@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory):
    """redis-server with deploy/redis/redis.conf and users.acl (password
    hashes filled in), on a free loopback port."""
    d = str(tmp_path_factory.mktemp("redis-acl"))
    digest = hashlib.sha256(b"test-password").hexdigest()
    with open(os.path.join(DEPLOY, "redis", "users.acl")) as f:
        acl = re.sub(r"#DCV_[A-Z]+_PASSWORD_SHA256", "#" + digest, f.read())
    assert "SHA256" not in acl
    with open(os.path.join(d, "users.acl"), "w") as f:
        f.write(acl)
    port = harness.free_port()
    with open(os.path.join(d, "redis.conf"), "w") as f:
        f.write(f"include {os.path.join(DEPLOY, 'redis', 'redis.conf')}\n"
                f"port {port}\nbind 127.0.0.1\ndir {d}\naclfile {d}/users.acl\n"
                "daemonize no\nsave \"\"\n")
    proc = harness.Proc(["redis-server", os.path.join(d, "redis.conf")], os.path.join(d, "redis.log"))
    try:
        harness.wait_port(port, proc=proc)
        yield port
    finally:
        proc.stop()


def client(port, user):
    import redis
    return redis.Redis(host="127.0.0.1", port=port, username=user, password="test-password",
                       socket_timeout=5)


def test_redis_conf_settings(acl_redis):
    admin = client(acl_redis, "dcv-admin")
    assert admin.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    assert admin.config_get("appendonly")["appendonly"] == "yes"
    assert admin.config_get("appendfsync")["appendfsync"] == "everysec"
    import redis
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=acl_redis, socket_timeout=5).ping()  # default user is off


def test_acl_grants_exactly_what_the_code_sends(acl_redis):
    """Every command the C sources and Lua scripts send is granted to
    dcv-worker, and nothing else is: the list comes from the code, the names
    from the server itself."""
    names, no_auth = redis_commands.server_commands(acl_redis, "dcv-admin", "test-password")
    found, problems = redis_commands.code_commands(names)
    assert not problems, problems
    # the scan sees the fleet's staples; an empty or tiny result would mean
    # the scan broke, not that the fleet needs nothing
    assert {"xreadgroup", "evalsha", "xgroup|create", "hset", "xadd"} <= set(found), found
    granted = redis_commands.acl_commands(acl_users()["dcv-worker"])
    unknown = {g for g in granted if g not in names}
    assert not unknown, f"the ACL names commands this Redis does not know: {unknown}"
    missing = {c: sorted(set(w)) for c, w in found.items()
               if c not in no_auth and not redis_commands.allowed(c, granted)}
    assert not missing, f"the code sends commands the ACL of dcv-worker lacks: {missing}"
    unused = {g for g in granted if not any(c == g or c.startswith(g + "|") for c in found)}
    assert not unused, f"the ACL of dcv-worker grants commands nothing sends: {unused}"


def test_acl_users_on_a_real_redis(acl_redis):
    import redis
    for prefix in ("dcv", "{dcv}"):
        r = client(acl_redis, "dcv-worker")
        s = f"{prefix}:stream:verify-cname"
        r.execute_command("XGROUP", "CREATE", s, "workers", "$", "MKSTREAM")
        r.xadd(s, {"domain": "a.example", "job": "x"})
        assert r.xinfo_groups(s)[0]["lag"] is not None  # what KEDA's lagCount reads
        # AUTH again, as a reconnecting client does, is no ACL matter
        r.execute_command("AUTH", "dcv-worker", "test-password")
        k = client(acl_redis, "dcv-keda")
        assert k.xinfo_groups(s)[0]["name"] == b"workers"
        k.xlen(s)
        k.xpending(s, "workers")
        assert k.info("server")["redis_version"].startswith("7.")
        with pytest.raises(redis.exceptions.NoPermissionError):
            k.xadd(s, {"x": "y"})


def test_acl_refuses_everything_else(acl_redis):
    import redis
    r = client(acl_redis, "dcv-worker")
    denied = [
        ("GET", "dcv:x"), ("SET", "dcv:x", "1"), ("KEYS", "*"), ("SCAN", "0"), ("FLUSHALL",),
        ("FLUSHDB",), ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), ("SCRIPT", "FLUSH"),
        ("CLIENT", "KILL", "ID", "1"), ("CLIENT", "LIST"), ("XGROUP", "DESTROY", "dcv:stream:finalize", "workers"),
        ("XGROUP", "SETID", "dcv:stream:finalize", "workers", "0"), ("MODULE", "LIST"),
        ("HSET", "other:domain:a", "k", "v"), ("XADD", "other:stream", "*", "k", "v"),
        ("DEL", "dcvx:stream:finalize"), ("SUBSCRIBE", "dcv:events"), ("SHUTDOWN",),
        # CONFIG GET answers masterauth; nothing in the fleet reads it
        ("CONFIG", "GET", "masterauth"), ("CONFIG", "GET", "maxmemory-policy"),
        ("XINFO", "STREAM", "dcv:stream:finalize", "FULL"), ("SCRIPT", "EXISTS", "0" * 40),
        ("WATCH", "dcv:account"), ("XGROUP", "CREATECONSUMER", "dcv:stream:finalize", "workers", "c"),
    ]
    for c in denied:
        with pytest.raises(redis.exceptions.ResponseError) as e:
            r.execute_command(*c)
        assert "NOPERM" in str(e.value) or "permission" in str(e.value).lower(), (c, e.value)
    # a script may only touch what the user may touch
    with pytest.raises(redis.exceptions.ResponseError):
        r.execute_command("EVAL", "return redis.call('HSET', 'other:x', 'k', 'v')", "0")


# ---- Dockerfile -----------------------------------------------------------------------

def dockerfile_instructions():
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile():
    ins = dockerfile_instructions()
    args = dict(a[1].split("=", 1) for a in ins if a[0] == "ARG" and "=" in a[1])
    froms = [a[1].replace("${DEBIAN_IMAGE}", args.get("DEBIAN_IMAGE", "")) for a in ins if a[0] == "FROM"]
    assert len(froms) >= 2, "multi-stage"
    assert all(f.split()[0] == "debian:12-slim" for f in froms), froms
    runtime = ins[max(i for i, a in enumerate(ins) if a[0] == "FROM"):]
    build = ins[:max(i for i, a in enumerate(ins) if a[0] == "FROM")]
    build_runs = " ".join(a[1] for a in build if a[0] == "RUN")
    assert "-DCMAKE_BUILD_TYPE=Release" in build_runs and "-DDCV_WERROR=ON" in build_runs
    assert "dcvctl" in build_runs and "dcv-worker" in build_runs
    assert any(a[0] == "COPY" and "--from=build" in a[1] for a in runtime)

    users = [a[1] for a in runtime if a[0] == "USER"]
    assert users, "USER in the runtime stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric non-root USER (runAsNonRoot can verify it)"
    import json
    entry = [json.loads(a[1]) for a in runtime if a[0] == "ENTRYPOINT"]
    assert entry == [["/usr/local/bin/dcv-worker"]], "exec-form ENTRYPOINT dcv-worker"
    cmd = [json.loads(a[1]) for a in runtime if a[0] == "CMD"]
    assert cmd == [["-c", "/etc/dcv/dcv.yaml"]]

    runtime_runs = " ".join(a[1] for a in runtime if a[0] == "RUN")
    pkgs = re.search(r"--no-install-recommends\s+(.*?)\s*&&", runtime_runs).group(1).split()
    want = {"libhiredis0.14", "libmsgpackc2", "libyaml-0-2", "libcurl4", "libssl3", "libc-ares2",
            "libjansson4", "libldns3", "libmicrohttpd12", "ca-certificates"}
    assert set(pkgs) == want, f"runtime packages {pkgs}"
    assert not [p for p in pkgs if p.endswith("-dev")]
    # the names exist in this Debian's archive (the project's base release)
    if shutil.which("apt-cache"):
        for p in sorted(want):
            r = subprocess.run(["apt-cache", "show", "--no-all-versions", p],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and "Package: " + p in r.stdout, f"no Debian package {p}"


def test_dockerignore_keeps_sources():
    with open(os.path.join(DEPLOY, "Dockerfile.dockerignore")) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    copied = [a[1].split()[0] for a in dockerfile_instructions() if a[0] == "COPY" and "--from" not in a[1]]
    for src in copied:
        assert "!" + src.rstrip("/") in [l.rstrip("/") for l in lines], f"{src} excluded from the context"


# ---- the real program on the shipped config -------------------------------------------

def deployment_env(dep, kustomization):
    """The Deployment's worker env with placeholder secrets and $(VAR) expanded."""
    fake = {("dcv-acme", "kek"): "00" * 32, ("dcv-redis", "username"): "dcv-worker",
            ("dcv-redis", "password"): "0123abcd"}
    env = {}
    for e in worker_container(dep).get("env", []):
        vf = e.get("valueFrom", {})
        if "secretKeyRef" in vf:
            ref = vf["secretKeyRef"]
            # optional ones (the provider type not chosen) get one too: a
            # valid base64 value serves as TSIG secret and as API key
            v = fake.get((ref["name"], ref["key"]), "c2VjcmV0LXBsYWNlaG9sZGVy")
        elif "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            v = generated_literal(kustomization, ref["name"], ref["key"])
        else:
            v = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)),
                       e["value"])
        env[e["name"]] = v
    return env


def test_check_config_with_each_deployment(docs, kustomization, dcv_yaml_path):
    worker = os.path.join(harness.BUILD, "workers", "dcv-worker")
    assert os.path.exists(worker), f"{worker} is not built"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DCV_")}
    for dep in kind(docs, "Deployment"):
        args = list(worker_container(dep)["args"])
        args[args.index("-c") + 1] = dcv_yaml_path
        env = dict(base_env, **deployment_env(dep, kustomization))
        r = subprocess.run([worker, "--check-config"] + args, env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"{dep['metadata']['name']}: {r.stdout}{r.stderr}"
