"""The end of the outermost transaction: its outcome is fixed and reported
first; deferred work (freeing objects beyond the per-transaction batch)
runs after it, and a failure there is reported as what it is -- never as a
rollback of a transaction that committed."""

import sys

import pmemobj
from pmemobj import PersistentDict, PersistentList

from persistent_types import Int64Array


class FailingDealloc(Int64Array):
    """A Python-written type whose _p_deallocate raises."""

    def _p_deallocate(self):
        raise RuntimeError("deallocate failed on purpose")


def test_deferred_free_failure_does_not_undo_a_committed_transaction(pool_path):
    pool = pmemobj.create(pool_path, pool_size=64 << 20)
    try:
        pool.root = pool.new(PersistentDict)
        with pool.transaction():
            # More dying objects than one transaction frees (256), the
            # failing one first: the core frees the list from its end, so
            # the first item is among those freed after the commit.
            items = [pool.new(FailingDealloc, 1)]
            items += [pool.new(PersistentList) for _ in range(400)]
            pool.root["old"] = pool.new(PersistentList, items)
        del items

        seen = []
        old_hook = sys.unraisablehook
        sys.unraisablehook = seen.append
        try:
            with pool.transaction():
                del pool.root["old"]
                new = pool.new(PersistentList, [1, 2, 3])
                pool.root["new"] = new
        finally:
            sys.unraisablehook = old_hook

        # The commit stands, and the proxy made in it is still valid.
        assert list(new) == [1, 2, 3]
        assert "old" not in pool.root
        # The failure was reported, as a failure of the deferred free.
        assert len(seen) == 1
        assert "deallocate failed on purpose" in str(seen[0].exc_value)
        assert "after the transaction committed" in str(seen[0].object)
        pool.root["after"] = 1          # the pool goes on working
    finally:
        pool.close()
    pool = pmemobj.open(pool_path)
    try:
        assert list(pool.root["new"]) == [1, 2, 3]
        assert pool.root["after"] == 1
        assert "old" not in pool.root
    finally:
        pool.close()
