"""Creating, opening and closing pools: create/open/PersistentObjectPool,
argument validation, close semantics, use after close, context manager,
closing on garbage collection and at interpreter exit, several pools at
once, and refusing a second open of a pool that is already open."""

import gc
import os
import pathlib
import stat

import pytest

import pmemobj

MIB = 1 << 20


def listing(directory):
    return sorted(os.listdir(directory))


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- MIN_POOL_SIZE ----------------------------------------------------------

def test_min_pool_size_is_libpmemobj_minimum():
    assert isinstance(pmemobj.MIN_POOL_SIZE, int)
    assert pmemobj.MIN_POOL_SIZE == 8 * MIB


# --- create -----------------------------------------------------------------

def test_create_makes_a_growable_pool_by_default(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        # On disk: the set file and the parts directory with its first part.
        assert os.path.isfile(pool_path) and pmemobj._is_pool_set(pool_path)
        assert sorted(os.listdir(os.path.dirname(pool_path))) == [
            "test.pool", "test.pool.parts"]
        assert os.listdir(pool_path + ".parts") == ["000000.pmem"]
        assert os.path.getsize(pool_path + ".parts/000000.pmem") == pmemobj.MIN_POOL_SIZE
        assert pool.growable is True
        stats = pool.stats()
        assert stats["pool_bytes"] == pmemobj.MIN_POOL_SIZE
        assert stats["max_size"] == pmemobj.GROW_DEFAULT_MAX
        assert pool.filename == pool_path
        assert isinstance(pool.filename, str)
        assert pool.closed is False
        assert pool.root is None
    finally:
        pool.close()
    assert pool.closed is True


@pytest.mark.parametrize("kw", [{"pool_size": pmemobj.MIN_POOL_SIZE}, {"grow": False}],
                         ids=["pool_size", "grow-False"])
def test_create_with_a_size_or_grow_false_makes_one_file(pool_path, kw):
    # pynvm's create(filename, pool_size=MIN_POOL_SIZE): one file, as before.
    pool = pmemobj.create(pool_path, **kw)
    try:
        assert os.path.isfile(pool_path) and not pmemobj._is_pool_set(pool_path)
        assert os.path.getsize(pool_path) == pmemobj.MIN_POOL_SIZE
        assert not os.path.exists(pool_path + ".parts")
        assert pool.growable is False
        assert pool.stats()["max_size"] == pmemobj.MIN_POOL_SIZE
    finally:
        pool.close()


def test_create_honours_pool_size(pool_path):
    pool = pmemobj.create(pool_path, pool_size=32 * MIB)
    try:
        assert os.path.getsize(pool_path) == 32 * MIB
        # 12 MiB does not fit in a minimum-size pool but does fit here.
        big = b"\xab" * (12 * MIB)
        pool.root = big
        assert pool.root == big
    finally:
        pool.close()
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == big
    finally:
        pool.close()


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_create_sets_file_mode(pool_path, mode):
    pmemobj.create(pool_path, mode=mode).close()
    got = os.stat(pool_path).st_mode & 0o777
    assert got == mode & ~current_umask()


def test_create_accepts_pathlike(pool_dir):
    path = pool_dir / "p.pool"
    assert isinstance(path, pathlib.Path)
    pool = pmemobj.create(path)
    try:
        assert pool.filename == str(path)
        assert isinstance(pool.filename, str)
        pool.root = "via Path"
    finally:
        pool.close()
    pool = pmemobj.open(path)
    try:
        assert pool.root == "via Path"
    finally:
        pool.close()


def test_create_existing_pool_raises_and_keeps_it(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = ("precious", 1)
    pool.close()
    with pytest.raises(FileExistsError) as info:
        pmemobj.create(pool_path)
    assert pool_path in str(info.value)
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == ("precious", 1)
    finally:
        pool.close()


def test_create_over_regular_file_raises_and_leaves_it(pool_path):
    with open(pool_path, "w") as f:
        f.write("not a pool, but mine\n")
    with pytest.raises(FileExistsError) as info:
        pmemobj.create(pool_path)
    assert isinstance(info.value, OSError)
    assert pool_path in str(info.value)
    with open(pool_path) as f:
        assert f.read() == "not a pool, but mine\n"


# --- open -------------------------------------------------------------------

def test_open_missing_raises_filenotfound(pool_path):
    with pytest.raises(FileNotFoundError) as info:
        pmemobj.open(pool_path)
    assert pool_path in str(info.value)
    assert not os.path.exists(pool_path)


def test_open_reads_back_what_was_stored(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = ("hello", 42)
    pool.close()
    pool = pmemobj.open(pool_path)
    try:
        assert pool.filename == pool_path
        assert pool.closed is False
        assert pool.root == ("hello", 42)
    finally:
        pool.close()


def test_reopen_many_times_keeps_latest_root(pool_path):
    pmemobj.create(pool_path).close()
    for i in range(5):
        pool = pmemobj.open(pool_path)
        assert pool.root == (None if i == 0 else i - 1)
        pool.root = i
        pool.close()
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == 4
    finally:
        pool.close()


# --- PersistentObjectPool flags ---------------------------------------------

def test_pop_default_flag_opens_existing(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = "existing"
    pool.close()
    pool = pmemobj.PersistentObjectPool(pool_path)
    try:
        assert pool.root == "existing"
    finally:
        pool.close()


def test_pop_default_flag_missing_raises_and_creates_nothing(pool_dir):
    path = str(pool_dir / "missing.pool")
    with pytest.raises(FileNotFoundError) as info:
        pmemobj.PersistentObjectPool(path)
    assert path in str(info.value)
    assert listing(pool_dir) == []


def test_pop_flag_w_missing_raises(pool_dir):
    path = str(pool_dir / "missing.pool")
    with pytest.raises(FileNotFoundError):
        pmemobj.PersistentObjectPool(path, flag="w")
    assert listing(pool_dir) == []


def test_pop_flag_w_opens_existing(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = 7
    pool.close()
    pool = pmemobj.PersistentObjectPool(pool_path, "w")
    try:
        assert pool.root == 7
    finally:
        pool.close()


def test_pop_flag_x_creates(pool_path):
    pool = pmemobj.PersistentObjectPool(pool_path, flag="x",
                                        pool_size=16 * MIB)
    try:
        assert pool.root is None
        assert os.path.getsize(pool_path) == 16 * MIB
    finally:
        pool.close()


def test_pop_flag_x_existing_raises(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = "keep me"
    pool.close()
    with pytest.raises(FileExistsError) as info:
        pmemobj.PersistentObjectPool(pool_path, flag="x")
    assert pool_path in str(info.value)
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == "keep me"
    finally:
        pool.close()


def test_pop_flag_c_creates_then_opens(pool_path):
    pool = pmemobj.PersistentObjectPool(pool_path, flag="c")
    try:
        assert pool.root is None
        assert pool.growable                        # the default, as create()
        pool.root = "made by c"
    finally:
        pool.close()
    # A second 'c' opens (pool_size is irrelevant for an existing pool).
    pool = pmemobj.PersistentObjectPool(pool_path, flag="c",
                                        pool_size=64 * MIB)
    try:
        assert pool.root == "made by c" and pool.growable
        assert pool.stats()["pool_bytes"] == pmemobj.MIN_POOL_SIZE
    finally:
        pool.close()
    assert os.listdir(pool_path + ".parts") == ["000000.pmem"]


def test_pop_flag_c_with_pool_size_creates_one_file(pool_path):
    pool = pmemobj.PersistentObjectPool(pool_path, flag="c", pool_size=16 * MIB)
    try:
        assert not pool.growable
        pool.root = "fixed"
    finally:
        pool.close()
    assert os.path.getsize(pool_path) == 16 * MIB
    with pmemobj.PersistentObjectPool(pool_path, flag="c") as pool:   # opens it
        assert pool.root == "fixed" and not pool.growable
    assert os.path.getsize(pool_path) == 16 * MIB


@pytest.mark.parametrize("flag", ["n", "a", "", "wx", "W", "X", "C", "R",
                                  "rw", "w+"])
def test_pop_bad_flag_raises_valueerror(pool_dir, flag):
    path = str(pool_dir / "p.pool")
    with pytest.raises(ValueError):
        pmemobj.PersistentObjectPool(path, flag=flag)
    assert listing(pool_dir) == []


def test_pop_bad_flag_on_existing_pool_leaves_it(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = "still here"
    pool.close()
    with pytest.raises(ValueError):
        pmemobj.PersistentObjectPool(pool_path, flag="n")
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == "still here"
    finally:
        pool.close()


# --- argument validation for creation ---------------------------------------

def creators():
    return [
        pytest.param(lambda path, **kw: pmemobj.create(path, **kw),
                     id="create"),
        pytest.param(lambda path, **kw: pmemobj.PersistentObjectPool(
            path, "x", **kw), id="pop-x"),
        pytest.param(lambda path, **kw: pmemobj.PersistentObjectPool(
            path, "c", **kw), id="pop-c"),
    ]


@pytest.mark.parametrize("make", creators())
@pytest.mark.parametrize("size", [0, 1, 4096, 8 * MIB - 1, -1])
def test_pool_size_below_minimum_raises_valueerror(pool_dir, make, size):
    path = str(pool_dir / "p.pool")
    with pytest.raises(ValueError) as info:
        make(path, pool_size=size)
    message = str(info.value)
    assert str(size) in message
    assert str(pmemobj.MIN_POOL_SIZE) in message
    assert listing(pool_dir) == []


@pytest.mark.parametrize("make", creators())
@pytest.mark.parametrize("size", ["8388608", float(8 * MIB), b"x", [8 * MIB]],
                         ids=["str", "float", "bytes", "list"])
def test_pool_size_wrong_type_raises_typeerror(pool_dir, make, size):
    with pytest.raises(TypeError):
        make(str(pool_dir / "p.pool"), pool_size=size)
    assert listing(pool_dir) == []


@pytest.mark.parametrize("make", creators())
@pytest.mark.parametrize("mode", ["0o666", 438.0, b"\x01"],
                         ids=["str", "float", "bytes"])
def test_mode_wrong_type_raises_typeerror(pool_dir, make, mode):
    with pytest.raises(TypeError):
        make(str(pool_dir / "p.pool"), mode=mode)
    assert listing(pool_dir) == []


@pytest.mark.parametrize("opener", [
    pytest.param(lambda p: pmemobj.create(p), id="create"),
    pytest.param(lambda p: pmemobj.open(p), id="open"),
    pytest.param(lambda p: pmemobj.PersistentObjectPool(p, "c"), id="pop-c"),
    pytest.param(lambda p: pmemobj.PersistentObjectPool(p, "x"), id="pop-x"),
])
def test_filename_with_nul_raises_valueerror(pool_dir, opener):
    with pytest.raises(ValueError):
        opener(str(pool_dir / "bad\0name.pool"))
    assert listing(pool_dir) == []


@pytest.mark.parametrize("opener", [
    pytest.param(lambda p: pmemobj.create(p), id="create"),
    pytest.param(lambda p: pmemobj.open(p), id="open"),
    pytest.param(lambda p: pmemobj.PersistentObjectPool(p, "c"), id="pop-c"),
    pytest.param(lambda p: pmemobj.PersistentObjectPool(p, "x"), id="pop-x"),
    pytest.param(lambda p: pmemobj.PersistentObjectPool(p, "w"), id="pop-w"),
])
def test_filename_in_missing_directory_raises_filenotfound(pool_dir, opener):
    path = str(pool_dir / "no-such-dir" / "p.pool")
    with pytest.raises(FileNotFoundError):
        opener(path)
    assert listing(pool_dir) == []


def test_create_with_too_large_size_fails_cleanly(pool_dir):
    # Far more than any tmpfs/disk here can hold (1 EiB): creation must fail
    # with an exception, not crash, and leave no file behind.
    path = str(pool_dir / "huge.pool")
    with pytest.raises((OSError, MemoryError, ValueError, OverflowError)):
        pmemobj.create(path, pool_size=1 << 60)
    assert listing(pool_dir) == []


# --- close and use after close ----------------------------------------------

def test_close_is_idempotent(pool):
    pool.root = 1
    pool.close()
    assert pool.closed is True
    pool.close()
    assert pool.closed is True


@pytest.mark.parametrize("use", [
    pytest.param(lambda p: p.root, id="get-root"),
    pytest.param(lambda p: setattr(p, "root", 5), id="set-root"),
    pytest.param(lambda p: p.transaction(), id="transaction"),
    pytest.param(lambda p: p.gc(), id="gc"),
])
def test_use_after_close_raises(pool, use):
    pool.root = ("before", "close")
    pool.close()
    with pytest.raises(ValueError, match="pool is closed"):
        use(pool)
    # And it keeps raising: the failure did not half-reopen anything.
    with pytest.raises(ValueError, match="pool is closed"):
        use(pool)


def test_set_root_after_close_changes_nothing(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = "final"
    pool.close()
    with pytest.raises(ValueError, match="pool is closed"):
        pool.root = "too late"
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == "final"
    finally:
        pool.close()


def test_value_read_before_close_survives_close(pool):
    pool.root = ("a", b"b", 10 ** 30)
    value = pool.root
    pool.close()
    # An immutable value read earlier is an ordinary Python object: it must
    # not point into the unmapped pool.
    assert value == ("a", b"b", 10 ** 30)


# --- context manager --------------------------------------------------------

def test_with_closes_on_exit(pool_path):
    with pmemobj.create(pool_path) as pool:
        assert pool.closed is False
        pool.root = "with"
    assert pool.closed is True
    with pmemobj.open(pool_path) as pool:
        assert pool.root == "with"
    assert pool.closed is True


def test_with_returns_the_pool(pool_path):
    pool = pmemobj.create(pool_path)
    with pool as entered:
        assert entered is pool
    assert pool.closed


def test_with_closes_on_exception(pool_path):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with pmemobj.create(pool_path) as pool:
            pool.root = "set before the error"
            raise Boom()
    assert pool.closed is True
    # Closed for real: reopening in this process is allowed.
    with pmemobj.open(pool_path) as pool:
        assert pool.root == "set before the error"


def test_with_pop_context(pool_path):
    with pmemobj.PersistentObjectPool(pool_path, "c") as pool:
        pool.root = 3
    with pmemobj.PersistentObjectPool(pool_path, "c") as pool:
        assert pool.root == 3


# --- implicit close -----------------------------------------------------------

def test_pool_closed_when_garbage_collected(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = ("dropped", "not closed")
    del pool
    gc.collect()
    # If the dropped pool were still open, this open would be refused.
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == ("dropped", "not closed")
    finally:
        pool.close()


def test_pool_in_reference_cycle_closed_by_gc(pool_path):
    pool = pmemobj.create(pool_path)
    pool.root = "cycle"
    holder = {"pool": pool}
    holder["self"] = holder
    del pool, holder
    gc.collect()
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == "cycle"
    finally:
        pool.close()


def test_pool_closed_at_interpreter_exit(pool_path, run_py):
    proc = run_py("""
        import sys, pmemobj
        pool = pmemobj.create(sys.argv[1])
        pool.root = ("exit", "without", "close", 10 ** 40)
        print("set")
    """, pool_path)
    assert proc.stdout.strip() == "set"
    assert "Traceback" not in proc.stderr
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == ("exit", "without", "close", 10 ** 40)
    finally:
        pool.close()


def test_pool_held_by_function_local_at_sys_exit(pool_path, run_py):
    proc = run_py("""
        import sys, pmemobj
        def main():
            pool = pmemobj.create(sys.argv[1])
            pool.root = "sys.exit"
            sys.exit(0)
        main()
    """, pool_path)
    assert "Traceback" not in proc.stderr
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == "sys.exit"
    finally:
        pool.close()


# --- gc ---------------------------------------------------------------------

def test_gc_returns_two_dicts_and_keeps_root(pool_path):
    pool = pmemobj.create(pool_path)
    value = ("gc", b"keep", 2 ** 100, frozenset({"a", "b"}), 1.5j)
    pool.root = value
    result = pool.gc()
    assert isinstance(result, tuple) and len(result) == 2
    type_counts, gc_counts = result
    assert isinstance(type_counts, dict)
    assert isinstance(gc_counts, dict)
    assert pool.root == value
    pool.close()
    pool = pmemobj.open(pool_path)
    try:
        assert pool.root == value
        pool.gc()
        assert pool.root == value
    finally:
        pool.close()


# --- several pools ----------------------------------------------------------

def test_two_pools_at_once_are_independent(pool_dir):
    a_path, b_path = str(pool_dir / "a.pool"), str(pool_dir / "b.pool")
    a = pmemobj.create(a_path)
    b = pmemobj.create(b_path)
    try:
        a.root = ("a", 1)
        b.root = ("b", 2)
        assert a.root == ("a", 1)
        assert b.root == ("b", 2)
        with a.transaction():
            a.root = ("a", 3)
        with pytest.raises(ZeroDivisionError):
            with b.transaction():
                b.root = ("b", 4)
                1 / 0
        assert a.root == ("a", 3)
        assert b.root == ("b", 2)
        a.close()
        # b keeps working after a is closed.
        b.root = ("b", 5)
        assert b.root == ("b", 5)
    finally:
        a.close()
        b.close()
    with pmemobj.open(a_path) as a, pmemobj.open(b_path) as b:
        assert a.root == ("a", 3)
        assert b.root == ("b", 5)


# --- a pool can be open only once -------------------------------------------

@pytest.mark.parametrize("opener", [
    pytest.param(lambda p: pmemobj.open(p), id="open"),
    pytest.param(lambda p: pmemobj.PersistentObjectPool(p), id="pop-w"),
    pytest.param(lambda p: pmemobj.PersistentObjectPool(p, "c"), id="pop-c"),
    pytest.param(lambda p: pmemobj.open(
        os.path.join(os.path.dirname(p), ".", os.path.basename(p))),
        id="other-spelling"),
])
def test_second_open_in_same_process_refused(pool_path, opener):
    holder = pmemobj.create(pool_path)
    try:
        holder.root = "held"
        with pytest.raises(OSError):
            second = opener(pool_path)
            second.close()
        # The holder is unaffected.
        assert holder.root == "held"
        holder.root = "still mine"
        assert holder.root == "still mine"
    finally:
        holder.close()
    with pmemobj.open(pool_path) as pool:
        assert pool.root == "still mine"


def test_open_refused_while_another_process_holds_pool(pool_path, spawn_py):
    pmemobj.create(pool_path).close()
    child = spawn_py("""
        import sys, pmemobj
        pool = pmemobj.open(sys.argv[1])
        pool.root = "child"
        print("open", flush=True)
        sys.stdin.readline()
        pool.root = ("child", "after refusal")
        print(repr(pool.root), flush=True)
        pool.close()
        pool = pmemobj.open(sys.argv[1])
        print(repr(pool.root), flush=True)
        pool.close()
        print("done", flush=True)
    """, pool_path)
    child.expect("open")
    with pytest.raises(OSError):
        pmemobj.open(pool_path).close()
    with pytest.raises(OSError):
        pmemobj.PersistentObjectPool(pool_path, "c").close()
    child.send("go")
    assert child.readline() == repr(("child", "after refusal"))
    assert child.readline() == repr(("child", "after refusal"))
    assert child.readline() == "done"
    assert child.wait() == 0
    with pmemobj.open(pool_path) as pool:
        assert pool.root == ("child", "after refusal")


def test_other_process_refused_while_we_hold_pool(pool_path, run_py):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = "parent"
        proc = run_py("""
            import sys, pmemobj
            try:
                p = pmemobj.open(sys.argv[1])
            except OSError as e:
                print("refused", type(e).__name__)
            else:
                print("opened", repr(p.root))
                p.close()
        """, pool_path)
        assert proc.stdout.startswith("refused"), proc.stdout + proc.stderr
        pool.root = ("parent", "after")
        assert pool.root == ("parent", "after")
    finally:
        pool.close()
    with pmemobj.open(pool_path) as pool:
        assert pool.root == ("parent", "after")


# --- file modes ------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode, expect", [
    (0o022, None, 0o644), (0o022, 0o666, 0o644), (0o077, 0o666, 0o600),
    (0o000, 0o640, 0o640), (0o022, 0o600, 0o600)])
def test_create_honours_umask_and_mode(pool_path, umask, mode, expect):
    old = os.umask(umask)
    try:
        kw = {} if mode is None else {"mode": mode}
        pmemobj.create(pool_path, **kw).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(pool_path).st_mode) == expect
