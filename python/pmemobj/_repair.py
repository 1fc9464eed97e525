"""Checking, salvaging and resizing pool files.

All three open the file read-only (flag='r'), that is a private copy of
it: opening a pool runs libpmemobj's recovery and pmemobj's gc, which
write, and a damaged file must never be written to.  The copy goes to a
temporary directory (``workdir``), so there must be room for one more
pool of that size there.  Salvage and resize copy the object graph with
the one copier here, ``_Salvager``: salvage skips what it cannot read,
resize (strict) refuses to lose anything.
"""

import errno
import fcntl
import operator
import os
import pickle
import stat
from contextlib import contextmanager

from . import _pmemobj
from ._opaque import OpaqueObject
from ._persistent import Persistent


@contextmanager
def _opened_copy(path, workdir, pickle_types=(), raise_errors=False):
    """Open *path* read-only (flag='r': a private copy), verifying every
    read; yield (pool, error): pool is None and error a message naming
    *path* if it cannot be opened (with *raise_errors*, the open's
    exception propagates instead)."""
    from . import PersistentObjectPool
    try:
        pool = PersistentObjectPool(path, "r", verify=True, workdir=workdir)
    except FileNotFoundError:
        if not os.path.exists(path) or raise_errors:
            raise
        # A growable pool whose parts are missing: that is damage.
        yield None, f"{path}: its parts are missing"
        return
    except (OSError, ValueError, MemoryError, _pmemobj.ClassNotFoundError) as e:
        if raise_errors:
            raise
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
    read is left out and named in ``skipped`` -- or, when *strict* (resize:
    nothing may be lost), the first such value stops the copy with
    ``_Incomplete``.
    """

    # What reading a damaged value can raise.
    DAMAGE = (_pmemobj.CorruptPoolError, OSError, ValueError, TypeError,
              UnicodeError, _pmemobj.ClassNotFoundError)

    def __init__(self, src, dst, strict=False):
        self.src, self.dst, self.strict = src, dst, strict
        self.made = {}          # src oid -> dst object
        self.todo = []          # (src container, dst container, path)
        self.skipped = []       # (path, reason)

    def skip(self, path, exc):
        if self.strict:
            raise _Incomplete(path, exc) from exc
        self.skipped.append((path, f"{type(exc).__name__}: {exc}"))

    def copy(self, v, path):
        """The dst counterpart of a value read from src."""
        P = _pmemobj
        if isinstance(v, tuple):
            return tuple(self.copy(x, f"{path}[{i}]") for i, x in enumerate(v))
        if isinstance(v, frozenset):
            return frozenset(self.copy(x, f"{path}{{{x!r}}}") for x in v)
        if isinstance(v, Persistent) and not isinstance(v, P._PersistentBase):
            raise TypeError(f"cannot copy a {type(v).__name__}: only the built-in "
                            f"persistent types and PersistentObject subclasses")
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
            raise TypeError(f"cannot copy a {type(v).__name__}: only the built-in "
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
        # The tables first, whole and in order: every class path and
        # attribute name keeps its index (the type code objects store),
        # including entries no live object uses any more.
        try:
            paths, names = self.src._tables()
        except self.DAMAGE as e:
            self.skip("the type and attribute name tables", e)
        else:
            self.dst._seed_tables(paths, names)
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


class _Incomplete(Exception):
    """A strict copy met a value it cannot copy: (path, the exception)."""


def salvage(src, dst, pool_size=None, pickle_types=(), workdir=None, *, grow=None,
            max_size=None):
    """Copy everything reachable and intact from the pool file *src* into
    a new pool file *dst*, skipping what is damaged; return the list of
    what was skipped, as (path, reason) pairs such as
    ``("root['users'][3]", "CorruptPoolError: ...")``.

    *src* is never written to (a copy of it is opened).  *dst* must not
    exist.  By default it is of *src*'s kind: growable up to *src*'s
    max_size if *src* is growable, else one file of *src*'s size.  With
    *pool_size* it is one file of that size; with grow=True or *max_size*
    it is growable up to *max_size* (default: *src*'s, or GROW_DEFAULT_MAX).
    Classes stored with ``persist_via_pickle`` must be named again in
    *pickle_types*.  Raises CorruptPoolError if *src* cannot be opened at
    all, since then nothing in it can be read.
    """
    from . import create
    with _opened_copy(src, workdir, pickle_types) as (spool, error):
        if spool is None:
            raise _pmemobj.CorruptPoolError(errno.EIO, f"cannot salvage: {error}", src)
        from . import _is_pool_set
        if grow is None:        # as create(): max_size alone means growable
            grow = pool_size is None and (max_size is not None or _is_pool_set(src))
        if grow:
            if max_size is None and _is_pool_set(src):
                max_size = _pmemobj._pool_set_parts(src)[0]
            dpool = create(dst, grow=True, max_size=max_size)
        else:
            size = pool_size or max(os.path.getsize(src), _pmemobj.MIN_POOL_SIZE)
            dpool = create(dst, pool_size=size)
        with dpool:
            if pickle_types:
                dpool.persist_via_pickle(*pickle_types)
            s = _Salvager(spool, dpool)
            s.run()
            return s.skipped


# Tests set this to a function of one argument, the name of the step
# resize has reached, to stop a child process there (see test_resize.py).
_resize_step = None


def _step(name):
    if _resize_step is not None:
        _resize_step(name)


def _fsync_path(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_resizable(path, new_size):
    """Everything about the arguments that can be refused before the file
    is read; returns the real path (resize replaces the file a symlink
    names, not the link)."""
    from . import _open_pools
    if isinstance(new_size, bool) or not hasattr(type(new_size), "__index__"):
        raise TypeError(f"new_size must be an int, not {type(new_size).__name__}")
    new_size = operator.index(new_size)         # numpy's ints too
    if new_size < _pmemobj.MIN_POOL_SIZE:
        raise ValueError(f"new_size {new_size} smaller than {_pmemobj.MIN_POOL_SIZE}, "
                         f"the minimum pool size (MIN_POOL_SIZE)")
    real = os.path.realpath(path)
    st = os.stat(real)                                  # FileNotFoundError
    from . import _is_pool_set
    if _is_pool_set(real):
        raise ValueError(f"{path} is a growable pool: it grows by itself up to the "
                         f"max_size it was created with; to change max_size, salvage it "
                         f"into a new pool (pmemobj.salvage(path, new, max_size=...))")
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"cannot resize {path}: not a regular file")
    for pool in list(_open_pools):
        if not pool.closed and os.path.exists(pool.filename) \
                and os.path.samefile(pool.filename, real):
            # A read-only pool is a private copy, but libpmemobj cannot
            # open a second copy of one pool (same uuid) in a process.
            raise OSError(errno.EBUSY, "cannot resize a pool that is open in this process%s; "
                          "close it first" % (" (read-only)" if pool.readonly else ""), path)
    # The new file replaces the old one by rename, which the file's own
    # permissions do not govern: honour them here (also for root, for
    # whom os.access says yes to everything).
    if not os.access(real, os.W_OK) or not st.st_mode & 0o222:
        raise PermissionError(errno.EACCES, "cannot resize a read-only pool file", path)
    directory = os.path.dirname(real)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "cannot resize: the new pool is built beside "
                              f"the old one, and its directory {directory} is not writable",
                              path)
    return real, st, new_size


def resize(path, new_size, pickle_types=(), workdir=None):
    """Make the pool file *path* a pool of *new_size* bytes, offline.

    Every object reachable from the root is copied, with shared
    references and cycles as they were, into a new pool built beside the
    old one (``PATH.resizing``), which is flushed and then renamed over
    *path*: at every point of a failure or a kill, *path* holds either the
    old pool or the whole new one.  Growing always works (given the
    space); shrinking works when the objects fit, else ValueError and the
    file is unchanged.  A pool that was not closed cleanly is recovered
    on a private copy first (in *workdir*, or the temporary directory); a
    damaged pool is refused with ``CorruptPoolError`` listing the check's
    problems (``e.problems``; ``salvage`` copies what is intact).  Classes
    stored with ``persist_via_pickle`` must be named in *pickle_types*,
    and the classes of ``PersistentObject`` instances must be importable.
    The pool must not be open, in this process or another.
    """
    real, st, new_size = _check_resizable(path, new_size)
    tmp = real + ".resizing"
    # libpmemobj holds an exclusive flock on an open pool: taking it here
    # refuses a pool open anywhere, and keeps it closed until the rename.
    lock = os.open(real, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError(errno.EBUSY, "cannot resize a pool that is open (by this or "
                          "another process); close it first", path) from None
        _step("locked")
        with _opened_copy(real, workdir, pickle_types, raise_errors=True) as (spool, _):
            _step("opened")
            report = spool.check()
            if not report["ok"]:
                problems = report["problems"]
                e = _pmemobj.CorruptPoolError(
                    errno.EIO, f"cannot resize: check found {len(problems)} problem(s), "
                    f"the first at offset {problems[0][0]} ({problems[0][1]}): "
                    f"{problems[0][2]}; pmemobj.salvage() copies what is intact", path)
                e.problems = problems
                raise e
            if new_size < report["used_bytes"]:
                raise ValueError(f"cannot resize {path} to {new_size} bytes: its objects "
                                 f"alone take {report['used_bytes']} bytes")
            if os.path.lexists(tmp):        # left by a resize that was killed
                os.unlink(tmp)
            try:
                _build(spool, tmp, new_size, pickle_types, path, st, report)
                _step("built")
                os.replace(tmp, real)
            except BaseException:
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                raise
        _step("renamed")
        _fsync_path(os.path.dirname(real), os.O_RDONLY | os.O_DIRECTORY)
    finally:
        os.close(lock)


def _build(spool, tmp, new_size, pickle_types, path, st, report):
    """The new pool in *tmp*: created, filled from *spool*, closed (which
    marks it clean) and flushed to its file."""
    from . import create
    dpool = create(tmp, pool_size=new_size, mode=stat.S_IMODE(st.st_mode))
    try:
        if pickle_types:
            dpool.persist_via_pickle(*pickle_types)
        _step("created")
        try:
            _Salvager(spool, dpool, strict=True).run()
        except _Incomplete as e:
            where, exc = e.args
            raise ValueError(f"cannot resize {path}: {where} cannot be copied "
                             f"({type(exc).__name__}: {exc}); the file is unchanged") from exc
        except pickle.UnpicklingError as e:
            raise ValueError(f"cannot resize {path}: {e}; name its class in "
                             f"pickle_types; the file is unchanged") from e
        except MemoryError as e:
            if new_size >= os.path.getsize(spool.filename):
                raise
            raise ValueError(f"cannot resize {path} to {new_size} bytes: its "
                             f"{report['live']} objects ({report['used_bytes']} bytes) do "
                             f"not fit; the file is unchanged") from e
        _step("copied")
    finally:
        dpool.close()
    os.chmod(tmp, stat.S_IMODE(st.st_mode))        # create's mode is less the umask
    if os.geteuid() == 0:
        os.chown(tmp, st.st_uid, st.st_gid)
    _fsync_path(tmp)
