"""Opening files that are not healthy pmemobj pools (truncated, corrupted,
not a pool at all, a pool of another layout, a directory) fails with an
exception -- never a crash or a hang -- and leaves foreign files untouched;
a full pool raises MemoryError and keeps working."""

import hashlib
import os
import random

import pytest

import pmemobj

MIB = 1 << 20

TRY_OPEN = """
    import sys, pmemobj
    try:
        pool = pmemobj.open(sys.argv[1])
    except (OSError, ValueError) as e:
        print("REFUSED", type(e).__name__, e)
    except BaseException as e:
        print("OTHER", type(e).__name__, e)
    else:
        try:
            print("OPENED", repr(pool.root)[:200])
        except (OSError, ValueError) as e:
            print("ROOT-REFUSED", type(e).__name__, e)
        except BaseException as e:
            print("OPENED-ROOT-FAILED", type(e).__name__, e)
        pool.close()
"""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def try_open(run_py, path):
    """Open *path* in a child; return its one-line verdict.  The child must
    exit normally (no signal, no hang)."""
    proc = run_py(TRY_OPEN, path)
    assert proc.stdout, proc.stderr
    return proc.stdout.strip()


def assert_refused(run_py, path):
    verdict = try_open(run_py, path)
    assert verdict.startswith("REFUSED"), verdict
    # And in this process too, now that we know it does not crash.
    with pytest.raises((OSError, ValueError)):
        pmemobj.open(path).close()


def make_pool(path, root=("healthy", 1, b"x" * 1000)):
    # One file: the tests damage it at offsets (a growable pool's set
    # file would be refused for a reason that has nothing to do with it).
    pool = pmemobj.create(path, pool_size=pmemobj.MIN_POOL_SIZE)
    pool.root = root
    pool.close()


# --- damaged pools ------------------------------------------------------------

@pytest.mark.parametrize("new_size", [4 * MIB, MIB, 8192, 100, 1])
def test_truncated_pool_refused(pool_path, run_py, new_size):
    make_pool(pool_path)
    os.truncate(pool_path, new_size)
    assert_refused(run_py, pool_path)


def test_pool_with_header_overwritten_refused(pool_path, run_py):
    make_pool(pool_path)
    with open(pool_path, "r+b") as f:
        f.write(random.Random(1).randbytes(4096))
    assert_refused(run_py, pool_path)


@pytest.mark.parametrize("where, seed", [("middle", 1), ("middle", 2),
                                         ("three-quarters", 3)])
def test_pool_with_garbage_inside_does_not_crash(pool_path, run_py, where,
                                                 seed):
    # Nothing checksums the heap, so opening may well succeed.  What must not
    # happen is a crash, a hang, a wrong root, or an exception other than
    # OSError/ValueError -- whether at open or when reading the root.
    make_pool(pool_path)
    size = os.path.getsize(pool_path)
    offset = {"middle": size // 2, "three-quarters": size * 3 // 4}[where]
    with open(pool_path, "r+b") as f:
        f.seek(offset & ~4095)
        f.write(random.Random(seed).randbytes(4096))
    verdict = try_open(run_py, pool_path)
    assert verdict.startswith(("REFUSED", "ROOT-REFUSED", "OPENED ")), verdict
    if verdict.startswith("OPENED "):
        assert verdict == "OPENED " + repr(("healthy", 1, b"x" * 1000))[:200]


def test_pool_with_bytes_flipped_in_header_refused(pool_path, run_py):
    make_pool(pool_path)
    with open(pool_path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert_refused(run_py, pool_path)


# --- not a pool -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["random-8M", "random-small", "text",
                                  "zeros-8M", "empty"])
def test_not_a_pool_refused_and_untouched(pool_path, run_py, kind):
    rng = random.Random(7)
    content = {
        "random-8M": lambda: rng.randbytes(8 * MIB),
        "random-small": lambda: rng.randbytes(5000),
        "text": lambda: b"this is a text file, not a pool\n" * 300_000,
        "zeros-8M": lambda: bytes(8 * MIB),
        "empty": lambda: b"",
    }[kind]()
    with open(pool_path, "wb") as f:
        f.write(content)
    before = sha256(pool_path)
    assert_refused(run_py, pool_path)
    assert sha256(pool_path) == before
    assert os.path.getsize(pool_path) == len(content)


def test_directory_refused(pool_dir, run_py):
    d = pool_dir / "a-directory"
    d.mkdir()
    assert_refused(run_py, str(d))
    assert d.is_dir() and list(d.iterdir()) == []


def test_create_on_directory_refused(pool_dir):
    d = pool_dir / "a-directory"
    d.mkdir()
    with pytest.raises(OSError):
        pmemobj.create(str(d)).close()
    assert d.is_dir()


MAKE_FOREIGN = """
    import ctypes, sys
    lib = ctypes.CDLL("libpmemobj.so.1")
    lib.pmemobj_create.restype = ctypes.c_void_p
    lib.pmemobj_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.c_size_t, ctypes.c_uint]
    lib.pmemobj_close.argtypes = [ctypes.c_void_p]
    pop = lib.pmemobj_create(sys.argv[1].encode(), b"other-layout",
                             8 << 20, 0o666)
    assert pop, "pmemobj_create failed"
    lib.pmemobj_close(pop)
    print("made")
"""


def test_pool_of_other_layout_refused_and_untouched(pool_path, run_py):
    proc = run_py(MAKE_FOREIGN, pool_path)
    assert proc.stdout.strip() == "made"
    before = sha256(pool_path)
    assert_refused(run_py, pool_path)
    assert sha256(pool_path) == before
    # Also through PersistentObjectPool with flag 'c', which must not treat
    # the existing foreign file as something to create over.
    with pytest.raises((OSError, ValueError)):
        pmemobj.PersistentObjectPool(pool_path, "c").close()
    assert sha256(pool_path) == before


MAKE_HALF_CREATED = """
    import ctypes, sys
    lib = ctypes.CDLL("libpmemobj.so.1")
    lib.pmemobj_create.restype = ctypes.c_void_p
    lib.pmemobj_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.c_size_t, ctypes.c_uint]
    lib.pmemobj_root.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.pmemobj_close.argtypes = [ctypes.c_void_p]
    # What a create killed between libpmemobj's root allocation and our
    # transaction that fills it leaves: our layout, a zeroed root.
    pop = lib.pmemobj_create(sys.argv[1].encode(), b"pmemobj-py", 8 << 20, 0o666)
    assert pop, "pmemobj_create failed"
    lib.pmemobj_root(pop, 4096)
    lib.pmemobj_close(pop)
    print("made")
"""


def test_incompletely_created_pool_is_named_as_such(pool_path, run_py):
    assert run_py(MAKE_HALF_CREATED, pool_path).stdout.strip() == "made"
    with pytest.raises(ValueError, match="incompletely created"):
        pmemobj.open(pool_path)


# --- full pool ----------------------------------------------------------------
# A pool of one fixed file (a growable pool would take 16 MiB by growing;
# its own full case, at max_size, is in test_grow.py).

def test_full_pool_raises_memoryerror_and_keeps_working(pool_path):
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    try:
        pool.root = ("old", 1)
        with pytest.raises(MemoryError):
            pool.root = b"\x00" * (16 * MIB)
        assert pool.root == ("old", 1)
        pool.root = ("small", 2)
        assert pool.root == ("small", 2)
        pool.close()
        pool = pmemobj.open(pool_path)
        assert pool.root == ("small", 2)
    finally:
        pool.close()


@pytest.mark.fixed_pool
def test_full_pool_many_pieces(pool):
    # Each element fits; all of them together do not.  The pieces allocated
    # before the failure must be given back.
    pool.root = "old"
    pieces = tuple(bytes([i % 256]) * (256 << 10) for i in range(64))
    for _ in range(5):
        with pytest.raises(MemoryError):
            pool.root = pieces
        assert pool.root == "old"
    big = b"\x02" * (2 * MIB)
    pool.root = big
    assert pool.root == big


def test_memoryerror_in_transaction_rolls_back_everything(pool_path):
    pool = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    try:
        pool.root = ("before", 0)
        with pytest.raises(MemoryError):
            with pool.transaction():
                pool.root = ("in transaction", 1)
                pool.root = b"\x00" * (16 * MIB)
        assert pool.root == ("before", 0)
        with pool.transaction():
            pool.root = ("after", 2)
        assert pool.root == ("after", 2)
        pool.close()
        pool = pmemobj.open(pool_path)
        assert pool.root == ("after", 2)
    finally:
        pool.close()


@pytest.mark.fixed_pool
def test_memoryerror_in_nested_transaction_rolls_back_outer(pool):
    pool.root = "before"
    with pytest.raises(MemoryError):
        with pool.transaction():
            pool.root = "outer"
            with pool.transaction():
                pool.root = b"\x00" * (16 * MIB)
    assert pool.root == "before"
    pool.root = "after"
    assert pool.root == "after"
