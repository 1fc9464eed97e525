"""PersistentObject: user classes whose attributes persist.

Attributes persist across reopen (any storable value, persistent objects,
nesting, cycles); _v_ attributes are volatile; _v__init__ runs on creation
(before __init__) and on every resurrection, __init__ only on creation;
class attributes, methods and properties behave as usual; a class is found
again by its module path and a missing one gives a clear error; identity;
transactions; gc and refcount freeing.
"""

import gc as pygc
import uuid
from pathlib import Path

import pytest

import pmemobj
from pmemobj import PersistentList, PersistentObject, PersistentTuple

from helpers import assert_same
from persistent_types import Node, Point, Record, SetattrRecord, Slotted, make_class_module

TESTS_DIR = Path(__file__).resolve().parent


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


@pytest.fixture(autouse=True)
def clear_log():
    Point.log.clear()
    yield
    Point.log.clear()


# --- attributes -----------------------------------------------------------

VALUES = [None, True, False, 0, -1, 2**63 - 1, -2**63, 2**100, -(2**70),
          1.5, -0.0, float("inf"), 3 + 4j, "", "text", "ünïcödé \udc80",
          b"", b"\x00bytes", (1, "a", (2.5, None)), frozenset({1, "x"}),
          "x" * 10000]


def test_attribute_values_persist(pool):
    obj = pool.new(Node, "values")
    for i, v in enumerate(VALUES):
        setattr(obj, f"a{i}", v)
    pool.root = obj
    pool = reopen(pool)
    try:
        obj = pool.root
        for i, v in enumerate(VALUES):
            assert_same(getattr(obj, f"a{i}"), v)
        assert obj.name == "values"
    finally:
        pool.close()


def test_init_args_and_kwargs(pool):
    p = pool.new(Point, 3, 4, label="p")
    assert (p.x, p.y, p.label) == (3, 4, "p")
    assert isinstance(p, Point) and isinstance(p, PersistentObject)
    assert isinstance(p, pmemobj.Persistent)


def test_overwrite_and_many_attributes(pool):
    obj = pool.new(Node, "many")
    for i in range(100):
        setattr(obj, f"attr_{i}", i)
    for i in range(0, 100, 3):
        setattr(obj, f"attr_{i}", str(i))
    pool.root = obj
    # A second instance of the class starts with a bigger inline table.
    other = pool.new(Node, "second")
    for i in range(20):
        setattr(other, f"attr_{i}", -i)
    pool.root.next = other
    pool = reopen(pool)
    try:
        obj = pool.root
        for i in range(100):
            assert getattr(obj, f"attr_{i}") == (str(i) if i % 3 == 0 else i)
        assert [getattr(obj.next, f"attr_{i}") for i in range(20)] == \
            [-i for i in range(20)]
    finally:
        pool.close()


def test_delete_attributes(pool):
    p = pool.new(Point, 1, 2, label="x")
    del p.label
    with pytest.raises(AttributeError, match="'Point' object has no attribute 'label'"):
        p.label
    with pytest.raises(AttributeError, match="has no attribute 'label'"):
        del p.label
    with pytest.raises(AttributeError, match="has no attribute 'never_set_anywhere'"):
        del p.never_set_anywhere
    with pytest.raises(AttributeError):
        p.never_set_anywhere
    assert not hasattr(p, "label")
    p.label = "again"
    pool.root = p
    pool = reopen(pool)
    try:
        assert pool.root.label == "again"
        del pool.root.x
        assert not hasattr(pool.root, "x")
        assert pool.root.y == 2
    finally:
        pool.close()


# --- shapes (src/shape.h): names once per pool, values in slots ------------

def test_attribute_order_survives_delete_spill_and_reopen(pool):
    # A shaped object keeps a deleted attribute's slot, so setting it again
    # keeps its first position; past its slots it spills into a table,
    # which keeps the order it had and appends.
    obj = pool.new(Node, "n")                  # name, next
    obj.a = 1
    del obj.name
    obj.b = 2
    obj.name = "again"
    assert obj._p_attr_names() == ["name", "next", "a", "b"]
    for i in range(70):                        # past the most slots an object has
        setattr(obj, f"x{i}", i)
    del obj.a
    obj.a = 3
    names = ["name", "next", "b"] + [f"x{i}" for i in range(70)] + ["a"]
    assert obj._p_attr_names() == names
    pool.root = obj
    assert pool.gc(debug=True)[1]["invalid"] == 0 and pool.check()["ok"]
    pool = reopen(pool)
    try:
        obj = pool.root
        assert obj._p_attr_names() == names
        assert (obj.name, obj.a, obj.b, obj.x69) == ("again", 3, 2, 69)
    finally:
        pool.close()


def test_new_shapes_of_a_rolled_back_transaction_are_forgotten(pool):
    pool.root = objs = pool.new(PersistentList, [pool.new(Node, "a"), pool.new(Node, "b")])
    with pytest.raises(RuntimeError):
        with pool.transaction():
            objs[0].only_here = 1                  # a new name, a new shape
            objs[0].and_here = 2
            raise RuntimeError
    assert objs[0]._p_attr_names() == ["name", "next"]
    # The same names again, in another order and on another object: the
    # shapes made now must not be taken for the rolled-back ones.
    objs[1].and_here = 20
    objs[1].only_here = 10
    objs[0].only_here = 1
    assert objs[1]._p_attr_names() == ["name", "next", "and_here", "only_here"]
    assert (objs[1].and_here, objs[1].only_here) == (20, 10)
    assert not hasattr(objs[0], "and_here")
    pool = reopen(pool)
    try:
        a, b = pool.root
        assert a._p_attr_names() == ["name", "next", "only_here"]
        assert (b.and_here, b.only_here, a.only_here) == (20, 10, 1)
        assert pool.check()["ok"]
    finally:
        pool.close()


def test_an_object_is_its_head_and_a_slot_per_attribute(pool_path):
    # In a pool with 16-byte allocation units (64 MiB or more): a Point of
    # three attributes made once its class has needed three takes 80
    # usable bytes (head 16, 3 slots and a spare 64) and its slot in the
    # list, 96 with a little of the list's growth (pool.stats() counts
    # usable bytes, without libpmemobj's header).  An attribute table took
    # 40 + 24 per attribute: 144 usable bytes with the same spare.
    pool = pmemobj.create(pool_path, pool_size=64 << 20)
    try:
        pool.root = lst = pool.new(PersistentList)
        lst.append(pool.new(Point, 1, 2, label="teaches the class its room"))
        base = pool.stats()["used_bytes"]
        with pool.transaction():
            for i in range(1000):
                lst.append(pool.new(Point, i, -i, label="l"))
        per_object = (pool.stats()["used_bytes"] - base) / 1000
        assert 96 <= per_object < 100, per_object
        assert lst[-1].label == "l" and pool.check()["ok"]
    finally:
        pool.close()


def _spilled(pool):
    return pool.stats()["objects_by_type"].get("spilled attributes", 0)


def test_first_instance_gets_the_room_its_init_assigns(pool):
    """The first instance of a class in a pool's session is made with room
    for the attributes its __init__ assigns, so it does not spill; one
    whose attributes __init__ sets by name does, once per session."""
    pool.root = lst = pool.new(PersistentList)
    lst.append(pool.new(Record, 1))
    lst.append(pool.new(SetattrRecord, 1))
    assert _spilled(pool) == 1
    lst.append(pool.new(SetattrRecord, 2))    # the class has shown its room
    assert _spilled(pool) == 1
    pool = reopen(pool)
    try:
        lst = pool.root
        lst.append(pool.new(Record, 2))
        lst.append(pool.new(SetattrRecord, 3))
        assert _spilled(pool) == 2
        assert [r.l for r in lst if isinstance(r, Record)] == [[1], [2]]
        assert lst[1].l == 1 and pool.check()["ok"]
    finally:
        pool.close()


def test_room_guess_reads_self_assignments_along_the_mro():
    from pmemobj._room import init_attributes

    class Base:
        def __init__(this, x):
            this.a = x
            if x:
                this.b = x
            this.a = 2                  # counted once
            other = this
            other.c = 1                 # not through the first argument

    class Sub(Base):
        def __init__(self):
            super().__init__(1)
            self.d = self.b = 3

    assert (init_attributes(Base), init_attributes(Sub)) == (2, 3)
    assert init_attributes(Point) >= 0 and init_attributes(PersistentObject) == 0


def test_unstorable_values_refused(pool):
    p = pool.new(Point, 1, 2)
    for bad in ([1, object()], {"a": bytearray()}, {1, Point}, object(), Point,
                (1, [bytearray()])):
        with pytest.raises(TypeError, match="Don't know how to persist"):
            p.bad = bad
    assert not hasattr(p, "bad")
    # Refused before the transaction: the enclosing one is not rolled back.
    with pool.transaction():
        p.x = 10
        with pytest.raises(TypeError):
            p.y = [bytearray()]
        p.y = 20
    assert (p.x, p.y) == (10, 20)


def test_persistent_values_nesting_and_cycles(pool):
    a = pool.new(Node, "a")
    b = pool.new(Node, "b", a)
    a.next = b                                # a cycle
    a.items = pool.new(PersistentList, [b, "s", 1])
    a.tup = pool.new(PersistentTuple, (a, b))
    a.value_tuple = (b, 5)
    pool.root = a
    del a, b
    pool = reopen(pool)
    try:
        a = pool.root
        b = a.next
        assert b.name == "b" and b.next is a
        assert a.items[0] is b and list(a.items)[1:] == ["s", 1]
        assert a.tup[0] is a and a.tup[1] is b
        assert a.value_tuple[0] is b and a.value_tuple[1] == 5
        types, counts = pool.gc()
        assert counts["collected"] == 0
        assert types["persistent_types:Node"] == 2
    finally:
        pool.close()


def test_hash_is_stable_across_proxies(pool):
    n = pool.new(Node, "n")
    pool.root = n
    h = hash(n)
    key = pool.new(PersistentTuple, (n, 1))
    d = {key: "found"}
    del n
    pygc.collect()                            # the proxy goes; a new one comes
    assert hash(pool.root) == h
    assert d[key] == "found"

    class WithEq(PersistentObject):
        def __eq__(self, other):
            return isinstance(other, WithEq) and self.v == other.v
        __hash__ = PersistentObject.__hash__

    a, b = pool.new(WithEq), pool.new(WithEq)
    a.v = b.v = 1
    assert a == b and a is not b


def test_attribute_names_after_a_rolled_back_intern(pool):
    # Recent name lookups are remembered while the pool is unchanged; a
    # name interned in a rolled-back transaction must be forgotten, though
    # the next name interned takes its index.
    obj = pool.new(Node, "n")
    try:
        with pool.transaction():
            obj.fresh_name_1 = 1
            assert obj.fresh_name_1 == 1
            raise KeyError
    except KeyError:
        pass
    obj.other_name_2 = 2
    with pytest.raises(AttributeError):
        obj.fresh_name_1
    assert obj.other_name_2 == 2
    obj.fresh_name_1 = 3
    assert (obj.fresh_name_1, obj.other_name_2) == (3, 2)


def test_identity(pool):
    pool.root = pool.new(Node, "root", pool.new(Node, "child"))
    assert pool.root is pool.root
    assert pool.root.next is pool.root.next
    child = pool.root.next
    pool = reopen(pool)
    try:
        assert pool.root.next is pool.root.next
        assert pool.root.next is not child
    finally:
        pool.close()


# --- volatile attributes, _v__init__, __init__ -------------------------------

def test_volatile_attributes(pool):
    p = pool.new(Point, 1, 2)
    p._v_cache = [1, 2, 3]                    # any object: never stored
    p._v_other = object()
    assert p._v_cache == [1, 2, 3]
    assert "_v_cache" in vars(p) and "x" not in vars(p)
    del p._v_other
    assert not hasattr(p, "_v_other")
    pool.root = p
    del p
    pygc.collect()
    r = pool.root
    assert not hasattr(r, "_v_cache")         # a new proxy: volatile state gone
    r._v_cache = 5
    pool = reopen(pool)
    try:
        assert not hasattr(pool.root, "_v_cache")
        assert "_v_cache" not in dir(pool.root)
    finally:
        pool.close()


def test_v_init_on_create_and_resurrect(pool):
    p = pool.new(Point, 1, 2)
    assert Point.log == [("_v__init__", 1), ("__init__", 1, 2)]
    assert p._v_resurrections == 1
    pool.root = p
    del p
    pygc.collect()
    Point.log.clear()
    r = pool.root                             # resurrection in this process
    assert Point.log == [("_v__init__", 1)]
    assert r.x == 1
    assert pool.root is r                     # same proxy: no second _v__init__
    assert Point.log == [("_v__init__", 1)]
    del r
    pool = reopen(pool)
    try:
        Point.log.clear()
        r = pool.root
        assert Point.log == [("_v__init__", 1)]   # __init__ never again
        assert (r.x, r.y) == (1, 2)
    finally:
        pool.close()


def test_v_init_error_on_resurrection(pool):
    pool.root = pool.new(Point, 1, 2)
    pygc.collect()
    calls = []

    def failing(self):
        calls.append(self)
        raise RuntimeError("no resources")

    Point._v__init__ = failing
    try:
        with pytest.raises(RuntimeError, match="no resources"):
            pool.root
    finally:
        del Point._v__init__
    assert calls
    assert pool.root.x == 1


# --- class behaviour ------------------------------------------------------------

def test_class_attributes_methods_properties(pool):
    p = pool.new(Point, 3, 4)
    assert p.kind == "point"                  # class attribute
    assert p.norm2 == 25                      # read-only property
    with pytest.raises(AttributeError):
        p.norm2 = 1
    p.doubled_x = 20                          # property setter -> persistent x
    assert p.x == 10
    assert p.moved(1, 1) == (11, 5)
    assert p.origin_kind() == "point" and p.helper() == "static"
    p.kind = "mine"                           # shadows the class attribute
    assert p.kind == "mine" and Point.kind == "point"
    p.moved = "shadowed method"               # as an instance __dict__ would
    assert p.moved == "shadowed method"
    pool.root = p
    pool = reopen(pool)
    try:
        r = pool.root
        assert r.kind == "mine" and r.moved == "shadowed method"
        del r.kind, r.moved
        assert r.kind == "point" and r.moved(0, 1) == (10, 5)
        assert r.norm2 == 116
    finally:
        pool.close()


def test_getattr_hook_and_dir(pool):
    class WithDefault(PersistentObject):
        def __getattr__(self, name):
            return f"default:{name}"

    obj = pool.new(WithDefault)
    obj.real = 1
    assert obj.real == 1
    assert obj.missing == "default:missing"
    names = dir(obj)
    assert "real" in names and "__getattr__" in names


def test_slots_and_dict_are_volatile(pool):
    s = pool.new(Slotted)
    s.cache = [1]                             # a slot (data descriptor)
    s.stored = 2
    pool.root = s
    assert vars(s) == {}
    del s
    pygc.collect()
    r = pool.root
    assert r.stored == 2
    assert not hasattr(r, "cache")


def test_class_change_persists(pool):
    n = pool.new(Node, "n")
    pool.root = n
    with pytest.raises(KeyError):
        with pool.transaction():
            n.__class__ = Point
            raise KeyError
    with pytest.raises(TypeError, match="PersistentObject subclass"):
        n.__class__ = dict
    n.__class__ = Point                      # rolled back in the pool only
    assert type(n) is Point and n.kind == "point" and n.name == "n"
    pool = reopen(pool)
    try:
        assert type(pool.root) is Point and pool.root.name == "n"
    finally:
        pool.close()


def test_not_picklable_or_copyable(pool):
    import copy
    import pickle
    p = pool.new(Point, 1, 2)
    with pytest.raises(TypeError, match="live in a pool"):
        pickle.dumps(p)
    with pytest.raises(TypeError, match="live in a pool"):
        copy.copy(p)


def test_direct_instantiation_refused():
    with pytest.raises(TypeError, match="pool.new"):
        Point(1, 2)


def test_cannot_mix_with_other_persistent_types():
    with pytest.raises(TypeError):
        class WithList(PersistentObject, PersistentList):
            pass

    class OtherCType(pmemobj._PersistentBase):   # stands for any C type
        pass

    with pytest.raises(TypeError, match="may not be mixed"):
        class Both(PersistentObject, OtherCType):
            pass


def test_attribute_names_unicode(pool):
    obj = pool.new(Node, "u")
    setattr(obj, "ünï", 1)
    setattr(obj, "日本", "x")
    pool.root = obj
    pool = reopen(pool)
    try:
        assert getattr(pool.root, "ünï") == 1
        assert getattr(pool.root, "日本") == "x"
    finally:
        pool.close()


def test_use_after_close(pool_path):
    pool = pmemobj.create(pool_path)
    p = pool.new(Point, 1, 2)
    pool.root = p
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        p.x
    with pytest.raises(ValueError, match="closed"):
        p.x = 3
    with pytest.raises(ValueError, match="closed"):
        p.kind          # an attribute of the object could shadow the class's
    p._v_note = 1       # volatile attributes need no pool
    assert p._v_note == 1
    assert "moved" in dir(p) and "x" not in dir(p)


# --- transactions -----------------------------------------------------------------

def test_transaction_rolls_back_attribute_changes(pool):
    p = pool.new(Point, 1, 2, label="a")
    pool.root = p
    with pytest.raises(ZeroDivisionError):
        with pool.transaction():
            p.x = 100
            del p.label
            p.brand_new_name = "n"
            1 / 0
    assert (p.x, p.y, p.label) == (1, 2, "a")
    assert not hasattr(p, "brand_new_name")
    # Names interned in the rolled-back transaction are forgotten cleanly.
    p.another_new_name = 5
    p.brand_new_name = 6
    pool = reopen(pool)
    try:
        r = pool.root
        assert (r.another_new_name, r.brand_new_name, r.label) == (5, 6, "a")
    finally:
        pool.close()


def test_transaction_commits_all_changes(pool):
    p = pool.new(Point, 1, 2)
    pool.root = p
    with pool.transaction():
        p.x = 5
        p.y = 6
        p.child = pool.new(Node, "c")
    pool = reopen(pool)
    try:
        assert (pool.root.x, pool.root.y, pool.root.child.name) == (5, 6, "c")
    finally:
        pool.close()


def test_object_created_in_rolled_back_transaction(pool):
    with pytest.raises(KeyError):
        with pool.transaction():
            p = pool.new(Point, 1, 2)
            raise KeyError
    with pytest.raises(ValueError, match="rolled back"):
        p.x
    with pytest.raises(ValueError, match="rolled back"):
        pool.root = p


def test_class_registered_in_rolled_back_transaction(pool):
    # The first instance of each class registers it in the type table; a
    # rollback undoes the registration and the caches must follow.
    class Local1(PersistentObject):
        pass

    class Local2(PersistentObject):
        pass

    with pytest.raises(KeyError):
        with pool.transaction():
            pool.new(Local1)
            raise KeyError
    b = pool.new(Local2)                      # takes the code Local1 had
    a = pool.new(Local1)
    b.v, a.v = "b", "a"
    pool.root = (a, b)
    del a, b
    pygc.collect()
    a, b = pool.root
    assert type(a) is Local1 and type(b) is Local2
    assert (a.v, b.v) == ("a", "b")


def test_delete_missing_keeps_enclosing_transaction(pool):
    p = pool.new(Point, 1, 2)
    pool.root = p
    with pool.transaction():
        p.x = 7
        with pytest.raises(AttributeError):
            del p.nothing_here
        p.y = 8
    assert (p.x, p.y) == (7, 8)


# --- class lookup -----------------------------------------------------------------

def test_class_not_found_gives_clear_error(pool_dir, run_py):
    modname = "pmo_gone_" + uuid.uuid4().hex[:8]
    moddir = pool_dir / "mods"
    moddir.mkdir()
    make_class_module(moddir, modname)
    path = str(pool_dir / "cls.pool")
    run_py(f"""
        import pmemobj, {modname}
        pool = pmemobj.create({path!r})
        pool.root = pool.new(pmemobj.PersistentList, [pool.new({modname}.Thing, 41)])
        pool.close()
    """, extra_paths=[moddir])
    pool = pmemobj.open(path)
    try:
        lst = pool.root
        with pytest.raises(pmemobj.ClassNotFoundError) as info:
            lst[0]
        assert isinstance(info.value, TypeError)
        msg = str(info.value)
        assert f"cannot find class '{modname}:Thing'" in msg
        assert "No module named" in msg
        assert isinstance(info.value.__cause__, ImportError)
        # gc does not need the class of a PersistentObject: nothing is lost.
        types, counts = pool.gc()
        assert counts["collected"] == 0 and types[f"{modname}:Thing"] == 1
    finally:
        pool.close()
    # With the module back, everything is there.
    run_py(f"""
        import pmemobj
        pool = pmemobj.open({path!r})
        assert pool.root[0].v == 41, pool.root[0].v
        pool.close()
    """, extra_paths=[moddir])


def test_class_removed_from_module(pool_dir, run_py):
    path = str(pool_dir / "cls2.pool")
    run_py(f"""
        import pmemobj, persistent_types
        pool = pmemobj.create({path!r})
        pool.root = pool.new(persistent_types.Node, "n")
        pool.close()
    """, extra_paths=[TESTS_DIR])
    proc = run_py(f"""
        import pmemobj, persistent_types
        del persistent_types.Node
        pool = pmemobj.open({path!r})
        try:
            pool.root
        except pmemobj.ClassNotFoundError as e:
            print("ERR", e)
        pool.close()
    """, extra_paths=[TESTS_DIR])
    assert "ERR cannot find class 'persistent_types:Node'" in proc.stdout
    assert "has no attribute 'Node'" in proc.stdout


def test_local_class_hint(pool):
    class Inner(PersistentObject):
        pass

    pool.root = pool.new(Inner)
    path = pool.filename
    pool.close()
    pool = pmemobj.open(path)
    try:
        # A fresh process would not know the class; simulate by asking a
        # pool that never saw it (the cache is per pool object).
        with pytest.raises(pmemobj.ClassNotFoundError, match="inside a function"):
            pool.root
    finally:
        pool.close()


# --- freeing and gc -----------------------------------------------------------------

def test_refcount_frees_objects(pool):
    p = pool.new(Point, 1, 2, label="a label string, not short")
    p.child = pool.new(Node, "a child with a long name")
    pool.root = p
    del p
    pygc.collect()
    before = pool.stats()["frees"]
    pool.root = None
    # Point, its str label, the Node and its str name.
    assert pool.stats()["frees"] - before >= 4
    types, counts = pool.gc()
    assert counts["collected"] == 0
    assert "persistent_types:Point" not in types
    assert "persistent_types:Node" not in types


def test_unreferenced_new_object_freed_when_proxy_dies(pool):
    before = pool.stats()["frees"]
    p = pool.new(Point, 1, 2)
    del p
    pygc.collect()
    assert pool.stats()["frees"] - before == 1
    assert pool.gc()[1]["collected"] == 0


def test_gc_collects_cycles_of_objects(pool):
    a = pool.new(Node, "a")
    a.next = pool.new(Node, "b", a)
    pool.root = a
    del a
    pygc.collect()
    pool.root = None                          # the cycle survives refcounting
    types, counts = pool.gc()
    assert counts["cycles"] >= 2
    types, counts = pool.gc()
    assert counts["collected"] == 0 and "persistent_types:Node" not in types


def test_gc_keeps_objects_only_python_holds(pool):
    n = pool.new(Node, "held", pool.new(Node, "inner"))
    pool.gc()
    assert n.next.name == "inner"


# --- crashes ------------------------------------------------------------------------

def test_kill_inside_transaction_keeps_tables_consistent(pool_path, spawn_py):
    # The killed transaction registered a class and interned attribute
    # names; recovery rolls all of it back, and the pool goes on working.
    child = spawn_py("""
        import sys, time, pmemobj
        from persistent_types import Node, Point
        pool = pmemobj.create(sys.argv[1])
        pool.root = pool.new(Node, "committed")
        pool.root.value = 1
        with pool.transaction():
            pool.root.value = 2
            pool.root.fresh_name = "x"
            pool.root.next = pool.new(Point, 1, 2, label="new class")
            print("in transaction", flush=True)
            time.sleep(60)
    """, pool_path, extra_paths=[TESTS_DIR])
    child.expect("in transaction")
    child.kill()
    pool = pmemobj.open(pool_path)
    try:
        r = pool.root
        assert (r.name, r.value, r.next) == ("committed", 1, None)
        assert not hasattr(r, "fresh_name")
        assert "fresh_name" not in dir(r)
        r.other_name = pool.new(Point, 3, 4)
        r.fresh_name = "y"
    finally:
        pool.close()
    pool = pmemobj.open(pool_path)
    try:
        r = pool.root
        assert (r.fresh_name, r.other_name.x, type(r.other_name)) == ("y", 3, Point)
        assert pool.gc()[1]["collected"] == 0
    finally:
        pool.close()
