"""pmemobj: persistent Python objects on persistent memory.

A pool is a libpmemobj file.  Hang values off ``pool.root``, change them
inside ``pool.transaction()``, and find them exactly as they were after a
restart or a crash.  The runtime is in C (``pmemobj._pmemobj``); this
package adds the Python-level conveniences.  The API is described in
``docs/api.md`` of the source repository.
"""

import atexit as _atexit
import errno as _errno
import fcntl as _fcntl
import os as _os
import re as _re
import shutil as _shutil
import stat as _stat
import tempfile as _tempfile
import weakref as _weakref
from builtins import open as _builtin_open

# Developers: load the extension from another build tree (see CMakeLists.txt).
if _os.environ.get("PMEMOBJ_EXT_DIR"):
    __path__.insert(0, _os.environ["PMEMOBJ_EXT_DIR"])

from ._pmemobj import (
    FORMAT_VERSION,
    LAYOUT,
    MIN_POOL_SIZE,
    OID_NULL,
    POBJECT_TYPE_NUM,
    PersistentArray,
    ClassNotFoundError,
    CorruptPoolError,
    MemoryManager,
    PersistentDict,
    PersistentFrozenSet,
    PersistentList,
    PersistentObject,
    PersistentObjectPool as _Pool,
    PersistentSet,
    PersistentSortedDict,
    PersistentTuple,
    Transaction,
    _PersistentBase,
)
from . import _pmemobj
from ._pmemobj import GROW_DEFAULT_MAX, GROW_STEP
from ._opaque import OpaqueObject
from ._persistent import Persistent

__all__ = [
    "ClassNotFoundError", "CorruptPoolError", "FORMAT_VERSION", "GROW_DEFAULT_MAX",
    "GROW_STEP", "LAYOUT",
    "MIN_POOL_SIZE", "MemoryManager", "OID_NULL", "OpaqueObject",
    "POBJECT_TYPE_NUM", "Persistent", "PersistentArray", "PersistentDict", "PersistentFrozenSet",
    "PersistentList", "PersistentObject", "PersistentObjectPool",
    "PersistentSet", "PersistentSortedDict", "PersistentTuple", "Transaction", "check",
    "create", "open", "remove", "resize", "salvage",
]

__version__ = "0.2.0.dev0"     # as in pyproject.toml

_open_pools = _weakref.WeakSet()


class PersistentObjectPool(_Pool):
    __doc__ = _Pool.__doc__

    def __init__(self, filename, flag="w", pool_size=None,
                 mode=0o666, debug=False, verify=False, *, workdir=None,
                 grow=None, max_size=None):
        if flag != "r":
            super().__init__(filename, flag, pool_size, mode, debug, verify,
                             grow=grow, max_size=max_size)
        else:
            # Read-only: opening runs recovery and gc, which write, so a
            # private copy (in workdir, or the temporary directory) is
            # opened and every change is refused; the file is only read.
            if not _os.path.exists(filename):
                raise FileNotFoundError(2, "No such file or directory", filename)
            # The private copy has the pool's identity (uuid), which
            # libpmemobj opens once per process.
            real = _os.path.realpath(filename)
            if any(not p.closed and _os.path.realpath(p.filename) == real
                   for p in list(_open_pools)):
                raise OSError(_errno.EBUSY, "cannot open pool %s read-only: it is already "
                              "open in this process (read it through that pool)"
                              % filename, filename)
            if grow or max_size is not None:
                raise ValueError("grow and max_size are for creating a pool, not flag='r'")
            tmp = _tempfile.mkdtemp(prefix="pmemobj-readonly-", dir=workdir)
            _weakref.finalize(self, _shutil.rmtree, tmp, True)
            copy = _os.path.join(tmp, _os.path.basename(filename))
            try:
                _private_copy(filename, copy)
            except BaseException:
                _shutil.rmtree(tmp, True)
                raise
            try:
                super().__init__(copy, "w", pool_size, mode, debug, verify)
            except (OSError, ValueError) as e:
                _shutil.rmtree(tmp, True)
                if not isinstance(e, OSError):      # name the file, not the copy
                    raise type(e)(str(e).replace(copy, filename)) from None
                if e.filename == copy:
                    e.filename = filename
                if e.strerror:
                    e.strerror = e.strerror.replace(copy, filename)
                raise
            self._make_readonly(filename)
        _open_pools.add(self)

    @property
    def growable(self):
        """True if the pool grows by itself (a pool set and its parts: what
        create() makes unless given pool_size or grow=False)."""
        return _is_pool_set(self.filename)

    def check(self):
        report = super().check()
        if not report["ok"]:
            from ._paths import paths_to
            report["paths"] = paths_to(self, [off for off, _, _ in report["problems"]])
        return report

    check.__doc__ = _Pool.check.__doc__ + (
        "\n\nWhen there are problems, 'paths' maps the offset of each object "
        "they name that is reachable from the root to its path from the "
        "root (e.g. root['users'][3]).")

    def new(self, typ, *args, **kw):
        """Create a new instance of *typ* in this pool, passing *args* and
        *kw* to its constructor.  *typ* must support the Persistent API."""
        if isinstance(typ, type) and issubclass(typ, _PersistentBase):
            obj = typ._p_new_in(self)
            obj.__init__(*args, **kw)
            return obj
        if isinstance(typ, type) and hasattr(typ, "_p_new"):
            # A persistent type written in Python against the MemoryManager
            # API: __new__, _p_new(pool.mm), __init__ (see _persistent.py).
            return self.mm.new(typ, *args, **kw)
        raise TypeError(f"{getattr(typ, '__name__', typ)!r} does not support "
                        f"the Persistent API")


# Is a path a pool set file (a growable pool)?  The core's test, by signature.
_is_pool_set = _pmemobj._is_pool_set


def _private_copy(src, dst):
    """Copy the pool *src* to *dst*: the file, or for a growable pool a set
    naming dst's own parts directory with src's parts copied in (a copied
    set would still name src's parts, which libpmemobj would then open
    and recover, that is write)."""
    if not _is_pool_set(src):
        _shutil.copyfile(src, dst)
        return
    max_size, parts = _pmemobj._pool_set_parts(src)
    _pmemobj._write_pool_set(dst, max_size)
    for part in parts:
        _shutil.copyfile(part, _os.path.join(dst + ".parts", _os.path.basename(part)))


def create(filename, pool_size=None, mode=0o666, debug=False, verify=False, *,
           grow=None, max_size=None):
    """Create a pool and return it, open.

    By default a growable pool: the set file *filename* and its parts in
    the directory *filename*.parts, starting at MIN_POOL_SIZE and growing
    by itself up to *max_size* bytes (default GROW_DEFAULT_MAX, 4 GiB).
    With *pool_size* (pynvm's signature), or with grow=False (then
    MIN_POOL_SIZE), one pool file of that fixed size instead.  Raise
    FileExistsError if *filename* (or *filename*.parts) exists.  *verify*:
    see open().  remove() deletes either kind.
    """
    return PersistentObjectPool(filename, "x", pool_size, mode, debug, verify,
                                grow=grow, max_size=max_size)


def open(filename, debug=False, verify=False, flag="w"):
    """Open the existing pool in *filename*.

    Raise FileNotFoundError if it does not exist.  A pool that was not
    closed cleanly is garbage-collected as it opens.  With *verify*, every
    read of an immutable value (str, bytes, big int, tuple, frozenset,
    pickle) first checks it against the checksum stored when it was
    written, and raises CorruptPoolError if they differ.  With flag='r' the
    file is never changed: a private copy is opened (and recovered if it
    needs it), and every change raises OSError(EROFS).
    """
    if flag not in ("w", "r"):
        raise ValueError("open() takes flag 'w' or 'r', not %r" % (flag,))
    return PersistentObjectPool(filename, flag, debug=debug, verify=verify)


# A part's name in a growable pool's parts directory (poolset.c, part_number).
_PART_NAME = _re.compile(r"[0-9]{6}\.pmem")


def remove(filename):
    """Delete the closed pool *filename*, of either kind: the pool file, or
    a growable pool's set file and its parts directory *filename*.parts.

    Only a pool is deleted: a file that is not a libpmemobj pool or pool
    set, or a symbolic link, is a ValueError, and so is a parts directory
    holding anything but parts (nothing is deleted then).  A pool open in
    this process, or in another (libpmemobj's lock on its file), is
    OSError(EBUSY).  A growable pool goes parts first and set file last,
    so a remove that was stopped part way can be run again."""
    filename = _os.fspath(filename)
    st = _os.lstat(filename)                        # FileNotFoundError
    if _stat.S_ISLNK(st.st_mode):
        raise ValueError("%s is a symbolic link: remove the link, or pass the pool it "
                         "names (%s)" % (filename, _os.path.realpath(filename)))
    if _stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(_errno.EISDIR, "Is a directory", filename)
    for p in list(_open_pools):
        if not p.closed and _os.path.exists(p.filename) \
                and _os.path.samefile(p.filename, filename):
            raise OSError(_errno.EBUSY, "cannot remove a pool that is open in this "
                          "process; close it first", filename)
    growable = _is_pool_set(filename)
    parts_dir = filename + ".parts"
    if growable:
        parts = sorted(_os.listdir(parts_dir)) if _os.path.isdir(parts_dir) else []
        stray = [n for n in parts if not _PART_NAME.fullmatch(n)]
        if stray:
            raise ValueError("cannot remove growable pool %s: its parts directory %s "
                             "holds %s, which is not a part (remove it first)"
                             % (filename, parts_dir, stray[0]))
        locked = _os.path.join(parts_dir, parts[0]) if parts else None
    else:
        with _builtin_open(filename, "rb") as f:
            if f.read(8) != b"PMEMOBJ\0":
                raise ValueError("%s is not a pmemobj pool (no libpmemobj header): "
                                 "not removed" % filename)
        locked = filename
    fd = None
    if locked is not None:
        # libpmemobj holds an exclusive flock on every file of an open pool.
        fd = _os.open(locked, _os.O_RDONLY | _os.O_CLOEXEC)
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except BlockingIOError:
            _os.close(fd)
            raise OSError(_errno.EBUSY, "cannot remove a pool that another process has "
                          "open", filename) from None
    try:
        if growable:
            for n in reversed(parts):   # the first part, which holds the lock, last
                _os.unlink(_os.path.join(parts_dir, n))
            if _os.path.isdir(parts_dir):
                _os.rmdir(parts_dir)
        _os.unlink(filename)
    finally:
        if fd is not None:
            _os.close(fd)


from ._repair import check, resize, salvage  # noqa: E402  (needs the names above)


@_atexit.register
def _close_open_pools():
    # Close what the program left open, so the next open finds the pools
    # clean and need not collect them.
    for pool in list(_open_pools):
        try:
            pool.close()
        except Exception:
            pass
