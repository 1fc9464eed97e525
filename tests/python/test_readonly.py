"""flag='r': the file is never changed (hashed before and after), even
when it needs recovery, and every change raises OSError(EROFS)."""

import errno

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList
from helpers import pool_digest as digest    # a growable pool's parts too
from persistent_types import Node


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


def test_objects_of_unimportable_classes_are_opaque_when_read_only(pool_dir, run_py):
    """A pool whose classes this process cannot import can still be read
    (flag='r'): their objects come back as OpaqueObjects showing class path
    and attributes; a writable open still raises ClassNotFoundError; the
    command line dumps them; salvage names what it cannot rebuild."""
    mod_dir = pool_dir / "mods"
    mod_dir.mkdir()
    (mod_dir / "gone_mod.py").write_text(
        "import pmemobj\nclass Thing(pmemobj.PersistentObject):\n    pass\n")
    path = str(pool_dir / "opaque.pool")
    run_py(f"""
import sys; sys.path.insert(0, {str(mod_dir)!r})
import pmemobj, gone_mod
pool = pmemobj.create({path!r})
t = pool.new(gone_mod.Thing)
t.name, t.n, t.child = "x", 3, pool.new(gone_mod.Thing)
pool.root = pool.new(PersistentList, [t, "plain"])
pool.close()
""".replace("PersistentList", "pmemobj.PersistentList"))
    before = digest(path)
    with pmemobj.open(path, flag="r") as pool:
        t = pool.root[0]
        assert isinstance(t, pmemobj.OpaqueObject)
        assert t._p_class_path == "gone_mod:Thing" and type(t).__name__ == "Thing"
        assert (t.name, t.n) == ("x", 3) and t.child._p_class_path == "gone_mod:Thing"
        assert repr(t).startswith("<opaque gone_mod:Thing object (name='x', n=3")
        refused(lambda: setattr(t, "n", 4))
        assert pool.check()["ok"]
    assert digest(path) == before
    with pmemobj.open(path) as pool:
        with pytest.raises(pmemobj.ClassNotFoundError):
            pool.root[0]
    skipped = pmemobj.salvage(path, str(pool_dir / "out.pool"))
    assert skipped and "gone_mod:Thing" in skipped[0][1]
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "pmemobj", "dump", path], check=True,
                         capture_output=True, text=True).stdout
    assert "gone_mod:Thing (class not importable here)" in out and '"x"' in out


def test_read_only_open_of_a_pool_open_in_this_process_is_refused_clearly(filled):
    for first in ("w", "r"):
        with pmemobj.open(filled, flag=first):
            with pytest.raises(OSError) as e:
                pmemobj.open(filled, flag="r")
            assert e.value.errno == errno.EBUSY and "already open in this process" in str(e.value)
    with pmemobj.open(filled, flag="r") as pool:      # once closed, it opens
        assert pool.readonly
