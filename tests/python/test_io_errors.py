"""I/O errors under an open pool (src/iofail.c): a page of the mapping that
is gone (the file truncated by another program) or an msync that fails
(a pool not on persistent memory) ends in an exception, the pool takes no
more changes, and the next open finds a consistent pool -- never a dead
process.  Each scenario runs in a child, so a crash fails the test rather
than the test run.
"""

import json
import signal

TRUNCATE = r"""
import json, os, signal, sys, pmemobj
path, default_handler = sys.argv[1], sys.argv[2] == "1"
pool = pmemobj.create(path, pool_size=32 << 20)
pool.root = pool.new(pmemobj.PersistentList, ["%06d" % i * 4 for i in range(60000)])
if default_handler:
    signal.signal(signal.SIGBUS, signal.SIG_DFL)    # what a process has without pmemobj's
os.truncate(path, 8 << 20)                          # another program cuts the file
out = {}
try:
    out["read"] = len([x for x in pool.root])
except Exception as e:
    out["read_error"] = [type(e).__name__, getattr(e, "errno", None)]
for attempt in range(2):
    try:
        pool.root.append("more")
        out["write%d" % attempt] = "ok"
    except Exception as e:
        out["write%d" % attempt] = [type(e).__name__, e.errno, str(e)]
pool.close()
try:
    pmemobj.open(path)
    out["reopen"] = "ok"
except Exception as e:
    out["reopen"] = type(e).__name__
print(json.dumps(out))
"""


def test_truncated_file_under_an_open_pool_raises(pool_dir, run_py):
    out = json.loads(run_py(TRUNCATE, str(pool_dir / "t.pool"), "0").stdout)
    # What was lost reads as damage, not as data...
    assert out["read_error"] == ["CorruptPoolError", 5], out
    # ...and every later change is refused with the I/O error.
    for w in ("write0", "write1"):
        name, errno_, msg = out[w]
        assert (name, errno_) == ("OSError", 5) and "accepts no more changes" in msg, out
    # The cut file is found damaged at the next open, as any other.
    assert out["reopen"] == "CorruptPoolError", out


def test_without_the_handler_the_same_scenario_kills_the_process(pool_dir, run_py):
    # The scenario above really faults: with SIGBUS at its default the
    # child dies of it, so the test above can fail.
    proc = run_py(TRUNCATE, str(pool_dir / "t.pool"), "1", check=False)
    assert proc.returncode == -signal.SIGBUS, (proc.returncode, proc.stderr[-2000:])


MSYNC = r"""
import json, os, sys
os.environ["PMEM_IS_PMEM_FORCE"] = "0"      # persist by msync, as on a disk
import pmemobj
from pmemobj import _pmemobj as P
d = sys.argv[1]

def make(path):
    pool = pmemobj.create(path, pool_size=16 << 20)
    pool.root = pool.new(pmemobj.PersistentDict, a=1)
    pool.root["l"] = pool.new(pmemobj.PersistentList, [1, 2])
    return pool

def op(pool):
    with pool.transaction():
        pool.root["b"] = "two" * 20
        pool.root["l"].append(3)

def state(pool):
    return {"b": pool.root.get("b"), "l": list(pool.root["l"])}

pool = make(os.path.join(d, "count.pool"))
before = state(pool)
P._inject_msync_failure(0)
op(pool)
n = P._inject_msync_failure(0)
after = state(pool)
pool.close()
results = []
for k in range(1, n + 1):
    path = os.path.join(d, "k%d.pool" % k)
    pool = make(path)
    P._inject_msync_failure(k)
    r = {"k": k}
    try:
        op(pool)
        r["op"] = "ok"
    except OSError as e:
        r["op"] = e.errno
    r["seen"] = state(pool)
    try:
        pool.root["c"] = 1
        r["later"] = "ok"
    except OSError as e:
        r["later"] = e.errno
    P._inject_msync_failure(0)
    pool.close()
    pool = pmemobj.open(path)
    r["reopened"] = state(pool)
    r["check"] = pool.check()["ok"]
    pool.close()
    os.unlink(path)
    results.append(r)
print(json.dumps({"n": n, "before": before, "after": after, "results": results}))
"""


def test_an_msync_failure_at_every_point_of_a_transaction(pool_dir, run_py):
    out = json.loads(run_py(MSYNC, str(pool_dir)).stdout)
    before, after = out["before"], out["after"]
    assert out["n"] >= 2 and before != after
    for r in out["results"]:
        # Never a dead process (libpmemobj aborts on a failed msync), and
        # never a silent success: the transaction reports EIO ...
        assert r["op"] == 5, r
        # ... the pool takes no more changes ...
        assert r["later"] == 5, r
        # ... and what the next open finds is all or nothing of it.
        assert r["reopened"] in (before, after) and r["check"], r
    # A failure before the commit rolls the transaction back; one in the
    # commit leaves it made (and says it may not be durable).
    seen = [r["seen"] for r in out["results"]]
    assert seen[0] == before and after in seen, seen
