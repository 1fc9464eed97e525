#!/usr/bin/env python3
"""PersistentSortedDict against ZODB's OOBTree and sortedcontainers.SortedDict.

    experiments/sorted_map.py [--quick]

Side by side in one run, systems alternated round by round, int keys
(random, from a range ten times the size) and int values:

1. insert, autocommitted: each d[k] = v its own transaction; OOBTree
   with transaction.commit() after each insert (FileStorage in the same
   directory as the pool, /dev/shm).  Fewer operations here: a ZODB
   commit costs about a millisecond.
2. insert, many in one transaction: N inserts, then one commit.
3. lookup: d[k] for N random present keys (the OOBTree's buckets are in
   ZODB's cache, as a warm program's would be).
4. range scan: list(keys in [lo, lo + 100 keys)), by irange / keys(min,
   max) / SortedDict.irange.

sortedcontainers.SortedDict is in memory only: it bounds what a sorted
map can cost in Python (its lookups are dict lookups).  Targets: at least
2x faster than OOBTree on every workload; lookups within 3x of SortedDict.

Writes results/sorted_map.json and results/sorted_map.png.
"""

import os
import random
import shutil
import sys
import time

import common as C

NAME = "sorted_map"
WORKLOADS = ["insert_autocommit", "insert_in_tx", "lookup", "range_100"]
LABELS = {"insert_autocommit": "insert, autocommit", "insert_in_tx": "insert, one tx",
          "lookup": "lookup", "range_100": "range scan, 100 keys"}
SYSTEMS = ["pmemobj", "zodb", "sortedcontainers"]


def ns_per(fn, n):
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / n


class Map:
    """What the three systems share: lookups and range scans over the map
    the last insert workload built (self.d), each timed the same way."""

    d = None

    def range_of(self, lo, hi):
        return self.d.irange(lo, hi)

    def lookup(self, keys):
        d = self.d
        return ns_per(lambda: [d[k] for k in keys], len(keys))

    def range_100(self, starts, sorted_keys):
        r = self.range_of
        return ns_per(lambda: [list(r(sorted_keys[i], sorted_keys[i + 99])) for i in starts],
                      len(starts))


class Pmemobj(Map):
    def __init__(self, pm, wd, n):
        self.pm = pm
        self.pool = pm.create(os.path.join(wd, "s.pool"), pool_size=max(64 << 20, n * 400))

    def fresh(self):
        self.pool.root = None
        self.pool.gc()
        self.d = self.pool.root = self.pool.new(self.pm.PersistentSortedDict)
        return self.d

    def insert_autocommit(self, keys):
        d = self.fresh()
        return ns_per(lambda: [d.__setitem__(k, k) for k in keys], len(keys))

    def insert_in_tx(self, keys):
        d = self.fresh()

        def run():
            with self.pool.transaction():
                for k in keys:
                    d[k] = k
        return ns_per(run, len(keys))

    def close(self):
        self.pool.close()


class Zodb(Map):
    def __init__(self, wd, n):
        import transaction
        from BTrees.OOBTree import OOBTree
        from ZODB import DB
        from ZODB.FileStorage import FileStorage
        self.tx, self.OOBTree = transaction, OOBTree
        self.db = DB(FileStorage(os.path.join(wd, "z.fs")), cache_size=10 ** 6)
        self.root = self.db.open().root()

    def fresh(self):
        t = self.root["t"] = self.OOBTree()
        self.tx.commit()
        self.d = t
        return t

    def insert_autocommit(self, keys):
        t = self.fresh()
        commit = self.tx.commit

        def run():
            for k in keys:
                t[k] = k
                commit()
        return ns_per(run, len(keys))

    def insert_in_tx(self, keys):
        t = self.fresh()

        def run():
            for k in keys:
                t[k] = k
            self.tx.commit()
        return ns_per(run, len(keys))

    def range_of(self, lo, hi):
        return self.d.keys(lo, hi)

    def close(self):
        self.db.close()


class Sorted(Map):
    def __init__(self):
        from sortedcontainers import SortedDict
        self.SortedDict = SortedDict

    def insert_autocommit(self, keys):
        return self.insert_in_tx(keys)       # in memory: nothing to commit

    def insert_in_tx(self, keys):
        d = self.d = self.SortedDict()
        return ns_per(lambda: [d.__setitem__(k, k) for k in keys], len(keys))

    def close(self):
        pass


def measure(systems, n, n_auto, rounds, seed=7):
    rng = random.Random(seed)
    keys = rng.sample(range(10 * n), n)
    sorted_keys = sorted(keys)
    auto_keys = keys[:n_auto]
    probes = [rng.choice(keys) for _ in range(n)]
    starts = [rng.randrange(n - 100) for _ in range(max(100, n // 100))]
    samples = {w: {s: [] for s in systems} for w in WORKLOADS}
    for r in range(rounds):
        for name, sysobj in systems.items():
            samples["insert_autocommit"][name].append(sysobj.insert_autocommit(auto_keys))
            samples["insert_in_tx"][name].append(sysobj.insert_in_tx(keys))
            samples["lookup"][name].append(sysobj.lookup(probes))
            samples["range_100"][name].append(sysobj.range_100(starts, sorted_keys))
        C.progress("round %d/%d: %s" % (r + 1, rounds, ", ".join(
            "%s lookup %.0f ns" % (s, samples["lookup"][s][-1]) for s in systems)))
    return samples


def draw(path, meta, res):
    plt = C.pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    med = res["median_ns"]
    systems = [s for s in SYSTEMS if s in med.get("lookup", {})]
    colors = {"pmemobj": C.COLORS["pmemobj"], "zodb": C.COLORS["zodb"],
              "sortedcontainers": C.COLORS["plain"]}
    names = {"pmemobj": "pmemobj PersistentSortedDict", "zodb": "ZODB OOBTree",
             "sortedcontainers": "SortedDict (in memory)"}
    w = 0.8 / max(1, len(systems))
    for j, s in enumerate(systems):
        xs = [i + (j - (len(systems) - 1) / 2) * w for i in range(len(WORKLOADS))]
        ax.bar(xs, [med[wl][s] / 1e3 for wl in WORKLOADS], w, label=names[s], color=colors[s])
    ax.set_xticks(range(len(WORKLOADS)))
    ax.set_xticklabels([LABELS[wl] for wl in WORKLOADS])
    ax.set_yscale("log")
    C.log_axis(ax)
    ax.set_ylabel("us per operation (log scale)")
    ax.set_title("Sorted maps: %s int keys" % format(res["n"], ","))
    ax.legend(fontsize=7)
    C.save_figure(fig, path, meta)


def main():
    ap = C.arg_parser(__doc__)
    args = ap.parse_args()
    out = C.out_dir(args)
    if C.replotted(args, NAME, lambda png, d: draw(png, d, d)):
        return 0
    C.set_mode_env("pmem")
    pm, why = C.import_pmemobj()
    n = 10 ** 4 if args.quick else 10 ** 5
    n_auto = 300 if args.quick else 1000
    rounds = 3 if args.quick else 5
    wd = C.workdir("pmem")
    systems, missing = {}, {}
    try:
        systems["pmemobj"] = Pmemobj(pm, wd, n)
        for name, make in (("zodb", lambda: Zodb(wd, n)), ("sortedcontainers", Sorted)):
            try:
                systems[name] = make()
            except ImportError as e:
                missing[name] = str(e)
        samples = measure(systems, n, n_auto, rounds)
    finally:
        for s in systems.values():
            s.close()
        shutil.rmtree(wd, ignore_errors=True)
    med = {w: {s: C.median(v) for s, v in samples[w].items()} for w in WORKLOADS}
    how = "medians of %d rounds, systems alternated, same run" % rounds
    T = []
    for w in WORKLOADS:
        if "zodb" not in med[w]:
            T.append(C.target("%s: OOBTree / PersistentSortedDict" % LABELS[w], None, 2.0,
                              ">=", "x", how, group="sorted map", issue="#12",
                              missing=missing.get("zodb")))
            continue
        T.append(C.target("%s: OOBTree / PersistentSortedDict" % LABELS[w],
                          med[w]["zodb"] / med[w]["pmemobj"], 2.0, ">=", "x", how,
                          group="sorted map", issue="#12",
                          detail="%s vs %s" % (C.fmt_ns(med[w]["zodb"]),
                                               C.fmt_ns(med[w]["pmemobj"]))))
    if "sortedcontainers" in med["lookup"]:
        T.append(C.target("lookup: PersistentSortedDict / SortedDict (in memory)",
                          med["lookup"]["pmemobj"] / med["lookup"]["sortedcontainers"], 3.0,
                          "<=", "x", how, group="sorted map", issue="#12",
                          detail="%s vs %s" % (C.fmt_ns(med["lookup"]["pmemobj"]),
                                               C.fmt_ns(med["lookup"]["sortedcontainers"]))))
        for w in ("insert_in_tx", "range_100"):
            T.append(C.info("%s: PersistentSortedDict / SortedDict (in memory)" % LABELS[w],
                            med[w]["pmemobj"] / med[w]["sortedcontainers"], "x", how,
                            group="sorted map"))
    else:
        T.append(C.target("lookup: PersistentSortedDict / SortedDict (in memory)", None, 3.0,
                          "<=", "x", how, group="sorted map", issue="#12",
                          missing=missing.get("sortedcontainers")))
    meta = C.metadata(NAME, args.quick)
    data = dict(meta)
    data.update({"what": "PersistentSortedDict vs ZODB OOBTree and SortedDict: inserts "
                         "(autocommit, one tx), lookups, 100-key range scans",
                 "units": "ns per operation", "n": n, "n_autocommit": n_auto,
                 "rounds": rounds, "median_ns": med, "samples_ns": samples,
                 "missing": missing, "targets": T})
    C.write_json(os.path.join(out, NAME + ".json"), data)
    draw(os.path.join(out, NAME + ".png"), meta, data)
    for t in T:
        C.progress("%s: %s" % (t["label"], t["status"]), NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
