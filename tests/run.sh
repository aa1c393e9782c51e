#!/bin/bash
# The whole test suite from a fresh Debian 12 machine: installs the packages,
# builds twice (plain, and AddressSanitizer + UndefinedBehaviorSanitizer),
# runs every unit and integration test in both builds, then builds the fuzz
# harnesses (clang, libFuzzer) and runs each for 20 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

deploy/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCV_WERROR=ON
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDCV_WERROR=ON -DDCV_SANITIZE=ON
cmake --build build-asan -j"$jobs"

ctest --test-dir build --output-on-failure
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure
# every fuzz harness for 20 s, two at a time (tests/fuzz/README.md)
tests/fuzz/run.sh -t 20 -j 2
echo "all tests passed in $top/build and $top/build-asan; fuzzers clean in $top/build-fuzz"
