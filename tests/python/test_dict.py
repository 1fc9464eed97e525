"""PersistentDict: the dict API against the builtin, dict's key equality
(1, 1.0 and True are one key) with hashes that are stable across processes,
live views, errors as dict raises them, transactions that roll back dict
changes (resizes included), a crash in the middle of a growing transaction,
and a hypothesis state machine that drives a PersistentDict and a dict with
the same operations, reopening the pool along the way."""

import math
import os
import shutil
import tempfile
import time
from collections.abc import ItemsView, KeysView, MutableMapping, ValuesView
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

import pmemobj
from pmemobj import (PersistentDict, PersistentFrozenSet, PersistentList,
                     PersistentSet)
from helpers import same


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


def new(pool, *args, **kw):
    return pool.new(PersistentDict, *args, **kw)


def assert_same_items(pd, d):
    """Same items in the same order, keys of the same types."""
    got, want = list(pd.items()), list(d.items())
    assert len(pd) == len(d)
    assert len(got) == len(want)
    for (gk, gv), (wk, wv) in zip(got, want):
        assert same(gk, wk), (gk, wk)
        assert gv == wv, (gk, gv, wv)


# --- construction --------------------------------------------------------------

def test_construction_like_dict(pool):
    assert dict(new(pool)) == {}
    assert new(pool, {1: "a", "b": 2}) == {1: "a", "b": 2}
    assert new(pool, [(1, 2), ("x", "y")]) == {1: 2, "x": "y"}
    assert new(pool, a=1, b=2) == {"a": 1, "b": 2}
    assert new(pool, {"a": 0, "z": 9}, a=1) == {"a": 1, "z": 9}
    assert new(pool, [("k", 1), ("k", 2)]) == {"k": 2}
    src = new(pool, {3: 4})
    assert new(pool, src) == {3: 4}
    assert new(pool, zip("abc", range(3))) == {"a": 0, "b": 1, "c": 2}

    class Mapping:   # anything with keys() and __getitem__
        def keys(self):
            return ["p", "q"]

        def __getitem__(self, k):
            return k * 2
    assert new(pool, Mapping()) == {"p": "pp", "q": "qq"}
    # __init__ updates, as dict's does
    d = new(pool, {1: 1})
    d.__init__({2: 2})
    assert d == {1: 1, 2: 2}


def test_construction_errors_like_dict(pool):
    for bad in ([1], [(1, 2, 3)], 5, [[1, 2], "abc"]):
        with pytest.raises(Exception) as want:
            dict(bad)
        with pytest.raises(type(want.value)) as got:
            new(pool, bad)
        assert str(got.value) == str(want.value)
    with pytest.raises(TypeError):
        new(pool, {}, {})


def test_direct_instantiation_refused():
    with pytest.raises(TypeError, match="pool.new"):
        PersistentDict()


def test_abc_registration(pool):
    d = new(pool, {1: 2})
    assert isinstance(d, MutableMapping)
    assert isinstance(d.keys(), KeysView)
    assert isinstance(d.values(), ValuesView)
    assert isinstance(d.items(), ItemsView)


# --- the dict API, against the builtin -----------------------------------------

def test_basic_operations_match_dict(pool):
    d, pd = {}, new(pool)
    for i in range(300):
        d[i] = pd[i] = str(i)
    for i in range(0, 300, 3):
        del d[i]
        del pd[i]
    for i in range(0, 300, 7):
        d[i] = pd[i] = ("again", i)
    assert_same_items(pd, d)
    assert pd == d and d == pd and not (pd != d)
    assert pd[7] == ("again", 7) and pd[8] == "8"
    assert 3 not in pd and 4 in pd
    assert pd.get(3) is None and pd.get(3, "x") == "x" and pd.get(4) == "4"
    assert pd.pop(4) == d.pop(4)
    assert pd.pop(4, "gone") == "gone"
    assert pd.setdefault(5, "new") == d.setdefault(5, "new") == "5"
    assert pd.setdefault(1000, "new") == d.setdefault(1000, "new") == "new"
    assert pd.setdefault(1001) is None and d.setdefault(1001) is None
    assert_same_items(pd, d)
    assert list(reversed(pd)) == list(reversed(d))
    assert len(pd) == len(d)


def test_popitem_is_lifo(pool):
    d = {i: -i for i in range(50)}
    pd = new(pool, d)
    del d[49], pd[49]
    d[100] = pd[100] = 1
    while d:
        assert pd.popitem() == d.popitem()
    with pytest.raises(KeyError, match="popitem"):
        pd.popitem()
    pd["x"] = 1
    assert pd.popitem() == ("x", 1)


def test_update_forms(pool):
    pd, d = new(pool, {1: 1}), {1: 1}
    for args, kw in [(({2: 2},), {}), (([(3, 3), (1, "one")],), {}), ((), {"k": "w"}),
                     (({4: 4},), {"k": "v"}), ((new(pool, {5: 5}),), {})]:
        pd.update(*args, **kw)
        d.update(*args, **kw)
        assert_same_items(pd, d)
    assert pd.update() is None
    with pytest.raises(TypeError):
        pd.update({}, {})
    with pytest.raises(TypeError, match="cannot convert dictionary update sequence element #0"):
        pd.update([1])
    # a failed update changes nothing (all of it or nothing: one transaction)
    with pytest.raises(TypeError, match="Don't know how to persist"):
        pd.update([(10, 10), (11, object())])
    assert 10 not in pd
    assert_same_items(pd, d)


def test_copy_fromkeys_or(pool):
    pd = new(pool, {1: "a", 2: ("b",)})
    c = pd.copy()
    assert type(c) is PersistentDict and c == pd and c is not pd
    c[3] = "c"
    assert 3 not in pd
    assert c._p_pool is pool

    f = pd.fromkeys("abc")
    assert type(f) is PersistentDict and f == dict.fromkeys("abc")
    assert list(f) == ["a", "b", "c"]
    f = pd.fromkeys(range(3), 0)
    assert f == {0: 0, 1: 0, 2: 0}
    f = PersistentDict.fromkeys([1, 2], "v", pool=pool)
    assert f == {1: "v", 2: "v"} and f._p_pool is pool
    with pytest.raises(TypeError, match="pool"):
        PersistentDict.fromkeys([1])

    u = pd | {2: "B", 9: 9}
    assert type(u) is PersistentDict and u == {1: "a", 2: "B", 9: 9}
    assert list(u) == [1, 2, 9]
    r = {0: 0, 1: "x"} | pd
    assert type(r) is PersistentDict and r == {0: 0, 1: "a", 2: ("b",)}
    assert list(r) == [0, 1, 2]
    assert pd | pd == pd
    with pytest.raises(TypeError):
        pd | [(1, 2)]
    before = pd
    pd |= [(7, 7)]
    pd |= {8: 8}
    assert pd is before and pd == {1: "a", 2: ("b",), 7: 7, 8: 8}


def test_equality(pool):
    pd = new(pool, {1: [2] and (2,), "x": None})
    assert pd == {1: (2,), "x": None}
    assert pd == {"x": None, 1: (2,)}          # order does not matter
    assert pd != {1: (2,)}
    assert pd != {1: (3,), "x": None}
    assert pd != {1: (2,), "y": None}
    assert pd == new(pool, {"x": None, 1: (2,)})
    assert (pd == [1]) is False and (pd != 5) is True
    with pytest.raises(TypeError):
        pd < {}
    assert pd == pd


def test_repr(pool):
    pd = new(pool)
    assert repr(pd) == "{}"
    pd.update({1: "a", "b": (1, 2), None: 1.5})
    assert repr(pd) == repr({1: "a", "b": (1, 2), None: 1.5})
    pd["self"] = pd
    assert repr(pd) == "{1: 'a', 'b': (1, 2), None: 1.5, 'self': {...}}"
    assert str(pd) == repr(pd)
    pd.clear()


def test_clear(pool):
    pd = new(pool, {i: str(i) for i in range(100)})
    pd.clear()
    assert len(pd) == 0 and pd == {} and list(pd) == []
    pd[1] = 2
    assert pd == {1: 2}


def test_class_getitem():
    assert PersistentDict[int, str].__origin__ is PersistentDict


# --- keys ------------------------------------------------------------------------

def test_numeric_keys_are_one_key(pool):
    d, pd = {}, new(pool)
    for k, v in [(1, "int"), (1.0, "float"), (True, "bool"), (1 + 0j, "complex"),
                 (0, "zero"), (-0.0, "negzero"), (False, "false"), (2 ** 70, "big"),
                 (float(2 ** 70), "bigfloat"), (0.5, "half")]:
        d[k] = v
        pd[k] = v
    assert_same_items(pd, d)
    assert len(pd) == 4
    assert type(next(iter(pd))) is int          # the first form stays
    for k in (1, 1.0, True, 1 + 0j, 0, 0.0, False, -0.0, 2 ** 70, float(2 ** 70), 0.5):
        assert pd[k] == d[k]
        assert k in pd
    assert 2 not in pd and 2 ** 71 not in pd and 0.25 not in pd
    del pd[True]
    assert 1 not in pd and 1.0 not in pd
    pool.root = pd
    pool = reopen(pool)
    try:
        pd = pool.root
        assert pd[0.0] == "false" and pd[2 ** 70] == "bigfloat"
        assert list(pd) == [0, 2 ** 70, 0.5]
    finally:
        pool.close()


def test_value_keys_of_every_storable_type(pool):
    keys = [None, True, 0, -1, 2 ** 63, -(2 ** 64) - 5, 3.25, float("inf"), -float("inf"),
            2 + 3j, "", "str", "ünïcödé ☃", "\udc80lone\ud800", b"", b"bytes\x00",
            (), (1, "a", (b"x", None)), ((1, 2), (3, (4, 5))), frozenset(), frozenset({1, "a"}),
            (frozenset({(1, 2)}), 1.5), "x" * 10_000]
    pd = new(pool)
    for i, k in enumerate(keys):
        pd[k] = i
    assert len(pd) == len(keys)
    for i, k in enumerate(keys):
        assert pd[k] == i
        assert k in pd
    for got, want in zip(pd, keys):
        assert same(got, want)
    # equal values of other forms find the same entries
    assert pd[(1.0, "a", (b"x", None))] == keys.index((1, "a", (b"x", None)))
    assert pd[frozenset({"a", True})] == keys.index(frozenset({1, "a"}))
    assert pd[2 + 3j] == keys.index(2 + 3j)
    assert pd[2.0 ** 63] == keys.index(2 ** 63)
    assert ("str",) not in pd and b"str" not in pd and "bytes\x00" not in pd


def test_keys_found_after_reopen(pool_path):
    keys = ["a", "ü", "\ud800", b"b", (1, "x"), frozenset({"f", 1}), 10 ** 30, 1.5, None,
            2j, ("nested", ("t", b"u"))]
    pool = pmemobj.create(pool_path)
    try:
        pd = new(pool, {k: i for i, k in enumerate(keys)})
        pd.update({i: str(i) for i in range(1000)})   # several resizes
        pool.root = pd
        pool = reopen(pool)
        pd = pool.root
        for i, k in enumerate(keys):
            assert pd[k] == i
        for i in range(1000):
            assert pd[i] == str(i)
        pd["after"] = 1
        del pd["a"]
        pool = reopen(pool)
        pd = pool.root
        assert "a" not in pd and pd["after"] == 1 and pd[(1, "x")] == 4
    finally:
        pool.close()


def test_stable_hashing_across_processes(pool_path, run_py, monkeypatch):
    """A new interpreter (with another str hash seed) finds every key."""
    monkeypatch.setenv("PYTHONHASHSEED", "1")
    run_py("""
        import sys, pmemobj
        pool = pmemobj.create(sys.argv[1])
        keys = ["k%d" % i for i in range(500)] + [b"b%d" % i for i in range(100)]
        keys += [("t", i, "u") for i in range(100)] + [frozenset({"s", i}) for i in range(50)]
        d = pool.new(pmemobj.PersistentDict, {k: i for i, k in enumerate(keys)})
        d[pool.new(pmemobj.PersistentFrozenSet, ["pf", 1])] = "pfs"
        pool.root = d
        pool.close()
    """, pool_path)
    monkeypatch.setenv("PYTHONHASHSEED", "2")
    proc = run_py("""
        import sys, pmemobj
        pool = pmemobj.open(sys.argv[1])
        d = pool.root
        keys = ["k%d" % i for i in range(500)] + [b"b%d" % i for i in range(100)]
        keys += [("t", i, "u") for i in range(100)] + [frozenset({"s", i}) for i in range(50)]
        assert all(d[k] == i for i, k in enumerate(keys))
        assert d[frozenset(["pf", 1])] == "pfs"
        assert "k500" not in d
        print("ok", len(d))
        pool.close()
    """, pool_path)
    assert proc.stdout.split() == ["ok", "751"]


def test_nan_keys_like_fresh_nan_objects(pool):
    """A stored NaN is a value, not an object: like dict given a new NaN
    object each time, lookups never find it (nan != nan)."""
    pd = new(pool)
    nan = float("nan")
    pd[nan] = 1
    pd[nan] = 2
    assert len(pd) == 2
    assert nan not in pd
    assert all(math.isnan(k) for k in pd)
    assert sorted(pd.values()) == [1, 2]


def test_persistent_objects_as_keys(pool):
    fs = pool.new(PersistentFrozenSet, [1, "a"])
    pd = new(pool, {fs: "pfs"})
    assert pd[fs] == "pfs"
    assert pd[frozenset({1, "a"})] == "pfs"       # equal content, same key
    assert frozenset({"a", 1}) in pd
    pd[frozenset({1, "a"})] = "updated"
    assert len(pd) == 1 and pd[fs] == "updated"
    assert next(iter(pd)) is fs                 # the stored key is the object
    other = pool.new(PersistentFrozenSet, [2])
    assert other not in pd
    pd2 = new(pool, {frozenset({2}): "plain"})
    assert pd2[other] == "plain"
    pool.root = pd
    del fs, pd
    pool = reopen(pool)
    try:
        pd = pool.root
        assert pd[frozenset({1, "a"})] == "updated"
        (k,) = pd
        assert type(k) is PersistentFrozenSet and pd[k] == "updated"
    finally:
        pool.close()


def test_persistent_objects_are_keys_by_identity(pool):
    """PersistentObject instances and objects of persistent types written in
    Python are keys by identity (a hash of their place in the pool)."""
    pytest.importorskip("persistent_types")
    from persistent_types import Int64Array, Node
    a, b = pool.new(Node, "same"), pool.new(Node, "same")
    arr = pool.new(Int64Array, 2)
    pd = new(pool, {a: 1, b: 2, arr: 3})
    assert len(pd) == 3 and pd[a] == 1 and pd[b] == 2 and pd[arr] == 3
    pd[a] = "one"
    assert len(pd) == 3 and pool.new(Node, "same") not in pd
    pool.root = (pd, a, arr)
    del pd, a, b, arr
    pool = reopen(pool)
    try:
        pd, a, arr = pool.root
        assert pd[a] == "one" and pd[arr] == 3
        keys = list(pd)
        assert keys[0] is a and keys[2] is arr and type(keys[1]) is Node
        del pd[a]
        assert a not in pd and len(pd) == 2
    finally:
        pool.close()


@pytest.mark.skipif(not hasattr(pmemobj, "PersistentTuple"), reason="no PersistentTuple")
def test_persistent_tuple_keys(pool):
    PT = pmemobj.PersistentTuple
    t = pool.new(PT, (1, "a", (2,)))
    pd = new(pool, {t: "pt"})
    assert pd[(1, "a", (2,))] == "pt" and pd[t] == "pt" and pd[(1.0, "a", (2,))] == "pt"
    assert next(iter(pd)) is t
    pd[(1, "a", (2,))] = "updated"
    assert len(pd) == 1 and pd[t] == "updated"
    pd2 = new(pool, {(1, "a", (2,)): "plain"})
    assert pd2[t] == "plain"
    holder = pool.new(PT, (pool.new(PersistentList),))
    with pytest.raises(TypeError, match="unhashable"):
        pd[holder] = 1
    ps = pool.new(PersistentSet, [t])
    assert (1, "a", (2,)) in ps


@dataclass(frozen=True)
class Pt:
    x: int
    y: int


def test_pickled_keys(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.persist_via_pickle(Pt)
        pd = new(pool, {Pt(1, 2): "a", (Pt(3, 4), 5): "b"})
        assert pd[Pt(1, 2)] == "a" and pd[(Pt(3, 4), 5)] == "b"
        assert Pt(2, 1) not in pd
        pd[Pt(1, 2)] = "A"
        assert len(pd) == 2
        pool.root = pd
        pool = reopen(pool)
        pool.persist_via_pickle(Pt)
        pd = pool.root
        assert pd[Pt(1, 2)] == "A" and pd[(Pt(3, 4), 5)] == "b"
        assert list(pd) == [Pt(1, 2), (Pt(3, 4), 5)]
    finally:
        pool.close()


def test_subclass_keys_are_looked_up_as_their_base(pool):
    class S(str):
        pass

    class I(int):
        pass
    pd = new(pool, {"s": 1, 5: 2})
    assert pd[S("s")] == 1 and pd[I(5)] == 2 and S("t") not in pd
    with pytest.raises(TypeError, match="Don't know how to persist"):
        pd[S("new")] = 1
    assert object() not in pd
    assert pd.get(object(), "dflt") == "dflt"


# --- errors ------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda pool: [1], lambda pool: {}, lambda pool: set(), lambda pool: bytearray(b"x"),
    lambda pool: (1, [2]), lambda pool: pool.new(PersistentList),
    lambda pool: pool.new(PersistentDict), lambda pool: pool.new(PersistentSet),
])
def test_unhashable_keys(pool, make):
    key = make(pool)
    with pytest.raises(TypeError) as want:
        {}[key] = 1
    pd = new(pool, {1: 1})
    for op in (lambda: pd.__setitem__(key, 1), lambda: pd[key], lambda: key in pd,
               lambda: pd.get(key), lambda: pd.pop(key, None), lambda: pd.__delitem__(key),
               lambda: pd.setdefault(key), lambda: pd.update([(key, 1)])):
        with pytest.raises(TypeError) as got:
            op()
        assert str(got.value).startswith("unhashable type")
        assert str(got.value) == str(want.value) or type(key).__name__ in str(got.value)
    assert pd == {1: 1}


def test_missing_keys(pool):
    pd = new(pool, {1: 1, (2, 3): 4})
    with pytest.raises(KeyError) as info:
        pd["nope"]
    assert info.value.args == ("nope",)
    with pytest.raises(KeyError) as info:
        del pd[(5, 6)]
    assert info.value.args == ((5, 6),)
    with pytest.raises(KeyError):
        pd.pop(2)
    with pytest.raises(KeyError):
        pd.popitem() if False else new(pool).popitem()
    assert pd == {1: 1, (2, 3): 4}


def test_unstorable_values_and_keys(pool, pool_path):
    pd = new(pool, {1: 1})
    with pytest.raises(TypeError, match="Don't know how to persist object"):
        pd[2] = object()
    with pytest.raises(TypeError, match="Don't know how to persist"):
        pd[object()] = 1
    with pytest.raises(TypeError, match="Don't know how to persist bytearray"):
        pd.setdefault(3, [bytearray()])
    assert pd == {1: 1}
    other = pmemobj.create(pool_path + ".other")
    try:
        foreign = other.new(PersistentList, [1])
        with pytest.raises(ValueError, match="one pool"):
            pd[3] = foreign
        ofs = other.new(PersistentFrozenSet, [1])
        with pytest.raises(ValueError, match="one pool"):
            pd[ofs] = 1
        assert pd == {1: 1}
        pd[frozenset({1})] = "fs"
        assert pd[ofs] == "fs"          # lookups by content still work
    finally:
        other.close()


def test_mutation_during_iteration(pool):
    pd = new(pool, {i: i for i in range(10)})
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        for k in pd:
            pd[k + 100] = 1
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        for k in pd.values():
            del pd[next(iter(pd))]
    it = iter(pd.items())
    next(it)
    pd.popitem()
    with pytest.raises(RuntimeError):
        next(it)
    with pytest.raises(RuntimeError):   # stays broken, as dict's do
        next(it)
    # same size, different keys
    it = iter(pd)
    next(it)
    k = next(iter(pd))
    del pd[k]
    pd["new"] = 1
    with pytest.raises(RuntimeError, match="dictionary keys changed during iteration"):
        list(it)
    # changing values is fine
    for k in pd:
        pd[k] = "v"
    assert set(pd.values()) == {"v"}


def test_closed_pool(pool_path):
    pool = pmemobj.create(pool_path)
    pd = new(pool, {1: 1})
    keys = pd.keys()
    it = iter(pd)
    pool.close()
    for op in (lambda: pd[1], lambda: pd.__setitem__(1, 2), lambda: len(pd), lambda: list(keys),
               lambda: next(it), lambda: 1 in pd, lambda: repr(pd), lambda: pd.copy()):
        with pytest.raises(ValueError, match="closed"):
            op()


class Evil:
    """A pickled key whose __eq__ changes the dict it is compared in."""
    victim = None

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        return 1

    def __eq__(self, other):
        if Evil.victim is not None and isinstance(other, Evil):
            d, Evil.victim = Evil.victim, None
            d["added-by-eq"] = 1
        if isinstance(other, Evil) and other.n == -1:
            raise ValueError("eq failed")
        return isinstance(other, Evil) and other.n == self.n


def test_eq_that_mutates_or_raises(pool):
    pool.persist_via_pickle(Evil)
    pd = new(pool, {Evil(1): "one", Evil(2): "two"})
    Evil.victim = pd
    assert pd[Evil(2)] == "two"               # the lookup starts over
    assert pd["added-by-eq"] == 1
    pd[Evil(-1)] = "minus"
    with pytest.raises(ValueError, match="eq failed"):
        Evil(-1) in pd
    # a fast-path key never runs Python code
    assert pd["added-by-eq"] == 1


class Clearer:
    """A pickled key whose unpickling clears the dict being read."""
    target = None

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        return self.n

    def __eq__(self, other):
        return isinstance(other, Clearer) and other.n == self.n

    def __setstate__(self, state):
        self.__dict__.update(state)
        if Clearer.target is not None:
            d, Clearer.target = Clearer.target, None
            d.clear()


def test_loading_a_key_that_changes_the_dict(pool):
    pool.persist_via_pickle(Clearer)
    pd = new(pool, {Clearer(1): ("value", 1), "b": "v2"})
    Clearer.target = pd
    with pytest.raises(RuntimeError, match="changed"):
        list(pd.items())
    assert len(pd) == 0
    pd.update({Clearer(2): ("value", 2), "c": 3})
    Clearer.target = pd
    with pytest.raises(RuntimeError, match="changed"):
        list(pd.items())
    assert pool.gc()[1]["collected"] == 0


# --- views ---------------------------------------------------------------------------

def test_views(pool):
    d = {i: str(i) for i in range(6)}
    pd = new(pool, d)
    k, v, it = pd.keys(), pd.values(), pd.items()
    assert len(k) == len(v) == len(it) == 6
    assert list(k) == list(d.keys()) and list(v) == list(d.values())
    assert list(it) == list(d.items())
    assert list(reversed(k)) == list(reversed(d.keys()))
    assert list(reversed(v)) == list(reversed(d.values()))
    assert list(reversed(it)) == list(reversed(d.items()))
    assert 3 in k and 9 not in k and "3" in v and "9" not in v
    assert (3, "3") in it and (3, "4") not in it and 3 not in it and (3,) not in it
    # live
    pd[10] = "ten"
    assert 10 in k and len(v) == 7 and (10, "ten") in it
    del pd[10]
    # set operations (plain sets, as dict views give)
    dk = d.keys()
    for other in ({1, 2, 99}, [1, 2, 99], d.keys(), {0: 0}.keys()):
        assert k & other == dk & other
        assert k | other == dk | other
        assert k - other == dk - other
        assert k ^ other == dk ^ other
    assert {1, 99} & k == {1}
    assert {1, 99} - k == {99}
    assert it & {(1, "1"), (2, "x")} == {(1, "1")}
    assert k == set(range(6)) and k == d.keys() and k != {1} and (k == [0]) is False
    assert k <= set(range(7)) and k < set(range(7)) and not k > set(range(7))
    assert it == d.items()
    assert k.isdisjoint({100, 200}) and not k.isdisjoint([5])
    assert it.isdisjoint([(1, "x")]) and not it.isdisjoint([(1, "1")])
    assert k.mapping[2] == "2" and v.mapping is not None
    assert repr(k) == "PersistentDict_keys([0, 1, 2, 3, 4, 5])"
    assert repr(it).startswith("PersistentDict_items([(0, '0')")
    with pytest.raises(TypeError):
        hash(k)


# --- nesting, cycles, references ---------------------------------------------------

def test_nested_values_and_cycles(pool):
    pd = new(pool)
    pd["list"] = pool.new(PersistentList, [1, 2])
    pd["dict"] = new(pool, {"inner": (1, 2)})
    pd["set"] = pool.new(PersistentSet, {1, 2})
    pd["self"] = pd
    pd["dict"]["back"] = pd
    pool.root = pd
    pool = reopen(pool)
    try:
        pd = pool.root
        assert pd["self"] is pd and pd["dict"]["back"] is pd
        assert pd["list"] == [1, 2] and pd["set"] == {1, 2}
        pool.root = None
        del pd
        types, counts = pool.gc()
        assert counts["cycles"] >= 2 and types.get("PersistentDict", 0) == 0
        types, counts = pool.gc()
        assert counts["collected"] == 0
    finally:
        pool.close()


def test_values_dropped_are_freed(pool):
    pool.root = pd = new(pool)
    base, _ = pool.gc()
    for i in range(200):
        pd[i] = ("value", str(i))
    pd.update({("k", i): b"v" * i for i in range(100)})
    for i in range(200):
        pd[i] = i                       # replaced values go
    for i in range(100):
        del pd[("k", i)]
    pd.clear()
    types, counts = pool.gc()
    assert counts["collected"] == 0
    assert types == base


# --- transactions ------------------------------------------------------------------

@pytest.fixture
def big_pool(pool_path):
    """64 MiB: one transaction that allocates many distinct sizes takes a
    256 KiB chunk of libpmemobj's heap per size class, more than an 8 MiB
    pool has (raw libpmemobj does the same)."""
    p = pmemobj.create(pool_path, pool_size=64 << 20)
    try:
        yield p
    finally:
        p.close()


def test_transaction_rolls_back_dict_changes(big_pool):
    pool = big_pool
    pool.root = pd = new(pool, {i: i for i in range(5)})
    before, _ = pool.gc()
    with pytest.raises(RuntimeError):
        with pool.transaction():
            for i in range(5, 3000):          # many resizes
                pd[i] = str(i)
            del pd[0]
            pd[1] = "changed"
            pd.popitem()
            pd.update({"x": ("y",)})
            assert len(pd) == 2999
            raise RuntimeError("roll back")
    assert pd == {i: i for i in range(5)}
    assert list(pd) == list(range(5))
    types, counts = pool.gc()
    assert counts["collected"] == 0 and types == before
    with pool.transaction():
        pd.clear()
        pd.update({"a": 1})
    assert pd == {"a": 1}


def test_rolled_back_new_dict(pool):
    with pytest.raises(RuntimeError):
        with pool.transaction():
            pd = new(pool, {1: 2})
            c = pd.copy()
            raise RuntimeError
    with pytest.raises(ValueError, match="rolled back"):
        pd[1]
    with pytest.raises(ValueError, match="rolled back"):
        len(c)


def test_errors_inside_transaction_do_not_abort_it(pool):
    pool.root = pd = new(pool)
    with pool.transaction():
        pd[1] = "kept"
        with pytest.raises(KeyError):
            del pd["missing"]
        with pytest.raises(KeyError):
            pd.pop("missing")
        with pytest.raises(KeyError):
            pd["missing"]
        with pytest.raises(TypeError):
            pd[[1]] = 1
        with pytest.raises(TypeError):
            pd[2] = object()
        pd[2] = "also kept"
    assert pd == {1: "kept", 2: "also kept"}


def test_autocommit_ops_each_one_transaction(pool):
    pool.root = pd = new(pool)
    s0 = pool.stats()
    pd[1] = 1
    pd.update({i: i for i in range(100)})
    del pd[1]
    s1 = pool.stats()
    assert s1["tx_committed"] - s0["tx_committed"] == 3


def test_abort_after_trim_and_reuse(pool):
    """Entries a removal trims off the end and an insert then reuses come
    back whole when the transaction aborts."""
    pool.root = pd = new(pool, {i: str(i) for i in range(4)})
    del pd[1], pd[2]
    before, _ = pool.gc()
    with pytest.raises(ZeroDivisionError):
        with pool.transaction():
            del pd[3]                 # trims back over 1 and 2
            pd.update({"a": "x", "b": "y", "c": "z"})
            1 / 0
    assert list(pd.items()) == [(0, "0"), (3, "3")]
    assert pd[3] == "3" and "a" not in pd
    types, counts = pool.gc()
    assert counts["collected"] == 0 and counts["bad_references"] == 0 and types == before
    with pytest.raises(ZeroDivisionError):
        with pool.transaction():
            pd.popitem()
            pd["n"] = 1
            1 / 0
    assert list(pd.items()) == [(0, "0"), (3, "3")]


# --- crash ----------------------------------------------------------------------------

CHILD_GROW = """
import sys, time, pmemobj
pool = pmemobj.create(sys.argv[1], pool_size=64 << 20)
d = pool.new(pmemobj.PersistentDict, {"c%d" % i: i for i in range(10)})
pool.root = d
print("committed", flush=True)
with pool.transaction():
    for i in range(20000):             # grows through about ten resizes
        d["k%d" % i] = ("v", i)
    del d["c0"]
    print("in transaction", flush=True)
    time.sleep(60)
"""


def test_kill_in_growing_transaction(pool_path, spawn_py):
    child = spawn_py(CHILD_GROW, pool_path)
    child.expect("committed")
    child.expect("in transaction")
    child.kill()
    assert child.proc.returncode < 0
    pool = pmemobj.open(pool_path)
    try:
        assert pool.stats()["gc_freed"] == 0        # nothing orphaned
        d = pool.root
        assert d == {"c%d" % i: i for i in range(10)}
        assert list(d) == ["c%d" % i for i in range(10)]
        types, counts = pool.gc()
        assert counts["collected"] == 0
        assert types == {"PersistentDict": 1}     # the short str keys are inline
        assert counts["substructures"] == 2          # the table, the word log's block
        d["after"] = 1                              # usable
        d.update({i: i for i in range(1000)})
    finally:
        pool.close()


CHILD_AUTOCOMMIT = """
import sys, pmemobj
pool = pmemobj.create(sys.argv[1], pool_size=64 << 20)
d = pool.new(pmemobj.PersistentDict)
pool.root = d
print("ready", flush=True)
i = 0
while True:
    d["k%d" % i] = i
    if i % 3 == 2:
        del d["k%d" % (i - 1)]
    i += 1
"""


def test_kill_during_autocommit_inserts(pool_path, spawn_py):
    """Each autocommitted operation is all or nothing, resizes included."""
    child = spawn_py(CHILD_AUTOCOMMIT, pool_path)
    child.expect("ready")
    time.sleep(0.3)
    child.kill()
    pool = pmemobj.open(pool_path)
    try:
        d = pool.root
        keys = list(d)
        assert keys
        n = max(int(k[1:]) for k in keys)
        # Insert k(i); when i % 3 == 2, delete k(i-1) in a second op.
        # The kill fell after the insert of k(n), before or after the
        # delete that may follow it.
        a = {}
        for i in range(n + 1):
            a["k%d" % i] = i
            if i % 3 == 2 and i < n:
                del a["k%d" % (i - 1)]
        b = dict(a)
        if n % 3 == 2:
            del b["k%d" % (n - 1)]
        assert list(d.items()) in (list(a.items()), list(b.items()))
        assert all(d[k] == int(k[1:]) for k in keys)
        assert pool.gc()[1]["collected"] == 0
    finally:
        pool.close()


# --- stateful ----------------------------------------------------------------------------

KEYS = st.one_of(
    st.integers(-5, 40),
    st.sampled_from([1.0, 2.0, 0.5, -0.0, True, False, None, 2 ** 64, float(2 ** 64)]),
    st.text(alphabet="ab\u00e9\u2603\udc80", max_size=3),
    st.binary(max_size=2),
    st.tuples(st.integers(0, 3), st.text(alphabet="xy", max_size=1)),
    st.frozensets(st.integers(0, 3), max_size=2),
)
VALUES = st.one_of(st.integers(), st.text(max_size=5), st.none(),
                   st.tuples(st.integers(0, 9), st.booleans()))


class DictMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.dir = tempfile.mkdtemp(prefix="pmemobj-dict-", dir="/dev/shm")
        self.path = os.path.join(self.dir, "m.pool")
        self.pool = pmemobj.create(self.path)
        self.pool.root = self.pool.new(PersistentDict)
        self.model = {}

    def teardown(self):
        if hasattr(self, "pool"):
            self.pool.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pd(self):
        return self.pool.root

    @rule(k=KEYS, v=VALUES)
    def set_item(self, k, v):
        self.pd[k] = v
        self.model[k] = v

    @rule(k=KEYS)
    def delete(self, k):
        if k in self.model:
            del self.model[k]
            del self.pd[k]
        else:
            with pytest.raises(KeyError):
                del self.pd[k]

    @rule(k=KEYS, v=VALUES)
    def setdefault(self, k, v):
        assert self.pd.setdefault(k, v) == self.model.setdefault(k, v)

    @rule(k=KEYS)
    def pop(self, k):
        assert self.pd.pop(k, "dflt") == self.model.pop(k, "dflt")

    @precondition(lambda self: self.model)
    @rule()
    def popitem(self):
        got, want = self.pd.popitem(), self.model.popitem()
        assert same(got[0], want[0]) and got[1] == want[1]

    @rule(items=st.lists(st.tuples(KEYS, VALUES), max_size=12))
    def update(self, items):
        self.pd.update(items)
        self.model.update(items)

    @rule(k=KEYS)
    def get(self, k):
        assert self.pd.get(k, "dflt") == self.model.get(k, "dflt")
        assert (k in self.pd) == (k in self.model)

    @rule(items=st.lists(st.tuples(KEYS, VALUES), max_size=30), pops=st.integers(0, 5),
          dels=st.lists(KEYS, max_size=5), clear=st.booleans())
    def aborted_transaction(self, items, pops, dels, clear):
        """Removals (trims of the entries) then inserts reusing them, or a
        clear, all rolled back."""
        with pytest.raises(ZeroDivisionError):
            with self.pool.transaction():
                pd = self.pd
                for _ in range(min(pops, len(pd))):
                    pd.popitem()
                for k in dels:
                    pd.pop(k, None)
                pd.update(items)
                if clear:
                    pd.clear()
                1 / 0

    @rule()
    def clear_sometimes(self):
        if len(self.model) > 40:
            self.pd.clear()
            self.model.clear()

    @rule()
    def reopen(self):
        self.pool.close()
        self.pool = pmemobj.open(self.path)

    @invariant()
    def same_items(self):
        if hasattr(self, "pool"):
            assert_same_items(self.pd, self.model)


TestDictMachine = DictMachine.TestCase
TestDictMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])
