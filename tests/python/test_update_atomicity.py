"""An update of several pairs outside a transaction is one operation: a
failure in a later pair leaves none of the earlier ones.

The kill torture (scripts/crash.sh) found this broken: killed inside an
autocommitted PersistentSortedDict.update, a recovered pool held the new
value of one existing key and none of the inserted ones.  The cause: the
first pair, an inline value over an inline value of an existing key, is
stored without a log (pmo_tx_single_store: "the operation's only
change"), before the operation's transaction has begun, so the rollback
of the later pairs cannot undo it.  PersistentDict.update does the same.
Shown here without a kill: the libpmemobj call of the second pair fails
(_fault_inject), and the first pair's store must be rolled back with it.
Fixed: only d[k] = v, whose store is its operation's only change, may go
without the log.
"""

import pytest

import pmemobj
from pmemobj._pmemobj import _fault_inject

CASES = [
    ("sorted dict", pmemobj.PersistentSortedDict, {1: 1, 2: 2}, {1: 100, 3: 3}),
    ("dict", pmemobj.PersistentDict, {"a": 1, "b": 2}, {"a": 100, "c": 3}),
]


@pytest.mark.parametrize("name, cls, init, update", CASES, ids=[c[0] for c in CASES])
def test_a_failed_update_leaves_no_pair(pool, name, cls, init, update):
    c = pool.new(cls, init)
    pool.root = c
    _fault_inject(1, 31)                # the operation's first libpmemobj call fails
    try:
        with pytest.raises(MemoryError):
            c.update(update)
    finally:
        _fault_inject(0)
    assert dict(c.items()) == init


@pytest.mark.parametrize("name, cls, init, update", CASES, ids=[c[0] for c in CASES])
def test_the_same_update_in_a_transaction_leaves_no_pair(pool, name, cls, init, update):
    # Inside a transaction nothing goes without the log: the checker above
    # can pass, and this is what it would see.
    c = pool.new(cls, init)
    pool.root = c
    with pytest.raises(KeyError):
        with pool.transaction():
            c.update(update)
            raise KeyError("abort")
    assert dict(c.items()) == init
