"""flag='r': the file is never changed (hashed before and after), even
when it needs recovery, and every change raises OSError(EROFS)."""

import errno
import hashlib
from pathlib import Path

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList
from persistent_types import Node


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def filled(pool_path):
    with pmemobj.create(pool_path) as pool:
        pool.root = pool.new(PersistentDict, {"l": pool.new(PersistentList, [1, "two"]),
                                              "n": pool.new(Node, "a node with a name")})
    return pool_path


def refused(fn):
    with pytest.raises(OSError) as e:
        fn()
    assert e.value.errno == errno.EROFS and "read-only" in str(e.value)


def test_reads_work_and_every_change_is_refused(filled):
    before = digest(filled)
    with pmemobj.open(filled, flag="r") as pool:
        assert pool.readonly and pool.filename == filled
        r = pool.root
        assert list(r["l"]) == [1, "two"] and r["n"].name == "a node with a name"
        assert pool.check()["ok"]
        refused(lambda: r["l"].append(3))
        refused(lambda: r.__setitem__("x", 1))
        refused(lambda: setattr(r["n"], "name", "other"))
        refused(lambda: setattr(pool, "root", None))
        refused(lambda: pool.new(PersistentList))
        refused(pool.gc)
        refused(lambda: pool.transaction().__enter__())
        assert list(r["l"]) == [1, "two"]
    assert digest(filled) == before


def test_a_pool_needing_recovery_is_recovered_privately(filled, spawn_py):
    child = spawn_py("""
import sys, time, pmemobj
pool = pmemobj.open(sys.argv[1])
with pool.transaction():
    pool.root["l"].append("uncommitted")
    print("in transaction", flush=True)
    time.sleep(60)
""", filled)
    child.expect("in transaction")
    child.kill()
    before = digest(filled)
    with pmemobj.open(filled, flag="r") as pool:
        assert list(pool.root["l"]) == [1, "two"]
    assert digest(filled) == before            # still needing recovery
    with pmemobj.open(filled) as pool:           # a normal open recovers it
        assert list(pool.root["l"]) == [1, "two"]


def test_bad_flags_and_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        pmemobj.open(str(tmp_path / "missing.pool"), flag="r")
    with pytest.raises(ValueError, match="flag"):
        pmemobj.open(str(tmp_path / "x.pool"), flag="x")
    junk = tmp_path / "junk.pool"
    junk.write_bytes(b"junk" * 4096)
    with pytest.raises(ValueError) as e:
        pmemobj.open(str(junk), flag="r")
    assert str(e.value).startswith(str(junk) + " is not a pmemobj pool")
