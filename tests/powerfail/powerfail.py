"""The power-failure simulator: crash images built from the cache lines a
workload flushed and fenced, each recovered and checked by an oracle.

    python tests/powerfail/powerfail.py [--transactions N] [--images N]
        [--seed S] [--json PATH] [--build DIR]

1. A workload runs under LD_PRELOAD of libpftrace.so (pftrace.c): the
   random transactions of tests/workload/workload.py (every mutating
   operation of every persistent type; autocommitted, several in one,
   nested and aborted transactions, and gc; shared with the kill torture,
   tests/crash/torture.py).  The tracer records every flushed cache line and
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
-DPMO_PLANT_BUGS=ON run with PMO_PLANTED_BUG naming one of the bugs of
src/planted.h (a list append that does not save the list's length, a
log-free scalar overwrite that is never flushed, a word-log record not
fenced before its words, ...) must give violations: that shows the
simulator can fail (tests/python/test_powerfail_quick.py).
"""

import argparse
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
sys.path.insert(0, os.path.join(REPO, "tests", "workload"))
sys.path.insert(0, os.path.join(REPO, "bench"))
from sparse_file import PAGE, nonzero_pages, page_extents, write_sparse  # noqa: E402
from workload import RandomTransactions, plain, populate  # noqa: E402

# The smallest pool with header-less objects (src/tx.c), so that the
# simulator covers them.
POOL_SIZE = 64 << 20
LINE = 64


# --- the workload (runs with the tracer preloaded) ----------------------------------

def workload(path, trace, states_path, n, seed, shim, aborts=True):
    import pmemobj
    pool = pmemobj.create(path, pool_size=POOL_SIZE)
    populate(pool)
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
    work = RandomTransactions(pool, random.Random(seed), aborts)
    states = [[0, 0, plain(root)]]
    for _ in range(n):
        b = lib.pf_fences()
        work.step()
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
        try:
            os.write(w, verdict.encode()[:4000])
        finally:
            os._exit(0)       # never a second simulator, whatever the write did
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
    # The pages an image can have other than zero: those of the initial
    # pool and those any traced line falls in (sparse_file.py).
    pages = nonzero_pages(init)
    for flushed, dirty in fences:
        pages.update(line * LINE // PAGE for line in flushed)
        pages.update(line * LINE // PAGE for line in dirty)
    extents = page_extents(pages)
    view = memoryview(buf)
    applied = 0
    violations, by_kind = [], {}
    for fence, kind in plan:
        while applied < fence:                    # the durable image at `fence`
            for line, data in fences[applied][0].items():
                buf[line * LINE:(line + 1) * LINE] = data
            applied += 1
        # The lines of this image that differ from the durable one, whose
        # durable contents are put back once the image is written.
        undo = {}
        lines = []
        if kind in ("in flight", "both") and fence < nf:
            lines += fences[fence][0].items()
        if kind in ("evicted", "both") and fence > 0:
            lines += fences[fence - 1][1].items()
        for line, data in lines:
            if rng.random() < 0.5:
                undo.setdefault(line, bytes(buf[line * LINE:(line + 1) * LINE]))
                buf[line * LINE:(line + 1) * LINE] = data
        write_sparse(image_path, view, extents)
        for line, data in undo.items():
            buf[line * LINE:(line + 1) * LINE] = data
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
