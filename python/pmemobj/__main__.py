"""The pmemobj command line: look inside, check, salvage and collect pools.

    pmemobj info POOL          size, space used, format, clean or not, objects by type
    pmemobj check POOL         the full check; exit status 1 if it finds problems
    pmemobj salvage SRC DST    copy what is intact into a new pool
    pmemobj dump POOL [--path root.a.0] [--depth N] [--json]
    pmemobj du POOL [--top N]  bytes reachable from each entry of the root, largest first
    pmemobj gc POOL            collect garbage (writes the pool)
    pmemobj stats POOL         the runtime's counters after opening (a copy)
    pmemobj create POOL [--size SIZE] [--max-size SIZE]
    pmemobj resize POOL SIZE   make the (closed) pool SIZE bytes, keeping everything in it

SIZE is bytes, or a number with K, M, G or T (KiB, MiB, GiB, TiB): 64M, 1G.
info, check, dump, du and stats read a private copy of the pool (opening
runs recovery, which writes), so they never change the file.  Exit
statuses: 0 success, 1 check found problems, salvage skipped something
or resize refused a damaged pool, 2 bad usage or a file that cannot be
read as a pool or resized.
"""

import argparse
import json
import os
import sys
from contextlib import contextmanager

import pmemobj
from pmemobj import _repair
from pmemobj._opaque import OpaqueObject


@contextmanager
def _read_only(path):
    """The pool at path opened read-only (a private copy); exits 2 with the
    reason if it cannot be opened."""
    with _repair._opened_copy(path, None) as (pool, error):
        if pool is None:
            print("pmemobj: %s" % error, file=sys.stderr)
            raise SystemExit(2)
        yield pool


def _classify(v):
    if isinstance(v, OpaqueObject):
        return v._p_class_path + " (class not importable here)"
    if isinstance(v, pmemobj.PersistentObject):
        return type(v).__module__ + ":" + type(v).__qualname__
    return type(v).__name__


def _resolve(pool, path):
    """The value at a dotted path from the root: root.users.0.name."""
    parts = path.split(".")
    if parts[0] != "root":
        raise SystemExit("pmemobj: a path starts with 'root' (got %r)" % path)
    v = pool.root
    for p in parts[1:]:
        if isinstance(v, (pmemobj.PersistentList, pmemobj.PersistentTuple, list, tuple)):
            v = v[int(p)]
        elif isinstance(v, (pmemobj.PersistentDict, pmemobj.PersistentSortedDict, dict)):
            v = v[p] if p in v else v[int(p)] if p.lstrip("-").isdigit() else v[p]
        else:
            v = getattr(v, p)
    return v


def _render(v, depth, seen):
    """A JSON-able rendering of v, depth levels deep, cycles marked."""
    P = pmemobj
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, bytes):
        return {"bytes": v.hex() if len(v) <= 64 else v[:64].hex() + "..."}
    if isinstance(v, complex):
        return {"complex": [v.real, v.imag]}
    key = id(v)
    if key in seen:
        return {"cycle": _classify(v)}
    if depth <= 0:
        return {"...": _classify(v)}
    seen = seen | {key}
    try:
        if isinstance(v, (P.PersistentDict, P.PersistentSortedDict, dict)):
            return {"dict" if isinstance(v, dict) else type(v).__name__:
                    [[_render(k, depth - 1, seen), _render(x, depth - 1, seen)]
                     for k, x in v.items()]}
        if isinstance(v, (P.PersistentList, P.PersistentTuple, P.PersistentSet,
                          P.PersistentFrozenSet, list, tuple, set, frozenset)):
            return {type(v).__name__: [_render(x, depth - 1, seen) for x in v]}
        if isinstance(v, P.PersistentArray):
            items = v.tolist()
            return {"PersistentArray": {"typecode": v.typecode, "shape": list(v.shape),
                                        "items": items[:100]}}
        if isinstance(v, P.PersistentObject):
            return {_classify(v): {n: _render(getattr(v, n), depth - 1, seen)
                                   for n in v._p_attr_names()}}
    except Exception as e:          # noqa: BLE001 -- shown, not hidden
        return {"error": "%s: %s" % (type(e).__name__, e)}
    return {"object": repr(v)}


def _print_text(r, indent=0):
    pad = "  " * indent
    if isinstance(r, dict) and len(r) == 1:
        (k, v), = r.items()
        if isinstance(v, list):
            print("%s%s (%d)" % (pad, k, len(v)))
            for item in v:
                if isinstance(item, list) and len(item) == 2 and k.endswith("Dict") \
                        or k == "dict":
                    print("%s  %s:" % (pad, json.dumps(item[0])))
                    _print_text(item[1], indent + 2)
                else:
                    _print_text(item, indent + 1)
            return
        if isinstance(v, dict) and k not in ("bytes", "complex", "error"):
            print("%s%s" % (pad, k))
            for n, x in v.items():
                print("%s  .%s:" % (pad, n))
                _print_text(x, indent + 2)
            return
    print(pad + json.dumps(r))


def cmd_info(args):
    with _read_only(args.pool) as pool:
        stats = pool.stats()
        report = pool.check()
    growable = pmemobj._is_pool_set(args.pool)
    info = {
        "file": args.pool,
        # A growable pool's bytes are its parts' (the set file is text).
        "file_bytes": stats["pool_bytes"] if growable else os.path.getsize(args.pool),
        "layout": pmemobj.LAYOUT, "format_version": pmemobj.FORMAT_VERSION,
        "closed_cleanly": stats["recovery_ns"] == 0,
        "used_bytes": report["used_bytes"],
        "objects": report["live"], "unreachable": report["unreachable"],
        "objects_by_type": dict(sorted(report["types"].items(), key=lambda kv: -kv[1])),
        "check": "ok" if report["ok"] else "%d problems" % len(report["problems"]),
    }
    if growable:
        info["growable"] = True
        info["max_size"] = stats["max_size"]
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for k, v in info.items():
            if k == "objects_by_type":
                print("objects by type:")
                for t, n in v.items():
                    print("  %8d  %s" % (n, t))
            else:
                print("%s: %s" % (k.replace("_", " "), v))
    return 0


def cmd_check(args):
    report = pmemobj.check(args.pool)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        paths = report.get("paths", {})
        for off, typ, problem in report["problems"]:
            where = " at %s" % paths[off] if off in paths else ""
            print("offset %d (%s)%s: %s" % (off, typ, where, problem))
        print("%s: %s (%d live objects, %d unreachable, %d bytes used)" % (
            args.pool, "ok" if report["ok"] else "%d problems" % len(report["problems"]),
            report["live"], report["unreachable"], report.get("used_bytes", 0)))
    return 0 if report["ok"] else 1


def cmd_salvage(args):
    try:
        skipped = pmemobj.salvage(args.src, args.dst, pool_size=args.size)
    except (OSError, ValueError) as e:
        print("pmemobj: %s" % e, file=sys.stderr)
        return 2
    for path, why in skipped:
        print("skipped %s: %s" % (path, why))
    print("salvaged %s into %s, %d skipped" % (args.src, args.dst, len(skipped)))
    return 1 if skipped else 0


def cmd_dump(args):
    with _read_only(args.pool) as pool:
        r = _render(_resolve(pool, args.path), args.depth, frozenset())
    if args.json:
        print(json.dumps(r, indent=1))
    else:
        _print_text(r)
    return 0


def cmd_du(args):
    with _read_only(args.pool) as pool:
        root = pool.root
        if isinstance(root, (pmemobj.PersistentDict, pmemobj.PersistentSortedDict)):
            children = [("root[%r]" % (k,), v) for k, v in root.items()]
        elif isinstance(root, (pmemobj.PersistentList, pmemobj.PersistentTuple)):
            children = [("root[%d]" % i, v) for i, v in enumerate(root)]
        elif isinstance(root, pmemobj.PersistentObject):
            children = [("root.%s" % n, getattr(root, n)) for n in root._p_attr_names()]
        else:
            children = []
        # Persistent children by identity; values without one (str, bytes,
        # tuples...) are counted with the root, which comes last, so that
        # a shared object counts once, under the first path that reaches it.
        named = [(path, v._p_oid) for path, v in children if hasattr(v, "_p_oid")]
        oids = [oid for _, oid in named] + [getattr(root, "_p_oid", pmemobj.OID_NULL)]
        sizes = pool.mm.reachable_bytes(oids)
        rows = list(zip([path for path, _ in named], sizes))
        rows.append(("root itself, and its values that are not persistent containers",
                     sizes[-1]))
        total = pool.check()["used_bytes"]
    rows.sort(key=lambda r: -r[1])
    for path, n in rows[:args.top]:
        print("%12d  %s" % (n, path))
    print("%12d  all allocations in the pool (with the runtime's own tables)" % total)
    return 0


def cmd_gc(args):
    with pmemobj.open(args.pool) as pool:
        types, counts = pool.gc()
    print("collected %d objects (%d live)" % (counts["collected"], counts["live"]))
    return 0


def cmd_stats(args):
    with _read_only(args.pool) as pool:
        stats = pool.stats()
    print(json.dumps(stats, indent=1))
    return 0


def cmd_create(args):
    # As pmemobj.create: growable unless --size gives a fixed size.
    try:
        if args.size is None:
            pmemobj.create(args.pool, max_size=args.max_size).close()
        else:
            pmemobj.create(args.pool, pool_size=args.size, max_size=args.max_size).close()
    except (OSError, ValueError) as e:
        print("pmemobj: %s" % e, file=sys.stderr)
        return 2
    if args.size is None:
        print("created %s (growable up to %d bytes, parts in %s.parts)" % (
            args.pool, args.max_size or pmemobj.GROW_DEFAULT_MAX, args.pool))
    else:
        print("created %s (%d bytes)" % (args.pool, args.size))
    return 0


def cmd_resize(args):
    try:
        pmemobj.resize(args.pool, args.size)
    except pmemobj.CorruptPoolError as e:
        print("pmemobj: %s" % e, file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError, MemoryError) as e:
        print("pmemobj: %s" % e, file=sys.stderr)
        return 2
    print("resized %s to %d bytes" % (args.pool, args.size))
    return 0


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def size_arg(text):
    """A size on the command line: bytes, or a whole number with K, M, G
    or T (binary units; a trailing B or iB is allowed: 64M, 64MiB)."""
    t = text.strip().upper()
    for tail in ("IB", "B"):
        if t.endswith(tail) and t[:-len(tail)][-1:] in "KMGT" and len(t) > len(tail):
            t = t[:-len(tail)]
            break
    unit = t[-1:] if t[-1:] in "KMGT" else ""
    digits = t[:len(t) - len(unit)]
    if not digits.isdigit():
        raise argparse.ArgumentTypeError("%r is not a size (bytes, or 64M, 1G...)" % text)
    return int(digits) * _UNITS[unit]


def parser():
    p = argparse.ArgumentParser(prog="pmemobj", description=__doc__.split("\n\n")[0],
                                epilog="exit status: 0 success, 1 problems found "
                                       "(check, resize) or items skipped (salvage), "
                                       "2 errors",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, fn, help, pool=True):
        s = sub.add_parser(name, help=help, description=help)
        if pool:
            s.add_argument("pool", help="the pool file")
        s.set_defaults(fn=fn)
        return s

    s = add("info", cmd_info, "size, space used, format, clean or not, objects by type")
    s.add_argument("--json", action="store_true", help="print JSON")
    s = add("check", cmd_check, "check everything; exit status 1 if there are problems")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s = add("salvage", cmd_salvage, "copy what is intact into a new pool", pool=False)
    s.add_argument("src")
    s.add_argument("dst")
    s.add_argument("--size", type=size_arg, default=None,
                   help="size of DST, e.g. 64M (default: SRC's)")
    s = add("dump", cmd_dump, "print the contents")
    s.add_argument("--path", default="root", help="a dotted path from root (root.a.0)")
    s.add_argument("--depth", type=int, default=4, help="levels to show (default 4)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s = add("du", cmd_du, "bytes reachable from each entry of the root, largest first")
    s.add_argument("--top", type=int, default=20, help="rows to show (default 20)")
    add("gc", cmd_gc, "collect garbage now (writes the pool)")
    add("stats", cmd_stats, "the runtime's counters after opening a copy")
    s = add("create", cmd_create, "create an empty pool: by default a growable one (POOL is "
            "a set file, its parts go in POOL.parts/ and are added as it fills), with "
            "--size one file of that fixed size")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--size", type=size_arg, default=None,
                   help="one pool file of this fixed size: bytes, or 8M, 1G... (at least 8M)")
    g.add_argument("--grow", action="store_true",
                   help="a growable pool (the default; kept for scripts that say so)")
    s.add_argument("--max-size", type=size_arg, default=None,
                   help="the most a growable pool grows to (default 4G)")
    s = add("resize", cmd_resize,
            "make a closed pool SIZE bytes, keeping everything in it (the new pool is "
            "built beside the old one and renamed over it); exit status 1 if the pool "
            "is damaged (see salvage)")
    s.add_argument("size", type=size_arg, help="the new size: bytes, or 64M, 1G...")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except BrokenPipeError:             # `pmemobj dump ... | head`
        sys.stderr.close()
        return 0
    except FileNotFoundError as e:
        print("pmemobj: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
