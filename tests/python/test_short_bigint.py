"""Ints beyond 64 bits whose magnitude takes at most 14 bytes live in their
slot (src/slot.h, SBIG), not the heap.

As for short strs, the rule shows only in space: such an int reads back
equal, hashes as Python hashes it, is found as a key by equal ints and
floats, orders among other numbers in a sorted dict, and a damaged or
non-canonical slot is reported, not trusted."""

import ctypes
import struct

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList, PersistentSet, PersistentSortedDict
from helpers import heap_count, keys_as_root, slot_address

# Both sides of each edge: int64, 8 and 14 bytes of magnitude (inline),
# 15 bytes (heap), with both signs.
EDGES = [2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**64 - 1, 2**64, -2**64,
         2**111, -(2**111), 2**112 - 1, -(2**112 - 1), 2**112, -(2**112),
         2**70 + 12345, -(2**100 + 7), 2**200]
INLINE = [v for v in EDGES if 2**63 <= abs(v) < 2**112 and v != -2**63]



def test_values_round_trip_across_reopen(pool_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentList, EDGES)
    with pmemobj.open(pool_path) as pool:
        got = list(pool.root)
        assert got == EDGES and all(type(v) is int for v in got)
        assert pool.check()["ok"]


def test_only_ints_of_more_than_14_bytes_are_heap_objects(pool):
    pool.root = pool.new(PersistentList, INLINE)
    assert heap_count(pool, "int") == 0
    pool.root.extend([2**112, -(2**112), 2**200])
    assert heap_count(pool, "int") == 3


@pytest.mark.parametrize("kind", [PersistentDict, PersistentSet])
def test_keys_are_found_by_equal_ints_and_floats(pool, kind):
    c = keys_as_root(pool, kind, EDGES)
    for v in EDGES:
        assert v in c
        assert (v + 256 in c) == (v + 256 in EDGES)
        if float(v) == v:                      # an integral float equals it
            assert float(v) in c
    assert 2.0**70 not in c                    # float(2**70 + 12345) is 2.0**70
    assert len(c) == len(EDGES)


def test_hashes_are_pythons(pool):
    # A tuple's stored hash combines its items' hashes, which the core
    # computes for inline big ints: lookups agree with Python's.
    d = pool.new(PersistentDict)
    pool.root = d
    for i, v in enumerate(EDGES):
        d[(v, i)] = i
    for i, v in enumerate(EDGES):
        assert d[(v, i)] == i
    assert {hash(k) for k in d} == {hash((v, i)) for i, v in enumerate(EDGES)}


def test_sorted_dict_orders_them_among_other_numbers(pool):
    keys = EDGES + [0, 1.5, -2.5, 2.0**64 + 2**12, -1e30, 1e30, 2**64 + 0.0]
    s = pool.new(PersistentSortedDict)
    pool.root = s
    for k in keys:
        s[k] = k
    expected = sorted(set(keys))       # 2**64 and 2.0**64 are one key
    assert list(s.keys()) == expected
    assert s[2**64] == 2**64 + 0.0
    assert s.bisect_left(2**111) == expected.index(2**111)


def test_an_autocommitted_insert_of_one_allocates_and_logs_nothing(pool):
    d = pool.new(PersistentDict, {0: 0})
    pool.root = d
    before = pool.stats()
    d[2**70] = -(2**80)                      # both inline: the word log
    after = pool.stats()
    assert after["published"] == before["published"] + 1
    assert after["allocs"] == before["allocs"]
    assert after["snapshots"] == before["snapshots"]
    assert d[2**70] == -(2**80)


def sbig(negative, mag):
    """The two words of an SBIG slot of the magnitude mag (bytes)."""
    raw = bytes([8, len(mag) | (0x80 if negative else 0)]) + mag.ljust(14, b"\0")
    return struct.unpack("<QQ", raw)


@pytest.mark.parametrize("negative,mag", [
    (False, (2**70).to_bytes(9, "little") + b"\0"),   # a zero top byte
    (False, (2**63 - 1).to_bytes(8, "little")),       # fits an int64
    (True, (2**63).to_bytes(8, "little")),            # -2**63 fits an int64
    (False, (2**50).to_bytes(7, "little")),           # too short
    (False, b"\x01" * 15),                            # too long
])
def test_non_canonical_slots_are_reported(pool, negative, mag):
    lst = pool.new(PersistentList, [2**70])
    pool.root = lst
    words = (ctypes.c_uint64 * 2).from_address(slot_address(lst, 0))
    good = tuple(words)
    assert good == sbig(False, (2**70).to_bytes(9, "little"))
    if len(mag) <= 14:
        words[0], words[1] = sbig(negative, mag)
    else:
        words[0] = (words[0] & ~0xFF00) | (15 << 8)
    with pytest.raises(pmemobj.CorruptPoolError, match="invalid tag"):
        lst[0]
    with pytest.raises(pmemobj.CorruptPoolError, match="1 invalid objects"):
        pool.gc(debug=True)
    words[0], words[1] = good
    assert lst[0] == 2**70


def test_padding_past_the_magnitude_must_be_zero(pool):
    lst = pool.new(PersistentList, [2**70])
    pool.root = lst
    words = (ctypes.c_uint64 * 2).from_address(slot_address(lst, 0))
    words[1] |= 1 << 56                        # byte 15, past 9 bytes
    with pytest.raises(pmemobj.CorruptPoolError, match="invalid tag"):
        lst[0]
    words[1] &= ~(1 << 56)
    assert lst[0] == 2**70
