"""Regression tests from the crash-consistency / memory-safety audit.

Everything that could crash runs in a child interpreter (run_py): a bug
shows as a child killed by a signal, not as a dead test run.
"""

import struct

import pytest

import pmemobj

# --- a list shrunk by Python code run in the middle of an operation -------
#
# Storing a persist_via_pickle value runs the class's __reduce__ inside the
# operation, after the list operation has read the list's length.  If that
# code shrinks the list, the core must refuse the stale indices instead of
# moving a negative number of slots (a crash) or writing past the length
# (a leaked reference).

SHRINK = """
    import sys, pmemobj
    pool = pmemobj.create(sys.argv[1])
    lst = pool.new(pmemobj.PersistentList, [1, 2, 3])
    pool.root = lst

    class Shrink:
        def __reduce__(self):
            lst.clear()
            return (Shrink, ())

    pool.persist_via_pickle(Shrink)
    try:
        OP
    except Exception as e:
        print("ERROR", type(e).__name__)
    else:
        print("OK")
    print("LEN", len(lst))
    print("ITEMS", list(lst)[:3] if all(not isinstance(x, Shrink) for x in lst)
          else "shrink")
    print("GC", pool.gc()[1]["collected"])
    pool.close()
"""


def run_shrink(run_py, pool_path, op):
    proc = run_py(SHRINK.replace("OP", op), pool_path)
    return proc.stdout.split("\n")


def test_slice_assign_after_list_shrunk_by_pickling(run_py, pool_path):
    out = run_shrink(run_py, pool_path, "lst[1:2] = [Shrink()]")
    # The whole operation (the clear included) is rolled back.
    assert out[0] == "ERROR ValueError", out
    assert out[1] == "LEN 3", out
    assert out[2] == "ITEMS [1, 2, 3]", out


def test_insert_after_list_shrunk_by_pickling(run_py, pool_path):
    out = run_shrink(run_py, pool_path, "lst.insert(3, Shrink())")
    assert out[0] == "ERROR ValueError", out
    assert out[1] == "LEN 3", out


def test_setitem_after_list_shrunk_by_pickling(run_py, pool_path):
    # Without the check the value went into slot 2, past the length of 0:
    # a reference nothing traverses, that only gc could find.
    out = run_shrink(run_py, pool_path, "lst[2] = Shrink()")
    assert out[0] == "ERROR ValueError", out
    assert out[1] == "LEN 3", out
    assert out[3] == "GC 0", out


def test_extend_after_list_shrunk_by_pickling(run_py, pool_path):
    # extend clamps to the length read before converting the values.
    out = run_shrink(run_py, pool_path, "lst[0:3] = [Shrink(), 5]")
    assert out[0] == "ERROR ValueError", out
    assert out[1] == "LEN 3", out


# --- damaged pools: fields of C containers read by the binding ------------
#
# The proxy types read their object's header directly; a damaged item
# array offset, item count or capacity must give OSError, not a read
# outside the mapping.  Pool offsets are file offsets (one-file pool).

LIST_LEN, LIST_CAP, LIST_ITEMS = 16, 24, 32     # pmo_list
TUPLE_N = 16                                    # pmo_tuple
OBJ_LEN, OBJ_CAP, OBJ_ATTRS = 16, 24, 32        # pmo_object (attribute table)
OBJ_FLAGS, OBJ_SLOT0_VAL = 12, 24               # pmo_shaped: head.flags, values[0].val

READ_BACK = """
    import sys, pmemobj

    class Thing(pmemobj.PersistentObject):
        pass

    pool = pmemobj.open(sys.argv[1])
    try:
        r = pool.root
        print("READ", repr(READ)[:100])
    except (OSError, ValueError) as e:
        print("REFUSED", type(e).__name__)
    try:
        pool.close()      # its gc refuses the damaged object too
    except OSError:
        pass
"""


def patch(path, off, *fields):
    with open(path, "r+b") as f:
        for delta, value in fields:
            f.seek(off + delta)
            f.write(struct.pack("<Q", value))


def read_back(run_py, path, expr):
    proc = run_py(READ_BACK.replace("READ", expr), path)
    return proc.stdout.strip()


def make(pool_path, code):
    """Create a pool whose root is eval(code); return the root's offset.
    One file (not the growable default): the tests patch it at offsets."""
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    pool.root = eval(code, {"pool": pool, "pmemobj": pmemobj})
    off = pool.root._p_oid[1]
    pool.close()
    return off


def test_damaged_list_items_offset(run_py, pool_path):
    off = make(pool_path, "pool.new(pmemobj.PersistentList, [1, 2, 3])")
    patch(pool_path, off, (LIST_ITEMS, 1 << 50))
    assert read_back(run_py, pool_path, "r[0]") == "REFUSED CorruptPoolError"


def test_damaged_list_capacity_overflow(run_py, pool_path):
    # cap * 16 wraps to 16: a bounds check on that product passes.
    off = make(pool_path, "pool.new(pmemobj.PersistentList, [1, 2, 3])")
    huge = (1 << 60) + 1
    patch(pool_path, off, (LIST_LEN, huge), (LIST_CAP, huge))
    assert read_back(run_py, pool_path, "r[1 << 59]") == "REFUSED CorruptPoolError"


def test_damaged_tuple_length(run_py, pool_path):
    off = make(pool_path, "pool.new(pmemobj.PersistentTuple, (1, 2, 3))")
    patch(pool_path, off, (TUPLE_N, 1 << 40))
    assert read_back(run_py, pool_path, "r[(1 << 40) - 1]") == "REFUSED CorruptPoolError"


def make_thing(pool_path, n_attrs):
    """A pool whose root is a Thing with n_attrs attributes; its offset."""
    class Thing(pmemobj.PersistentObject):
        pass
    Thing.__module__ = "__main__"     # the class the child defines
    Thing.__qualname__ = "Thing"
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    with pytest.warns(UserWarning, match="defined in __main__"):
        t = pool.new(Thing)
    for i in range(n_attrs):
        setattr(t, f"a{i}", i)
    pool.root = t
    del t
    off = pool.root._p_oid[1]
    pool.close()
    return off


def test_damaged_object_attrs_offset(run_py, pool_path):
    # Past the shaped object's slots and the spill table's inline
    # capacity: slot 0 refers to a table whose pairs are a raw array.
    off = make_thing(pool_path, 80)
    with open(pool_path, "rb") as f:
        f.seek(off + OBJ_SLOT0_VAL)
        table = struct.unpack("<Q", f.read(8))[0]
    patch(pool_path, table, (OBJ_ATTRS, 1 << 50))
    assert read_back(run_py, pool_path, "r.a1") == "REFUSED CorruptPoolError"


@pytest.mark.parametrize("flags", [0x80FFFFFF, 0x82000003, 0xC3000000])
def test_damaged_shaped_header(run_py, pool_path, flags):
    # A shape the pool does not have; a shape longer than the object's
    # 3 slots; a spilled object whose slot 0 is an int, not a table.
    off = make_thing(pool_path, 3)
    assert read_back(run_py, pool_path, "r.a1") == "r.a1 1"
    with open(pool_path, "r+b") as f:
        f.seek(off + OBJ_FLAGS)
        f.write(struct.pack("<I", flags))
    assert read_back(run_py, pool_path, "r.a1") == "REFUSED CorruptPoolError"


# --- a transaction aborted by Python code run inside an operation ----------
#
# Pickling (and key comparisons) run user code in the middle of an
# operation.  If that code aborts the enclosing transaction and swallows
# the exception, the operation goes on: its next libpmemobj call in the
# aborted stage used to abort the whole process.

ABORT_INSIDE = """
    import sys, pmemobj
    pool = pmemobj.create(sys.argv[1])
    pool.root = lst = pool.new(pmemobj.PersistentList, [1, 2, 3])

    class Sneaky:
        def __reduce__(self):
            try:
                tx.abort()
            except OSError:
                pass
            return (Sneaky, ())

    pool.persist_via_pickle(Sneaky)
    try:
        with pool.transaction() as tx:
            lst.append(Sneaky())
    except Exception as e:
        print("ERROR", type(e).__name__)
    else:
        print("OK")
    print("LEN", len(lst))
    pool.close()
"""


def test_abort_inside_pickling_does_not_kill_the_process(run_py, pool_path):
    out = run_py(ABORT_INSIDE, pool_path).stdout.split("\n")
    assert out[0].startswith("ERROR"), out
    assert out[1] == "LEN 3", out
