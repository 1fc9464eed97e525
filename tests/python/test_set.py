"""PersistentSet and PersistentFrozenSet: the set and frozenset APIs with
their operators against the builtins, set equality of elements (1, 1.0 and
True are one element) with stable hashes, frozensets as hashable keys,
errors as the builtins raise them, transactions, and a hypothesis state
machine that drives a PersistentSet and a set with the same operations,
reopening the pool along the way."""

import os
import shutil
import tempfile
from collections.abc import MutableSet, Set

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import pmemobj
from pmemobj import PersistentDict, PersistentFrozenSet, PersistentList, PersistentSet


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


def pset(pool, *args):
    return pool.new(PersistentSet, *args)


def pfset(pool, *args):
    return pool.new(PersistentFrozenSet, *args)


# --- construction and basics ------------------------------------------------------

def test_construction(pool):
    assert set(pset(pool)) == set()
    assert set(pset(pool, [1, 2, 2, "a"])) == {1, 2, "a"}
    assert set(pset(pool, "abca")) == {"a", "b", "c"}
    assert set(pset(pool, {1: 2, 3: 4})) == {1, 3}
    assert set(pset(pool, pset(pool, [5]))) == {5}
    assert set(pfset(pool, range(5))) == set(range(5))
    s = pset(pool, [1])
    s.__init__([2, 3])        # set.__init__ replaces the content
    assert s == {2, 3}
    with pytest.raises(TypeError):
        pset(pool, 5)
    with pytest.raises(TypeError):
        PersistentSet()
    assert isinstance(s, MutableSet) and isinstance(pfset(pool), Set)
    assert not isinstance(pfset(pool), MutableSet)


def test_frozenset_is_immutable(pool):
    f = pfset(pool, [1, 2])
    for name in ("add", "remove", "discard", "pop", "clear", "update",
                 "difference_update", "intersection_update", "symmetric_difference_update"):
        assert not hasattr(f, name)
    f.__init__([3])           # ignored, as frozenset.__init__ is
    assert f == {1, 2}
    f.__init__()
    g = pfset(pool)
    g.__init__([1])           # only pool.new's __init__ fills
    assert g == frozenset()
    g = PersistentFrozenSet._p_new_in(pool)
    pool.root = g             # referred to before it was filled: may not be
    with pytest.raises(TypeError, match="immutable"):
        g.__init__([1])
    before = f
    f |= {3}                  # rebinds, as with frozenset
    assert f == {1, 2, 3} and type(f) is PersistentFrozenSet and before == {1, 2}
    assert f.copy() is f


def test_basic_api_against_builtin(pool):
    s, ps = set(), pset(pool)
    for i in range(200):
        s.add(i % 70)
        ps.add(i % 70)
    assert ps == s and len(ps) == len(s) == 70
    for i in range(0, 70, 3):
        s.remove(i)
        ps.remove(i)
    for i in range(0, 100, 2):
        s.discard(i)
        ps.discard(i)
    assert ps == s and set(ps) == s
    assert all(x in ps for x in s) and 0 not in ps and 1000 not in ps
    while s:
        x = ps.pop()
        s.remove(x)
    assert len(ps) == 0 and ps == set()
    with pytest.raises(KeyError, match="pop from an empty set"):
        ps.pop()
    with pytest.raises(KeyError) as info:
        ps.remove((1, 2))
    assert info.value.args == ((1, 2),)
    ps.update([1, 2], {3}, pset(pool, [4]), "a")
    assert ps == {1, 2, 3, 4, "a"}
    ps.clear()
    assert ps == set()


def test_numeric_elements_are_one(pool):
    ps = pset(pool, [1, 1.0, True, 1 + 0j, 0, -0.0, False, 2 ** 70, float(2 ** 70)])
    assert len(ps) == 3
    assert sorted(type(x).__name__ for x in ps) == ["int", "int", "int"]
    for x in (1, 1.0, True, 0.0, 2 ** 70, float(2 ** 70)):
        assert x in ps
    ps.discard(True)
    assert 1 not in ps


def test_elements_of_every_storable_type_and_reopen(pool_path):
    elems = [None, True, -7, 2 ** 65, 3.5, 1 + 2j, "s", "\udc80x", b"b", (1, ("t", b"u")),
             frozenset({1, "f"}), (), frozenset()]
    pool = pmemobj.create(pool_path)
    try:
        ps = pset(pool, elems)
        fs = pfset(pool, elems)
        pool.root = (ps, fs)
        pool = reopen(pool)
        ps, fs = pool.root
        for x in elems:
            assert x in ps and x in fs
        assert ps == set(elems) and fs == frozenset(elems)
        assert "\udc80" not in ps and (1, ("t", "u")) not in ps
    finally:
        pool.close()


def test_set_in_set_means_frozenset(pool):
    ps = pset(pool, [frozenset({1, 2}), frozenset()])
    assert {1, 2} in ps and set() in ps and pset(pool, [2, 1]) in ps
    ps.remove({1, 2})
    assert frozenset({1, 2}) not in ps
    ps.discard(set())
    assert len(ps) == 0
    ps.add(frozenset({3}))
    with pytest.raises(TypeError, match="unhashable type: 'set'"):
        ps.difference_update([{3}])         # as set's does
    assert len(ps) == 1


# --- algebra -------------------------------------------------------------------------

A = {1, 2, 3, "x", (1, 2)}
B = {3, 4, "x", "y", (1, 2.0)}


@pytest.mark.parametrize("op", ["__or__", "__and__", "__sub__", "__xor__"])
@pytest.mark.parametrize("kind", [PersistentSet, PersistentFrozenSet])
def test_operators(pool, op, kind):
    pa = pool.new(kind, A)
    want = getattr(A, op)(B)
    for other in (B, frozenset(B), pset(pool, B), pfset(pool, B)):
        got = getattr(pa, op)(other)
        assert type(got) is kind and got == want and got._p_pool is pool
    # reflected: the plain set on the left decides the kind, as set | frozenset
    # is a set and frozenset | set a frozenset; the pool is the persistent one's
    rop = "__r" + op[2:]
    got = getattr(B, op)(pa)
    assert got is NotImplemented
    for left, want_kind in ((B, PersistentSet), (frozenset(B), PersistentFrozenSet)):
        got = getattr(pa, rop)(left)
        assert type(got) is want_kind and got == getattr(B, op)(A) and got._p_pool is pool
    assert getattr(pa, op)([1]) is NotImplemented
    with pytest.raises(TypeError):
        eval("pa " + {"__or__": "|", "__and__": "&", "__sub__": "-", "__xor__": "^"}[op] + " [1]")


@pytest.mark.parametrize("kind", [PersistentSet, PersistentFrozenSet])
def test_methods(pool, kind):
    pa = pool.new(kind, A)
    fa = frozenset(A)
    for name in ("union", "intersection", "difference"):
        for args in ((), (B,), (B, [1, "z"]), (list(B), pset(pool, [2]))):
            got = getattr(pa, name)(*args)
            assert type(got) is kind and got == getattr(fa, name)(*args)
    got = pa.symmetric_difference(list(B))
    assert type(got) is kind and got == fa.symmetric_difference(B)
    for other in (B, A, set(), {1, 2}, A | B, pset(pool, A), [1, 2], iter([1])):
        o = set(other) if not isinstance(other, (set, type(pa))) else other
        assert pa.issubset(o) == fa.issubset(o)
        assert pa.issuperset(o) == fa.issuperset(o)
        assert pa.isdisjoint(o) == fa.isdisjoint(o)


def test_inplace_operators(pool):
    for op in ("|=", "&=", "-=", "^="):
        for other in (B, frozenset(B), pset(pool, B), pfset(pool, B)):
            s, ps = set(A), pset(pool, A)
            keep = ps
            exec(f"s {op} other", {}, {"s": s, "other": set(other)})
            ns = {"ps": ps, "other": other}
            exec(f"ps {op} other", {}, ns)
            assert ns["ps"] is keep and keep == s
        with pytest.raises(TypeError):
            exec(f"ps {op} [1]", {}, {"ps": pset(pool, A)})
    ps = pset(pool, A)
    ps -= ps
    assert ps == set()
    ps = pset(pool, A)
    ps ^= ps
    assert ps == set()
    ps = pset(pool, A)
    ps &= ps
    ps |= ps
    assert ps == A


def test_update_methods(pool):
    s, ps = set(A), pset(pool, A)
    for name, args in [("update", (B, [9])), ("intersection_update", (A | B, [1, 2, 3, 9, "x"])),
                       ("difference_update", ([1], {2})),
                       ("symmetric_difference_update", ([3, 4, 4],)),
                       ("update", ()), ("intersection_update", ())]:
        getattr(s, name)(*args)
        assert getattr(ps, name)(*args) is None
        assert ps == s


def test_comparisons(pool):
    ps = pset(pool, [1, 2])
    fs = pfset(pool, [1, 2])
    for other in ({1, 2}, {1}, {1, 2, 3}, set(), frozenset({1, 2}), pset(pool, [1, 2]),
                  pfset(pool, [1, 2, 3])):
        o = set(other)
        for a in (ps, fs):
            assert (a == other) == ({1, 2} == o)
            assert (a != other) == ({1, 2} != o)
            assert (a < other) == ({1, 2} < o)
            assert (a <= other) == ({1, 2} <= o)
            assert (a > other) == ({1, 2} > o)
            assert (a >= other) == ({1, 2} >= o)
    assert {1, 2} == ps and frozenset({1, 2}) == fs and ps == fs
    assert (ps == [1, 2]) is False and (ps != (1, 2)) is True
    with pytest.raises(TypeError):
        ps < [1, 2]


def test_frozenset_hash_and_keys(pool):
    for items in ([], [1], [1, 2, 3], ["a", "b"], [(1, 2), None, 2.5], list(range(100))):
        f = pfset(pool, items)
        assert hash(f) == hash(frozenset(items))
    f = pfset(pool, ["a", 1])
    d = {f: "v"}
    assert d[frozenset(["a", 1])] == "v"            # meets frozensets in dicts
    assert {frozenset(["a", 1]): "w"}[f] == "w"
    ps = pset(pool, [f])
    assert frozenset(["a", 1]) in ps and f in ps
    ps.add(frozenset([1, "a"]))
    assert len(ps) == 1
    pd = pool.new(PersistentDict, {f: 1})
    assert pd[frozenset({1, "a"})] == 1
    with pytest.raises(TypeError, match="unhashable"):
        hash(pset(pool))


def test_repr(pool):
    assert repr(pset(pool)) == "set()"
    assert repr(pfset(pool)) == "frozenset()"
    assert repr(pset(pool, [1])) == "{1}"
    assert repr(pfset(pool, ["a"])) == "frozenset({'a'})"
    r = repr(pset(pool, [1, "b", (2,)]))
    assert r.startswith("{") and r.endswith("}") and eval(r) == {1, "b", (2,)}
    assert eval(repr(pfset(pool, [1, 2]))) == frozenset({1, 2})


def test_copy(pool):
    ps = pset(pool, [1, "x"])
    c = ps.copy()
    assert type(c) is PersistentSet and c == ps and c is not ps
    c.add(2)
    assert 2 not in ps


def test_class_getitem():
    assert PersistentSet[int].__origin__ is PersistentSet
    assert PersistentFrozenSet[int].__origin__ is PersistentFrozenSet


# --- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda pool: [1], lambda pool: {}, lambda pool: bytearray(), lambda pool: ([],),
    lambda pool: pool.new(PersistentList), lambda pool: pool.new(PersistentDict),
])
def test_unhashable_elements(pool, make):
    x = make(pool)
    with pytest.raises(TypeError) as want:
        set().add(x)
    ps = pset(pool, [1])
    for op in (lambda: ps.add(x), lambda: x in ps, lambda: ps.remove(x), lambda: ps.discard(x),
               lambda: ps.update([x]), lambda: pset(pool, [x]), lambda: pfset(pool, [x])):
        with pytest.raises(TypeError) as got:
            op()
        assert str(got.value).startswith("unhashable type")
        assert str(got.value) == str(want.value) or type(x).__name__ in str(got.value)
    assert ps == {1}


def test_unstorable_and_foreign_elements(pool, pool_path):
    ps = pset(pool, [1])
    with pytest.raises(TypeError, match="Don't know how to persist object"):
        ps.add(object())
    assert object() not in ps
    ps.discard(object())
    other = pmemobj.create(pool_path + ".other")
    try:
        with pytest.raises(ValueError, match="one pool"):
            ps.add(other.new(PersistentFrozenSet, [1]))
        assert other.new(PersistentFrozenSet, [1]) not in ps
        ps.add(frozenset({1}))
        assert other.new(PersistentFrozenSet, [1]) in ps
    finally:
        other.close()
    assert ps == {1, frozenset({1})}


def test_mutation_during_iteration(pool):
    ps = pset(pool, range(10))
    with pytest.raises(RuntimeError, match="Set changed size during iteration"):
        for x in ps:
            ps.add(x + 100)
    with pytest.raises(RuntimeError, match="Set changed size during iteration"):
        for x in ps:
            ps.discard(x)


# --- transactions ----------------------------------------------------------------------

def test_transaction_rolls_back(pool):
    pool.root = ps = pset(pool, [1, 2, 3])
    before, _ = pool.gc()
    with pytest.raises(ZeroDivisionError):
        with pool.transaction():
            ps.update(range(500))
            ps.remove(1)
            ps -= {2}
            ps ^= {3, 1000}
            ps.add("str")
            1 / 0
    assert ps == {1, 2, 3}
    types, counts = pool.gc()
    assert counts["collected"] == 0 and types == before


def test_errors_inside_transaction_do_not_abort_it(pool):
    pool.root = ps = pset(pool)
    with pool.transaction():
        ps.add(1)
        with pytest.raises(KeyError):
            ps.remove(2)
        with pytest.raises(TypeError):
            ps.add([1])
        with pytest.raises(KeyError):
            pset(pool).pop()
        ps.add(2)
    assert ps == {1, 2}


def test_elements_freed(pool):
    pool.root = ps = pset(pool)
    base, _ = pool.gc()
    ps.update("x%d" % i for i in range(300))
    ps.update((i, "t") for i in range(100))
    ps -= {"x%d" % i for i in range(150)}
    ps.clear()
    types, counts = pool.gc()
    assert counts["collected"] == 0 and types == base


# --- stateful ----------------------------------------------------------------------------

ELEMS = st.one_of(
    st.integers(-5, 30),
    st.sampled_from([1.0, 0.5, -0.0, True, False, None, 2 ** 64, float(2 ** 64)]),
    st.text(alphabet="ab\u00e9\udc80", max_size=3),
    st.binary(max_size=2),
    st.tuples(st.integers(0, 3), st.text(alphabet="xy", max_size=1)),
    st.frozensets(st.integers(0, 3), max_size=2),
)


class SetMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.dir = tempfile.mkdtemp(prefix="pmemobj-set-", dir="/dev/shm")
        self.path = os.path.join(self.dir, "m.pool")
        self.pool = pmemobj.create(self.path)
        self.pool.root = self.pool.new(PersistentSet)
        self.model = set()

    def teardown(self):
        if hasattr(self, "pool"):
            self.pool.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def ps(self):
        return self.pool.root

    @rule(x=ELEMS)
    def add(self, x):
        self.ps.add(x)
        self.model.add(x)

    @rule(x=ELEMS)
    def remove(self, x):
        if x in self.model:
            self.ps.remove(x)
            self.model.remove(x)
        else:
            with pytest.raises(KeyError):
                self.ps.remove(x)

    @rule(x=ELEMS)
    def discard(self, x):
        self.ps.discard(x)
        self.model.discard(x)

    @rule()
    def pop(self):
        if self.model:
            self.model.remove(self.ps.pop())
        else:
            with pytest.raises(KeyError):
                self.ps.pop()

    @rule(xs=st.lists(ELEMS, max_size=10),
          op=st.sampled_from(["__ior__", "__iand__", "__isub__", "__ixor__"]))
    def inplace(self, xs, op):
        ps = self.ps
        assert getattr(ps, op)(set(xs)) is ps
        getattr(self.model, op)(set(xs))

    @rule(xs=st.lists(ELEMS, max_size=10),
          op=st.sampled_from(["union", "intersection", "difference", "symmetric_difference"]))
    def algebra(self, xs, op):
        got = getattr(self.ps, op)(xs)
        assert type(got) is PersistentSet and got == getattr(self.model, op)(xs)

    @rule(x=ELEMS)
    def contains(self, x):
        assert (x in self.ps) == (x in self.model)

    @rule(xs=st.lists(ELEMS, max_size=20), pops=st.integers(0, 5), clear=st.booleans())
    def aborted_transaction(self, xs, pops, clear):
        with pytest.raises(ZeroDivisionError):
            with self.pool.transaction():
                ps = self.ps
                for _ in range(min(pops, len(ps))):
                    ps.pop()
                ps.update(xs)
                if clear:
                    ps.clear()
                1 / 0

    @rule()
    def reopen(self):
        self.pool.close()
        self.pool = pmemobj.open(self.path)

    @invariant()
    def same_elements(self):
        if hasattr(self, "pool"):
            ps = self.ps
            assert len(ps) == len(self.model)
            assert ps == self.model
            assert all(x in ps for x in self.model)
            assert frozenset(ps) == self.model


TestSetMachine = SetMachine.TestCase
TestSetMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow])
