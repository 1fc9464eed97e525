#!/usr/bin/env python3
"""Flushes and fences per operation of the Python API, on emulated pmem.

    experiments/flush_counts.py [--quick] [--print]

Each operation runs a few times in a pool, and libpmem's flush and fence
calls around each run are counted by bench/c's interposer
(build/libpmo_flushcount.so, preloaded: this script re-runs itself with
LD_PRELOAD set).  The counts are calls, deterministic and the same on any
machine, unlike times (where the runs of an operation differ, the fewest
is reported and the runs are kept): tests/python/test_flush_counts.py pins them in a
table, so that a change which adds a flush or a fence to an operation
fails until the table is changed on purpose.  "flushes" are pmem_flush /
pmem_persist / pmem_msync calls and flushing copies; "fences" are drains
(pmem_drain, pmem_persist and copies without NODRAIN).

Writes results/flush_counts.json (or prints the table with --print).
"""

import ctypes
import json
import os
import sys

import common as C

NAME = "flush_counts"
SO = os.path.join(C.REPO, "build", "libpmo_flushcount.so")
RUNS = 5    # each operation counted this many times
POOL_SIZE = 32 << 20
LARGE_POOL = 64 << 20   # where small objects have no allocation header (src/tx.c)
# Issue #9: each of these writes its payload word failure-atomically, with
# no log: at most 1 flush and 1 fence.
SCALAR_OVERWRITES = ["list[i] = int (over an int)", "list[i] = float (over a float)",
                     "list[i] = bool (over a bool)", "list[i] = None (over None)",
                     "dict[k] = int (existing key)", "setattr (existing, int)"]


def operations(pmemobj):
    """name -> (setup(pool) -> state, op(pool, state)[, pool size]): every
    op can run RUNS times in a row on the state its setup made, in a pool
    of POOL_SIZE unless it names another size."""
    P = pmemobj

    def lst(pool):
        pool.root = pool.new(P.PersistentList, list(range(100)) + ["a str of some length"])
        return pool.root

    def dct(pool):
        pool.root = pool.new(P.PersistentDict, {i: i for i in range(100)})
        return pool.root

    def obj(pool):
        from sys_pmemobj import Item            # the benchmarks' object (bench/python)
        pool.root = pool.new(Item, 0, "b", 0)
        return pool.root

    def tuples(pool):
        pool.root = pool.new(P.PersistentList, [(1, 0, 2)])
        return pool.root

    def sdct(pool):
        # 1000 even keys: two levels; inserts of odd keys split full leaves
        pool.root = pool.new(P.PersistentSortedDict, {2 * i: i for i in range(1000)})
        return pool.root

    counter = iter(range(10**9))

    def many_objs(pool):
        from sys_pmemobj import Item
        with pool.transaction():
            pool.root = pool.new(P.PersistentList, [pool.new(Item, i, "b", i)
                                                     for i in range(RUNS + 1)])
        return iter(list(pool.root))          # one object without 'd' per run

    def new_item(pool, i):
        from sys_pmemobj import Item
        return pool.new(Item, i, "item %d" % i, i)

    def empties(kind):
        """A fresh empty container for each run, so that each run grows it
        through the same sizes."""
        def setup(pool):
            pool.root = pool.new(P.PersistentList, [pool.new(kind) for _ in range(RUNS + 1)])
            return iter(list(pool.root))
        return setup

    def in_tx(n, write):
        def op(pool, containers):
            target = next(containers)
            with pool.transaction():
                for k in range(n):
                    write(pool, target, k)
        return op

    def write_mib(pool, a):
        import numpy
        k = (1 << 20) // 8
        lo = (next(counter) * 1000) % ((1 << 18) - k)
        with a.writable(lo, lo + k) as v:
            numpy.asarray(v)[:] = 1.5

    def tx_writes(n):
        def op(pool, l):
            with pool.transaction():
                for i in range(n):
                    l[i] = i + 1
        return op

    return {
        "empty transaction": (lambda pool: None, lambda pool, s: pool.transaction().__enter__()
                              .__exit__(None, None, None)),
        "list[i] = int (over an int)": (lst, lambda pool, l: l.__setitem__(5, next(counter))),
        "list[i] = float (over a float)": (lst, lambda pool, l: l.__setitem__(6, 0.5)),
        "list[i] = int or float (over the other)": (
            lst, lambda pool, l: l.__setitem__(4, 0.5 if next(counter) % 2 else 7)),
        "list[i] = short str": (lst, lambda pool, l: l.__setitem__(7, "s%d" % next(counter))),
        "list[i] = long str": (lst, lambda pool, l: l.__setitem__(8, "a long str value %d"
                                                                % next(counter))),
        "list.append(int)": (lst, lambda pool, l: l.append(1)),
        "list.pop()": (lst, lambda pool, l: l.pop()),
        "dict[k] = int (existing key)": (dct, lambda pool, d: d.__setitem__(5, next(counter))),
        "dict[k] = int (new key)": (dct, lambda pool, d: d.__setitem__(1000 + next(counter), 1)),
        "dict[short str] = short str (new)": (
            dct, lambda pool, d: d.__setitem__("k%d" % next(counter), "v")),
        "del dict[k]": (dct, lambda pool, d: d.__delitem__(next(counter) % 100)),
        "setattr (existing, int)": (obj, lambda pool, o: setattr(o, "a", next(counter))),
        "set.add(int)": (lambda pool: pool.new(P.PersistentSet, range(100)),  # no resize
                         lambda pool, s: s.add(1000 + next(counter))),
        "pool.root = int": (lambda pool: None, lambda pool, s: setattr(pool, "root",
                                                                      next(counter))),
        "transaction of 1 list write": (lst, tx_writes(1)),
        "transaction of 10 list writes": (lst, tx_writes(10)),
        "array[i] = float": (lambda pool: pool.new(P.PersistentArray, "d", 100),
                             lambda pool, a: a.__setitem__(3, float(next(counter)))),
        # The operations of the benchmark workloads (bench/python/workloads.py
        # FLUSH_OPS names the one each workload repeats).
        "list[i] = bool (over a bool)": (
            lst, lambda pool, l: l.__setitem__(9, next(counter) % 2 == 0)),
        "list[i] = None (over None)": (
            lambda pool: pool.new(P.PersistentList, [None] * 10),
            lambda pool, l: l.__setitem__(3, None)),
        "setattr (new attribute)": (
            many_objs, lambda pool, objs: setattr(next(objs), "d", 1)),
        "transaction of 100 dict[int] = int (new keys)": (
            empties(P.PersistentDict), in_tx(100, lambda pool, d, k: d.__setitem__(k, k))),
        "transaction of 100 dict[short str] = short str (new keys)": (
            empties(P.PersistentDict),
            in_tx(100, lambda pool, d, k: d.__setitem__("k%07d" % k, "v%07d" % k))),
        "transaction of 100 list.append(int)": (
            empties(P.PersistentList), in_tx(100, lambda pool, l, k: l.append(k))),
        "transaction of 100 list.append(short str)": (
            empties(P.PersistentList), in_tx(100, lambda pool, l, k: l.append("s%07d" % k))),
        "transaction of 100 new 3-attribute objects, appended": (
            empties(P.PersistentList),
            in_tx(100, lambda pool, l, k: l.append(new_item(pool, k)))),
        "d[int] (read)": (dct, lambda pool, d: d[7]),
        "d[short str] (read)": (lambda pool: pool.new(P.PersistentDict, {"k7": 7}),
                                lambda pool, d: d["k7"]),
        "int in dict (read)": (dct, lambda pool, d: 7 in d),
        "list[i] (read)": (lst, lambda pool, l: l[7]),
        "iterate a list of 100 (read)": (
            lambda pool: pool.new(P.PersistentList, range(100)),
            lambda pool, l: [x for x in l]),
        "getattr (read)": (obj, lambda pool, o: o.a),
        "pool.gc(), 100 live 3-attribute objects": (
            lambda pool: setattr(pool, "root", pool.new(
                P.PersistentList, [new_item(pool, i) for i in range(100)])),
            lambda pool, s: pool.gc()),
        "writable 1 MiB range of an array, own transaction": (
            lambda pool: pool.new(P.PersistentArray, "d", 1 << 18),
            write_mib),
        "sorteddict[int] = int (existing key)": (
            sdct, lambda pool, d: d.__setitem__(500, next(counter))),
        "sorteddict[int] = int (new key)": (
            sdct, lambda pool, d: d.__setitem__(1 + 2 * (next(counter) % 500), 1)),
        "del sorteddict[k]": (sdct, lambda pool, d: d.__delitem__(2 * (next(counter) % 500))),
        "transaction of 100 sorteddict[int] = int (new keys)": (
            empties(P.PersistentSortedDict), in_tx(100, lambda pool, d, k: d.__setitem__(k, k))),
        "sorteddict[int] (read)": (sdct, lambda pool, d: d[500]),
        "numpy.sum over an array (read)": (
            lambda pool: pool.new(P.PersistentArray, "d", range(1000)),
            lambda pool, a: __import__("numpy").asarray(a).sum()),
        # Last, so that the counter's values the ops above see stay as they
        # were.  Short tuples live in their slot (src/slot.h): one that keeps its
        # length and first item changes one word, as an int does; a new
        # tuple key is published as a new int key is.
        "list[i] = short tuple (same length and first item)": (
            tuples, lambda pool, l: l.__setitem__(0, (1, next(counter), 2))),
        "dict[short tuple] = int (new key)": (
            dct, lambda pool, d: d.__setitem__((next(counter), 1), 1)),
        # Short bytes too, as short strs.
        "dict[short bytes] = short bytes (new)": (
            dct, lambda pool, d: d.__setitem__(b"k%d" % next(counter), b"v")),
        # In a pool of 64 MiB or more, small objects have no allocation
        # header (src/tx.c): the same 100 objects as above, there.
        "transaction of 100 new 3-attribute objects, appended (64 MiB pool)": (
            empties(P.PersistentList),
            in_tx(100, lambda pool, l, k: l.append(new_item(pool, k))), LARGE_POOL),
    }


def counts():
    lib = ctypes.CDLL(None)
    get = lib.pmo_flushcount_get
    buf = (ctypes.c_uint64 * 3)()

    def now():
        get(buf)
        return buf[0], buf[2]
    return now


def measure(directory):
    sys.path.insert(0, os.path.join(C.REPO, "bench", "python"))
    pmemobj, why = C.import_pmemobj()
    if pmemobj is None:
        sys.exit("flush_counts: " + why)
    now = counts()
    table = {}
    for name, (setup, op, *size) in operations(pmemobj).items():
        path = os.path.join(directory, "flush.pool")
        with pmemobj.create(path, pool_size=size[0] if size else POOL_SIZE) as pool:
            state = setup(pool)
            op(pool, state)                      # warm: first-time allocations
            runs = []
            for _ in range(RUNS):
                f0, d0 = now()
                op(pool, state)
                f1, d1 = now()
                runs.append((f1 - f0, d1 - d0))
        os.remove(path)
        # The fewest over the runs: an allocation that happens to claim a
        # new run of the heap adds a flush now and then (the 100 new
        # objects), and the runs that do not are the operation's own cost.
        table[name] = {"flushes": min(r[0] for r in runs),
                       "fences": min(r[1] for r in runs)}
        if len(set(runs)) > 1:
            table[name]["runs"] = [list(r) for r in runs]
    return table


def main():
    ap = C.arg_parser(__doc__)
    ap.add_argument("--print", action="store_true", help="print the table as JSON only")
    args = ap.parse_args()
    if SO not in os.environ.get("LD_PRELOAD", ""):
        if not os.path.exists(SO):
            sys.exit("flush_counts: %s is not built (scripts/setup.sh builds it)" % SO)
        # After whatever is preloaded already (a sanitizer runtime must stay first).
        env = dict(os.environ, LD_PRELOAD=(os.environ.get("LD_PRELOAD", "") + " " + SO).strip(),
                   PMEM_IS_PMEM_FORCE="1")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pmo-flush-", dir=C.mode_dir("pmem")) as d:
        table = measure(d)
    if args.print:
        json.dump(table, sys.stdout, indent=1)
        print()
        return
    data = {"meta": C.metadata(NAME, args.quick), "per_operation": table,
            "targets": targets(table)}
    C.write_json(os.path.join(C.out_dir(args), NAME + ".json"), data)


def targets(table):
    """Every operation's counts are in per_operation (and beside each
    target of the summary that repeats it); judged here is issue #9's
    promise for a scalar overwritten by one of its kind: 1 flush, 1 fence."""
    return [C.target("scalar overwrite, flushes and fences: " + name,
                     max(table[name]["flushes"], table[name]["fences"]), 1, "<=", "calls",
                     "the larger of the flushes and fences libpmo_flushcount.so counts "
                     "around one autocommitted operation; pinned in "
                     "tests/python/test_flush_counts.py", group="flushes and fences",
                     detail="flushes %d, fences %d" % (table[name]["flushes"],
                                                       table[name]["fences"]),
                     issue="#9", ops=[name])
            for name in SCALAR_OVERWRITES]


if __name__ == "__main__":
    main()
