"""pool.check(), pmemobj.check(path), open(verify=True) and
pmemobj.salvage(src, dst): finding damage and getting the rest out.

Damage is written into the file's bytes (the pool maps the file shared,
so an open pool sees it at once); the strs it hits are long enough to be
heap objects with a checksum.  A test that damages or hashes its pool
makes it one file (pool_size, or the fixed_pool mark for the pool
fixture); the growable default is checked and salvaged in test_grow.py."""

import hashlib

import pytest

import pmemobj
from pmemobj import (CorruptPoolError, PersistentArray, PersistentDict, PersistentList,
                     PersistentSet, PersistentTuple)
from persistent_types import Node, Point

VICTIM = "the value that the test will damage"
OTHER = "a neighbour that stays intact here"


def flip(path, needle, delta=1):
    """Change one byte in the middle of the only copy of needle in the file."""
    with open(path, "r+b") as f:
        data = f.read()
        at = data.index(needle.encode())
        assert data.count(needle.encode()) == 1
        f.seek(at + len(needle) // 2)
        f.write(bytes([(data[at + len(needle) // 2] + delta) % 256]))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build(pool):
    shared = pool.new(PersistentList, [OTHER, 2**80])
    a = pool.new(Node, "first node of a cycle")
    b = pool.new(Node, "second node of a cycle", a)
    a.next = b
    pool.root = pool.new(PersistentDict, {
        "list": pool.new(PersistentList, [1, VICTIM, "short", (OTHER + "!", 2.5)]),
        "shared1": shared, "shared2": shared,
        "cycle": a,
        "point": pool.new(Point, 3, 4, label="a label of some length"),
        "set": pool.new(PersistentSet, {1, 2, "a member string, long"}),
        "tuple": pool.new(PersistentTuple, [OTHER + "?", shared]),
        "array": pool.new(PersistentArray, "d", [1.5, 2.5]),
        "frozen": frozenset({"x", OTHER + "#"}),
        "big": 2**100,
        "bytes": b"some bytes, long enough for the heap",
    })


def test_healthy_pool_checks_clean(pool):
    build(pool)
    report = pool.check()
    assert report["ok"] and report["problems"] == []
    assert report["live"] >= 12 and report["unreachable"] == 0
    assert report["examined"] >= report["live"]


def test_unreachable_objects_are_counted_not_problems(pool):
    a = pool.new(Node, "a cycle nobody holds")
    a.next = pool.new(Node, "its other half", a)
    del a
    report = pool.check()
    # The two nodes and the first one's name (the other name is short:
    # inline, not an object).
    assert report["ok"] and report["unreachable"] == 3
    pool.gc()
    assert pool.check()["unreachable"] == 0


@pytest.mark.damages_pool
@pytest.mark.fixed_pool
@pytest.mark.parametrize("needle", [VICTIM, OTHER + "!", "a label of some length"])
def test_check_finds_a_damaged_value(pool, pool_path, needle):
    build(pool)
    flip(pool_path, needle)
    report = pool.check()
    assert not report["ok"]
    assert len(report["problems"]) == 1
    offset, typ, problem = report["problems"][0]
    assert typ == "str" and "checksum" in problem and offset > 0
    # ...and says where it is, from the root.
    # (A value inside a plain tuple inside the list has no holder the
    # walk can ask: it is reported by offset only.)
    holder = {VICTIM: "root['list']", "a label of some length": "root['point']"}.get(needle)
    assert report["paths"] == ({offset: "a value inside " + holder} if holder else {})


@pytest.mark.damages_pool
@pytest.mark.fixed_pool
def test_check_names_the_path_of_a_damaged_container(pool, pool_path):
    build(pool)
    inner = pool.root["list"]
    pool.root["deep"] = pool.new(PersistentList, [0, pool.new(PersistentDict, {"k": inner})])
    off = inner._p_oid[1]
    # Damage the list's length so it claims more items than it has room for.
    with open(pool_path, "r+b") as f:
        f.seek(off + 16)
        saved = f.read(8)
        f.seek(off + 16)
        f.write((10**6).to_bytes(8, "little"))
    report = pool.check()
    assert not report["ok"]
    assert report["paths"][off] == "root['list']"    # the shortest of its two paths
    with open(pool_path, "r+b") as f:                # undone, so the pool closes
        f.seek(off + 16)
        f.write(saved)


def test_verify_turns_silent_damage_into_an_error(pool_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        build(pool)
    flip(pool_path, VICTIM)
    with pmemobj.open(pool_path) as pool:
        assert pool.root["list"][1] != VICTIM          # without verify: wrong, silently
        pool.verify = True
        with pytest.raises(CorruptPoolError, match="checksum"):
            pool.root["list"][1]
        assert pool.root["list"][2] == "short"          # the rest reads as before
    with pmemobj.open(pool_path, verify=True) as pool:
        assert pool.verify
        with pytest.raises(CorruptPoolError, match="checksum"):
            pool.root["list"][1]


BIG = int.from_bytes(b"a big int's magnitude", "little")


@pytest.mark.parametrize("value", [b"bytes of some length here", BIG, -BIG,
                                   (1, "a tuple's own str item", 2.5),
                                   frozenset({"member one of a set", 7})])
def test_every_checksummed_type_is_verified(pool_path, value):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentList, [value])
    with open(pool_path, "rb") as f:
        before = f.read()
    # Damage the value's payload: find it by its bytes (for numbers, the
    # little-endian magnitude; for containers, one item).
    if isinstance(value, int):
        needle = b"a big int's magnitude"
    elif isinstance(value, bytes):
        needle = value
    else:
        needle = next(x for x in value if isinstance(x, str)).encode()
    at = before.index(needle) + 3
    with open(pool_path, "r+b") as f:
        f.seek(at)
        f.write(bytes([before[at] ^ 0x10]))
    with pmemobj.open(pool_path, verify=True) as pool:
        if isinstance(value, (tuple, frozenset)):
            # The item is a str with its own checksum; the container's
            # checksum is over its items' hashes, so it fails too.
            assert not pool.check()["ok"]
        else:
            with pytest.raises(CorruptPoolError, match="checksum"):
                pool.root[0]
            assert not pool.check()["ok"]


def test_check_path_never_writes_to_the_file(pool_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        build(pool)
    flip(pool_path, VICTIM)
    before = digest(pool_path)
    report = pmemobj.check(pool_path)
    assert not report["ok"] and "checksum" in report["problems"][0][2]
    assert digest(pool_path) == before


def test_check_path_of_files_that_are_not_pools(tmp_path):
    junk = tmp_path / "junk.pool"
    junk.write_bytes(b"not a pool" * 1000)
    report = pmemobj.check(str(junk))
    assert not report["ok"] and report["problems"][0][1] == "pool"
    with pytest.raises(FileNotFoundError):
        pmemobj.check(str(tmp_path / "missing.pool"))


def test_salvage_copies_everything_from_a_healthy_pool(pool_path, tmp_path):
    with pmemobj.create(pool_path) as pool:
        build(pool)
    dst = str(tmp_path / "salvaged.pool")
    assert pmemobj.salvage(pool_path, dst) == []
    with pmemobj.open(dst) as pool:
        r = pool.root
        assert list(r["list"]) == [1, VICTIM, "short", (OTHER + "!", 2.5)]
        assert r["shared1"] is r["shared2"]                 # shared stays shared
        assert r["tuple"][1] is r["shared1"]
        assert r["cycle"].next.next is r["cycle"]           # the cycle stays a cycle
        assert r["cycle"].next.name == "second node of a cycle"
        p = r["point"]
        assert type(p) is Point and (p.x, p.y, p.label) == (3, 4, "a label of some length")
        assert p.norm2 == 25
        assert set(r["set"]) == {1, 2, "a member string, long"}
        assert list(r["array"]) == [1.5, 2.5] and r["array"].typecode == "d"
        assert r["frozen"] == frozenset({"x", OTHER + "#"})
        assert r["big"] == 2**100 and r["bytes"].startswith(b"some bytes")
        assert pool.check()["ok"]


def test_salvage_skips_what_is_damaged_and_says_where(pool_path, tmp_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        build(pool)
    flip(pool_path, VICTIM)
    flip(pool_path, "a label of some length")
    before = digest(pool_path)
    dst = str(tmp_path / "salvaged.pool")
    skipped = pmemobj.salvage(pool_path, dst)
    assert digest(pool_path) == before                      # src untouched
    assert sorted(path for path, _ in skipped) == ["root['list'][1]", "root['point'].label"]
    assert all("checksum" in why for _, why in skipped)
    with pmemobj.open(dst) as pool:
        r = pool.root
        assert list(r["list"]) == [1, "short", (OTHER + "!", 2.5)]
        assert (r["point"].x, r["point"].y) == (3, 4)
        assert not hasattr(r["point"], "label")
        assert r["shared1"] is r["shared2"]
        assert pool.check()["ok"]


def test_salvage_of_a_pool_that_cannot_open(tmp_path):
    junk = tmp_path / "junk.pool"
    junk.write_bytes(b"\0" * (8 << 20))
    with pytest.raises(CorruptPoolError, match="cannot salvage: .*junk.pool is not"):
        pmemobj.salvage(str(junk), str(tmp_path / "out.pool"))
    assert not (tmp_path / "out.pool").exists()


@pytest.mark.parametrize("delta,what", [(-1, "references reach it"),
                                        (+5, "would never be freed")])
def test_check_counts_the_references_to_each_object(pool, delta, what):
    import ctypes
    shared = pool.new(PersistentList, [1])
    pool.root = pool.new(PersistentList, [shared, shared])     # two references
    refcnt = ctypes.c_uint64.from_address(shared._p_mm.direct(shared._p_oid))
    assert refcnt.value == 2 and pool.check()["ok"]
    refcnt.value += delta
    report = pool.check()
    assert not report["ok"]
    (offset, typ, problem), = report["problems"]
    assert offset == shared._p_oid[1] and typ == "PersistentList" and what in problem
    refcnt.value -= delta
    assert pool.check()["ok"]
