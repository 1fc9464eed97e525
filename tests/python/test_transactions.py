"""pool.transaction(): commit on normal exit, rollback and re-raise on an
exception, the begin/commit/abort object API, misuse errors, and nested
transactions flattening into the outermost one.  (Crash behaviour inside
transactions is in test_crash.py.)"""

import errno

import pytest

import pmemobj


class Boom(Exception):
    pass


class HardStop(BaseException):
    """Not an Exception subclass, like KeyboardInterrupt."""


def reopen(pool):
    path = pool.filename
    pool.close()
    return pmemobj.open(path)


# --- with-statement ---------------------------------------------------------

def test_with_commits_on_normal_exit(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = ("before",)
        with pool.transaction():
            pool.root = ("inside", 1)
            assert pool.root == ("inside", 1)
        assert pool.root == ("inside", 1)
        pool = reopen(pool)
        assert pool.root == ("inside", 1)
    finally:
        pool.close()


def test_with_rolls_back_and_reraises(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = ("before", 0)
        error = Boom("the error")
        with pytest.raises(Boom) as info:
            with pool.transaction():
                pool.root = ("inside", 1)
                pool.root = ("inside", 2)
                raise error
        assert info.value is error
        assert pool.root == ("before", 0)
        pool = reopen(pool)
        assert pool.root == ("before", 0)
    finally:
        pool.close()


def test_rollback_restores_none(pool):
    with pytest.raises(Boom):
        with pool.transaction():
            pool.root = "x"
            raise Boom
    assert pool.root is None


def test_with_rolls_back_on_base_exception(pool):
    pool.root = "before"
    with pytest.raises(HardStop):
        with pool.transaction():
            pool.root = "inside"
            raise HardStop
    assert pool.root == "before"


def test_with_rolls_back_on_failed_store(pool):
    pool.root = "before"
    with pytest.raises(TypeError, match="Don't know how to persist bytearray"):
        with pool.transaction():
            pool.root = "first change"
            pool.root = {"a": bytearray()}
    assert pool.root == "before"


def test_pool_works_after_rollback(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = 1
        with pytest.raises(Boom):
            with pool.transaction():
                pool.root = 2
                raise Boom
        with pool.transaction():
            pool.root = 3
        assert pool.root == 3
        pool.root = 4
        pool = reopen(pool)
        assert pool.root == 4
    finally:
        pool.close()


def test_many_transactions_in_a_row(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        for i in range(200):
            if i % 3 == 0:
                with pytest.raises(Boom):
                    with pool.transaction():
                        pool.root = ("aborted", i)
                        raise Boom
            else:
                with pool.transaction():
                    pool.root = ("committed", i)
        assert pool.root == ("committed", 199)
        pool = reopen(pool)
        assert pool.root == ("committed", 199)
    finally:
        pool.close()


def test_empty_transaction(pool):
    pool.root = "unchanged"
    with pool.transaction():
        pass
    assert pool.root == "unchanged"


# --- begin / commit / abort -------------------------------------------------

def test_begin_commit(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        t = pool.transaction()
        t.begin()
        pool.root = 1
        t.commit()
        assert pool.root == 1
        pool = reopen(pool)
        assert pool.root == 1
    finally:
        pool.close()


def test_begin_abort_rolls_back_and_raises_ecanceled(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = 1
        t = pool.transaction()
        t.begin()
        pool.root = 2
        with pytest.raises(OSError) as info:
            t.abort()
        assert info.value.errno == errno.ECANCELED
        assert pool.root == 1
        # Not stuck in a transaction: an ordinary store autocommits.
        pool.root = 3
        pool = reopen(pool)
        assert pool.root == 3
    finally:
        pool.close()


def test_commit_inside_with_raises_and_rolls_back(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = "before"
        t = pool.transaction()
        with pytest.raises(RuntimeError):
            with t:
                pool.root = "inside"
                t.commit()
        assert pool.root == "before"
        pool = reopen(pool)
        assert pool.root == "before"
    finally:
        pool.close()


def test_commit_outside_transaction_raises(pool):
    pool.root = "x"
    with pytest.raises(RuntimeError,
                       match=r"(?i)commit\b.*outside\b.*transaction"):
        pool.transaction().commit()
    assert pool.root == "x"


def test_abort_outside_transaction_raises(pool):
    pool.root = "x"
    with pytest.raises(RuntimeError,
                       match=r"(?i)abort\b.*outside\b.*transaction"):
        pool.transaction().abort()
    assert pool.root == "x"


def test_second_commit_raises(pool):
    t = pool.transaction()
    t.begin()
    pool.root = "once"
    t.commit()
    with pytest.raises(RuntimeError,
                       match=r"(?i)commit\b.*outside\b.*transaction"):
        t.commit()
    assert pool.root == "once"


def test_commit_after_with_block_raises(pool):
    t = pool.transaction()
    with t:
        pool.root = "done"
    with pytest.raises(RuntimeError,
                       match=r"(?i)commit\b.*outside\b.*transaction"):
        t.commit()
    assert pool.root == "done"


def test_abort_after_abort_raises(pool):
    t = pool.transaction()
    t.begin()
    pool.root = 1
    with pytest.raises(OSError):
        t.abort()
    with pytest.raises(RuntimeError,
                       match=r"(?i)abort\b.*outside\b.*transaction"):
        t.abort()
    assert pool.root is None


# --- nesting ----------------------------------------------------------------

def test_nested_commit_visible_after_outer(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        with pool.transaction():
            pool.root = ("outer",)
            with pool.transaction():
                pool.root = ("inner",)
            assert pool.root == ("inner",)
        assert pool.root == ("inner",)
        pool = reopen(pool)
        assert pool.root == ("inner",)
    finally:
        pool.close()


def test_inner_exception_rolls_back_outer_changes(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = "original"
        with pytest.raises(Boom):
            with pool.transaction():
                pool.root = "outer change"
                with pool.transaction():
                    pool.root = "inner change"
                    raise Boom
        assert pool.root == "original"
        pool = reopen(pool)
        assert pool.root == "original"
    finally:
        pool.close()


def test_outer_exception_rolls_back_completed_inner(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = "original"
        with pytest.raises(Boom):
            with pool.transaction():
                with pool.transaction():
                    pool.root = "inner, exited normally"
                assert pool.root == "inner, exited normally"
                raise Boom
        assert pool.root == "original"
        pool = reopen(pool)
        assert pool.root == "original"
    finally:
        pool.close()


def test_inner_abort_rolls_back_everything(pool):
    pool.root = "original"
    with pytest.raises(OSError) as info:
        with pool.transaction():
            pool.root = "outer change"
            inner = pool.transaction()
            inner.begin()
            pool.root = "inner change"
            inner.abort()
    assert info.value.errno == errno.ECANCELED
    assert pool.root == "original"


def test_nested_begin_commit_then_outer_abort(pool):
    pool.root = "original"
    outer = pool.transaction()
    inner = pool.transaction()
    outer.begin()
    inner.begin()
    pool.root = "inner"
    inner.commit()
    assert pool.root == "inner"
    with pytest.raises(OSError):
        outer.abort()
    assert pool.root == "original"


def test_deep_nesting(pool_path):
    pool = pmemobj.create(pool_path)
    try:
        pool.root = 0

        def nest(depth):
            with pool.transaction():
                pool.root = depth
                if depth < 20:
                    nest(depth + 1)

        nest(1)
        assert pool.root == 20
        pool.root = "start"
        with pytest.raises(Boom):
            with pool.transaction():
                pool.root = "outermost"
                nest(1)
                assert pool.root == 20
                raise Boom
        assert pool.root == "start"
        pool = reopen(pool)
        assert pool.root == "start"
    finally:
        pool.close()


def test_the_transaction_object_is_shared_and_does_not_keep_the_pool(pool_path):
    import gc
    import weakref
    pool = pmemobj.create(pool_path)
    t = pool.transaction()
    assert pool.transaction() is t          # one object serves every call
    with t:
        pool.root = 1
    # __enter__ and __exit__ are bound once (no allocation per block) and
    # hold t: the collector must still see that cycle through them
    exit_ = t.__exit__
    assert t.__exit__ is exit_ and t.__enter__ is t.__enter__
    ref = weakref.ref(pool)
    del pool, t, exit_
    gc.collect()                            # the pool <-> Transaction cycle goes
    assert ref() is None
    with pmemobj.open(pool_path) as pool:    # and it was closed cleanly
        assert pool.root == 1 and pool.stats()["recovery_ns"] == 0


def test_enter_and_exit_through_the_class(pool):
    """Transaction.__enter__ / __exit__ on the class are the plain methods."""
    t = pool.transaction()
    pmemobj.Transaction.__enter__(t)
    pool.root = 5
    assert pmemobj.Transaction.__exit__(t, KeyError, KeyError(), None) is False
    assert pool.root is None                # rolled back
    assert pmemobj.Transaction.__enter__(t) is t
    pool.root = 6
    pmemobj.Transaction.__exit__(t, None, None, None)
    assert pool.root == 6 and t.depth == 0
