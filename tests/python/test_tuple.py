"""PersistentTuple: an immutable sequence in a pool that may hold
persistent objects; it behaves like the tuple of its items."""

import gc as pygc

import pytest

import pmemobj
from pmemobj import PersistentList, PersistentTuple

from persistent_types import Node


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


ITEMS = (1, "two", 3.0, None, (4, 5), b"six", 2**80)


@pytest.fixture
def t(pool):
    return pool.new(PersistentTuple, ITEMS)


def test_basic_sequence(t):
    assert len(t) == len(ITEMS)
    assert t == ITEMS and ITEMS == t and not (t != ITEMS)
    assert t[0] == 1 and t[-1] == 2**80 and t[4] == (4, 5)
    with pytest.raises(IndexError, match="tuple index out of range"):
        t[len(ITEMS)]
    with pytest.raises(IndexError):
        t[-len(ITEMS) - 1]
    with pytest.raises(TypeError, match="indices must be integers"):
        t["x"]
    assert list(t) == list(ITEMS)
    assert tuple(reversed(t)) == tuple(reversed(ITEMS))
    assert "two" in t and "three" not in t
    assert t.count(1) == 1 and t.count(99) == 0
    assert t.index("two") == 1 and t.index(None, 2, 5) == 3
    with pytest.raises(ValueError):
        t.index("absent")
    assert isinstance(t, pmemobj.Persistent)


def test_slices_are_persistent_tuples(pool, t):
    s = t[1:3]
    assert type(s) is PersistentTuple and s == ITEMS[1:3]
    assert t[::-2] == ITEMS[::-2]
    assert t[:] is t
    assert t[5:1] == ()
    assert s._p_pool is pool


def test_repr(pool, t):
    assert repr(t) == repr(ITEMS)
    assert repr(pool.new(PersistentTuple, [1])) == "(1,)"
    assert repr(pool.new(PersistentTuple)) == "()"
    lst = pool.new(PersistentList)
    rec = pool.new(PersistentTuple, [lst])
    lst.append(rec)
    assert repr(rec) == "([(...)],)"


def test_concat_and_repeat(pool, t):
    u = t + (8,)
    assert type(u) is PersistentTuple and u == ITEMS + (8,)
    v = (0,) + t
    assert type(v) is PersistentTuple and v == (0,) + ITEMS
    w = t + pool.new(PersistentTuple, [9])
    assert w == ITEMS + (9,)
    with pytest.raises(TypeError, match="can only concatenate tuple"):
        t + [1]
    with pytest.raises(TypeError):
        [1] + t
    assert t * 2 == ITEMS * 2 and 2 * t == ITEMS * 2
    assert type(t * 2) is PersistentTuple
    assert t * 0 == () and t * 1 is t


def test_comparisons_and_hash(pool, t):
    a = pool.new(PersistentTuple, (1, 2))
    assert a < (1, 3) and a <= (1, 2) and a > (0, 9) and (1, 3) > a
    assert a == pool.new(PersistentTuple, [1, 2])
    assert a != [1, 2] and not (a == [1, 2])
    assert hash(a) == hash((1, 2))
    assert hash(t) == hash(ITEMS)
    d = {(1, 2): "plain"}
    assert d[a] == "plain"
    s = {a}
    assert (1, 2) in s
    with pytest.raises(TypeError, match="unhashable"):
        hash(pool.new(PersistentTuple, [pool.new(PersistentList)]))


def test_immutable(pool, t):
    with pytest.raises(TypeError):
        t[0] = 5
    with pytest.raises(TypeError):
        del t[0]
    t.__init__((1, 2))                       # ignored, as tuple.__init__ is
    t.__init__()
    assert t == ITEMS
    e = PersistentTuple._p_new_in(pool)
    pool.root = e                            # referred to before it was filled
    with pytest.raises(TypeError, match="immutable"):
        e.__init__((1, 2))
    with pytest.raises(AttributeError):
        t.append(1)
    with pytest.raises(TypeError, match="pool.new"):
        PersistentTuple((1, 2))


def test_unstorable_items_refused(pool):
    with pytest.raises(TypeError, match="Don't know how to persist bytearray"):
        pool.new(PersistentTuple, ([bytearray()],))
    with pytest.raises(TypeError, match="'int' object is not iterable"):   # as tuple(5)
        pool.new(PersistentTuple, 5)


def test_holds_persistent_objects_and_persists(pool):
    lst = pool.new(PersistentList, [1])
    node = pool.new(Node, "n")
    t = pool.new(PersistentTuple, (lst, node, "x"))
    assert t[0] is lst and t[1] is node
    pool.root = pool.new(PersistentList, [t, t])
    assert pool.root[0] is t and pool.root[1] is t
    del lst, node, t
    pool = reopen(pool)
    try:
        r = pool.root
        t = r[0]
        assert type(t) is PersistentTuple and r[1] is t
        assert list(t[0]) == [1] and t[1].name == "n" and t[2] == "x"
        t[0].append(2)                       # the items stay mutable
        assert list(t[0]) == [1, 2]
        types, counts = pool.gc()
        assert counts["collected"] == 0 and types["PersistentTuple"] == 1
    finally:
        pool.close()


def test_empty_and_from_iterables(pool):
    e = pool.new(PersistentTuple)
    assert len(e) == 0 and e == () and list(e) == []
    assert pool.new(PersistentTuple, iter(range(4))) == (0, 1, 2, 3)
    assert pool.new(PersistentTuple, pool.new(PersistentList, "ab")) == ("a", "b")
    assert pool.new(PersistentTuple, pool.new(PersistentTuple, [7])) == (7,)
    pool.root = e
    pool = reopen(pool)
    try:
        assert pool.root == ()
    finally:
        pool.close()


def test_freed_when_unreferenced(pool):
    before = pool.stats()["frees"]
    t = pool.new(PersistentTuple, ("a str longer than 14 bytes", pool.new(PersistentList, [1])))
    del t
    pygc.collect()
    # The empty tuple of _p_new_in, the tuple, its str, the list and the
    # list's item array.
    assert pool.stats()["frees"] - before == 5
    types, counts = pool.gc()
    assert counts["collected"] == 0 and "PersistentTuple" not in types


def test_created_in_rolled_back_transaction(pool):
    with pytest.raises(KeyError):
        with pool.transaction():
            t = pool.new(PersistentTuple, (1, 2))
            raise KeyError
    with pytest.raises(ValueError, match="rolled back"):
        len(t)
    assert pool.gc()[1]["collected"] == 0


def test_mm_new_and_persist(pool):
    t = pool.mm.new(PersistentTuple, (1, 2))
    assert t == (1, 2)
    assert pool.mm.persist(t) == t._p_oid
    assert pool.mm.resurrect(t._p_oid) is t
