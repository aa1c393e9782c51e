#!/usr/bin/env bash
# Redis's own ceiling for one stage transition, measured with redis-benchmark
# against a running server.
#
# One transition is one call of a Lua script (EVALSHA) that does
#   XREADGROUP GROUP g c COUNT 1 STREAMS <stream> >   (take one new entry)
#   XACK <stream> g <id>                              (acknowledge it)
#   XADD <stream> * domain ... job ...                (forward it)
# The script forwards to the stream it reads from, so the backlog of
# undelivered entries stays the same and the stream can never run dry however
# many calls are made.  After each run the stream must have grown by exactly
# the number of calls (one XADD per successful transition): otherwise a call
# failed or found nothing and the figure is rejected.
#
# Usage: bench/redis_ceiling.sh -p PORT [-H HOST] [-n CALLS] [-c CLIENTS]
#                               [-P PIPELINE]
# Prints one line:
#   redis_ceiling unpipelined_per_sec=N pipelined_per_sec=N calls=N clients=N pipeline=N
# Uses only the keys bench:ceiling:*, and deletes them when done.
set -euo pipefail

host=127.0.0.1
port=
calls=200000
clients=50
pipeline=16
backlog=1000

usage() {
	echo "usage: $0 -p PORT [-H HOST] [-n CALLS] [-c CLIENTS] [-P PIPELINE]" >&2
	exit 2
}

die() {
	echo "redis_ceiling.sh: $*" >&2
	exit 1
}

is_count() {
	[[ $1 =~ ^[1-9][0-9]{0,9}$ ]]
}

while getopts "H:p:n:c:P:h" opt; do
	case $opt in
	H) host=$OPTARG ;;
	p) port=$OPTARG ;;
	n) calls=$OPTARG ;;
	c) clients=$OPTARG ;;
	P) pipeline=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage
[[ -n $port ]] || usage
for v in "$port" "$calls" "$clients" "$pipeline"; do
	is_count "$v" || die "not a positive integer: $v"
done
for prog in redis-cli redis-benchmark; do
	command -v "$prog" >/dev/null || die "$prog not found (Debian package redis-tools)"
done

stream=bench:ceiling:stream
group=g
# A job of the size dcvfleet carries (msgpack map of about 120 bytes).
payload=$(printf 'x%.0s' $(seq 1 120))

rcli() {
	timeout 30 redis-cli -h "$host" -p "$port" "$@"
}

[[ $(rcli PING 2>/dev/null) == PONG ]] || die "no Redis answering at $host:$port"

# The transition.  KEYS[1] stream, ARGV[1] group.  Returns 1, or 0 when the
# stream had nothing new (which the length check below would catch).
transition_lua='
local r = redis.call("XREADGROUP", "GROUP", ARGV[1], "c", "COUNT", 1,
                     "STREAMS", KEYS[1], ">")
if not r then return 0 end
local e = r[1][2][1]
redis.call("XACK", KEYS[1], ARGV[1], e[1])
redis.call("XADD", KEYS[1], "*", unpack(e[2]))
return 1
'
# Fills KEYS[1] with ARGV[1] entries (domain, job) and creates the group.
prefill_lua='
redis.call("DEL", KEYS[1])
for i = 1, tonumber(ARGV[1]) do
  redis.call("XADD", KEYS[1], "*", "domain", "bench-" .. i .. ".example.com",
             "job", ARGV[3])
end
redis.call("XGROUP", "CREATE", KEYS[1], ARGV[2], "0")
return redis.call("XLEN", KEYS[1])
'

sha=$(rcli SCRIPT LOAD "$transition_lua")
[[ $sha =~ ^[0-9a-f]{40}$ ]] || die "SCRIPT LOAD failed: $sha"

cleanup() {
	rcli DEL "$stream" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# run_once PIPELINE: prints the calls per second of one redis-benchmark run.
run_once() {
	local p=$1 len0 len1 out rps
	len0=$(rcli EVAL "$prefill_lua" 1 "$stream" "$backlog" "$group" "$payload")
	[[ $len0 == "$backlog" ]] || die "prefill failed: $len0"
	# Bounded: even at 1,000 calls per second 200,000 calls end in time.
	out=$(timeout 600 redis-benchmark -h "$host" -p "$port" -n "$calls" \
		-c "$clients" -P "$p" --csv \
		EVALSHA "$sha" 1 "$stream" "$group" 2>&1) ||
		die "redis-benchmark failed (P=$p): $out"
	len1=$(rcli XLEN "$stream")
	if [[ $((len1 - len0)) -ne $calls ]]; then
		die "P=$p: $((len1 - len0)) transitions for $calls calls (errors or a dry stream): $out"
	fi
	rps=$(printf '%s\n' "$out" | awk -F'"' '$2 ~ /^EVALSHA/ { print $4 }' | tail -n 1)
	[[ $rps =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "cannot read the rate (P=$p): $out"
	printf '%s\n' "$rps"
}

unpiped=$(run_once 1)
piped=$(run_once "$pipeline")
printf 'redis_ceiling unpipelined_per_sec=%s pipelined_per_sec=%s calls=%s clients=%s pipeline=%s\n' \
	"$unpiped" "$piped" "$calls" "$clients" "$pipeline"
