#!/bin/bash
# The main job on embedded defaults, on this machine: installs the packages,
# builds, starts a private redis-server on a free loopback port, runs two
# dcv-worker processes, onboards demo domains and shows them moving through
# the five stages.  Everything it starts is stopped by PID when it ends.
#
# The stages that talk to DNS and ACME are not in place yet: the workers run
# the built-in no-op handlers (worker.handlers: noop), which move each job
# through verify-cname, create-order, provision-txt, finalize and
# offboard-check.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

tmp=$(mktemp -d /tmp/dcv-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	--maxmemory-policy noeviction --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

export DCV_REDIS_URL="redis://127.0.0.1:$port/0"
export DCV_VALIDATION_ZONE="acme-validation.demo.test"
export DCV_METRICS_PORT=0   # two workers on one host: no health port
export DCV_WORKER_HANDLERS=noop
ctl=build/workers/dcvctl

echo "== onboarding demo domains (redis on 127.0.0.1:$port)"
for d in www.example.com shop.example.org '*.example.net'; do
	$ctl onboard "$d" --tenant demo
done
seq 1 2000 | sed 's/^/customer-/; s/$/.example.com/' >"$tmp/bulk.txt"
$ctl onboard --file "$tmp/bulk.txt"

echo "== starting two workers"
for i in 1 2; do
	build/workers/dcv-worker >"$tmp/worker-$i.log" 2>&1 &
	pids+=($!)
done

for _ in $(seq 200); do
	done_n=$(redis-cli -p "$port" hget dcv:stats done)
	[ "${done_n:-0}" -ge 2003 ] && break
	sleep 0.05
done

echo "== per-domain state (dcvctl status)"
for d in www.example.com shop.example.org '*.example.net'; do
	$ctl status "$d"
	echo
done
echo "== the fleet (dcvctl stats)"
$ctl stats
echo "== worker log (first lines)"
head -n 3 "$tmp/worker-1.log"
