#!/usr/bin/env bash
# End-to-end issuance benchmark (bench/ISSUANCE.md): certificates per second
# and median enqueue->issued time, DNS-01 through CNAME delegation, against
# one local Pebble and one local BIND named started by the driver; lego and
# uacme one at a time and 8 at a time beside dcvfleet, plus the server side's
# CPU ceiling, all in the same run.
#
# Usage: bench/issuance.sh [-b BUILD_DIR] [driver options]
#   -b, --build DIR   dcvfleet build (workers/dcv-worker, workers/dcvctl);
#                     built here with cmake when the dcvfleet phase is
#                     selected and they are missing (default: build)
#   driver options:   see `python3 bench/issuance.py --help`, e.g.
#                     --m1 20 --mp 64 --par 8 --dcv-domains 200
#                     --phases lego,uacme,dcvfleet
# Installs nothing: it checks the Debian packages and names the missing ones.
# Needs root (named; `unshare -m` + a bind mount for uacme's CA store).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
say() { printf '%s\n' "issuance.sh: $*" >&2; }

build=build
phases=lego,uacme,dcvfleet
args=()
while (($# > 0)); do
	case $1 in
	-b | --build)
		(($# >= 2)) || { say "$1 needs a directory"; exit 2; }
		build=$2
		shift 2
		;;
	--build=*) build=${1#--build=}; shift ;;
	--phases)
		(($# >= 2)) || { say "--phases needs a list"; exit 2; }
		phases=$2
		args+=("$1" "$2")
		shift 2
		;;
	--phases=*) phases=${1#--phases=}; args+=("$1"); shift ;;
	-h | --help)
		sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) args+=("$1"); shift ;;
	esac
done
want() { [[ ,$phases, == *,"$1",* ]]; }

# ---- prerequisites: packages, not installed here ----
((EUID == 0)) || { say "run as root (named, unshare -m and mount for uacme)"; exit 2; }
need=(pebble bind9 bind9-dnsutils openssl python3 util-linux)
want dcvfleet && need+=(redis-server python3-redis)
want lego && need+=(lego)
want uacme && need+=(uacme)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
	say "missing Debian packages: ${missing[*]}"
	say "install them with: apt-get install ${missing[*]}"
	exit 2
fi
for prog in pebble named dig nsupdate openssl python3 unshare mount; do
	command -v "$prog" >/dev/null || { say "$prog not found on PATH"; exit 2; }
done
want lego && { command -v lego >/dev/null || { say "lego not found"; exit 2; }; }
want uacme && { command -v uacme >/dev/null || { say "uacme not found"; exit 2; }; }

# ---- dcvfleet build, only when that phase runs ----
if want dcvfleet; then
	if [[ $build != /* && ! -d $build ]]; then
		build=$root/$build
	fi
	if [[ ! -x $build/workers/dcv-worker || ! -x $build/workers/dcvctl ]]; then
		say "building dcvfleet (Release) into $build"
		cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$build" -j"$(nproc)" --target dcv-worker dcvctl >/dev/null
	fi
	build=$(cd "$build" && pwd)
fi

# Debian's python3 has python3-redis (the dcvfleet phase and harness.Redis
# use it); a python3 earlier on PATH (pyenv, a venv) may not.
py=python3
if ! python3 -c 'import redis' 2>/dev/null && [[ -x /usr/bin/python3 ]]; then
	py=/usr/bin/python3
fi
if want dcvfleet && ! "$py" -c 'import redis' 2>/dev/null; then
	say "the dcvfleet phase needs python3-redis: apt-get install python3-redis"
	exit 2
fi
exec "$py" "$here/issuance.py" --build "$build" "${args[@]}"
