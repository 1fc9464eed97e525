"""Set methods given a tuple as their argument: the binding passed it on
through a "O" format to PyObject_CallMethod, which unpacks a tuple into
several arguments, so s.isdisjoint((1, 2)) and its relatives raised or
answered wrongly.  Every such call now builds its one argument itself."""

import pytest

import pmemobj

METHODS = ["isdisjoint", "intersection", "symmetric_difference", "union", "difference",
           "issubset", "issuperset"]
UPDATES = ["update", "intersection_update", "difference_update",
           "symmetric_difference_update"]


@pytest.mark.parametrize("kind", [pmemobj.PersistentSet, pmemobj.PersistentFrozenSet])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arg", [(1, 2), (5,), (), ((1, 2),)])
def test_methods_take_a_tuple_like_the_builtin(pool, kind, method, arg):
    s = pool.new(kind, {1, 2, 3, (1, 2)})
    builtin = {1, 2, 3, (1, 2)}
    got = getattr(s, method)(arg)
    want = getattr(builtin, method)(arg)
    assert (set(got) if isinstance(want, (set, frozenset)) else got) == want


@pytest.mark.parametrize("method", UPDATES)
@pytest.mark.parametrize("arg", [(1, 2), (5,), ()])
def test_updates_take_a_tuple_like_the_builtin(pool, method, arg):
    s = pool.new(pmemobj.PersistentSet, {1, 2, 3})
    builtin = {1, 2, 3}
    getattr(s, method)(arg)
    getattr(builtin, method)(arg)
    assert set(s) == builtin


def test_dict_views_take_a_tuple(pool):
    d = pool.new(pmemobj.PersistentDict, {1: "a", 2: "b"})
    assert d.keys().isdisjoint((3, 4)) is True
    assert d.keys().isdisjoint((1, 4)) is False
    assert (d.keys() & (1, 5)) == {1}
