"""The corruption fuzzer: damage copies of real pools and check that every
damaged pool ends in a clear error or in correct data.

    python tests/fuzz/corrupt.py [--trials N] [--seed S] [--kind K] [--region R]
                                 [--timeout SEC] [--json PATH] [--replay SEED]

A template pool holds every container type, nested containers, a cycle,
PersistentObject subclasses with attributes, a pickled instance, big ints,
str, bytes, floats, complex and a PersistentArray.  Each trial copies it,
damages the copy with one kind of damage aimed at one region of the file,
and then, in a forked child with a time limit: opens the pool, reads
everything reachable (with verify=True), runs gc and check(), writes,
and closes.  Outcomes:

  ok        no error, and everything read equals the template
  detected  CorruptPoolError, a problem in check()'s report, or a clean
            refusal of the file at open
            (ValueError or OSError naming it)
  crash     the child died of a signal
  hang      the child outlived the time limit
  internal  any other exception
  silent    no error, but what was read differs from the template

Kinds: bitflip (one bit), bytes (a run of 1-64 random bytes), block (a
random 4 KiB block), zero (a zeroed 4 KiB block), truncate (the file cut
short), field (an aligned 8-byte word set to 0, all ones or random).
Regions, from the template's own layout: header (pool header and
descriptor), lanes, heapmeta (heap header, zone header, chunk headers, run
headers), data (everything else in the heap: the objects), wordlog (the
pool's word log, src/wordlog.h, holding the spent record of the
template's last insert).

Every trial is a function of (seed, trial number): a failing trial is
printed with its seed and replays alone with --replay.  The last line is
`fuzz: T trials, C crashes, H hangs, I internal, D detected, S silent, K ok`.
"""

import argparse
import json
import os
import random
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, os.path.join(REPO, "bench"))
sys.path.insert(0, os.path.join(REPO, "tests", "workload"))

os.environ.setdefault("PMEM_IS_PMEM_FORCE", "1")
import pmemobj  # noqa: E402

from fuzz_types import Node, Pickled  # noqa: E402
from sparse_file import SparseCopy  # noqa: E402

KINDS = ["bitflip", "bytes", "block", "zero", "truncate", "field"]
REGIONS = ["header", "lanes", "heapmeta", "data", "wordlog"]
WORDLOG_MAGIC, WORDLOG_MAGIC_AT, WORDLOG_SIZE = (
    pmemobj._pmemobj._WORDLOG_LAYOUT[k] for k in ("magic", "magic_at", "size"))
SHOW_TRACEBACKS = False      # print the exception of an internal outcome (--replay)

OUTCOMES = ["ok", "detected", "crash", "hang", "internal", "silent"]
# The smallest pool with header-less objects (src/tx.c), so that the
# fuzzer damages them too.
POOL_SIZE = 64 << 20

# --- the template -----------------------------------------------------------------


def build_template(path):
    pool = pmemobj.create(path, pool_size=POOL_SIZE)
    pool.persist_via_pickle(Pickled)
    with pool.transaction():
        root = pool.new(pmemobj.PersistentDict)
        pool.root = root
        root["ints"] = pool.new(pmemobj.PersistentList, range(200))
        root["strs"] = pool.new(pmemobj.PersistentList, ["s%d" % i * 3 for i in range(60)])
        root["map"] = pool.new(pmemobj.PersistentDict,
                               {("k", i): "v%d" % i for i in range(60)})
        root["set"] = pool.new(pmemobj.PersistentSet, {"a%d" % i for i in range(40)})
        root["fset"] = pool.new(pmemobj.PersistentFrozenSet, range(20))
        root["tuple"] = pool.new(pmemobj.PersistentTuple, (1, "two", 3.0, b"four"))
        root["values"] = (2 ** 200, -(3 ** 90), 2 ** 100, -(2 ** 80), 1.5, complex(1, -2),
                          b"\x00" * 100, "ünïcode ☃", None, True, frozenset({1, 2}))
        root["pickled"] = Pickled(1, "x")
        chain = None
        for i in range(30):
            chain = pool.new(Node, "n%d" % i, i * 1.5, chain)
        root["chain"] = chain
        cyc = pool.new(pmemobj.PersistentList, [1, 2])
        cyc.append(cyc)
        root["cycle"] = cyc
        if hasattr(pmemobj, "PersistentArray"):
            root["array"] = pool.new(pmemobj.PersistentArray, "d", range(300))
        root["sorted"] = pool.new(pmemobj.PersistentSortedDict,
                                  {(i % 7, "k%d" % i): i for i in range(150)})
    # Autocommitted, a new key published through the word log: its record
    # stays in the log (spent at the close) for the wordlog region.
    pool.root["late"] = 1
    pool.close()


def snapshot(obj, seen=None):
    """A plain, comparable rendering of everything reachable from obj
    (cycles as back-references).  Raises whatever reading raises."""
    if seen is None:
        seen = {}
    if isinstance(obj, pmemobj._PersistentBase) or isinstance(obj, Node):
        key = obj._p_oid
        if key in seen:
            return ("cycle", seen[key])
        seen[key] = len(seen)
    if isinstance(obj, (pmemobj.PersistentDict, pmemobj.PersistentSortedDict)):
        return (type(obj).__name__,
                [(snapshot(k, seen), snapshot(v, seen)) for k, v in obj.items()])
    if isinstance(obj, (pmemobj.PersistentSet, pmemobj.PersistentFrozenSet)):
        return (type(obj).__name__, sorted(repr(snapshot(v, seen)) for v in obj))
    if isinstance(obj, (pmemobj.PersistentList, pmemobj.PersistentTuple)):
        return (type(obj).__name__, [snapshot(v, seen) for v in obj])
    if hasattr(pmemobj, "PersistentArray") and isinstance(obj, pmemobj.PersistentArray):
        return ("array", obj.typecode, obj.tolist())
    if isinstance(obj, Node):
        return ("Node", snapshot(obj.name, seen), snapshot(obj.value, seen),
                snapshot(obj.next, seen))
    if isinstance(obj, tuple):
        return ("tuple", [snapshot(v, seen) for v in obj])
    if isinstance(obj, frozenset):
        return ("frozenset", sorted(repr(snapshot(v, seen)) for v in obj))
    return (type(obj).__name__, repr(obj))


def run_metadata_bytes(data, start, nchunks):
    """A run's header and flexible bitmap, as PMDK 1.12 lays them out
    (src/heapwalk.c, run_geometry_of): 16 bytes of header, then one bit
    per unit in 64-bit words, rounded so that unit 0 starts on a cache
    line."""
    unit = struct.unpack_from("<Q", data, start)[0]
    content = nchunks * (256 << 10) - 16
    if unit == 0 or unit > content:
        return 16
    words = (content // unit + 63) // 64
    words = (words + 2 + 7) // 8 * 8 - 2
    return 16 + 8 * words


def layout(path):
    """The template's regions: name -> list of (start, end) byte ranges."""
    with open(path, "rb") as f:
        data = f.read()
    size = len(data)
    lanes = struct.unpack_from("<Q", data, 4096 + 1024)[0]
    nlanes = struct.unpack_from("<Q", data, 4096 + 1032)[0]
    heap = struct.unpack_from("<Q", data, 4096 + 1040)[0]
    zone = heap + 1024
    meta_end = zone + 64 + 8 * 65528
    regions = {"header": [(0, lanes)], "lanes": [(lanes, lanes + nlanes * 3072)],
               "heapmeta": [(heap, meta_end)], "data": []}
    # Run headers (block size, alignment, bitmap) are heap metadata too.
    nchunks = struct.unpack_from("<I", data, zone + 4)[0]
    i, cur, used_end = 0, meta_end, meta_end
    while i < nchunks:
        type_, _flags, n = struct.unpack_from("<HHI", data, zone + 64 + 8 * i)
        start = meta_end + i * (256 << 10)
        if n == 0:
            break
        if type_ == 4:                       # a run: its header and bitmap
            meta = start + run_metadata_bytes(data, start, n)
            regions["heapmeta"].append((start, meta))
            regions["data"].append((cur, start))
            cur = meta
        if type_ != 2:                       # not free
            used_end = start + n * (256 << 10)
        i += n
    # Up to the last chunk in use: the free chunks past it are zeros that
    # nothing reads.
    regions["data"].append((cur, max(cur + 1, used_end)))
    log = data.index(WORDLOG_MAGIC) - WORDLOG_MAGIC_AT
    regions["wordlog"] = [(log, log + WORDLOG_SIZE)]
    return regions, size


# --- damage ---------------------------------------------------------------------------

def pick(rng, ranges, length=1):
    ranges = [(a, b) for a, b in ranges if b - a >= length]
    total = sum(b - a - length + 1 for a, b in ranges)
    k = rng.randrange(total)
    for a, b in ranges:
        n = b - a - length + 1
        if k < n:
            return a + k
        k -= n
    raise AssertionError


def damage(path, kind, region, regions, size, rng):
    """Apply the damage; returns a one-line description."""
    rs = regions[region]
    with open(path, "r+b") as f:
        if kind == "truncate":
            at = pick(rng, rs)
            f.truncate(at)
            return "truncated at %d" % at
        if kind == "bitflip":
            at = pick(rng, rs)
            f.seek(at)
            b = f.read(1)[0] ^ (1 << rng.randrange(8))
            f.seek(at)
            f.write(bytes([b]))
            return "bit flipped at %d" % at
        if kind == "bytes":
            n = rng.randint(1, 64)
            at = pick(rng, rs, n)
            f.seek(at)
            f.write(rng.randbytes(n))
            return "%d random bytes at %d" % (n, at)
        if kind in ("block", "zero"):
            at = pick(rng, rs, 4096) & ~4095 if region == "data" else pick(rng, rs)
            f.seek(at)
            f.write(rng.randbytes(4096) if kind == "block" else bytes(4096))
            return "%s 4 KiB at %d" % (kind, at)
        if kind == "field":
            at = pick(rng, rs, 8) & ~7
            v = rng.choice([0, 2 ** 64 - 1, rng.getrandbits(64), rng.getrandbits(20)])
            f.seek(at)
            f.write(struct.pack("<Q", v))
            return "8-byte field at %d set to %d" % (at, v)
    raise ValueError(kind)


# --- one trial (in a forked child) -----------------------------------------------------

def exercise(path, expected):
    """Open, read everything, gc, check, write, close: the outcome."""
    try:
        pool = pmemobj.open(path, verify=True)
    except pmemobj.CorruptPoolError:
        return "detected"
    except (ValueError, OSError) as e:
        # A clean refusal naming the file (not a pool, cut short...).
        return "detected" if path in str(e) else "internal"
    pool.persist_via_pickle(Pickled)
    outcome = "ok"
    try:
        got = snapshot(pool.root)
        pool.gc()
        report = pool.check()
        pool.root["fuzz"] = ("written", 1)
        with pool.transaction():
            pool.root["ints"].append(1)
        if not report["ok"]:
            outcome = "detected"
        elif got != expected:
            outcome = "silent"
    except pmemobj.CorruptPoolError:
        outcome = "detected"
    except Exception:            # noqa: BLE001 -- classified, with its type
        outcome = "internal"
        if SHOW_TRACEBACKS:
            traceback.print_exc()
    try:
        pool.close()
    except pmemobj.CorruptPoolError:
        outcome = "detected" if outcome == "ok" else outcome
    except Exception:            # noqa: BLE001
        outcome = "internal" if outcome == "ok" else outcome
        if SHOW_TRACEBACKS:
            traceback.print_exc()
    return outcome


def run_trial(copy, trial_path, expected, kind, region, regions, size, rng, timeout):
    copy.write(trial_path)
    what = damage(trial_path, kind, region, regions, size, rng)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                               # the child
        os.close(r)
        signal.alarm(0)
        try:
            outcome = exercise(trial_path, expected)
        except BaseException:                  # noqa: BLE001
            outcome = "internal"
        os.write(w, outcome.encode())
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.002)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        return "hang", what
    out = os.read(r, 64).decode()
    os.close(r)
    if os.WIFSIGNALED(status):
        return "crash", what + " (signal %d)" % os.WTERMSIG(status)
    return (out if out in OUTCOMES else "internal"), what


def trial_params(seed, n, kinds, regions_wanted):
    rng = random.Random("%d-%d" % (seed, n))
    return rng.choice(kinds), rng.choice(regions_wanted), rng


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", choices=KINDS, action="append")
    ap.add_argument("--region", choices=REGIONS, action="append")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--replay", type=int, help="run this one trial number only")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-preflight", action="store_true",
                    help="a planted bug: open without checking libpmemobj's metadata "
                         "(shows that the fuzzer reports the crashes that check prevents)")
    args = ap.parse_args(argv)
    if args.no_preflight:
        pmemobj._pmemobj._set_preflight(False)
    kinds = args.kind or KINDS
    regions_wanted = args.region or REGIONS
    work = tempfile.mkdtemp(prefix="pmemobj-fuzz-", dir="/dev/shm" if os.path.isdir(
        "/dev/shm") else None)
    t0 = time.time()
    try:
        template = os.path.join(work, "template.pool")
        build_template(template)
        regions, size = layout(template)
        pool = pmemobj.open(template)
        pool.persist_via_pickle(Pickled)
        expected = snapshot(pool.root)
        pool.close()
        build_template(template + ".2")        # a clean close rewrote the file:
        os.replace(template + ".2", template)  # fuzz a freshly closed one
        copy = SparseCopy(template)
        counts = {o: 0 for o in OUTCOMES}
        by_kind = {k: {o: 0 for o in OUTCOMES} for k in kinds}
        by_region = {r: {o: 0 for o in OUTCOMES} for r in regions_wanted}
        failures = []
        trials = [args.replay] if args.replay is not None else range(args.trials)
        global SHOW_TRACEBACKS
        SHOW_TRACEBACKS = args.replay is not None     # a replay is for debugging
        trial_path = os.path.join(work, "trial.pool")
        for n in trials:
            kind, region, rng = trial_params(args.seed, n, kinds, regions_wanted)
            outcome, what = run_trial(copy, trial_path, expected, kind, region,
                                      regions, size, rng, args.timeout)
            counts[outcome] += 1
            by_kind[kind][outcome] += 1
            by_region[region][outcome] += 1
            if outcome in ("crash", "hang", "internal", "silent") or args.replay is not None:
                # Silent ones too: each should be damage to bytes without a
                # checksum (an inline value in a mutable container's slot).
                failures.append({"trial": n, "kind": kind, "region": region,
                                 "outcome": outcome, "damage": what})
                if not args.quiet:
                    print("trial %d (--seed %d --replay %d): %s in %s: %s: %s"
                          % (n, args.seed, n, kind, region, outcome, what), flush=True)
        total = sum(counts.values())
        if not args.quiet:
            print("%-10s %s" % ("", " ".join("%9s" % o for o in OUTCOMES)))
            for name, table in list(by_kind.items()) + list(by_region.items()):
                print("%-10s %s" % (name, " ".join("%9d" % table[o] for o in OUTCOMES)))
        last = ("fuzz: %d trials, %d crashes, %d hangs, %d internal, %d detected, "
                "%d silent, %d ok" % (total, counts["crash"], counts["hang"],
                                      counts["internal"], counts["detected"],
                                      counts["silent"], counts["ok"]))
        if args.json:
            from machine import git_info, machine
            result = {"trials": total, "crashes": counts["crash"], "hangs": counts["hang"],
                      "internal": counts["internal"], "detected": counts["detected"],
                      "silent": counts["silent"], "ok": counts["ok"], "last_line": last,
                      "by_kind": by_kind, "by_region": by_region, "failures": failures,
                      "seed": args.seed, "timeout_s": args.timeout,
                      "seconds": round(time.time() - t0, 1), "machine": machine(),
                      "commit": git_info(exclude=("results",)),
                      "mode": "pmem (/dev/shm, PMEM_IS_PMEM_FORCE=1)"}
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
                f.write("\n")
        print(last, flush=True)
        return 0 if counts["crash"] == counts["hang"] == counts["internal"] == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
