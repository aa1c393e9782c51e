#!/usr/bin/env bash
# The no-op pipeline benchmark (bench/README-pipeline.md).
#
# Starts its own redis-server on a free loopback port and, against it:
#   (a) the Redis ceiling: redis_ceiling.sh (one Lua transition per call);
#   (b) dcvfleet: N jobs enqueued with `dcvctl onboard --file`, then K
#       dcv-worker processes with the no-op handlers, timed from their start
#       until dcv:stats done == N (5 stage transitions per job);
#   (c) the peer: a chain of five BullMQ queues (bullmq/chain.js), same N.
# The database is flushed between phases.  Prints a summary block and one
# machine-readable "summary ..." line.  Exit status 0 when every phase
# measured, 1 when one failed (the others still run), 2 on bad usage.
#
# Usage: bench/pipeline.sh [-n JOBS] [-k WORKER_PROCS] [-b BUILD_DIR]
#                          [-t THREADS] [-B BATCH] [-C BULLMQ_CONCURRENCY]
#                          [-m CEILING_CALLS] [-T TIMEOUT_S] [-s PHASES]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

jobs=100000
procs=2
build=build
threads=     # dcv-worker threads per process (DCV_WORKER_CONCURRENCY)
batch=       # entries per XREADGROUP (DCV_WORKER_BATCH)
bull_conc=50
ceiling_calls=200000
timeout_s=120
phases=ceiling,dcvfleet,bullmq

usage() {
	cat >&2 <<EOF
usage: $0 [-n JOBS] [-k WORKER_PROCS] [-b BUILD_DIR] [options]
  -n JOBS        jobs through the pipeline (default 100000)
  -k PROCS       dcv-worker processes (default 2)
  -b DIR         build directory holding workers/dcv-worker and workers/dcvctl
                 (default build; a relative path is tried from the current
                 directory, then from the source tree)
  -t THREADS     threads per dcv-worker (default: the worker's own)
  -B BATCH       entries per XREADGROUP in dcv-worker (default: the worker's own)
  -C CONC        BullMQ concurrency per Worker (default 50)
  -m CALLS       redis-benchmark calls per ceiling run (default 200000)
  -T SECONDS     deadline for each timed phase (default 120)
  -s PHASES      comma-separated subset of ceiling,dcvfleet,bullmq
EOF
	exit 2
}

say() { printf '%s\n' "pipeline.sh: $*" >&2; }
die() {
	say "$*"
	exit 1
}
is_count() { [[ $1 =~ ^[1-9][0-9]{0,9}$ ]]; }

while getopts "n:k:b:t:B:C:m:T:s:h" opt; do
	case $opt in
	n) jobs=$OPTARG ;;
	k) procs=$OPTARG ;;
	b) build=$OPTARG ;;
	t) threads=$OPTARG ;;
	B) batch=$OPTARG ;;
	C) bull_conc=$OPTARG ;;
	m) ceiling_calls=$OPTARG ;;
	T) timeout_s=$OPTARG ;;
	s) phases=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage
for v in "$jobs" "$procs" "$bull_conc" "$ceiling_calls" "$timeout_s" ${threads:+"$threads"} ${batch:+"$batch"}; do
	is_count "$v" || { say "not a positive integer: $v"; usage; }
done
want() { [[ ,$phases, == *,"$1",* ]]; }
for p in ${phases//,/ }; do
	case $p in ceiling | dcvfleet | bullmq) ;; *) say "unknown phase: $p"; usage ;; esac
done

# ---- prerequisites, checked before anything starts ----
for prog in redis-server redis-cli timeout awk; do
	command -v "$prog" >/dev/null || die "$prog not found"
done
if want ceiling; then
	command -v redis-benchmark >/dev/null || die "redis-benchmark not found (Debian package redis-tools)"
fi
if want dcvfleet; then
	if [[ $build != /* && ! -d $build && -d $root/$build ]]; then
		build=$root/$build
	fi
	worker_bin=$build/workers/dcv-worker
	ctl_bin=$build/workers/dcvctl
	if [[ ! -x $worker_bin || ! -x $ctl_bin ]]; then
		die "no dcvfleet build in '$build' (need workers/dcv-worker and workers/dcvctl):
  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2
  or give another build directory with -b, or leave dcvfleet out with -s ceiling,bullmq"
	fi
fi
if want bullmq; then
	command -v node >/dev/null || die "node not found (Node.js 18 or later)"
	if [[ ! -d $here/bullmq/node_modules/bullmq ]]; then
		command -v npm >/dev/null || die "npm not found and $here/bullmq/node_modules is missing"
	fi
fi

# ---- state and clean-up ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dcv-bench.XXXXXX")
redis_pid=
child_pid=
worker_pids=()

# await_pid PID GRACE_S: waits up to GRACE_S seconds for PID (already sent
# SIGTERM) to exit, then SIGKILLs it.
await_pid() {
	local pid=$1 grace=$2 i
	for ((i = 0; i < grace * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	say "pid $pid still running ${grace}s after SIGTERM: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

# stop_pid PID GRACE_S: SIGTERM, then SIGKILL after GRACE_S seconds.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	await_pid "$1" "$2"
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local pid
	trap - EXIT INT TERM
	[[ -n $child_pid ]] && stop_pid "$child_pid" 5
	for pid in "${worker_pids[@]}"; do stop_pid "$pid" 5; done
	[[ -n $redis_pid ]] && stop_pid "$redis_pid" 5
	# Reap what we started so nothing is left behind as a zombie.
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
# fdiv A B [DIGITS]: A / B, or n/a.
fdiv() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { if (a == "" || b == "" || a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.*f\n", d, a / b }'; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'; }

# ---- redis-server ----
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	else
		echo $((20000 + RANDOM % 40000))
	fi
}

start_redis() {
	local attempt i
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
			--maxmemory-policy noeviction --dir "$tmp" --daemonize no \
			--logfile "$tmp/redis.log" &
		redis_pid=$!
		for ((i = 0; i < 100; i++)); do
			if ! kill -0 "$redis_pid" 2>/dev/null; then
				break
			fi
			if [[ $(rcli PING 2>/dev/null) == PONG ]]; then
				return 0
			fi
			sleep 0.05
		done
		stop_pid "$redis_pid" 2
		wait "$redis_pid" 2>/dev/null || true
		redis_pid=
		say "redis-server did not start on port $port (attempt $attempt)"
	done
	tail -n 20 "$tmp/redis.log" >&2 || true
	die "cannot start redis-server"
}

rcli() { timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@"; }
flush() { [[ $(rcli FLUSHALL) == OK ]] || die "FLUSHALL failed"; }

# run_bounded SECONDS CMD...: runs CMD in the background (so that a signal to
# this script reaches the clean-up) under a deadline; returns its status.
run_bounded() {
	local secs=$1 rc=0
	shift
	timeout --kill-after=5 "$secs" "$@" &
	child_pid=$!
	wait "$child_pid" || rc=$?
	child_pid=
	return "$rc"
}

# ---- (a) the Redis ceiling ----
ceil_unpiped=n/a
ceil_piped=n/a
phase_ceiling() {
	local line
	run_bounded 600 "$here/redis_ceiling.sh" -p "$port" -n "$ceiling_calls" \
		-c 50 -P 16 >"$tmp/ceiling.out" || {
		say "ceiling: redis_ceiling.sh failed"
		return 1
	}
	line=$(grep '^redis_ceiling ' "$tmp/ceiling.out" | tail -n 1)
	printf '%s\n' "$line"
	ceil_unpiped=$(field "$line" unpipelined_per_sec)
	ceil_piped=$(field "$line" pipelined_per_sec)
	[[ $ceil_unpiped != n/a && $ceil_piped != n/a ]]
}

# field LINE NAME: the value of NAME=value in LINE, or n/a.
field() {
	local v
	v=$(printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2; exit }')
	printf '%s\n' "${v:-n/a}"
}

# ---- (b) dcvfleet ----
dcv_tps=n/a
dcv_enq_rate=n/a
dcv_enq_s=n/a
dcv_elapsed=n/a
dcv_transitions=n/a
phase_dcvfleet() {
	local cfg=$tmp/dcv.yaml domains=$tmp/domains.txt t0 t1 t2 len i v rc=0
	local -a env_extra=()

	cat >"$cfg" <<EOF
redis:
  url: redis://127.0.0.1:$port/0
worker:
  handlers: noop
log:
  level: warn
metrics:
  port: 0
EOF
	[[ -n $threads ]] && env_extra+=("DCV_WORKER_CONCURRENCY=$threads")
	[[ -n $batch ]] && env_extra+=("DCV_WORKER_BATCH=$batch")
	awk -v n="$jobs" 'BEGIN { for (i = 1; i <= n; i++) printf "bench-%d.example.com\n", i }' >"$domains"

	# Enqueue, timed on its own.
	t0=$(now)
	env DCV_REDIS_URL="redis://127.0.0.1:$port/0" DCV_LOG_LEVEL=warn \
		DCV_WORKER_HANDLERS=noop "${env_extra[@]}" \
		timeout "$timeout_s" "$ctl_bin" -c "$cfg" onboard --file "$domains" \
		>/dev/null 2>"$tmp/dcvctl.err" || rc=$?
	t1=$(now)
	if ((rc != 0)); then
		say "dcvfleet: dcvctl onboard failed (exit $rc):"
		tail -n 20 "$tmp/dcvctl.err" >&2
		return 1
	fi
	len=$(rcli XLEN dcv:stream:verify-cname)
	if [[ $len != "$jobs" ]]; then
		say "dcvfleet: $len entries in dcv:stream:verify-cname after onboarding $jobs"
		return 1
	fi
	dcv_enq_s=$(fsub "$t1" "$t0")
	dcv_enq_rate=$(fdiv "$jobs" "$dcv_enq_s")

	# The workers, timed from their start until done == N.
	t0=$(now)
	for ((i = 0; i < procs; i++)); do
		env DCV_REDIS_URL="redis://127.0.0.1:$port/0" DCV_LOG_LEVEL=warn \
			DCV_WORKER_HANDLERS=noop "${env_extra[@]}" \
			"$worker_bin" -c "$cfg" ${threads:+--concurrency "$threads"} \
			>"$tmp/worker.$i.log" 2>&1 &
		worker_pids+=("$!")
	done
	# One redis-cli polls every 20 ms (a process per poll would cost CPU the
	# workers need); the loop also watches that every worker is alive.
	v=0
	while read -r v; do
		[[ $v =~ ^[0-9]+$ ]] || v=0
		((v >= jobs)) && break
		for i in "${!worker_pids[@]}"; do
			if ! kill -0 "${worker_pids[$i]}" 2>/dev/null; then
				say "dcvfleet: worker $i (pid ${worker_pids[$i]}) exited early:"
				tail -n 20 "$tmp/worker.$i.log" >&2
				v=dead
				break 2
			fi
		done
	done < <(timeout "$timeout_s" redis-cli -h 127.0.0.1 -p "$port" -r -1 -i 0.02 HGET dcv:stats "done" 2>/dev/null)
	t2=$(now)
	if [[ $v == dead ]] || ! ((v >= jobs)); then
		[[ $v == dead ]] || say "dcvfleet: deadline of ${timeout_s}s: done=$(rcli HGET dcv:stats "done" || true) of $jobs, dead letters=$(rcli XLEN dcv:dead)"
		stop_workers
		return 1
	fi
	dcv_elapsed=$(fsub "$t2" "$t0")
	dcv_tps=$(fdiv $((5 * jobs)) "$dcv_elapsed")
	dcv_transitions=$(rcli HGET dcv:stats transitions)
	stop_workers || rc=1
	if [[ $dcv_transitions != $((5 * jobs)) ]]; then
		say "dcvfleet: warning: dcv:stats transitions=$dcv_transitions, expected $((5 * jobs))"
	fi
	printf 'dcvfleet transitions_per_sec=%s jobs=%s elapsed_s=%s enqueue_s=%s enqueue_per_sec=%s procs=%s transitions=%s\n' \
		"$dcv_tps" "$jobs" "$dcv_elapsed" "$dcv_enq_s" "$dcv_enq_rate" "$procs" "$dcv_transitions"
	return "$rc"
}

# stop_workers: SIGTERM to every worker, wait (bounded) and check they exit 0.
stop_workers() {
	local pid i rc=0 st
	for pid in "${worker_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for i in "${!worker_pids[@]}"; do
		pid=${worker_pids[$i]}
		await_pid "$pid" 30
		st=0
		wait "$pid" 2>/dev/null || st=$?
		if ((st != 0)); then
			say "dcvfleet: worker $i (pid $pid) exited with status $st:"
			tail -n 10 "$tmp/worker.$i.log" >&2
			rc=1
		fi
	done
	worker_pids=()
	return "$rc"
}

# ---- (c) BullMQ ----
bull_tps=n/a
bull_line=
phase_bullmq() {
	if [[ ! -d $here/bullmq/node_modules/bullmq ]]; then
		say "bullmq: installing node modules (npm ci) in $here/bullmq"
		(cd "$here/bullmq" && run_bounded 300 npm ci --no-audit --no-fund >&2) || {
			say "bullmq: npm ci failed"
			return 1
		}
	fi
	run_bounded $((timeout_s + 30)) node "$here/bullmq/chain.js" --jobs "$jobs" \
		--concurrency "$bull_conc" --redis "redis://127.0.0.1:$port/0" \
		--timeout "$timeout_s" >"$tmp/bullmq.out" || {
		say "bullmq: chain.js failed"
		return 1
	}
	bull_line=$(grep '^bullmq ' "$tmp/bullmq.out" | tail -n 1)
	printf '%s\n' "$bull_line"
	bull_tps=$(field "$bull_line" transitions_per_sec)
	[[ $bull_tps != n/a ]]
}

# ---- run ----
start_redis
say "redis-server $(redis-server --version | awk '{ print $3 }' | sed 's/^v=//') on 127.0.0.1:$port (pid $redis_pid)"
failed=()
if want ceiling; then
	say "(a) Redis ceiling: $ceiling_calls calls, 50 clients, unpipelined and -P 16"
	phase_ceiling || failed+=(ceiling)
	flush
fi
if want dcvfleet; then
	say "(b) dcvfleet: $jobs jobs, $procs dcv-worker processes"
	phase_dcvfleet || failed+=(dcvfleet)
	flush
fi
if want bullmq; then
	say "(c) BullMQ chain: $jobs jobs, concurrency $bull_conc per queue"
	phase_bullmq || failed+=(bullmq)
	flush
fi

ratio_bull=$(fdiv "$dcv_tps" "$bull_tps" 2)
ratio_unp=$(fdiv "$dcv_tps" "$ceil_unpiped" 3)
ratio_pip=$(fdiv "$dcv_tps" "$ceil_piped" 3)
read -r load1 _ </proc/loadavg || load1=n/a
# secs X: "Xs", or n/a.
secs() { if [[ $1 == n/a ]]; then echo n/a; else echo "${1}s"; fi; }
cat <<EOF

== no-op pipeline benchmark: $jobs jobs x 5 stages, $(nproc) CPUs, load at end $load1 ==
dcvfleet   $dcv_tps transitions/s  ($procs worker processes; $(secs "$dcv_elapsed") from workers start to done=$jobs)
dcvfleet   enqueue $dcv_enq_rate jobs/s  (dcvctl onboard --file, $(secs "$dcv_enq_s"))
bullmq     $bull_tps transitions/s  (5 queues, one Node process, concurrency $bull_conc)
redis      ceiling $ceil_unpiped calls/s unpipelined, $ceil_piped calls/s pipelined (-P 16)
ratio      dcvfleet/bullmq = $ratio_bull
ratio      dcvfleet/ceiling = $ratio_unp (unpipelined), $ratio_pip (pipelined)
summary jobs=$jobs procs=$procs dcvfleet_tps=$dcv_tps dcvfleet_enqueue_per_sec=$dcv_enq_rate bullmq_tps=$bull_tps ceiling_unpipelined=$ceil_unpiped ceiling_pipelined=$ceil_piped ratio_bullmq=$ratio_bull ratio_ceiling_unpipelined=$ratio_unp ratio_ceiling_pipelined=$ratio_pip
EOF
if ((${#failed[@]} > 0)); then
	say "failed phases: ${failed[*]}"
	exit 1
fi
exit 0
