"""gc's roots include every object a live proxy holds.  When the list of
those roots cannot be made (out of memory), gc must fail with MemoryError
and collect nothing -- not run as if there were no proxies."""

import pytest

import pmemobj

_testcapi = pytest.importorskip("_testcapi")


def test_gc_out_of_memory_for_roots_frees_nothing(pool):
    pool.root = pool.new(pmemobj.PersistentList)
    held = pool.new(pmemobj.PersistentList, [1, 2, 3])   # held by its proxy only
    gc = pool.gc
    try:
        with pytest.raises(MemoryError):
            _testcapi.set_nomemory(0, 1)   # the next allocation fails
            gc()
    finally:
        _testcapi.remove_mem_hooks()
    assert list(held) == [1, 2, 3]
    pool.root.append(held)             # still a live object: it can be stored
    pool.gc()
    assert list(pool.root[0]) == [1, 2, 3]
