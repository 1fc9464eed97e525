"""The range log (src/rangelog.h): a large writable range that is its
transaction's first change is saved by the pool's own undo copy instead of
libpmemobj's snapshot.  Committed writes stay, rolled-back ones are put
back at once, and a process that dies before the commit leaves the old
items, restored by the next open -- also when the transaction went on to
change the same items through libpmemobj, or used a second range.  A
damaged log is a CorruptPoolError at open, never a wrong restore."""

import array
import struct

import pytest

import pmemobj

N = 4096                   # float64 items: 32 KiB, above the log's 4 KiB floor
OLD = [float(i) for i in range(N)]


def make(path):
    pool = pmemobj.create(path, pool_size=32 << 20)
    pool.root = pool.new(pmemobj.PersistentArray, "d", OLD)
    return pool


def items(path):
    pool = pmemobj.open(path)
    try:
        assert pool.check()["ok"]
        return pool.root.tolist()
    finally:
        pool.close()


def fill(view, value):
    view[:] = array.array("d", [value] * len(view))


def test_commit_stays_and_reopens(pool_path):
    pool = make(pool_path)
    with pool.root.writable(100, 3100) as v:
        fill(v, -1.0)
    before = pool.stats()
    with pool.root.writable(0, 2000) as v:        # the log's room is reused
        fill(v, -2.0)
    assert pool.stats()["pool_bytes"] == before["pool_bytes"]
    assert pool.gc()[1]["substructures_freed"] == 0   # gc keeps the log's block
    assert pool.check()["ok"]
    pool.close()
    got = items(pool_path)
    assert got[:2000] == [-2.0] * 2000 and got[2000:3100] == [-1.0] * 1100
    assert got[3100:] == OLD[3100:]


def test_rollback_puts_the_items_back(pool_path):
    pool = make(pool_path)
    with pytest.raises(KeyError):
        with pool.root.writable(0, N) as v:
            fill(v, 7.0)
            raise KeyError("abort")
    assert pool.root.tolist() == OLD
    with pytest.raises(KeyError):                     # and inside a caller's transaction
        with pool.transaction():
            with pool.root.writable(10, 3000) as v:
                fill(v, 8.0)
            pool.root[20] = 9.0                       # a libpmemobj snapshot after it
            raise KeyError("abort")
    assert pool.root.tolist() == OLD
    assert pool.check()["ok"]
    pool.close()
    assert items(pool_path) == OLD


CRASH = """
import array, os, sys
import pmemobj
pool = pmemobj.open(sys.argv[1])
a = pool.root
how = sys.argv[2]
def fill(v, x):
    v[:] = array.array("d", [x] * len(v))
with pool.transaction():
    if how == "later":                    # not the first change: libpmemobj's snapshot
        a[0] = -5.0
    with a.writable(0, len(a)) as v:
        fill(v, 1.0)
    if how == "overlap":                  # the same items again, through libpmemobj
        a[5] = 2.0
        a[4000:4010] = array.array("d", [3.0] * 10)
    if how == "second":                   # a second range: libpmemobj's snapshot
        with a.writable(1000, 2000) as v:
            fill(v, 4.0)
    os._exit(0)                           # dies before the commit
"""


@pytest.mark.parametrize("how", ["first", "later", "overlap", "second"])
def test_death_before_commit_leaves_the_old_items(pool_path, run_py, how):
    make(pool_path).close()
    run_py(CRASH, pool_path, how)
    assert items(pool_path) == OLD
    pool = pmemobj.open(pool_path)                    # the log is disarmed: no second restore
    with pool.root.writable(0, N) as v:
        fill(v, 6.0)
    pool.close()
    assert items(pool_path) == [6.0] * N


def _log_header(path):
    """Offset of the range log's header in the file of a pool a child left
    armed: the only copy of the old items is the log's, after its header."""
    data = open(path, "rb").read()
    at = data.find(array.array("d", OLD[:64]).tobytes())
    assert at > 0 and data.find(array.array("d", OLD[:64]).tobytes(), at + 1) < 0
    return at - 64


@pytest.mark.parametrize("field,value", [(2, 12345), (4, 1 << 40), (3, 8)])
def test_a_damaged_log_is_corrupt_pool_error(pool_path, run_py, field, value):
    make(pool_path).close()
    run_py(CRASH, pool_path, "first")
    head = _log_header(pool_path)
    with open(pool_path, "r+b") as f:                 # armed, len or off
        f.seek(head + 8 * field)
        f.write(struct.pack("<Q", value))
    with pytest.raises(pmemobj.CorruptPoolError, match="range log"):
        pmemobj.open(pool_path)


def test_a_damaged_commit_counter_is_not_taken_for_a_crash(pool_path):
    # After a commit, armed == committed.  A counter damaged to one below
    # armed would pass for a transaction that never committed (armed, its
    # range and its check all agree) and put the old items back over the
    # committed ones, silently: its stored complement tells them apart.
    pool = make(pool_path)
    with pool.root.writable(0, N) as v:
        fill(v, 5.0)
    pool.close()
    head = _log_header(pool_path)
    with open(pool_path, "r+b") as f:
        f.seek(head)
        committed = struct.unpack("<Q", f.read(8))[0]
        f.seek(head)
        f.write(struct.pack("<Q", committed - 1))
    with pytest.raises(pmemobj.CorruptPoolError, match="commit counter"):
        pmemobj.open(pool_path)


def test_a_plausible_wrong_range_is_caught_by_the_check(pool_path, run_py):
    # The range moved by one page, still inside the heap: only the
    # header's check tells it from the real one.
    make(pool_path).close()
    run_py(CRASH, pool_path, "first")
    head = _log_header(pool_path)
    with open(pool_path, "r+b") as f:
        f.seek(head + 24)
        off = struct.unpack("<Q", f.read(8))[0]
        f.seek(head + 24)
        f.write(struct.pack("<Q", off + 4096))
    with pytest.raises(pmemobj.CorruptPoolError, match="range log"):
        pmemobj.open(pool_path)


def test_a_small_range_beside_the_log(pool_path):
    # 128 bytes, below the log's floor: libpmemobj's snapshot, in the same
    # transaction as a logged range.
    pool = make(pool_path)
    with pytest.raises(KeyError):
        with pool.transaction():
            with pool.root.writable(0, 2048) as v:
                fill(v, 1.0)
            with pool.root.writable(3000, 3016) as v:
                fill(v, 2.0)
            raise KeyError("abort")
    assert pool.root.tolist() == OLD
    with pool.root.writable(0, 16) as v:
        fill(v, 1.0)
    assert pool.root[:17].tolist() == [1.0] * 16 + [16.0]
    pool.close()
