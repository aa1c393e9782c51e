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

And what an SRE finds before a rollout (issue 16, "a deployment that works
the first time"), each with its own test below:
  - the KEDA versions README.md claims accept every trigger
    (test_keda_versions_accept_the_triggers);
  - KEDA has its own read-only user, which may run what KEDA sends
    (test_keda_uses_its_own_user, test_keda_user_may_run_what_keda_sends);
  - with TLS, KEDA is given the CA (test_tls_component_gives_keda_the_ca);
  - a stage with entries pending keeps a pod (test_pending_entries_keep_a_pod);
  - the TLS sidecar's startup probe reaches a listener
    (test_sidecar_startup_probe_reaches_a_listener);
  - Service links cannot override the configuration
    (test_service_links_cannot_override_the_config);
  - the timeouts nest: job < drain < grace, visibility >= several jobs
    (test_timeouts_nest);
  - node drains do not hang while Redis is down
    (test_pdbs_evict_unready_pods);
  - Redis has a memory limit, so noeviction can refuse writes
    (test_redis_has_a_memory_limit);
  - the rendered manifests are valid for the Kubernetes and KEDA releases
    supported (test_rendered_manifests_match_the_schemas).
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

# A finalize polls the order, finalizes it, polls again and downloads the
# certificate: four requests to the CA, each bounded by acme.timeout_ms.
ACME_CALLS_PER_JOB = 4


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
    acme = dcv_cfg.get("acme") or {}
    acme_ms = duration_ms(acme.get("timeout_ms"), 30000)
    return {
        "prefix": redis.get("prefix", "dcv"),
        "group": redis.get("group", "workers"),
        "drain_ms": duration_ms(worker.get("drain_ms"), 25000),
        "visibility_ms": duration_ms(worker.get("visibility_timeout_ms"), 300000),
        "concurrency": int(worker.get("concurrency", 4)),
        "metrics_port": int(metrics.get("port", 9464)),
        "acme_timeout_ms": acme_ms,
        # One job's deadline: worker.job_timeout_ms where the worker has it,
        # else the longest a job can take, a finalize of ACME_CALLS_PER_JOB
        # requests that each run into acme.timeout_ms.
        "job_ms": duration_ms(worker.get("job_timeout_ms"), ACME_CALLS_PER_JOB * acme_ms),
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
    # the certificates' KEK only where finalize seals with it (issue 13)
    assert "DCV_CERT_KEK" in env["dcv-acme"] and "DCV_CERT_KEK" not in env["dcv-dns"]
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
            # KEDA reads one number per trigger: the lag when lagCount is
            # set, else the pending entries; never the stream length (XLEN
            # counts acknowledged entries until the trim).
            assert "streamLength" not in md
            if "lagCount" in md:
                assert int(md["lagCount"]) > 0 and "activationLagCount" in md, f"{name}: lagCount"
                assert "pendingEntriesCount" not in md, f"{name}: lag and pending in one trigger"
            else:
                assert int(md["pendingEntriesCount"]) > 0, f"{name}: pendingEntriesCount"
            for k in ("addressFromEnv", "usernameFromEnv", "passwordFromEnv"):
                if k in md:
                    assert md[k] in env, f"{name}: {k} {md[k]} not in {target}'s env"
            covered.add(m.group(1))
        assert covered == stages, f"{name}: every served stage has a trigger"
        lo, hi = so["spec"].get("minReplicaCount", 0), so["spec"]["maxReplicaCount"]
        assert 0 <= lo <= hi
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
    ta_names = {t["metadata"]["name"] for t in kind(docs, "TriggerAuthentication")}
    for p in comp["patches"]:
        assert os.path.exists(os.path.join(COMPONENT, p["path"])), p["path"]
        if p["target"]["kind"] == "TriggerAuthentication":
            assert p["target"]["name"] in ta_names
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


# kustomize components need kubectl >= 1.21 (kustomize v4); Debian 12's
# kubernetes-client is 1.20 (kustomize v2): too old.  The machines this
# project runs on carry a current kubectl.
KUBECTL_MIN = (1, 21)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{"base": [docs], "tls": [docs]}: `kubectl kustomize` of the base and
    of an overlay that adds the redis-tls-sidecar component."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "rendering the manifests needs kubectl >= 1.21 (kustomize components)"
    r = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    import json
    cv = json.loads(r.stdout)["clientVersion"]
    have = (int(cv["major"]), int(re.match(r"\d+", cv["minor"]).group(0)))
    assert have >= KUBECTL_MIN, f"kubectl {have} is older than {KUBECTL_MIN}: no kustomize components"
    base = kubectl_kustomize(K8S)
    # the component needs an overlay with the base inside its root
    tmp = tmp_path_factory.mktemp("overlay")
    shutil.copytree(K8S, tmp / "base")
    (tmp / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [base]\ncomponents: [base/components/redis-tls-sidecar]\n")
    return {"base": base, "tls": kubectl_kustomize(str(tmp))}


def test_kustomize_renders_base_and_component(rendered, settings):
    for d in kind(rendered["base"], "Deployment"):
        check_deployment(d, settings)
    for d in kind(rendered["tls"], "Deployment"):
        check_deployment(d, settings)
        assert d["spec"]["template"]["spec"]["initContainers"][0]["name"] == "redis-tls"
    for so in kind(rendered["tls"], "ScaledObject"):
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
        ("GET", "dcv:x"), ("SET", "dcv:x", "1"), ("KEYS", "*"), ("FLUSHALL",),
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
    fake = {("dcv-acme", "kek"): "00" * 32, ("dcv-cert-kek", "kek"): "11" * 32, ("dcv-redis", "username"): "dcv-worker",
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


# ---- a deployment that works the first time (issue 16) ---------------------------------
#
# Each test below failed on the manifests before issue 16 and names the
# defect it guards against.

# KEDA releases whose redis-streams scaler is modelled in keda_trigger_errors.
KEDA_RELEASES = [(2, 12), (2, 13), (2, 14), (2, 15), (2, 16), (2, 17), (2, 18), (2, 19), (2, 20)]


def keda_trigger_errors(release, md, auth):
    """What KEDA's redis-streams scaler of RELEASE (major, minor) refuses in
    a trigger's metadata MD, given the names of the parameters its
    TriggerAuthentication supplies (AUTH).  Written from the scaler's parser
    (pkg/scalers/redis_streams_scaler.go and redis_scaler.go) of each
    release: the CRD's schema cannot see these, trigger metadata is a map
    of strings there."""
    errs = []

    def num(k):
        try:
            return int(md[k])
        except (KeyError, ValueError):
            errs.append(f"{k}: not an integer ({md.get(k)!r})")
            return 0

    if not md.get("stream"):
        errs.append("missing redis stream name")
    if not ({"address", "addressFromEnv", "host", "hostFromEnv"} & set(md) or
            {"address", "host"} & set(auth)):
        errs.append("no address or host given")
    lag = "consumerGroup" in md and "lagCount" in md and num("lagCount") != 0
    for k in ("lagCount", "pendingEntriesCount", "activationLagCount", "databaseIndex"):
        if k in md:
            num(k)
    if lag:
        if release <= (2, 15) and "activationLagCount" not in md:
            # 2.12-2.15: "activationLagCount required for Redis lag"
            errs.append("activationLagCount required for Redis lag (absent)")
        if release == (2, 16) and int(md.get("activationLagCount", "0") or 0) == 0:
            # 2.16.0, 2.16.1 refuse 0, the documented default (kedacore/keda
            # issue 6478; 2.17 allows it again)
            errs.append("activationLagCount required for Redis lag (0 is refused)")
    tls_md = md.get("enableTLS")
    if tls_md is not None and tls_md.lower() not in ("true", "false", "1", "0", "t", "f"):
        errs.append(f"enableTLS: not a boolean ({tls_md!r})")
    if tls_md is not None and "tls" in auth and (release >= (2, 16) or tls_md.lower() in ("true", "1", "t")):
        errs.append("unable to set `tls` in both ScaledObject and TriggerAuthentication together")
    if ("cert" in auth) != ("key" in auth):
        errs.append("cert and key go together")
    return errs


def keda_releases_claimed():
    """The KEDA releases deploy/README.md supports: 'KEDA X.Y or newer'."""
    text = open(os.path.join(DEPLOY, "README.md")).read()
    m = re.search(r"KEDA (\d+)\.(\d+) or newer", text)
    assert m, "deploy/README.md states no 'KEDA X.Y or newer'"
    low = (int(m.group(1)), int(m.group(2)))
    return [r for r in KEDA_RELEASES if r >= low]


def trigger_auth_params(docs, trigger):
    ref = (trigger.get("authenticationRef") or {}).get("name")
    if not ref:
        return set()
    tas = [t for t in kind(docs, "TriggerAuthentication") if t["metadata"]["name"] == ref]
    assert len(tas) == 1, f"TriggerAuthentication {ref} is not in the manifests"
    return {p["parameter"] for p in tas[0]["spec"].get("secretTargetRef", [])}


def test_keda_versions_accept_the_triggers(rendered):
    """Defect: README.md said KEDA 2.12 or newer, and KEDA 2.16 refuses
    activationLagCount "0": no ScaledObject scaled there."""
    releases = keda_releases_claimed()
    assert (2, 16) not in releases, "KEDA 2.16 refuses activationLagCount 0"
    assert releases, "no supported KEDA release is modelled"
    for variant, docs in rendered.items():
        for so in kind(docs, "ScaledObject"):
            for i, t in enumerate(so["spec"]["triggers"]):
                auth = trigger_auth_params(docs, t)
                for rel in releases:
                    errs = keda_trigger_errors(rel, t["metadata"], auth)
                    assert not errs, (variant, so["metadata"]["name"], i, rel, errs)
    # the model does tell the releases apart
    lag0 = {"stream": "s", "addressFromEnv": "A", "consumerGroup": "g", "lagCount": "5",
            "activationLagCount": "0"}
    assert keda_trigger_errors((2, 16), lag0, set()) and not keda_trigger_errors((2, 17), lag0, set())


def test_keda_uses_its_own_user(docs):
    """Defect: KEDA read the workers' read-write credentials
    (usernameFromEnv/passwordFromEnv of the Deployment)."""
    tas = {t["metadata"]["name"]: t for t in kind(docs, "TriggerAuthentication")}
    secrets = {s["metadata"]["name"]: s for s in load_all(os.path.join(K8S, "secret.example.yaml"))}
    for so in kind(docs, "ScaledObject"):
        for t in so["spec"]["triggers"]:
            md = t["metadata"]
            assert not {"username", "password", "usernameFromEnv", "passwordFromEnv"} & set(md), \
                f"{so['metadata']['name']}: credentials in the trigger (KEDA would prefer them)"
            ref = t.get("authenticationRef", {}).get("name")
            assert ref in tas, f"{so['metadata']['name']}: no TriggerAuthentication"
            params = {p["parameter"]: p for p in tas[ref]["spec"]["secretTargetRef"]}
            assert {"username", "password"} <= set(params)
            for p in ("username", "password"):
                sec = params[p]["name"]
                assert sec != "dcv-redis", "KEDA must not read the workers' Secret"
                assert params[p]["key"] in secrets[sec]["stringData"], (sec, params[p]["key"])
            assert secrets[params["username"]["name"]]["stringData"]["username"] == "dcv-keda"
    assert "dcv-keda" in acl_users()


def test_keda_user_may_run_what_keda_sends(acl_redis):
    """Defect: the dcv-keda user lacked INFO, which KEDA's lag scaler sends
    before every XINFO GROUPS (it checks redis_version >= 7).  The calls
    below are the scaler's (go-redis: HELLO 3 with AUTH, then PING; the lag
    trigger INFO, XINFO GROUPS, XLEN when the group is missing; the pending
    trigger XPENDING), run as dcv-keda on the shipped ACL."""
    import redis
    admin = client(acl_redis, "dcv-admin")
    for prefix in ("dcv", "{dcv}"):
        s = f"{prefix}:stream:finalize"
        admin.execute_command("XGROUP", "CREATE", s, "workers", "$", "MKSTREAM")
        admin.xadd(s, {"domain": "a.example", "job": "x"})
        # the RESP3 handshake go-redis starts with (redis-cli -3 sends HELLO 3 AUTH)
        r = subprocess.run(["redis-cli", "-3", "-p", str(acl_redis), "--user", "dcv-keda",
                            "--pass", "test-password", "--no-auth-warning", "PING"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and "PONG" in r.stdout, r.stdout + r.stderr
        k = client(acl_redis, "dcv-keda")
        assert k.ping()
        info = k.info()   # INFO without a section, as go-redis sends it
        assert str(info["redis_version"]).startswith("7")
        lag = [g for g in k.xinfo_groups(s) if g["name"] == b"workers"][0]["lag"]
        assert lag == 1
        assert k.xlen(s) == 1
        assert k.xpending(s, "workers")["pending"] == 0
        for denied in (("XADD", s, "*", "k", "v"), ("XACK", s, "workers", "0-1"), ("DEL", s),
                       ("HGETALL", f"{prefix}:account"), ("CONFIG", "GET", "*"),
                       ("XINFO", "GROUPS", f"{prefix}:dead")):
            with pytest.raises(redis.exceptions.ResponseError) as e:
                k.execute_command(*denied)
            assert "NOPERM" in str(e.value) or "permission" in str(e.value).lower(), denied


def test_tls_component_gives_keda_the_ca(rendered):
    """Defect: with the TLS component, KEDA connected to Redis's TLS port
    with no CA, so a private CA's certificate failed verification."""
    docs = rendered["tls"]
    ta = {t["metadata"]["name"]: t for t in kind(docs, "TriggerAuthentication")}
    side = kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    vol = [v for v in side["volumes"] if v["name"] == "redis-tls"][0]
    ca_secret = vol["secret"]["secretName"]
    for so in kind(docs, "ScaledObject"):
        for t in so["spec"]["triggers"]:
            assert t["metadata"].get("enableTLS") == "true"
            params = {p["parameter"]: p for p in ta[t["authenticationRef"]["name"]]["spec"]["secretTargetRef"]}
            assert "ca" in params, "KEDA gets no CA"
            assert (params["ca"]["name"], params["ca"]["key"]) == (ca_secret, "ca.crt"), \
                "KEDA's CA is the sidecar's"
            assert "tls" not in params, "tls in both places: KEDA refuses the trigger"
    # and the base has no TLS at all
    for so in kind(rendered["base"], "ScaledObject"):
        assert not any("enableTLS" in t["metadata"] for t in so["spec"]["triggers"])


def test_pending_entries_keep_a_pod(docs, settings):
    """Defect: only lag triggers, so a group scaled to zero with entries
    left pending by a stopped pod stayed at zero until new work arrived.
    Each served stream has a lag trigger and a pendingEntriesCount trigger;
    the pending one activates on one pending entry (no activation
    threshold)."""
    deps = {d["metadata"]["name"]: d for d in kind(docs, "Deployment")}
    for so in kind(docs, "ScaledObject"):
        by_stream = {}
        for t in so["spec"]["triggers"]:
            md = t["metadata"]
            by_stream.setdefault(md["stream"], set()).add("lag" if "lagCount" in md else "pending")
            if "lagCount" not in md:
                assert md.get("consumerGroup") == settings["group"], "pending needs the group"
                assert int(md.get("activationLagCount", "0")) == 0
                # target per pod: the jobs one pod holds (one per thread)
                assert int(md["pendingEntriesCount"]) == settings["concurrency"]
        stages = stages_of(deps[so["spec"]["scaleTargetRef"]["name"]])
        want = {f"{settings['prefix']}:stream:{s}": {"lag", "pending"} for s in stages}
        assert by_stream == want, (so["metadata"]["name"], by_stream)


def ghostunnel_listeners(args):
    """{port: host} of what ghostunnel's arguments make it listen on."""
    out = {}
    for a in args:
        m = re.fullmatch(r"--(?:listen|status)=(?:https?://)?(.*):(\d+)", a)
        if m:
            out[int(m.group(2))] = m.group(1)
    return out


def test_sidecar_startup_probe_reaches_a_listener(rendered):
    """Defect: the sidecar's startup probe connected to port 6379 of the pod
    IP (the kubelet probes from outside the pod), where nothing listens:
    ghostunnel listens on 127.0.0.1 only.  The probe never succeeded, the
    sidecar was restarted forever and the worker never started."""
    for d in kind(rendered["tls"], "Deployment"):
        ic = [c for c in d["spec"]["template"]["spec"]["initContainers"] if c["name"] == "redis-tls"][0]
        ports = {p["name"]: p["containerPort"] for p in ic.get("ports", [])}
        listen = ghostunnel_listeners(ic["args"])
        for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = ic.get(probe_name)
            if not probe:
                continue
            action = probe.get("httpGet") or probe.get("tcpSocket")
            assert action, f"{probe_name}: exec probes need a shell the image may lack"
            assert "host" not in action, "a probe host is dialled from the node, not the pod"
            port = ports.get(action["port"], action["port"])
            assert port in listen, f"{probe_name} on {port}: nothing listens there ({listen})"
            assert listen[port] in ("0.0.0.0", "", "[::]"), \
                f"{probe_name} on {port}: ghostunnel listens on {listen[port]} only, the kubelet dials the pod IP"
            if probe.get("httpGet"):
                assert probe["httpGet"]["path"] == "/_status"
        assert "startupProbe" in ic, "the worker must wait for the tunnel"
        assert listen.get(6379) == "127.0.0.1", "plaintext RESP stays on loopback"


def service_link_env(service, port=9464, ip="10.96.0.12"):
    """The variables the kubelet injects into every container of a pod for a
    Service in its namespace, unless enableServiceLinks is false."""
    n = re.sub(r"[^A-Z0-9]", "_", service.upper())
    return {f"{n}_SERVICE_HOST": ip, f"{n}_SERVICE_PORT": str(port),
            f"{n}_PORT": f"tcp://{ip}:{port}", f"{n}_PORT_{port}_TCP": f"tcp://{ip}:{port}",
            f"{n}_PORT_{port}_TCP_PROTO": "tcp", f"{n}_PORT_{port}_TCP_PORT": str(port),
            f"{n}_PORT_{port}_TCP_ADDR": ip}


def test_service_links_cannot_override_the_config(docs, kustomization, dcv_yaml_path):
    """Defect: without enableServiceLinks: false, a Service named
    dcv-metrics (a natural name for a metrics Service) injects
    DCV_METRICS_PORT=tcp://..., which the worker reads as metrics.port and
    refuses: every worker crash-loops.  Run the real dcv-worker with the
    environment the kubelet would give it next to such Services."""
    worker = os.path.join(harness.BUILD, "workers", "dcv-worker")
    assert os.path.exists(worker), f"{worker} is not built"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DCV_")}
    services = ("dcv-metrics", "dcv-redis", "dcv-acme", "dcv-worker")
    for dep in kind(docs, "Deployment"):
        spec = dep["spec"]["template"]["spec"]
        env = dict(base_env)
        if spec.get("enableServiceLinks", True):
            for svc in services:
                env.update(service_link_env(svc))
        # the container's own variables win over the injected ones
        env.update(deployment_env(dep, kustomization))
        args = list(worker_container(dep)["args"])
        args[args.index("-c") + 1] = dcv_yaml_path
        r = subprocess.run([worker, "--check-config"] + args, env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"{dep['metadata']['name']}: {r.stdout}{r.stderr}"
    # the injected variables do break the worker: this is what the flag prevents
    env = dict(base_env, **deployment_env(kind(docs, "Deployment")[0], kustomization),
               **service_link_env("dcv-metrics"))
    r = subprocess.run([worker, "--check-config", "-c", dcv_yaml_path], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "DCV_METRICS_PORT" in r.stderr, r.stdout + r.stderr


def test_timeouts_nest(docs, settings):
    """Defect: a 60 s visibility timeout, shorter than a finalize of several
    30 s ACME requests (a job still running was handed to a second worker),
    and a 25 s drain, shorter than one ACME request (a stopped pod killed
    its jobs half-way).  One job's deadline < drain < grace period, and the
    visibility timeout is several job deadlines."""
    job, drain, vis = settings["job_ms"], settings["drain_ms"], settings["visibility_ms"]
    assert drain >= job, f"drain {drain} ms is shorter than one job ({job} ms)"
    assert vis >= 3 * job, f"visibility {vis} ms is not a few job deadlines ({job} ms)"
    for d in kind(docs, "Deployment"):
        grace = d["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        assert grace * 1000 >= drain + 5000, f"{d['metadata']['name']}: grace {grace}s, drain {drain} ms"
    # the README's numbers are the shipped ones
    text = open(os.path.join(DEPLOY, "README.md")).read()
    assert f"`worker.drain_ms` ({drain // 1000} s)" in text
    assert f"`worker.visibility_timeout_ms` ({vis // 1000} s)" in text


def test_pdbs_evict_unready_pods(docs):
    """Defect: with the default unhealthyPodEvictionPolicy (IfHealthyBudget),
    no worker counts as healthy while Redis is down (they all report not
    ready), the budget allows no eviction, and node drains hang until Redis
    is back."""
    for p in kind(docs, "PodDisruptionBudget"):
        assert p["spec"].get("unhealthyPodEvictionPolicy") == "AlwaysAllow", p["metadata"]["name"]


def test_redis_has_a_memory_limit(acl_redis):
    """Defect: maxmemory was unset, so noeviction never refused a write and
    Redis grew until it was OOM-killed.  The shipped redis.conf sets a limit,
    and at the limit a write is refused (OOM error), nothing evicted."""
    admin = client(acl_redis, "dcv-admin")
    shipped = int(admin.config_get("maxmemory")["maxmemory"])
    assert shipped > 0, "redis.conf sets no maxmemory"
    assert admin.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    import redis
    w = client(acl_redis, "dcv-worker")
    w.hset("dcv:domain:keep.example", "state", "issued")
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory", str(used + 512 * 1024))
    try:
        with pytest.raises(redis.exceptions.ResponseError) as e:
            for i in range(10000):
                w.xadd("dcv:stream:verify-cname", {"domain": f"d{i}.example", "job": "x" * 1024})
        assert "OOM" in str(e.value)
        assert w.hget("dcv:domain:keep.example", "state") == b"issued", "nothing is evicted"
    finally:
        admin.config_set("maxmemory", str(shipped))
        admin.delete("dcv:stream:verify-cname")


def test_rendered_manifests_match_the_schemas(rendered):
    """Every object of the rendered base and TLS overlay is valid for each
    Kubernetes release the README supports and for KEDA's API: schemas
    generated from the types of npm packages (tests/integration/k8s_schemas),
    strict (an unknown or misspelt field is an error, as kubectl's strict
    validation makes it)."""
    import k8s_schemas
    schemas = k8s_schemas.load()
    text = open(os.path.join(DEPLOY, "README.md")).read()
    m = re.search(r"Kubernetes (\d+)\.(\d+) or newer", text)
    assert m, "deploy/README.md states no 'Kubernetes X.Y or newer'"
    low = (int(m.group(1)), int(m.group(2)))
    versions = [v for v in k8s_schemas.KUBERNETES if tuple(map(int, v.split("-")[1].split("."))) >= low]
    assert versions, f"no schema for a Kubernetes release >= {low}"
    seen = set()
    for variant, docs in rendered.items():
        for d in docs:
            api, k = d["apiVersion"], d["kind"]
            releases = [k8s_schemas.KEDA] if api.startswith("keda.sh/") else versions
            for rel in releases:
                schema = schemas.get((rel, api, k))
                assert schema, f"no schema for {api} {k} ({rel})"
                errs = k8s_schemas.errors(schema, d)
                assert not errs, (variant, rel, k, d["metadata"]["name"], errs)
            seen.add(k)
    assert {"Deployment", "PodDisruptionBudget", "ScaledObject", "TriggerAuthentication",
            "ConfigMap", "ServiceAccount"} <= seen
    # the schemas do catch what they should: a misspelt field, a bad type
    dep = [d for d in rendered["base"] if d["kind"] == "Deployment"][0]
    import copy
    bad = copy.deepcopy(dep)
    bad["spec"]["template"]["spec"]["enableServiceLink"] = False
    assert k8s_schemas.errors(schemas[(versions[0], "apps/v1", "Deployment")], bad)
    so = [d for d in rendered["base"] if d["kind"] == "ScaledObject"][0]
    bad = copy.deepcopy(so)
    bad["spec"]["triggers"][0]["metadata"]["lagCount"] = 20
    assert k8s_schemas.errors(schemas[(k8s_schemas.KEDA, "keda.sh/v1alpha1", "ScaledObject")], bad)
    for secret in load_all(os.path.join(K8S, "secret.example.yaml")):
        assert not k8s_schemas.errors(schemas[(versions[0], "v1", "Secret")], secret)
