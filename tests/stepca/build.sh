#!/bin/bash
# Builds step-ca 0.19 for the tests, offline, from Debian's packaged Go
# source (golang-go, golang-github-smallstep-certificates-dev; see
# deploy/install-deps.sh) in GOPATH mode.  Usage: build.sh OUT_BINARY
# Does nothing when OUT_BINARY is newer than main.go; fails loudly (non-zero,
# the reason on stderr) when a package is missing or the build fails.
set -euo pipefail
out=${1:?usage: build.sh OUT_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
src=/usr/share/gocode/src/github.com/smallstep/certificates/commands
# one build at a time (two test processes may ask at once)
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [ -x "$out" ] && [ "$out" -nt "$here/main.go" ] && [ "$out" -nt "$0" ]; then
	exit 0
fi
command -v go >/dev/null || { echo "build.sh: no go on PATH (install golang-go)" >&2; exit 1; }
[ -d "$src" ] || { echo "build.sh: no $src (install golang-github-smallstep-certificates-dev)" >&2; exit 1; }
work=$(dirname "$out")/stepca-gopath
mkdir -p "$work/src/dcvfleet-stepca" "$work/cache"
cp "$here/main.go" "$work/src/dcvfleet-stepca/main.go"
# GOPROXY=off: nothing is fetched, whatever the environment says
(cd "$work/src/dcvfleet-stepca" &&
	GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" \
	GOPROXY=off GOFLAGS='' CGO_ENABLED=0 go build -o "$out.tmp" .)
mv "$out.tmp" "$out"
