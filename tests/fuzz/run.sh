#!/bin/bash
# Runs every fuzz harness (or the ones named) for a while and says what each
# did.  Builds build-fuzz first (clang, -DDCV_FUZZ=ON) when it is not there,
# and brings it up to date when it is.
#
#   tests/fuzz/run.sh [-t SECONDS] [-j PARALLEL] [-b BUILD_DIR] [TARGET...]
#
#   -t  seconds per harness (default 60)
#   -j  harnesses run at the same time (default 1; each takes one core)
#   -b  the fuzz build directory (default build-fuzz)
#
# Each harness starts from its seed corpus (tests/fuzz/corpus/NAME, never
# written to) and the inputs it found in earlier runs of this build
# (BUILD_DIR/fuzz-out/NAME/corpus); it uses tests/fuzz/NAME.dict when there
# is one.  A crash, leak, timeout (10 s for one input) or out-of-memory
# leaves its input in BUILD_DIR/fuzz-out/NAME/ and makes the script exit 1;
# the log is BUILD_DIR/fuzz-out/NAME.log.  The summary gives, per harness,
# the executions and libFuzzer's coverage at the end (cov: edges, ft:
# features).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)

seconds=60
parallel=1
build=build-fuzz
while getopts "t:j:b:h" opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	j) parallel=$OPTARG ;;
	b) build=$OPTARG ;;
	*) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
case $seconds$parallel in
*[!0-9]*) echo "run.sh: -t and -j take numbers" >&2; exit 2 ;;
esac

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DDCV_WERROR=ON -DDCV_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target dcv_fuzzers >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < "$build/tests/fuzz/targets.txt"
fi
out="$top/$build/fuzz-out"
mkdir -p "$out"

# Runs one harness; its log and findings go under $out.
run_one() {
	local name=$1 bin="$top/$build/tests/fuzz/fuzz_$1" dict=()
	if [ ! -x "$bin" ]; then
		echo "run.sh: no harness $name in $build" >"$out/$name.log"
		return 1
	fi
	mkdir -p "$out/$name/corpus"
	rm -f "$out/$name"/crash-* "$out/$name"/leak-* "$out/$name"/timeout-* \
		"$out/$name"/oom-*
	[ -f "$top/tests/fuzz/$name.dict" ] && dict=(-dict="$top/tests/fuzz/$name.dict")
	# stdin from /dev/null: the config harness may name files to read
	(cd "$out/$name" && timeout $((seconds * 2 + 120)) "$bin" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/$name/" "${dict[@]}" \
		corpus "$top/tests/fuzz/corpus/$name" </dev/null >"$out/$name.log" 2>&1)
}

pids=()
names=()
for name in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
		wait -n || true
	done
	run_one "$name" &
	pids+=($!)
	names+=("$name")
done
rc=0
status=()
for i in "${!pids[@]}"; do
	if wait "${pids[$i]}"; then status[$i]=0; else status[$i]=1; fi
done

printf '%-12s %12s %8s %8s %s\n' harness executions cov ft result
for i in "${!names[@]}"; do
	name=${names[$i]}
	log="$out/$name.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	found=$(ls "$out/$name" | grep -E '^(crash|leak|timeout|oom)-' || true)
	if [ "${status[$i]}" -ne 0 ] || [ -n "$found" ]; then
		result="FAILED: ${found:-see $log}"
		rc=1
	else
		result="0 crashes"
	fi
	printf '%-12s %12s %8s %8s %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
if [ $rc -ne 0 ]; then
	for i in "${!names[@]}"; do
		[ "${status[$i]}" -eq 0 ] && continue
		echo "---- ${names[$i]}: $out/${names[$i]}.log"
		grep -E -m1 -A12 'ERROR:|runtime error|invariant broken|==[0-9]+==' \
			"$out/${names[$i]}.log" || tail -20 "$out/${names[$i]}.log"
	done
fi
exit $rc
