"""Value comparison for round-trip tests.

`==` is too weak to check a persisted value: 1 == 1.0 == True, 0.0 == -0.0,
frozenset({1}) == frozenset({True}) and nan != nan.  same(a, b) demands the
same exact types all the way down, the same sign of zero, and treats nan as
equal to nan.
"""

import ctypes
import hashlib
import math
import os
import shutil
import tempfile

from hypothesis.stateful import RuleBasedStateMachine

import pmemobj


def _same_float(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def same(a, b):
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return _same_float(a, b)
    if type(a) is complex:
        return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)
    if type(a) is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is frozenset:
        # same() is an equivalence relation, so greedy matching is exact.
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if same(x, y):
                    del rest[i]
                    break
            else:
                return False
        return True
    return a == b


def assert_same(got, expected):
    assert same(got, expected), (
        f"persisted value differs:\n  expected {expected!r} "
        f"({type(expected).__name__})\n  got      {got!r} "
        f"({type(got).__name__})")


def pool_digest(path):
    """A hash of every byte of a closed pool: its file, or a growable
    pool's set file and each of its parts (with their names)."""
    h = hashlib.sha256(open(path, "rb").read())
    if pmemobj._is_pool_set(path):
        d = path + ".parts"
        for name in sorted(os.listdir(d)):
            h.update(name.encode())
            h.update(open(os.path.join(d, name), "rb").read())
    return h.hexdigest()


class PoolMachine(RuleBasedStateMachine):
    """A hypothesis state machine with a pool of its own (in /dev/shm when
    it can), whose root is a new `root_type`; closed and deleted at
    teardown.  The stateful tests subclass it."""

    root_type = None
    POOL_SIZE = 32 << 20       # big enough that growth never fills the pool

    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="pmemobj-stateful-",
                                    dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
        self.path = os.path.join(self.dir, "state.pool")
        self.pool = pmemobj.create(self.path, pool_size=self.POOL_SIZE)
        self.pool.root = self.pool.new(self.root_type)

    def teardown(self):
        try:
            self.pool.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def slot_address(lst, i):
    """The address of item i of a PersistentList in the mapped pool
    (src/list.h: pmo_head of 16 bytes, len, cap, items offset)."""
    addr = lst._p_mm.direct(lst._p_oid)
    base = addr - lst._p_oid[1]
    items = ctypes.c_uint64.from_address(addr + 32).value
    return base + items + 16 * i


def keys_as_root(pool, kind, keys):
    """A PersistentDict (each key mapped to itself) or PersistentSet of
    keys, made the pool's root, one autocommitted insert at a time."""
    c = pool.new(kind)
    pool.root = c
    for k in keys:
        if isinstance(c, pmemobj.PersistentDict):
            c[k] = k
        else:
            c.add(k)
    return c


def heap_count(pool, type_name):
    """How many live heap objects of a type (by gc's count) the pool holds:
    values that live in their slot are none of them."""
    types, _ = pool.gc()
    return types.get(type_name, 0)
