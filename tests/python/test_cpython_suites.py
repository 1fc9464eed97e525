"""CPython's own container test suites, run against the persistent containers.

The suites are imported from the interpreter's installed ``test`` package
(list_tests, seq_tests, mapping_tests, test_set, test_tuple); nothing of
them is copied here.  Each suite class is subclassed with a thin adapter:
its ``type2test`` (``thetype`` in test_set) stands for a persistent type,
and calling it makes an instance in a pool shared by the module, exactly
as ``pool.new(PersistentList, ...)`` would.

Tests that check what a persistent container cannot be (the builtin type
itself, a picklable or subclassable one, a container of values a pool
cannot store, ...) are listed with their reason in
cpython_inapplicable.txt; every other test runs.  Lines there marked
``TODO:`` are applicable failures left for later work.
"""

import functools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import pmemobj
from pmemobj import (PersistentDict, PersistentFrozenSet, PersistentList,
                     PersistentSet, PersistentTuple)

try:
    from test import list_tests, mapping_tests, seq_tests, support, test_set, test_tuple
except ImportError as exc:       # the interpreter was installed without its tests
    pytest.skip(f"CPython's test package is not installed ({exc})", allow_module_level=True)

INAPPLICABLE_FILE = Path(__file__).with_name("cpython_inapplicable.txt")

# --- the pool the instances live in ----------------------------------------

_state = {"pool": None, "dir": None}


def _pool():
    pool = _state["pool"]
    if pool is None:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        _state["dir"] = tempfile.mkdtemp(prefix="pmemobj-cpython-", dir=base)
        pool = pmemobj.create(os.path.join(_state["dir"], "suite.pool"),
                              pool_size=256 << 20)
        # test.support's ALWAYS_EQ and NEVER_EQ are module-level values the
        # sequence tests store: a pool keeps them by pickle, once nominated.
        pool.persist_via_pickle(type(support.ALWAYS_EQ), type(support.NEVER_EQ))
        _state["pool"] = pool
    return pool


@pytest.fixture(scope="module", autouse=True)
def _close_pool():
    yield
    if _state["pool"] is not None:
        _state["pool"].close()
        shutil.rmtree(_state["dir"], ignore_errors=True)
        _state["pool"] = _state["dir"] = None


# --- type2test: a persistent type whose call makes an instance in the pool -

class _InPool(type):
    """Metaclass of the stand-ins: the class is called like the builtin,
    and answers isinstance/issubclass/== for the persistent type."""

    def __call__(cls, *args, **kw):
        return _pool().new(cls.persistent_type, *args, **kw)

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.persistent_type)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls.persistent_type)

    def __eq__(cls, other):
        return other is cls or other is cls.persistent_type

    def __hash__(cls):
        return hash(cls.persistent_type)

    def __getattr__(cls, name):
        if name == "fromkeys":
            # On the class, PersistentDict.fromkeys needs the pool.
            return functools.partial(cls.persistent_type.fromkeys, pool=_pool())
        return getattr(cls.persistent_type, name)


class _StandIn:
    def __init_subclass__(cls, **kw):
        # A test subclassing type2test would subclass the stand-in, not the
        # persistent type: refuse it as the persistent type itself does.
        if "persistent_type" not in cls.__dict__:
            raise TypeError(f"type 'pmemobj.{cls.persistent_type.__name__}' "
                            f"is not an acceptable base type")


def in_pool(ptype):
    return _InPool(ptype.__name__, (_StandIn,), {"persistent_type": ptype,
                                                 "__qualname__": ptype.__name__})


# --- the reviewed list of inapplicable tests -------------------------------

def _load_inapplicable():
    """{(class, test): reason} from cpython_inapplicable.txt."""
    out = {}
    for n, line in enumerate(INAPPLICABLE_FILE.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, reason = line.partition(": ")
        cls, dot, test = name.strip().partition(".")
        if not sep or not dot or not reason.strip():
            raise ValueError(f"{INAPPLICABLE_FILE.name}:{n}: want 'Class.test: reason'")
        out[(cls, test)] = reason.strip()
    return out


INAPPLICABLE = _load_inapplicable()
SUITES = {}


def suite(cls):
    """Register an adapter class; its listed tests skip, before their setUp
    (which may itself be what cannot run, storing an unstorable value)."""
    SUITES[cls.__name__] = cls
    listed = {test: reason for (cname, test), reason in INAPPLICABLE.items()
              if cname == cls.__name__}
    if listed:
        set_up = cls.setUp

        def setUp(self):
            reason = listed.get(self._testMethodName)
            if reason:
                self.skipTest(reason)
            set_up(self)
        cls.setUp = setUp
    return cls


# --- the suites ------------------------------------------------------------

@suite
class PersistentListTest(list_tests.CommonTest):
    type2test = in_pool(PersistentList)


@suite
class PersistentTupleTest(test_tuple.TupleTest):
    type2test = in_pool(PersistentTuple)


@suite
class PersistentTupleSeqTest(seq_tests.CommonTest):
    """seq_tests on its own as well: TupleTest overrides some of it."""
    type2test = in_pool(PersistentTuple)


@suite
class PersistentDictTest(mapping_tests.TestHashMappingProtocol):
    type2test = in_pool(PersistentDict)


@suite
class PersistentSetTest(test_set.TestSet):
    thetype = in_pool(PersistentSet)
    basetype = PersistentSet


@suite
class PersistentFrozenSetTest(test_set.TestFrozenSet):
    thetype = in_pool(PersistentFrozenSet)
    basetype = PersistentFrozenSet


class _SubjectInPool:
    """For the test_set classes that test the builtin set they make in
    setUp (or hold as class attributes): the same sets made persistent,
    each one the suite's subject; the values they are compared with stay
    builtin sets, so the mixed operations are exercised too."""

    subject_attrs = ("set", "a", "b", "left", "right")
    subject_type = PersistentSet

    def setUp(self):
        super().setUp()
        for name in self.subject_attrs:
            value = getattr(self, name, None)
            if type(value) is set:
                setattr(self, name, _pool().new(self.subject_type, value))


class _FrozenSubjectInPool(_SubjectInPool):
    """The same with PersistentFrozenSet subjects, for the classes that do
    not mutate their subject."""

    subject_type = PersistentFrozenSet


for _name in ["TestBasicOpsEmpty", "TestBasicOpsSingleton", "TestBasicOpsTuple",
              "TestBasicOpsTriple", "TestBasicOpsString", "TestBasicOpsBytes",
              "TestBasicOpsMixedStringBytes", "TestBinaryOps", "TestUpdateOps", "TestMutate",
              "TestSubsetEqualEmpty", "TestSubsetEqualNonEmpty", "TestSubsetEmptyNonEmpty",
              "TestSubsetPartial", "TestSubsetNonOverlap", "TestOnlySetsNumeric",
              "TestOnlySetsDict", "TestOnlySetsOperator", "TestOnlySetsTuple",
              "TestOnlySetsString", "TestOnlySetsGenerator", "TestCopyingEmpty",
              "TestCopyingSingleton", "TestCopyingTriple", "TestCopyingTuple",
              "TestCopyingNested", "TestIdentities"]:
    _adapted = "PersistentSet_" + _name
    globals()[_adapted] = suite(type(_adapted, (_SubjectInPool, getattr(test_set, _name)),
                                     {"__module__": __name__, "__qualname__": _adapted}))

# The same for frozensets, where the class does not mutate its subject
# (not TestUpdateOps, TestMutate, TestOnlySets*, which call update methods)
# and the subject can be stored (not TestBasicOpsTriple, listed for sets).
for _name in ["TestBasicOpsEmpty", "TestBasicOpsSingleton", "TestBasicOpsTuple",
              "TestBasicOpsString", "TestBasicOpsBytes", "TestBasicOpsMixedStringBytes",
              "TestBinaryOps", "TestSubsetEqualEmpty", "TestSubsetEqualNonEmpty",
              "TestSubsetEmptyNonEmpty", "TestSubsetPartial", "TestSubsetNonOverlap",
              "TestCopyingEmpty", "TestCopyingSingleton", "TestCopyingTriple",
              "TestCopyingTuple", "TestCopyingNested", "TestIdentities"]:
    _adapted = "PersistentFrozenSet_" + _name
    globals()[_adapted] = suite(type(_adapted, (_FrozenSubjectInPool, getattr(test_set, _name)),
                                     {"__module__": __name__, "__qualname__": _adapted}))
del _name, _adapted


def test_inapplicable_list_names_existing_tests():
    """Every line of the list names a test of a suite here (a stale line
    would hide nothing, and should go)."""
    for cname, test in INAPPLICABLE:
        assert cname in SUITES, f"{cname}.{test}: no such suite"
        assert test.startswith("test") and hasattr(SUITES[cname], test), \
            f"{cname}.{test}: no such test"
