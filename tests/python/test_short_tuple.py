"""Tuples of at most three ints, each of which fits in 32 bits, live in their
slot (src/slot.h, STUP), not the heap.

The rule shows only in space: such a tuple reads back equal, with ints for
items, hashes as Python hashes it, is found as a key by equal tuples (of
floats too) and by a PersistentTuple, orders among other tuples in a sorted
dict, and a damaged or non-canonical slot is reported, not trusted."""

import contextlib
import ctypes
import random
import struct

import pytest

import pmemobj
from pmemobj import (PersistentDict, PersistentList, PersistentSet, PersistentSortedDict,
                     PersistentTuple)
from helpers import heap_count, keys_as_root, slot_address

INLINE = [(), (0,), (-1,), (1, 2), (1, 2, 3), (2**31 - 1, -2**31, 0), (0, 0, 0),
          (-5, 7), (12345, -678, 9)]
# Each fails one condition: a fourth item, an item past 32 bits (both
# signs), a bool, a float, a str, a big int, a nested tuple.
HEAP = [(1, 2, 3, 4), (2**31,), (-2**31 - 1, 0), (True, 1), (1, False), (1.0, 2),
        ("a",), (2**70,), ((1,), 2)]



def test_values_round_trip_across_reopen(pool_path):
    values = INLINE + HEAP
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentList, values)
    with pmemobj.open(pool_path) as pool:
        got = list(pool.root)
        assert got == values
        assert [[type(x) for x in t] for t in got] == [[type(x) for x in t] for t in values]
        assert all(type(t) is tuple for t in got)
        assert pool.check()["ok"]


def test_only_short_tuples_of_32_bit_ints_stay_off_the_heap(pool):
    pool.root = pool.new(PersistentList, INLINE)
    assert heap_count(pool, "tuple") == 0
    pool.root.extend(HEAP)
    # ((1,), 2) is a heap tuple holding an inline one
    assert heap_count(pool, "tuple") == len(HEAP)


def test_hashes_are_pythons(pool):
    d = pool.new(PersistentDict)
    pool.root = d
    for i, t in enumerate(INLINE + HEAP):
        d[t] = i
    assert {hash(k) for k in d} == {hash(t) for t in INLINE + HEAP}
    # A heap tuple holding an inline one is sealed with Python's hash too.
    outer = pool.new(PersistentDict, {((1, 2), "x"): 1})
    pool.root = outer
    assert outer[((1, 2), "x")] == 1


@pytest.mark.parametrize("kind", [PersistentDict, PersistentSet])
def test_keys_are_found_by_equal_tuples(pool, kind):
    c = keys_as_root(pool, kind, INLINE)
    for t in INLINE:
        assert t in c
        assert tuple(float(x) for x in t) in c     # (1.0, 2.0) == (1, 2)
        assert t + (0, 0, 0, 0) not in c
        assert pool.new(PersistentTuple, t) in c
    assert (1, 3) not in c and (1, 2, 4) not in c and (1, 2.5) not in c
    assert (True, 2) in c and 1 not in c and "x" not in c and None not in c
    if kind is PersistentDict:
        c[(1.0, 2.0)] = "again"                # an equal key keeps the stored one
        assert [k for k in c if k == (1, 2)] == [(1, 2)]
        assert type(next(k for k in c if k == (1, 2))[0]) is int
        assert c[(1, 2)] == "again"
    assert len(c) == len(INLINE)


def test_random_keys_against_a_dict(pool):
    rng = random.Random(7)
    d = pool.new(PersistentDict)
    pool.root = d
    model = {}
    for _ in range(2000):
        k = tuple(rng.choice([0, 1, -1, 2**31 - 1, -2**31, 2**31, 2.0, True])
                  for _ in range(rng.randrange(5)))
        if rng.random() < 0.3 and model:
            victim = rng.choice(list(model))
            del d[victim], model[victim]
        else:
            d[k] = model[k] = rng.random()
    assert dict(d) == model
    assert pool.check()["ok"]


def test_sorted_dict_orders_them_among_other_tuples(pool):
    rng = random.Random(3)
    keys = [tuple(rng.randrange(-3, 4) for _ in range(rng.randrange(4))) for _ in range(200)]
    keys += [(1, 2.5), (1, 2, 3, 4), (2**40,), (-2**40, 1), (1.5,), (0, 0, 0, 0, 0)]
    s = pool.new(PersistentSortedDict)
    pool.root = s
    for k in keys:
        s[k] = k
    expected = sorted(set(keys))
    assert list(s.keys()) == expected
    assert s[(1, 2)] == (1, 2) if (1, 2) in keys else True
    assert s.bisect_left((0,)) == sum(1 for k in expected if k < (0,))


def test_an_autocommitted_insert_of_one_allocates_and_logs_nothing(pool):
    d = pool.new(PersistentDict, {0: 0})
    pool.root = d
    before = pool.stats()
    d[(1, 2, 3)] = (4, 5)                    # both inline: the word log
    after = pool.stats()
    assert after["published"] == before["published"] + 1
    assert after["allocs"] == before["allocs"]
    assert after["snapshots"] == before["snapshots"]
    assert d[(1, 2, 3)] == (4, 5)


def test_overwriting_one_with_the_same_first_item_is_one_atomic_store(pool):
    # The tag word holds the length and the first item, the payload word the
    # other two: a tuple that differs only there is the scalar overwrite.
    lst = pool.new(PersistentList, [(1, 2, 3)])
    pool.root = lst
    before = pool.stats()
    lst[0] = (1, -8, 9)
    after = pool.stats()
    assert after["atomic_stores"] == before["atomic_stores"] + 1
    assert after["snapshots"] == before["snapshots"]
    assert lst[0] == (1, -8, 9)


def stup(items, n=None, pad=0):
    """The two words of an STUP slot."""
    raw = bytes([9, len(items) if n is None else n]) + struct.pack("<H", pad)
    raw += b"".join(struct.pack("<i", x) for x in items).ljust(12, b"\0")
    return struct.unpack("<QQ", raw)


@pytest.mark.parametrize("words", [
    stup((1, 2, 3), n=4),                    # too many items
    stup((1, 2), n=1),                       # an item past the length
    stup((1,), n=0),
    stup((0, 0, 5), n=2),
    stup((1, 2), pad=1),                     # the two bytes after the length
    stup((1, 2, 3), n=200),
])
def test_non_canonical_slots_are_reported(pool, words):
    lst = pool.new(PersistentList, [(7, 8)])
    pool.root = lst
    slot = (ctypes.c_uint64 * 2).from_address(slot_address(lst, 0))
    good = tuple(slot)
    assert good == stup((7, 8))
    slot[0], slot[1] = words
    with pytest.raises(pmemobj.CorruptPoolError, match="invalid tag"):
        lst[0]
    with pytest.raises(pmemobj.CorruptPoolError, match="1 invalid objects"):
        pool.gc(debug=True)
    slot[0], slot[1] = good
    assert lst[0] == (7, 8)


def test_a_damaged_sorted_dict_key_is_reported(pool_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentSortedDict, {(1, 2): "v"})
    good = struct.pack("<QQ", *stup((1, 2)))
    with open(pool_path, "r+b") as f:
        image = f.read()
        assert image.count(good) == 1
        f.seek(image.index(good))
        f.write(struct.pack("<QQ", *stup((1, 2), n=5)))
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError, match="bad key slot"):
            (0, 0) in pool.root                  # compared in the core
        with pytest.raises(pmemobj.CorruptPoolError, match="invalid tag"):
            list(pool.root.keys())                 # read into Python
    finally:
        with contextlib.suppress(pmemobj.CorruptPoolError):
            pool.close()
