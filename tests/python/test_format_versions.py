"""Pools written by earlier formats open, read as they were written, and are
marked current; pools of a newer format are refused.

Version 2 added short strs in slots, 3 the range log (src/rangelog.h), 4 the
word log (src/wordlog.h), 5 the compact layout of str, bytes, big-int and
pickle objects (src/value.h) and short big ints in slots (src/slot.h), 6
shaped PersistentObjects and the pool's shape table (src/shape.h), 7 small
tuples of small ints and short bytes in slots (src/slot.h), 8 small objects
without an allocation header (src/tx.c; in pools of 64 MiB or more).  An
older pool is built here the way such a pool was written: by taking back,
in the file, what the newer format added."""

import struct

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList, PersistentSortedDict


def root_version_offset(path):
    with open(path, "rb") as f:
        data = f.read()
    return data.index(b"PMOPYRT\0") + 8


def set_version(path, v):
    off = root_version_offset(path)
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(v.to_bytes(4, "little"))


def version_of(path):
    off = root_version_offset(path)
    with open(path, "rb") as f:
        f.seek(off)
        return int.from_bytes(f.read(4), "little")


@pytest.mark.parametrize("old", [1, 2, 3, 4, 5, 6, 7])
def test_older_pools_open_and_are_marked_current(pool_path, old):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentList, ["a str long enough for the heap", 1])
    assert version_of(pool_path) == pmemobj.FORMAT_VERSION == 8
    set_version(pool_path, old)      # a pool of a previous format
    if old < 4:
        # Without the word log's block (pmo_root.word_log, 96 bytes past
        # the version), as such a pool was written: the block left behind
        # is an orphan for gc.
        with open(pool_path, "r+b") as f:
            f.seek(root_version_offset(pool_path) + 96)
            f.write(bytes(16))
    with pmemobj.open(pool_path) as pool:
        assert version_of(pool_path) == 8     # before anything could be written
        assert list(pool.root) == ["a str long enough for the heap", 1]
        pool.root.append("short")
        # An insert the word log publishes: into a table that exists.
        pool.root.append(pool.new(PersistentDict, {"x": 0}))
        pool.root[-1]["k"] = 1
        del pool.root[-1]["x"]
    with pmemobj.open(pool_path) as pool:
        assert pool.root[-2] == "short"
        assert dict(pool.root[-1]) == {"k": 1}


def test_newer_versions_are_refused(pool_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE):
        pass
    set_version(pool_path, 9)
    with pytest.raises(ValueError, match="version 9.*written by a newer pmemobj"):
        pmemobj.open(pool_path)


# 40 bytes of data each: the compact object (24 + 41 bytes) and the wide
# one (32 + 41) fit the same block in either allocation class, so the
# file can be rewritten in place.
OLD_STR = "an older pool's str, of forty characters"
OLD_BYTES = b"older bytes, forty of them, the same \x00\xff!"
OLD_INT = -(2**318 + 0x1234567)


def magnitude(i):
    return abs(i).to_bytes((abs(i).bit_length() + 7) // 8, "little")


assert len(OLD_STR) == len(OLD_BYTES) == len(magnitude(OLD_INT)) == 40


def widen(path, data):
    """Rewrite the compact object holding data in the wide layout of
    format 4: flags without the size, a size word, the hash, the data."""
    with open(path, "r+b") as f:
        image = f.read()
        assert image.count(data) == 1
        obj = image.index(data) - 24
        refcnt, type_, flags, hash_ = struct.unpack_from("<QIIq", image, obj)
        assert flags & 2 and flags >> 2 == len(data)
        f.seek(obj + 12)
        f.write(struct.pack("<IQq", flags & 1, len(data), hash_) + data + b"\0")


def make_format4_pool(path):
    with pmemobj.create(path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentList, [OLD_STR, OLD_BYTES, OLD_INT])
    for data in (OLD_STR.encode(), OLD_BYTES, magnitude(OLD_INT)):
        widen(path, data)
    set_version(path, 4)


def test_wide_values_of_a_format4_pool_read_hash_and_verify(pool_path):
    make_format4_pool(pool_path)
    with pmemobj.open(pool_path, verify=True) as pool:
        assert list(pool.root) == [OLD_STR, OLD_BYTES, OLD_INT]
        assert pool.check()["ok"]
        types, _ = pool.gc(debug=True)
        assert types["str"] == types["bytes"] == types["int"] == 1
        # The stored hashes are Python's: the old values are found as keys.
        d = pool.new(PersistentDict)
        pool.root.append(d)
        for v in list(pool.root)[:3]:
            d[v] = 1
        assert all(d[v] == 1 for v in (OLD_STR, OLD_BYTES, OLD_INT))
        assert OLD_STR in pool.root and pool.root.index(OLD_INT) == 2
        pool.root.append(OLD_STR + "!")        # a new value: compact
    with open(pool_path, "rb") as f:
        image = f.read()
    new = image.index((OLD_STR + "!").encode())
    assert struct.unpack_from("<I", image, new - 12)[0] == 41 << 2 | 2
    with pmemobj.open(pool_path) as pool:
        assert pool.root[0] == OLD_STR and pool.root[-1] == OLD_STR + "!"


@pytest.mark.parametrize("damage", ["data", "size"])
def test_damaged_wide_values_are_found(pool_path, damage):
    make_format4_pool(pool_path)
    with open(pool_path, "r+b") as f:
        image = f.read()
        if damage == "data":
            f.seek(image.index(OLD_STR.encode()) + 3)
            f.write(b"?")
        else:                                   # past the end of the pool
            f.seek(image.index(OLD_STR.encode()) - 16)
            f.write(struct.pack("<Q", 1 << 40))
    with pmemobj.open(pool_path) as pool:
        report = pool.check()
        assert not report["ok"]
        assert ("checksum" if damage == "data" else "bad str object") in \
            report["problems"][0][2]
        pool.verify = True                      # reads check checksums
        with pytest.raises(pmemobj.CorruptPoolError):
            pool.root[0]


# --- PersistentObjects of format 5 and older: attribute tables -------------
#
# Before shapes an object was a table (src/object.h): the 16-byte head with
# flags "ATTR", len, cap, attrs (0: the pairs are inline), then pairs of
# {name index, value slot}.  The first instance of a class has 8 slots
# (144 bytes), room enough to rewrite it in place as a table of 3 pairs
# (112 bytes).

class Three(pmemobj.PersistentObject):
    def __init__(self):
        self.a = 1
        self.b = "a str long enough for the heap"
        self.c = 3.5


def make_table_object_pool(path):
    """A format-5 pool whose root is a Three stored as an attribute table."""
    with pmemobj.create(path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(Three)
        off = pool.root._p_oid[1]
    with open(path, "r+b") as f:
        f.seek(off + 8)
        code, flags = struct.unpack("<II", f.read(8))
        assert flags == 0x88000003        # shaped, 8 slots, shape a-b-c
        slots = f.read(3 * 16)
        f.seek(off + 12)
        f.write(struct.pack("<IQQQ", 0x41545452, 3, 3, 0))
        # names a, b, c were interned in that order: indices 0, 1, 2
        f.write(b"".join(struct.pack("<Q", i) + slots[16 * i:16 * i + 16] for i in range(3)))
    set_version(path, 5)


def test_attribute_tables_of_a_format5_pool_read_and_change(pool_path):
    make_table_object_pool(pool_path)
    with pmemobj.open(pool_path) as pool:
        t = pool.root
        assert (t.a, t.b, t.c) == (1, "a str long enough for the heap", 3.5)
        assert t._p_attr_names() == ["a", "b", "c"]
        assert pool.gc(debug=True)[1]["invalid"] == 0
        t.d = 4                          # the table grows out of its inline pairs
        del t.a
        t.b = "b"
        assert t._p_attr_names() == ["b", "c", "d"]
        assert pool.check()["ok"]
    with pmemobj.open(pool_path) as pool:
        t = pool.root
        assert (t.b, t.c, t.d) == ("b", 3.5, 4) and not hasattr(t, "a")
        fresh = pool.new(Three)          # new instances are shaped
        assert fresh._p_attr_names() == ["a", "b", "c"]
        assert pool.check()["ok"]


def test_a_damaged_attribute_table_of_a_format5_pool_is_found(pool_path):
    make_table_object_pool(pool_path)
    with pmemobj.open(pool_path) as pool:
        off = pool.root._p_oid[1]
    with open(pool_path, "r+b") as f:
        f.seek(off + 16)
        f.write(struct.pack("<QQ", 5, 3))  # len past cap
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError, match="bad object attribute table"):
            pool.root.a
    finally:
        with pytest.raises(pmemobj.CorruptPoolError):   # close's gc refuses it too
            pool.close()


def make_heap_tuple_pool(path):
    """A format-6 pool, whose tuples of small ints are heap tuples: each
    (7, 8, 9, d) stored now (four items: a heap tuple) is made (7, 8, 9)
    in the file, its length and every stored copy of its hash rewritten.
    d is picked so that both hashes pick the same first cell of an 8-cell
    index, where the dict's one entry was put."""
    d = next(d for d in range(10**6) if hash((7, 8, 9, d)) % 8 == hash((7, 8, 9)) % 8)
    four = (7, 8, 9, d)
    with pmemobj.create(path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentList, [
            four, pool.new(PersistentDict, {four: "d"}),
            pool.new(PersistentSortedDict, {four: "s", (7, 8): "lo", (7, 8, 10): "hi"})])
    old_hash, new_hash = (struct.pack("<q", hash(t)) for t in (four, (7, 8, 9)))
    head = struct.pack("<Q", 4) + old_hash     # the tuple's n and hash
    with open(path, "r+b") as f:
        image = f.read()
        assert image.count(head) == 3 and image.count(old_hash) == 4
        image = image.replace(head, struct.pack("<Q", 3) + old_hash)
        f.seek(0)
        f.write(image.replace(old_hash, new_hash))
    set_version(path, 6)


def test_heap_tuples_of_a_format6_pool_equal_inline_ones(pool_path):
    make_heap_tuple_pool(pool_path)
    with pmemobj.open(pool_path) as pool:
        lst = pool.root
        t, d, s = lst
        assert t == (7, 8, 9) and hash(t) == hash((7, 8, 9)) and type(t[0]) is int
        assert pool.gc()[0]["tuple"] == 3          # still on the heap
        assert d[(7, 8, 9)] == "d" and (7.0, 8, 9) in d
        d[(7, 8, 9)] = "d2"                        # the stored key stays
        assert len(d) == 1 and d[(7, 8, 9)] == "d2"
        assert s[(7, 8, 9)] == "s"
        s[(7, 8, 9)] = "s2"
        assert list(s.items()) == [((7, 8), "lo"), ((7, 8, 9), "s2"), ((7, 8, 10), "hi")]
        assert lst.index((7, 8, 9)) == 0
        lst.append((7, 8, 9))                      # inline, and equal
        assert lst[0] == lst[-1] and lst.count((7, 8, 9)) == 2
        assert pool.check()["ok"]
        assert pool.gc(debug=True)[1]["invalid"] == 0
