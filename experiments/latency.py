#!/usr/bin/env python3
"""Latency distribution of single autocommitted operations.

    experiments/latency.py [--quick]

The other experiments time batches and report per-round means; this one
times every operation on its own (perf_counter_ns around one call) and
reports P50, P90, P99, P99.9 and the maximum per system and workload:

- dict_set:      d[i] = i into a fresh dict (ZODB: OOBTree), each its own
                 transaction (ZODB: transaction.commit() after each)
- list_append:   lst.append(i) to a fresh list (ZODB: PersistentList)
- sorted_insert: d[k] = k with random int keys into a fresh sorted map
                 (pmemobj: PersistentSortedDict; ZODB: OOBTree; plain
                 Python: sortedcontainers.SortedDict)

Systems: pmemobj, pynvm (where installed), ZODB (FileStorage in the same
directory as the pools, /dev/shm) and plain Python (volatile, the
interpreter's own floor).  All run in one process, in rounds of a fresh
container each, systems alternated round by round; the percentiles are
over the samples of all rounds.

Python's cyclic gc stays enabled (unlike the batch workloads, which turn
it off as timeit does): a program sees its pauses, so the distribution
includes them.  Each sample is tagged with what happened during it, so
the tail can be explained rather than guessed:

- gc:     a collection of Python's cyclic gc ran (gc.callbacks);
- fault:  the process took a page fault (getrusage's minor+major faults,
          read outside the timed interval);
- fsync:  ZODB called fsync (FileStorage's module-level fsync, wrapped to
          time it);
- preempt: the scheduler switched the process out involuntarily
          (getrusage's ru_nivcsw): on a shared machine, another process's
          time slice;
- wait:   the process blocked (ru_nvcsw: a voluntary switch, e.g. I/O).

For each system and workload the JSON holds the percentiles, the share
of samples above P99 that carry each tag, and the time of those tagged
samples.  Writes results/latency.json and results/latency.png.
"""

import gc
import math
import os
import random
import resource
import shutil
import sys
import time

import common as C

NAME = "latency"
WORKLOADS = ["dict_set", "list_append", "sorted_insert"]
SYSTEMS = ["pmemobj", "pynvm", "zodb", "plain"]
PERCENTILES = [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9)]
TAGS = [("g", "gc"), ("f", "fault"), ("s", "fsync"), ("p", "preempt"), ("w", "wait")]
LABELS = {"dict_set": "d[i] = i", "list_append": "lst.append(i)",
          "sorted_insert": "sorted d[k] = k"}

_gc_runs = 0


def _on_gc(phase, info):
    global _gc_runs
    if phase == "start":
        _gc_runs += 1


def percentile(sorted_xs, p):
    """The nearest-rank percentile of an ascending list.  The rank is
    rounded before its ceiling, so that 99.9% of 1000 is rank 999, not the
    1000 that 0.999 * 1000 = 999.0000000000001 would give."""
    k = max(0, math.ceil(round(p / 100.0 * len(sorted_xs), 6)) - 1)
    return sorted_xs[k]


class Fsync:
    """ZODB FileStorage's fsync, wrapped: how many calls, how long."""

    def __init__(self):
        self.calls, self.ns = 0, 0
        self.orig = None

    def install(self):
        import importlib
        # the module, not the class of the same name its package exports
        fs_mod = importlib.import_module("ZODB.FileStorage.FileStorage")
        self.orig = fs_mod.fsync

        def timed(fd):
            t0 = time.perf_counter_ns()
            try:
                return self.orig(fd)
            finally:
                self.ns += time.perf_counter_ns() - t0
                self.calls += 1
        fs_mod.fsync = timed


FSYNC = Fsync()


def timed_ops(op, args):
    """Call op(a) for each a, timing each call alone; returns (ns, tags)
    per sample, tags a str of 'g' (gc ran), 'f' (page fault), 's' (fsync),
    'p' (preempted), 'w' (blocked)."""
    out = []
    ru = resource.getrusage
    pc = time.perf_counter_ns
    self_ = resource.RUSAGE_SELF
    for a in args:
        g0, s0 = _gc_runs, FSYNC.calls
        r0 = ru(self_)
        t0 = pc()
        op(a)
        t1 = pc()
        r1 = ru(self_)
        tags = ""
        if _gc_runs != g0:
            tags += "g"
        if r1.ru_minflt + r1.ru_majflt != r0.ru_minflt + r0.ru_majflt:
            tags += "f"
        if FSYNC.calls != s0:
            tags += "s"
        if r1.ru_nivcsw != r0.ru_nivcsw:
            tags += "p"
        if r1.ru_nvcsw != r0.ru_nvcsw:
            tags += "w"
        out.append((t1 - t0, tags))
    return out


class Pmemobj:
    def __init__(self, pm, wd):
        self.pm = pm
        self.pool = pm.create(os.path.join(wd, "p.pool"), pool_size=64 << 20)

    def fresh(self, workload):
        self.pool.root = None
        self.pool.gc()
        kind = {"dict_set": self.pm.PersistentDict, "list_append": self.pm.PersistentList,
                "sorted_insert": self.pm.PersistentSortedDict}[workload]
        c = self.pool.root = self.pool.new(kind)
        return c.append if workload == "list_append" else (lambda k: c.__setitem__(k, k))

    def close(self):
        self.pool.close()


class Pynvm:
    def __init__(self, nvm, wd):
        self.nvm = nvm
        self.pool = nvm.create(os.path.join(wd, "n.pool"), 64 << 20)

    def fresh(self, workload):
        if workload == "sorted_insert":
            return None                     # pynvm has no sorted map
        with self.pool.transaction():
            self.pool.root = None
        self.pool.gc()
        kind = {"dict_set": self.nvm.PersistentDict,
                "list_append": self.nvm.PersistentList}[workload]
        with self.pool.transaction():
            c = self.pool.root = self.pool.new(kind)
        return c.append if workload == "list_append" else (lambda k: c.__setitem__(k, k))

    def close(self):
        self.pool.close()


class Zodb:
    def __init__(self, wd):
        import transaction
        from BTrees.OOBTree import OOBTree
        from persistent.list import PersistentList
        from ZODB import DB
        from ZODB.FileStorage import FileStorage
        FSYNC.install()
        self.tx, self.OOBTree, self.PersistentList = transaction, OOBTree, PersistentList
        self.db = DB(FileStorage(os.path.join(wd, "z.fs")), cache_size=10 ** 6)
        self.root = self.db.open().root()

    def fresh(self, workload):
        c = self.root["c"] = (self.PersistentList() if workload == "list_append"
                              else self.OOBTree())
        self.tx.commit()
        commit = self.tx.commit
        if workload == "list_append":
            def op(k):
                c.append(k)
                commit()
        else:
            def op(k):
                c[k] = k
                commit()
        return op

    def close(self):
        self.tx.abort()
        self.db.close()


class Plain:
    def __init__(self):
        try:
            from sortedcontainers import SortedDict
        except ImportError:
            SortedDict = None
        self.SortedDict = SortedDict

    def fresh(self, workload):
        if workload == "sorted_insert":
            if self.SortedDict is None:
                return None
            c = self.SortedDict()
        else:
            c = [] if workload == "list_append" else {}
        return c.append if workload == "list_append" else (lambda k: c.__setitem__(k, k))

    def close(self):
        pass


def measure(systems, n, rounds, seed=11):
    """samples[workload][system] = [(ns, tags)], rounds of n ops each on a
    fresh container, systems alternated round by round (and their order
    rotated, so none always runs first after another's gc)."""
    rng = random.Random(seed)
    samples = {w: {s: [] for s in systems} for w in WORKLOADS}
    names = list(systems)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for w in WORKLOADS:
            keys = (list(range(n[w])) if w != "sorted_insert"
                    else rng.sample(range(10 * n[w]), n[w]))
            for s in order:
                k = keys if s not in ("zodb", "pynvm") else keys[:n["slow"]]
                op = systems[s].fresh(w)
                if op is None:
                    continue
                samples[w][s] += timed_ops(op, k)
        C.progress("round %d/%d" % (r + 1, rounds))
    return samples


def summarise(rows):
    ns = sorted(x for x, _ in rows)
    out = {"n": len(ns), "min_ns": ns[0], "max_ns": ns[-1],
           "mean_ns": sum(ns) / len(ns)}
    for key, p in PERCENTILES:
        out[key + "_ns"] = percentile(ns, p)
    # What the tail is: of the samples above P99, the share with each tag,
    # and of all samples with a tag, how many and their median.
    p99 = out["p99_ns"]
    tail = [(x, t) for x, t in rows if x > p99]
    out["tail_n"] = len(tail)
    for tag, word in TAGS:
        tagged = sorted(x for x, t in rows if tag in t)
        out[word] = {"samples": len(tagged),
                     "median_ns": tagged[len(tagged) // 2] if tagged else None,
                     "tail_share": (sum(1 for _, t in tail if tag in t) / len(tail))
                     if tail else None}
    # "Untagged": none of the events that can make a sample slow.  fsync
    # does not count: every ZODB commit calls it, and on tmpfs it costs
    # under a microsecond (its time is in the JSON's "fsync").
    def plain(t):
        return not t.replace("s", "")
    out["tail_untagged_share"] = (sum(1 for _, t in tail if plain(t)) / len(tail)
                                  if tail else None)
    untagged = sorted(x for x, t in rows if plain(t))
    out["untagged"] = {"samples": len(untagged),
                       "p99_ns": percentile(untagged, 99.0) if untagged else None,
                       "max_ns": untagged[-1] if untagged else None}
    # The largest sample and what it carried: the maximum is one event.
    top = max(rows)
    out["max_tags"] = top[1]
    return out


def draw(path, meta, data):
    plt = C.pyplot()
    res = data["results"]
    fig, axes = plt.subplots(1, len(WORKLOADS), figsize=(12, 4), sharey=True)
    for ax, w in zip(axes, WORKLOADS):
        for s in SYSTEMS:
            e = res[w].get(s)
            if not e:
                continue
            ys = [e[k + "_ns"] / 1e3 for k, _ in PERCENTILES] + [e["max_ns"] / 1e3]
            ax.plot(range(len(ys)), ys, marker="o", color=C.COLORS[s], label=s)
        ax.set_xticks(range(len(PERCENTILES) + 1))
        ax.set_xticklabels(["P50", "P90", "P99", "P99.9", "max"])
        ax.set_yscale("log")
        ax.set_title(LABELS[w])
    C.log_axis(axes[0])
    axes[0].set_ylabel("us per operation (log scale)")
    axes[0].legend(fontsize=7)
    C.save_figure(fig, path, meta)


def main():
    ap = C.arg_parser(__doc__)
    args = ap.parse_args()
    out = C.out_dir(args)
    if C.replotted(args, NAME, lambda png, d: draw(png, d, d)):
        return 0
    C.set_mode_env("pmem")
    pm, why = C.import_pmemobj()
    if pm is None:
        raise SystemExit("latency: pmemobj not importable: %s" % why)
    nvm, nvm_why = C.import_pynvm()
    # Operations per round: the fast systems many (P99.9 needs thousands of
    # samples), ZODB and pynvm fewer (a ZODB commit costs ~100 us or more).
    if args.quick:
        n = {"dict_set": 2000, "list_append": 2000, "sorted_insert": 2000, "slow": 300}
        rounds = 2
    else:
        n = {"dict_set": 4000, "list_append": 4000, "sorted_insert": 4000, "slow": 2000}
        rounds = 4
    wd = C.workdir("pmem")
    systems, missing = {}, {}
    gc.callbacks.append(_on_gc)
    try:
        systems["pmemobj"] = Pmemobj(pm, wd)
        if nvm is not None:
            systems["pynvm"] = Pynvm(nvm, wd)
        else:
            missing["pynvm"] = nvm_why
        try:
            systems["zodb"] = Zodb(wd)
        except ImportError as e:
            missing["zodb"] = str(e)
        systems["plain"] = Plain()
        t0 = time.monotonic()
        samples = measure(systems, n, rounds)
        elapsed = time.monotonic() - t0
    finally:
        gc.callbacks.remove(_on_gc)
        for s in systems.values():
            s.close()
        shutil.rmtree(wd, ignore_errors=True)
    res = {w: {s: summarise(v) for s, v in samples[w].items() if v} for w in WORKLOADS}
    how = ("nearest-rank percentiles of %d rounds' single-operation samples, systems "
           "alternated, same run; Python gc enabled" % rounds)
    T = []
    for w in WORKLOADS:
        e = res[w]
        if "pmemobj" not in e:
            continue
        T.append(C.info("%s: pmemobj P99 / P50" % LABELS[w],
                        e["pmemobj"]["p99_ns"] / e["pmemobj"]["p50_ns"], "x", how,
                        group="latency", detail="%s / %s" % (
                            C.fmt_ns(e["pmemobj"]["p99_ns"]),
                            C.fmt_ns(e["pmemobj"]["p50_ns"]))))
        for peer in ("pynvm", "zodb"):
            if peer in e:
                T.append(C.info("%s: %s P99 / pmemobj P99" % (LABELS[w], peer),
                                e[peer]["p99_ns"] / e["pmemobj"]["p99_ns"], "x", how,
                                group="latency"))
    meta = C.metadata(NAME, args.quick)
    data = dict(meta)
    data.update({"what": "latency distribution of single autocommitted operations: "
                         "P50, P90, P99, P99.9, max per system",
                 "units": "ns per operation", "n": n, "rounds": rounds,
                 "percentiles": dict(PERCENTILES), "seconds": round(elapsed, 1),
                 "fsync": {"calls": FSYNC.calls, "ns": FSYNC.ns},
                 "results": res, "missing": missing, "targets": T})
    C.write_json(os.path.join(out, NAME + ".json"), data)
    draw(os.path.join(out, NAME + ".png"), meta, data)
    for w in WORKLOADS:
        for s, e in res[w].items():
            C.progress("%-13s %-8s P50 %s  P99 %s  P99.9 %s  max %s (n %d)" % (
                w, s, C.fmt_ns(e["p50_ns"]), C.fmt_ns(e["p99_ns"]),
                C.fmt_ns(e["p999_ns"]), C.fmt_ns(e["max_ns"]), e["n"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
