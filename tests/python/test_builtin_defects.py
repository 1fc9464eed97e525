"""Regression tests for the conformance defects of issue #10: transaction
abort with an errno, the collections.abc registrations, and arguments whose
iteration differs from their storage or whose length hint lies."""

import collections.abc as abc
import errno

import pytest

from pmemobj import (PersistentDict, PersistentFrozenSet, PersistentList, PersistentSet,
                     PersistentTuple)


@pytest.mark.parametrize("typ,base", [
    (PersistentList, abc.MutableSequence), (PersistentTuple, abc.Sequence),
    (PersistentSet, abc.MutableSet), (PersistentFrozenSet, abc.Set),
    (PersistentDict, abc.MutableMapping),
])
def test_registered_with_the_builtins_abc(pool, typ, base):
    assert issubclass(typ, base)
    assert isinstance(pool.new(typ), base)


@pytest.mark.parametrize("args,kw,code", [((), {}, errno.ECANCELED),
                                           ((errno.ENOENT,), {}, errno.ENOENT),
                                           ((), {"errno": errno.ENOSPC}, errno.ENOSPC)])
def test_abort_with_an_errno(pool, args, kw, code):
    pool.root = pool.new(PersistentList, [1])
    t = pool.transaction()
    t.begin()
    pool.root.append(2)
    with pytest.raises(OSError) as e:
        t.abort(*args, **kw)
    assert e.value.errno == code
    assert list(pool.root) == [1]
    with pool.transaction():           # nothing was left open
        pool.root.append(3)
    assert list(pool.root) == [1, 3]


@pytest.mark.parametrize("args,kw", [(("x",), {}), ((1, 2), {}), ((), {"code": 5})])
def test_a_bad_abort_argument_still_aborts(pool, args, kw):
    pool.root = pool.new(PersistentList, [1])
    t = pool.transaction()
    t.begin()
    pool.root.append(2)
    with pytest.raises(TypeError):
        t.abort(*args, **kw)
    assert list(pool.root) == [1]
    with pytest.raises(RuntimeError, match="outside transaction"):
        t.commit()
    pool.root.append(3)                 # autocommit works: no transaction left open
    assert list(pool.root) == [1, 3]


class OwnIterList(list):
    def __iter__(self):
        return iter(["iterated"])


class OwnIterTuple(tuple):
    def __iter__(self):
        return iter(["iterated"])


class OwnIterDict(dict):
    def __iter__(self):
        return iter(["iterated"])

    def keys(self):
        return ["iterated"]

    def __getitem__(self, k):
        return "value of " + k


class LyingHint:
    def __init__(self, hint):
        self.hint = hint

    def __iter__(self):
        return iter([1, 2, 3])

    def __length_hint__(self):
        return self.hint


@pytest.mark.parametrize("arg", [OwnIterList([1, 2]), OwnIterTuple((1, 2))])
def test_subclasses_are_iterated_not_copied_by_storage(pool, arg):
    assert list(pool.new(PersistentList, arg)) == list(arg) == ["iterated"]
    assert tuple(pool.new(PersistentTuple, arg)) == ("iterated",)
    assert set(pool.new(PersistentSet, arg)) == {"iterated"}
    lst = pool.new(PersistentList, [0])
    lst.extend(arg)
    assert list(lst) == [0, "iterated"]


def test_dict_subclass_with_its_own_iteration(pool):
    arg = OwnIterDict(a=1)
    assert dict(pool.new(PersistentDict, arg)) == dict(arg) == {"iterated": "value of iterated"}


@pytest.mark.parametrize("hint", [10**15, 2**62, 0, 1])
def test_a_length_hint_is_not_trusted(pool, hint):
    lst = pool.new(PersistentList)
    lst.extend(LyingHint(hint))
    assert list(lst) == [1, 2, 3]
    assert list(pool.new(PersistentList, LyingHint(hint))) == [1, 2, 3]
    assert tuple(pool.new(PersistentTuple, LyingHint(hint))) == (1, 2, 3)
    assert set(pool.new(PersistentSet, LyingHint(hint))) == {1, 2, 3}
    assert pool.check()["ok"]
