"""PersistentSortedDict: the mapping API in key order, ranges and positions,
persistence, transactions, errors, and a kill in the middle of a large
transaction of splits and merges.  The B+ tree itself is tested from C in
tests/c/test_btree.c (splits, merges, borrows, ranks, the validator)."""

import bisect
import collections.abc
import copy
import math
import pickle
import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

import pmemobj
from pmemobj import PersistentSortedDict as PSD

from helpers import PoolMachine


@pytest.fixture
def sd(pool):
    pool.root = pool.new(PSD)
    return pool.root


def test_is_a_mutable_mapping(sd):
    assert isinstance(sd, collections.abc.MutableMapping)
    assert isinstance(sd.keys(), collections.abc.KeysView)
    assert isinstance(sd.items(), collections.abc.ItemsView)
    assert isinstance(sd.values(), collections.abc.ValuesView)


def test_mapping_api_in_key_order(pool, sd):
    keys = list(range(0, 3000, 3))
    random.Random(1).shuffle(keys)
    with pool.transaction():
        for k in keys:
            sd[k] = str(k)
    assert len(sd) == 1000
    assert list(sd) == sorted(keys)
    assert list(reversed(sd)) == sorted(keys, reverse=True)
    assert sd[300] == "300" and sd.get(301) is None and sd.get(301, "x") == "x"
    assert 300 in sd and 301 not in sd and 300.0 in sd
    assert sd.setdefault(300, "no") == "300" and sd.setdefault(1, "one") == "one"
    assert sd.pop(1) == "one" and sd.pop(1, "gone") == "gone"
    with pytest.raises(KeyError):
        sd.pop(1)
    with pytest.raises(KeyError):
        sd[2]
    with pytest.raises(KeyError):
        del sd[2]
    del sd[0]
    assert sd.first_key() == 3 and sd.last_key() == 2997
    assert sd.popitem() == (2997, "2997") and sd.popitem(last=False) == (3, "3")
    assert sd.peekitem(0) == (6, "6") and sd.peekitem(-1) == (2994, "2994")
    assert sd.peekitem() == (2994, "2994")
    with pytest.raises(IndexError):
        sd.peekitem(len(sd))
    assert dict(sd.items()) == {k: str(k) for k in range(6, 2995, 3)}
    sd.update({5: "a"})
    sd.update([(4, "b")])
    assert list(sd)[:4] == [4, 5, 6, 9]
    sd.clear()
    assert len(sd) == 0 and list(sd) == []
    with pytest.raises(KeyError):
        sd.popitem()
    with pytest.raises(KeyError):
        sd.first_key()


def test_positions_and_ranges(sd):
    sd.update({k: k * k for k in range(0, 100, 2)})
    assert sd.bisect_left(10) == 5 and sd.bisect_right(10) == 6 and sd.bisect(10) == 6
    assert sd.bisect_left(11) == 6 and sd.bisect_left(-1) == 0 and sd.bisect_left(1000) == 50
    assert sd.bisect_left(10.5) == 6
    assert sd.index(10) == 5
    with pytest.raises(ValueError):
        sd.index(11)
    assert list(sd.irange(10, 20)) == [10, 12, 14, 16, 18, 20]
    assert list(sd.irange(10, 20, inclusive=(False, False))) == [12, 14, 16, 18]
    assert list(sd.irange(10, 20, reverse=True)) == [20, 18, 16, 14, 12, 10]
    assert list(sd.irange(maximum=4)) == [0, 2, 4]
    assert list(sd.irange(minimum=95)) == [96, 98]
    assert list(sd.irange(50, 10)) == []
    ks = sd.keys(10, 20)
    assert len(ks) == 6 and list(ks) == [10, 12, 14, 16, 18, 20]
    assert ks[0] == 10 and ks[-1] == 20 and ks[1:3] == [12, 14] and ks.index(14) == 2
    assert 12 in ks and 22 not in ks and 13 not in ks
    assert list(reversed(ks)) == [20, 18, 16, 14, 12, 10]
    assert list(sd.values(10, 14)) == [100, 144, 196]
    assert list(sd.items(10, 14)) == [(10, 100), (12, 144), (14, 196)]
    assert (12, 144) in sd.items(10, 14) and (12, 0) not in sd.items(10, 14)
    assert (16, 256) not in sd.items(10, 14)
    assert 144 in sd.values(10, 14) and 256 not in sd.values(10, 14)
    # Set operations of the views, as dict's give.
    assert sd.keys(0, 6) & {2, 4, 8} == {2, 4}
    assert sd.keys(0, 4) | {1} == {0, 1, 2, 4}
    assert sd.keys(0, 4) == {0, 2, 4}
    # Views are live.
    sd[11] = 0
    assert list(ks) == [10, 11, 12, 14, 16, 18, 20]
    with pytest.raises(TypeError):
        sd.irange("a", "b")
    with pytest.raises(TypeError):
        sd.bisect_left("a")
    with pytest.raises(TypeError):
        sd.keys(inclusive=True)


def test_key_families_and_exact_number_order(pool):
    nums = [3, -1, 2.5, True, 2 ** 70, -(2 ** 70), 2.0 ** 70 + 2 ** 20, 1e300, -math.inf,
            math.inf, 9007199254740993, 9007199254740992.0, -0.5, 2 ** 64, 18446744073709551616.0]
    d = pool.new(PSD)
    for i, k in enumerate(nums):
        d[k] = i
    want = {}
    for i, k in enumerate(nums):     # equal keys (2**64 and its float) share one entry
        want[k] = i
    assert list(d) == sorted(want)
    assert [d[k] for k in sorted(want)] == [want[k] for k in sorted(want)]
    s = pool.new(PSD, {"b": 1, "a": 2, "é": 3, "z" * 40: 4, "\ud800": 5, "": 6})
    assert list(s) == sorted(["b", "a", "é", "z" * 40, "\ud800", ""])
    b = pool.new(PSD, {b"b": 1, b"": 2, b"ab": 3, b"\xff" * 20: 4})
    assert list(b) == sorted([b"b", b"", b"ab", b"\xff" * 20])
    t = pool.new(PSD, {(1, "b"): 1, (1, "a"): 2, (0, "z", b"x"): 3, (1,): 4, (): 5,
                       (2 ** 80, "q"): 6, (1.5, ("n", 1)): 7})
    assert list(t) == sorted(t.to_python())


def test_bad_keys_raise_and_leave_the_transaction_open(pool, sd):
    sd[1] = "one"
    with pool.transaction():
        sd[2] = "two"
        for bad in ("str", b"bytes", (1, 2)):
            with pytest.raises(TypeError, match="not supported between"):
                sd[bad] = 0
        for bad in (None, [1], {1: 2}, 1j, frozenset()):
            with pytest.raises(TypeError, match="PersistentSortedDict key"):
                sd[bad] = 0
        with pytest.raises(ValueError, match="NaN"):
            sd[float("nan")] = 0
        with pytest.raises(TypeError):
            sd.update({3: 3, "x": 4})
        sd[3] = "three"
    assert dict(sd.items()) == {1: "one", 2: "two", 3: "three"}
    # Lookups of keys that cannot be there find nothing, as dict's do.
    assert "str" not in sd and None not in sd and [1] not in sd
    assert sd.get("str", 0) == 0 and sd.pop(None, 5) == 5
    with pytest.raises(KeyError):
        sd["str"]
    # Tuples compare item by item: a clash deep inside is a TypeError.
    t = pool.new(PSD, {(1, "a"): 1})
    t[(2, 3)] = 2
    with pytest.raises(TypeError):
        t[(1, 3)] = 3
    assert list(t) == [(1, "a"), (2, 3)]


def test_values_of_any_kind_and_references(pool, sd):
    inner = pool.new(pmemobj.PersistentList, [1, 2])
    sd.update({1: inner, 2: inner, 3: {"plain": [1]}, 4: "x" * 100, 5: 10 ** 40})
    assert sd[1] is sd[2] is inner
    sd[2] = None
    del sd[1]
    assert pool.check()["ok"]
    # A cycle through a sorted dict is collected once unreachable.
    c = pool.new(PSD)
    c[0] = c
    del c
    _, counts = pool.gc()
    assert counts["collected"] == 1


def test_persistence_and_reopen(pool_dir):
    path = str(pool_dir / "s.pool")
    pool = pmemobj.create(path, pool_size=32 << 20)
    pool.root = pool.new(PSD, {("k", i): i for i in range(5000)})
    pool.close()
    pool = pmemobj.open(path)
    try:
        d = pool.root
        assert type(d) is PSD and len(d) == 5000
        assert list(d.irange(("k", 10), ("k", 12))) == [("k", 10), ("k", 11), ("k", 12)]
        assert pool.check()["ok"]
    finally:
        pool.close()


def test_rollback_restores_everything(pool, sd):
    sd.update({k: k for k in range(2000)})
    with pytest.raises(KeyError):
        with pool.transaction():
            for k in range(0, 2000, 2):
                del sd[k]
            sd.update({k: -k for k in range(5000, 8000)})
            sd.popitem()
            raise KeyError("abort")
    assert list(sd.items()) == [(k, k) for k in range(2000)]
    with pytest.raises(KeyError):
        with pool.transaction():
            sd.clear()
            raise KeyError("abort")
    assert len(sd) == 2000 and sd.peekitem(1000) == (1000, 1000)


def test_rollback_of_a_transaction_over_thousands_of_nodes(pool_path):
    # One transaction that changes every leaf of a tree of ~2,000 nodes:
    # the runtime remembers which nodes it already saved in the transaction
    # (a set that must grow past its first 1,024 entries here), and a node
    # it wrongly took for saved would keep its change after the rollback.
    # The second round checks that nothing is remembered across
    # transactions.
    keys = list(range(40000))
    random.Random(7).shuffle(keys)
    with pmemobj.create(pool_path, pool_size=64 << 20) as pool:
        sd = pool.root = pool.new(PSD)
        with pool.transaction():
            for k in keys:
                sd[k] = k
        for _ in range(2):
            with pytest.raises(KeyError):
                with pool.transaction():
                    for k in keys:
                        sd[k] = -k
                    sd.update({k: k for k in range(-3000, 0)})
                    raise KeyError("abort")
            assert len(sd) == 40000
            assert all(k == v for k, v in sd.items())
        assert pool.check()["ok"]


def test_iteration_under_change(sd):
    sd.update({k: k for k in range(100)})
    it = iter(sd)
    assert next(it) == 0
    sd[1000] = 1
    with pytest.raises(RuntimeError, match="changed size"):
        next(it)
    with pytest.raises(RuntimeError):
        next(it)
    # A change that keeps the size: iteration goes on by position, never
    # touching freed nodes.
    it = iter(sd.items())
    seen = [next(it) for _ in range(50)]
    for k in range(0, 100, 2):
        del sd[k]
    sd.update({k: k for k in range(2000, 2050)})
    rest = list(it)
    assert len(seen) + len(rest) == len(sd)
    assert it.__length_hint__() == 0


def test_plain_values_out(pool, sd):
    sd.update({2: [1], 1: "a"})
    assert sd.to_python() == {1: "a", 2: [1]} and list(sd.to_python()) == [1, 2]
    assert copy.copy(sd) == {1: "a", 2: [1]} and copy.deepcopy(sd) == {1: "a", 2: [1]}
    assert pickle.loads(pickle.dumps(sd)) == {1: "a", 2: [1]}
    c = sd.copy()
    assert type(c) is PSD and c == sd and c is not sd
    assert sd == {1: "a", 2: [1]} and sd != {1: "a"} and (sd == 5) is False
    assert repr(sd) == "PersistentSortedDict({1: 'a', 2: [1]})"
    sd[3] = sd
    assert repr(sd).endswith("3: PersistentSortedDict({...})})")


def test_closed_pool_and_readonly(pool_dir):
    path = str(pool_dir / "r.pool")
    pool = pmemobj.create(path, pool_size=16 << 20)
    pool.root = pool.new(PSD, {1: 1})
    d = pool.root
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        len(d)
    with pytest.raises(ValueError, match="closed"):
        d[2] = 2
    with pmemobj.open(path, flag="r") as ro:
        assert dict(ro.root.items()) == {1: 1}
        with pytest.raises(OSError):
            ro.root[2] = 2


class SortedDictMachine(PoolMachine):
    """Random operations against a dict, compared in key order after each."""
    root_type = PSD
    keys = st.one_of(st.integers(-300, 300), st.floats(-300, 300, allow_nan=False))

    def __init__(self):
        super().__init__()
        self.ref = {}

    @rule(k=keys, v=st.integers())
    def set(self, k, v):
        self.pool.root[k] = v
        self.ref[k] = v

    @rule(k=keys)
    def delete(self, k):
        assert self.pool.root.pop(k, None) == self.ref.pop(k, None)

    @rule(ks=st.lists(st.integers(-300, 300), max_size=80))
    def update(self, ks):
        self.pool.root.update({k: k for k in ks})
        self.ref.update({k: k for k in ks})

    @rule(lo=keys, n=st.integers(0, 60))
    def delete_range(self, lo, n):
        with self.pool.transaction():
            for k in list(self.pool.root.irange(lo))[:n]:
                del self.pool.root[k]
                del self.ref[k]

    @rule(last=st.booleans())
    def popitem(self, last):
        if self.ref:
            k = max(self.ref) if last else min(self.ref)
            assert self.pool.root.popitem(last=last) == (k, self.ref.pop(k))

    @rule(lo=keys, hi=keys, incl=st.tuples(st.booleans(), st.booleans()))
    def ranges(self, lo, hi, incl):
        ks = sorted(self.ref)
        got = list(self.pool.root.irange(lo, hi, incl))
        want = [k for k in ks if (lo < k or (incl[0] and lo == k)) and
                (k < hi or (incl[1] and k == hi))]
        assert got == want
        assert self.pool.root.bisect_left(lo) == bisect.bisect_left(ks, lo)
        assert self.pool.root.bisect_right(hi) == bisect.bisect_right(ks, hi)

    @invariant()
    def same(self):
        d = self.pool.root
        assert len(d) == len(self.ref)
        assert list(d.items()) == sorted(self.ref.items())
        if self.ref:
            i = len(self.ref) // 3
            assert d.peekitem(i) == sorted(self.ref.items())[i]


SortedDictMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=40,
                                               deadline=None)
test_sorteddict_machine = SortedDictMachine.TestCase


def test_kill_in_transaction_of_splits_and_merges(pool_dir, spawn_py):
    path = str(pool_dir / "crash.pool")
    child = spawn_py("""
import sys, time, pmemobj
pool = pmemobj.create(sys.argv[1], pool_size=32 << 20)
pool.root = pool.new(pmemobj.PersistentSortedDict, {k: str(k) for k in range(0, 20000, 2)})
d = pool.root
with pool.transaction():
    d.update({k: "odd" for k in range(1, 20000, 2)})      # splits everywhere
    for k in range(0, 20000, 4):                          # merges and borrows
        del d[k]
    d.clear()
    print("in transaction", flush=True)
    time.sleep(60)
""", path)
    child.expect("in transaction")
    child.kill()
    pool = pmemobj.open(path)
    try:
        d = pool.root
        assert list(d.items()) == [(k, str(k)) for k in range(0, 20000, 2)]
        assert pool.check()["ok"]
        _, counts = pool.gc()
        assert counts["collected"] == 0
    finally:
        pool.close()


def test_salvage_and_dump_know_the_sorted_dict(pool_dir):
    import json
    import subprocess
    import sys
    src, dst = str(pool_dir / "src.pool"), str(pool_dir / "dst.pool")
    pool = pmemobj.create(src, pool_size=16 << 20)
    shared = pool.new(pmemobj.PersistentList, [1])
    pool.root = pool.new(PSD, {3: shared, 1: "a", 2: shared})
    pool.close()
    assert pmemobj.salvage(src, dst) == []
    with pmemobj.open(dst, flag="r") as out:
        d = out.root
        assert type(d) is PSD and list(d) == [1, 2, 3] and d[2] is d[3]
    dump = subprocess.run([sys.executable, "-m", "pmemobj", "dump", src, "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(dump.stdout)["PersistentSortedDict"][0] == [1, "a"]


def test_resize_keeps_the_sorted_dict(pool_dir):
    path = str(pool_dir / "grow.pool")
    pool = pmemobj.create(path, pool_size=16 << 20)
    pool.root = pool.new(PSD, {("k", i): i for i in range(3000)})
    pool.close()
    pmemobj.resize(path, 32 << 20)
    with pmemobj.open(path) as pool:
        d = pool.root
        assert type(d) is PSD and list(d.items()) == [(("k", i), i) for i in range(3000)]
        assert pool.check()["ok"]
