#!/usr/bin/env python3
"""Allocation cost against allocation size, 16 B to 1 MiB.

    experiments/alloc_size.py [--quick] [--rounds N]

C, pmo_bench (the core, no Python): Alloc/S (one transactional allocation
of S bytes per transaction), Free/S (one free per transaction),
AllocFree/S (both), and raw libpmemobj's RawAllocFree32 beside
AllocFree/32.  Memory is not zeroed.

Python, autocommit (each operation its own transaction), same process,
systems rotated round by round:

  pmemobj append bytes   ``lst.append(b)``, b a distinct bytes object of S
                         bytes: allocate a heap object, copy S bytes, store
                         the slot
  pmemobj del bytes      ``del lst[-1]`` of those: the refcount drops to 0,
                         the object is freed
  pmemobj append str     the same with an ASCII str of S characters
  pynvm append str       pynvm's PersistentList (pynvm stores no bytes)
  pynvm del str
  pmemobj append int     reference line: an append that allocates nothing

Before the timed passes each pool is filled and emptied once, untimed, so
the allocator works on pages that were touched already (pmo_bench
prefaults its pools for the same reason): what is measured is the steady
state, not first-touch page faults of tmpfs.  n per size is 5000 (pynvm
300; quick 1000 and 60), fewer for big sizes (at most 24 MiB of data per
pass).  Note that the C Alloc/S does not write the S bytes, while a
Python append copies them into the pool and flushes them.

Writes results/alloc_size.json and results/alloc_size.png.
"""

import os
import shutil
import sys

import common as C

NAME = "alloc_size"
C_FILTER = "^(Alloc|Free|AllocFree)/[0-9]+$|^RawAllocFree32$"
SIZES_FULL = [16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576]
SIZES_QUICK = [16, 1024, 65536, 1048576]
DATA_BUDGET = 24 << 20
SERIES = ["pmemobj append bytes", "pmemobj del bytes", "pmemobj append str",
          "pynvm append str", "pynvm del str", "pmemobj append int"]


def values(kind, size, n, tag):
    if kind == "bytes":
        return [(b"%08d" % i + bytes([tag & 0xFF])) .ljust(size, b"x")[:size]
                for i in range(n)]
    if kind == "str":
        return [("%08d" % i).ljust(size, "y")[:size] for i in range(n)]
    return list(range(10**6, 10**6 + n))


def one_system(mod, path, kind, size, n):
    """(ns per append, ns per del) for one fresh pool."""
    vals = values(kind, size, n, 1)
    pool = mod.create(path, 32 * 1024 * 1024 + int(n * (size + 64) * 1.5))
    try:
        with pool.transaction():
            pool.root = pool.new(mod.PersistentList)
        lst = pool.root
        for v in values(kind, size, n, 2):         # untimed: touch the pages
            lst.append(v)
        for _ in range(n):
            del lst[-1]
        with C.Timer() as ta:
            for v in vals:
                lst.append(v)
        if len(lst) != n:
            raise AssertionError("list length after appends")
        with C.Timer() as td:
            for _ in range(n):
                del lst[-1]
        if len(lst) != 0:
            raise AssertionError("list length after deletes")
    finally:
        pool.close()
    return ta.ns / n, td.ns / n


def draw(path, meta, py, cb, sizes):
    plt = C.pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8),
                                 gridspec_kw={"width_ratios": [1.4, 1]})
    cc = C.COLORS["pmemobj (C core)"]
    cfam = [("Alloc", "^", "-", "C core: alloc, data not written (Alloc/S)"),
            ("Free", "v", "-", "C core: free (Free/S)"),
            ("AllocFree", "D", ":", "C core: alloc + free (AllocFree/S)")]
    for fam, marker, ls, label in cfam:
        pts = sorted((int(n.split("/")[1]), e["median_ns"]) for n, e in cb.items()
                     if n.startswith(fam + "/"))
        if pts:
            a1.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, ls=ls,
                    color=cc, label=label, ms=4)
        if fam == "Alloc" and pts:
            a2.plot([p[0] for p in pts], [p[0] / p[1] for p in pts], marker=marker,
                    ls=ls, color=cc, label=label, ms=4)
    if "RawAllocFree32" in cb:
        a1.plot([32], [cb["RawAllocFree32"]["median_ns"]], "s", ms=6,
                color=C.COLORS["raw libpmemobj (C)"],
                label="raw libpmemobj: alloc + free 32 B")
    styles = {"pmemobj append bytes": ("pmemobj", "o", "-"),
              "pmemobj del bytes": ("pmemobj", "x", "--"),
              "pmemobj append str": ("pmemobj", "s", ":"),
              "pynvm append str": ("pynvm", "s", ":"),
              "pynvm del str": ("pynvm", "x", "--")}
    for s, (color, marker, ls) in styles.items():
        e = py.get(s, {})
        xs = [z for z in sizes if str(z) in e]
        if not xs:
            continue
        ys = [e[str(z)]["median_ns"] for z in xs]
        a1.plot(xs, ys, marker=marker, ls=ls, color=C.COLORS[color],
                label="Python: " + s, ms=4)
        if s == "pmemobj append bytes":
            a2.plot(xs, [z / y for z, y in zip(xs, ys)], marker=marker, ls=ls,
                    color=C.COLORS[color], ms=4,
                    label="Python: pmemobj append bytes (alloc + copy + flush)")
    base = py.get("pmemobj append int", {}).get("all", {}).get("median_ns")
    if base:
        a1.axhline(base, color=C.COLORS["pmemobj"], lw=0.8, ls="-.")
        a1.text(sizes[-1], base * 0.85, "Python: pmemobj append int (no allocation)",
                fontsize=7, va="top", ha="right", color=C.COLORS["pmemobj"])
    ticks = [16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576]
    names = ["16 B", "64 B", "256 B", "1 KiB", "4 KiB", "16 KiB", "64 KiB",
             "256 KiB", "1 MiB"]
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels(names, rotation=30)
        ax.minorticks_off()
        ax.set_xlabel("allocation size (bytes, log scale)")
        C.log_axis(ax)
    a1.set_ylabel("time per operation (ns, log scale)")
    a1.set_title("Allocation and free cost vs size (each its own transaction)")
    a1.legend(fontsize=7, loc="upper left")
    a2.set_ylabel("bytes allocated per ns = GB/s (log scale)")
    a2.set_title("Allocation throughput vs size")
    a2.legend(fontsize=7, loc="upper left")
    C.save_figure(fig, path, meta)


def main():
    ap = C.arg_parser(__doc__)
    ap.add_argument("--rounds", type=int, default=None, help="default 5, quick 3")
    args = ap.parse_args()
    out = C.out_dir(args)
    if C.replotted(args, NAME,
                   lambda png, d: draw(png, d, d["python"], d["c"]["benchmarks"], d["sizes"])):
        return 0
    C.set_mode_env("pmem")
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    rounds = args.rounds or (3 if args.quick else 5)
    nmax = {"pmemobj": 1000 if args.quick else 5000, "pynvm": 60 if args.quick else 300}

    mods, missing = {}, {}
    mods["pmemobj"], why = C.import_pmemobj()
    if why:
        for s in SERIES:
            if s.startswith("pmemobj"):
                missing[s] = why
    mods["pynvm"], why = C.import_pynvm()
    if why:
        missing["pynvm append str"] = missing["pynvm del str"] = why
    for s, why in missing.items():
        C.progress("MISSING %s: %s" % (s, why))

    # (system, kind): the runs; each gives an append and a del series.
    runs = [("pmemobj", "bytes"), ("pmemobj", "str"), ("pynvm", "str"),
            ("pmemobj", "int")]
    runs = [r for r in runs if mods[r[0]] is not None]
    samples = {}
    errors = []
    wd = C.workdir("pmem")
    try:
        for r in range(rounds):
            rot = runs[r % len(runs):] + runs[:r % len(runs)]
            for system, kind in rot:
                line = []
                for size in (sizes if kind != "int" else [8]):
                    n = max(4, min(nmax[system], DATA_BUDGET // size))
                    path = os.path.join(wd, "%s-%s-%d-r%d.pool" % (system, kind, size, r))
                    try:
                        a, d = one_system(mods[system], path, kind, size, n)
                    except Exception as e:
                        errors.append({"system": system, "kind": kind, "size": size,
                                       "round": r, "error": "%s: %s" % (type(e).__name__, e)})
                        C.progress("ERROR %s %s %d: %s" % (system, kind, size,
                                                           errors[-1]["error"]))
                        continue
                    finally:
                        if os.path.exists(path):
                            os.unlink(path)
                    key = size if kind != "int" else "all"
                    samples.setdefault("%s append %s" % (system, kind), {}) \
                        .setdefault(key, {"n": n, "s": []})["s"].append(a)
                    samples.setdefault("%s del %s" % (system, kind), {}) \
                        .setdefault(key, {"n": n, "s": []})["s"].append(d)
                    line.append("%s %s" % (size, C.fmt_ns(a)))
                C.progress("round %d/%d %s append %s: %s" % (
                    r + 1, rounds, system, kind, ", ".join(line)))
    finally:
        shutil.rmtree(wd, ignore_errors=True)

    py = {}
    for s in SERIES + ["pmemobj del int"]:
        if s in missing:
            py[s] = {"missing": missing[s]}
            continue
        py[s] = {}
        for key, e in samples.get(s, {}).items():
            st = C.summary(e["s"])
            py[s][str(key)] = {"median_ns": st["median"], "min_ns": st["min"],
                               "max_ns": st["max"], "n": e["n"],
                               "samples_ns": st["samples"]}

    cb, c_missing, c_context = {}, None, None
    try:
        data = C.run_pmo_bench(C_FILTER, "pmem", min_time=0.01 if args.quick else 0.05,
                               repetitions=1 if args.quick else 3, quick=args.quick,
                               label="pmo_bench alloc")
        cb = C.bench_table(data)
        c_context = C.bench_context(data)
    except (C.PmoBenchMissing, RuntimeError, OSError) as e:
        c_missing = str(e)
        C.progress("C benchmarks MISSING: %s" % e)

    def cm(name):
        return cb.get(name, {}).get("median_ns")

    T = [C.info("C core alloc+free 32 B / raw libpmemobj alloc+free 32 B",
                cm("AllocFree/32") / cm("RawAllocFree32")
                if cm("AllocFree/32") and cm("RawAllocFree32") else None, "x",
                "median AllocFree/32 / median RawAllocFree32, same pmo_bench run",
                group="allocation")]
    ab = py.get("pmemobj append bytes", {})
    ai = py.get("pmemobj append int", {}).get("all", {}).get("median_ns")
    if str(sizes[0]) in ab and ai:
        T.append(C.info("Python append of %d-byte bytes / append of an int"
                        % sizes[0], ab[str(sizes[0])]["median_ns"] / ai, "x",
                        "median ns per autocommit append, same run: what the "
                        "allocation adds", group="allocation"))

    meta = C.metadata(NAME, args.quick)
    data = dict(meta)
    data.update({
        "what": "cost of a transactional allocation and free vs size, in the C "
                "core and through Python (autocommit append / del of bytes and "
                "str values)",
        "method": {"python": "%d rounds, systems rotated, a fresh pool per system, "
                             "kind, size and round, filled and emptied once untimed; "
                             "n appends then n deletes timed; median over rounds of "
                             "ns per op" % rounds,
                   "c": "pmo_bench --benchmark_filter='%s'%s" % (
                       C_FILTER, " (PMO_BENCH_QUICK=1: fewer sizes)" if args.quick else "")},
        "units": "ns per operation",
        "sizes": sizes,
        "python": py,
        "c": {"benchmarks": cb, "context": c_context, "missing": c_missing},
        "errors": errors,
        "targets": T,
    })
    C.write_json(os.path.join(out, NAME + ".json"), data)
    draw(os.path.join(out, NAME + ".png"), meta, py, cb, sizes)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
