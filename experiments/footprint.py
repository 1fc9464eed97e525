#!/usr/bin/env python3
"""Pool bytes per stored object, by type, against pickle, pynvm and ZODB;
what the default pool, and a fixed 8 MiB pool, hold.

    experiments/footprint.py [--quick]

For each type, n objects are appended to a persistent list at the root of
a fresh pool (in transactions of 500), and the pool is closed (close runs
gc).  The footprint of one object is

    (used bytes of that pool - used bytes of a pool holding the empty list) / n

where "used bytes" is ``pmempool info -s``'s "Total used bytes" of the
closed pool: the allocation units the allocator has handed out, so
allocator headers, rounding to allocation classes and the list's slot (16
bytes in pmemobj) and growth slack are all included.  (The allocation
counter pool.stats()['alloc_bytes'] is not used: it counts requested bytes
and is not net of frees, e.g. of the list's item arrays as it grows.)
The same is done with pynvm, whose API is the same; a type pynvm cannot
store is reported as unsupported with its error, and a type pmemobj does
not have yet is reported as missing -- never skipped.

pickle is ``len(pickle.dumps(v))`` of the plain-Python equivalent (int,
str, tuple, list, dict, an instance of a plain class with the same three
attributes), the mean over the n values, protocol pickle.DEFAULT_PROTOCOL;
"pickle, in a list" is len(pickle.dumps(list of all n values)) / n, where
pickle's memo and framing are amortised.  ZODB: the FileStorage's bytes
per object after pack (zodb_bytes_per_object).  The heap fill of each
pool is pmempool's used bytes / the bytes the heap claimed for them
(common.pool_heap_usage).

Issue #9's targets: pool bytes per object at most 1.5x its pickle, for
each type; a pool made by pmemobj.create(path) holds 100,000 ints in a
list, 20,000 short str -> short str dict entries and 5,000
three-attribute objects (capacity(): filled until MemoryError).  Since
issue #12 that default pool is growable (up to GROW_DEFAULT_MAX, 4 GiB):
it is filled to DEFAULT_FILL times the goal, and if it is not full by
then the row says so (held at least that many; how far it grew).  The
capacity of one fixed 8 MiB file (create(path, pool_size=MIN_POOL_SIZE),
the default before #12) is measured as before, filled until MemoryError,
in rows labelled "fixed 8 MiB pool".

Growth (issue #12): n = 10^6 ints appended to a list in a growable pool
created with the defaults, against a fixed pool presized to hold them:
the ratio of times (the cost of growing) and the bytes on disk at the end.

Writes results/footprint.json and results/footprint.png.
"""

import os
import pickle
import shutil
import sys

import common as C

NAME = "footprint"
BATCH = 500
POOL_SIZE = 256 << 20
# The pool format's fixed costs per value (docs/internals.md, src/slot.h,
# src/heap.h): a 16-byte slot where it is referenced; per heap block
# libpmemobj's 16-byte allocation header (none on an object of up to
# headerless_max bytes in a pool of POOL_SIZE) and pmemobj's 16-byte
# pmo_head, rounded up to 16-byte units (the smallest allocation class of
# a pool of POOL_SIZE, src/tx.c; a fixed pool under 64 MiB has 64-byte
# units and headers on every block).
FORMAT = {"slot": 16, "pmdk_header": 16, "pmo_head": 16, "unit": 16, "headerless_max": 256}
PMDK_HEADER = FORMAT["pmdk_header"]

# Emulated pmem only; libpmem reads the flag once, as pmemobj loads it.
C.set_mode_env("pmem")
pmemobj, _pm_why = C.import_pmemobj()
nvm, _nvm_why = C.import_pynvm()


class Plain3:
    """The plain-Python counterpart of Obj3, for pickle."""

    def __init__(self, a=0, b="", c=0):
        self.a = a
        self.b = b
        self.c = c


def _obj3(mod):
    if mod is None or not hasattr(mod, "PersistentObject"):
        return None

    class Obj3(mod.PersistentObject):
        def __init__(self, a=0, b="", c=0):
            self.a = a
            self.b = b
            self.c = c
    Obj3.__qualname__ = Obj3.__name__ = "Obj3_" + mod.__name__.replace(".", "_")
    return Obj3


OBJ3 = {"pmemobj": _obj3(pmemobj), "pynvm": _obj3(nvm)}

try:
    from persistent import Persistent as _ZPersistent

    class ZItem(_ZPersistent):
        """ZODB's counterpart of Obj3 (module level: ZODB pickles it by
        its class's path)."""

        def __init__(self, a=0, b="", c=0):
            self.a = a
            self.b = b
            self.c = c
except ImportError as _e:
    ZItem = None
    _zodb_why = "ZODB: %s" % _e

MODS = {"pmemobj": pmemobj, "pynvm": nvm}
WHY = {"pmemobj": _pm_why, "pynvm": _nvm_why}
# Resurrection by class path: make the classes findable under the names
# they carry.
for _c in OBJ3.values():
    if _c is not None:
        globals()[_c.__name__] = _c


def _need(mod, attr):
    if not hasattr(mod, attr):
        raise LookupError("the module has no %s" % attr)
    return getattr(mod, attr)


# name -> (n full, n quick, make(system, pool, i), plain(i), note)
TYPES = [
    ("int", 10000, 2000, lambda s, p, i: i, lambda i: i,
     "64-bit int: inline in the 16-byte slot in pmemobj"),
    ("int > 64 bits", 10000, 2000, lambda s, p, i: 2**70 + i, lambda i: 2**70 + i,
     "under 2**112: inline in the slot in pmemobj"),
    ("float", 10000, 2000, lambda s, p, i: i + 0.5, lambda i: i + 0.5,
     "inline in pmemobj"),
    ("str, 8 chars", 10000, 2000, lambda s, p, i: "s%07d" % i, lambda i: "s%07d" % i, ""),
    ("str, 100 chars", 10000, 2000, lambda s, p, i: ("%07d" % i).ljust(100, "x"),
     lambda i: ("%07d" % i).ljust(100, "x"), ""),
    ("bytes, 100", 10000, 2000, lambda s, p, i: (b"%07d" % i).ljust(100, b"x"),
     lambda i: (b"%07d" % i).ljust(100, b"x"), ""),
    ("tuple of 3 ints", 10000, 2000,
     lambda s, p, i: (i, i + 1, i + 2) if s == "pmemobj"
     else p.new(MODS[s].PersistentTuple, (i, i + 1, i + 2)),
     lambda i: (i, i + 1, i + 2),
     "inline in the slot in pmemobj; pynvm stores no plain tuple: there a "
     "PersistentTuple"),
    ("PersistentList, empty", 2000, 400,
     lambda s, p, i: p.new(_need(MODS[s], "PersistentList")), lambda i: [], ""),
    ("PersistentList of 10 ints", 2000, 400,
     lambda s, p, i: p.new(_need(MODS[s], "PersistentList"), range(i, i + 10)),
     lambda i: list(range(i, i + 10)), ""),
    ("PersistentDict, empty", 2000, 400,
     lambda s, p, i: p.new(_need(MODS[s], "PersistentDict")), lambda i: {}, ""),
    ("PersistentDict of 10 ints", 2000, 400,
     lambda s, p, i: p.new(_need(MODS[s], "PersistentDict"),
                           {i + j: j for j in range(10)}),
     lambda i: {i + j: j for j in range(10)}, "int keys -> int values"),
    ("PersistentObject, 3 attributes", 2000, 400,
     lambda s, p, i: p.new(OBJ3[s] or _need(MODS[s], "PersistentObject"), i,
                           "s%07d" % i, i),
     lambda i: Plain3(i, "s%07d" % i, i), "a int, b 8-char str, c int"),
]

# 16-byte slots a value takes at least, where more than the one that
# refers to it: a tuple's, list's or object's items, a dict's keys and
# values.  misses.py tells a footprint the slots alone put over its goal.
SLOTS = {"PersistentList of 10 ints": 1 + 10,
         "PersistentDict of 10 ints": 1 + 2 * 10, "PersistentObject, 3 attributes": 1 + 3}
# The least any layout that keeps #9's in-place overwrite (any int over an
# int by one failure-atomic store) can give a value: (8-byte words, other
# bytes).  A word for the reference that holds it (a pool offset: a pool
# may pass 4 GiB) and one for every item or value an overwrite writes; a
# dict's keys are never overwritten, so they count only at the fewest
# bytes any per-key encoding has for them (10 keys under 65,536: two bytes
# each; pickle takes three).  misses.py calls a footprint past its goal
# with these alone a floor of the issue's own targets.
WORD = 8   # bytes: an int's payload, overwritten by one failure-atomic store
LEAST = {"PersistentList of 10 ints": (1 + 10, 0),
         "PersistentDict of 10 ints": (1 + 10, 10 * 2)}
# Slots a value keeps free by design beyond SLOTS: a PersistentObject has
# room for one attribute more than its class has needed, so that one
# added later is published in place (an object cannot grow where it is).
SPARE = {"PersistentObject, 3 attributes": 1}


def used_with(system, path, n, make):
    mod = MODS[system]
    pool = mod.create(path, POOL_SIZE)
    try:
        with pool.transaction():
            pool.root = pool.new(mod.PersistentList)
        lst = pool.root
        for start in range(0, n, BATCH):
            with pool.transaction():
                for i in range(start, min(n, start + BATCH)):
                    lst.append(make(system, pool, i))
        if len(lst) != n:
            raise AssertionError("list length")
    finally:
        pool.close()
    return C.pool_heap_usage(path)


def heap_blocks(path):
    """pool.stats() of a closed pmemobj pool: its heap blocks, how many of
    them have no allocation header (small objects, src/tx.c), and their
    bytes, each other block counted with libpmemobj's 16-byte allocation
    header (stats' used_bytes counts what follows the header)."""
    pool = MODS["pmemobj"].open(path)
    try:
        st = pool.stats()
    finally:
        pool.close()
    headerless = st["headerless_allocations"]
    return {"allocations": st["allocations"], "headerless": headerless,
            "block_bytes": st["used_bytes"] + PMDK_HEADER * (st["allocations"] - headerless)}


def empty_used(system, path):
    mod = MODS[system]
    pool = mod.create(path, POOL_SIZE)
    with pool.transaction():
        pool.root = pool.new(mod.PersistentList)
    pool.close()
    if system == "pmemobj":
        return C.pool_used_bytes(path), heap_blocks(path)
    return C.pool_used_bytes(path), None


# -- ZODB: the FileStorage bytes per object ---------------------------------------

def _zodb_value(name, i, plain):
    """What ZODB stores for the type: the plain value, except that the
    persistent containers and objects are ZODB's persistent ones."""
    from persistent.list import PersistentList
    from persistent.mapping import PersistentMapping
    if name.startswith("PersistentList"):
        return PersistentList(plain(i))
    if name.startswith("PersistentDict"):
        return PersistentMapping(plain(i))
    if name.startswith("PersistentObject"):
        v = plain(i)
        return ZItem(v.a, v.b, v.c)
    return plain(i)


def zodb_bytes_per_object(wd, name, n, plain):
    """FileStorage bytes per object: the file's size after pack with n
    values appended (in transactions of BATCH) to a PersistentList at the
    root, minus its size after pack with the list empty, / n.  Plain
    values are inside the list's one pickle; persistent ones are records
    of their own, each with its record header."""
    import transaction
    from persistent.list import PersistentList
    from ZODB import DB
    from ZODB.FileStorage import FileStorage
    path = os.path.join(wd, "z.fs")
    db = DB(FileStorage(path))
    try:
        conn = db.open()
        lst = conn.root()["l"] = PersistentList()
        transaction.commit()
        db.pack()
        size0 = os.path.getsize(path)
        for start in range(0, n, BATCH):
            for i in range(start, min(n, start + BATCH)):
                lst.append(_zodb_value(name, i, plain))
            transaction.commit()
        db.pack()
        size1 = os.path.getsize(path)
        conn.close()
    finally:
        transaction.abort()
        db.close()
        for suffix in ("", ".index", ".lock", ".tmp", ".old"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    return (size1 - size0) / n


# -- capacity of the default pool and of a fixed 8 MiB pool ---------------------------

# Issue #9: what a pool created with the defaults must hold.
# name -> (goal, fill(pool, i): store the i-th item, count(pool): how many
# it holds, the type of pool.root they go into)
CAPACITY = {
    "ints in a list": (100_000, lambda pool, i: pool.root.append(i),
                       lambda pool: len(pool.root), "PersistentList"),
    "short str -> short str dict entries": (
        20_000, lambda pool, i: pool.root.__setitem__("k%07d" % i, "v%07d" % i),
        lambda pool: len(pool.root), "PersistentDict"),
    "three-attribute objects in a list": (
        5_000, lambda pool, i: pool.root.append(pool.new(OBJ3["pmemobj"], i, "s%07d" % i, i)),
        lambda pool: len(pool.root), "PersistentList"),
}
CAPACITY_BATCH = 1000     # items per transaction while filling
CAPACITY_MAX = 5_000_000  # stop there (a pool that holds this many is not full)
# The default pool grows to 4 GiB: it is filled to this many times each
# goal (quick: 2), which shows the goal met without filling 4 GiB.
DEFAULT_FILL = 10
# The pool each kind of capacity row measures.
FIXED_8MIB = {"pool_size": 8 << 20}
DEFAULT = {}


def capacity(path, fill, count, root_type, create_kw=FIXED_8MIB, limit=CAPACITY_MAX):
    """Fill a pool made by pmemobj.create(path, **create_kw),
    CAPACITY_BATCH items per transaction, until MemoryError or limit
    items; returns how many it holds (what the committed transactions
    stored), whether it was full, its bytes on disk and max_size, and its
    heap usage."""
    pool = pmemobj.create(path, **create_kw)
    full = None
    try:
        pool.root = pool.new(getattr(pmemobj, root_type))
        i = 0
        while i < limit:
            try:
                with pool.transaction():
                    for j in range(i, i + CAPACITY_BATCH):
                        fill(pool, j)
            except MemoryError as e:
                full = str(e)
                break
            i += CAPACITY_BATCH
        # The last batch that did not fit left nothing behind; single
        # autocommitted stores fill what the batches could not.
        if full is not None:
            try:
                while True:
                    fill(pool, i)
                    i += 1
            except MemoryError:
                pass
        held = count(pool)
        if held != i:
            raise AssertionError("pool holds %d items, %d were stored" % (held, i))
        check = pool.check()
        if not check["ok"]:
            raise AssertionError("pool.check() after filling: %s" % check)
        stats, growable = pool.stats(), pool.growable
    finally:
        pool.close()
    return {"held": held, "pool_size": stats["pool_bytes"], "max_size": stats["max_size"],
            "growable": growable, "full": full, "heap": C.pool_heap_usage(path)}


GROWTH_N = 1_000_000      # ints appended in the growth rows (quick: 100,000)
GROWTH_REPEATS = 3


def growth(wd, n):
    """Ints appended to a list (CAPACITY_BATCH per transaction) until n, in
    the default pool (create(path): growable, from 8 MiB)
    and in a fixed pool presized to hold them, alternating, best of
    GROWTH_REPEATS each; the seconds and the bytes on disk at the end."""
    def run(kind, size):
        path = os.path.join(wd, "growth-%s.pool" % kind)
        pool = (pmemobj.create(path) if kind == "grow"
                else pmemobj.create(path, pool_size=size))
        try:
            with C.Timer() as t:
                pool.root = pool.new(pmemobj.PersistentList)
                lst = pool.root
                for start in range(0, n, CAPACITY_BATCH):
                    with pool.transaction():
                        for i in range(start, start + CAPACITY_BATCH):
                            lst.append(i)
            disk = pool.stats()["pool_bytes"]
            if len(lst) != n or not pool.check()["ok"]:
                raise AssertionError("growth run: %d ints, check %s" % (len(lst), pool.check()))
        finally:
            pool.close()
            shutil.rmtree(path + ".parts", ignore_errors=True)
            os.unlink(path)
        return t.ns / 1e9, disk
    _, grown = run("grow", None)
    # Presized: what the growable pool ended at, with room to spare, and
    # at least 64 MiB, where the two pools have the same allocation classes.
    fixed_size = max(64 << 20, (grown * 5 // 4 + (1 << 20) - 1) & ~((1 << 20) - 1))
    best = {"grow": None, "fixed": None}
    disk = {}
    for _ in range(GROWTH_REPEATS):
        for kind in ("grow", "fixed"):
            secs, disk[kind] = run(kind, fixed_size)
            best[kind] = secs if best[kind] is None else min(best[kind], secs)
    return {"n": n, "grow_s": best["grow"], "fixed_s": best["fixed"],
            "grow_bytes": disk["grow"], "fixed_bytes": disk["fixed"],
            "ratio": best["grow"] / best["fixed"]}


def pickle_sizes(plain, n):
    vals = [plain(i) for i in range(n)]
    each = sum(len(pickle.dumps(v, pickle.DEFAULT_PROTOCOL)) for v in vals) / n
    whole = len(pickle.dumps(vals, pickle.DEFAULT_PROTOCOL)) / n
    return each, whole


def draw(path, meta, rows):
    plt = C.pyplot()
    import numpy as np
    fig, ax = plt.subplots(figsize=(12, 5))
    names = [r["type"] for r in rows]
    series = [("pmemobj", "pmemobj pool", C.COLORS["pmemobj"]),
              ("pynvm", "pynvm pool", C.COLORS["pynvm"]),
              ("pickle", "len(pickle.dumps(v))", "0.55"),
              ("pickle_in_list", "pickle, in a list of n", "0.8")]
    x = np.arange(len(names))
    w = 0.2
    for j, (key, label, color) in enumerate(series):
        xs, ys = [], []
        for i, r in enumerate(rows):
            v = r.get(key)
            v = v.get("bytes_per_object") if isinstance(v, dict) else v
            if v:
                xs.append(x[i] + (j - 1.5) * w)
                ys.append(v)
        ax.bar(xs, ys, w * 0.95, label=label, color=color)
        if key in ("pmemobj", "pynvm"):
            for xi, yi in zip(xs, ys):
                ax.text(xi, yi * 1.05, "%.0f" % yi, fontsize=6, ha="center",
                        va="bottom", color=color)
            for i, r in enumerate(rows):
                v = r.get(key, {})
                if "bytes_per_object" not in v:
                    ax.text(x[i] + (j - 1.5) * w, 0.02, "missing" if "missing" in v
                            else "unsupported", rotation=90, fontsize=6,
                            ha="center", va="bottom", color=color,
                            transform=ax.get_xaxis_transform())
    ax.axhline(20, color="k", lw=0.8, ls="--")
    ax.text(len(names) - 0.5, 18, "target: 20 B per int in a list", fontsize=7,
            va="top", ha="right")
    ax.set_yscale("log")
    C.log_axis(ax)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=25, ha="right")
    ax.set_ylabel("bytes per stored object (log scale)")
    ax.set_title("Footprint: pool bytes per object appended to a persistent list "
                 "(pmempool 'Total used bytes'), vs pickle")
    ax.legend(fontsize=8, loc="upper left")
    C.save_figure(fig, path, meta)


def main():
    args = C.arg_parser(__doc__).parse_args()
    out = C.out_dir(args)
    if C.replotted(args, NAME, lambda png, d: draw(png, d, d["rows"])):
        return 0
    C.set_mode_env("pmem")
    wd = C.workdir("pmem")
    rows, errors = [], []
    base, caps, grow = {}, {}, None
    try:
        for system in ("pmemobj", "pynvm"):
            if MODS[system] is None:
                C.progress("MISSING %s: %s" % (system, WHY[system]))
                continue
            base[system], blocks0 = empty_used(system, os.path.join(wd, system + "-empty.pool"))
            if blocks0:
                base["blocks"] = blocks0
        for name, n_full, n_quick, make, plain, note in TYPES:
            n = n_quick if args.quick else n_full
            words, other = LEAST.get(name, (1, 0))
            row = {"type": name, "n": n, "note": note, "slots": SLOTS.get(name, 1),
                   "spare_slots": SPARE.get(name, 0), "least_words": words,
                   "least_other_bytes": other, "least_bytes": words * WORD + other}
            row["pickle"], row["pickle_in_list"] = pickle_sizes(plain, n)
            line = []
            for system in ("pmemobj", "pynvm"):
                if MODS[system] is None:
                    row[system] = {"missing": WHY[system]}
                    continue
                path = os.path.join(wd, "%s-%s.pool" % (system, len(rows)))
                try:
                    heap = used_with(system, path, n, make)
                    used = heap["used"]
                    row[system] = {"bytes_per_object": (used - base[system]) / n,
                                   "used_bytes": used, "empty_used_bytes": base[system],
                                   "claimed_bytes": heap["claimed"],
                                   "heap_fill": heap["fill"]}
                    if system == "pmemobj":
                        b = heap_blocks(path)
                        row[system]["blocks_per_object"] = \
                            (b["allocations"] - base["blocks"]["allocations"]) / n
                        row[system]["headerless_blocks_per_object"] = \
                            (b["headerless"] - base["blocks"]["headerless"]) / n
                        row[system]["block_bytes_per_object"] = \
                            (b["block_bytes"] - base["blocks"]["block_bytes"]) / n
                    line.append("%s %.1f B" % (system, row[system]["bytes_per_object"]))
                except LookupError as e:
                    row[system] = {"missing": str(e)} if system == "pmemobj" \
                        else {"unsupported": str(e)}
                    line.append("%s %s" % (system, "MISSING" if system == "pmemobj"
                                           else "unsupported"))
                except TypeError as e:
                    key = "missing" if system == "pmemobj" else "unsupported"
                    row[system] = {key: "%s: %s" % (type(e).__name__, e)}
                    line.append("%s %s (%s)" % (system, key, e))
                except Exception as e:
                    row[system] = {"error": "%s: %s" % (type(e).__name__, e)}
                    errors.append({"type": name, "system": system,
                                   "error": row[system]["error"]})
                    line.append("%s ERROR %s" % (system, e))
                finally:
                    if os.path.exists(path):
                        os.unlink(path)
            if ZItem is None:
                row["zodb"] = {"missing": _zodb_why}
            else:
                try:
                    row["zodb"] = {"bytes_per_object": zodb_bytes_per_object(
                        wd, name, n, plain)}
                    line.append("zodb %.1f B" % row["zodb"]["bytes_per_object"])
                except Exception as e:
                    row["zodb"] = {"error": "%s: %s" % (type(e).__name__, e)}
                    errors.append({"type": name, "system": "zodb",
                                   "error": row["zodb"]["error"]})
            rows.append(row)
            C.progress("%-31s n=%-5d pickle %5.1f B  %s" % (name, n, row["pickle"],
                                                           "  ".join(line)))
        if pmemobj is not None:
            # kind -> (the pool, how many times each goal to stop at: None
            # for "until MemoryError")
            kinds = {"default": (DEFAULT, 2 if args.quick else DEFAULT_FILL),
                     "fixed 8 MiB": (FIXED_8MIB, None)}
            for kind, (kw, times) in kinds.items():
                caps[kind] = {}
                for what, (goal, fill, count, root_type) in CAPACITY.items():
                    path = os.path.join(wd, "capacity.pool")
                    limit = goal * times if times else CAPACITY_MAX
                    try:
                        c = capacity(path, fill, count, root_type, kw, limit)
                        c.update(goal=goal, limit=limit)
                        C.progress("%s pool (%d bytes%s) holds %d %s (%s; heap fill %.0f%%)"
                                   % (kind, c["pool_size"], ", growable" if c["growable"]
                                      else "", c["held"], what,
                                      "full" if c["full"] else "not full",
                                      100 * (c["heap"]["fill"] or 0)))
                    except Exception as e:
                        c = {"error": "%s: %s" % (type(e).__name__, e), "goal": goal}
                        errors.append({"type": "capacity (%s): %s" % (kind, what),
                                       "system": "pmemobj", "error": c["error"]})
                        C.progress("ERROR capacity %s %s: %s" % (kind, what, c["error"]))
                    finally:
                        if os.path.exists(path):
                            pmemobj.remove(path)        # either kind of pool
                    caps[kind][what] = c
            try:
                grow = growth(wd, GROWTH_N // 10 if args.quick else GROWTH_N)
                C.progress("growable pool: %d ints in %.3f s (fixed, presized: %.3f s, "
                           "x%.2f), %d bytes on disk (fixed %d)" % (
                               grow["n"], grow["grow_s"], grow["fixed_s"], grow["ratio"],
                               grow["grow_bytes"], grow["fixed_bytes"]))
            except Exception as e:
                grow = {"error": "%s: %s" % (type(e).__name__, e)}
                errors.append({"type": "growth", "system": "pmemobj", "error": grow["error"]})
                C.progress("ERROR growth: %s" % grow["error"])
    finally:
        shutil.rmtree(wd, ignore_errors=True)

    def bpo(row, s):
        return row.get(s, {}).get("bytes_per_object")

    ints = rows[0]
    T = [C.target("pool bytes per int stored in a list, pmemobj", bpo(ints, "pmemobj"),
                  20.0, "<=", "bytes",
                  "pmempool 'Total used bytes' difference / n, n = %d ints appended "
                  "to a list" % ints["n"], group="footprint",
                  missing=ints.get("pmemobj", {}).get("missing")),
         C.info("pool bytes per int stored in a list, pynvm", bpo(ints, "pynvm"),
                "bytes", "same method", group="footprint")]
    if bpo(ints, "pmemobj") and bpo(ints, "pynvm"):
        T.append(C.info("pool bytes per int in a list: pynvm / pmemobj",
                        bpo(ints, "pynvm") / bpo(ints, "pmemobj"), "x",
                        "ratio of the two rows above", group="footprint"))
    for kind, what, c in [(k, w, c) for k, cs in caps.items() for w, c in cs.items()]:
        heap = ("heap fill %.0f%% of %s claimed" % (
            100 * c["heap"]["fill"], C.fmt_value(c["heap"]["claimed"], "count") + " B")
            if c.get("heap") and c["heap"]["fill"] is not None else None)
        if kind == "default":
            label = "default pool (growable) holds: %s" % what
            how = ("a pool made by pmemobj.create(path): growable, from 8 MiB up to its "
                   "max_size; filled %d items per transaction, then one by one, until "
                   "MemoryError or %s items; the items it holds after" % (
                       CAPACITY_BATCH, C.fmt_value(c.get("limit"), "count")))
            detail = None if "held" not in c else (
                ("full at %s B" % C.fmt_value(c["pool_size"], "count")) if c["full"] else
                ("a lower bound, not full: stopped at %s items, grown to %s B of its "
                 "max_size %s B" % (
                    C.fmt_value(c["held"], "count"), C.fmt_value(c["pool_size"], "count"),
                    C.fmt_value(c["max_size"], "count"))))
            if detail and heap:
                detail += "; " + heap
        else:
            label = "fixed 8 MiB pool holds: %s" % what
            how = ("a pool of one file made by pmemobj.create(path, pool_size=MIN_POOL_SIZE) "
                   "(%s bytes; the default before growable pools), filled %d items per "
                   "transaction, then one by one, until MemoryError; the items it holds "
                   "after" % (c.get("pool_size"), CAPACITY_BATCH))
            detail = heap
        T.append(C.target(label, c.get("held"), c["goal"], ">=", "count", how,
                          group="footprint", issue="#9", missing=c.get("error"),
                          detail=detail))
    if grow is not None:
        T.append(C.info(
            "growable pool: time to append ints / fixed pool's", grow.get("ratio"), "x",
            "%s ints appended to a list, %d per transaction, in a pool made by "
            "create(path) (the default: growable, starts at 8 MiB, grows by 2 MiB parts) "
            "and in one file presized to hold them; best of %d each, alternating" % (
                C.fmt_value(grow.get("n", 0), "count"), CAPACITY_BATCH, GROWTH_REPEATS),
            group="footprint",
            detail="%.3f s vs %.3f s; on disk at the end %s B growable, %s B fixed" % (
                grow["grow_s"], grow["fixed_s"], C.fmt_value(grow["grow_bytes"], "count"),
                C.fmt_value(grow["fixed_bytes"], "count")) if "ratio" in grow else
            grow.get("error")))
        if "grow_bytes" in grow:
            T.append(C.info("growable pool: bytes on disk after %s ints" % C.fmt_value(
                grow["n"], "count"), grow["grow_bytes"], "bytes",
                "sum of its parts (pool.stats()['pool_bytes'])", group="footprint"))
    for row in rows:
        p = bpo(row, "pmemobj")
        z = bpo(row, "zodb")
        fill = row.get("pmemobj", {}).get("heap_fill")
        T.append(C.target(
            "pool bytes / pickle bytes: %s" % row["type"], p / row["pickle"] if p else None,
            1.5, "<=", "x",
            "pmemobj pool bytes per object (pmempool used bytes, net of the empty "
            "list, / n) / mean len(pickle.dumps(value)); beside them ZODB's "
            "FileStorage bytes per object and the pool's heap fill (used / claimed)",
            group="footprint", issue="#9",
            detail="%.1f B vs %.1f B pickle; ZODB %s; heap fill %s" % (
                p, row["pickle"], "%.1f B" % z if z is not None else "-",
                "%.0f%%" % (100 * fill) if fill is not None else "-") if p else None,
            missing=row.get("pmemobj", {}).get("missing") or
            row.get("pmemobj", {}).get("error")))
    meta = C.metadata(NAME, args.quick)
    data = dict(meta)
    data.update({
        "format": FORMAT,
        "what": "pool bytes per object stored in a persistent list, by type; "
                "pmemobj vs pynvm vs the object's pickle",
        "method": {
            "pool": "pmempool info -s 'Total used bytes' of the closed pool with n "
                    "objects appended to root (a PersistentList), minus the same "
                    "for a pool with the empty list, / n; includes the list slot, "
                    "the list's growth slack, allocator headers and rounding",
            "pickle": "mean len(pickle.dumps(v, protocol=%d)) over the n plain-Python "
                      "equivalents; pickle_in_list: len(pickle.dumps(list)) / n"
                      % pickle.DEFAULT_PROTOCOL,
        },
        "units": "bytes per object",
        "rows": rows,
        "capacity": caps,
        "growth": grow,
        "errors": errors,
        "targets": T,
    })
    C.write_json(os.path.join(out, NAME + ".json"), data)
    draw(os.path.join(out, NAME + ".png"), meta, rows)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
