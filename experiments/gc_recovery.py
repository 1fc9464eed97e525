#!/usr/bin/env python3
"""gc, clean open and crash recovery against heap size, 10^3 to 10^6 objects.

    experiments/gc_recovery.py [--quick] [--reps N]

C, pmo_bench (bench/c/bench_heap.cc): a list of n distinct 10-character
str objects under the root, built once per size by a child process.
  Gc/N         pmo_gc over the open pool, all live: ns per object = time / N
  GcShuffled/N the same with the list in a random order (marking out of
               address order)
  Sweep/N, SweepPmdk/N  gc's sweep alone: the heap walk, and libpmemobj's
               pmemobj_first/next that it replaced (the baseline)
  OpenClean/N  pmo_pool_open of a cleanly closed pool
  Recover/N    the clean flag cleared (as a crash leaves it), then open + gc
With --quick pmo_bench registers only 10^3 and 10^5.

Python, through the pmemobj package, on two heaps per size:
  str heap     ``pool.root`` a PersistentList of n distinct 20-character
               str (heap objects, as in the C heap: strs of up to 14 bytes
               would be stored in their slots, with nothing for gc to see)
  item heap    a PersistentList of n ``PersistentObject``s with attributes
               a (int), b (str), c (int) -- the harness's Item; up to 10^5
               objects (10^6 would take most of the time budget to build)
measured:
  gc           ``pool.gc()`` on the open pool (one untimed run first, as
               pmo_bench does); per live heap object = wall time / the
               'live' count gc returns (and gc's own 'nanoseconds')
  open clean   ``pmemobj.open(path)`` of the cleanly closed pool plus
               ``len(pool.root)``; close not timed
  recovery     the pool left unclean by a child process that opened it and
               died with os._exit (no close), copied once per repetition
               (untimed); ``pmemobj.open(path)`` timed, which collects the
               pool as it opens; stats()['recovery_ns'] is recorded too
gc is repeated --reps times (default 3, quick 2), open and recovery at
least 5 times; the median is reported.

Writes results/gc_recovery.json and results/gc_recovery.png.
"""

import os
import shutil
import subprocess
import sys

import common as C

NAME = "gc_recovery"
C_FILTER = "^(Gc|GcShuffled|Sweep|SweepPmdk|OpenClean|Recover)/"
SIZES_FULL = [1000, 10000, 100000, 1000000]
SIZES_QUICK = [1000, 10000]
ITEM_MAX = 100000
# Issue #9: gc at most 0.1 us per live object at 10^6 objects.
GC_GOAL_NS = 100.0
GC_OPS = ["pool.gc(), 100 live 3-attribute objects"]    # flush_counts.py
BUILD_BATCH = 2000

# Emulated pmem only; libpmem reads the flag once, as pmemobj loads it.
C.set_mode_env("pmem")
pmemobj, _why = C.import_pmemobj()
if pmemobj is not None and hasattr(pmemobj, "PersistentObject"):
    class Item(pmemobj.PersistentObject):
        def __init__(self, a=0, b="", c=0):
            self.a = a
            self.b = b
            self.c = c
else:
    Item = None


def pool_size(n, kind):
    return (48 << 20) + n * (160 if kind == "str" else 400)


def build(path, kind, n):
    pool = pmemobj.create(path, pool_size(n, kind))
    with pool.transaction():
        pool.root = pool.new(pmemobj.PersistentList)
    lst = pool.root
    for start in range(0, n, BUILD_BATCH):
        with pool.transaction():
            if kind == "str":
                for i in range(start, min(n, start + BUILD_BATCH)):
                    lst.append("key-%016d" % i)
            else:
                for i in range(start, min(n, start + BUILD_BATCH)):
                    lst.append(pool.new(Item, i, "item %d" % i, i))
    pool.close()


def make_unclean(src, dst):
    """dst: a copy of src that a process opened and never closed."""
    shutil.copyfile(src, dst)
    code = ("import os, sys; sys.path[:0] = %r; import pmemobj; "
            "p = pmemobj.open(%r); os._exit(0)" % (sys.path[:1], dst))
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ))


def measure(wd, kind, n, reps):
    path = os.path.join(wd, "%s-%d.pool" % (kind, n))
    unclean = path + ".unclean"
    trial = path + ".trial"
    r = {"n": n}
    try:
        with C.Timer() as tb:
            build(path, kind, n)
        r["build_s"] = tb.ns / 1e9
        pool = pmemobj.open(path)      # untimed: the first open after the build
        pool.close()
        # gc on the open pool
        pool = pmemobj.open(path)
        try:
            pool.gc()
            wall, own, live = [], [], None
            for _ in range(reps):
                with C.Timer() as t:
                    types, counts = pool.gc()
                wall.append(t.ns)
                own.append(counts.get("nanoseconds"))
                live = counts.get("live")
                if counts.get("collected") or counts.get("orphans"):
                    raise AssertionError("gc freed objects of a live heap")
            r["live_objects"] = live
            r["gc_counts"] = counts
            r["gc_type_counts"] = types
        finally:
            pool.close()
        r["gc_ns"] = C.summary(wall)
        r["gc_own_ns"] = C.summary([x for x in own if x is not None])
        r["gc_ns_per_live_object"] = r["gc_ns"]["median"] / live if live else None
        r["gc_ns_per_item"] = r["gc_ns"]["median"] / n
        # open of the clean pool
        opens, opens_own = [], []
        for _ in range(max(reps, 5)):
            with C.Timer() as t:
                pool = pmemobj.open(path)
                k = len(pool.root)
            opens.append(t.ns)
            opens_own.append(pool.stats().get("open_ns"))
            if pool.stats().get("recovery_ns"):
                raise AssertionError("clean pool was recovered")
            pool.close()
            if k != n:
                raise AssertionError("root length after open")
        r["open_clean_ns"] = C.summary(opens)
        r["open_clean_own_ns"] = C.summary([x for x in opens_own if x is not None])
        # recovery of an unclean pool
        make_unclean(path, unclean)
        recs, recs_own = [], []
        for _ in range(max(reps, 5)):
            shutil.copyfile(unclean, trial)
            with C.Timer() as t:
                pool = pmemobj.open(trial)
                k = len(pool.root)
            recs.append(t.ns)
            st = pool.stats()
            recs_own.append(st.get("recovery_ns"))
            if not st.get("recovery_ns") and not st.get("gc_runs"):
                raise AssertionError("unclean pool was not collected on open")
            pool.close()
            os.unlink(trial)
            if k != n:
                raise AssertionError("root length after recovery")
        r["recovery_ns"] = C.summary(recs)
        r["recovery_own_ns"] = C.summary([x for x in recs_own if x is not None])
    finally:
        for p in (path, unclean, trial):
            if os.path.exists(p):
                os.unlink(p)
    return r


def draw(path, meta, py, cb, sizes):
    plt = C.pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
    cc = C.COLORS["pmemobj (C core)"]
    # One colour per heap kind, so the Python series differ from each other
    # and from the C core's, not only by marker.
    kind_color = {"str": C.COLORS["pmemobj"], "item": C.OKABE_ITO[1]}

    def cpts(fam, per_object):
        pts = []
        for name, e in cb.items():
            if name.split("/")[0] == fam:
                n = int(name.split("/")[1])
                pts.append((n, e["median_ns"] / (n if per_object else 1)))
        return sorted(pts)

    pts = cpts("Gc", True)
    if pts:
        a1.plot(*zip(*pts), "^-", color=cc, label="C core: pmo_gc, str heap (Gc/N)")
        cpu = sorted((int(n.split("/")[1]), e["median_cpu_ns"] / int(n.split("/")[1]))
                     for n, e in cb.items() if n.startswith("Gc/"))
        a1.plot(*zip(*cpu), "^:", color=cc, alpha=0.6,
                label="C core: same, CPU time (machine shared)")
    for kind, marker in (("str", "o"), ("item", "s")):
        e = py.get(kind, {})
        xs = [n for n in sizes if str(n) in e and e[str(n)].get("gc_ns_per_live_object")]
        if xs:
            a1.plot(xs, [e[str(n)]["gc_ns_per_live_object"] for n in xs], marker + "-",
                    color=kind_color[kind],
                    label="Python: pool.gc(), %s heap, per live object" % kind)
    a1.axhline(GC_GOAL_NS, color="k", lw=0.8, ls="--")
    a1.text(sizes[0], GC_GOAL_NS * 1.07, "target (#9): %g us per live object"
            % (GC_GOAL_NS / 1e3), fontsize=7, va="bottom")
    a1.set_ylabel("gc time per live object (ns, log scale)")
    a1.set_title("gc cost per object vs heap size (all objects live)")

    for fam, marker, label in (("OpenClean", "^", "C core: open, clean (OpenClean/N)"),
                               ("Recover", "v", "C core: open + recovery gc (Recover/N)")):
        pts = cpts(fam, False)
        if pts:
            a2.plot([p[0] for p in pts], [p[1] / 1e6 for p in pts], marker=marker,
                    color=cc, label=label, ls="-" if fam == "OpenClean" else "--")
    for kind, marker in (("str", "o"), ("item", "s")):
        e = py.get(kind, {})
        for key, ls, label in (("open_clean_ns", "-", "open, clean"),
                               ("recovery_ns", "--", "open after a crash")):
            xs = [n for n in sizes if str(n) in e and e[str(n)].get(key)]
            if xs:
                a2.plot(xs, [e[str(n)][key]["median"] / 1e6 for n in xs], marker,
                        ls=ls, color=kind_color[kind], label="Python: %s, %s heap" % (label, kind))
    a2.set_ylabel("time (ms, log scale)")
    a2.set_title("Pool open and crash recovery vs heap size")
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("objects in the heap (log scale)")
        ax.legend(fontsize=7, loc="upper left")
    C.log_axis(a1, include=(100, 1000))
    C.log_axis(a2)
    C.save_figure(fig, path, meta)


def main():
    ap = C.arg_parser(__doc__)
    ap.add_argument("--reps", type=int, default=None, help="default 3, quick 2")
    args = ap.parse_args()
    out = C.out_dir(args)
    if C.replotted(args, NAME,
                   lambda png, d: draw(png, d, d["python"], d["c"]["benchmarks"], d["sizes"])):
        return 0
    C.set_mode_env("pmem")
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    reps = args.reps or (2 if args.quick else 3)

    py, errors = {}, []
    if pmemobj is None:
        py = {"str": {"missing": _why}, "item": {"missing": _why}}
        C.progress("MISSING pmemobj: %s" % _why)
    else:
        if Item is None:
            py["item"] = {"missing": "pmemobj has no PersistentObject"}
        wd = C.workdir("pmem")
        try:
            # Untimed: the process's first opens pay for first use (code
            # pages, lazy set-up in libpmemobj and the extension).
            warm = os.path.join(wd, "warm-up.pool")
            build(warm, "str", 100)
            for _ in range(3):
                pmemobj.open(warm).close()
            os.unlink(warm)
            for n in sizes:
                for kind in ("str", "item"):
                    if kind == "item" and (Item is None or n > ITEM_MAX):
                        continue
                    try:
                        r = measure(wd, kind, n, reps)
                    except Exception as e:
                        errors.append({"kind": kind, "n": n,
                                       "error": "%s: %s" % (type(e).__name__, e)})
                        C.progress("ERROR %s heap of %d: %s" % (kind, n, errors[-1]["error"]))
                        continue
                    py.setdefault(kind, {})[str(n)] = r
                    C.progress("%s heap of %d: built in %.1f s; gc %s (%s per live "
                               "object); open %s; recovery %s" % (
                                   kind, n, r["build_s"], C.fmt_ns(r["gc_ns"]["median"]),
                                   C.fmt_ns(r["gc_ns_per_live_object"]),
                                   C.fmt_ns(r["open_clean_ns"]["median"]),
                                   C.fmt_ns(r["recovery_ns"]["median"])))
        finally:
            shutil.rmtree(wd, ignore_errors=True)

    cb, c_missing, c_context = {}, None, None
    try:
        data = C.run_pmo_bench(C_FILTER, "pmem", min_time=0.02 if args.quick else 0.1,
                               repetitions=1 if args.quick else 3, quick=args.quick,
                               label="pmo_bench heap")
        cb = C.bench_table(data)
        c_context = C.bench_context(data)
    except (C.PmoBenchMissing, RuntimeError, OSError) as e:
        c_missing = str(e)
        C.progress("C benchmarks MISSING: %s" % e)

    T = targets(py, cb, sizes)
    meta = C.metadata(NAME, args.quick)
    data = dict(meta)
    data.update({
        "what": "gc time per live object, clean open time and crash-recovery time "
                "vs the number of objects in the heap",
        "method": {"python": "pmemobj package; %d repetitions per measurement, "
                             "median; see the script's docstring" % reps,
                   "c": "pmo_bench --benchmark_filter='%s'" % C_FILTER},
        "units": {"*_ns": "ns (wall clock)", "gc_ns_per_live_object":
                  "median wall time of pool.gc() / live heap objects it counted"},
        "sizes": sizes,
        "python": py,
        "c": {"benchmarks": cb, "context": c_context, "missing": c_missing},
        "errors": errors,
        "targets": T,
    })
    C.write_json(os.path.join(out, NAME + ".json"), data)
    draw(os.path.join(out, NAME + ".png"), meta, py, cb, sizes)
    return 1 if errors else 0


def targets(py, cb, sizes):
    T = []
    gcs = sorted((int(n.split("/")[1]), e) for n, e in cb.items() if n.startswith("Gc/"))
    if gcs:
        n, e = gcs[-1]
        T.append(C.target("gc per live object, C core, heap of %d" % n,
                          e["median_ns"] / n, GC_GOAL_NS, "<=", "ns",
                          "pmo_bench Gc/%d median wall time / %d objects "
                          "(CPU time: %.0f ns per object)" % (n, n, e["median_cpu_ns"] / n),
                          group="gc and open", issue="#9", ops=GC_OPS,
                          detail="CPU time %s" % C.fmt_ns(e["median_cpu_ns"] / n)))
    else:
        T.append(C.target("gc per live object, C core", None, GC_GOAL_NS, "<=", "ns", "",
                          group="gc and open", missing="pmo_bench Gc missing",
                          issue="#9"))
    s = py.get("str", {})
    ns = [n for n in sizes if str(n) in s]
    if ns:
        r = s[str(ns[-1])]
        T.append(C.target("gc per live object, Python pool.gc(), str heap of %d" % ns[-1],
                          r["gc_ns_per_live_object"], GC_GOAL_NS, "<=", "ns",
                          "median wall time of pool.gc() / live objects it reports",
                          group="gc and open", issue="#9", ops=GC_OPS))
    it = py.get("item", {})
    ni = [n for n in sizes if str(n) in it]
    if ni:
        r = it[str(ni[-1])]
        T.append(C.target("gc per live object, Python pool.gc(), %d 3-attribute objects"
                          % ni[-1], r["gc_ns_per_live_object"], GC_GOAL_NS, "<=", "ns",
                          "median wall time of pool.gc() / live heap objects it "
                          "reports (%s per item); the issue's 10^6 objects would "
                          "take most of the time budget to build" % C.fmt_ns(
                              r["gc_ns_per_item"]),
                          group="gc and open", issue="#9", ops=GC_OPS))
    opens = sorted((int(n.split("/")[1]), e["median_ns"]) for n, e in cb.items()
                   if n.startswith("OpenClean/"))
    if len(opens) >= 2:
        (n0, t0), (n1, t1) = opens[0], opens[-1]
        T.append(C.target("clean open, C core: time at %d / at %d objects" % (n1, n0),
                          t1 / t0, 2.0, "<=", "x",
                          "pmo_bench OpenClean medians (%s vs %s); 'independent of "
                          "size' taken as: at most 2x over %g decades" % (
                              C.fmt_ns(t1), C.fmt_ns(t0), len(str(n1)) - len(str(n0))),
                          group="gc and open"))
    if len(ns) >= 2:
        a, b = s[str(ns[0])]["open_clean_ns"]["median"], s[str(ns[-1])]["open_clean_ns"]["median"]
        T.append(C.target("clean open, Python: time at %d / at %d objects" % (ns[-1], ns[0]),
                          b / a, 2.0, "<=", "x",
                          "pmemobj.open + len(root), medians (%s vs %s)" % (
                              C.fmt_ns(b), C.fmt_ns(a)), group="gc and open"))
    recs = sorted((int(n.split("/")[1]), e["median_ns"]) for n, e in cb.items()
                  if n.startswith("Recover/"))
    if recs:
        n, t = recs[-1]
        T.append(C.info("recovery (open + gc of an unclean pool), C core, %d objects" % n,
                        t, "ns", "pmo_bench Recover/%d median" % n, group="gc and open"))
    return T


if __name__ == "__main__":
    sys.exit(main())
