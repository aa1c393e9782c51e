#!/bin/sh
# ACME client benchmarks (see bench/ACME.md).  Usage:
#   bench/acme_bench.sh BUILD_DIR [issuances]
# 1. ES256 JWS signatures/s on one core vs `openssl speed -seconds 3
#    ecdsap256` (sign/s) measured in the same run: the ratio is how close the
#    client's signing path comes to the raw ceiling.
# 2. Complete issuances/s (newOrder, authz, TXT via pebble-challtestsrv,
#    respond, poll, finalize with a new P-256 key and CSR, download) against a
#    local Pebble with PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0, one process.
set -eu
BUILD=${1:?usage: acme_bench.sh BUILD_DIR [issuances]}
N=${2:-100}
SRC=$(cd "$(dirname "$0")/.." && pwd)

ours=$("$BUILD/bench/acme_bench_jws" 3 | awk '{print $2}')
ceiling=$(openssl speed -seconds 3 ecdsap256 2>/dev/null |
          awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}')
echo "jws_es256_per_sec_per_core $ours"
echo "openssl_speed_ecdsap256_sign_per_sec $ceiling"
awk -v a="$ours" -v b="$ceiling" 'BEGIN { printf "ratio %.2f\n", a / b }'

PYTHONPATH="$SRC/tests/integration" DCV_BUILD_DIR="$BUILD" DCV_SOURCE_DIR="$SRC" \
python3 - "$N" <<'PY'
import json, os, subprocess, sys
import harness, pebble_env
n = int(sys.argv[1])
tmp = harness.tmpdir("dcv-acme-bench-")
p = pebble_env.Pebble(tmp)
try:
    drv = harness.program("acme_driver")
    g = [drv, "--dir", p.directory, "--ca", p.ca, "--key", os.path.join(tmp, "k.pem")]
    subprocess.run(g + ["newkey"], check=True, capture_output=True)
    acct = json.loads(subprocess.run(g + ["register", "--email", "b@example.com"],
                      check=True, capture_output=True, text=True).stdout)["account"]
    t = os.times()
    r = subprocess.run(g + ["--account", acct, "issue", "--names", "bench.example.com",
                            "--challtestsrv", p.challtestsrv, "--count", str(n)],
                       capture_output=True, text=True)
    t2 = os.times()
    out = json.loads(r.stdout)
    assert out["status"] == "ok", out
    cpu = (t2.children_user - t.children_user) + (t2.children_system - t.children_system)
    print(f"issuances {n} seconds {out['seconds']:.2f} per_sec {n / out['seconds']:.1f} "
          f"client_cpu_ms_per_cert {1000 * cpu / n:.2f}")
finally:
    p.stop()
    harness.rmtree(tmp)
PY
