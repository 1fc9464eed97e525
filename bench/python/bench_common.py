"""Shared pieces of the Python workload harness: the adapter interface and
helpers used by several adapters.

An adapter is a module ``sys_<name>.py`` in this directory with a function
``load()`` that returns a :class:`System`.  ``load()`` (or importing the
module) raises when the system cannot be used; the harness then records the
system as ``"missing": "<reason>"``.

A :class:`System` makes :class:`Store` objects: one store is one pool file
(pmemobj, pynvm), one FileStorage (ZODB) or one in-memory namespace (plain).
Every container a workload uses hangs off the store's root under a name, so
it is reachable (survives gc / pack / reopen).
"""

import contextlib
import importlib.metadata
import os
import re
import shutil
import subprocess


class Store:
    """One open pool / storage.  Subclasses fill in the methods."""

    #: Called after every single operation of an "autocommit" workload, or
    #: None when each operation already is its own transaction (pmemobj,
    #: pynvm) or there are no transactions (plain).
    autocommit = None

    def new_dict(self, name):
        """Return an empty mapping stored at root[name] (committed)."""
        raise NotImplementedError

    def new_list(self, name):
        """Return an empty sequence stored at root[name] (committed)."""
        raise NotImplementedError

    def new_set(self, name):
        """An empty persistent set at root[name]."""
        raise NotImplementedError

    def new_obj(self, name):
        """Return a new Item(a=0, b='', c=0) stored at root[name] (committed)."""
        raise NotImplementedError

    def new_item(self, a, b, c):
        """Return a new Item(a, b, c), not yet reachable; the caller stores
        it into a container inside a transaction."""
        raise NotImplementedError

    def get(self, name):
        """Return root[name]."""
        raise NotImplementedError

    def tx(self):
        """Return a context manager: one transaction, committed on exit.

        A system whose users write ``with <callable>():`` binds ``tx`` to
        that callable on the instance, so a timed ``with st.tx():`` runs
        what its users run and no frame of this adapter."""
        raise NotImplementedError

    def gc(self):
        """The system's garbage collection over the whole store."""
        raise NotImplementedError

    def close(self):
        raise NotImplementedError


class System:
    """Factory of stores for one system under test."""

    name = "?"
    #: workload group name -> reason it does not apply to this system
    unsupported = {}

    def versions(self):
        """Return {package: version} for what this system runs on."""
        return {}

    def create(self, base):
        """Create a fresh store whose files start with the path *base*."""
        raise NotImplementedError

    def open(self, base):
        """Open an existing, cleanly closed store created at *base*."""
        raise NotImplementedError

    def destroy(self, base):
        """Remove every file of the store at *base* (no error if absent)."""
        remove_prefix(base)

    def footprint_list_ints(self, base, n):
        """Return a dict with 'bytes_per_int' and 'method' (see README)."""
        raise NotImplementedError


def remove_prefix(base):
    """Remove every file or directory whose path starts with *base*."""
    d, prefix = os.path.split(base)
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return
    for fn in names:
        if fn.startswith(prefix):
            p = os.path.join(d, fn)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)


def dist_versions(*names):
    """Installed versions of the given distributions; absent ones are None."""
    out = {}
    for n in names:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            out[n] = None
    return out


def deb_version(pkg):
    """Version of an installed Debian package, or None."""
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return r.stdout.strip() or None


_USED_RE = re.compile(r"^\s*Total used bytes\s*:\s*(\d+)", re.M)
_OBJ_RE = re.compile(r"^Objects:\s*\n\s*Number of objects\s*:\s*(\d+)\s*\n"
                     r"\s*Number of bytes\s*:\s*(\d+)", re.M)


def pmempool_usage(path):
    """Heap usage of a closed libpmemobj pool, from ``pmempool info -s``.

    Returns (used_bytes, n_objects, object_bytes): used_bytes is the sum of
    the allocation units in use over all allocation classes (what the
    allocator really hands out: object headers, rounding to the unit size);
    object_bytes is the sum of the objects' usable sizes.
    """
    exe = shutil.which("pmempool")
    if exe is None:
        raise RuntimeError("pmempool not found (Debian package pmdk-tools)")
    r = subprocess.run([exe, "info", "-s", path], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("pmempool info failed: " + r.stderr.strip())
    m = _USED_RE.search(r.stdout)
    o = _OBJ_RE.search(r.stdout)
    if not m or not o:
        raise RuntimeError("cannot parse pmempool info -s output")
    return int(m.group(1)), int(o.group(1)), int(o.group(2))


def pool_footprint(system, base, path, n):
    """Bytes per int appended to a persistent list, for libpmemobj pools.

    Two states of the same pool are compared, each after a clean close
    (which, for pynvm/pmemobj, also runs gc): the pool holding an empty list
    at root['l'], then the pool after n ints were appended in one
    transaction.  The difference of pmempool's 'Total used bytes' divided by
    n is reported.
    """
    st = system.create(base)
    st.new_list("l")
    st.close()
    used0, objs0, obytes0 = pmempool_usage(path)
    st = system.open(base)
    lst = st.get("l")
    with st.tx():
        for i in range(n):
            lst.append(i)
    st.close()
    used1, objs1, obytes1 = pmempool_usage(path)
    return {
        "bytes_per_int": (used1 - used0) / n,
        "object_bytes_per_int": (obytes1 - obytes0) / n,
        "objects_per_int": (objs1 - objs0) / n,
        "n": n,
        "method": "pmempool info -s 'Total used bytes' (allocation units in "
                  "use) of the closed pool with n ints appended to root "
                  "list, minus the same with the list empty, / n",
    }
