#!/bin/bash
# The long soak (tests/soak/README.md): months of lifecycle in minutes
# against the real fleet, Redis, Pebble and BIND, then the oracle's figures.
#
#   tests/soak/run.sh [--days N] [--domains N] [--day-seconds S] [--keep]
#
# Defaults: 180 days of 4 s (12 minutes), 500 domains.  Builds nothing: it
# uses the programs of ./build (or $DCV_BUILD_DIR).  Exit 0 when the oracle
# found no violation.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DCV_SOURCE_DIR=${DCV_SOURCE_DIR:-$(pwd)}
export DCV_BUILD_DIR=${DCV_BUILD_DIR:-$(pwd)/build}
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 tests/soak/soak.py "$@"
