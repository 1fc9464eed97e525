"""Damage found in a pool raises pmemobj.CorruptPoolError: an OSError with
errno EIO that names the file and the offset where the damage was seen.

The damage is written at offsets into the pool's bytes, so each pool here
is one file (pool_size=MIN_POOL_SIZE), not the growable default."""

import contextlib
import errno
import struct

import pytest

import pmemobj


def test_corrupt_pool_error_is_an_oserror_with_eio():
    assert issubclass(pmemobj.CorruptPoolError, OSError)
    assert "CorruptPoolError" in pmemobj.__all__


def pool_with_list_items_at(pool_path, target):
    """Make a closed pool whose root is a list of 3 ints, then point the
    list's item array at offset target (pmo_list: a 16-byte head, len,
    cap, items); returns the list's offset."""
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    pool.root = pool.new(pmemobj.PersistentList, [1, 2, 3])
    list_off = pool.root._p_oid[1]
    pool.close()
    with open(pool_path, "r+b") as f:
        f.seek(list_off + 32)
        f.write(struct.pack("<Q", target))
    return list_off


def test_damaged_list_item_array_raises_corrupt_pool_error(pool_path):
    # Items at the pool header, which is no object of ours.
    list_off = pool_with_list_items_at(pool_path, 64)
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError) as info:
            list(pool.root)
        e = info.value
        assert e.errno == errno.EIO
        assert e.filename == pool_path
        assert e.offset == list_off
        assert str(e) == "[Errno 5] bad list (at offset %d): %r" % (
            list_off, pool_path)
    finally:
        with contextlib.suppress(pmemobj.CorruptPoolError):
            pool.close()


def test_reference_into_libpmemobj_metadata_is_refused(pool_path):
    # A list whose item array points into the lanes (libpmemobj's logs):
    # 16-aligned, inside the file, but no object of ours can be there.
    pool_with_list_items_at(pool_path, 8192 + 3072 * 10)
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError, match="bad list"):
            pool.root[0]
        with pytest.raises(pmemobj.CorruptPoolError):
            pool.root.append(4)              # and never a write there
    finally:
        with contextlib.suppress(pmemobj.CorruptPoolError):
            pool.close()


def test_invalid_utf8_and_invalid_tags_are_damage(pool_path):
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    pool.root = pool.new(pmemobj.PersistentList, ["marker-for-the-test", 7])
    list_off = pool.root._p_oid[1]
    pool.close()
    with open(pool_path, "r+b") as f:
        data = f.read()
        f.seek(data.index(b"marker-for-the-test") + 3)
        f.write(b"\xff")                           # no longer UTF-8
        items = struct.unpack_from("<Q", data, list_off + 32)[0]
        f.seek(items + 16)                        # the second slot's tag
        f.write(struct.pack("<Q", 99))
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError, match="invalid UTF-8") as info:
            pool.root[0]
        assert isinstance(info.value.__cause__, UnicodeDecodeError)
        with pytest.raises(pmemobj.CorruptPoolError, match="invalid tag 99"):
            pool.root[1]
    finally:
        with contextlib.suppress(pmemobj.CorruptPoolError):
            pool.close()


def test_closing_a_damaged_pool_leaves_it_unclean(pool_path):
    # gc at close meets the damage: close raises it, releases the pool, and
    # does not mark the pool clean, so the next open tries recovery again
    # (and meets the damage again) instead of trusting the file.
    pool_with_list_items_at(pool_path, 64)
    pool = pmemobj.open(pool_path)
    with pytest.raises(pmemobj.CorruptPoolError):
        pool.close()
    assert pool.closed
    with pytest.raises(pmemobj.CorruptPoolError):
        pmemobj.open(pool_path)              # recovery gc meets the damage again


def test_a_used_block_without_a_size_is_reported_by_gc_and_check(pool_path):
    # libpmemobj's own heap walk loops for ever on a used block whose
    # allocation header has no size.  pmemobj's walk (src/heapwalk.c)
    # checks the header first: gc raises, check reports, nothing is freed.
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    pool.root = pool.new(pmemobj.PersistentList, ["a str long enough for the heap"] * 3)
    off = pool.root._p_oid[1]
    pool.close()
    with open(pool_path, "r+b") as f:            # its 16-byte compact header
        f.seek(off - 16)
        f.write(bytes(16))
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError, match="has no size") as info:
            pool.gc()
        assert info.value.offset == off - 16
        report = pool.check()
        assert not report["ok"]
        assert ("heap" in [kind for _, kind, _ in report["problems"]]), report
        assert pool.stats()["frees"] == 0
    finally:
        with contextlib.suppress(pmemobj.CorruptPoolError):
            pool.close()


def test_damaged_dict_counters_are_corrupt_pool_error(pool_path):
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    pool.root = pool.new(pmemobj.PersistentDict, {"a": 1})
    off = pool.root._p_oid[1]
    pool.close()
    with open(pool_path, "r+b") as f:            # used (live entries) > nentries
        f.seek(off + 16)
        f.write(struct.pack("<Q", 1 << 40))
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError, match="bad hash table") as info:
            len(pool.root)
        assert info.value.offset == off
    finally:
        with contextlib.suppress(pmemobj.CorruptPoolError):
            pool.close()


@pytest.mark.parametrize("kind", ["dict", "set"])
def test_a_table_whose_count_disagrees_is_damage_not_a_change(pool, kind):
    # A live entry erased behind the table's back: iteration finds one
    # entry fewer than `used`.  Nothing changed the table, so that is
    # damage (the fuzzer's "zero 4 KiB in data" met it as a RuntimeError).
    import ctypes
    c = pool.new(pmemobj.PersistentDict, {i: i for i in range(5)}) if kind == "dict" \
        else pool.new(pmemobj.PersistentSet, range(5))
    pool.root = c
    addr = c._p_mm.direct(c._p_oid)
    base = addr - c._p_oid[1]
    size, table = (ctypes.c_uint64.from_address(addr + o).value for o in (40, 48))
    stride = 40 if kind == "dict" else 24
    key_tag = base + table + size * 4 + 2 * stride + 8      # entry 2's key tag
    ctypes.c_uint64.from_address(key_tag).value = 0
    with pytest.raises(pmemobj.CorruptPoolError, match="bad hash table"):
        list(c)
    with pytest.raises(pmemobj.CorruptPoolError):
        pool.gc(debug=True)
    ctypes.c_uint64.from_address(key_tag).value = 4          # PMO_TAG_INT: 2 again
    assert sorted(c) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("key", [12345, "short key", 2.5])
def test_a_damaged_key_is_found_by_check(pool, key):
    # The defect: a flipped byte in a stored key leaves a table
    # whose lookups silently miss.  check() recomputes each key's hash and
    # follows its probe sequence.
    import ctypes
    d = pool.new(pmemobj.PersistentDict, {key: "value", "other": 1})
    pool.root = d
    assert pool.check()["ok"]
    addr = d._p_mm.direct(d._p_oid)
    base = addr - d._p_oid[1]
    size, table = (ctypes.c_uint64.from_address(addr + o).value for o in (40, 48))
    val_word = base + table + size * 4 + 0 * 40 + 8 + 8     # entry 0: the key's payload
    w = ctypes.c_uint64.from_address(val_word)
    w.value ^= 1
    assert key not in d                                      # the silent miss
    report = pool.check()
    assert not report["ok"]
    assert any("hashes to" in p for _, _, p in report["problems"]), report
    w.value ^= 1
    assert key in d and pool.check()["ok"]


def test_a_zeroed_header_of_the_zone_holding_the_root_is_damage(pool_path):
    # A zone header of zeros is how libpmemobj marks a zone never used: it
    # opened such a pool, read the objects in the zone, and would have
    # formatted the zone afresh at the next allocation, over them.
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(pmemobj.PersistentList, ["keep me %d" % i for i in range(50)])
    with open(pool_path, "r+b") as f:
        heap = struct.unpack("<Q", f.read(4096 + 1048)[-8:])[0]   # descriptor's heap offset
        f.seek(heap + 1024)                                        # after the heap header
        assert struct.unpack("<I", f.read(4))[0] == 0xC3F0A2D2      # the zone's magic
        f.seek(heap + 1024)
        f.write(bytes(64))
    with pytest.raises(pmemobj.CorruptPoolError, match="zeroed header"):
        pmemobj.open(pool_path)
    assert not pmemobj.check(pool_path)["ok"]
