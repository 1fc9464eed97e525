"""gc(debug=True): unreachable objects are logged, and every reachable
container's invariants are checked before anything is collected."""

import ctypes
import logging

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList

POOL_SIZE = 32 << 20


@pytest.fixture
def big_pool(pool_path):
    pool = pmemobj.create(pool_path, pool_size=POOL_SIZE)
    yield pool
    pool.close()


def u64_at(obj, byte_offset):
    """The uint64 at byte_offset into obj's header in the mapped pool."""
    return ctypes.c_uint64.from_address(obj._p_mm.direct(obj._p_oid) + byte_offset)


# Header layouts (src/list.h, src/dict.h): a 16-byte pmo_head, then
LIST_LEN = 16          # pmo_list.len, then cap, items
DICT_USED = 16         # pmo_dict.used, then fill, nentries, size, table


def test_healthy_pool_validates_clean(big_pool):
    d = big_pool.new(PersistentDict, {i: "value number %d" % i for i in range(500)})
    for k in range(0, 500, 3):
        del d[k]                       # dummies in the index
    big_pool.root = big_pool.new(PersistentList, [d, (1, "x"), frozenset({2})])
    _, counts = big_pool.gc(debug=True)
    assert counts["invalid"] == 0
    assert counts["live"] > 300
    _, plain = big_pool.gc()
    assert "invalid" not in plain      # only checked in debug mode


def test_unreachable_objects_are_logged(big_pool, caplog):
    a = big_pool.new(PersistentList)
    b = big_pool.new(PersistentList, [a])
    a.append(b)                        # a cycle nothing persistent holds
    del a, b
    with caplog.at_level(logging.WARNING, logger="pmemobj"):
        _, counts = big_pool.gc(debug=True)
    assert counts["cycles"] == 2
    freed = [r for r in caplog.records if "freeing unreachable" in r.getMessage()]
    assert len(freed) == 2
    assert all("PersistentList" in r.getMessage() for r in freed)


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_broken_container_is_reported_and_nothing_collected(big_pool, caplog, kind):
    if kind == "list":
        victim = big_pool.new(PersistentList, range(10))
        field = u64_at(victim, LIST_LEN)
    else:
        victim = big_pool.new(PersistentDict, {i: i for i in range(10)})
        field = u64_at(victim, DICT_USED)
    big_pool.root = big_pool.new(PersistentList, [victim])
    garbage = big_pool.new(PersistentList)
    garbage.append(big_pool.new(PersistentList, [garbage]))   # an unreachable cycle
    del garbage
    field.value += 1000                # damage the header behind libpmemobj's back
    try:
        with caplog.at_level(logging.WARNING, logger="pmemobj"):
            with pytest.raises(OSError, match="invalid objects"):
                big_pool.gc(debug=True)
        problems = [r.getMessage() for r in caplog.records
                    if "invalid object" in r.getMessage()]
        assert len(problems) == 1 and str(victim._p_oid[1]) in problems[0]
    finally:
        field.value -= 1000
    _, counts = big_pool.gc(debug=True)  # repaired: the cycle is still there
    assert counts["invalid"] == 0 and counts["cycles"] == 2


# A PersistentObject's attribute table (src/object.h): the 16-byte head,
# len, cap, attrs, then the inline pairs of 24 bytes, {name index, value
# slot}.  A shaped object (the 16-byte head, then value slots) moves its
# attributes to such a table when they outgrow its slots: then head.flags
# has OBJ_SPILLED and slot 0 refers to the table.
OBJ_FLAGS_WORD = 8          # type and flags, one word
OBJ_SPILLED = 0x40000000 << 32
OBJ_SLOT0_VAL = 24
OBJ_ATTRS = 32
OBJ_PAIR0_NAME = 40
OBJ_PAIR = 24


def spill_table(big_pool, p, more):
    """Spill p into an attribute table, then add `more` attributes; the
    table's offset."""
    i = 0
    while not u64_at(p, OBJ_FLAGS_WORD).value & OBJ_SPILLED:
        setattr(p, "s%d" % i, i)
        i += 1
    for j in range(more):
        setattr(p, "m%d" % j, j)
    return u64_at(p, OBJ_SLOT0_VAL).value


@pytest.mark.parametrize("damage, message", [
    ("name out of the table", "names entry 1000000 of a name table of"),
    ("a name twice", "is set twice"),
    ("many pairs, a name twice", "is set twice"),
])
def test_attribute_names_are_validated(big_pool, damage, message, caplog):
    from persistent_types import Point
    p = big_pool.new(Point, 1, 2)
    table = spill_table(big_pool, p, 70 if damage.startswith("many") else 0)
    base = p._p_mm.direct((p._p_oid[0], table))
    table_attrs = ctypes.c_uint64.from_address(base + OBJ_ATTRS).value
    # 70 more: the pairs move to an array of their own
    assert bool(table_attrs) == damage.startswith("many")
    big_pool.root = p
    assert big_pool.gc(debug=True)[1]["invalid"] == 0
    at = (p._p_mm.direct((p._p_oid[0], table_attrs)) if table_attrs
          else base + OBJ_PAIR0_NAME)
    names = [ctypes.c_uint64.from_address(at + OBJ_PAIR * i) for i in range(2)]
    old = names[1].value
    names[1].value = 1000000 if damage.startswith("name out") else names[0].value
    try:
        with caplog.at_level(logging.WARNING, logger="pmemobj"):
            with pytest.raises(pmemobj.CorruptPoolError, match="1 invalid objects"):
                big_pool.gc(debug=True)
        assert any(message in r.getMessage() for r in caplog.records), caplog.records
    finally:
        names[1].value = old
    assert big_pool.gc(debug=True)[1]["invalid"] == 0      # repaired
