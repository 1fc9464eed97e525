"""Growable pools (create(path, grow=True)): a pool set file and its parts
directory, growing as it fills; every tool opens them; bad sets and damaged
parts give clear exceptions; a kill while the heap grows loses nothing
committed.  See docs/internals.md, "Pools that grow"."""

import hashlib
import os
import random
import stat
import time

import pytest

import pmemobj

MiB = 1 << 20


def parts_of(path):
    d = path + ".parts"
    return [os.path.join(d, f) for f in sorted(os.listdir(d))]


def digest(path):
    h = hashlib.sha256(open(path, "rb").read())
    for p in parts_of(path):
        h.update(os.path.basename(p).encode())
        h.update(open(p, "rb").read())
    return h.hexdigest()


def fill(pool, n, batch=5000):
    """Append 0..n-1 to root (a list), one transaction per batch."""
    if pool.root is None:
        pool.root = pool.new(pmemobj.PersistentList)
    lst = pool.root
    for start in range(len(lst), n, batch):
        with pool.transaction():
            for i in range(start, min(n, start + batch)):
                lst.append(i)
    return lst


@pytest.fixture
def grow_path(pool_dir):
    return str(pool_dir / "grow.pool")


def test_create_grow_reopen(grow_path):
    os.umask(0o022)
    pool = pmemobj.create(grow_path, grow=True, max_size=128 * MiB, mode=0o640)
    text = open(grow_path).read()
    assert text == "PMEMPOOLSET\nOPTION SINGLEHDR\n%d %s.parts/\n" % (
        128 * MiB, os.path.realpath(grow_path))
    assert len(parts_of(grow_path)) == 1
    assert pool.growable
    before = pool.stats()
    assert before["pool_bytes"] == pmemobj.MIN_POOL_SIZE
    assert before["max_size"] == 128 * MiB
    fill(pool, 300_000)
    after = pool.stats()
    parts = parts_of(grow_path)
    assert len(parts) > 1
    assert after["pool_bytes"] == sum(os.path.getsize(p) for p in parts)
    assert after["pool_bytes"] > 16 * MiB
    for p in parts[1:]:
        assert os.path.getsize(p) == pmemobj.GROW_STEP
    # New parts take the first part's mode (libpmemobj makes them 0600).
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in parts} == {0o640}
    assert pool.check()["ok"]
    pool.close()
    pool = pmemobj.open(grow_path)
    assert len(pool.root) == 300_000 and pool.root[-1] == 299_999
    assert pool.stats()["max_size"] == 128 * MiB
    fill(pool, 400_000)
    assert pool.check()["ok"]
    pool.close()


def test_tools_on_growable(grow_path, pool_dir):
    pool = pmemobj.create(grow_path, grow=True, max_size=64 * MiB)
    fill(pool, 100_000)
    pool.close()
    before = digest(grow_path)
    with pmemobj.open(grow_path, flag="r") as ro:
        assert len(ro.root) == 100_000
        with pytest.raises(OSError):
            ro.root.append(1)
    report = pmemobj.check(grow_path)
    assert report["ok"] and report["live"] >= 1
    dst = str(pool_dir / "salvaged.pool")
    assert pmemobj.salvage(grow_path, dst) == []
    assert pmemobj._is_pool_set(dst)             # growable, as its source
    with pmemobj.open(dst) as s:
        assert list(s.root) == list(range(100_000))
        assert s.stats()["max_size"] == 64 * MiB
    with pytest.raises(ValueError, match="growable pool"):
        pmemobj.resize(grow_path, 256 * MiB)
    assert digest(grow_path) == before


def test_read_only_unclean_growable_is_not_written(grow_path, run_py):
    # A child fills the pool and dies without closing it (recovery and gc
    # needed); flag='r' and check() must recover a copy, not the parts.
    run_py("import os, sys, pmemobj\n"
           "sys.path.insert(0, 'tests/python')\n"
           "from test_grow import fill\n"
           "p = pmemobj.create(sys.argv[1], grow=True, max_size=64 << 20)\n"
           "fill(p, 60_000)\n"
           "os._exit(0)\n", grow_path)
    before = digest(grow_path)
    with pmemobj.open(grow_path, flag="r") as ro:
        assert len(ro.root) == 60_000
    assert pmemobj.check(grow_path)["ok"]
    assert digest(grow_path) == before


def test_full_growable_pool_rolls_back(grow_path):
    pool = pmemobj.create(grow_path, grow=True, max_size=12 * MiB)
    pool.root = pool.new(pmemobj.PersistentList)
    with pool.transaction():
        pool.root.append("kept")
    with pytest.raises(MemoryError, match="max_size"):
        with pool.transaction():
            for i in range(10**6):
                pool.root.append(b"x" * 1000)
    assert list(pool.root) == ["kept"]
    assert pool.check()["ok"]
    pool.close()
    assert sum(os.path.getsize(p) for p in parts_of(grow_path)) <= 12 * MiB
    with pmemobj.open(grow_path) as pool:
        assert list(pool.root) == ["kept"]


def test_bad_arguments(grow_path):
    with pytest.raises(ValueError, match="minimum pool size"):
        pmemobj.create(grow_path, grow=True, max_size=MiB)
    with pytest.raises(ValueError, match="do not go together"):
        pmemobj.create(grow_path, grow=True, pool_size=64 * MiB)
    with pytest.raises(ValueError, match="grow=True"):
        pmemobj.create(grow_path, max_size=64 * MiB)
    assert not os.path.exists(grow_path) and not os.path.exists(grow_path + ".parts")
    os.mkdir(grow_path + ".parts")
    with pytest.raises(FileExistsError):
        pmemobj.create(grow_path, grow=True)
    assert not os.path.exists(grow_path)


def make(grow_path, n=60_000):
    pool = pmemobj.create(grow_path, grow=True, max_size=64 * MiB)
    fill(pool, n)
    pool.close()
    assert len(parts_of(grow_path)) >= 3


def write_set(path, line3, head="PMEMPOOLSET\nOPTION SINGLEHDR\n"):
    with open(path, "w") as f:
        f.write(head + line3)


# Each: how to damage a growable pool, and what the open must say.
DAMAGE = {
    "no parts directory": (lambda p: os.rename(p + ".parts", p + ".gone"),
                           FileNotFoundError, "parts directory"),
    "other shape": (lambda p: write_set(p, "64M %s.parts/\n" % os.path.realpath(p),
                                        head="PMEMPOOLSET\n"),
                    ValueError, "does not open"),
    "replica": (lambda p: open(p, "a").write("REPLICA\n64M /tmp/x/\n"),
                ValueError, "does not open"),
    "other directory": (lambda p: write_set(p, "%d /tmp/elsewhere/\n" % (64 * MiB)),
                        ValueError, "moved or copied"),
    "max below minimum": (lambda p: write_set(p, "4096 %s.parts/\n" % os.path.realpath(p)),
                          pmemobj.CorruptPoolError, "minimum pool size"),
    "max below parts": (lambda p: write_set(p, "%d %s.parts/\n" % (10 * MiB,
                                                                    os.path.realpath(p))),
                        pmemobj.CorruptPoolError, "reach past"),
    "missing part": (lambda p: os.unlink(parts_of(p)[1]),
                     pmemobj.CorruptPoolError, "missing"),
    "missing last part": (lambda p: os.unlink(parts_of(p)[-1]),
                          pmemobj.CorruptPoolError, "heap's size"),
    "renamed part": (lambda p: os.rename(parts_of(p)[1], parts_of(p)[1] + ".old"),
                     pmemobj.CorruptPoolError, "not a part"),
    "extra file": (lambda p: open(p + ".parts/notes.txt", "w").close(),
                   pmemobj.CorruptPoolError, "not a part"),
    "truncated part": (lambda p: os.truncate(parts_of(p)[1], 4096 * 3 + 1),
                       pmemobj.CorruptPoolError, "truncated"),
    "part of wrong size": (lambda p: os.truncate(parts_of(p)[1], 4 * MiB),
                           pmemobj.CorruptPoolError, None),
    "truncated first part": (lambda p: os.truncate(parts_of(p)[0], 4 * MiB),
                             pmemobj.CorruptPoolError, "truncated"),
    "zeroed pool header": (lambda p: zero(parts_of(p)[0], 0, 8192),
                           ValueError, "not a pmemobj pool"),
    "zeroed heap header": (lambda p: zero(parts_of(p)[0], heap_offset(p), 1024),
                           pmemobj.CorruptPoolError, "heap header"),
    "zeroed chunk headers": (lambda p: zero(parts_of(p)[0], heap_offset(p) + 1024 + 64, 4096),
                            pmemobj.CorruptPoolError, None),
    "heap size too large": (lambda p: put(parts_of(p)[0], 4096 + 2048 + 32, 1 << 40),
                            pmemobj.CorruptPoolError, "heap's size"),
    "heap size too small": (lambda p: put(parts_of(p)[0], 4096 + 2048 + 32, 6 * MiB),
                            pmemobj.CorruptPoolError, "zone"),
}


def zero(path, off, n):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(bytes(n))


def put(path, off, value):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(value.to_bytes(8, "little"))


def heap_offset(path):
    with open(parts_of(path)[0], "rb") as f:
        f.seek(4096 + 1040)
        return int.from_bytes(f.read(8), "little")


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_growable_pool(grow_path, case):
    make(grow_path)
    damage, exc, words = DAMAGE[case]
    damage(grow_path)
    with pytest.raises(exc) as e:
        pmemobj.open(grow_path)
    if words:
        assert words in str(e.value)
    # check() reports it without touching anything either.
    assert not pmemobj.check(grow_path)["ok"]


def test_bit_flips_in_first_part(grow_path):
    # Random flips in the first part's metadata (header, descriptor,
    # lanes, heap and zone headers): a clear exception or a sound pool,
    # never a crash (a crash would end this process).
    make(grow_path, 20_000)
    first = parts_of(grow_path)[0]
    good = open(first, "rb").read()
    rng = random.Random(12)
    hoff = heap_offset(grow_path)
    for _ in range(12):
        buf = bytearray(good)
        for _ in range(4):
            at = rng.choice([rng.randrange(0, 8192), rng.randrange(hoff, hoff + 5 * 4096)])
            buf[at] ^= 1 << rng.randrange(8)
        open(first, "wb").write(buf)
        try:
            with pmemobj.open(grow_path, flag="r") as pool:
                pool.check()
        except (pmemobj.CorruptPoolError, ValueError, OSError, MemoryError):
            pass
    open(first, "wb").write(good)
    assert pmemobj.check(grow_path)["ok"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_parts_directory_not_writable(grow_path):
    make(grow_path)
    os.chmod(grow_path + ".parts", 0o555)
    try:
        with pytest.raises(PermissionError, match="not writable"):
            pmemobj.open(grow_path)
        with pmemobj.open(grow_path, flag="r") as ro:    # reading is fine
            assert len(ro.root) == 60_000
    finally:
        os.chmod(grow_path + ".parts", 0o755)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_parts_directory_not_writable_for_another_user(grow_path, pool_dir):
    # The test above as root, who writes anywhere: a forked child becomes
    # the unprivileged user nobody and opens a pool whose files it may
    # write but whose parts directory (root's, 0755) it may not.
    make(grow_path)
    os.chmod(pool_dir, 0o755)
    for f in [grow_path] + parts_of(grow_path):
        os.chmod(f, 0o666)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: never returns
        code = 1
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            try:
                pmemobj.open(grow_path).close()
                said = "opened"
            except PermissionError as e:
                said = "PermissionError: %s" % e
            with pmemobj.open(grow_path, flag="r") as ro:
                said += "|%d" % len(ro.root)
            os.write(w, said.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        said = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, said
    assert said.startswith("PermissionError") and "not writable" in said, said
    assert said.endswith("|60000"), said


FILLER = """
import sys, pmemobj
path = sys.argv[1]
pool = pmemobj.open(path)
lst = pool.root
n = len(lst)
while True:
    with pool.transaction():
        for i in range(n, n + 2000):
            lst.append(i)
        lst.append(b"x" * 3000)     # something bigger, so parts come often
        lst.pop()
    n += 2000
    print(n, flush=True)
"""


def test_kill_while_growing(grow_path, spawn_py):
    pool = pmemobj.create(grow_path, grow=True, max_size=1 << 30)
    pool.root = pool.new(pmemobj.PersistentList)
    pool.close()
    rng = random.Random(5)
    committed = 0
    for _ in range(8):
        child = spawn_py(FILLER, grow_path)
        for _ in range(rng.randrange(3, 25)):
            committed = int(child.readline())
        time.sleep(rng.random() * 0.05)
        child.kill()
        with pmemobj.open(grow_path) as pool:
            lst = pool.root
            n = len(lst)
            assert n >= committed
            assert n % 2000 == 0 and lst[n - 1] == n - 1 and lst[0] == 0
            assert pool.check()["ok"]
            committed = n
    assert len(parts_of(grow_path)) > 3


@pytest.mark.parametrize("size", [0, 4096 * 5 + 3, MiB])
def test_unfinished_last_part(grow_path, size):
    # libpmemobj creates a part and then sizes it; a kill in between
    # leaves a last part of the wrong size that the heap never took.
    # Read-only opens leave it; a writable open removes it.
    make(grow_path)
    n = len(parts_of(grow_path))
    extra = grow_path + ".parts/%06d.pmem" % n
    open(extra, "wb").truncate(size)
    before = digest(grow_path)
    assert pmemobj.check(grow_path)["ok"]
    assert digest(grow_path) == before
    with pmemobj.open(grow_path) as pool:
        assert len(pool.root) == 60_000
    assert not os.path.exists(extra) and len(parts_of(grow_path)) == n
    assert pmemobj.check(grow_path)["ok"]


def test_truncated_last_part_the_heap_took(grow_path):
    make(grow_path)
    last = parts_of(grow_path)[-1]
    os.truncate(last, MiB)
    with pytest.raises(pmemobj.CorruptPoolError, match="truncated"):
        pmemobj.open(grow_path)
    assert os.path.getsize(last) == MiB
