"""Small objects without an allocation header (src/tx.c, src/heapwalk.c).

In a pool of 64 MiB or more (the default growable pool included), every
object of up to 256 bytes comes from a header-less libpmemobj class, one
per 16-byte size: no 16-byte allocation header, no type number.  The run
an object lies in says it is an object, so a reference is checked against
the run's geometry instead of a header: these tests hold that check to
refusing what is not the start of such a block, and gc and the pool check
to treating the blocks as the objects they are.
"""

import ctypes
import re
import shutil
import subprocess

import pytest

import pmemobj
from helpers import slot_address
from pmemobj import PersistentList, PersistentObject


class Three(PersistentObject):
    def __init__(self, a, b, c):
        self.a = a
        self.b = b
        self.c = c


def units_in_use(path):
    """unit size -> used units of the closed pool at path (pmempool)."""
    exe = shutil.which("pmempool")
    if not exe:
        pytest.skip("pmempool not installed (Debian package pmdk-tools)")
    out = subprocess.run([exe, "info", "-s", path], capture_output=True, text=True,
                         check=True).stdout
    pairs = re.findall(r"Unit size\s*:\s*(\d+)\s+Units\s*:\s*\d+\s+Used units\s*:\s*(\d+)", out)
    used = {}
    for unit, n in pairs:
        used[int(unit)] = used.get(int(unit), 0) + int(n)
    return used


def fill(pool, n):
    pool.root = pool.new(PersistentList)
    with pool.transaction():
        for i in range(n):
            pool.root.append(pool.new(Three, i, "s%d" % i, i))


def test_objects_take_exactly_their_size(pool_path):
    """1,000 objects of 3 attributes: the first of the class with room for
    8 (144 bytes), the other 999 with a spare slot, blocks of 80 bytes
    (the head and 4 slots) with no allocation header; in a pool under 64
    MiB they carry one (96 bytes)."""
    with pmemobj.create(pool_path, pool_size=64 << 20) as pool:
        fill(pool, 1000)
    used = units_in_use(pool_path)
    assert used.get(80, 0) == 999 and used.get(144, 0) >= 1
    with pmemobj.open(pool_path) as pool:       # and read back after a reopen
        assert [o.b for o in pool.root[::250]] == ["s0", "s250", "s500", "s750"]
        assert pool.check()["ok"]
        # the list's head and a few tables of the runtime's own too
        assert 1001 <= pool.stats()["headerless_allocations"] < 1020
    small = pool_path + ".small"
    with pmemobj.create(small, pool_size=32 << 20) as pool:
        fill(pool, 100)
        assert pool.stats()["headerless_allocations"] == 0
    assert units_in_use(small).get(80, 0) == 0


def test_gc_treats_them_as_objects(pool):
    """An unreachable cycle of header-less objects is collected, the
    reachable ones stay, and the pool is sound after."""
    fill(pool, 50)
    with pool.transaction():
        a, b = pool.new(Three, 1, 2, None), pool.new(Three, 3, 4, None)
        a.c, b.c = b, a
    del a, b
    types, result = pool.gc()
    assert result["cycles"] == 2 and types["%s:Three" % __name__] == 50
    assert pool.check()["ok"] and pool.root[49].a == 49


def test_memory_manager_sees_an_object(pool):
    """The binding's MemoryManager asks the core for a block's type:
    a header-less object is a PObject there (no realloc, no free while it
    is referenced)."""
    fill(pool, 1)
    o = pool.root[0]
    with pool.transaction():
        with pytest.raises(ValueError, match="PObject"):
            pool.mm.realloc(o._p_oid, 200)
        with pytest.raises(ValueError):
            pool.mm.free(o._p_oid)


@pytest.mark.damages_pool
@pytest.mark.parametrize("shift", [16, 8, -16, 80 * 4000])
def test_a_reference_off_a_block_start_is_refused(pool, shift):
    """A damaged reference that points inside a header-less object, just
    before it, or at units of its run never allocated is an error, never
    an object read from the wrong place."""
    fill(pool, 3)
    off = ctypes.c_uint64.from_address(slot_address(pool.root, 1) + 8)
    off.value += shift
    with pytest.raises(pmemobj.CorruptPoolError):
        pool.root[1].a
