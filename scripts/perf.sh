#!/usr/bin/env bash
# Hardware counters (or instruction counts) for C benchmarks.
#
#   scripts/perf.sh BENCH_FILTER [pmo_bench args...]
#
# Runs pmo_bench --benchmark_filter=BENCH_FILTER under
#   perf stat -e cycles,instructions,cache-misses
# where the kernel lets perf count instructions, and otherwise (VMs without
# a PMU, perf_event_paranoid too high) under valgrind --tool=callgrind with
# a fixed iteration count, twice (N and 2N iterations), printing the
# instructions per iteration (the difference, so set-up cancels out) and the
# functions that cost most.  It says which one it used.
#
# Environment: PMO_BENCH (the pmo_bench binary; default: build/pmo_bench,
# built by scripts/setup.sh like every other script), PMO_BENCH_MODE
# (default pmem), PMO_BENCH_DIR, PERF_ITERATIONS (callgrind only, default
# 1000).  Exits 0 on success.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BENCH_FILTER [pmo_bench args...]" >&2
    exit 2
fi
filter=$1
shift
repo=$(cd "$(dirname "$0")/.." && pwd)

bench=${PMO_BENCH:-}
if [ -z "$bench" ]; then
    "$repo/scripts/setup.sh" >&2
    bench=$repo/build/pmo_bench
fi
export PMO_BENCH_MODE=${PMO_BENCH_MODE:-pmem}

# Does perf count instructions here?  perf stat exits 0 even when the
# events are "<not supported>", so look at the count itself.
perf_ok=0
if command -v perf >/dev/null 2>&1; then
    out=$(perf stat -x, -e instructions true 2>&1 >/dev/null || true)
    if printf '%s\n' "$out" | grep -Eq '^[0-9]+,.*instructions'; then
        perf_ok=1
    fi
fi

if [ "$perf_ok" = 1 ]; then
    echo "perf.sh: using perf stat (hardware counters), mode $PMO_BENCH_MODE" >&2
    exec perf stat -e cycles,instructions,cache-misses -- \
        "$bench" --benchmark_filter="$filter" "$@"
fi

if ! command -v valgrind >/dev/null 2>&1; then
    echo "perf.sh: perf cannot count instructions here and valgrind is not installed" >&2
    exit 1
fi
n=${PERF_ITERATIONS:-1000}
echo "perf.sh: perf cannot count instructions here (no PMU in this VM, or" \
     "perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null));" \
     "using valgrind callgrind instruction counts, mode $PMO_BENCH_MODE," \
     "$n and $((2 * n)) iterations" >&2
# With a fixed count, Google Benchmark names the runs NAME/iterations:N,
# so a filter anchored with $ would match nothing: anchor it there instead.
case $filter in
    *'$') filter="${filter%\$}/iterations:" ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {  # iterations outfile -> total instructions on stdout
    PMO_BENCH_ITERATIONS=$1 valgrind --tool=callgrind --callgrind-out-file="$2" \
        "$bench" --benchmark_filter="$filter" "${@:3}" >"$2.stdout" 2>"$2.stderr" || {
        cat "$2.stderr" >&2
        return 1
    }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$2.stderr"
}
ir1=$(run "$n" "$tmp/cg1" "$@")
ir2=$(run $((2 * n)) "$tmp/cg2" "$@")
cat "$tmp/cg2.stdout"
nbench=$(grep -Ec '/iterations:' "$tmp/cg2.stdout" || true)
if [ "$nbench" = 0 ]; then
    echo "perf.sh: no benchmark matched '$filter'" >&2
    exit 1
fi
echo
echo "instructions, whole run: $ir1 ($n iterations), $ir2 ($((2 * n)) iterations)"
echo "instructions per iteration (difference / $n), summed over the $nbench matching benchmark(s):" \
     "$(( (ir2 - ir1) / n ))"
echo
echo "top functions ($((2 * n)) iterations, inclusive of set-up):"
# awk reads to the end: a pipeline into head would die of SIGPIPE (141)
# under pipefail.
callgrind_annotate --inclusive=no "$tmp/cg2" 2>/dev/null |
    awk '/^Ir/ { on = 1 } on && n < 25 { print; n++ }'
