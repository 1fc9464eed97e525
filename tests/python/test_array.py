"""PersistentArray: array.array's API over persistent memory, with
zero-copy read-only views (memoryview, NumPy) and transactional writable
ranges."""

import array
import contextlib
import copy
import ctypes
import os
import pickle
import signal
import struct

import pytest
from hypothesis import given, settings, strategies as st

import pmemobj
from pmemobj import PersistentArray

np = pytest.importorskip("numpy")

TYPECODES = "bBuhHiIlLqQfd"


def new(pool, *args, **kw):
    return pool.new(PersistentArray, *args, **kw)


def sample(tc, n=5):
    if tc == "u":
        return "abcde"[:n]
    if tc in "fd":
        return [float(i) + 0.5 for i in range(n)]
    return list(range(n))


# --- the array.array API -------------------------------------------------------

@pytest.mark.parametrize("tc", TYPECODES)
def test_construct_read_and_reopen_every_typecode(pool_path, tc):
    pool = pmemobj.create(pool_path)
    ref = array.array(tc, sample(tc))
    a = new(pool, tc, sample(tc))
    pool.root = a
    assert a.typecode == tc and a.itemsize == ref.itemsize
    assert len(a) == len(ref) and a.tolist() == ref.tolist()
    assert a.tobytes() == ref.tobytes()
    assert a[1] == ref[1] and a[-1] == ref[-1] and a[1:4] == ref[1:4]
    assert a == ref and list(a) == ref.tolist()
    pool.close()
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root.tolist() == ref.tolist()
        assert pool.root.typecode == tc
    finally:
        pool.close()


def test_size_initializer_gives_zeros_and_repr(pool):
    a = new(pool, "i", 3)
    assert a.tolist() == [0, 0, 0]
    assert repr(a) == "PersistentArray('i', [0, 0, 0])"
    assert repr(new(pool, "d")) == "PersistentArray('d')"


OPS = st.one_of(
    st.tuples(st.just("append"), st.integers(-2**31, 2**31 - 1)),
    st.tuples(st.just("extend"), st.lists(st.integers(-100, 100), max_size=5)),
    st.tuples(st.just("insert"), st.integers(-8, 8), st.integers(-100, 100)),
    st.tuples(st.just("pop"), st.integers(-8, 8)),
    st.tuples(st.just("setitem"), st.integers(-8, 8), st.integers(-100, 100)),
    st.tuples(st.just("setslice"), st.integers(-8, 8), st.integers(-8, 8),
              st.lists(st.integers(-100, 100), max_size=4)),
    st.tuples(st.just("setext"), st.integers(-8, 8), st.integers(-8, 8),
              st.sampled_from([2, -1, -2, 3])),
    st.tuples(st.just("delslice"), st.integers(-8, 8), st.integers(-8, 8),
              st.sampled_from([1, 2, -1])),
    st.tuples(st.just("remove"), st.integers(-3, 3)),
    st.tuples(st.just("reverse"),),
)


def apply(obj, op):
    kind = op[0]
    if kind == "append":
        obj.append(op[1])
    elif kind == "extend":
        obj.extend(op[1])
    elif kind == "insert":
        obj.insert(op[1], op[2])
    elif kind == "pop":
        return obj.pop(op[1])
    elif kind == "setitem":
        obj[op[1]] = op[2]
    elif kind == "setslice":
        obj[op[1]:op[2]] = array.array("i", op[3])
    elif kind == "setext":
        s = slice(op[1], op[2], op[3])
        n = len(range(*s.indices(len(obj))))
        obj[s] = array.array("i", range(n))
    elif kind == "delslice":
        del obj[op[1]:op[2]:op[3]]
    elif kind == "remove":
        obj.remove(op[1])
    elif kind == "reverse":
        obj.reverse()


@settings(max_examples=40, deadline=None)
@given(st.lists(OPS, max_size=25))
def test_agrees_with_array_array(tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("arr") / "p.pool"
    with pmemobj.create(str(path)) as pool:
        ref = array.array("i", [1, 2, 3])
        a = new(pool, "i", [1, 2, 3])
        for op in ops:
            outcome = []
            for obj in (ref, a):
                try:
                    outcome.append(("ok", apply(obj, op)))
                except Exception as e:     # noqa: BLE001 -- compared below
                    outcome.append(("raise", type(e)))
            assert outcome[0] == outcome[1], op
            assert a.tolist() == ref.tolist(), op


def test_errors_are_the_array_modules(pool):
    a = new(pool, "b", [1, 2])
    for bad, exc in ((300, OverflowError), ("x", TypeError), (1.5, TypeError)):
        with pytest.raises(exc) as theirs:
            array.array("b", [bad])
        with pytest.raises(exc) as ours:
            a[0] = bad
        assert str(ours.value) == str(theirs.value)
    assert a.tolist() == [1, 2]
    with pytest.raises(IndexError, match="array index out of range"):
        a[2]
    with pytest.raises(IndexError, match="array assignment index out of range"):
        a[-3] = 0
    with pytest.raises(TypeError, match="array indices must be integers"):
        a["x"]
    with pytest.raises(ValueError, match="x not in array"):
        a.remove(9)
    with pytest.raises(IndexError, match="pop from empty array"):
        new(pool, "b").pop()
    with pytest.raises(ValueError, match="extended slice of size"):
        a[::2] = array.array("b", [1, 2, 3])


def test_bad_constructor_arguments(pool):
    with pytest.raises(ValueError, match="bad typecode"):
        new(pool, "z")
    with pytest.raises(TypeError):
        new(pool, "dd")
    with pytest.raises(ValueError, match="negative array size"):
        new(pool, "d", -1)
    with pytest.raises(ValueError, match="do not fill shape"):
        new(pool, "d", [1, 2, 3], shape=(2, 2))
    with pytest.raises(ValueError, match="dimensions"):
        new(pool, "d", shape=(1,) * 9)
    with pytest.raises(ValueError, match=">= 0"):
        new(pool, "d", shape=(2, -1))
    with pytest.raises(MemoryError):
        new(pool, "d", 1 << 62)


def test_plain_values_out(pool):
    a = new(pool, "h", [1, 2, 3])
    for plain in (a.to_python(), copy.copy(a), copy.deepcopy(a),
                  pickle.loads(pickle.dumps(a))):
        assert type(plain) is array.array and plain == array.array("h", [1, 2, 3])
    c = a.to_numpy()
    c[0] = 99                                   # a copy: the pool is untouched
    assert a[0] == 1


def test_resize_and_bytes(pool):
    a = new(pool, "H", [1, 2])
    a.resize(5)
    assert a.tolist() == [1, 2, 0, 0, 0]
    a.resize(1)
    a.resize(3)                                  # regrown items are zero again
    assert a.tolist() == [1, 0, 0]
    a.frombytes(struct.pack("=HH", 7, 8))
    a.fromlist([9])
    assert a.tolist() == [1, 0, 0, 7, 8, 9]
    with pytest.raises(TypeError):
        a.fromlist((1,))
    a.byteswap()
    assert a[0] == 256


# --- views ------------------------------------------------------------------------

def test_numpy_view_is_zero_copy_and_read_only(pool):
    a = new(pool, "d", [1.0, 2.0, 3.0])
    v = np.asarray(a)
    assert not v.flags.writeable
    assert v.sum() == 6.0
    a[0] = 10.0                                  # a transactional write ...
    assert v[0] == 10.0                          # ... seen through the view: no copy
    with pytest.raises(ValueError):
        v[0] = 1.0
    m = memoryview(a)
    with pytest.raises(TypeError, match="read-only"):
        m[0] = 1.0
    assert m.readonly and m.format == "d" and m.shape == (3,)
    del v, m


def test_writable_request_is_refused(pool):
    a = new(pool, "d", [1.0])
    import ctypes
    with pytest.raises((BufferError, TypeError)):
        (ctypes.c_double * 1).from_buffer(a)


def test_nd_view_has_the_shape(pool):
    a = new(pool, "i", range(6), shape=(2, 3))
    assert a.shape == (2, 3) and a.ndim == 2
    v = np.asarray(a)
    assert v.shape == (2, 3) and v[1, 2] == 5
    assert repr(a) == "PersistentArray('i', [0, 1, 2, 3, 4, 5], shape=(2, 3))"
    del v
    with pytest.raises(ValueError, match="2-dimensional"):
        a.append(1)


def test_no_resize_and_no_close_while_exported(pool_path):
    pool = pmemobj.create(pool_path)
    a = new(pool, "d", [1.0, 2.0])
    v = np.asarray(a)
    for change in (lambda: a.append(1.0), lambda: a.resize(10), lambda: a.pop(),
                   lambda: a.extend([1.0])):
        with pytest.raises(BufferError, match="exporting buffers"):
            change()
    with pytest.raises(BufferError, match="cannot close the pool"):
        pool.close()
    assert not pool.closed and a.tolist() == [1.0, 2.0]
    del v
    a.append(3.0)
    pool.close()


def test_writable_range_commits_and_rolls_back(pool):
    a = new(pool, "d", [0.0] * 8)
    with a.writable(2, 5) as w:
        assert not w.readonly and w.shape == (3,)
        np.asarray(w)[:] = [1, 2, 3]
    assert a.tolist() == [0, 0, 1, 2, 3, 0, 0, 0]
    with pytest.raises(KeyError):
        with pool.transaction():
            with a.writable() as w:
                np.asarray(w)[:] = 7
            a.append(1.0)
            raise KeyError
    assert a.tolist() == [0, 0, 1, 2, 3, 0, 0, 0]
    with a.writable(-2) as w:                   # negative lo, as in slicing
        w[0] = 9.0
        with pytest.raises(IndexError):
            w[2] = 1.0                           # outside the range
    assert a.tolist() == [0, 0, 1, 2, 3, 0, 9, 0]


def test_writable_view_is_dead_after_its_block(pool):
    a = new(pool, "i", [1, 2, 3])
    with a.writable() as w:
        pass
    with pytest.raises(ValueError, match="released"):
        w[0] = 5
    assert a.tolist() == [1, 2, 3]


def test_writable_view_that_escapes_rolls_back(pool):
    a = new(pool, "i", [1, 2, 3])
    kept = []
    with pytest.raises(BufferError, match="still in use"):
        with a.writable() as w:
            kept.append(np.asarray(w))
            kept[0][0] = 100
    assert a.tolist() == [1, 2, 3]               # the write was rolled back
    kept.clear()
    a.append(4)                                  # no export is left behind


def test_views_after_close_are_impossible(pool_path):
    pool = pmemobj.create(pool_path)
    a = new(pool, "d", [1.0])
    pool.root = a
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        memoryview(a)
    with pytest.raises(ValueError, match="closed"):
        a.writable()


# --- failures -----------------------------------------------------------------------

@pytest.mark.fixed_pool          # 800 MB would fit a growable pool
def test_full_pool_leaves_the_array_as_it_was(pool):
    a = new(pool, "d", [1.0, 2.0])
    with pytest.raises(MemoryError):
        a.resize(100_000_000)
    assert a.tolist() == [1.0, 2.0]
    a.append(3.0)


def test_killed_during_writable_is_all_or_nothing(run_py, pool_path):
    code = """
        import os, signal, sys, pmemobj, numpy as np
        pool = pmemobj.create(sys.argv[1], pool_size=32 << 20)
        pool.root = pool.new(pmemobj.PersistentArray, 'q', 100000)
        with pool.root.writable() as w:
            v = np.asarray(w)
            v[:50000] = 1
            os.kill(os.getpid(), signal.SIGKILL)
    """
    proc = run_py(code, pool_path, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with pmemobj.open(pool_path) as pool:
        assert not np.asarray(pool.root).any()   # nothing of the half-done write
        assert len(pool.root) == 100000


def test_damaged_array_header_raises_corrupt_pool_error(pool_path):
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)     # patched below
    pool.root = new(pool, "d", [1.0, 2.0])
    off = pool.root._p_oid[1]
    pool.close()
    with open(pool_path, "r+b") as f:             # len > cap
        f.seek(off + 16)
        f.write(struct.pack("<Q", 1 << 40))
    pool = pmemobj.open(pool_path)
    try:
        with pytest.raises(pmemobj.CorruptPoolError, match="bad array"):
            len(pool.root)
        with pytest.raises(pmemobj.CorruptPoolError):
            memoryview(pool.root)
    finally:
        with contextlib.suppress(pmemobj.CorruptPoolError):
            pool.close()


def test_gc_frees_the_data_block(pool):
    before = pool.stats()["frees"]
    a = new(pool, "d", range(1000))
    del a                                          # held by its proxy only
    assert pool.stats()["frees"] - before == 2     # the object and its block
    types, counts = pool.gc()
    assert "PersistentArray" not in types and counts["collected"] == 0


def _vm_flags(address):
    """The VmFlags of the mapping holding address, from /proc/self/smaps."""
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            words = line.split()
            head = words[0]
            if "-" in head and set(head) <= set("0123456789abcdef-"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and head == "VmFlags:":
                return words[1:]
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs Linux's smaps")
def test_the_pool_mapping_asks_for_huge_pages(pool):
    # madvise(MADV_HUGEPAGE) over the pool (pool.c): "hg" in its mapping's
    # flags.  Whether the kernel gives huge pages depends on the file
    # system (tmpfs's shmem_enabled, DAX); the advice is what we control.
    pool.root = pool.new(pmemobj.PersistentArray, "d", 8)
    oid = pool.root._p_oid
    flags = _vm_flags(pool.mm.direct(oid) - oid[1])
    assert flags is not None and "hg" in flags, flags
    # A growing pool's new parts are new mappings, advised as they come:
    # 8 MB of items need parts beyond the first (8 MiB) one.
    assert pool.growable
    pool.root = pool.new(pmemobj.PersistentArray, "d", 10**6)
    base = pool.mm.direct(oid) - oid[1]
    with pool.transaction(), pool.root.writable(10**6 - 1, 10**6) as v:
        # The last item's address, from the writable view's buffer.
        at = ctypes.addressof(ctypes.c_char.from_buffer(v))
    assert at - base > 8 << 20                              # past the first part
    flags = _vm_flags(at)
    assert flags is not None and "hg" in flags, flags


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs Linux's smaps")
def test_a_fixed_pool_mapping_asks_for_huge_pages(pool_path):
    with pmemobj.create(pool_path, pool_size=16 << 20) as pool:
        pool.root = pool.new(pmemobj.PersistentArray, "d", 8)
        oid = pool.root._p_oid
        flags = _vm_flags(pool.mm.direct(oid) - oid[1])
        assert flags is not None and "hg" in flags, flags
