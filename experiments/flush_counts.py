#!/usr/bin/env python3
"""Flushes and fences per operation of the Python API, on emulated pmem.

    experiments/flush_counts.py [--quick] [--print]

Each operation runs a few times in a pool, and libpmem's flush and fence
calls around each run are counted by bench/c's interposer
(build/libpmo_flushcount.so, preloaded: this script re-runs itself with
LD_PRELOAD set).  The counts are calls, deterministic and the same on any
machine, unlike times: tests/python/test_flush_counts.py pins them in a
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
RUNS = 5    # each operation counted this many times; all runs must agree


def operations(pmemobj):
    """name -> (setup(pool) -> state, op(pool, state)): every op can run
    RUNS times in a row on the state its setup made."""
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

    counter = iter(range(10**9))

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
    for name, (setup, op) in operations(pmemobj).items():
        path = os.path.join(directory, "flush.pool")
        with pmemobj.create(path, pool_size=32 << 20) as pool:
            state = setup(pool)
            op(pool, state)                      # warm: first-time allocations
            runs = []
            for _ in range(RUNS):
                f0, d0 = now()
                op(pool, state)
                f1, d1 = now()
                runs.append((f1 - f0, d1 - d0))
        os.remove(path)
        if len(set(runs)) == 1:
            table[name] = {"flushes": runs[0][0], "fences": runs[0][1]}
        else:
            table[name] = {"flushes": [r[0] for r in runs], "fences": [r[1] for r in runs]}
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
            "targets": [C.info("flushes: " + name, v["flushes"], "flushes",
                               "libpmem calls counted by libpmo_flushcount.so around one "
                               "autocommitted operation (or transaction); pinned in "
                               "tests/python/test_flush_counts.py",
                               group="flushes and fences", detail="%s fences" % (v["fences"],))
                        for name, v in table.items()]}
    C.write_json(os.path.join(C.out_dir(args), NAME + ".json"), data)


if __name__ == "__main__":
    main()
