"""Builtin conformance defects (issue #10), one regression test each.

Each test compares a persistent container with the builtin it imitates on
a case where they used to differ.  The broad comparison is the CPython
suites (test_cpython_suites.py); these pin the individual fixes.
"""

import errno
import sys

import pytest

import pmemobj
from pmemobj import (PersistentDict, PersistentFrozenSet, PersistentList,
                     PersistentSet, PersistentTuple)


# --- constructors and extend: what is trusted of the argument -------------

class OwnIterList(list):
    """A list subclass whose iteration differs from its storage."""

    def __iter__(self):
        return iter(["own", "iter"])


class OwnIterTuple(tuple):
    def __iter__(self):
        return iter(["own", "iter"])


class OwnIterDict(dict):
    def __iter__(self):
        return iter(["k"])

    def keys(self):
        return ["k"]

    def __getitem__(self, key):
        return "own"


class LyingHint:
    """An iterator whose __length_hint__ is far bigger than the truth."""

    def __init__(self, items, hint=sys.maxsize):
        self.items = iter(items)
        self.hint = hint

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.items)

    def __length_hint__(self):
        return self.hint


@pytest.mark.parametrize("arg", [OwnIterList([1, 2, 3]), OwnIterTuple((1, 2, 3))],
                         ids=["list-subclass", "tuple-subclass"])
def test_constructors_iterate_subclasses_of_list_and_tuple(pool, arg):
    assert list(pool.new(PersistentList, arg)) == list(arg) == ["own", "iter"]
    assert tuple(pool.new(PersistentTuple, arg)) == tuple(arg) == ("own", "iter")
    assert set(pool.new(PersistentSet, arg)) == set(arg) == {"own", "iter"}
    assert set(pool.new(PersistentFrozenSet, arg)) == {"own", "iter"}


@pytest.mark.parametrize("arg", [OwnIterList([1, 2, 3]), OwnIterTuple((1, 2, 3))],
                         ids=["list-subclass", "tuple-subclass"])
def test_extend_and_slice_assignment_iterate_subclasses(pool, arg):
    pl, bl = pool.new(PersistentList, [0]), [0]
    pl.extend(arg)
    bl.extend(arg)
    assert pl == bl == [0, "own", "iter"]
    pl += arg
    bl += arg
    assert pl == bl
    pl[1:2] = arg
    bl[1:2] = arg
    assert pl == bl
    # extended slices: the size checked is that of the iteration
    for step in (2, 3):
        outcomes = []
        for target in (pl, bl):
            try:
                target[::step] = arg
                outcomes.append("ok")
            except ValueError as e:
                outcomes.append(str(e))
        assert outcomes[0] == outcomes[1]
        assert pl == bl


def test_set_update_iterates_subclasses(pool):
    ps, bs = pool.new(PersistentSet), set()
    ps.update(OwnIterList([1]), OwnIterTuple((2,)))
    bs.update(OwnIterList([1]), OwnIterTuple((2,)))
    assert ps == bs == {"own", "iter"}


def test_dict_from_a_subclass_with_its_own_iteration(pool):
    arg = OwnIterDict({"a": 1})
    assert pool.new(PersistentDict, arg) == dict(arg) == {"k": "own"}
    d = pool.new(PersistentDict)
    d.update(arg)
    assert d == {"k": "own"}


def test_dict_subclass_keeping_dict_iteration_is_read_as_dict_reads_it(pool):
    class KeysOnly(dict):      # dict.update reads such a subclass's storage
        def keys(self):
            return ["x"]

    arg = KeysOnly({"a": 1})
    assert pool.new(PersistentDict, arg) == dict(arg) == {"a": 1}


@pytest.mark.parametrize("hint", [sys.maxsize, 2**40, 10**6])
def test_extend_does_not_trust_length_hint(pool, hint):
    before = pool.stats()["alloc_bytes"]
    pl = pool.new(PersistentList, [1])
    pl.extend(LyingHint([2, 3], hint))
    assert pl == [1, 2, 3]
    # the list's storage was sized from the items, not from the hint
    assert pool.stats()["alloc_bytes"] - before < 64 * 1024
    pl.extend(LyingHint([], hint))
    assert pl == [1, 2, 3]


@pytest.mark.parametrize("kind", [PersistentList, PersistentTuple, PersistentSet,
                                  PersistentFrozenSet])
def test_constructors_do_not_trust_length_hint(pool, kind):
    got = pool.new(kind, LyingHint([1, 2]))
    assert sorted(got) == [1, 2]


def test_set_update_does_not_trust_length_hint(pool):
    s = pool.new(PersistentSet, [0])
    s.update(LyingHint([1, 2]))
    s |= pool.new(PersistentSet, LyingHint([3]))
    assert s == {0, 1, 2, 3}


# --- __init__ of the immutable types ---------------------------------------

@pytest.mark.parametrize("kind, builtin", [(PersistentFrozenSet, frozenset),
                                           (PersistentTuple, tuple)])
def test_init_again_is_ignored_like_the_builtin(pool, kind, builtin):
    b = builtin([1, 2])
    b.__init__([3])
    p = pool.new(kind, [1, 2])
    p.__init__([3])
    assert p == b and sorted(p) == [1, 2]
    empty = pool.new(kind)          # pool.new's __init__ had no argument
    empty.__init__([3])
    assert len(empty) == 0


# --- Transaction.abort(errno): pynvm's signature ---------------------------

@pytest.mark.parametrize("code, exc", [(errno.EIO, OSError), (errno.ECANCELED, OSError),
                                       (errno.ENOMEM, MemoryError),
                                       (errno.EINVAL, ValueError)])
def test_abort_takes_an_errno(pool, code, exc):
    pool.root = pool.new(PersistentList, [1])
    t = pool.transaction()
    t.begin()
    pool.root.append(2)
    with pytest.raises(exc) as info:
        t.abort(code)
    if exc is OSError:
        assert info.value.errno == code
    assert t.depth == 0 and pool.root == [1]
    t.begin()
    pool.root.append(3)
    with pytest.raises(OSError) as info:
        t.abort(errno=code) if exc is OSError else t.abort()
    assert info.value.errno == (code if exc is OSError else errno.ECANCELED)
    assert t.depth == 0 and pool.root == [1]


def test_abort_in_a_with_block_takes_an_errno(pool):
    pool.root = pool.new(PersistentList, [1])
    with pytest.raises(OSError) as info:
        with pool.transaction() as t:
            pool.root.append(2)
            t.abort(errno.EIO)
    assert info.value.errno == errno.EIO
    assert t.depth == 0 and pool.root == [1]


@pytest.mark.parametrize("bad, exc", [("x", TypeError), (-1, ValueError), (2**70, OverflowError),
                                      ((1, 2), TypeError)])
def test_abort_with_a_bad_argument_still_aborts(pool, pool_dir, bad, exc):
    pool.root = pool.new(PersistentList, [1])
    t = pool.transaction()
    t.begin()
    pool.root.append(2)
    with pytest.raises(exc):
        t.abort(bad)
    assert t.depth == 0 and pool.root == [1]
    with pytest.raises(TypeError):
        t.begin()
        t.abort(1, 2)
    assert t.depth == 0
    # Nothing is left open in this thread: another pool's transaction works.
    other = pmemobj.create(str(pool_dir / "other.pool"))
    try:
        with other.transaction():
            other.root = 5
        assert other.root == 5
    finally:
        other.close()


# --- collections.abc -------------------------------------------------------

def test_registered_with_the_abcs_of_their_builtins(pool):
    import collections.abc as abc

    cases = [(PersistentList, abc.MutableSequence), (PersistentTuple, abc.Sequence),
             (PersistentSet, abc.MutableSet), (PersistentFrozenSet, abc.Set),
             (PersistentDict, abc.MutableMapping)]
    for kind, base in cases:
        obj = pool.new(kind)
        assert issubclass(kind, base) and isinstance(obj, base), kind
        for builtin_abc in (abc.Sized, abc.Iterable, abc.Container, abc.Collection):
            assert isinstance(obj, builtin_abc), (kind, builtin_abc)
    assert isinstance(pool.new(PersistentList), abc.Reversible)
    assert isinstance(pool.new(PersistentTuple), abc.Reversible)
    assert not isinstance(pool.new(PersistentTuple), abc.MutableSequence)
    assert not isinstance(pool.new(PersistentFrozenSet), abc.MutableSet)
    assert isinstance(pool.new(PersistentFrozenSet), abc.Hashable)
    d = pool.new(PersistentDict, {1: 2})
    assert isinstance(d.keys(), abc.KeysView)
    assert isinstance(d.values(), abc.ValuesView)
    assert isinstance(d.items(), abc.ItemsView)


# --- pickling the iterators of sets and dicts ------------------------------

@pytest.mark.parametrize("make", [
    lambda pool: iter(pool.new(PersistentSet, "abc")),
    lambda pool: iter(pool.new(PersistentFrozenSet, "abc")),
    lambda pool: iter(pool.new(PersistentDict, dict.fromkeys("abc"))),
    lambda pool: reversed(pool.new(PersistentDict, dict.fromkeys("abc"))),
    lambda pool: iter(pool.new(PersistentDict, dict.fromkeys("abc")).values()),
    lambda pool: iter(pool.new(PersistentDict, dict.fromkeys("abc")).items()),
], ids=["set", "frozenset", "dict", "dict-reversed", "values", "items"])
def test_table_iterators_pickle_as_the_builtins_do(pool, make):
    import pickle

    it = make(pool)
    next(it)
    rest = list(make(pool))[1:]     # tables keep insertion order
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(it, proto))
        assert type(copy) is type(iter([])) and list(copy) == rest
    assert len(list(it)) == 2          # pickling did not advance it
    assert pickle.loads(pickle.dumps(it)).__length_hint__() == 0


# --- copy.deepcopy: a plain copy (test_plain_values.py), its cycles kept -----

def test_deepcopy_of_a_cycle(pool):
    import copy

    pl = pool.new(PersistentList, [1])
    pl.append(pl)
    pd = pool.new(PersistentDict)
    pd["self"] = pd
    pd["list"] = pl
    d = copy.deepcopy(pd)
    assert d is not pd and d["self"] is d
    assert d["list"] is not pl and d["list"][1] is d["list"]


def _misuse_commit_args(t):
    t.begin()
    t.commit(1)


def _misuse_commit_kw(t):
    t.begin()
    t.commit(x=1)


def _misuse_exit_by_hand(t):
    t.begin()
    t.__exit__(None, None, None)


def _misuse_exit_bad_args_on_begin(t):
    t.begin()
    t.__exit__(1)


def _misuse_exit_bad_args_in_with(t):
    t.__enter__()
    t.__exit__(1)


@pytest.mark.parametrize("misuse, exc", [
    (_misuse_commit_args, TypeError), (_misuse_commit_kw, TypeError),
    (_misuse_exit_by_hand, RuntimeError), (_misuse_exit_bad_args_on_begin, TypeError),
    (_misuse_exit_bad_args_in_with, TypeError)])
def test_no_transaction_method_leaves_a_transaction_open(pool, pool_dir, misuse, exc):
    pool.root = 0
    t = pool.transaction()

    class Probe:
        """Sets the root once the misuse has opened a level."""

        def __init__(self, t):
            self.t = t

        def __getattr__(self, name):
            attr = getattr(self.t, name)
            if name in ("commit", "__exit__"):
                pool.root = 5             # a change inside the open level
            return attr

    with pytest.raises(exc):
        misuse(Probe(t))
    assert t.depth == 0 and pool.root == 0          # ended, rolled back
    other = pmemobj.create(str(pool_dir / "other.pool"))
    try:
        with other.transaction():
            other.root = 1
    finally:
        other.close()


# --- __init__ given the container itself -----------------------------------

def test_init_with_itself_empties_as_the_builtins_do(pool):
    for make in (lambda: pool.new(PersistentList, [1, 2]), lambda: [1, 2]):
        a = make()
        a.__init__(a)
        assert a == []
        a = make()
        it = iter(a)
        a.__init__(it)
        assert a == [] and list(it) == []
        a = make()
        a.__init__(reversed(a))
        assert a == []
    for make in (lambda: pool.new(PersistentSet, {1, 2}), lambda: {1, 2}):
        s = make()
        s.__init__(s)
        assert s == set()
        s = make()
        with pytest.raises(RuntimeError, match="Set changed size during iteration"):
            s.__init__(iter(s))
        e = make()
        e.clear()
        e.__init__(iter(e))             # an empty set's iterator does not notice
        assert e == set()
    d = pool.new(PersistentDict, {1: 2})
    d.__init__(d)                       # dict.__init__ does not empty first
    assert d == {1: 2}
