"""The random workload of the crash checkers: one home for it.

Both the power-failure simulator (tests/powerfail/powerfail.py) and the
kill torture (tests/crash/torture.py) drive a pool with the same random
transactions over every mutating operation of every persistent type:
lists, dicts, sets, sorted dicts, arrays, user objects (PersistentObject),
new containers, str/bytes/big int/tuple values, log-free scalar
overwrites; as single autocommitted operations, transactions of several,
nested and aborted transactions, and gc.  Both compare states through
plain(), which turns a pool's root into JSON-able data.

The workload is deterministic: a seed and the pool's logical state at
the start decide every operation and its arguments (it reads lengths,
never addresses), so replaying it on a copy of the pool gives the same
states.  The torture relies on that for its oracle, and the planted-bug
seeds of the power-failure tests rely on the exact order in which it
draws its random numbers: change that order and those seeds may stop
exercising the bugs.
"""

import array
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fuzz"))   # fuzz_types: user classes


def plain(v, seen=None):
    """v as nested lists of plain values, comparable as JSON (cycles by
    their order of first visit, sets and dicts sorted)."""
    import pmemobj
    from fuzz_types import Node
    seen = seen if seen is not None else {}
    if isinstance(v, (pmemobj._PersistentBase, Node)):
        if v._p_oid in seen:
            return ["cycle", seen[v._p_oid]]
        seen[v._p_oid] = len(seen)
    if isinstance(v, pmemobj.PersistentDict):
        return ["dict", sorted([repr(plain(k, seen)), plain(x, seen)] for k, x in v.items())]
    if isinstance(v, pmemobj.PersistentArray):
        return ["array", v.typecode, v.tolist()]
    if isinstance(v, pmemobj.PersistentSortedDict):
        return ["sorted", [[repr(k), plain(x, seen)] for k, x in v.items()]]
    if isinstance(v, (pmemobj.PersistentSet, pmemobj.PersistentFrozenSet)):
        return ["set", sorted(repr(plain(x, seen)) for x in v)]
    if isinstance(v, (pmemobj.PersistentList, pmemobj.PersistentTuple)):
        return ["list", [plain(x, seen) for x in v]]
    if isinstance(v, Node):
        # every attribute, in the object's order
        return ["Node", [[n, plain(getattr(v, n), seen)] for n in v._p_attr_names()]]
    if isinstance(v, tuple):
        return ["tuple", [plain(x, seen) for x in v]]
    return [type(v).__name__, repr(v)]


def populate(pool):
    """The starting root: one container of each type, in one transaction."""
    import pmemobj
    from fuzz_types import Node
    with pool.transaction():
        root = pool.new(pmemobj.PersistentDict)
        pool.root = root
        root["l"] = pool.new(pmemobj.PersistentList, range(10))
        root["d"] = pool.new(pmemobj.PersistentDict, {"a": 1})
        root["s"] = pool.new(pmemobj.PersistentSet, {1, 2})
        root["o"] = pool.new(Node, "node", 0)
        root["t"] = pool.new(pmemobj.PersistentSortedDict, {i * 3: i for i in range(100)})
        root["a"] = pool.new(pmemobj.PersistentArray, "q", range(64))
        # 8 KiB: its writable ranges are large enough for the range log
        # (src/rangelog.h) when they are a transaction's first change.
        root["b"] = pool.new(pmemobj.PersistentArray, "q", range(1024))


class RandomTransactions:
    """step() runs one random transaction on a pool populate() built."""

    # What step() ran, by the shape it drew.
    SHAPES = ("autocommit", "transaction", "nested", "aborted", "nothing", "gc")
    # The names of ops()'s operations, in its order (for reports).
    OP_NAMES = (
        "list append int", "list append str", "list insert tuple", "list pop",
        "list set big int", "list extend", "list sort", "list reverse", "list del slice",
        "dict set", "dict pop", "dict update", "set add", "set discard", "set update",
        "sorted set", "sorted pop", "sorted update", "sorted popitem",
        "sorted pops over irange", "array set", "array set slice", "array writable",
        "array extend", "array resize", "object set value", "list set int (log-free)",
        "root set bool (log-free)", "root set float (log-free)", "object set name",
        "root set new list", "root set new object", "root pop",
        "object add or delete an attribute", "list set short tuple", "dict set tuple key",
    )

    def __init__(self, pool, rng, aborts=True):
        self.pool = pool
        self.root = pool.root
        self.rng = rng
        self.aborts = aborts
        self.ran = []              # the operations of the last step(), by name

    def ops(self):
        import pmemobj
        from fuzz_types import Node
        pool, root, rng = self.pool, self.root, self.rng
        l, d, s, o, t, a = root["l"], root["d"], root["s"], root["o"], root["t"], root["a"]
        fill_range = self.fill_range
        k = rng.randrange(1000)
        return [
            lambda: l.append(k),
            lambda: l.append("str %d" % k),
            lambda: l.insert(rng.randrange(len(l) + 1), (k, b"b" * (k % 50))),
            lambda: len(l) and l.pop(rng.randrange(len(l))),
            lambda: len(l) and l.__setitem__(rng.randrange(len(l)), 2 ** 70 + k),
            lambda: l.extend(range(k % 20)),
            lambda: l.sort(key=repr),
            lambda: l.reverse(),
            lambda: len(l) > 4 and l.__delitem__(slice(1, 3)),
            lambda: d.__setitem__("k%d" % (k % 40), k),
            lambda: d.pop("k%d" % (k % 40), None),
            lambda: d.update({"u%d" % i: i for i in range(k % 12)}),
            lambda: s.add(k % 60),
            lambda: s.discard(k % 60),
            lambda: s.update(range(k % 7)),
            # The sorted dict: splits, merges and borrows of its B+ tree.
            lambda: t.__setitem__(k % 300, "v%d" % k),
            lambda: t.pop(k % 300, None),
            lambda: t.update({(k + i) % 300: i for i in range(k % 40)}),
            lambda: len(t) and t.popitem(last=k % 2 == 0),
            lambda: self.pop_range(t, k),
            # The array: item and slice writes, a writable range, growth.
            lambda: a.__setitem__(k % len(a), k),
            lambda: a.__setitem__(slice(0, 8), array.array("q", range(k, k + 8))),
            lambda: fill_range(a if k % 2 else root["b"], k),
            lambda: a.extend(range(k % 9)),
            lambda: len(a) > 64 and a.resize(64),
            lambda: self.object_set(o, k),
            # Scalar overwrites: one failure-atomic store, no log.
            lambda: len(l) and isinstance(l[0], int) and l.__setitem__(0, k),
            lambda: root.__setitem__("flag", k % 2 == 0),
            lambda: root.__setitem__("ratio", k / 7),
            lambda: setattr(o, "name", "n%d" % k),
            lambda: root.__setitem__("new", pool.new(pmemobj.PersistentList, [k, "x"])),
            lambda: root.__setitem__("obj", pool.new(Node, "x%d" % k, k)),
            lambda: root.pop("new", None),
            lambda: self.object_grow(root.get("obj") or o, k),
            # Tuples of small ints live in their slot (src/slot.h): half of
            # these overwrite one with the same length and first item, one
            # failure-atomic store of the other word.
            lambda: len(l) and l.__setitem__(-1, (k % 2, k, -k)),
            lambda: d.__setitem__((k % 5, k % 3), k),
        ]

    def one(self):
        # rng.choice(range(n)) draws exactly what rng.choice(ops) would.
        ops = self.ops()
        assert len(ops) == len(self.OP_NAMES)
        i = self.rng.choice(range(len(ops)))
        self.ran.append(self.OP_NAMES[i])
        ops[i]()

    def pop_range(self, t, k):
        # Several pops, one operation: as a transaction of its own, so
        # that the oracles may treat it as all or nothing.  (Popped one
        # autocommitted transaction after another, a crash between two
        # pops left a state after no whole operation, which both crash
        # checkers rightly reported.)
        with self.pool.transaction():
            for x in list(t.irange(k % 300, k % 300 + 45)):
                t.pop(x)

    @staticmethod
    def object_set(o, k):
        # One write: an overwrite of "value", or (odd k) "extra" deleted or
        # added.  Added again after a delete, its name is known and a pair
        # is free, so an autocommitted add is published without a
        # transaction (src/tx.h, pmo_tx_publish).
        if k % 2 == 0:
            o.value = k
        elif "extra" in o._p_attr_names():
            del o.extra
        else:
            o.extra = k

    @staticmethod
    def object_grow(o, k):
        # One of six more attributes added, set or (k % 3 == 0) deleted:
        # a new name takes the object's free slot and a new shape
        # (published without a transaction when autocommitted), and one
        # past its slots spills it into an attribute table (src/object.h).
        name = "g%d" % (k % 6)
        if k % 3 == 0 and name in o._p_attr_names():
            delattr(o, name)
        else:
            setattr(o, name, k)

    @staticmethod
    def fill_range(arr, k):
        n = 16 if len(arr) < 1024 else 600          # 128 bytes, or 4800
        lo = k % (len(arr) - n)
        with arr.writable(lo, lo + n) as v:
            for i in range(n):
                v[i] = k + i

    def step(self, announce=None):
        """One random transaction; returns its shape.  announce(shape) is
        called once the shape is drawn, before the pool is touched."""
        pool, rng = self.pool, self.rng
        shape = rng.random()
        if shape < 0.4:
            name = "autocommit"                           # one autocommitted op
        elif shape < 0.75:
            name = "transaction"                          # a transaction of several
        elif shape < 0.85:
            name = "nested"
        elif shape < 0.95:
            name = "aborted" if self.aborts else "nothing"
        else:
            name = "gc"
        self.ran = []
        if announce:
            announce(name)
        try:
            if name == "autocommit":
                self.one()
            elif name == "transaction":
                with pool.transaction():
                    for _ in range(rng.randint(2, 5)):
                        self.one()
            elif name == "nested":
                with pool.transaction():
                    self.one()
                    with pool.transaction():
                        self.one()
            elif name == "aborted":
                with pool.transaction():
                    self.one()
                    self.one()
                    raise KeyError("abort")
            elif name == "gc":
                pool.gc()
        except KeyError:
            pass
        return name
