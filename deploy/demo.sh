#!/bin/bash
# The main job on embedded defaults, on this machine, for real: installs the
# packages (deploy/install-deps.sh), builds into build/, then runs the demo's
# driver, deploy/demo.py, which
#   - starts on loopback, on free ports: redis-server, BIND (authoritative
#     servers P and S for the demo customers' zones and the validation zone,
#     a resolver for the workers and one for the CA) and Pebble, the ACME
#     test CA; the same environment the end-to-end tests use
#     (tests/integration/fleet_env.py),
#   - registers the fleet's ACME account (dcvctl account register) and runs
#     two dcv-worker processes with all five stages,
#   - onboards four demo domains (dcvctl onboard, which prints the CNAME the
#     customer must create): two whose CNAME and A record are already in
#     place, an apex + www certificate, and one whose customer creates the
#     CNAME 5 s after onboarding,
#   - prints each event from dcv:events and each domain's state as it moves
#     through verify-cname, create-order, provision-txt and finalize, and for
#     every certificate issued its names, serial, expiry and chain (verified
#     against Pebble's root),
#   - ends with dcvctl status and dcvctl stats once all are issued (exit 1 if
#     they are not within 120 s), and stops everything it started by PID,
#     also on Ctrl-C.
# Options are passed on to the driver (--timeout S, --keep to keep the logs).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

exec /usr/bin/python3 deploy/demo.py --build-dir build "$@"
