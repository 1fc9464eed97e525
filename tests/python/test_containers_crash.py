"""Crash tests for containers: a child process changes persistent lists and
is killed with SIGKILL; the reopened pool must show all of every committed
transaction (or autocommitted operation) and nothing of the one in flight,
and garbage collection must find exactly the garbage there is.

Opening a pool that was not closed cleanly runs gc by itself, so what a
crash left behind shows in pool.stats() right after the reopen (gc_runs,
gc_freed); a second pool.gc() must then find nothing more, and its "live"
count must equal that of a pool holding the expected state built from
scratch (so nothing leaked and nothing live was freed).
"""

import random
import time

import pytest

import pmemobj
from pmemobj import PersistentList

# Big enough that list growth never meets the limits of a default-size pool
# (see test_list.py, test_default_size_pool_holds_a_growing_list).
POOL_SIZE = 64 << 20

HEADER = f"""
import sys, time, pmemobj
from pmemobj import PersistentList as PL
POOL_SIZE = {POOL_SIZE}
"""


def plain(v):
    if isinstance(v, (PersistentList, list)):
        return [plain(x) for x in v]
    return v


def live_counts(pool_dir, build):
    """gc counts of a fresh pool whose root is build(pool)."""
    pool = pmemobj.create(str(pool_dir / "reference.pool"), pool_size=POOL_SIZE)
    try:
        pool.root = build(pool)
        _, counts = pool.gc()
        return counts["live"], counts["substructures"]
    finally:
        pool.close()


def reopen_after_crash(path):
    """Open a killed child's pool; return it and the gc_freed of the open."""
    pool = pmemobj.open(path)
    stats = pool.stats()
    assert stats["gc_runs"] == 1, "an unclean pool must be collected at open"
    return pool, stats["gc_freed"]


def assert_collected_exactly(pool, live, subs):
    _, counts = pool.gc()
    assert counts["collected"] == 0
    assert counts["substructures_freed"] == 0
    assert counts["bad_references"] == 0
    assert (counts["live"], counts["substructures"]) == (live, subs)


# --- a transaction over several lists ----------------------------------------

COMMIT_STATE = """
with pool.transaction():
    a = pool.new(PL, range(10))
    b = pool.new(PL, ["b", (1, 2)])
    c = pool.new(PL, [pool.new(PL, ["c-inner", 10**30])])
    pool.root = pool.new(PL, [a, b, c, "tag"])
"""

EXPECTED_COMMITTED = [list(range(10)), ["b", (1, 2)], [["c-inner", 10**30]], "tag"]


def build_committed(pool):
    return pool.new(PersistentList, [
        pool.new(PersistentList, range(10)),
        pool.new(PersistentList, ["b", (1, 2)]),
        pool.new(PersistentList, [pool.new(PersistentList, ["c-inner", 10**30])]),
        "tag"])


BIG_TRANSACTION = """
with pool.transaction():
    a.extend(range(10, 20000))                 # the item array is reallocated many times
    for i in range(3000):
        b.append(str(i))
    b.insert(0, pool.new(PL, [pool.new(PL, ["deep"])]))
    c[0].append("more")
    c.append(c[0])
    del c[0]
    pool.root.append(pool.new(PL, range(100)))
    pool.root[3] = "changed"
    a.sort(reverse=True)
    b.reverse()
    del a[::3]
    b[1:5] = [pool.new(PL, [i]) for i in range(10)]
    c *= 3
    print("in transaction", flush=True)
    time.sleep(60)
"""


def test_kill_in_transaction_over_several_lists(pool_dir, spawn_py):
    path = str(pool_dir / "crash.pool")
    child = spawn_py(HEADER + """
pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
""" + COMMIT_STATE + """
a, b, c = pool.root[0], pool.root[1], pool.root[2]
""" + BIG_TRANSACTION, path)
    child.expect("in transaction")
    child.kill()
    assert child.proc.returncode < 0
    live, subs = live_counts(pool_dir, build_committed)
    pool, freed = reopen_after_crash(path)
    try:
        assert freed == 0     # a rolled-back transaction leaves no garbage
        assert plain(pool.root) == EXPECTED_COMMITTED
        assert_collected_exactly(pool, live, subs)
        # The pool is fully usable: the same transaction commits now.
        a, b, c = pool.root[0], pool.root[1], pool.root[2]
        with pool.transaction():
            a.extend(range(10, 20000))
            b.insert(0, pool.new(PersistentList, ["deep"]))
            c.append(c[0])
        assert len(a) == 20000 and b[0] == ["deep"] and c[0] is c[1]
    finally:
        pool.close()


def test_kill_in_second_transaction_keeps_the_first(pool_dir, spawn_py):
    """Committed growth is kept in full, the next transaction not at all."""
    path = str(pool_dir / "crash.pool")
    child = spawn_py(HEADER + """
pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
""" + COMMIT_STATE + """
a, b, c = pool.root[0], pool.root[1], pool.root[2]
with pool.transaction():
    a.extend(range(10, 5000))
    b.append(pool.new(PL, [pool.new(PL, ["kept"])]))
print("first committed", flush=True)
""" + BIG_TRANSACTION, path)
    child.expect("in transaction")
    child.kill()
    expected = [list(range(5000)), ["b", (1, 2), [["kept"]]]] + EXPECTED_COMMITTED[2:]

    def build(pool):
        r = build_committed(pool)
        r[0].extend(range(10, 5000))
        r[1].append(pool.new(PersistentList, [pool.new(PersistentList, ["kept"])]))
        return r
    live, subs = live_counts(pool_dir, build)
    pool, freed = reopen_after_crash(path)
    try:
        assert freed == 0
        assert plain(pool.root) == expected
        assert_collected_exactly(pool, live, subs)
    finally:
        pool.close()


def test_gc_at_open_frees_exactly_the_committed_garbage(pool_dir, spawn_py):
    """Unreachable objects a crash leaves (made outside a transaction and
    never stored, or an unreachable cycle) are freed at the next open:
    exactly them, objects and item arrays."""
    path = str(pool_dir / "crash.pool")
    child = spawn_py(HEADER + """
pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
""" + COMMIT_STATE + """
orphan = pool.new(PL, [1, 2, 3])        # committed, count 0: only the proxy holds it
cycle = pool.new(PL)
cycle.append(cycle)                     # committed, count 1: a cycle
pool.root[1].append(pool.new(PL, ["kept"]))
a, b, c = pool.root[0], pool.root[1], pool.root[2]
""" + BIG_TRANSACTION, path)
    child.expect("in transaction")
    child.kill()

    def build(pool):
        r = build_committed(pool)
        r[1].append(pool.new(PersistentList, ["kept"]))
        return r
    live, subs = live_counts(pool_dir, build)
    pool, freed = reopen_after_crash(path)
    try:
        assert freed == 4     # two list objects and their two item arrays
        assert plain(pool.root[1]) == ["b", (1, 2), ["kept"]]
        assert_collected_exactly(pool, live, subs)
    finally:
        pool.close()


# --- autocommitted operations -------------------------------------------------------

def expected_item(i):
    return ("item", i, str(i)) if i % 3 == 1 else (str(i) if i % 3 == 2 else i)


@pytest.mark.parametrize("run", range(3))
def test_kill_during_autocommitted_appends(pool_dir, spawn_py, run):
    """Every append is atomic: the list is a prefix of the appended sequence,
    as long as the last acknowledged append or one more."""
    path = str(pool_dir / "crash.pool")
    child = spawn_py(HEADER + """
def expected_item(i):
    return ("item", i, str(i)) if i % 3 == 1 else (str(i) if i % 3 == 2 else i)
pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
pl = pool.new(PL)
pool.root = pl
i = 0
while True:
    pl.append(expected_item(i))
    print(i, flush=True)
    i += 1
""", path)
    rng = random.Random(run)
    threshold = rng.randrange(1500, 4000)   # past several reallocations
    while int(child.readline()) < threshold:
        pass
    time.sleep(rng.uniform(0, 0.004))
    rest = child.kill()
    acked = [int(x) for x in child.seen if x.strip().isdigit()]
    last = max(acked)
    assert rest is not None
    pool, freed = reopen_after_crash(path)
    try:
        assert freed == 0
        got = list(pool.root)
        assert len(got) in (last + 1, last + 2)
        assert got == [expected_item(i) for i in range(len(got))]
        _, counts = pool.gc()
        assert counts["collected"] == 0 and counts["substructures_freed"] == 0
        pool.root.append("usable")
        assert pool.root[-1] == "usable"
    finally:
        pool.close()


# --- a loop of transactions, killed at a random moment ---------------------------

STEP = """
def step(root, k, new):
    # One transaction's worth of changes, the same on PersistentLists (new
    # makes a PersistentList) and on plain lists (new is list).
    a, b, c = root[1], root[2], root[3]
    a.extend(range(k * 7, k * 7 + 60))
    if len(a) > 900:
        del a[:len(a) // 2]
    b.append(new([k, str(k)]))
    if k % 3 == 0:
        b.pop(0)
    if k % 5 == 0 and len(b):
        b[0].append(new(["nested", k]))
    c.insert(k % (len(c) + 1), ("t", k))
    c[::2] = c[::2][::-1]
    if len(c) > 40:
        c.clear()
    root[0] = k + 1
"""


def model_after(n):
    ns = {}
    exec(STEP, ns)
    root = [0, [], [], []]
    for k in range(n):
        ns["step"](root, k, list)
    return root


@pytest.mark.parametrize("run", range(3))
def test_kill_during_a_loop_of_transactions(pool_dir, spawn_py, run):
    path = str(pool_dir / "crash.pool")
    child = spawn_py(HEADER + STEP + """
pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
pool.root = pool.new(PL, [0, pool.new(PL), pool.new(PL), pool.new(PL)])
root = pool.root
new = lambda items: pool.new(PL, items)
print(0, flush=True)
k = 0
while True:
    with pool.transaction():
        step(root, k, new)
    k += 1
    print(k, flush=True)
""", path)
    rng = random.Random(100 + run)
    threshold = rng.randrange(30, 120)
    while int(child.readline()) < threshold:
        pass
    time.sleep(rng.uniform(0, 0.003))
    child.kill()
    last = max(int(x) for x in child.seen if x.strip().isdigit())
    pool, freed = reopen_after_crash(path)
    try:
        assert freed == 0
        n = pool.root[0]
        assert n in (last, last + 1)
        assert plain(pool.root) == model_after(n)
        _, counts = pool.gc()
        assert counts["collected"] == 0 and counts["substructures_freed"] == 0
    finally:
        pool.close()


# --- refcount freeing and gc, killed midway ----------------------------------------------

# Longer than a short str (14 UTF-8 bytes, kept in its slot): a heap object,
# which the count of live objects below includes.
BOTTOM = "the bottom of the chain"


@pytest.mark.parametrize("when", ["early", "midway", "after"])
def test_kill_while_refcounting_frees_a_deep_chain(pool_dir, spawn_py, when):
    """Dropping a 10,000-level chain commits the store at once and then frees
    the chain a batch per transaction.  Killed before the store commits, the
    chain is all there; killed after it, the root is None and whatever was
    not freed yet is unreachable, so the gc at open frees exactly that:
    together with what was freed before the kill, the whole chain."""
    path = str(pool_dir / "crash.pool")
    depth = 10_000
    child = spawn_py(HEADER + f"""
pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
head = pool.new(PL, [{BOTTOM!r}])
for i in range({depth} - 1):
    head = pool.new(PL, [head])
pool.root = head
del head
print("dropping", flush=True)
pool.root = None
print("dropped", flush=True)
time.sleep(60)
""", path)
    child.expect("dropping")
    if when == "after":
        child.expect("dropped")
    else:
        time.sleep(0.002 if when == "early" else 0.04)
    child.kill()
    pool, freed = reopen_after_crash(path)
    try:
        root = pool.root
        if root is not None:
            assert freed == 0
            n = 1
            while root[0] != BOTTOM:
                root = root[0]
                n += 1
            assert n == depth
        elif "dropped" in child.seen:
            assert freed == 0          # all freed before the kill
        # Whatever the moment, nothing is left over: the chain is whole
        # and live, or entirely gone.
        del root
        _, counts = pool.gc()
        assert counts["collected"] == 0 and counts["substructures_freed"] == 0
        expected_live = depth + 1 if pool.root is not None else 0  # + the str BOTTOM
        assert counts["live"] == expected_live
    finally:
        pool.close()


@pytest.mark.parametrize("delay", [0.0, 0.004, 0.01, 0.03])
def test_kill_during_gc(pool_dir, spawn_py, delay):
    """gc frees in batches of transactions; killed between (or in) them, the
    next open frees the rest, and only garbage is ever freed."""
    path = str(pool_dir / "crash.pool")
    child = spawn_py(HEADER + """
pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
""" + COMMIT_STATE + """
with pool.transaction():
    for i in range(4000):                 # unreachable cycles, with item arrays
        x = pool.new(PL, ["garbage", i])
        y = pool.new(PL, [x])
        x.append(y)
    del x, y
print("gc", flush=True)
pool.gc()
print("gc done", flush=True)
time.sleep(60)
""", path)
    child.expect("gc")
    time.sleep(delay)     # gc of this garbage takes ~20 ms, in batches
    child.kill()
    live, subs = live_counts(pool_dir, build_committed)
    pool, freed = reopen_after_crash(path)
    try:
        assert freed <= 5 * 4000    # per pair: 2 lists, 2 item arrays, 1 str
        assert plain(pool.root) == EXPECTED_COMMITTED
        assert_collected_exactly(pool, live, subs)
    finally:
        pool.close()
