"""Several threads on the same dict, set and PersistentObject, with and
without transactions: no update is lost and the heap stays consistent."""

import sys
import threading
import time

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentObject, PersistentSet

THREADS = 4
ROUNDS = 300


class Counter(PersistentObject):
    def __init__(self):
        self.n = 0


@pytest.fixture
def pool(pool_path):
    pool = pmemobj.create(pool_path, pool_size=64 << 20)
    yield pool
    pool.close()


@pytest.fixture(autouse=True)
def switch_often():
    # Hand the GIL over often; the tests also yield it explicitly in the
    # middle of transactions (without the transaction, the read-modify-write
    # test loses about three updates in four).
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def run_threads(target):
    errors = []

    def wrapped(t):
        try:
            target(t)
        except BaseException as e:      # surfaced in the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    assert not errors, errors


def test_read_modify_write_in_transactions(pool):
    d = pool.new(PersistentDict, {"hits": 0})
    c = pool.new(Counter)
    pool.root = (d, c)

    def work(t):
        for _ in range(ROUNDS):
            with pool.transaction():          # the read and the write are one unit
                hits, n = d["hits"], c.n
                time.sleep(0)                 # let the other threads run right here
                d["hits"] = hits + 1
                c.n = n + 1

    run_threads(work)
    assert d["hits"] == THREADS * ROUNDS
    assert c.n == THREADS * ROUNDS


def test_autocommit_inserts_and_deletes(pool):
    d = pool.new(PersistentDict)
    s = pool.new(PersistentSet)
    pool.root = (d, s)

    def work(t):
        for i in range(ROUNDS):
            key = (t, i)
            d[key] = str(i)                    # grows through many resizes
            time.sleep(0)
            s.add(key)
            if i % 3 == 0:
                del d[key]
                s.discard(key)

    run_threads(work)
    expected = {(t, i) for t in range(THREADS) for i in range(ROUNDS) if i % 3}
    assert set(d.keys()) == expected
    assert set(s) == expected
    assert all(d[k] == str(k[1]) for k in expected)
    _, counts = pool.gc(debug=True)
    assert counts["invalid"] == 0 and counts["collected"] == 0


def test_rolled_back_transactions_leave_no_trace(pool):
    d = pool.new(PersistentDict)
    pool.root = d

    def work(t):
        for i in range(ROUNDS // 3):
            try:
                with pool.transaction():
                    d[(t, i)] = (i, "x")
                    time.sleep(0)
                    if i % 2:
                        raise KeyError("roll back")
            except KeyError:
                pass

    run_threads(work)
    assert set(d) == {(t, i) for t in range(THREADS) for i in range(ROUNDS // 3) if i % 2 == 0}
    _, counts = pool.gc(debug=True)
    assert counts["invalid"] == 0 and counts["collected"] == 0
