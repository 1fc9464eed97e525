"""bytes of at most 14 bytes live in their slot (src/slot.h, SBYT, laid out
as a short str), not the heap.

Only space shows it: such bytes read back equal and of type bytes, are found
as keys and ordered in a sorted dict among longer bytes, never equal a str
of the same bytes, and damage to the slot is reported, not trusted."""

import ctypes
import struct

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList, PersistentSet, PersistentSortedDict
from helpers import heap_count, keys_as_root, slot_address

# Around the 14-byte boundary, with NULs and high bytes.
SAMPLES = [b"", b"a", b"\0", b"\0\0\0", b"\xff" * 3, b"x\0y"] + [b"b" * n for n in range(10, 18)]
SHORT = [b for b in SAMPLES if len(b) <= 14]



def test_values_round_trip_across_reopen(pool_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentList, SAMPLES)
        assert heap_count(pool, "bytes") == len(SAMPLES) - len(SHORT)
    with pmemobj.open(pool_path) as pool:
        got = list(pool.root)
        assert got == SAMPLES and all(type(b) is bytes for b in got)
        assert pool.check()["ok"]


@pytest.mark.parametrize("kind", [PersistentDict, PersistentSet])
def test_keys_are_found_and_never_equal_strs(pool, kind):
    c = keys_as_root(pool, kind, SAMPLES)
    assert len(c) == len(SAMPLES)
    for b in SAMPLES:
        assert b in c
        assert b + b"!" not in c
        assert b.decode("latin-1") not in c           # a str of the same bytes
    c2 = keys_as_root(pool, kind, [b.decode("latin-1") for b in SAMPLES])
    assert all(b not in c2 for b in SAMPLES) and len(c2) == len(SAMPLES)


def test_hashes_are_the_heap_forms(pool):
    # A tuple's stored hash is made from its items'; a lookup by an equal
    # tuple agrees.
    d = pool.new(PersistentDict)
    pool.root = d
    for i, b in enumerate(SAMPLES):
        d[(b, "x" * 20)] = i
    for i, b in enumerate(SAMPLES):
        assert d[(b, "x" * 20)] == i


def test_sorted_dict_orders_them_among_longer_bytes(pool):
    s = pool.new(PersistentSortedDict)
    pool.root = s
    for b in SAMPLES:
        s[b] = len(b)
    assert list(s.keys()) == sorted(SAMPLES)
    assert s[b"\0\0\0"] == 3 and s.bisect_left(b"b") == sorted(SAMPLES).index(b"b" * 10)


def test_an_autocommitted_insert_of_one_allocates_and_logs_nothing(pool):
    d = pool.new(PersistentDict, {0: 0})
    pool.root = d
    before = pool.stats()
    d[b"key"] = b"value"                   # both inline: the word log
    after = pool.stats()
    assert after["published"] == before["published"] + 1
    assert after["allocs"] == before["allocs"] and after["snapshots"] == before["snapshots"]
    assert d[b"key"] == b"value"


@pytest.mark.parametrize("damage", [
    lambda tag, val: (tag | (15 << 8), val),             # length 15 > 14
    lambda tag, val: (tag | (0x41 << 48), val),           # a byte past the length
    lambda tag, val: (tag, val | 1 << 63),
])
def test_damaged_inline_bytes_are_reported(pool, damage):
    lst = pool.new(PersistentList, [b"abc"])
    pool.root = lst
    slot = (ctypes.c_uint64 * 2).from_address(slot_address(lst, 0))
    good = tuple(slot)
    assert good == struct.unpack("<QQ", bytes([10, 3]) + b"abc".ljust(14, b"\0"))
    slot[0], slot[1] = damage(*good)
    with pytest.raises(pmemobj.CorruptPoolError, match="invalid tag"):
        lst[0]
    with pytest.raises(pmemobj.CorruptPoolError, match="1 invalid objects"):
        pool.gc(debug=True)
    slot[0], slot[1] = good
    assert lst[0] == b"abc"
