"""The power-failure simulator: crash images built from the cache lines a
workload flushed and fenced, each recovered and checked by an oracle.

    python tests/powerfail/powerfail.py [--transactions N] [--images N]
        [--seed S] [--json PATH] [--build DIR]

1. A workload runs under LD_PRELOAD of libpftrace.so (pftrace.c): random
   transactions over every mutating operation of lists, dicts, sets,
   sorted dicts, arrays, user objects (PersistentObject), new containers,
   str/bytes/big int/tuple values, nested and aborted transactions,
   autocommitted single operations and gc.  The tracer records every flushed cache line and
   every fence; the workload records, for each transaction, the fence
   count when it began and when it ended, and the state after it.
2. Crash images: at a fence k, the durable image (the file at the start
   plus every line flushed by fence k), alone; plus a random subset of the
   lines flushed but not yet fenced (in flight at fence k+1); plus a random
   subset of the lines written but never flushed at fence k (a cache may
   evict any of them at any time).
3. The oracle, for each image, in a forked child: open it (recovery runs),
   read everything, and require that the state equals the state after
   some prefix of the transactions, including every transaction that
   ended by fence k and none that began after fence k+1 (all or nothing,
   and durable); and that gc(debug=True) validation passes.

The last line: `powerfail: N crash images, V violations`.  A build with
-DPMO_PLANT_BUGS=ON run with PMO_PLANTED_BUG=skip_len_snapshot (a list
append that does not save the list's length) or skip_atomic_persist (a
log-free scalar overwrite that is never flushed) must give violations:
that shows the simulator can fail.
"""

import argparse
import array
import ctypes
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "fuzz"))   # fuzz_types: user classes
sys.path.insert(0, os.path.join(REPO, "bench"))

POOL_SIZE = 16 << 20
LINE = 64


def plain(v, seen=None):
    import pmemobj
    from fuzz_types import Node
    seen = seen if seen is not None else {}
    if isinstance(v, (pmemobj._PersistentBase, Node)):
        if v._p_oid in seen:
            return ["cycle", seen[v._p_oid]]
        seen[v._p_oid] = len(seen)
    if isinstance(v, pmemobj.PersistentDict):
        return ["dict", sorted([repr(plain(k, seen)), plain(x, seen)] for k, x in v.items())]
    if isinstance(v, pmemobj.PersistentArray):
        return ["array", v.typecode, v.tolist()]
    if isinstance(v, pmemobj.PersistentSortedDict):
        return ["sorted", [[repr(k), plain(x, seen)] for k, x in v.items()]]
    if isinstance(v, (pmemobj.PersistentSet, pmemobj.PersistentFrozenSet)):
        return ["set", sorted(repr(plain(x, seen)) for x in v)]
    if isinstance(v, (pmemobj.PersistentList, pmemobj.PersistentTuple)):
        return ["list", [plain(x, seen) for x in v]]
    if isinstance(v, Node):
        return ["Node", plain(v.name, seen), plain(v.value, seen)]
    if isinstance(v, tuple):
        return ["tuple", [plain(x, seen) for x in v]]
    return [type(v).__name__, repr(v)]


# --- the workload (runs with the tracer preloaded) ----------------------------------

def workload(path, trace, states_path, n, seed, shim, aborts=True):
    import pmemobj
    from fuzz_types import Node
    pool = pmemobj.create(path, pool_size=POOL_SIZE)
    with pool.transaction():
        root = pool.new(pmemobj.PersistentDict)
        pool.root = root
        root["l"] = pool.new(pmemobj.PersistentList, range(10))
        root["d"] = pool.new(pmemobj.PersistentDict, {"a": 1})
        root["s"] = pool.new(pmemobj.PersistentSet, {1, 2})
        root["o"] = pool.new(Node, "node", 0)
        root["t"] = pool.new(pmemobj.PersistentSortedDict, {i * 3: i for i in range(100)})
        root["a"] = pool.new(pmemobj.PersistentArray, "q", range(64))
    pool.close()
    pool = pmemobj.open(path)
    root = pool.root
    shutil.copyfile(path, path + ".init")        # durable: nothing in flight
    lib = ctypes.CDLL(shim)
    lib.pf_start.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    lib.pf_fences.restype = ctypes.c_uint64
    oid = root._p_oid
    base = pool.mm.direct(oid) - oid[1]
    if lib.pf_start(base, os.path.getsize(path), trace.encode()) != 0:
        raise SystemExit("pf_start failed")
    rng = random.Random(seed)
    states = [[0, 0, plain(root)]]

    def ops():
        l, d, s, o, t, a = root["l"], root["d"], root["s"], root["o"], root["t"], root["a"]
        k = rng.randrange(1000)
        return [
            lambda: l.append(k),
            lambda: l.append("str %d" % k),
            lambda: l.insert(rng.randrange(len(l) + 1), (k, b"b" * (k % 50))),
            lambda: len(l) and l.pop(rng.randrange(len(l))),
            lambda: len(l) and l.__setitem__(rng.randrange(len(l)), 2 ** 70 + k),
            lambda: l.extend(range(k % 20)),
            lambda: l.sort(key=repr),
            lambda: l.reverse(),
            lambda: len(l) > 4 and l.__delitem__(slice(1, 3)),
            lambda: d.__setitem__("k%d" % (k % 40), k),
            lambda: d.pop("k%d" % (k % 40), None),
            lambda: d.update({"u%d" % i: i for i in range(k % 12)}),
            lambda: s.add(k % 60),
            lambda: s.discard(k % 60),
            lambda: s.update(range(k % 7)),
            # The sorted dict: splits, merges and borrows of its B+ tree.
            lambda: t.__setitem__(k % 300, "v%d" % k),
            lambda: t.pop(k % 300, None),
            lambda: t.update({(k + i) % 300: i for i in range(k % 40)}),
            lambda: len(t) and t.popitem(last=k % 2 == 0),
            lambda: pop_range(t, k % 300, k % 300 + 45),
            # The array: item and slice writes, a writable range, growth.
            lambda: a.__setitem__(k % len(a), k),
            lambda: a.__setitem__(slice(0, 8), array.array("q", range(k, k + 8))),
            lambda: fill_range(a, k),
            lambda: a.extend(range(k % 9)),
            lambda: len(a) > 64 and a.resize(64),
            lambda: setattr(o, "value", k),
            # Scalar overwrites: one failure-atomic store, no log.
            lambda: len(l) and isinstance(l[0], int) and l.__setitem__(0, k),
            lambda: root.__setitem__("flag", k % 2 == 0),
            lambda: root.__setitem__("ratio", k / 7),
            lambda: setattr(o, "name", "n%d" % k),
            lambda: root.__setitem__("new", pool.new(pmemobj.PersistentList, [k, "x"])),
            lambda: root.__setitem__("obj", pool.new(Node, "x%d" % k, k)),
            lambda: root.pop("new", None),
        ]

    def pop_range(sd, lo, hi):
        # One transaction: the oracle knows states only between the
        # workload's steps, so each step must be all or nothing.
        with pool.transaction():
            for x in list(sd.irange(lo, hi)):
                sd.pop(x)

    def fill_range(arr, k):
        lo = k % (len(arr) - 16)
        with arr.writable(lo, lo + 16) as v:
            for i in range(16):
                v[i] = k + i

    for _ in range(n):
        b = lib.pf_fences()
        shape = rng.random()
        try:
            if shape < 0.4:                               # one autocommitted op
                rng.choice(ops())()
            elif shape < 0.75:                            # a transaction of several
                with pool.transaction():
                    for _ in range(rng.randint(2, 5)):
                        rng.choice(ops())()
            elif shape < 0.85:                            # nested
                with pool.transaction():
                    rng.choice(ops())()
                    with pool.transaction():
                        rng.choice(ops())()
            elif shape < 0.95 and aborts:                 # aborted
                with pool.transaction():
                    rng.choice(ops())()
                    rng.choice(ops())()
                    raise KeyError("abort")
            elif shape >= 0.95:
                pool.gc()
        except KeyError:
            pass
        states.append([b, lib.pf_fences(), plain(root)])
    lib.pf_stop()
    with open(states_path, "w") as f:
        json.dump(states, f)
    os._exit(0)                                           # no close: as a crash


# --- crash images ----------------------------------------------------------------------

def read_trace(path):
    """[(flushed lines {line: bytes}, dirty lines {line: bytes})] per fence."""
    fences = []
    with open(path, "rb") as f:
        if f.read(8) != b"PFTRACE1":
            raise SystemExit("%s: not a trace" % path)
        while True:
            h = f.read(24)
            if len(h) < 24:
                break
            _n, nflushed, ndirty = struct.unpack("<3Q", h)
            flushed, dirty = {}, {}
            for _ in range(nflushed):
                line = struct.unpack("<Q", f.read(8))[0]
                flushed[line] = f.read(LINE)
            for _ in range(ndirty):
                line = struct.unpack("<Q", f.read(8))[0]
                dirty[line] = f.read(LINE)
            fences.append((flushed, dirty))
    return fences


def check_image(image, allowed, timeout):
    """Open and read the image in a forked child: None if it is one of the
    allowed states and gc's validation passes, else what went wrong."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            import pmemobj
            pool = pmemobj.open(image)
            state = json.dumps(plain(pool.root))
            verdict = "ok" if state in allowed else "state after no prefix of the transactions"
            if verdict == "ok":
                pool.gc(debug=True)
            pool.close()
        except BaseException as e:                        # noqa: BLE001
            verdict = "%s: %s" % (type(e).__name__, e)
        os.write(w, verdict.encode()[:4000])
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.001)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        return "hang"
    out = os.read(r, 4096).decode()
    os.close(r)
    if os.WIFSIGNALED(status):
        return "crash (signal %d)" % os.WTERMSIG(status)
    return None if out == "ok" else out


def simulate(work, states, fences, images, seed, timeout, quiet):
    rng = random.Random(seed)
    init = open(os.path.join(work, "pool.init"), "rb").read()
    begins = [s[0] for s in states]
    ends = [s[1] for s in states]
    state_json = [json.dumps(s[2]) for s in states]
    nf = len(fences)
    # Which crash points: every fence with its durable image, then random
    # fences with in-flight or evicted lines, or both.
    variants = ["in flight", "evicted", "both"]
    plan = [(k, "durable") for k in range(min(nf + 1, images))]
    while len(plan) < images:
        plan.append((rng.randrange(nf + 1), variants[len(plan) % 3]))
    plan.sort()
    image_path = os.path.join(work, "image.pool")
    buf = bytearray(init)
    applied = 0
    violations, by_kind = [], {}
    for fence, kind in plan:
        while applied < fence:                    # the durable image at `fence`
            for line, data in fences[applied][0].items():
                buf[line * LINE:(line + 1) * LINE] = data
            applied += 1
        img = bytearray(buf)
        if kind in ("in flight", "both") and fence < nf:
            for line, data in fences[fence][0].items():
                if rng.random() < 0.5:
                    img[line * LINE:(line + 1) * LINE] = data
        if kind in ("evicted", "both") and fence > 0:
            for line, data in fences[fence - 1][1].items():
                if rng.random() < 0.5:
                    img[line * LINE:(line + 1) * LINE] = data
        with open(image_path, "wb") as f:
            f.write(img)
        # Transactions that ended by this fence are durable; any that
        # began by the next one may be there.
        lo = max(j for j in range(len(states)) if ends[j] <= fence)
        hi = max(j for j in range(len(states)) if begins[j] <= fence)
        allowed = set(state_json[lo:hi + 1])
        problem = check_image(image_path, allowed, timeout)
        by_kind.setdefault(kind, [0, 0])[0] += 1
        if problem:
            by_kind[kind][1] += 1
            violations.append({"fence": fence, "kind": kind, "problem": problem[:300],
                               "allowed_transactions": [lo, hi]})
            if not quiet and len(violations) <= 20:
                print("violation at fence %d (%s): %s" % (fence, kind, problem[:300]),
                      flush=True)
    return len(plan), violations, by_kind


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transactions", type=int, default=300)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the build whose extension and libpftrace.so to use")
    ap.add_argument("--json")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-aborts", action="store_true",
                    help="no aborted transactions in the workload (the planted bug "
                         "breaks rollback outright; without aborts only a crash shows it)")
    ap.add_argument("--workload", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.workload:                              # the traced child
        path, trace, states_path, n, seed, aborts = args.workload
        workload(path, trace, states_path, int(n), int(seed),
                 os.path.join(args.build, "libpftrace.so"), aborts == "1")
        return 0
    shim = os.path.join(args.build, "libpftrace.so")
    if not os.path.exists(shim):
        raise SystemExit("%s not built (scripts/setup.sh builds it)" % shim)
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="pmemobj-powerfail-", dir="/dev/shm")
    try:
        path = os.path.join(work, "pool")
        env = dict(os.environ, LD_PRELOAD=shim, PMEM_IS_PMEM_FORCE="1",
                   PYTHONPATH=os.pathsep.join([os.path.join(REPO, "python")] +
                                              [p for p in [os.environ.get("PYTHONPATH")] if p]))
        if args.build != os.path.join(REPO, "build"):
            env["PMEMOBJ_EXT_DIR"] = args.build
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--build", args.build,
                               "--workload", path, path + ".trace", path + ".states",
                               str(args.transactions), str(args.seed),
                               "0" if args.no_aborts else "1"],
                              env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise SystemExit("workload failed:\n" + proc.stderr[-3000:])
        states = json.load(open(path + ".states"))
        fences = read_trace(path + ".trace")
        if args.build != os.path.join(REPO, "build"):
            os.environ["PMEMOBJ_EXT_DIR"] = args.build
        os.environ["PMEM_IS_PMEM_FORCE"] = "1"
        sys.path.insert(0, os.path.join(REPO, "python"))
        import pmemobj  # noqa: F401  (imported once, before the forks)
        n, violations, by_kind = simulate(work, states, fences, args.images, args.seed,
                                          args.timeout, args.quiet)
        last = "powerfail: %d crash images, %d violations" % (n, len(violations))
        if not args.quiet:
            for kind, (count, bad) in sorted(by_kind.items()):
                print("%-10s %6d images, %d violations" % (kind, count, bad))
        if args.json:
            from machine import git_info, machine
            with open(args.json, "w") as f:
                json.dump({"images": n, "violations": len(violations), "last_line": last,
                           "by_kind": by_kind, "fences": len(fences),
                           "transactions": args.transactions, "seed": args.seed,
                           "violation_details": violations[:50],
                           "seconds": round(time.time() - t0, 1), "machine": machine(),
                           "commit": git_info(exclude=("results",)), "build": args.build,
                           "mode": "pmem (/dev/shm, PMEM_IS_PMEM_FORCE=1)"}, f, indent=1)
                f.write("\n")
        print(last, flush=True)
        return 0 if not violations else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
