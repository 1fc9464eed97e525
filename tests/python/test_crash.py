"""The core promise: a process killed at any moment leaves the pool with all
of every committed transaction and none of an open one.  Children are
killed with SIGKILL (or leave with os._exit) and the pool is reopened here;
reopening after an unclean shutdown must work and keep the pool usable."""

import random
import textwrap
import time

import pytest

import pmemobj

COMMITTED = ("committed", 1)

# Crash tests are about atomicity, not capacity: give them room, since
# libpmemobj's allocator fragments a minimum-size (8 MiB) pool quickly.
POOL_SIZE = 32 << 20


def child_code(code):
    return f"POOL_SIZE = {POOL_SIZE}\n" + textwrap.dedent(code)


def reopen_root(path):
    pool = pmemobj.open(path)
    try:
        return pool.root
    finally:
        pool.close()


def assert_pool_usable(path, expected_root):
    """Reopen: root as expected, and the pool takes new values."""
    pool = pmemobj.open(path)
    try:
        assert pool.root == expected_root
        pool.root = ("usable", b"\x00" * 100_000)
        with pool.transaction():
            pool.root = ("usable", 2)
        pool.gc()
        assert pool.root == ("usable", 2)
    finally:
        pool.close()
    assert reopen_root(path) == ("usable", 2)


def test_kill_inside_transaction_leaves_nothing(pool_path, spawn_py):
    child = spawn_py(child_code("""
        import sys, time, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("committed", 1)
        with pool.transaction():
            pool.root = ("uncommitted", 2)
            print("in transaction", flush=True)
            time.sleep(60)
    """), pool_path)
    child.expect("in transaction")
    child.kill()
    assert child.proc.returncode < 0
    assert reopen_root(pool_path) == COMMITTED
    assert_pool_usable(pool_path, COMMITTED)


def test_kill_inside_transaction_with_large_values(pool_path, spawn_py):
    child = spawn_py(child_code("""
        import sys, time, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("committed", 1)
        with pool.transaction():
            pool.root = ("big", b"\\xee" * 1_000_000, "s" * 500_000)
            pool.root = ("bigger", b"\\xdd" * 2_000_000)
            print("in transaction", flush=True)
            time.sleep(60)
    """), pool_path)
    child.expect("in transaction")
    child.kill()
    assert_pool_usable(pool_path, COMMITTED)


def test_kill_after_commit_keeps_everything(pool_path, spawn_py):
    child = spawn_py(child_code("""
        import sys, time, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("committed", 1)
        with pool.transaction():
            pool.root = ("first", 2)
            pool.root = ("after commit", 3, b"y" * 10_000)
        print("committed", flush=True)
        time.sleep(60)
    """), pool_path)
    child.expect("committed")
    child.kill()
    expected = ("after commit", 3, b"y" * 10_000)
    assert reopen_root(pool_path) == expected
    assert_pool_usable(pool_path, expected)


def test_kill_after_autocommit_keeps_value(pool_path, spawn_py):
    child = spawn_py(child_code("""
        import sys, time, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("autocommitted", 10 ** 50)
        print("stored", flush=True)
        time.sleep(60)
    """), pool_path)
    child.expect("stored")
    child.kill()
    assert_pool_usable(pool_path, ("autocommitted", 10 ** 50))


def test_kill_after_inner_commit_before_outer_end(pool_path, spawn_py):
    child = spawn_py(child_code("""
        import sys, time, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("committed", 1)
        with pool.transaction():
            pool.root = ("outer", 2)
            with pool.transaction():
                pool.root = ("inner", 3)
            print("inner done", flush=True)
            time.sleep(60)
    """), pool_path)
    child.expect("inner done")
    child.kill()
    assert_pool_usable(pool_path, COMMITTED)


def test_kill_during_begin_commit_transaction(pool_path, spawn_py):
    child = spawn_py(child_code("""
        import sys, time, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("committed", 1)
        t = pool.transaction()
        t.begin()
        pool.root = ("begun", 2)
        print("begun", flush=True)
        time.sleep(60)
    """), pool_path)
    child.expect("begun")
    child.kill()
    assert_pool_usable(pool_path, COMMITTED)


def test_os_exit_without_close(pool_path, run_py):
    proc = run_py(child_code("""
        import os, sys, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("committed", 1)
        pool.root = ("last", 2, "x" * 1000)
        print("exiting", flush=True)
        os._exit(0)
    """), pool_path)
    assert proc.stdout.strip() == "exiting"
    assert_pool_usable(pool_path, ("last", 2, "x" * 1000))


def test_os_exit_inside_transaction(pool_path, run_py):
    run_py(child_code("""
        import os, sys, pmemobj
        pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
        pool.root = ("committed", 1)
        with pool.transaction():
            pool.root = ("uncommitted", 2)
            os._exit(3)
    """), pool_path, check=False)
    assert_pool_usable(pool_path, COMMITTED)


def test_repeated_crashes_do_not_exhaust_pool(pool_path, spawn_py):
    # Each child fills more than half of the pool inside an open transaction
    # and dies; the next open must get all of it back, or the final store
    # of the same amount cannot fit.
    pmemobj.create(pool_path, pool_size=POOL_SIZE).close()
    for i in range(4):
        child = spawn_py(child_code("""
            import sys, time, pmemobj
            pool = pmemobj.open(sys.argv[1])
            pool.root = ("round", int(sys.argv[2]))
            with pool.transaction():
                pool.root = tuple(bytes([k]) * PIECE for k in range(PIECES))
                print("filled", flush=True)
                time.sleep(60)
        """).replace("PIECES", str(PIECES)).replace("PIECE", str(PIECE)), pool_path, i)
        child.expect("filled")
        child.kill()
        assert reopen_root(pool_path) == ("round", i)
    pool = pmemobj.open(pool_path)
    try:
        value = tuple(bytes([k]) * PIECE for k in range(PIECES))
        pool.root = value
        assert pool.root == value
    finally:
        pool.close()


# A bytes object of PIECE bytes (plus its 33 bytes of header and NUL and
# libpmemobj's 16) takes exactly 8 chunks of 256 KiB: PIECES of them fill
# more than half of POOL_SIZE.
PIECE = (8 << 18) - 16 - 33
PIECES = 9


LOOP = """
    import sys, pmemobj
    pool = pmemobj.create(sys.argv[1], pool_size=POOL_SIZE)
    in_transaction = sys.argv[2] == "transaction"
    i = 0
    while True:
        # Sizes vary so that allocations, frees and in-place slots all occur.
        pad = "p" * ((i % 7) * 3000)
        value = (i, str(i) * (i % 5), pad, -i, b"%d" % i, 2 ** (64 + i % 9))
        if in_transaction:
            # The intermediate value must never be seen after a crash.
            with pool.transaction():
                pool.root = ("half", i, pad)
                pool.root = value
        else:
            pool.root = value
        print(i, flush=True)
        i += 1
"""


def consistent(value):
    """True if *value* is a whole value as written by LOOP, for some i."""
    if type(value) is not tuple or len(value) != 6:
        return False
    i, s, pad, neg, b, big = value
    return (type(i) is int and s == str(i) * (i % 5)
            and pad == "p" * ((i % 7) * 3000) and neg == -i
            and b == b"%d" % i and big == 2 ** (64 + i % 9))


@pytest.mark.parametrize("mode", ["autocommit", "transaction"])
@pytest.mark.parametrize("seed", range(3))
def test_kill_at_random_moment_in_store_loop(pool_path, spawn_py, seed, mode):
    rng = random.Random(seed)
    child = spawn_py(child_code(LOOP), pool_path, mode)
    child.expect("0")
    # Let it run for a while, then kill it wherever it happens to be.
    deadline = time.monotonic() + rng.uniform(0.05, 0.4)
    while time.monotonic() < deadline:
        child.readline()
    child.kill()
    assert child.proc.returncode == -9, child.stderr
    printed = [int(line) for line in child.seen if line.isdigit()]
    last = printed[-1]
    assert printed == list(range(last + 1))
    value = reopen_root(pool_path)
    assert consistent(value), f"torn value: {value!r:.300}"
    assert value[0] in (last, last + 1), (value[0], last)
