"""The MemoryManager (pool.mm) and a persistent type written purely in
Python against it (persistent_types.Int64Array: int64 data in memory from
zalloc, read and written through direct() with ctypes)."""

import ctypes
import gc as pygc
from pathlib import Path

import pytest

import pmemobj
from pmemobj import (OID_NULL, POBJECT_TYPE_NUM, MemoryManager, Persistent,
                     PersistentList, PersistentObject)

from persistent_types import (ARRAY_TYPE_NUM, Int64Array, Node,
                              PlainInt64Array)

TESTS_DIR = Path(__file__).resolve().parent


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


@pytest.fixture(autouse=True)
def clear_log():
    Int64Array.deallocated.clear()
    yield
    Int64Array.deallocated.clear()


# --- the manager ------------------------------------------------------------

def test_manager_identity_and_constants(pool):
    mm = pool.mm
    assert isinstance(mm, MemoryManager)
    assert pool.mm is mm
    assert MemoryManager(pool) is mm
    assert mm.pool is pool
    assert OID_NULL == (0, 0) and mm.OID_NULL == OID_NULL
    assert POBJECT_TYPE_NUM == mm.POBJECT_TYPE_NUM
    lst = pool.new(PersistentList)
    assert lst._p_mm is mm


@pytest.mark.parametrize("call", [
    lambda mm: mm.alloc(16),
    lambda mm: mm.zalloc(16, type_num=ARRAY_TYPE_NUM),
    lambda mm: mm.free(OID_NULL),
    lambda mm: mm.realloc(OID_NULL, 16, ARRAY_TYPE_NUM),
    lambda mm: mm.zrealloc(OID_NULL, 16, ARRAY_TYPE_NUM),
    lambda mm: mm.snapshot_range(0, 8),
])
def test_raw_memory_outside_transaction_refused(pool, call):
    with pytest.raises(RuntimeError, match="outside a transaction"):
        call(pool.mm)


def test_alloc_direct_free(pool):
    mm = pool.mm
    before = pool.stats()["frees"]
    with mm.transaction():
        oid = mm.zalloc(64, type_num=ARRAY_TYPE_NUM)
        assert oid == mm.otuple(list(oid))
        arr = (ctypes.c_int64 * 8).from_address(mm.direct(oid))
        assert list(arr) == [0] * 8
        arr[3] = 1234                          # fresh memory: no snapshot
    assert (ctypes.c_int64 * 8).from_address(mm.direct(oid))[3] == 1234
    with mm.transaction():
        arr = (ctypes.c_int64 * 8).from_address(mm.direct(oid))
        mm.snapshot_range(ctypes.addressof(arr) + 8, 8)
        arr[1] = 7
    with pytest.raises(ZeroDivisionError):
        with mm.transaction():
            mm.snapshot_range(ctypes.addressof(arr) + 8, 8)
            arr[1] = 99
            1 / 0
    assert arr[1] == 7                        # rolled back
    with mm.transaction():
        big = mm.realloc(oid, 128)
        assert (ctypes.c_int64 * 2).from_address(mm.direct(big) + 8)[:] == [7, 0]
        z = mm.zrealloc(big, 256, ARRAY_TYPE_NUM)
        assert list((ctypes.c_int64 * 32).from_address(mm.direct(z))[16:]) == [0] * 16
        mm.free(z)
        mm.free(OID_NULL)
    assert pool.stats()["frees"] - before == 3    # two reallocs, one free
    assert mm.direct(OID_NULL) == 0


def test_oid_validation(pool):
    mm = pool.mm
    with pytest.raises(TypeError, match="oid"):
        mm.direct("nope")
    with pytest.raises(ValueError, match="does not belong"):
        mm.direct((12345, 4096))
    with pytest.raises(TypeError):
        mm.otuple((1, 2, 3))

    class COid(ctypes.Structure):
        _fields_ = [("pool_uuid_lo", ctypes.c_uint64), ("off", ctypes.c_uint64)]

    lst = pool.new(PersistentList)
    assert mm.otuple(COid(*lst._p_oid)) == lst._p_oid
    assert mm.otuple((5, 0)) == OID_NULL


def test_realloc_checks(pool):
    mm = pool.mm
    with mm.transaction():
        oid = mm.alloc(32, ARRAY_TYPE_NUM)
        with pytest.raises(ValueError, match="type number"):
            mm.realloc(oid, 64, ARRAY_TYPE_NUM + 1)
    with mm.transaction():
        head = mm.alloc(32, cls=Int64Array)
        with pytest.raises(ValueError, match="PObject"):
            mm.realloc(head, 64)
        with pytest.raises(ValueError, match="size"):
            mm.alloc(0, ARRAY_TYPE_NUM)
        with pytest.raises(ValueError, match="header"):
            mm.alloc(8, cls=Int64Array)
    # Left as garbage whose body was never initialised: gc must cope.
    types, counts = pool.gc()
    assert counts["orphans"] == 1 and counts["substructures_freed"] == 1


def test_pobject_alloc_needs_a_class(pool):
    mm = pool.mm
    with mm.transaction():
        with pytest.raises(RuntimeError, match="cls="):
            mm.alloc(32)
        oid = mm.alloc(32, POBJECT_TYPE_NUM, cls=Int64Array)
        refcnt, code = (ctypes.c_uint64 * 2).from_address(mm.direct(oid))
        assert refcnt == 0
        assert code & 0xffffffff == mm.type_code(Int64Array)
        mm.free(oid)
    assert mm.type_code(Int64Array) >= 256
    assert mm.type_code(Int64Array) != mm.type_code(PlainInt64Array)


def test_persist_resurrect_refcounts(pool):
    mm = pool.mm
    for value in (5, -1, 2.5, None, True, "text", b"b", (1, "a"), 2**90, 1j):
        oid = mm.persist(value)
        assert oid != OID_NULL
        assert mm.resurrect(oid) == value and type(mm.resurrect(oid)) is type(value)
        mm.incref(oid)                        # stored somewhere...
        mm.decref(oid)                        # ...and dropped: freed
    assert mm.resurrect(OID_NULL) is None
    lst = pool.new(PersistentList, [1])
    assert mm.persist(lst) == lst._p_oid
    assert mm.resurrect(lst._p_oid) is lst
    node = pool.new(Node, "n")
    assert mm.resurrect(mm.persist(node)) is node
    with pytest.raises(ValueError, match="already 0"):
        mm.decref(lst._p_oid)
    with pytest.raises(ValueError, match="OID_NULL"):
        mm.decref(OID_NULL)
    with pytest.raises(ValueError, match="OID_NULL"):
        mm.incref(OID_NULL)
    mm.xdecref(OID_NULL)
    with pytest.raises(TypeError, match="Don't know how to persist"):
        mm.persist([1, bytearray()])
    with pytest.raises(TypeError, match="Don't know how to persist"):
        mm.persist(object())
    # gc finds no garbage: the persisted values were freed by decref.
    assert pool.gc()[1]["collected"] == 0


def test_free_refuses_managed_objects(pool):
    mm = pool.mm
    lst = pool.new(PersistentList)
    pool.root = pool.new(Node, "n")
    with mm.transaction():
        with pytest.raises(ValueError, match="reference counting"):
            mm.free(lst._p_oid)
        with pytest.raises(ValueError, match="references to it"):
            mm.free(pool.root._p_oid)


def test_manager_of_closed_pool(pool_path):
    pool = pmemobj.create(pool_path)
    mm = pool.mm
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        mm.persist(1)
    with pytest.raises(ValueError, match="closed"):
        mm.transaction()


# --- a persistent type written in Python ------------------------------------

def test_python_type_basics(pool):
    a = pool.new(Int64Array, 4)
    assert isinstance(a, Persistent)
    assert a._p_mm is pool.mm and a._p_oid[1] != 0
    assert list(a) == [0, 0, 0, 0] and len(a) == 4
    a[0] = 10
    a[-1] = -(2**63)
    assert list(a) == [10, 0, 0, -(2**63)]
    with pytest.raises(IndexError):
        a[4]
    with pool.transaction():
        a[1] = 1
        a[2] = 2
    with pytest.raises(KeyError):
        with pool.transaction():
            a[1] = 100
            raise KeyError
    assert list(a) == [10, 1, 2, -(2**63)]
    assert pool.mm.resurrect(a._p_oid) is a     # identity while it lives


def test_python_type_persists_and_reopens(pool):
    lst = pool.new(PersistentList, ["payload"])
    a = pool.new(Int64Array, 3, ref=lst)
    for i in range(3):
        a[i] = (i + 1) * 111
    pool.root = a
    assert pool.root is a
    del a, lst
    pool = reopen(pool)
    try:
        a = pool.root
        assert type(a) is Int64Array
        assert list(a) == [111, 222, 333]
        assert list(a.ref) == ["payload"]
        assert pool.root is a and a.ref is a.ref
        a[0] = -5
    finally:
        pool.close()


def test_python_type_in_another_process(pool_path, run_py):
    pool = pmemobj.create(pool_path)
    pool.root = pool.new(PersistentList, [pool.new(Int64Array, 2, ref="s")])
    pool.root[0][1] = 77
    pool.close()
    proc = run_py(f"""
        import pmemobj
        pool = pmemobj.open({pool_path!r})
        a = pool.root[0]
        print(type(a).__name__, list(a), a.ref)
        a[0] = 5
        pool.close()
    """, extra_paths=[TESTS_DIR])
    assert proc.stdout.split() == ["Int64Array", "[0,", "77]", "s"]
    pool = pmemobj.open(pool_path)
    try:
        assert list(pool.root[0]) == [5, 77]
    finally:
        pool.close()


def test_python_type_traversed_by_gc(pool):
    # The list is referenced only from inside the array's memory.
    pool.root = pool.new(Int64Array, 2, ref=pool.new(PersistentList, [1, 2]))
    pygc.collect()
    types, counts = pool.gc()
    assert counts["collected"] == 0 and counts["substructures_freed"] == 0
    assert types["persistent_types:Int64Array"] == 1
    assert types["PersistentList"] >= 1
    pool = reopen(pool)                       # close runs gc with no live roots
    try:
        types, counts = pool.gc()
        assert counts["collected"] == 0
        assert list(pool.root.ref) == [1, 2]
    finally:
        pool.close()


def test_python_type_freed_when_unreferenced(pool):
    pool.root = pool.new(Int64Array, 8, ref=pool.new(PersistentList, [1]))
    oid = pool.root._p_oid
    pygc.collect()
    before = pool.stats()["frees"]
    pool.root = None
    # _p_deallocate ran (on a resurrected instance), then the PObject, its
    # data, the list and the list's items went.
    assert Int64Array.deallocated == [oid]
    assert pool.stats()["frees"] - before == 4
    types, counts = pool.gc()
    assert counts["collected"] == 0 and counts["substructures_freed"] == 0
    assert "persistent_types:Int64Array" not in types


def test_python_type_without_deallocate_freed_by_runtime(pool):
    pool.root = pool.new(PlainInt64Array, 8, ref="a str")
    pygc.collect()
    before = pool.stats()["frees"]
    pool.root = None
    assert Int64Array.deallocated == []
    assert pool.stats()["frees"] - before == 3   # PObject, data, str
    assert pool.gc()[1]["collected"] == 0


def test_unstored_python_object_freed_when_it_dies(pool):
    before = pool.stats()["frees"]
    a = pool.new(Int64Array, 4, ref="x")
    del a
    pygc.collect()
    assert len(Int64Array.deallocated) == 1
    assert pool.stats()["frees"] - before == 3
    assert pool.gc()[1]["collected"] == 0


def test_live_python_object_is_a_gc_root(pool):
    a = pool.new(Int64Array, 4, ref=pool.new(PersistentList, [3]))
    types, counts = pool.gc()
    assert counts["collected"] == 0
    assert list(a.ref) == [3]


def test_gc_collects_cycles_through_python_type(pool):
    lst = pool.new(PersistentList)
    a = pool.new(Int64Array, 4, ref=lst)
    lst.append(a)                             # a -> lst -> a
    pool.root = lst
    del a, lst
    pygc.collect()
    pool.root = None
    types, counts = pool.gc()
    assert counts["cycles"] == 2              # the array's PObject and the list
    assert counts["substructures_freed"] == 2  # its data and the list's items
    assert pool.gc()[1]["collected"] == 0


def test_python_type_in_containers_and_objects(pool):
    a = pool.new(Int64Array, 1)
    node = pool.new(Node, "holder", a)
    lst = pool.new(PersistentList, [a, (a, 1)])
    assert node.next is a and lst[0] is a and lst[1][0] is a
    pool.root = pool.new(PersistentList, [node, lst])
    del a, node, lst
    pool = reopen(pool)
    try:
        node, lst = pool.root
        assert node.next is lst[0] and lst[1][0] is lst[0]
        assert type(node.next) is Int64Array
    finally:
        pool.close()


def test_python_type_created_in_rolled_back_transaction(pool):
    with pytest.raises(KeyError):
        with pool.transaction():
            a = pool.new(Int64Array, 2)
            raise KeyError
    with pytest.raises(ValueError, match="rolled back"):
        pool.root = a
    assert pool.gc()[1]["collected"] == 0


def test_python_object_of_another_pool_refused(pool, pool_dir):
    other = pmemobj.create(str(pool_dir / "other.pool"))
    try:
        a = other.new(Int64Array, 1)
        with pytest.raises(ValueError, match="not a live persistent object"):
            pool.root = a
        with pytest.raises(ValueError):
            pool.mm.persist(a)
    finally:
        del a
        other.close()


def test_new_requires_the_persistent_api(pool):
    class NotPersistent:
        pass

    with pytest.raises(TypeError, match="Persistent API"):
        pool.new(NotPersistent)
    with pytest.raises(TypeError, match="Persistent API"):
        pool.mm.new(NotPersistent)

    class Slotted(Persistent):
        __slots__ = ("_p_mm", "_p_oid")

        def _p_new(self, mm):
            pass

        def _p_resurrect(self, mm, oid):
            pass

        def _p_traverse(self):
            return ()

        def _p_substructures(self):
            return ()

    with pytest.raises(TypeError, match="weak references"):
        pool.new(Slotted)


def test_persistent_abc():
    assert issubclass(Int64Array, Persistent)
    for t in (PersistentList, PersistentObject, pmemobj.PersistentTuple):
        assert issubclass(t, Persistent)

    class DuckTyped:
        def _p_new(self, mm): ...
        def _p_resurrect(self, mm, oid): ...
        def _p_traverse(self): ...
        def _p_substructures(self): ...

    assert issubclass(DuckTyped, Persistent)
    assert not issubclass(dict, Persistent)

    class Incomplete(Persistent):
        def _p_new(self, mm): ...

    with pytest.raises(TypeError):
        Incomplete()


def test_p_traverse_of_c_types(pool):
    s = "a string too long to be inline"
    lst = pool.new(PersistentList, [s, 1, None])
    (oid,) = lst._p_traverse()
    assert pool.mm.resurrect(oid) == s
    assert len(lst._p_substructures()) == 1
    node = pool.new(Node, "a name too long to be inline", lst)
    refs = node._p_traverse()                 # its name (a str) and the list
    assert len(refs) == 2 and lst._p_oid in refs
    assert node._p_substructures() == []      # the attributes fit inline


def test_threads_create_python_objects(pool):
    import threading
    errors = []
    made = []

    def work(k):
        try:
            for i in range(30):
                a = pool.new(Int64Array if k % 2 else PlainInt64Array, 2, ref=k)
                a[0] = k
                made.append(a)
        except Exception as e:                # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(made) == 120
    for a in made:
        k = a[0]
        assert type(a) is (Int64Array if k % 2 else PlainInt64Array)
        assert a.ref == k
    pool.root = pool.new(PersistentList, made)
    del made
    pool = reopen(pool)
    try:
        assert sorted(a[0] for a in pool.root) == sorted(list(range(4)) * 30)
        assert pool.gc()[1]["collected"] == 0
    finally:
        pool.close()


def test_many_python_objects_freed_at_once(pool):
    # More than the runtime frees in one transaction: the rest are freed
    # (and their _p_deallocate called) in transactions after the commit.
    n = 600
    with pool.transaction():
        pool.root = pool.new(PersistentList,
                             [pool.new(Int64Array, 2, ref=i) for i in range(n)])
    pygc.collect()
    Int64Array.deallocated.clear()
    before = pool.stats()["frees"]
    pool.root = None
    assert len(Int64Array.deallocated) == n
    # Each array: its PObject, its data and its boxed int; then the list
    # and its items.
    assert pool.stats()["frees"] - before == 3 * n + 2
    types, counts = pool.gc()
    assert counts["collected"] == 0 and counts["substructures_freed"] == 0


def test_long_chain_of_python_objects_freed_without_recursion(pool):
    # Each array's _p_deallocate decrefs the next: the runtime queues
    # rather than recursing, so the chain may be far deeper than Python's
    # recursion limit.
    n = 3000
    head = None
    with pool.transaction():
        for i in range(n):
            head = pool.new(Int64Array, 1, ref=head)
        pool.root = head
    del head
    pygc.collect()
    Int64Array.deallocated.clear()
    pool.root = None
    assert len(Int64Array.deallocated) == n
    assert pool.gc()[1]["collected"] == 0


class SelfFreeingArray(Int64Array):
    """A _p_deallocate that (wrongly) frees its own object too."""
    refusals = []

    def _p_deallocate(self):
        super()._p_deallocate()
        try:
            self._p_mm.free(self._p_oid)
        except ValueError as e:
            type(self).refusals.append(str(e))


def test_object_cannot_free_itself_from_p_deallocate(pool):
    SelfFreeingArray.refusals.clear()
    arr = pool.new(SelfFreeingArray, 3)     # only this Python object holds it
    oid = arr._p_oid
    del arr
    pygc.collect()
    assert SelfFreeingArray.refusals and "_p_deallocate" in SelfFreeingArray.refusals[0]
    # Freed exactly once: the heap is consistent and holds nothing more.
    types, counts = pool.gc(debug=True)
    assert counts["invalid"] == 0 and counts["collected"] == 0
    assert not any("SelfFreeingArray" in name for name in types), (types, oid)
