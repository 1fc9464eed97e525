"""What a pool of one 8 MiB file (MIN_POOL_SIZE: create(path,
pool_size=MIN_POOL_SIZE) or grow=False) holds.  (The default pool grows,
so it holds these and more: test_grow.py.)

libpmemobj gives each of its ~50 default allocation size classes runs of
whole 256 KiB chunks of its own, and those above 256 KiB runs of 16 to 19
chunks, so a program allocating many sizes used to fill the ~17 chunks of
a minimum pool with nearly empty runs: a growing list stopped at 1,013
items.  The runtime now allocates from two classes of its own (64-byte and
4 KiB units, an object spanning 1 to 64 of them) and whole chunks above
(tx.c, pmo_alloc_classes_init).  Targets of the footprint issue: 100,000
ints in a list, 5,000 three-attribute objects, 20,000 short str -> str
dict entries."""

import os
import re
import subprocess

import pytest

import pmemobj

from persistent_types import Point


@pytest.mark.fixed_pool
def test_8mib_pool_holds_100000_ints_in_a_list(pool):
    pl = pool.new(pmemobj.PersistentList)
    pool.root = pl
    for i in range(100_000):
        pl.append(i)
    assert len(pl) == 100_000 and pl[99_999] == 99_999


@pytest.mark.fixed_pool
def test_8mib_pool_holds_5000_three_attribute_objects(pool):
    pl = pool.new(pmemobj.PersistentList)
    pool.root = pl
    for i in range(5_000):
        p = pool.new(Point, i, -i)
        p.label = "p%d" % i
        pl.append(p)
    assert len(pl) == 5_000 and pl[4_999].label == "p4999"


@pytest.mark.fixed_pool
def test_8mib_pool_holds_10000_str_dict_entries(pool):
    d = pool.new(pmemobj.PersistentDict)
    pool.root = d
    for i in range(10_000):
        d["k%07d" % i] = "v%07d" % i
    assert len(d) == 10_000 and d["k0009999"] == "v0009999"


@pytest.mark.fixed_pool
def test_8mib_pool_holds_20000_str_dict_entries(pool):
    # Short strs live in their slots (no heap object each), and the table
    # of 32,768 cells (about 1 MB) fits one run of the small pool's 32 KiB
    # class while the old table is still held.  Before both, 10,922 fit.
    d = pool.new(pmemobj.PersistentDict)
    pool.root = d
    for i in range(20_000):
        d["k%07d" % i] = "v%07d" % i


@pytest.mark.fixed_pool
def test_full_pool_error_says_how_full_how_big_and_what_to_do(pool):
    pl = pool.new(pmemobj.PersistentList)
    pool.root = pl
    with pytest.raises(MemoryError, match=r"pool is full: cannot allocate \d+ bytes in "
                       r".*, a pool of 8\.0 MiB in which committed allocations take "
                       r"(\d+\.\d) MiB \((\d+)%; .*make it larger with "
                       r"pmemobj\.resize\(path, new_size\) or the command "
                       r"`pmemobj resize POOL SIZE`") as e:
        while True:
            pl.append(b"x" * 1000)
    m = re.search(r"take (\d+\.\d) MiB \((\d+)%", str(e.value))
    used = pool.check()["used_bytes"]     # the same allocations, counted by check
    assert float(m.group(1)) == round(used / 2**20, 1) and used > 2 << 20
    assert int(m.group(2)) == round(100 * used / (8 << 20))
    n = len(pl)
    pl.append(1)                       # small objects still fit: it keeps working
    assert len(pl) == n + 1


def test_runs_are_shared_by_objects_of_many_sizes(pool_path):
    # Objects of 570 sizes from 1 byte to 4 KB fill the runs they claim
    # (the default classes left one nearly empty run per size class).
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(pmemobj.PersistentList,
                             [b"x" * n for n in range(1, 4000, 7)])
    out = subprocess.run(["pmempool", "info", "-s", pool_path], capture_output=True,
                         text=True).stdout
    claimed = used = 0
    for block in out.split("Unit size")[1:]:
        fields = dict(l.split(":", 1) for l in block.splitlines() if ":" in l)
        unit = int(block.split(":", 1)[1].split()[0])
        if unit == 256 << 10:
            continue                           # whole chunks, not runs
        claimed += int(next(v for k, v in fields.items()
                            if k.strip() == "Bytes").split()[0])
        used += int(next(v for k, v in fields.items()
                         if k.strip() == "Used bytes").split()[0])
    assert claimed and used / claimed >= 0.5, out


@pytest.mark.fixed_pool
def test_stats_report_the_heap_space_and_the_objects_by_type(pool):
    s0 = pool.stats()
    assert s0["pool_bytes"] == os.path.getsize(pool.filename)
    assert 0 < s0["heap_bytes"] < s0["pool_bytes"]
    assert 0 < s0["free_bytes"] <= s0["heap_bytes"]
    assert 0 < s0["largest_free_bytes"] <= s0["free_bytes"]
    assert s0["used_bytes"] + s0["free_bytes"] <= s0["heap_bytes"]
    pool.root = pool.new(pmemobj.PersistentList, [b"x" * 1_500_000, "s" * 100, "t" * 100])
    s1 = pool.stats()
    assert s1["allocations"] >= s0["allocations"] + 4      # list, items, bytes, 2 strs
    assert s1["used_bytes"] >= s0["used_bytes"] + 1_500_000
    assert s1["free_bytes"] <= s0["free_bytes"] - 1_500_000
    assert s1["largest_free_bytes"] < s0["largest_free_bytes"]
    types = s1["objects_by_type"]
    assert types["bytes"] == s0["objects_by_type"].get("bytes", 0) + 1
    assert types["str"] >= s0["objects_by_type"].get("str", 0) + 2
    assert types["PersistentList"] >= 1
    pool.root = None
    pool.gc()
    assert pool.stats()["objects_by_type"].get("bytes", 0) == 0
