"""What opening a pool imports: the README states it exactly, and these
tests hold the runtime to that statement.

- A pool closed cleanly: opening imports nothing named by the file; the
  module of a user class is imported when an object of that class is first
  read.
- A pool that was not closed (a crash): recovery's gc imports the modules
  of Persistent types written in Python (MemoryManager objects), because
  only their _p_traverse knows what they hold.  PersistentObject
  subclasses are traversed by the core and are not imported.
"""

from pathlib import Path

TESTS = Path(__file__).resolve().parent

MAKE = """
    import os, sys, pmemobj, persistent_types as pt
    pool = pmemobj.create(sys.argv[1], pool_size=32 << 20)
    with pool.transaction():
        pool.root = pool.new(pmemobj.PersistentDict)
        pool.root["point"] = pool.new(pt.Point, 1, 2)
        if sys.argv[2] == "array":
            pool.root["array"] = pool.new(pt.Int64Array, 4)
    if sys.argv[3] == "crash":
        os._exit(0)        # no close: the next open recovers
    pool.close()
"""

OPEN = """
    import sys, pmemobj
    pool = pmemobj.open(sys.argv[1])
    print("after-open", "persistent_types" in sys.modules)
    pool.root["point"]
    print("after-read", "persistent_types" in sys.modules)
    pool.close()
"""


def lines(run_py, path, *how):
    run_py(MAKE, path, *how, extra_paths=[TESTS])
    out = run_py(OPEN, path, extra_paths=[TESTS]).stdout.split("\n")
    return [l for l in out if l]


def test_clean_pool_imports_nothing_until_read(run_py, pool_path):
    assert lines(run_py, pool_path, "array", "close") == [
        "after-open False", "after-read True"]


def test_recovery_does_not_import_persistent_object_classes(run_py, pool_path):
    assert lines(run_py, pool_path, "plain", "crash") == [
        "after-open False", "after-read True"]


def test_recovery_imports_python_written_types(run_py, pool_path):
    assert lines(run_py, pool_path, "array", "crash") == [
        "after-open True", "after-read True"]
