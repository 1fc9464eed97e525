"""persist_via_pickle: nominated types round-trip through pickle; other
classes are refused; reading a pickled value resolves only classes that
were nominated in the reading process, so opening a pool never imports a
module or calls a function named by the file."""

import datetime
import decimal
import fractions
import os
import textwrap
from dataclasses import dataclass

import pytest

import pmemobj
from helpers import assert_same


@dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclass(frozen=True)
class Other:
    v: str


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


# --- in process -------------------------------------------------------------

def test_unnominated_class_refused(pool):
    pool.root = "old"
    with pytest.raises(TypeError) as info:
        pool.root = Point(1, 2)
    assert str(info.value) == "Don't know how to persist Point"
    assert pool.root == "old"


def test_nominated_dataclass_round_trip(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.persist_via_pickle(Point)
        pool.root = Point(1, 2)
        got = pool.root
        assert type(got) is Point and got == Point(1, 2)
        pool = reopen(pool)
        pool.persist_via_pickle(Point)
        got = pool.root
        assert type(got) is Point and got == Point(1, 2)
    finally:
        pool.close()


def test_nomination_is_specific_to_the_type(pool):
    pool.persist_via_pickle(Point)
    pool.root = Point(3, 4)
    with pytest.raises(TypeError) as info:
        pool.root = Other("no")
    assert str(info.value) == "Don't know how to persist Other"
    assert pool.root == Point(3, 4)


def test_nominations_accumulate(pool):
    pool.persist_via_pickle(Point)
    pool.persist_via_pickle(Other)
    pool.root = (Point(1, 1), Other("o"))
    assert pool.root == (Point(1, 1), Other("o"))


STDLIB_VALUES = [
    fractions.Fraction(1, 3),
    fractions.Fraction(-10 ** 30, 7),
    decimal.Decimal("1.10"),
    decimal.Decimal("-1E+400"),
    datetime.date(2024, 2, 29),
]


@pytest.mark.parametrize("value", STDLIB_VALUES, ids=repr)
def test_nominated_stdlib_types_round_trip(pool_path, value):
    kinds = (fractions.Fraction, decimal.Decimal, datetime.date)
    pool = pmemobj.create(pool_path)
    try:
        pool.persist_via_pickle(*kinds)
        pool.root = value
        assert type(pool.root) is type(value) and pool.root == value
        # Decimal keeps its exponent: 1.10 is not 1.1.
        assert str(pool.root) == str(value)
        pool = reopen(pool)
        pool.persist_via_pickle(*kinds)
        assert type(pool.root) is type(value) and pool.root == value
        assert str(pool.root) == str(value)
    finally:
        pool.close()


def test_stdlib_type_refused_unless_nominated(pool):
    with pytest.raises(TypeError) as info:
        pool.root = fractions.Fraction(1, 2)
    assert str(info.value) == "Don't know how to persist Fraction"
    with pytest.raises(TypeError) as info:
        pool.root = (1, decimal.Decimal("2"))
    assert str(info.value) == "Don't know how to persist Decimal"
    assert pool.root is None


def test_pickled_values_inside_tuples_and_frozensets(pool_path):
    value = (Point(1, 2), "plain", frozenset({Point(3, 4), 5}),
             fractions.Fraction(2, 3))
    pool = pmemobj.create(pool_path)
    try:
        pool.persist_via_pickle(Point, fractions.Fraction)
        pool.root = value
        assert_same(pool.root, value)
        pool = reopen(pool)
        pool.persist_via_pickle(Point, fractions.Fraction)
        assert_same(pool.root, value)
    finally:
        pool.close()


def test_pickled_value_rolled_back(pool):
    pool.persist_via_pickle(Point)
    pool.root = Point(0, 0)
    with pytest.raises(ZeroDivisionError):
        with pool.transaction():
            pool.root = Point(9, 9)
            1 / 0
    assert pool.root == Point(0, 0)


# --- restricted unpickling across processes ---------------------------------

SIDEFX_MODULE = """
    from dataclasses import dataclass

    with open({marker!r}, "a") as _f:
        _f.write("imported\\n")


    @dataclass(frozen=True)
    class Secret:
        name: str
        n: int
"""

WRITER = """
    import sys, pmemobj, pmo_sidefx
    pool = pmemobj.create(sys.argv[1])
    pool.persist_via_pickle(pmo_sidefx.Secret)
    pool.root = ("tag", pmo_sidefx.Secret("s", 1))
    assert pool.root == ("tag", pmo_sidefx.Secret("s", 1))
    pool.close()
    print("written")
"""

READER = """
    import pickle, sys, fractions, pmemobj
    pool = pmemobj.open(sys.argv[1])
    if sys.argv[2] == "unrelated":
        pool.persist_via_pickle(fractions.Fraction)
    try:
        value = pool.root
    except pickle.UnpicklingError as e:
        print("UnpicklingError:", e)
    except BaseException as e:
        print("OTHER:", type(e).__name__, e)
    else:
        print("READ:", repr(value))
    print("imported:", "pmo_sidefx" in sys.modules)
    # The pool is still usable after the refused read.
    pool.root = "replaced"
    pool.close()
"""


def marker_lines(marker):
    if not os.path.exists(marker):
        return 0
    with open(marker) as f:
        return f.read().count("imported")


@pytest.fixture
def sidefx(pool_dir, run_py):
    """A pool whose root holds a pickled pmo_sidefx.Secret, written by a
    child that imported the module (marker written once)."""
    moddir = pool_dir / "mods"
    moddir.mkdir()
    marker = str(pool_dir / "marker.txt")
    (moddir / "pmo_sidefx.py").write_text(
        textwrap.dedent(SIDEFX_MODULE.format(marker=marker)))
    path = str(pool_dir / "pickled.pool")
    proc = run_py(WRITER, path, extra_paths=[moddir])
    assert proc.stdout.strip() == "written"
    assert marker_lines(marker) == 1
    return path, moddir, marker


@pytest.mark.parametrize("nominated", ["nothing", "unrelated"])
def test_reader_without_nomination_refuses_and_imports_nothing(
        sidefx, run_py, nominated):
    path, moddir, marker = sidefx
    # The module is importable in the reader: only the missing nomination
    # may stop it.
    proc = run_py(READER, path, nominated, extra_paths=[moddir])
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("UnpicklingError:"), proc.stdout + proc.stderr
    assert "Secret" in lines[0]
    assert lines[1] == "imported: False"
    assert marker_lines(marker) == 1
    with pmemobj.open(path) as pool:
        assert pool.root == "replaced"


def test_reader_with_nomination_reads_value(sidefx, run_py):
    path, moddir, marker = sidefx
    proc = run_py("""
        import sys, pmemobj, pmo_sidefx
        pool = pmemobj.open(sys.argv[1])
        pool.persist_via_pickle(pmo_sidefx.Secret)
        value = pool.root
        assert type(value[1]) is pmo_sidefx.Secret
        print(repr(value))
        pool.close()
    """, path, extra_paths=[moddir])
    assert proc.stdout.strip() == "('tag', Secret(name='s', n=1))"
    assert marker_lines(marker) == 2


EVIL_MODULE = """
    import os


    class Evil:
        # Pickles as a call of os.mkdir: unpickling it runs that call unless
        # the unpickler refuses globals that were not nominated.
        def __reduce__(self):
            return (os.mkdir, ({target!r},))
"""


def test_pickle_naming_a_function_is_never_executed(pool_dir, run_py):
    moddir = pool_dir / "mods"
    moddir.mkdir()
    target = str(pool_dir / "evil-was-here")
    (moddir / "pmo_evil.py").write_text(
        textwrap.dedent(EVIL_MODULE.format(target=target)))
    path = str(pool_dir / "evil.pool")
    proc = run_py("""
        import pickle, sys, pmemobj, pmo_evil
        pool = pmemobj.create(sys.argv[1])
        pool.persist_via_pickle(pmo_evil.Evil)
        try:
            pool.root = pmo_evil.Evil()
        except Exception as e:
            print("write refused:", type(e).__name__)
        else:
            print("written")
            try:
                pool.root
            except pickle.UnpicklingError as e:
                print("read refused")
            except BaseException as e:
                print("read failed:", type(e).__name__, e)
            else:
                print("read succeeded")
        pool.close()
    """, path, extra_paths=[moddir])
    out = proc.stdout.splitlines()
    assert not os.path.exists(target), "unpickling called os.mkdir"
    if out[0] == "written":
        assert out[1] == "read refused", proc.stdout
        # And a fresh process that nominates Evil refuses it too.
        proc = run_py("""
            import pickle, sys, pmemobj, pmo_evil
            pool = pmemobj.open(sys.argv[1])
            pool.persist_via_pickle(pmo_evil.Evil)
            try:
                pool.root
            except pickle.UnpicklingError as e:
                print("read refused")
            else:
                print("read succeeded")
            pool.close()
        """, path, extra_paths=[moddir])
        assert proc.stdout.strip() == "read refused"
        assert not os.path.exists(target), "unpickling called os.mkdir"
    else:
        assert out[0].startswith("write refused:"), proc.stdout
