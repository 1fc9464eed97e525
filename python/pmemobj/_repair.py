"""Checking and salvaging pool files that may be damaged.

Both open the file read-only (flag='r'), that is a private copy of it:
opening a pool runs libpmemobj's recovery and pmemobj's gc, which write,
and a damaged file must never be written to.  The copy goes to a
temporary directory (``workdir``), so there must be room for one more
pool of that size there.
"""

import errno
import os
from contextlib import contextmanager

from . import _pmemobj
from ._opaque import OpaqueObject


@contextmanager
def _opened_copy(path, workdir, pickle_types=()):
    """Open *path* read-only (flag='r': a private copy), verifying every
    read; yield (pool, error): pool is None and error a message naming
    *path* if it cannot be opened."""
    from . import PersistentObjectPool
    try:
        pool = PersistentObjectPool(path, "r", verify=True, workdir=workdir)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, MemoryError, _pmemobj.ClassNotFoundError) as e:
        yield None, e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return
    try:
        if pickle_types:
            pool.persist_via_pickle(*pickle_types)
        yield pool, None
    finally:
        pool.close()


def check(path, workdir=None):
    """Check the pool file *path* without writing to it.

    Opens a copy (recovering it as an open would) and runs its
    ``check()``.  Returns the report: ``ok``, ``problems`` (a list of
    (offset, type, problem)), ``live``, ``unreachable`` and ``examined``;
    if the copy cannot even be opened, ``ok`` is False and the one problem
    is why.
    """
    with _opened_copy(path, workdir) as (pool, error):
        if pool is None:
            return {"ok": False, "problems": [(0, "pool", error)],
                    "live": 0, "unreachable": 0, "examined": 0}
        return pool.check()


class _Salvager:
    """Copies what is reachable and readable from one pool into another.

    Mutable containers and objects are made empty first and filled from
    a work list, so cycles and shared references come out as they were and
    deep structures need no deep recursion; immutable persistent
    containers are built from their salvaged items.  Whatever cannot be
    read is left out and named in ``skipped``.
    """

    # What reading a damaged value can raise.
    DAMAGE = (_pmemobj.CorruptPoolError, OSError, ValueError, TypeError,
              UnicodeError, _pmemobj.ClassNotFoundError)

    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.made = {}          # src oid -> dst object
        self.todo = []          # (src container, dst container, path)
        self.skipped = []       # (path, reason)

    def skip(self, path, exc):
        self.skipped.append((path, f"{type(exc).__name__}: {exc}"))

    def copy(self, v, path):
        """The dst counterpart of a value read from src."""
        P = _pmemobj
        if isinstance(v, tuple):
            return tuple(self.copy(x, f"{path}[{i}]") for i, x in enumerate(v))
        if isinstance(v, frozenset):
            return frozenset(self.copy(x, f"{path}{{{x!r}}}") for x in v)
        if not isinstance(v, P._PersistentBase):
            return v            # a plain value (or a pickled instance)
        oid = v._p_oid
        if oid in self.made:
            return self.made[oid]
        if isinstance(v, (P.PersistentTuple, P.PersistentFrozenSet)):
            items = self.items_of(v, path)
            out = self.dst.new(type(v), [self.copy(x, f"{path}[{i}]")
                                         for i, x in enumerate(items)])
        elif isinstance(v, P.PersistentArray):
            out = self.dst.new(P.PersistentArray, v.typecode, v.to_python(),
                               v.shape if v.ndim > 1 else None)
        elif isinstance(v, (P.PersistentList, P.PersistentDict, P.PersistentSortedDict,
                            P.PersistentSet)):
            out = self.dst.new(type(v))
            self.todo.append((v, out, path))
        elif isinstance(v, OpaqueObject):
            raise P.ClassNotFoundError(f"class {v._p_class_path} cannot be imported here: "
                                       f"its objects cannot be rebuilt")
        elif isinstance(v, P.PersistentObject):
            out = type(v)._p_new_in(self.dst)
            self.todo.append((v, out, path))
        else:
            raise TypeError(f"cannot salvage a {type(v).__name__}: only the built-in "
                            f"persistent types and PersistentObject subclasses")
        self.made[oid] = out
        return out

    def items_of(self, c, path):
        """The readable items of a sequence or set container: a sequence's
        items one by one, a set's all or none."""
        try:
            if not isinstance(c, (_pmemobj.PersistentList, _pmemobj.PersistentTuple)):
                return list(c)
            n = len(c)
        except self.DAMAGE as e:
            self.skip(path, e)
            return []
        items = []
        for i in range(n):
            try:
                items.append(c[i])
            except self.DAMAGE as e:
                self.skip(f"{path}[{i}]", e)
        return items

    def fill(self, s, d, path):
        P = _pmemobj
        if isinstance(s, (P.PersistentDict, P.PersistentSortedDict)):
            try:
                keys = list(s)
            except self.DAMAGE as e:
                self.skip(path, e)
                return
            for k in keys:
                try:
                    v = s[k]
                    d[self.copy(k, f"{path}[{k!r}]")] = self.copy(v, f"{path}[{k!r}]")
                except self.DAMAGE as e:
                    self.skip(f"{path}[{k!r}]", e)
        elif isinstance(s, P.PersistentObject):
            try:
                names = s._p_attr_names()
            except self.DAMAGE as e:
                self.skip(path, e)
                return
            for name in names:
                try:
                    setattr(d, name, self.copy(getattr(s, name), f"{path}.{name}"))
                except self.DAMAGE as e:
                    self.skip(f"{path}.{name}", e)
        else:                   # PersistentList, PersistentSet
            add = d.append if isinstance(s, P.PersistentList) else d.add
            for i, x in enumerate(self.items_of(s, path)):
                try:
                    add(self.copy(x, f"{path}[{i}]"))
                except self.DAMAGE as e:
                    self.skip(f"{path}[{i}]", e)

    def run(self):
        try:
            root = self.src.root
        except self.DAMAGE as e:
            self.skip("root", e)
            return
        try:
            self.dst.root = self.copy(root, "root")
        except self.DAMAGE as e:
            self.skip("root", e)
            return
        while self.todo:
            s, d, path = self.todo.pop()
            with self.dst.transaction():
                self.fill(s, d, path)



def salvage(src, dst, pool_size=None, pickle_types=(), workdir=None):
    """Copy everything reachable and intact from the pool file *src* into
    a new pool file *dst*, skipping what is damaged; return the list of
    what was skipped, as (path, reason) pairs such as
    ``("root['users'][3]", "CorruptPoolError: ...")``.

    *src* is never written to (a copy of it is opened).  *dst* must not
    exist; it is created with *pool_size* (default: the size of *src*).
    Classes stored with ``persist_via_pickle`` must be named again in
    *pickle_types*.  Raises CorruptPoolError if *src* cannot be opened at
    all, since then nothing in it can be read.
    """
    from . import create
    with _opened_copy(src, workdir, pickle_types) as (spool, error):
        if spool is None:
            raise _pmemobj.CorruptPoolError(errno.EIO, f"cannot salvage: {error}", src)
        size = pool_size or max(os.path.getsize(src), _pmemobj.MIN_POOL_SIZE)
        with create(dst, pool_size=size) as dpool:
            if pickle_types:
                dpool.persist_via_pickle(*pickle_types)
            s = _Salvager(spool, dpool)
            s.run()
            return s.skipped
