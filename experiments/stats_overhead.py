#!/usr/bin/env python3
"""What the pool's counters (pool.stats(), src/stats.h) cost: the
transaction benchmarks of pmo_bench with the counters and with them
compiled out (-DPMO_NO_STATS), in pmem mode.

    experiments/stats_overhead.py [--quick]

Not part of the main job (it builds a second pmo_bench, in build-nostats/,
and its callgrind part takes a few minutes).  Two measurements:

- CPU time, the two builds run alternately round by round (ABBA order);
  CPU time rather than real time because other processes on the shared
  machine preempt us; the median over rounds of each round's ratio.
- Instructions per iteration under callgrind, from the difference of runs
  of 500 and 1500 iterations (set-up cancels out): deterministic, so it
  resolves the few percent that wall-clock time cannot.

Writes results/stats_overhead.json.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys

import common as C

NAME = "stats_overhead"
FILTER = ("^(TxEmpty|TxSlots/1|TxSlots/8|TxSlots/64|TxSlotsRange/64|"
          "AllocFree/32|ListAppend|DictInsertInt)$")
INSN_BENCHMARKS = ["TxEmpty", "TxSlots/1", "TxSlots/8", "TxSlots/64", "AllocFree/32",
                   "ListAppend", "DictInsertInt"]
NOSTATS_BUILD = os.path.join(C.REPO, "build-nostats")


def build_nostats():
    if not os.path.exists(os.path.join(NOSTATS_BUILD, "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", C.REPO, "-B", NOSTATS_BUILD, "-DPMO_PYTHON=OFF",
                        "-DPMO_TESTS=OFF", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                        "-DCMAKE_C_FLAGS=-DPMO_NO_STATS",
                        "-DCMAKE_CXX_FLAGS=-DPMO_NO_STATS"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", NOSTATS_BUILD, "-j2", "--target", "pmo_bench"],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(NOSTATS_BUILD, "pmo_bench")


def cpu_time_rounds(builds, rounds, min_time):
    times = {w: {} for w in builds}
    pair_ratios = {}
    for r in range(rounds):
        order = list(builds) if r % 2 == 0 else list(reversed(list(builds)))
        this_round = {}
        for which in order:
            data = C.run_pmo_bench(FILTER, "pmem", min_time=min_time, repetitions=1,
                                   exe=builds[which],
                                   label="round %d/%d %s" % (r + 1, rounds, which))
            for name, e in C.bench_table(data).items():
                times[which].setdefault(name, []).append(e["median_cpu_ns"])
                this_round.setdefault(name, {})[which] = e["median_cpu_ns"]
        for name, d in this_round.items():
            if len(d) == 2:
                pair_ratios.setdefault(name, []).append(d["stats"] / d["nostats"])
    per = {}
    for name, ratios in pair_ratios.items():
        ms, mn = statistics.median(times["stats"][name]), statistics.median(times["nostats"][name])
        per[name] = {"stats_ns": times["stats"][name], "nostats_ns": times["nostats"][name],
                     "median_stats_ns": ms, "median_nostats_ns": mn,
                     "median_paired_ratio": statistics.median(ratios)}
    return per


def instructions(exe, name, iterations):
    env = dict(os.environ, PMO_BENCH_MODE="pmem", PMO_BENCH_DIR=C.mode_dir("pmem"),
               PMO_BENCH_ITERATIONS=str(iterations))
    env.pop("LD_PRELOAD", None)
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           exe, "--benchmark_filter=^%s/iterations:" % re.escape(name)],
                          env=env, capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        raise RuntimeError("callgrind run of %s failed:\n%s" % (name, proc.stderr[-2000:]))
    return int(m.group(1))


def instruction_overhead(builds, n1=500, n2=1500):
    out = {}
    for name in INSN_BENCHMARKS:
        per = {w: (instructions(exe, name, n2) - instructions(exe, name, n1)) / (n2 - n1)
               for w, exe in builds.items()}
        out[name] = {"instructions_stats": per["stats"],
                     "instructions_nostats": per["nostats"],
                     "ratio": per["stats"] / per["nostats"]}
        C.progress("%-16s %9.1f vs %9.1f instructions/iteration, ratio %.4f"
                   % (name, per["stats"], per["nostats"], out[name]["ratio"]))
    return out


def geomean(xs):
    p = 1.0
    for x in xs:
        p *= x
    return p ** (1 / len(xs)) if xs else None


def main():
    ap = C.arg_parser(__doc__)
    args = ap.parse_args()
    out = C.out_dir(args)
    if args.replot:
        return 0
    builds = {"stats": C.pmo_bench_path(), "nostats": build_nostats()}
    rounds, min_time = (4, 0.05) if args.quick else (8, 0.1)
    per = cpu_time_rounds(builds, rounds, min_time)
    g = geomean([v["median_paired_ratio"] for v in per.values()])
    insn = instruction_overhead(builds) if shutil.which("valgrind") else None
    gi = geomean([v["ratio"] for v in insn.values()]) if insn else None
    T = [C.info("pool counters: CPU time with / without (geometric mean)", g, "x",
                "median of per-round ratios, builds alternated", group="C core"),
         C.info("pool counters: instructions with / without (geometric mean)", gi, "x",
                "callgrind, difference of 500 and 1500 iterations", group="C core")]
    result = dict(C.metadata(NAME, args.quick))
    result.update({
        "what": "cost of the pool counters: pmo_bench with them / compiled out "
                "(-DPMO_NO_STATS), pmem mode",
        "method": "%d rounds, builds alternated (ABBA), min_time %gs, CPU time; "
                  "instructions under callgrind" % (rounds, min_time),
        "filter": FILTER,
        "cpu_time": per,
        "instructions": insn,
        "targets": T,
    })
    C.write_json(os.path.join(out, NAME + ".json"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
