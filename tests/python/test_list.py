"""PersistentList against the builtin list.

Every operation is run on a plain list and on a PersistentList holding the
same values; results, resulting contents and exceptions (type and message,
with the type's name normalised) must be the same.  Then the things only a
persistent list has: contents surviving a reopen, identity of proxies,
transactions (rollback of every kind of change, growth included; proxies of
objects created in a rolled-back transaction), errors that must not abort
the caller's transaction, and objects of another pool.
"""

import contextlib
import itertools
import operator

import pytest

import pmemobj
from pmemobj import PersistentList


def _norm(msg):
    """An exception message with PersistentList's name turned into list's."""
    return (msg.replace("pmemobj.PersistentList", "list")
               .replace("PersistentList", "list"))


def _plain(v):
    """A persistent list (or list of them) as plain lists, for comparing."""
    if isinstance(v, (PersistentList, list)):
        return [_plain(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_plain(x) for x in v)
    return v


def outcome(fn, target):
    """('ok', result, contents) or ('raise', type, message, contents)."""
    try:
        r = fn(target)
    except Exception as e:  # noqa: BLE001 - comparing exceptions is the point
        return ("raise", type(e), _norm(str(e)), _plain(target))
    if r is target:
        r = "<self>"
    return ("ok", _plain(r), _plain(target))


def check_like_list(pool, data, fn):
    expected = outcome(fn, list(data))
    got = outcome(fn, pool.new(PersistentList, data))
    assert got == expected
    return got


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


# The default pool size (MIN_POOL_SIZE, libpmemobj's 8 MiB minimum) has room
# for only a few dozen 256 KiB allocator runs, one per size class in use, so
# a list whose item array goes through many sizes fills it after ~1000
# items (see test_default_size_pool_holds_a_growing_list).  Tests of growth
# use a bigger pool.
BIG_POOL_SIZE = 64 << 20


@pytest.fixture
def big_pool(pool_dir):
    p = pmemobj.create(str(pool_dir / "big.pool"), pool_size=BIG_POOL_SIZE)
    try:
        yield p
    finally:
        p.close()


# --- the API, operation by operation ---------------------------------------

DATASETS = {
    "empty": [],
    "one": [7],
    "ints": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3],
    "mixed": [None, True, 2, 2.5, "s", b"b", (1, "t"), 10**30, -3, "s"],
}

# name -> fn(target); results that are iterators are listed.
OPS = {
    "len": len,
    "bool": bool,
    "list": list,
    "iter": lambda l: [x for x in l],
    "reversed": lambda l: list(reversed(l)),
    "repr": repr,
    "str": str,
    "in-first": lambda l: 3 in l,
    "in-missing": lambda l: "zz" in l,
    "get0": lambda l: l[0],
    "get-1": lambda l: l[-1],
    "get-len": lambda l: l[len(l)],
    "get-big": lambda l: l[-10**30],
    "get-bool": lambda l: l[True],
    "get-float": lambda l: l[1.0],
    "get-str": lambda l: l["a"],
    "get-none": lambda l: l[None],
    "set0": lambda l: l.__setitem__(0, "x"),
    "set-1": lambda l: l.__setitem__(-1, ("y", 1)),
    "set-out": lambda l: l.__setitem__(10, 1),
    "set-neg-out": lambda l: l.__setitem__(-11, 1),
    "set-str": lambda l: l.__setitem__("a", 1),
    "del0": lambda l: l.__delitem__(0),
    "del-1": lambda l: l.__delitem__(-1),
    "del-out": lambda l: l.__delitem__(10),
    "del-str": lambda l: l.__delitem__(1.5),
    "append": lambda l: l.append(42),
    "append-none": lambda l: l.append(None),
    "append-0args": lambda l: l.append(),
    "extend-list": lambda l: l.extend([1, 2, 3]),
    "extend-tuple": lambda l: l.extend((4, 5)),
    "extend-gen": lambda l: l.extend(i * i for i in range(4)),
    "extend-str": lambda l: l.extend("abc"),
    "extend-range": lambda l: l.extend(range(3)),
    "extend-empty": lambda l: l.extend([]),
    "extend-self": lambda l: l.extend(l),
    "extend-int": lambda l: l.extend(5),
    "extend-none": lambda l: l.extend(None),
    "insert0": lambda l: l.insert(0, "a"),
    "insert-mid": lambda l: l.insert(2, "b"),
    "insert-end": lambda l: l.insert(len(l), "c"),
    "insert-past": lambda l: l.insert(100, "d"),
    "insert-neg": lambda l: l.insert(-2, "e"),
    "insert-negpast": lambda l: l.insert(-100, "f"),
    "insert-1arg": lambda l: l.insert(1),
    "insert-3args": lambda l: l.insert(1, 2, 3),
    "insert-str": lambda l: l.insert("a", 1),
    "insert-huge": lambda l: l.insert(10**30, 1),
    "pop": lambda l: l.pop(),
    "pop0": lambda l: l.pop(0),
    "pop-2": lambda l: l.pop(-2),
    "pop-out": lambda l: l.pop(10),
    "pop-neg-out": lambda l: l.pop(-11),
    "pop-str": lambda l: l.pop("a"),
    "pop-2args": lambda l: l.pop(1, 2),
    "remove": lambda l: l.remove(1),
    "remove-missing": lambda l: l.remove("zz"),
    "remove-0args": lambda l: l.remove(),
    "index": lambda l: l.index(5),
    "index-missing": lambda l: l.index("zz"),
    "index-start": lambda l: l.index(5, 5),
    "index-start-stop": lambda l: l.index(1, 2, 4),
    "index-negative": lambda l: l.index(3, -3),
    "index-neg-stop": lambda l: l.index(3, 0, -1),
    "index-none": lambda l: l.index(3, None),
    "index-str": lambda l: l.index(3, "a"),
    "index-0args": lambda l: l.index(),
    "index-4args": lambda l: l.index(1, 2, 3, 4),
    "count": lambda l: l.count(1),
    "count-missing": lambda l: l.count("zz"),
    "count-0args": lambda l: l.count(),
    "reverse": lambda l: l.reverse(),
    "reverse-arg": lambda l: l.reverse(1),
    "clear": lambda l: l.clear(),
    "copy": lambda l: l.copy(),
    "sort-positional": lambda l: l.sort(1),
    "sort-badkw": lambda l: l.sort(foo=1),
    "sort-reverse-float": lambda l: l.sort(reverse=1.5),
    "sort-reverse-str": lambda l: l.sort(reverse="x"),
    "sort-key-raises": lambda l: l.sort(key=lambda v: 1 / 0),
    "sort-key-repr": lambda l: l.sort(key=repr),
    "sort-key-repr-rev": lambda l: l.sort(key=repr, reverse=True),
    "add-list": lambda l: l + [1, 2],
    "add-tuple": lambda l: l + (1,),
    "add-str": lambda l: l + "ab",
    "add-self": lambda l: l + l,
    "mul": lambda l: l * 3,
    "rmul": lambda l: 2 * l,
    "mul0": lambda l: l * 0,
    "mul-neg": lambda l: l * -2,
    "mul-str": lambda l: l * "a",
    "mul-float": lambda l: l * 2.0,
    "iadd": lambda l: operator.iadd(l, [8, 9]),
    "iadd-gen": lambda l: operator.iadd(l, (i for i in "xy")),
    "iadd-int": lambda l: operator.iadd(l, 5),
    "iadd-self": lambda l: operator.iadd(l, l),
    "imul": lambda l: operator.imul(l, 3),
    "imul1": lambda l: operator.imul(l, 1),
    "imul0": lambda l: operator.imul(l, 0),
    "imul-neg": lambda l: operator.imul(l, -1),
    "imul-str": lambda l: operator.imul(l, "a"),
    "eq-list": lambda l: l == list(l),
    "ne-list": lambda l: l != list(l),
    "eq-longer": lambda l: l == list(l) + [1],
    "eq-tuple": lambda l: l == tuple(l),
    "ne-tuple": lambda l: l != tuple(l),
    "eq-none": lambda l: l == None,  # noqa: E711
    "lt-longer": lambda l: l < list(l) + [0],
    "le-self": lambda l: l <= list(l),
    "gt-shorter": lambda l: l > list(l)[:-1],
    "ge-empty": lambda l: l >= [],
    "lt-tuple": lambda l: l < (),
    "reflected-eq": lambda l: list(l) == l,
    "reflected-lt": lambda l: list(l)[:-1] < l,
    "hash": hash,
    "init-again": lambda l: l.__init__([5, 6]),
    "init-empty": lambda l: l.__init__(),
    "init-2args": lambda l: l.__init__(1, 2),
    "init-kw": lambda l: l.__init__(a=1),
}


@pytest.mark.parametrize("data", DATASETS.values(), ids=DATASETS.keys())
@pytest.mark.parametrize("fn", OPS.values(), ids=OPS.keys())
def test_operation_like_list(pool, data, fn):
    check_like_list(pool, data, fn)


def test_messages_differ_only_by_name(pool):
    """Spot checks that the normalisation above hides nothing else."""
    pl = pool.new(PersistentList, [1, 2])
    with pytest.raises(TypeError, match=r"^unhashable type: 'pmemobj.PersistentList'$"):
        hash(pl)
    with pytest.raises(IndexError, match=r"^list index out of range$"):
        pl[2]
    with pytest.raises(IndexError, match=r"^pop from empty list$"):
        pool.new(PersistentList).pop()
    with pytest.raises(ValueError, match=r"^list.remove\(x\): x not in list$"):
        pl.remove(3)
    with pytest.raises(TypeError, match=r"^'int' object is not iterable$"):
        pool.new(PersistentList, 5)


def test_results_of_new_lists_are_persistent_lists_in_the_same_pool(pool):
    pl = pool.new(PersistentList, [1, 2, 3])
    for r in (pl[:], pl[::2], pl.copy(), pl + [4], pl * 2, 2 * pl):
        assert type(r) is PersistentList
        assert r._p_pool is pool
        assert r is not pl
    pl2 = pl
    pl2 += [4]
    assert pl2 is pl
    pl2 *= 2
    assert pl2 is pl and pl == [1, 2, 3, 4] * 2


# --- slices -----------------------------------------------------------------

BOUNDS = [None, -12, -5, -1, 0, 1, 3, 5, 12]
STEPS = [None, 1, 2, 3, -1, -2, -3, 11, -11]


def _slices():
    return [slice(a, b, c) for a, b, c in itertools.product(BOUNDS, BOUNDS, STEPS)]


def test_slices_get_all_step_signs(pool):
    data = list(range(8))
    pl = pool.new(PersistentList, data)
    for s in _slices():
        assert list(pl[s]) == data[s], s
    with pytest.raises(ValueError, match="^slice step cannot be zero$"):
        pl[::0]
    assert pl == data


def test_slices_delete_all_step_signs(pool):
    data = list(range(8))
    pl = pool.new(PersistentList, data)
    for s in _slices():
        expected = list(data)
        del expected[s]
        pl[:] = data
        del pl[s]
        assert pl == expected, s


def test_slices_assign_all_step_signs(pool):
    data = list(range(8))
    pl = pool.new(PersistentList, data)
    for s in _slices():
        n = len(data[s])
        for values in ([], ["a"], ["a", "b", "c"], ["v%d" % i for i in range(n)]):
            expected = list(data)
            got = pl
            pl[:] = data
            assert outcome(lambda l: l.__setitem__(s, values), got) == \
                outcome(lambda l: l.__setitem__(s, values), expected), (s, values)


@pytest.mark.parametrize("value", [5, None, iter(()), "ab", (1, 2), range(3)],
                         ids=["int", "none", "empty-iter", "str", "tuple", "range"])
@pytest.mark.parametrize("s", [slice(1, 3), slice(None, None, 2), slice(None, None, -1),
                               slice(3, 1)], ids=["basic", "step2", "step-1", "empty"])
def test_slice_assign_value_kinds(pool, s, value):
    check_like_list(pool, list(range(6)), lambda l: l.__setitem__(s, value))


def test_slice_assign_from_self(pool):
    for s in (slice(None), slice(1, 3), slice(None, None, -1), slice(2, 2)):
        check_like_list(pool, list(range(5)), lambda l: l.__setitem__(s, l))


def test_slice_bad_key_types(pool):
    for key in (slice("a", None), slice(None, None, "b"), slice(1.5, 2)):
        check_like_list(pool, [1, 2, 3], lambda l: l[key])
        check_like_list(pool, [1, 2, 3], lambda l: l.__setitem__(key, []))
        check_like_list(pool, [1, 2, 3], lambda l: l.__delitem__(key))


def test_slice_with_index_objects(pool):
    class Ix:
        def __init__(self, v):
            self.v = v

        def __index__(self):
            return self.v
    check_like_list(pool, list(range(6)), lambda l: l[Ix(1):Ix(5):Ix(2)])
    check_like_list(pool, list(range(6)), lambda l: l[Ix(-1)])
    check_like_list(pool, list(range(6)), lambda l: l.__setitem__(Ix(2), "x"))


# --- sort -------------------------------------------------------------------

def test_sort_is_stable_with_key_and_reverse(pool):
    # (key, tag): ties in key must keep their original order, also reversed.
    data = [(k, tag) for tag, k in enumerate([3, 1, 2, 3, 1, 2, 3, 0, 1, 3, 2, 0] * 3)]
    for key in (None, lambda t: t[0], lambda t: -t[0], lambda t: t[0] % 2):
        for reverse in (False, True):
            expected = sorted(data, key=key, reverse=reverse)
            pl = pool.new(PersistentList, data)
            kw = {"reverse": reverse} if reverse else {}
            if key is not None:
                kw["key"] = key
            assert pl.sort(**kw) is None
            assert pl == expected
    pl = pool.new(PersistentList, ["b", "A", "c", "B", "a"])
    pl.sort(key=str.lower)
    assert pl == ["A", "a", "b", "B", "c"]
    pl.sort(key=None, reverse=True)
    assert pl == ["c", "b", "a", "B", "A"]


def test_sort_key_is_called_once_per_item(pool):
    calls = []
    pl = pool.new(PersistentList, [3, 1, 2])

    def key(v):
        calls.append(v)
        return v
    pl.sort(key=key)
    assert sorted(calls) == [1, 2, 3] and pl == [1, 2, 3]


def test_failed_sort_leaves_list_unchanged(pool):
    data = [3, "a", 1, 2]
    pl = pool.new(PersistentList, data)
    with pytest.raises(TypeError, match="'<' not supported"):
        pl.sort()
    # list.sort may leave a partial permutation; this one is atomic.
    assert pl == data


def test_sort_detects_modification_by_key(pool):
    pl = pool.new(PersistentList, [3, 1, 2])

    def key(v):
        if len(pl) == 3:
            pl.append(0)
        return v
    with pytest.raises(ValueError, match="list modified during sort"):
        pl.sort(key=key)
    assert pl == [3, 1, 2, 0]


def test_sort_and_reverse_persist(pool):
    pl = pool.new(PersistentList, [5, 3, 1])
    pool.root = pl
    pl.sort()
    pool = reopen(pool)
    try:
        assert pool.root == [1, 3, 5]
        pool.root.reverse()
        pool = reopen(pool)
        assert pool.root == [5, 3, 1]
    finally:
        pool.close()


# --- iteration and mutation during it ----------------------------------------

def test_iteration_sees_changes_like_list(pool):
    for data in ([1, 2, 3], []):
        for mutate in (lambda l: l.append(len(l)) if len(l) < 6 else None,
                       lambda l: l.pop(0) if l else None,
                       lambda l: l.insert(0, "x") if len(l) < 6 else None,
                       lambda l: l.clear()):
            def run(l):
                seen = []
                for x in l:
                    seen.append(x)
                    mutate(l)
                return seen
            check_like_list(pool, data, run)

            def run_reversed(l):
                seen = []
                for x in reversed(l):
                    seen.append(x)
                    mutate(l)
                return seen
            check_like_list(pool, data, run_reversed)


def test_exhausted_iterator_stays_exhausted(pool):
    def run(l):
        it = iter(l)
        first = list(it)
        l.append(99)
        return first, list(it), it.__length_hint__()
    check_like_list(pool, [1, 2], run)

    def run_rev(l):
        it = reversed(l)
        first = next(it)
        l.clear()
        return first, it.__length_hint__(), list(it)
    check_like_list(pool, [1, 2, 3], run_rev)


def test_length_hints(pool):
    def run(l):
        it, rit = iter(l), reversed(l)
        out = [it.__length_hint__(), rit.__length_hint__()]
        next(it)
        next(rit)
        out += [it.__length_hint__(), rit.__length_hint__()]
        return out
    check_like_list(pool, [1, 2, 3, 4], run)


def test_comparison_runs_python_eq(pool):
    class Eq:
        def __eq__(self, other):
            return other == "target"
        __hash__ = object.__hash__
    pl = pool.new(PersistentList, [1, "target", 3])
    assert Eq() in pl
    assert pl.index(Eq()) == 1
    assert pl.count(Eq()) == 1
    pl.remove(Eq())
    assert pl == [1, 3]


def test_eq_raising_propagates(pool):
    class Bad:
        def __eq__(self, other):
            raise ZeroDivisionError("eq")
        __hash__ = object.__hash__
    for fn in (lambda l: Bad() in l, lambda l: l.index(Bad()),
               lambda l: l.count(Bad()), lambda l: l.remove(Bad())):
        check_like_list(pool, [1, 2], fn)


# --- repr, nesting, identity --------------------------------------------------

def test_nested_and_recursive_repr(pool):
    outer = pool.new(PersistentList, [1])
    inner = pool.new(PersistentList, ["a", ("t",)])
    outer.append(inner)
    outer.append(outer)
    assert repr(outer) == "[1, ['a', ('t',)], [...]]"
    plain = [1, ["a", ("t",)]]
    plain.append(plain)
    assert repr(outer) == repr(plain)
    outer.clear()  # break the cycle so refcounting can free it


def test_identity_of_proxies(pool):
    inner = pool.new(PersistentList, [1])
    outer = pool.new(PersistentList, [inner, inner])
    pool.root = outer
    assert pool.root is pool.root
    assert pool.root is outer
    assert outer[0] is outer[1] is inner
    assert next(iter(outer)) is inner
    assert outer.pop() is inner
    assert outer[-1] is inner
    del inner
    a = outer[0]
    assert a is outer[0]
    pool = reopen(pool)
    try:
        r = pool.root
        assert r is pool.root
        assert r[0] is r[0]
        assert r[0] == [1]
    finally:
        pool.close()


def test_same_list_stored_twice_is_shared(pool):
    inner = pool.new(PersistentList)
    outer = pool.new(PersistentList, [inner, inner])
    pool.root = outer
    del inner, outer
    pool = reopen(pool)
    try:
        pool.root[0].append("shared")
        assert pool.root == [["shared"], ["shared"]]
        pool = reopen(pool)
        assert pool.root[1] == ["shared"]
        assert pool.root[0] is pool.root[1]
    finally:
        pool.close()


def test_popped_list_survives_while_proxy_lives(pool):
    inner = pool.new(PersistentList, ["keep"])
    pool.root = pool.new(PersistentList, [inner])
    del inner
    popped = pool.root.pop()   # count 0 now; the proxy keeps it
    pool.gc()
    assert popped == ["keep"]
    pool.root.append(popped)
    del popped
    pool.gc()
    assert pool.root == [["keep"]]


def test_direct_construction_is_refused():
    with pytest.raises(TypeError, match="pool.new"):
        PersistentList([1, 2])


# --- persistence ----------------------------------------------------------------

def test_every_kind_of_change_persists(pool):
    pl = pool.new(PersistentList, range(10))
    pool.root = pl
    pl.append("a")
    pl.extend([b"b", (1, 2)])
    pl.insert(0, None)
    pl[3] = 2.5
    del pl[4]
    pl[5:7] = ["x", "y", "z"]
    del pl[::4]
    pl[::-3] = list(range(len(pl[::-3])))
    pl.remove("z")
    pl.pop(1)
    pl += [10**40]
    pl *= 2
    expected = list(pl)
    del pl
    pool = reopen(pool)
    try:
        assert pool.root == expected
        assert type(pool.root) is PersistentList
    finally:
        pool.close()


def test_values_round_trip_with_their_types(pool):
    values = [None, True, False, 0, -1, 2**63 - 1, -2**63, 2**63, -2**63 - 1,
              10**100, -10**100, 0.0, -0.0, 1.5, float("inf"), 1 + 2j, "",
              "\u00e9\U0001f600", b"", b"\x00\xff", (), (1, (2, "3")),
              frozenset({1, "a"})]
    pool.root = pool.new(PersistentList, values)
    pool = reopen(pool)
    try:
        got = list(pool.root)
        assert [type(v) for v in got] == [type(v) for v in values]
        assert got == values
        assert str(got[12]) == "-0.0"
    finally:
        pool.close()


def test_unstorable_values_are_refused_and_change_nothing(pool):
    pl = pool.new(PersistentList, [1])
    for bad in (bytearray(), [object()], {1: [bytearray()]}, object(), (1, [object()]),
                type("X", (), {})()):
        for fn in (lambda: pl.append(bad), lambda: pl.extend([2, bad]),
                   lambda: pl.insert(0, bad), lambda: pl.__setitem__(0, bad),
                   lambda: pl.__setitem__(slice(0, 1), [bad]),
                   lambda: pl.__setitem__(slice(None, None, 1), [2, bad]),
                   lambda: pool.new(PersistentList, [3, bad]), lambda: pl + [bad],
                   lambda: pl.__iadd__([bad])):
            with pytest.raises(TypeError, match="Don't know how to persist"):
                fn()
            assert pl == [1]


# --- transactions -----------------------------------------------------------------

class Boom(Exception):
    pass


def test_transaction_rolls_back_every_kind_of_change(pool):
    inner = pool.new(PersistentList, ["inner"])
    pl = pool.new(PersistentList, [0, 1, 2, inner, 4])
    pool.root = pl
    del inner
    before = _plain(pl)
    changes = [
        lambda: pl.append(5), lambda: pl.extend(range(100)), lambda: pl.insert(0, "i"),
        lambda: pl.__setitem__(1, "s"), lambda: pl.__delitem__(3),
        lambda: pl.__setitem__(slice(1, 3), ["a", "b", "c"]),
        lambda: pl.__delitem__(slice(None, None, 2)),
        lambda: pl.__setitem__(slice(None, None, -1), list(range(len(pl)))),
        lambda: pl.pop(), lambda: pl.remove(0), lambda: pl.sort(key=repr),
        lambda: pl.reverse(), lambda: pl.clear(), lambda: pl.__iadd__([1]),
        lambda: pl.__imul__(3), lambda: pl.__init__("xyz"),
        lambda: pl[3].append("more"), lambda: pl[3].clear(),
    ]
    for change in changes:
        with pytest.raises(Boom):
            with pool.transaction():
                change()
                raise Boom
        assert _plain(pl) == before
    with pytest.raises(Boom):
        with pool.transaction():
            for change in changes:
                with contextlib.suppress(IndexError, ValueError):
                    change()
            raise Boom
    assert _plain(pl) == before
    del pl
    pool = reopen(pool)
    try:
        assert _plain(pool.root) == before
    finally:
        pool.close()


def test_transaction_rolls_back_growth(big_pool):
    pool = big_pool
    pl = pool.new(PersistentList, ["a", "b"])
    pool.root = pl
    with pytest.raises(Boom):
        with pool.transaction():
            for i in range(5000):   # many reallocations of the item array
                pl.append(i)
            pl.extend(str(i) for i in range(5000))
            assert len(pl) == 10002
            raise Boom
    assert pl == ["a", "b"]
    pl.append("c")
    assert pl == ["a", "b", "c"]
    _, counts = pool.gc()
    assert counts["collected"] == 0 and counts["substructures_freed"] == 0
    del pl
    pool = reopen(pool)
    try:
        assert pool.root == ["a", "b", "c"]
    finally:
        pool.close()


def test_transaction_commit_of_growth_persists(big_pool):
    pool = big_pool
    pl = pool.new(PersistentList)
    pool.root = pl
    with pool.transaction():
        for i in range(3000):
            pl.append(i)
        pl.append(pool.new(PersistentList, ["nested"]))
    del pl
    pool = reopen(pool)
    try:
        assert pool.root[:3000] == list(range(3000))
        assert pool.root[-1] == ["nested"]
    finally:
        pool.close()


def test_abort_of_freeing_restores_the_freed_list(pool):
    pool.root = pool.new(PersistentList, [pool.new(PersistentList, ["deep", (1,)])])
    with pytest.raises(Boom):
        with pool.transaction():
            pool.root.clear()   # frees the inner list (no proxy holds it)
            raise Boom
    assert pool.root == [["deep", (1,)]]
    assert pool.gc()[1]["collected"] == 0


def test_pop_of_nested_list_rolled_back(pool):
    pool.root = pool.new(PersistentList, ["a", pool.new(PersistentList, ["nested"])])
    with pytest.raises(Boom):
        with pool.transaction():
            popped = pool.root.pop()
            assert popped == ["nested"]
            raise Boom
    # The popped list existed before the transaction: its proxy stays valid
    # and is the one the list gives back.
    assert popped is pool.root[1]
    del popped
    assert pool.root == ["a", ["nested"]]
    assert pool.gc()[1]["collected"] == 0


@pytest.mark.fixed_pool
def test_single_operation_failing_midway_changes_nothing(pool):
    """A core failure (here: the pool is full) leaves the list as it was,
    outside a transaction; inside one, it rolls the transaction back."""
    pl = pool.new(PersistentList, ["first"])
    pool.root = pl
    with pytest.raises(MemoryError, match="pool is full"):
        pl.extend(range(1_000_000))        # 16 MB of item array
    assert pl == ["first"]
    with pytest.raises(MemoryError, match="pool is full"):
        pl[0:0] = [b"x" * 100] * 1_000_000
    assert pl == ["first"]
    with pytest.raises(MemoryError):
        with pool.transaction():
            pl.append("second")
            pl.extend(range(1_000_000))
    assert pl == ["first"]
    pl.append("second")
    assert pl == ["first", "second"]
    _, counts = pool.gc()
    assert counts["collected"] == 0 and counts["substructures_freed"] == 0


def test_proxies_of_rolled_back_objects_raise(pool):
    pool.root = pool.new(PersistentList)
    with pytest.raises(Boom):
        with pool.transaction():
            made = pool.new(PersistentList, [1, 2])
            copied = pool.root[:]      # a new list too
            pool.root.append(made)
            raise Boom
    assert pool.root == []
    msg = "created in a transaction that was rolled back"
    for obj in (made, copied):
        for fn in (len, list, repr, lambda o: o[0], lambda o: o.append(1),
                   lambda o: o == [], lambda o: 1 in o, lambda o: o._p_oid,
                   lambda o: o.sort(), lambda o: o[:], iter):
            with pytest.raises(ValueError, match=msg):
                fn(obj)
        with pytest.raises(ValueError, match=msg):
            pool.root.append(obj)
        with pytest.raises(ValueError, match=msg):
            pool.root = obj
    assert pool.root == []


def test_proxy_of_object_from_committed_transaction_stays_valid(pool):
    with pool.transaction():
        made = pool.new(PersistentList, [1])
    pool.root = made
    with pytest.raises(Boom):
        with pool.transaction():
            made.append(2)
            raise Boom
    assert made == [1] and pool.root is made


def test_errors_caught_inside_a_transaction_do_not_abort_it(pool):
    pl = pool.new(PersistentList, [1, 2, 3])
    pool.root = pl
    empty = pool.new(PersistentList)
    raisers = [
        (IndexError, lambda: empty.pop()), (IndexError, lambda: pl.pop(10)),
        (IndexError, lambda: pl[10]), (IndexError, lambda: pl.__setitem__(10, 1)),
        (IndexError, lambda: pl.__delitem__(-10)),
        (ValueError, lambda: pl.remove("zz")), (ValueError, lambda: pl.index("zz")),
        (ValueError, lambda: pl.__setitem__(slice(None, None, 2), [1])),
        (TypeError, lambda: pl.append(object())), (TypeError, lambda: pl.extend(5)),
        (TypeError, lambda: pl.sort(key=1)), (TypeError, lambda: pl["a"]),
        (TypeError, lambda: pl.insert(0, [bytearray()])),
        (ZeroDivisionError, lambda: pl.sort(key=lambda v: 1 / 0)),
    ]
    with pool.transaction():
        pl.append(4)
        for exc, fn in raisers:
            with pytest.raises(exc):
                fn()
            pl.append("after " + exc.__name__)
    assert pl[:4] == [1, 2, 3, 4] and len(pl) == 4 + len(raisers)
    del pl, empty
    pool = reopen(pool)
    try:
        assert len(pool.root) == 4 + len(raisers)
    finally:
        pool.close()


def test_operations_in_nested_transactions(pool):
    pl = pool.new(PersistentList)
    pool.root = pl
    with pool.transaction():
        pl.append(1)
        with pool.transaction():
            pl.append(2)
        pl.append(3)
    assert pl == [1, 2, 3]
    with pytest.raises(Boom):
        with pool.transaction():
            pl.append(4)
            with pool.transaction():
                pl.append(5)
            raise Boom
    assert pl == [1, 2, 3]


# --- other pools and closed pools ----------------------------------------------------

def test_object_of_another_pool_is_refused(pool, pool_dir):
    other = pmemobj.create(str(pool_dir / "other.pool"))
    try:
        foreign = other.new(PersistentList, ["foreign"])
        pl = pool.new(PersistentList, [1])
        pool.root = pl
        for fn in (lambda: pl.append(foreign), lambda: pl.insert(0, foreign),
                   lambda: pl.__setitem__(0, foreign), lambda: pl.extend([2, foreign]),
                   lambda: pl.__setitem__(slice(0, 0), [foreign]),
                   lambda: pl.__setitem__(slice(None, None, -1), [foreign]),
                   lambda: pl.__iadd__([foreign]), lambda: pool.new(PersistentList, [foreign]),
                   lambda: pl.append((1, foreign)), lambda: setattr(pool, "root", foreign)):
            with pytest.raises(ValueError, match="belong to one pool") as info:
                fn()
            assert "other.pool" in str(info.value) and "test.pool" in str(info.value)
            assert pl == [1]
        # Inside a transaction the refusal does not abort it.
        with pool.transaction():
            pl.append(2)
            with pytest.raises(ValueError, match="belong to one pool"):
                pl.append(foreign)
            pl.append(3)
        assert pl == [1, 2, 3]
        # Values (not proxies) of the other pool copy fine.
        pl.extend(foreign)
        assert pl == [1, 2, 3, "foreign"]
        assert foreign._p_pool is other
        # Comparing across pools is reading, which is fine.
        assert foreign == other.new(PersistentList, ["foreign"])
        assert pl[3:] == foreign
    finally:
        other.close()


def test_use_after_close_raises(pool_path):
    pool = pmemobj.create(pool_path)
    pl = pool.new(PersistentList, [1])
    pool.root = pl
    pool.close()
    for fn in (len, list, repr, lambda o: o[0], lambda o: o.append(1), lambda o: o == [1],
               lambda o: o.sort(), lambda o: o.pop(), lambda o: o.remove(1)):
        with pytest.raises(ValueError, match="closed"):
            fn(pl)


# --- bugs outside plist.c, tracked here -----------------------------------------------

def test_proxy_dying_inside_aborted_transaction_does_not_crash(pool_path, run_py):
    proc = run_py("""
        import sys, pmemobj
        from pmemobj import PersistentList
        pool = pmemobj.create(sys.argv[1])
        x = pool.new(PersistentList)     # committed; only the proxy holds it
        try:
            with pool.transaction() as t:
                try:
                    t.abort()
                except OSError:
                    pass
                del x                    # the proxy dies in the aborted transaction
        except Exception:
            pass
        print("alive")
    """, pool_path, check=False)
    assert proc.returncode == 0 and "alive" in proc.stdout


def test_index_reads_see_every_change(pool):
    # lst[i] reads inline items from the array and length of the list read
    # last while the pool is unchanged; every change must show up.
    a = pool.new(PersistentList, list(range(10)))
    b = pool.new(PersistentList, ["b"] * 3)
    assert a[-1] == 9 and a[3] == 3
    assert b[0] == "b" and a[0] == 0 and b[-1] == "b"    # two lists in turn
    del a[5:]                                           # shrinks
    assert a[-1] == 4
    with pytest.raises(IndexError):
        a[7]
    a.extend(range(100, 200))                           # grows: a new array
    assert a[-1] == 199 and a[5] == 100
    try:
        with pool.transaction():
            a[0] = "in tx"
            a.append("in tx")
            assert a[0] == a[-1] == "in tx"
            raise KeyError
    except KeyError:
        pass
    assert a[0] == 0 and a[-1] == 199                   # the rollback shows
    with pool.transaction():
        x = pool.new(PersistentList, [1, 2])
        assert x[1] == 2
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        a[0]


def test_iteration_sees_changes_made_while_it_runs(pool):
    # The iterator reads inline items from a cached array while the pool is
    # unchanged; every change (an operation, a rollback) must show up.
    pl = pool.new(PersistentList, list(range(10)))
    seen = []
    for i, v in enumerate(pl):
        seen.append(v)
        if i == 2:
            pl[5] = "changed"                  # ahead of the iterator
            pl.append(10)
        if i == 6:
            try:
                with pool.transaction():
                    pl[8] = "rolled back"
                    raise KeyError
            except KeyError:
                pass
        if i == 7:
            del pl[9:]                        # shrinks: iteration ends early
    assert seen == [0, 1, 2, 3, 4, "changed", 6, 7, 8]
    it = iter(pl)
    next(it)
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        next(it)


def test_index_on_both_sides_of_the_one_digit_fast_path(pool):
    # l[i] reads an exact int of one CPython digit (|i| < 2**30) without a
    # call; other indexes take PyNumber_AsSsize_t: both must agree with list.
    plain = list(range(10))
    lst = pool.new(PersistentList, plain)
    for i in (0, 9, -1, -10, 10, -11, 2**30 - 1, -(2**30 - 1), 2**30, -(2**30), 2**70,
              True, False):
        try:
            want = plain[i]
        except IndexError as e:
            with pytest.raises(IndexError) as got:
                lst[i]
            assert str(got.value) == str(e)
        else:
            assert lst[i] == want
