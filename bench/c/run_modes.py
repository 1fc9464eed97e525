#!/usr/bin/env python3
"""Run the C benchmarks (pmo_bench) in every measurement mode available here
and merge the results into one JSON file in results/.

Modes (the README's "Measurement modes"):

  pmem         /dev/shm with PMEM_IS_PMEM_FORCE=1 (emulated pmem: cache flushes)
  file         a directory on the disk filesystem (/var/tmp), msync per flush
  tmpfs-msync  /dev/shm with PMEM_IS_PMEM_FORCE=0 (msync without a disk)
  dax          a mount with the dax option in /proc/mounts (real pmem), if any

For each mode pmo_bench runs twice: a timing run, and a short counting run
with libpmo_flushcount.so preloaded, whose per-iteration flush counts
(flushes, flush_bytes, drains) are merged into the timing run's entries.
They are two runs because interposing libpmem costs 5-12% of a transaction.
The pool counters (tx, snapshots, snapshot_bytes, allocs, frees) come from
the timing run itself: they are always on.

  bench/c/run_modes.py                  full run -> results/c_bench.json
  bench/c/run_modes.py --quick          < 1 minute -> results/quick/c_bench.json
  bench/c/run_modes.py --stats-overhead also build pmo_bench with -DPMO_NO_STATS and
                                        run the transaction benchmarks interleaved
                                        with both builds, and count their instructions
                                        under callgrind -> results/stats_overhead.json
  bench/c/run_modes.py --modes pmem --filter 'Tx'

Progress goes to stderr; stdlib only.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
from machine import find_dax, git_info, machine, mount_of  # noqa: E402


def fs_type(path):
    m = mount_of(path)
    return m["type"] if m else None

ALL_MODES = ["pmem", "file", "tmpfs-msync", "dax"]
TMPFS_TYPES = {"tmpfs", "ramfs"}

# Settings per mode: (min_time seconds, repetitions).  Repetitions run in
# random interleaved order (--benchmark_enable_random_interleaving), so a
# burst of load from another process on this shared machine spreads over
# all benchmarks instead of landing on one, and ratios measured in the same
# run (ours / raw libpmemobj) stay honest.  The msync modes pay tens of
# microseconds (tmpfs-msync) to a millisecond or more (file) per flush, so
# they get fewer repetitions; Google Benchmark runs each benchmark for at
# least min_time or one iteration.
FULL = {"pmem": (0.05, 5), "dax": (0.05, 5), "tmpfs-msync": (0.05, 3), "file": (0.05, 3)}
QUICK = {"pmem": (0.01, 1), "dax": (0.01, 1), "tmpfs-msync": (0.01, 1), "file": (0.005, 1)}
COUNT_MIN_TIME = 0.002  # the counting run: counts per iteration are steady
# Whole-heap benchmarks are left out of the counting run (gc over a live
# heap writes nothing; open and recovery make a few flushes per open).
COUNT_FILTER_OUT = re.compile(r"^(Gc|OpenClean|Recover)/")

HEADLINES = [
    ("raw 8-byte tx", "RawTx8"),
    ("raw 16-byte tx", "RawTx16"),
    ("our 1-slot tx", "TxSlots/1"),
    ("empty tx", "TxEmpty"),
    ("raw empty tx", "RawTxEmpty"),
    ("32 B alloc", "Alloc/32"),
    ("32 B alloc+free (ours)", "AllocFree/32"),
    ("32 B alloc+free (raw)", "RawAllocFree32"),
    ("list append", "ListAppend"),
    ("dict insert (int)", "DictInsertInt"),
    ("dict lookup (int)", "DictLookupInt"),
    ("dict lookup (str)", "DictLookupStr"),
]

OVERHEAD_FILTER = ("^(TxEmpty|TxSlots/1|TxSlots/8|TxSlots/64|TxSlotsRange/64|"
                   "AllocFree/32|ListAppend|DictInsertInt)$")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout.strip()


def try_sh(cmd, default=None):
    try:
        return sh(cmd)
    except (OSError, subprocess.CalledProcessError):
        return default


# --- environment ------------------------------------------------------------

def available_modes(wanted, file_dir):
    modes = {}
    shm_ok = os.path.isdir("/dev/shm") and fs_type("/dev/shm") in TMPFS_TYPES
    for mode in wanted:
        if mode in ("pmem", "tmpfs-msync"):
            if shm_ok:
                modes[mode] = "/dev/shm"
            else:
                log(f"[{mode}] skipped: /dev/shm is not a tmpfs")
        elif mode == "file":
            t = fs_type(file_dir)
            if t in TMPFS_TYPES:
                log(f"[file] skipped: {file_dir} is {t}, not a disk filesystem")
            else:
                modes[mode] = file_dir
        elif mode == "dax":
            d = find_dax()
            if d:
                modes[mode] = d
            else:
                log("[dax] skipped: no mount with the dax option in /proc/mounts")
    return modes


# --- building ---------------------------------------------------------------

def build(build_dir, extra_flags=(), configure=False):
    """Configure (if needed) and build pmo_bench; returns its path."""
    exe = os.path.join(build_dir, "pmo_bench")
    if configure or not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        cmd = ["cmake", "-S", REPO, "-B", build_dir, "-DPMO_PYTHON=OFF", "-DPMO_TESTS=OFF",
               "-DCMAKE_BUILD_TYPE=Release", *extra_flags]
        log("$ " + " ".join(cmd))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    cmd = ["cmake", "--build", build_dir, "-j2", "--target", "pmo_bench"]
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    if not os.path.exists(exe):
        sys.exit(f"run_modes: {exe} was not built (is Google Benchmark installed?)")
    return exe


# --- running ----------------------------------------------------------------

def run_bench(exe, mode, bench_dir, min_time, reps, quick, bench_filter=None,
              preload=None, label="timing"):
    """One pmo_bench run; its console output streams to stderr as progress."""
    env = dict(os.environ)
    env.update(PMO_BENCH_MODE=mode, PMO_BENCH_DIR=bench_dir,
               PMO_BENCH_QUICK="1" if quick else "0")
    env.pop("PMEM_IS_PMEM_FORCE", None)  # pmo_bench sets it from the mode
    if preload:
        env["LD_PRELOAD"] = preload
    fd, out = tempfile.mkstemp(prefix="pmo_bench-", suffix=".json")
    os.close(fd)
    cmd = [exe, f"--benchmark_min_time={min_time}", f"--benchmark_out={out}",
           "--benchmark_out_format=json", "--benchmark_color=false"]
    if reps > 1:
        cmd += [f"--benchmark_repetitions={reps}", "--benchmark_enable_random_interleaving=true"]
    if bench_filter:
        cmd += [f"--benchmark_filter={bench_filter}"]
    log(f"[{mode}] {label} run: {' '.join(cmd[1:])}")
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, stdout=sys.stderr, stderr=sys.stderr)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"pmo_bench exited with {proc.returncode} in mode {mode}")
        with open(out) as f:
            data = json.load(f)
    finally:
        os.unlink(out)
    log(f"[{mode}] {label} run took {wall:.1f} s")
    return data, wall


def benchmark_names(exe, bench_filter, quick):
    env = dict(os.environ, PMO_BENCH_QUICK="1" if quick else "0")
    cmd = [exe, "--benchmark_list_tests=true"]
    if bench_filter:
        cmd.append(f"--benchmark_filter={bench_filter}")
    return [l for l in sh(cmd, env=env).splitlines() if l.strip()]


def merge_flush_counts(timing, counting):
    counts = {}
    for b in counting.get("benchmarks", []):
        if b.get("run_type", "iteration") == "iteration" and "flushes" in b:
            counts[b["run_name"]] = {k: b[k] for k in ("flushes", "flush_bytes", "drains")}
    for b in timing.get("benchmarks", []):
        c = counts.get(b.get("run_name"))
        if c:
            b.update(c)
            b["flush_counts_from"] = "counting run"


def ns(b, which="real_time"):
    """real_time (or cpu_time) of a benchmark entry in ns."""
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b[which] * scale


def medians(benchmarks, which="real_time", stat=statistics.median):
    """run_name -> median (or stat) time in ns over the repetitions."""
    per = {}
    for b in benchmarks:
        if b.get("run_type", "iteration") == "iteration" and not b.get("error_occurred"):
            per.setdefault(b["run_name"], []).append(ns(b, which))
    return {k: stat(v) for k, v in per.items()}


def summarize(med):
    s = {}
    for label, name in HEADLINES:
        if name in med:
            s[label + " (ns)"] = round(med[name], 1)
    gc = med.get("Gc/100000")
    if gc:
        s["gc per object at 10^5 (ns)"] = round(gc / 1e5, 1)
    o3, o5 = med.get("OpenClean/1000/manual_time"), med.get("OpenClean/100000/manual_time")
    if o3:
        s["clean open at 10^3 (us)"] = round(o3 / 1e3, 1)
    if o5:
        s["clean open at 10^5 (us)"] = round(o5 / 1e3, 1)
    if o3 and o5:
        s["clean open 10^5 / 10^3"] = round(o5 / o3, 2)
    r5 = med.get("Recover/100000/manual_time")
    if r5:
        s["recovery at 10^5 (ms)"] = round(r5 / 1e6, 2)
    if "TxSlots/1" in med and "RawTx16" in med:
        s["1-slot tx / raw 16-byte tx"] = round(med["TxSlots/1"] / med["RawTx16"], 3)
    if "TxSlots/1" in med and "RawTx8" in med:
        s["1-slot tx / raw 8-byte tx"] = round(med["TxSlots/1"] / med["RawTx8"], 3)
    if "TxEmpty" in med and "RawTxEmpty" in med:
        s["empty tx / raw empty tx"] = round(med["TxEmpty"] / med["RawTxEmpty"], 3)
    if "AllocFree/32" in med and "RawAllocFree32" in med:
        s["alloc+free 32 / raw"] = round(med["AllocFree/32"] / med["RawAllocFree32"], 3)
    return s


def print_summary(summaries, title):
    modes = list(summaries)
    keys = []
    for m in modes:
        for k in summaries[m]:
            if k not in keys:
                keys.append(k)
    w = max(len(k) for k in keys) if keys else 10
    log("")
    log(title.ljust(w) + "".join(f"{m:>14}" for m in modes))
    for k in keys:
        row = k.ljust(w)
        for m in modes:
            v = summaries[m].get(k)
            row += f"{v:>14}" if v is not None else f"{'-':>14}"
        log(row)


# --- stats overhead ---------------------------------------------------------

def stats_overhead(exe_stats, exe_nostats, rounds, min_time, bench_dir):
    """Interleave runs of the two builds (ABBA order) over the transaction
    benchmarks in pmem mode; report per-benchmark medians and ratios."""
    times = {"stats": {}, "nostats": {}}
    pair_ratios = {}
    builds = {"stats": exe_stats, "nostats": exe_nostats}
    contexts = {}
    for r in range(rounds):
        order = ["stats", "nostats"] if r % 2 == 0 else ["nostats", "stats"]
        this_round = {}
        for which in order:
            data, _ = run_bench(builds[which], "pmem", bench_dir, min_time, 1, False,
                                OVERHEAD_FILTER, label=f"stats-overhead round {r + 1}/{rounds} ({which})")
            contexts[which] = data.get("context", {})
            for b in data["benchmarks"]:
                if b.get("error_occurred"):
                    continue
                t = ns(b, "cpu_time")
                times[which].setdefault(b["run_name"], []).append(t)
                this_round.setdefault(b["run_name"], {})[which] = t
        for name, d in this_round.items():
            if "stats" in d and "nostats" in d:
                pair_ratios.setdefault(name, []).append(d["stats"] / d["nostats"])
    per = {}
    for name in times["stats"]:
        if name not in times["nostats"]:
            continue
        ms, mn = statistics.median(times["stats"][name]), statistics.median(times["nostats"][name])
        per[name] = {
            "stats_ns": times["stats"][name],
            "nostats_ns": times["nostats"][name],
            "median_stats_ns": round(ms, 2),
            "median_nostats_ns": round(mn, 2),
            "ratio_of_medians": round(ms / mn, 4),
            "median_paired_ratio": round(statistics.median(pair_ratios[name]), 4),
        }
    ratios = [v["median_paired_ratio"] for v in per.values()]
    geo = None
    if ratios:
        prod = 1.0
        for x in ratios:
            prod *= x
        geo = prod ** (1 / len(ratios))
    return {
        "what": "CPU time with the pool counters / CPU time with them compiled out "
                "(-DPMO_NO_STATS), pmem mode, the two builds run alternately (ABBA) round "
                "by round; CPU time rather than real time because other processes on this "
                "shared machine preempt us; median over rounds of the per-round ratio",
        "rounds": rounds,
        "min_time": min_time,
        "filter": OVERHEAD_FILTER,
        "contexts": contexts,
        "benchmarks": per,
        "geomean_paired_ratio": round(geo, 4) if geo else None,
        "overhead_percent": round((geo - 1) * 100, 2) if geo else None,
    }


INSN_BENCHMARKS = ["TxEmpty", "TxSlots/1", "TxSlots/8", "TxSlots/64", "AllocFree/32",
                   "ListAppend", "DictInsertInt"]


def callgrind_instructions(exe, name, iterations):
    """Instructions of a pmo_bench run of one benchmark with a fixed
    iteration count, under callgrind (pmem mode)."""
    env = dict(os.environ, PMO_BENCH_MODE="pmem", PMO_BENCH_DIR="/dev/shm",
               PMO_BENCH_ITERATIONS=str(iterations))
    env.pop("LD_PRELOAD", None)
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", exe,
           f"--benchmark_filter=^{re.escape(name)}/iterations:"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"callgrind run of {name} failed:\n{proc.stderr[-2000:]}")
    return int(m.group(1))


def instruction_overhead(exe_stats, exe_nostats, n1=500, n2=1500):
    """Instructions per iteration with and without the counters: the
    difference of two runs (n1 and n2 iterations) cancels the set-up."""
    out = {}
    for name in INSN_BENCHMARKS:
        per = {}
        for which, exe in (("stats", exe_stats), ("nostats", exe_nostats)):
            a = callgrind_instructions(exe, name, n1)
            b = callgrind_instructions(exe, name, n2)
            per[which] = (b - a) / (n2 - n1)
        out[name] = {
            "instructions_stats": round(per["stats"], 1),
            "instructions_nostats": round(per["nostats"], 1),
            "extra_instructions": round(per["stats"] - per["nostats"], 1),
            "ratio": round(per["stats"] / per["nostats"], 4),
        }
        log(f"  {name:22s} {per['stats']:10.1f} vs {per['nostats']:10.1f} instructions/iteration"
            f"   ratio {out[name]['ratio']:.4f}")
    return out


# --- main -------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run (< 1 minute)")
    ap.add_argument("--modes", default=",".join(ALL_MODES),
                    help="comma-separated subset of " + ",".join(ALL_MODES))
    ap.add_argument("--file-dir", default="/var/tmp",
                    help="directory on a disk filesystem for the file mode")
    ap.add_argument("--build-dir", default=os.environ.get("PMO_BENCH_BUILD_DIR", "/tmp/build-bench"),
                    help="build tree of pmo_bench (configured and built if needed)")
    ap.add_argument("--no-build", action="store_true", help="use the pmo_bench that is there")
    ap.add_argument("--filter", default=None, help="--benchmark_filter regex")
    ap.add_argument("--no-flush-count", action="store_true",
                    help="skip the counting run (no flushes/flush_bytes/drains)")
    ap.add_argument("--out", default=None,
                    help="output file (default results/c_bench.json, or "
                         "results/quick/c_bench.json with --quick)")
    ap.add_argument("--stats-overhead", action="store_true",
                    help="also measure the cost of the pool counters -> results/stats_overhead.json")
    ap.add_argument("--stats-overhead-only", action="store_true",
                    help="only the stats-overhead comparison")
    ap.add_argument("--nostats-build-dir", default="/tmp/build-bench-nostats")
    ap.add_argument("--overhead-rounds", type=int, default=None,
                    help="interleaved rounds per build (default 8, 4 with --quick)")
    args = ap.parse_args()

    t_start = time.monotonic()
    exe = os.path.abspath(os.path.join(args.build_dir, "pmo_bench")) if args.no_build else \
        build(args.build_dir)
    preload = os.path.join(os.path.dirname(exe), "libpmo_flushcount.so")
    if not os.path.exists(preload) and not args.no_flush_count:
        log(f"run_modes: {preload} not found: flushes will not be counted")
        args.no_flush_count = True

    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    header = {
        "date": date,
        "machine": machine(),
        "pmdk_version": try_sh(["pkg-config", "--modversion", "libpmemobj"]),
        "git": git_info(),
        "benchmark_binary": exe,
    }
    # Quick runs go to results/quick/, as the experiments' quick runs do.
    results_dir = os.path.join(REPO, "results", "quick") if args.quick else \
        os.path.join(REPO, "results")
    os.makedirs(results_dir, exist_ok=True)

    if not args.stats_overhead_only:
        wanted = [m.strip() for m in args.modes.split(",") if m.strip()]
        for m in wanted:
            if m not in ALL_MODES:
                sys.exit(f"run_modes: unknown mode {m!r}")
        modes = available_modes(wanted, args.file_dir)
        settings = QUICK if args.quick else FULL
        names = benchmark_names(exe, args.filter, args.quick)
        count_filter = None
        counted = [n for n in names if not COUNT_FILTER_OUT.match(n)]
        if counted:
            count_filter = "^(" + "|".join(re.escape(n) for n in counted) + ")$"
        log(f"run_modes: {len(names)} benchmarks, modes: {', '.join(modes) or 'none'}")

        runs, summaries, cpu_summaries = [], {}, {}
        for mode, base in modes.items():
            bench_dir = base
            made = None
            if mode == "dax":
                made = bench_dir = tempfile.mkdtemp(prefix="pmo_bench-", dir=base)
            try:
                min_time, reps = settings[mode]
                t0 = time.monotonic()
                data, wall = run_bench(exe, mode, bench_dir, min_time, reps, args.quick, args.filter)
                if not args.no_flush_count and count_filter:
                    cdata, _ = run_bench(exe, mode, bench_dir, COUNT_MIN_TIME, 1, args.quick,
                                         count_filter, preload=preload, label="flush-counting")
                    merge_flush_counts(data, cdata)
                med = medians(data["benchmarks"])
                med_cpu = medians(data["benchmarks"], "cpu_time")
                summaries[mode] = summarize(med)
                # CPU time leaves out the time other processes preempt us
                # (and, in the msync modes, the time msync waits for the
                # disk); manual-time benchmarks (open, recovery) have no
                # meaningful CPU time, so they keep their real time.
                cpu_summaries[mode] = summarize(
                    {k: (med[k] if k.endswith("/manual_time") else v)
                     for k, v in med_cpu.items()})
                runs.append({
                    "mode": mode,
                    "dir": bench_dir,
                    "min_time": min_time,
                    "repetitions": reps,
                    "wall_seconds": round(time.monotonic() - t0, 1),
                    "context": data.get("context", {}),
                    "median_ns": {k: round(v, 2) for k, v in med.items()},
                    "median_cpu_ns": {k: round(v, 2) for k, v in med_cpu.items()},
                    "min_ns": {k: round(v, 2) for k, v in
                               medians(data["benchmarks"], "real_time", min).items()},
                    "summary": summaries[mode],
                    "summary_cpu": cpu_summaries[mode],
                    "benchmarks": data["benchmarks"],
                })
            finally:
                if made:
                    shutil.rmtree(made, ignore_errors=True)

        out = args.out or os.path.join(results_dir, "c_bench.json")
        result = dict(header)
        result.update({
            "schema": "pmemobj-c-bench/1",
            "quick": args.quick,
            "filter": args.filter,
            "notes": [
                "times are Google Benchmark real_time; median_ns is the median over repetitions "
                "(run in random interleaved order), median_cpu_ns the same for CPU time, "
                "min_ns the best repetition; summary is from median_ns, summary_cpu from "
                "median_cpu_ns (real time for the manual-time open/recovery benchmarks); "
                "under load from other processes CPU time is the steadier figure in pmem mode, "
                "while in the msync modes only real time includes the wait for msync",
                "counters tx, snapshots, snapshot_bytes, allocs, alloc_bytes, frees: per iteration, "
                "from the pool's own counters (src/stats.h) in the timing run",
                "counters flushes, flush_bytes, drains: per iteration, libpmem calls made by "
                "libpmemobj, counted in a separate short run with libpmo_flushcount.so preloaded "
                "(interposition costs 5-12% of a transaction, so not in the timing run); "
                "not measured for Gc, OpenClean, Recover",
                "pools are prefaulted at create (libpmemobj prefault.at_create)",
                "shared 2-core VM: other processes add noise; compare ratios within one mode",
            ],
            "total_wall_seconds": round(time.monotonic() - t_start, 1),
            "runs": runs,
        })
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        print_summary(summaries, "median real time")
        print_summary(cpu_summaries, "median CPU time")
        log(f"\nrun_modes: wrote {out} ({result['total_wall_seconds']} s)")

    if args.stats_overhead or args.stats_overhead_only:
        t0 = time.monotonic()
        exe_nostats = build(args.nostats_build_dir,
                            ["-DCMAKE_C_FLAGS=-DPMO_NO_STATS", "-DCMAKE_CXX_FLAGS=-DPMO_NO_STATS"])
        rounds = args.overhead_rounds or (4 if args.quick else 8)
        min_time = 0.05 if args.quick else 0.1
        res = stats_overhead(exe, exe_nostats, rounds, min_time, "/dev/shm")
        if shutil.which("valgrind"):
            log("\nstats overhead in instructions (callgrind, deterministic):")
            res["instructions"] = {
                "what": "instructions per iteration under callgrind (pmem mode), from the "
                        "difference of runs of 500 and 1500 iterations",
                "benchmarks": instruction_overhead(exe, exe_nostats),
            }
        result = dict(header)
        result.update(res)
        result["nostats_binary"] = exe_nostats
        result["wall_seconds"] = round(time.monotonic() - t0, 1)
        out = os.path.join(results_dir, "stats_overhead.json")
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        log("\nstats overhead (CPU time with counters / without; median of paired rounds):")
        for name, v in res["benchmarks"].items():
            log(f"  {name:22s} {v['median_stats_ns']:>10.1f} ns vs {v['median_nostats_ns']:>10.1f} ns"
                f"   paired {v['median_paired_ratio']:.4f}   of medians {v['ratio_of_medians']:.4f}")
        log(f"  geometric mean of paired ratios: {res['geomean_paired_ratio']} "
            f"({res['overhead_percent']}%)")
        log(f"run_modes: wrote {out} ({result['wall_seconds']} s)")


if __name__ == "__main__":
    main()
