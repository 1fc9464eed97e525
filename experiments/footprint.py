#!/usr/bin/env python3
"""Pool bytes per stored object, by type, against pickle and pynvm.

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
pickle's memo and framing are amortised.

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
    ("int > 64 bits", 10000, 2000, lambda s, p, i: 2**70 + i, lambda i: 2**70 + i, ""),
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
     "pynvm stores no plain tuple: there a PersistentTuple"),
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
    return C.pool_used_bytes(path)


def empty_used(system, path):
    mod = MODS[system]
    pool = mod.create(path, POOL_SIZE)
    with pool.transaction():
        pool.root = pool.new(mod.PersistentList)
    pool.close()
    return C.pool_used_bytes(path)


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
    if args.replot:
        d = C.load_json(os.path.join(out, NAME + ".json"))
        draw(os.path.join(out, NAME + ".png"), d, d["rows"])
        return 0
    C.set_mode_env("pmem")
    wd = C.workdir("pmem")
    rows, errors = [], []
    base = {}
    try:
        for system in ("pmemobj", "pynvm"):
            if MODS[system] is None:
                C.progress("MISSING %s: %s" % (system, WHY[system]))
                continue
            base[system] = empty_used(system, os.path.join(wd, system + "-empty.pool"))
        for name, n_full, n_quick, make, plain, note in TYPES:
            n = n_quick if args.quick else n_full
            row = {"type": name, "n": n, "note": note}
            row["pickle"], row["pickle_in_list"] = pickle_sizes(plain, n)
            line = []
            for system in ("pmemobj", "pynvm"):
                if MODS[system] is None:
                    row[system] = {"missing": WHY[system]}
                    continue
                path = os.path.join(wd, "%s-%s.pool" % (system, len(rows)))
                try:
                    used = used_with(system, path, n, make)
                    row[system] = {"bytes_per_object": (used - base[system]) / n,
                                   "used_bytes": used, "empty_used_bytes": base[system]}
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
            rows.append(row)
            C.progress("%-31s n=%-5d pickle %5.1f B  %s" % (name, n, row["pickle"],
                                                           "  ".join(line)))
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
    obj = rows[-1]
    if bpo(obj, "pmemobj"):
        T.append(C.info("PersistentObject with 3 attributes: pool bytes / pickle bytes",
                        bpo(obj, "pmemobj") / obj["pickle"], "x",
                        "pmemobj bytes per object / len(pickle.dumps(plain object))",
                        group="footprint"))
    meta = C.metadata(NAME, args.quick)
    data = dict(meta)
    data.update({
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
        "errors": errors,
        "targets": T,
    })
    C.write_json(os.path.join(out, NAME + ".json"), data)
    draw(os.path.join(out, NAME + ".png"), meta, rows)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
