#!/bin/bash
# Installs the Debian 12 packages that building, testing and the local demo
# need.  Idempotent; skips apt when everything is already there.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config
	libhiredis-dev libmsgpack-dev libyaml-dev libcurl4-openssl-dev libssl-dev
	libc-ares-dev libjansson-dev libcmocka-dev libldns-dev libmicrohttpd-dev
	# the fuzz harnesses (tests/fuzz): clang, and libFuzzer with its
	# sanitizer runtimes
	clang libclang-rt-14-dev
	# the real servers the tests and the demo run on loopback
	redis-server redis-tools pebble bind9 bind9-dnsutils
	# step-ca, a second ACME server, built by the tests from its packaged
	# Go source (tests/stepca/build.sh; offline, GOPATH mode)
	golang-go golang-github-smallstep-certificates-dev
	pdns-server pdns-backend-sqlite3 knot dnsperf
	# test drivers
	python3 python3-pytest python3-redis python3-msgpack python3-yaml yamllint
	python3-cryptography openssl sqlite3 ca-certificates curl
	# the web console in a real browser (tests/integration/test_console.py)
	chromium chromium-driver python3-selenium
	# the manifests against their JSON schemas (tests/integration/k8s_schemas.py);
	# promtool and a real Prometheus for deploy/monitoring
	python3-jsonschema prometheus
	# the issuance benchmark's peers (bench/issuance.sh)
	lego uacme
)
# kubectl (for `kubectl kustomize` with components, 1.21 or newer) is not
# installed here: Debian 12's kubernetes-client is 1.20, too old; the
# machines this project runs on carry a current one.
# The node example (deploy/examples/node) and the schema check
# (tests/integration/k8s_schemas) need node and npm: Debian's, unless
# the machine has its own (NodeSource's nodejs carries npm, and Debian's npm
# package cannot be installed beside it).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	# services are started by the tests themselves, never by the packages
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi
