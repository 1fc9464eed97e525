"""pmemobj.resize(path, new_size) and `pmemobj resize POOL SIZE`.

Resize copies the object graph into a new pool beside the old one and
renames it over the old one.  What must hold: everything reachable comes
back as it was (values, identity of shared objects, cycles, classes,
attribute names), the new file has the new size, and whatever goes wrong
-- bad arguments, a damaged or busy pool, a pool too full to shrink, a
fault injected into any libpmemobj call, a kill at any point -- leaves at
the path either the old file, byte for byte, or the complete new pool.
"""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

import pmemobj
from pmemobj import (CorruptPoolError, PersistentArray, PersistentDict, PersistentList,
                     PersistentObject, PersistentSet, PersistentTuple)
from pmemobj._pmemobj import _fault_calls, _fault_inject

from conftest import PYTHON_DIR, REPO_ROOT, child_env
from persistent_types import Int64Array, Node, Point, Slotted

LONG = "a str long enough to live on the heap, with a checksum"
M = 1 << 20


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build(pool, n=200):
    shared = pool.new(PersistentList, [LONG, 2**80])
    a = pool.new(Node, "first node of a cycle")
    b = pool.new(Node, "second node of a cycle", a)
    a.next = b
    pool.root = pool.new(PersistentDict, {
        "list": pool.new(PersistentList, ["item %d of the list, long enough" % i
                                          for i in range(n)]),
        "shared1": shared, "shared2": shared,
        "cycle": a,
        "point": pool.new(Point, 3, 4, label="a label of some length"),
        "set": pool.new(PersistentSet, {1, 2, "a member string, long enough"}),
        "tuple": pool.new(PersistentTuple, [LONG + "?", shared]),
        "array": pool.new(PersistentArray, "d", [1.5, 2.5]),
        "frozen": frozenset({"x", LONG + "#"}),
        "nested": {"plain": [1, {2: "two"}], 3.5: (None, True, b"bytes")},
        "big": 2**100, "complex": 1 + 2j, "short": "short",
    })


def snapshot(v, seen=None):
    """A plain, comparable picture of a stored value: identities of
    persistent objects become the order in which they were first met, so
    sharing and cycles are part of the picture."""
    seen = {} if seen is None else seen
    if isinstance(v, (pmemobj._PersistentBase, PersistentObject)):
        if v._p_oid in seen:
            return ("ref", seen[v._p_oid])
        seen[v._p_oid] = len(seen)
        if isinstance(v, (PersistentList, PersistentTuple)):
            return (type(v).__name__, [snapshot(x, seen) for x in v])
        if isinstance(v, PersistentDict):
            return ("dict", [(repr(k), snapshot(x, seen)) for k, x in
                             sorted(v.items(), key=lambda kv: repr(kv[0]))])
        if isinstance(v, PersistentSet):
            return ("set", sorted(repr(x) for x in v))
        if isinstance(v, PersistentArray):
            return ("array", v.typecode, v.tolist())
        cls = type(v)
        return (cls.__module__ + ":" + cls.__qualname__,
                [(n, snapshot(getattr(v, n), seen)) for n in sorted(v._p_attr_names())])
    if isinstance(v, tuple):
        return ("tuple", [snapshot(x, seen) for x in v])
    if isinstance(v, frozenset):
        return ("frozenset", sorted(repr(x) for x in v))
    return ("value", repr(v))


def picture(path):
    with pmemobj.open(path, flag="r") as pool:
        return snapshot(pool.root)


@pytest.fixture
def built(pool_path):
    # resize is for pools of one file: every pool here has a fixed size.
    with pmemobj.create(pool_path, pool_size=8 * M) as pool:
        build(pool)
    return pool_path


def no_leftovers(path):
    return not os.path.exists(path + ".resizing")


def test_grow_keeps_every_value_identity_cycle_class_and_attribute(built):
    os.chmod(built, 0o640)
    before = picture(built)
    pmemobj.resize(built, 64 * M)
    assert os.path.getsize(built) == 64 * M and no_leftovers(built)
    assert stat.S_IMODE(os.stat(built).st_mode) == 0o640
    assert picture(built) == before
    with pmemobj.open(built) as pool:
        r = pool.root
        assert r["shared1"] is r["shared2"] is r["tuple"][1]
        assert r["cycle"].next.next is r["cycle"]
        p = r["point"]
        assert type(p) is Point and p.norm2 == 25 and p._p_attr_names() == ["x", "y", "label"]
        assert pool.stats()["recovery_ns"] == 0          # closed cleanly
        assert pool.check()["ok"]
        r["list"].extend(range(10_000))                  # and it keeps working


def test_the_type_and_name_tables_keep_every_entry_at_its_index(built):
    with pmemobj.open(built) as pool:
        with pool.transaction():          # entries that no live object uses
            pool.new(Point, 0, 0, label="gone").extra = 1
            pool.new(Slotted)
        pool.gc()
        before = pool._tables()
        live = pool.check()["types"]
    paths, names = before
    assert "persistent_types:Slotted" in paths and "extra" in names
    assert not any("Slotted" in t for t in live)
    pmemobj.resize(built, 16 * M)
    with pmemobj.open(built) as pool:
        assert pool._tables() == before
        pool.root["point"].extra = 2      # a known name: no new entry
        assert pool._tables() == before


def test_seeding_tables_refuses_a_pool_that_has_entries(pool):
    pool.root = pool.new(Point, 1, 2)
    before = pool._tables()
    with pytest.raises(ValueError, match="'other:Class' would be entry 1, not 0"):
        pool._seed_tables(["other:Class"], [])
    with pytest.raises(TypeError, match="lists of str"):
        pool._seed_tables([1], [])
    assert pool._tables() == before       # the failed seeding rolled back


def test_shrink_when_the_objects_fit(pool_path):
    with pmemobj.create(pool_path, pool_size=64 * M) as pool:
        build(pool)
    before = picture(pool_path)

    class Size:                       # any integer type (numpy's too) will do
        def __index__(self):
            return 8 * M
    pmemobj.resize(pool_path, Size())
    assert os.path.getsize(pool_path) == 8 * M and picture(pool_path) == before


@pytest.mark.parametrize("size", [8 * M, 16 * M])
def test_shrink_refused_when_the_objects_do_not_fit(pool_path, size):
    with pmemobj.create(pool_path, pool_size=64 * M) as pool:
        pool.root = pool.new(PersistentList, [b"%d" % i * 400 for i in range(10_000)])
    before = digest(pool_path)
    with pytest.raises(ValueError, match="cannot resize .* to %d bytes: its " % size):
        pmemobj.resize(pool_path, size)
    assert digest(pool_path) == before and no_leftovers(pool_path)


def test_a_full_pool_resized_takes_more(pool_path):
    pool = pmemobj.create(pool_path, pool_size=8 * M)
    pool.root = pool.new(PersistentList)
    with pytest.raises(MemoryError, match=r"pmemobj\.resize\(path, new_size\)"):
        while True:
            pool.root.append(b"x" * 1000)
    n = len(pool.root)
    pool.close()
    pmemobj.resize(pool_path, 32 * M)
    with pmemobj.open(pool_path) as pool:
        assert len(pool.root) == n and pool.root[n - 1] == b"x" * 1000
        pool.root.extend([b"y" * 1000] * (2 * n))           # three times as much
        assert len(pool.root) == 3 * n


def test_a_pool_needing_recovery_is_recovered_on_a_copy(pool_path, run_py):
    # A child fills a pool and dies without closing it: the pool needs
    # recovery (gc), which resize runs on its private copy.
    run_py("""
        import os, sys
        sys.path.insert(0, "tests/python")
        import pmemobj
        from persistent_types import Node
        pool = pmemobj.create(sys.argv[1], pool_size=8 << 20)
        pool.root = pool.new(pmemobj.PersistentList, ["kept %d, long enough" % i
                                                      for i in range(100)])
        pool.new(Node, "garbage: reachable from nothing")
        os._exit(0)
    """, pool_path)
    pmemobj.resize(pool_path, 16 * M)
    with pmemobj.open(pool_path) as pool:
        assert pool.stats()["recovery_ns"] == 0              # the new pool is clean
        assert list(pool.root) == ["kept %d, long enough" % i for i in range(100)]
        assert pool.check()["live"] < 110                    # the garbage stayed behind


def test_a_damaged_pool_is_refused_with_the_problems(built):
    with open(built, "r+b") as f:
        data = f.read()
        at = data.index(b"a label of some length") + 5
        f.seek(at)
        f.write(b"#")
    before = digest(built)
    with pytest.raises(CorruptPoolError, match="check found 1 problem.*checksum.*salvage") as e:
        pmemobj.resize(built, 64 * M)
    assert len(e.value.problems) == 1 and e.value.filename == built
    assert digest(built) == before and no_leftovers(built)


def test_values_that_cannot_be_copied_stop_the_resize(pool_path):
    class Pickled:
        def __init__(self, v):
            self.v = v
    Pickled.__module__, Pickled.__qualname__ = "test_resize", "Pickled"
    globals()["Pickled"] = Pickled
    with pmemobj.create(pool_path, pool_size=8 * M) as pool:
        pool.persist_via_pickle(Pickled)
        pool.root = pool.new(PersistentDict, {"p": Pickled(5)})
    before = digest(pool_path)
    with pytest.raises(ValueError, match=r"refusing to load test_resize.Pickled "
                                         r".*name its class in pickle_types"):
        pmemobj.resize(pool_path, 16 * M)
    assert digest(pool_path) == before and no_leftovers(pool_path)
    pmemobj.resize(pool_path, 16 * M, pickle_types=[Pickled])   # named: it copies
    with pmemobj.open(pool_path) as pool:
        pool.persist_via_pickle(Pickled)
        assert pool.root["p"].v == 5


def test_persistent_types_written_in_python_are_refused(pool_path):
    with pmemobj.create(pool_path, pool_size=8 * M) as pool:
        pool.root = pool.new(PersistentList, [pool.new(Int64Array, 4)])
    before = digest(pool_path)
    with pytest.raises(ValueError, match=r"root\[0\] cannot be copied .*cannot copy a "
                                         r"Int64Array"):
        pmemobj.resize(pool_path, 16 * M)
    assert digest(pool_path) == before and no_leftovers(pool_path)


# --- bad input: a clear exception, and the file untouched ------------------

@pytest.mark.parametrize("size, exc, match", [
    (M, ValueError, "smaller than 8388608, the minimum pool size"),
    (-1, ValueError, "smaller than"),
    (0, ValueError, "smaller than"),
    ("64M", TypeError, "new_size must be an int, not str"),
    (64.0 * M, TypeError, "not float"),
    (True, TypeError, "not bool"),
    (None, TypeError, "not NoneType"),
])
def test_bad_sizes(built, size, exc, match):
    before = digest(built)
    with pytest.raises(exc, match=match):
        pmemobj.resize(built, size)
    assert digest(built) == before and no_leftovers(built)


def test_paths_that_are_not_pools(pool_dir):
    with pytest.raises(FileNotFoundError):
        pmemobj.resize(str(pool_dir / "missing.pool"), 16 * M)
    with pytest.raises(IsADirectoryError):
        pmemobj.resize(str(pool_dir), 16 * M)
    for name, content in [("junk.pool", os.urandom(8 * M)), ("small.txt", b"hello\n"),
                          ("set.pool", b"PMEMPOOLSET\nOPTION SINGLEHDR\n1G /tmp/x/\n")]:
        path = str(pool_dir / name)
        with open(path, "wb") as f:
            f.write(content)
        with pytest.raises(ValueError, match="not a pmemobj pool|growable pool") as e:
            pmemobj.resize(path, 16 * M)
        assert path in str(e.value)
        with open(path, "rb") as f:
            assert f.read() == content
        assert no_leftovers(path)


def test_a_read_only_file(built):
    os.chmod(built, 0o444)
    before = digest(built)
    with pytest.raises(PermissionError, match="read-only pool file"):
        pmemobj.resize(built, 16 * M)
    assert digest(built) == before and no_leftovers(built)


def test_a_pool_open_in_this_process(built):
    with pmemobj.open(built) as pool:
        before = digest(built)             # (opening marked it unclean)
        with pytest.raises(OSError, match="open in this process; close it first"):
            pmemobj.resize(built, 16 * M)
        assert digest(built) == before and no_leftovers(built)
        assert pool.root["short"] == "short"
    before = digest(built)
    with pmemobj.open(built, flag="r"):
        # A private copy, but libpmemobj opens one pool once per process.
        with pytest.raises(OSError, match=r"open in this process \(read-only\)"):
            pmemobj.resize(built, 16 * M)
    assert digest(built) == before and no_leftovers(built)
    pmemobj.resize(built, 16 * M)
    assert os.path.getsize(built) == 16 * M


def test_a_pool_open_in_another_process(built, spawn_py):
    child = spawn_py("""
        import sys, pmemobj
        pool = pmemobj.open(sys.argv[1])
        print("open", flush=True)
        sys.stdin.readline()
        pool.close()
    """, built)
    child.expect("open")
    before = digest(built)       # (the open marked it unclean: hash it now)
    with pytest.raises(OSError, match="open .*another process"):
        pmemobj.resize(built, 16 * M)
    assert digest(built) == before and no_leftovers(built)
    child.send("")
    assert child.wait() == 0
    pmemobj.resize(built, 16 * M)


def test_a_directory_that_is_not_writable(built):
    # The file is writable but its directory is not.  Root passes every
    # permission check, so as root the resize runs in a child without
    # the capabilities that override permissions (setpriv).
    d = os.path.dirname(built)
    before = digest(built)
    os.chmod(d, 0o555)
    try:
        if os.geteuid() != 0:
            with pytest.raises(PermissionError, match="is not writable"):
                pmemobj.resize(built, 16 * M)
        else:
            if not shutil.which("setpriv"):
                pytest.skip("needs setpriv to drop root's capabilities")
            r = subprocess.run(
                ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner",
                 sys.executable, "-c", "import sys, pmemobj\n"
                 "try:\n    pmemobj.resize(sys.argv[1], 16 << 20)\n"
                 "except PermissionError as e:\n    print('PermissionError:', e)",
                 built], env=child_env(), capture_output=True, text=True, timeout=60)
            assert "PermissionError:" in r.stdout and "is not writable" in r.stdout, \
                (r.stdout, r.stderr)
    finally:
        os.chmod(d, 0o755)
    assert digest(built) == before and no_leftovers(built)


# --- failures part way: the old pool or the whole new one -------------------

def old_or_new(path, old_digest, new_size, expected):
    """What a failed or killed resize may leave: the old file unchanged,
    or the complete new pool."""
    if digest(path) == old_digest:
        return "old"
    assert os.path.getsize(path) == new_size
    assert picture(path) == expected
    with pmemobj.open(path) as pool:
        assert pool.stats()["recovery_ns"] == 0 and pool.check()["ok"]
    return "new"


STEPS = ["locked", "opened", "created", "copied", "built", "renamed"]
KILLED_AT = """
    import sys, time
    import pmemobj
    from pmemobj import _repair
    def step(name):
        if name == sys.argv[3]:
            print("at " + name, flush=True)
            time.sleep(60)
    _repair._resize_step = step
    pmemobj.resize(sys.argv[1], int(sys.argv[2]))
"""


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_each_step(built, spawn_py, step):
    old, expected = digest(built), picture(built)
    child = spawn_py(KILLED_AT, built, 32 * M, step, extra_paths=[REPO_ROOT / "tests/python"])
    child.expect("at " + step)
    child.kill()
    got = old_or_new(built, old, 32 * M, expected)
    assert got == ("new" if step == "renamed" else "old")
    # A resize after the kill works, and removes what the killed one left.
    pmemobj.resize(built, 24 * M)
    assert picture(built) == expected and no_leftovers(built)


def test_the_kill_check_catches_a_resize_that_builds_in_place(built, spawn_py):
    # A planted bug: the new pool is built at the path itself instead of
    # beside it.  Killed after creating it, the path holds an empty pool,
    # which old_or_new must refuse.
    old, expected = digest(built), picture(built)
    planted = textwrap.dedent("""
        import os
        from pmemobj import _repair
        build = _repair._build
        def in_place(spool, tmp, *args):
            real = tmp[:-len(".resizing")]
            os.unlink(real)
            build(spool, real, *args)
        _repair._build = in_place
    """)
    child = spawn_py(planted + textwrap.dedent(KILLED_AT), built, 32 * M, "created",
                     extra_paths=[REPO_ROOT / "tests/python"])
    child.expect("at created")
    child.kill()
    with pytest.raises(AssertionError):
        old_or_new(built, old, 32 * M, expected)


def test_killed_at_random_moments(pool_path, pool_dir, spawn_py):
    # Kills spread over the time a whole resize takes (measured first, on
    # a copy): mostly while the graph is being copied.
    import random
    import time
    with pmemobj.create(pool_path, pool_size=32 * M) as pool:
        build(pool, n=20_000)
    old, expected = digest(pool_path), picture(pool_path)
    spare, spare_old = str(pool_dir / "spare.pool"), str(pool_dir / "old.pool")
    shutil.copyfile(pool_path, spare)
    shutil.copyfile(pool_path, spare_old)
    child = spawn_py(TIMED, spare, 48 * M, extra_paths=[REPO_ROOT / "tests/python"])
    child.expect("go")
    t0 = time.monotonic()
    child.expect("done")
    whole = time.monotonic() - t0
    rng = random.Random(12)
    seen = []
    # Each round starts from the old pool; kills fall in the first half of
    # the time measured, so that a machine busier now than during the
    # measurement still sees some part way.
    for _ in range(10):
        child = spawn_py(TIMED, pool_path, 48 * M, extra_paths=[REPO_ROOT / "tests/python"])
        child.expect("go")
        time.sleep(rng.uniform(0, whole / 2))
        child.kill()
        seen.append(old_or_new(pool_path, old, 48 * M, expected))
        if seen[-1] == "new":
            shutil.copyfile(spare_old, pool_path)
    assert "old" in seen, (whole, seen)      # killed part way at least once


TIMED = """
    import sys
    import pmemobj
    print("go", flush=True)
    pmemobj.resize(sys.argv[1], int(sys.argv[2]))
    print("done", flush=True)
"""


def test_fault_injected_into_every_libpmemobj_call(pool_path):
    # The n-th transactional call into libpmemobj (begin, snapshot, add,
    # alloc, free) fails, for n = 1, 2, ... until resize makes fewer calls.
    with pmemobj.create(pool_path, pool_size=8 * M) as pool:
        build(pool, n=3)
    built = pool_path
    old, expected = digest(built), picture(built)
    failures = 0
    n = 0
    while True:
        n += 1
        _fault_inject(n)
        try:
            pmemobj.resize(built, 16 * M)
        except (MemoryError, OSError, ValueError):
            # Only the injected failure may stop it: an error before the
            # n-th call is a real one (and would make this loop endless).
            if _fault_calls() < n:
                raise
            failures += 1
            assert digest(built) == old and no_leftovers(built)
            continue
        finally:
            calls = _fault_calls()
            _fault_inject(0)
        assert calls < n                # it succeeded because no call failed
        break
    assert failures == n - 1 > 20
    assert old_or_new(built, old, 16 * M, expected) == "new"


# --- the command line ---------------------------------------------------------

def cli(*args):
    env = dict(child_env(), PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT / "tests/python"), str(PYTHON_DIR)]))
    return subprocess.run([sys.executable, "-m", "pmemobj", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_resize(built):
    expected = picture(built)
    r = cli("resize", built, "64M")
    assert r.returncode == 0 and r.stdout == "resized %s to %d bytes\n" % (built, 64 * M)
    assert os.path.getsize(built) == 64 * M and picture(built) == expected
    r = cli("resize", built, "9437184")
    assert r.returncode == 0 and os.path.getsize(built) == 9 * M


@pytest.mark.parametrize("size", ["12x", "-1", "1.5G", "", "M"])
def test_cli_resize_bad_sizes(built, size):
    before = digest(built)
    r = cli("resize", built, size)
    assert r.returncode == 2 and "is not a size" in r.stderr
    assert digest(built) == before


def test_cli_resize_errors_and_exit_statuses(built, pool_dir):
    before = digest(built)
    r = cli("resize", built, "1M")
    assert r.returncode == 2 and "minimum pool size" in r.stderr
    r = cli("resize", str(pool_dir / "missing.pool"), "16M")
    assert r.returncode == 2 and "No such file" in r.stderr
    assert digest(built) == before
    with open(built, "r+b") as f:                     # damage: exit status 1
        data = f.read()
        f.seek(data.index(LONG.encode()) + 7)
        f.write(b"#")
    before = digest(built)
    r = cli("resize", built, "16M")
    assert r.returncode == 1 and "salvage" in r.stderr
    assert digest(built) == before


def test_cli_sizes_are_the_same_for_create_and_salvage(pool_dir):
    from pmemobj.__main__ import size_arg
    assert [size_arg(s) for s in ("8388608", "8M", "8m", "8MiB", "8MB", "1G", "2k", "1T")] \
        == [8 * M, 8 * M, 8 * M, 8 * M, 8 * M, 1 << 30, 2048, 1 << 40]
    path = str(pool_dir / "c.pool")
    r = cli("create", path, "--size", "16M")
    assert r.returncode == 0 and os.path.getsize(path) == 16 * M
    r = cli("salvage", path, str(pool_dir / "s.pool"), "--size", "12M")
    assert r.returncode == 0 and os.path.getsize(pool_dir / "s.pool") == 12 * M


# --- growing pools: libpmemobj's own, of a shape pmemobj does not open ------

def test_a_directory_pool_set_grows_in_libpmemobj_but_pmemobj_refuses_it(pool_dir):
    # The evidence behind docs/internals.md "Pools that grow": with this
    # PMDK a pool set with a directory part (and SINGLEHDR) grows by
    # heap.size.granularity as objects are allocated.  pmemobj opens only
    # the sets it writes (test_grow.py); this one, of another shape (a
    # size with a suffix, a directory not named after the set), it
    # refuses, and leaves its files alone.
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("pmemobj") or "libpmemobj.so.1")

    class Oid(ctypes.Structure):
        _fields_ = [("pool_uuid_lo", ctypes.c_uint64), ("off", ctypes.c_uint64)]
    lib.pmemobj_create.restype = ctypes.c_void_p
    lib.pmemobj_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
                                   ctypes.c_uint]
    lib.pmemobj_ctl_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    lib.pmemobj_alloc.argtypes = [ctypes.c_void_p, ctypes.POINTER(Oid), ctypes.c_size_t,
                                  ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p]
    lib.pmemobj_close.argtypes = [ctypes.c_void_p]
    parts = pool_dir / "parts"
    parts.mkdir()
    set_file = str(pool_dir / "grow.set")
    with open(set_file, "w") as f:
        f.write("PMEMPOOLSET\nOPTION SINGLEHDR\n1G %s/\n" % parts)
    pop = lib.pmemobj_create(set_file.encode(), pmemobj.LAYOUT.encode(), 0, 0o600)
    assert pop, "libpmemobj could not create a directory pool set"
    step = ctypes.c_size_t(8 * M)
    assert lib.pmemobj_ctl_set(pop, b"heap.size.granularity", ctypes.byref(step)) == 0
    first = sorted(os.listdir(parts))
    oid = Oid()
    for _ in range(24):                      # 24 MiB: more than the first part holds
        assert lib.pmemobj_alloc(pop, ctypes.byref(oid), M, 0, None, None) == 0
    lib.pmemobj_close(pop)
    grown = sorted(os.listdir(parts))
    assert len(first) == 1 and len(grown) >= 4, (first, grown)
    before = {n: digest(parts / n) for n in grown}
    with pytest.raises(ValueError, match="pool set that pmemobj does not open"):
        pmemobj.open(set_file)
    with pytest.raises(ValueError, match="growable pool"):
        pmemobj.resize(set_file, 64 * M)
    assert {n: digest(parts / n) for n in sorted(os.listdir(parts))} == before
