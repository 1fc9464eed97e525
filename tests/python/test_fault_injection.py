"""Fault injection at every call the runtime makes into libpmemobj, over
every mutating operation of every type.  (Inserts published through the
word log make no call that can fail; they are checked to take that path.)

For each operation and each n = 1, 2, 3, ...: the n-th transactional call
into libpmemobj (begin, snapshot, add, alloc, free, and the publish of an
append made without a transaction) fails as libpmemobj's
own failure would (_pmemobj._fault_inject).  Then the operation must raise
a clean MemoryError or OSError, the state must be exactly what it was
before, nothing may leak (gc finds nothing to collect), gc(debug=True)
validation must pass, and the pool must keep working.  The loop ends when
the operation makes fewer calls than n: it then succeeded, and its result
is checked too.

A checker that cannot fail proves nothing: the last test plants a bug (a
volatile cache that the operation changes before the fault) and shows the
state comparison catches it.
"""

import copy
import gc
import json
from pathlib import Path

import pytest

import pmemobj
from pmemobj import (PersistentArray, PersistentDict, PersistentFrozenSet,
                     PersistentList, PersistentSet, PersistentSortedDict, PersistentTuple)
from pmemobj._pmemobj import _fault_calls, _fault_inject

from persistent_types import Point


def plain(v, seen=None):
    """A deep plain copy of a stored value, for before/after comparison."""
    seen = seen if seen is not None else set()
    if isinstance(v, (PersistentList, PersistentTuple, PersistentDict, PersistentSet,
                      PersistentFrozenSet, PersistentArray, PersistentSortedDict, Point)):
        key = v._p_oid
        if key in seen:
            return ("cycle",)
        seen = seen | {key}
    if isinstance(v, (PersistentList, PersistentTuple)):
        return (type(v).__name__, [plain(x, seen) for x in v])
    if isinstance(v, (PersistentDict, PersistentSortedDict)):
        return (type(v).__name__, [(plain(k, seen), plain(x, seen)) for k, x in v.items()])
    if isinstance(v, (PersistentSet, PersistentFrozenSet)):
        return (type(v).__name__, sorted(repr(plain(x, seen)) for x in v))
    if isinstance(v, PersistentArray):
        return ("array", v.typecode, v.tolist())
    if isinstance(v, Point):
        # The persistent attributes (vars() holds only the volatile _v_ ones).
        return ("Point", sorted((k, plain(getattr(v, k), seen)) for k in v._p_attr_names()))
    if isinstance(v, tuple):
        return ("tuple", [plain(x, seen) for x in v])
    return v


def setup_list(pool):
    return pool.new(PersistentList, [1, "two", (3, b"4" * 20), 5.0, 2 ** 70])


def setup_list_room(pool):
    # A free slot past len, as a pop leaves it.
    c = setup_list(pool)
    c.pop()
    return c


def setup_dict(pool):
    return pool.new(PersistentDict, {"a": 1, "b": "bee", 3: (4, 5.5), "big": 2 ** 80})


def setup_sorted(pool):
    # Two levels: 40 keys in order fill a leaf of 32 and start another.
    return pool.new(PersistentSortedDict, {("k", i): "v%d" % i for i in range(0, 80, 2)})


def delete_range(c, lo, hi):
    with c._p_pool.transaction():
        for k in list(c.irange(lo, hi)):
            del c[k]


def setup_set(pool):
    return pool.new(PersistentSet, {1, "x", (2, 3), 4.5})


def setup_obj(pool):
    return pool.new(Point, 1, 2)


def setup_obj_full(pool):
    # Every slot in use: with 63 attributes, the most an object holds in
    # slots, whatever room its class has learnt.
    p = pool.new(Point, 1, 2)
    with pool.transaction():
        for i in range(61):
            setattr(p, "f%d" % i, i)
    return p


def setup_obj_spilled(pool):
    p = setup_obj_full(pool)
    p.spilled = True
    return p


def setup_obj_free_pair(pool):
    # The name interned, the shape with it made, and a free slot past the
    # shape: another Point with an extra attribute leaves all three (the
    # next Points get room for one).
    pool.new(Point, 1, 2).extra = 0
    return pool.new(Point, 1, 2)


def setup_array(pool):
    return pool.new(PersistentArray, "q", range(10))


class OwnIterList(list):
    def __iter__(self):
        return iter(["own", "iter"])


def store(c, value):
    """Keep a made value in the root (so a failure must leave no trace)."""
    c._p_pool.root["made"] = value


def nested(c):
    with c._p_pool.transaction():
        c.append("first")
        with c._p_pool.transaction():
            c.extend(["inner", 2 ** 90])
        c.insert(0, ("t", "u"))


OPS = [
    (setup_list, "append str", lambda c: c.append("new value")),
    (setup_list, "append big int", lambda c: c.append(-(2 ** 100))),
    # With room and an inline value: published without a transaction.
    (setup_list_room, "append int (published)", lambda c: c.append(6)),
    (setup_list, "insert", lambda c: c.insert(1, (1, "x"))),
    (setup_list, "extend", lambda c: c.extend(["e%d" % i for i in range(40)])),
    (setup_list, "setitem", lambda c: c.__setitem__(1, "replaced")),
    (setup_list, "slice assign", lambda c: c.__setitem__(slice(1, 3), ["a", "b", "c"])),
    (setup_list, "delitem", lambda c: c.__delitem__(2)),
    (setup_list, "pop", lambda c: c.pop(1)),
    (setup_list, "remove", lambda c: c.remove("two")),
    (setup_list, "reverse", lambda c: c.reverse()),
    (setup_list, "clear", lambda c: c.clear()),
    (setup_list, "iadd", lambda c: c.__iadd__(["x", "y"])),
    (setup_list, "imul", lambda c: c.__imul__(3)),
    (setup_list, "sort", lambda c: c.sort(key=repr)),
    (setup_list, "nested transactions", nested),
    # A value that needs an allocation: a transaction.
    (setup_dict, "set new key", lambda c: c.__setitem__("new", "a value too long for a slot")),
    # Inline key and value, room in the table: published through the word
    # log (src/wordlog.h), which makes no call into libpmemobj that can fail.
    (setup_dict, "set new key (word log)", lambda c: c.__setitem__("new", "value")),
    (setup_dict, "set existing key", lambda c: c.__setitem__("a", "changed")),
    (setup_dict, "delitem", lambda c: c.__delitem__("b")),
    (setup_dict, "update (grows)", lambda c: c.update({"k%d" % i: i for i in range(30)})),
    (setup_dict, "pop", lambda c: c.pop(3)),
    (setup_dict, "popitem", lambda c: c.popitem()),
    (setup_dict, "setdefault", lambda c: c.setdefault("sd", [1, 2] and (1, 2))),
    (setup_dict, "clear", lambda c: c.clear()),
    (setup_dict, "ior", lambda c: c.__ior__({"x": 1, "y": 2})),
    (setup_sorted, "sorted set new key", lambda c: c.__setitem__(("k", 1), "new")),
    (setup_sorted, "sorted set existing", lambda c: c.__setitem__(("k", 2), 2 ** 70)),
    (setup_sorted, "sorted update (splits)",
     lambda c: c.update({("k", i): i for i in range(1, 24, 2)})),
    (setup_sorted, "sorted delete (merges)", lambda c: delete_range(c, ("k", 20), ("k", 70))),
    (setup_sorted, "sorted popitem", lambda c: c.popitem(last=False)),
    (setup_sorted, "sorted clear", lambda c: c.clear()),
    (setup_sorted, "sorted copy", lambda c: store(c, c.copy())),
    (setup_set, "add", lambda c: c.add("added, too long for a slot")),
    (setup_set, "add (word log)", lambda c: c.add("added")),
    (setup_set, "discard", lambda c: c.discard("x")),
    (setup_set, "update (grows)", lambda c: c.update(range(100, 140))),
    (setup_set, "pop", lambda c: c.pop()),
    (setup_set, "clear", lambda c: c.clear()),
    (setup_set, "iand", lambda c: c.__iand__({1, "x"})),
    (setup_set, "ixor", lambda c: c.__ixor__({1, 99})),
    (setup_obj, "setattr new", lambda c: setattr(c, "label", "a label")),
    (setup_obj, "setattr existing", lambda c: setattr(c, "x", "now a str")),
    # An int under a name the pool knows, in a free pair: published without
    # a transaction (pmo_tx_publish), its one call the publish.
    (setup_obj_free_pair, "setattr new int (published)", lambda c: setattr(c, "extra", 7)),
    (setup_obj, "delattr", lambda c: delattr(c, "y")),
    # Past the object's slots: its attributes move to a table of their own
    # (src/object.h), an allocation and the object's head in a transaction.
    (setup_obj_full, "setattr new (spills)", lambda c: setattr(c, "spill", "over")),
    (setup_obj_spilled, "delattr (spilled)", lambda c: delattr(c, "x")),
    (setup_obj_spilled, "setattr new (spilled)", lambda c: setattr(c, "more", "a str")),
    # the conformance paths (issue #10): iteration of subclasses, __init__
    # with itself, deep copies and list + PersistentList, stored in the root
    (setup_list, "extend list subclass", lambda c: c.extend(OwnIterList(["s"]))),
    (setup_list, "init with itself", lambda c: c.__init__(c)),
    (setup_set, "init with itself", lambda c: c.__init__(c)),
    (setup_list, "deepcopy", lambda c: store(c, copy.deepcopy(c))),
    (setup_dict, "deepcopy", lambda c: store(c, copy.deepcopy(c))),
    (setup_set, "deepcopy", lambda c: store(c, copy.deepcopy(c))),
    (setup_list, "list + PersistentList", lambda c: store(c, ["a", "b"] + c)),
    (setup_array, "array setitem", lambda c: c.__setitem__(3, 99)),
    (setup_array, "array extend", lambda c: c.extend(range(100))),
    (setup_array, "array writable", lambda c: c.writable(0, 5).__enter__() and None),
]


def run_with_fault(pool, setup, op, n, kinds=63):
    """Make a fresh target, inject the n-th call's failure into op; return
    (raised exception or None, state before, state after, calls made)."""
    target = setup(pool)
    pool.root["target"] = target
    before = plain(pool.root)
    # Proxies that only garbage cycles hold must not die (and free their
    # objects) while the fault is armed: collect them first.
    gc.collect()
    _fault_inject(n, kinds)
    try:
        op(target)
        exc = None
    except (MemoryError, OSError) as e:
        e.__traceback__ = None      # no cycle through this frame
        exc = e
    finally:
        calls = _fault_calls()
        _fault_inject(0)
    return exc, before, plain(pool.root), calls


@pytest.mark.parametrize("setup, name, op", OPS, ids=[o[1] for o in OPS])
def test_every_injected_failure_leaves_the_pool_as_it_was(pool_path, setup, name, op):
    if name == "array writable":
        op = writable_op
    with pmemobj.create(pool_path, pool_size=32 << 20) as pool:
        pool.root = pool.new(PersistentDict)
        failures = 0
        for n in range(1, 400):
            exc, before, after, calls = run_with_fault(pool, setup, op, n)
            if exc is None:
                assert calls < n, "the fault was hit but nothing was raised"
                break
            failures += 1
            assert after == before, "n=%d: %s changed the pool although it failed" % (n, name)
            _types, counts = pool.gc(debug=True)
            assert counts["collected"] == 0, "n=%d: the failed %s leaked objects" % (n, name)
        else:
            pytest.fail("the operation never completed")
        if name.endswith("(word log)"):
            assert failures == 0 and calls == 0, "%s took a transaction" % name
            assert after != before, "%s changed nothing" % name
        else:
            assert failures >= 1
        # Still usable.
        pool.root["after"] = pool.new(PersistentList, ["works"])
        assert list(pool.root["after"]) == ["works"]


def writable_op(c):
    with c.writable(0, 5) as v:
        v[0] = 42


def test_checker_catches_a_planted_bug(pool_path):
    # The planted bug: an operation that changes a plain value in the pool
    # outside the transaction (autocommitted) before the failing call, as a
    # runtime that forgot to roll a cache back would.  The before/after
    # comparison must see it.
    def buggy(c):
        c._p_pool.root["cache"] = "stale"          # its own transaction: committed
        c.append("x" * 100)                          # the fault hits here
    with pmemobj.create(pool_path, pool_size=32 << 20) as pool:
        pool.root = pool.new(PersistentDict)
        # The first allocation: "cache" and "stale" are short strs, stored
        # inline in their slots.
        exc, before, after, _calls = run_with_fault(pool, setup_list, buggy, 1, kinds=8)
        assert isinstance(exc, MemoryError)
        assert after != before


def test_the_comparison_sees_a_user_objects_attributes(pool):
    # It once compared vars(), which holds only volatile attributes, so
    # every Point looked the same and setattr's failures were never checked.
    pool.root = setup_obj(pool)
    before = plain(pool.root)
    pool.root.x = "changed"
    assert plain(pool.root) != before


def test_injection_is_one_call_and_then_off(pool):
    pool.root = pool.new(PersistentList)
    _fault_inject(1, 8)                   # the next allocation
    with pytest.raises(MemoryError):
        pool.root.append("needs an allocation")
    assert _fault_calls() == 1
    pool.root.append("now it works")
    assert list(pool.root) == ["now it works"]


# --- CPython allocation failures ----------------------------------------------------

_testcapi = pytest.importorskip("_testcapi")

NOMEM_OPS = [o for o in OPS if o[1] in (
    "append str", "insert", "extend", "slice assign", "pop", "sort", "nested transactions",
    "set new key", "update (grows)", "popitem", "add", "update (grows)", "iand",
    "set new key (word log)", "add (word log)",
    "setattr new", "delattr", "setattr new (spills)", "setattr new (spilled)",
    "array extend", "extend list subclass", "init with itself",
    "deepcopy", "list + PersistentList", "sorted set new key", "sorted update (splits)",
    "sorted delete (merges)", "sorted copy")]


@pytest.mark.parametrize("setup, name, op", NOMEM_OPS, ids=[o[1] for o in NOMEM_OPS])
def test_every_python_allocation_failure_leaves_the_pool_as_it_was(pool_path, setup, name,
                                                                     op):
    """The n-th CPython allocation of the operation fails (MemoryError from
    _testcapi.set_nomemory): the operation raises MemoryError and changes
    nothing, or (if the failure hit a cache or a temporary the runtime
    could do without) succeeds; either way the pool stays consistent."""
    with pmemobj.create(pool_path, pool_size=32 << 20) as pool:
        pool.root = pool.new(PersistentDict)
        for n in range(0, 300):
            target = setup(pool)
            pool.root["target"] = target
            before = plain(pool.root)
            raised = None
            _testcapi.set_nomemory(n, n + 1)
            try:
                op(target)
            except MemoryError as e:
                raised = e
            finally:
                _testcapi.remove_mem_hooks()
            after = plain(pool.root)
            if raised is not None:
                assert after == before, "n=%d: %s changed the pool although it failed" % (
                    n, name)
            _types, counts = pool.gc(debug=True)
            assert counts["collected"] == 0, "n=%d: %s leaked objects" % (n, name)
        pool.root["after"] = "works"
        assert pool.root["after"] == "works"



# --- msync failures (pools not on persistent memory) -----------------------------------

MSYNC_OPS = ["append str", "insert", "extend", "sort", "nested transactions", "set new key",
             "update (grows)", "sorted update (splits)", "sorted delete (merges)", "add",
             "setattr new", "delattr", "setattr new (spills)", "deepcopy", "array extend",
             "set new key (word log)",
             "add (word log)", "append int (published)"]

# In a child: libpmem decides at load whether a pool is persistent memory,
# and only a pool that is not persists by msync.
MSYNC_CHILD = r"""
import json, os, shutil, sys
os.environ["PMEM_IS_PMEM_FORCE"] = "0"
import pmemobj
from pmemobj._pmemobj import _inject_msync_failure as inject
import test_fault_injection as F

def errno_of(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return e.errno

d, names = sys.argv[1], sys.argv[2:]
template, path = os.path.join(d, "template.pool"), os.path.join(d, "k.pool")
out = {}
for setup, name, op in [o for o in F.OPS if o[1] in names]:
    if name in out:
        continue
    with pmemobj.create(template, pool_size=pmemobj.MIN_POOL_SIZE) as pool:    # copied
        pool.root = pool.new(pmemobj.PersistentDict)
        pool.root["target"] = setup(pool)
    shutil.copyfile(template, path)
    with pmemobj.open(path) as pool:           # how many msyncs the operation makes
        before = F.plain(pool.root)
        inject(0)
        op(pool.root["target"])
        n = inject(0)
        after = F.plain(pool.root)
    rows = []
    for k in range(1, n + 1):
        os.unlink(path)
        shutil.copyfile(template, path)
        pool = pmemobj.open(path)
        inject(k)
        row = {"k": k, "op": errno_of(lambda: op(pool.root["target"]))}
        row["later"] = errno_of(lambda: pool.root.__setitem__("later", 1))
        inject(0)
        pool.close()
        with pmemobj.open(path) as pool:     # recovers (the close left it unclean)
            state = F.plain(pool.root)
            row["state"] = ("before" if state == before else
                            "after" if state == after else repr(state))
            row["check"] = pool.check()["ok"]
        rows.append(row)
    os.unlink(template)
    out[name] = {"n": n, "rows": rows}
print(json.dumps(out))
"""


def test_every_msync_failure_ends_in_eio_and_all_or_nothing(pool_dir, run_py):
    """A pool not on persistent memory persists by msync, and libpmemobj
    aborts the process when one fails.  For each operation and each of its
    msyncs in turn, that msync fails (src/iofail.c): the process lives, the
    operation raises OSError(EIO) (or, when the failure struck the frees
    deferred after its commit, succeeds), the pool takes no more changes,
    and the next open finds the state before or after the operation."""
    here = str(Path(__file__).resolve().parent)
    proc = run_py(MSYNC_CHILD, str(pool_dir), *MSYNC_OPS, extra_paths=[here], timeout=600)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(out) == sorted(MSYNC_OPS)
    for name, r in out.items():
        assert r["n"] >= 2, (name, r["n"])
        for row in r["rows"]:
            assert row["op"] in (5, "ok") and row["later"] == 5, (name, row)
            assert row["state"] in ("before", "after") and row["check"], (name, row)
        # Both outcomes occur: a failure before the commit rolls back.  A
        # published op has no commit to fail before: its stores are in the
        # page cache, and so is its word log's record, which the open
        # redoes; it is all or nothing all the same.
        published = name.endswith(("(published)", "(word log)"))
        assert {row["state"] for row in r["rows"]} == (
            {"after"} if published else {"before", "after"}), name


def _publish_fails(write):
    """Run write with its publish failing (fault kind 32, PMO_FAULT_PUBLISH):
    the published path makes exactly one libpmemobj call that can fail
    (pmemobj_publish), and its failure is a MemoryError."""
    _fault_inject(1, 32)
    try:
        with pytest.raises(MemoryError, match="cannot publish an appended item"):
            write()
        assert _fault_calls() == 1
    finally:
        _fault_inject(0)


def test_a_failed_publish_leaves_the_object_as_it_was(pool):
    # The failure leaves the shape, so the attribute is absent, and the pool
    # takes the same write afterwards.
    pool.root = p = setup_obj_free_pair(pool)
    published = pool.stats()["published"]
    _publish_fails(lambda: setattr(p, "extra", 7))
    assert not hasattr(p, "extra") and pool.stats()["published"] == published
    p.extra = 7
    assert p.extra == 7 and pool.stats()["published"] == published + 1
    assert pool.check()["ok"]


def test_a_failed_published_append_leaves_the_list_as_it_was(pool):
    pool.root = c = setup_list_room(pool)
    published = pool.stats()["published"]
    _publish_fails(lambda: c.append(6))
    assert len(c) == 4 and pool.stats()["published"] == published
    c.append(6)
    assert c[4] == 6 and pool.stats()["published"] == published + 1
    assert pool.check()["ok"]
