#!/usr/bin/python3
"""Delegation checks per second against one local authoritative named that
holds N delegated names, beside that server's ceiling measured by dnsperf
on the same queries, in the same run.  See bench/DNS.md.

    bench/dns_bench.py BUILD_DIR [--names 100000] [--seconds 8] [--window 400]
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402
from dns_env import Named, yaml_dump  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--names", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--window", type=int, default=400)
    a = ap.parse_args()
    harness.BUILD = a.build
    tmp = harness.tmpdir("dcv-dnsbench-")
    soa = "@ SOA ns1.customer.bench. h.customer.bench. 1 3600 600 86400 300\n"
    lines = ["$TTL 300", soa, "@ NS ns1.customer.bench.", "ns1 A 192.0.2.1"]
    names = []
    for i in range(a.names):
        d = f"d{i:06d}.customer.bench"
        t = f"{d}.validation.bench"
        lines.append(f"_acme-challenge.d{i:06d} CNAME {t}.")
        names.append((d, t))
    named = None
    try:
        named = Named(tmp, "auth", {
            "customer.bench": ("type primary;", "\n".join(lines) + "\n"),
            "validation.bench": ("type primary;", "$TTL 300\n" + soa.replace("customer", "validation") +
                                 "@ NS ns1.customer.bench.\n"),
        }, extra_options="recursion yes; allow-recursion { 127.0.0.1; };")
        # The check's questions, one line each, for dnsperf.
        qfile = os.path.join(tmp, "queries.txt")
        with open(qfile, "w") as f:
            for d, _ in names:
                f.write(f"{d} SOA\n_acme-challenge.{d} TXT\n_acme-challenge.{d} TXT\n")
        nfile = os.path.join(tmp, "names.txt")
        with open(nfile, "w") as f:
            f.writelines(f"{d} {t}\n" for d, t in names)
        cfg = os.path.join(tmp, "dns.yaml")
        with open(cfg, "w") as f:
            f.write(yaml_dump({"dns": {
                "resolvers": [f"127.0.0.1:{named.port}"], "timeout_ms": 2000, "tries": 2,
                "confirmations": 1, "port_map": [f"192.0.2.1=127.0.0.1:{named.port}"],
                "allowed_ns_ranges": ["192.0.2.1"]}}))

        out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(named.port), "-d", qfile,
                              "-l", str(a.seconds), "-c", "1", "-T", "1", "-q", str(a.window)],
                             capture_output=True, text=True, check=True).stdout
        qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
        lost = re.search(r"Queries lost:\s+(\d+)", out).group(1)

        res = json.loads(subprocess.run([harness.program("dns_bench"), cfg, nfile, str(a.seconds),
                                         str(a.window)], capture_output=True, text=True,
                                        check=True).stdout)
        checks = res["checks"] / res["seconds"]
        ours_qps = res["queries"] / res["seconds"]
        per = res["queries"] / max(res["checks"], 1)
        print(f"names in zone:            {a.names}")
        print(f"dnsperf (server ceiling): {qps:,.0f} queries/s on the check's 3 queries per name "
              f"(= {qps / 3:,.0f} checks/s), lost {lost}")
        print(f"dcv delegation checks:    {checks:,.0f} checks/s ({res['ok']}/{res['checks']} ok), "
              f"{ours_qps:,.0f} queries/s, {per:.2f} queries/check, window {a.window}")
        print(f"ratio (checks/s vs dnsperf checks/s): {checks / (qps / 3):.2f}  (goal >= 0.5)")
    finally:
        if named:
            named.stop()
        harness.rmtree(tmp)


if __name__ == "__main__":
    main()
