"""Short strs (at most 14 bytes of UTF-8) live in their slot, not the heap.

The rule is invisible to users except in space: every str must read back
equal, hash and compare equal to the same str stored as a heap object, and
damage to an inline str is reported, not trusted."""

import ctypes

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList, PersistentSet
from helpers import heap_count, slot_address

# Around the 14-byte boundary, in 1-, 2-, 3- and 4-byte characters, with
# a NUL, lone surrogates and the empty str.
SAMPLES = (
    ["", "a", "\0", "x\0y"]
    + ["a" * n for n in range(10, 18)]
    + ["é" * n for n in range(5, 9)]             # 2 bytes each: 10..16
    + ["€" * n for n in range(4, 6)]              # 3 bytes each: 12, 15
    + ["😀" * n for n in range(3, 5)]             # 4 bytes each: 12, 16
    + ["abcdefghijklm€", "\ud800", "a\udfffb" * 3]
)



def test_values_round_trip_across_reopen(pool_path):
    with pmemobj.create(pool_path) as pool:
        pool.root = pool.new(PersistentList, SAMPLES)
    with pmemobj.open(pool_path) as pool:
        assert list(pool.root) == SAMPLES
        assert [type(s) for s in pool.root] == [str] * len(SAMPLES)


def test_only_long_strs_are_heap_objects(pool):
    pool.root = pool.new(PersistentList, SAMPLES)
    longer = [s for s in SAMPLES if len(s.encode("utf-8", "surrogatepass")) > 14]
    assert heap_count(pool, "str") == len(longer)


@pytest.mark.parametrize("kind", [PersistentDict, PersistentSet])
def test_keys_of_both_forms_are_found(pool, kind):
    c = pool.new(kind)
    pool.root = c
    for s in SAMPLES:
        c.add(s) if kind is PersistentSet else c.__setitem__(s, s)
    assert len(c) == len(SAMPLES)
    for s in SAMPLES:
        assert s in c
        assert s + "!" not in c
        assert s.encode("utf-8", "surrogatepass") not in c   # bytes never equal str
    assert 1 not in c and None not in c and 1.5 not in c


def test_hashes_of_containers_holding_short_strs(pool):
    # A frozenset's and a tuple's stored hash is made from its items'; the
    # lookups must agree with Python's view that equal values are equal.
    d = pool.new(PersistentDict)
    pool.root = d
    for i, s in enumerate(SAMPLES):
        d[(s, i)] = i
        d[frozenset({s, "a much longer string than fourteen"})] = -i
    for i, s in enumerate(SAMPLES):
        assert d[(s, i)] == i
        assert d[frozenset({"a much longer string than fourteen", s})] == -i


def test_short_keys_and_values_allocate_nothing(pool_path):
    with pmemobj.create(pool_path) as pool:
        d = pool.new(PersistentDict, {"x": "short", "y": "é" * 7})
        pool.root = d
        assert heap_count(pool, "str") == 0
    with pmemobj.open(pool_path) as pool:
        assert pool.root == {"x": "short", "y": "é" * 7}


@pytest.mark.parametrize("damage,what", [
    (lambda tag: tag | (15 << 8), "invalid tag"),          # length 15 > 14
    (lambda tag: (tag & ~0xFFFFFFFF00) | (2 << 8) | (0xFFFF << 16), "invalid UTF-8"),
    (lambda tag: tag | (0x41 << 48), "invalid tag"),       # a byte past the length
])
def test_damaged_inline_str_is_reported(pool, damage, what):
    lst = pool.new(PersistentList, ["abc"])
    pool.root = lst
    tag = ctypes.c_uint64.from_address(slot_address(lst, 0))
    tag.value = damage(tag.value)
    with pytest.raises(pmemobj.CorruptPoolError, match=what):
        lst[0]
    if what == "invalid tag":                  # the list's check sees it too
        with pytest.raises(pmemobj.CorruptPoolError, match="1 invalid objects"):
            pool.gc(debug=True)
    tag.value = 7 | (3 << 8) | (int.from_bytes(b"abc", "little") << 16)
    assert lst[0] == "abc"
