"""Adapter: this project's pmemobj (C runtime + extension), written against
the documented API (docs/api.md).

The in-tree build puts the package at <repo>/python/pmemobj; the harness puts
<repo>/python on sys.path before importing this module.  Until the extension
is built that directory is an empty namespace package, so a module without
``create`` counts as missing too.
"""

import importlib.metadata

import pmemobj

from bench_common import Store, System, deb_version, pool_footprint

_NEEDED = ("create", "open", "PersistentDict", "PersistentList",
           "PersistentObject")
_absent = [n for n in _NEEDED if not hasattr(pmemobj, n)]
if _absent:
    raise ImportError("pmemobj at %s is incomplete (not built yet?): no %s"
                      % (getattr(pmemobj, "__file__", None)
                         or list(getattr(pmemobj, "__path__", [])),
                         ", ".join(_absent)))

POOL_SIZE = 64 * 1024 * 1024


class Item(pmemobj.PersistentObject):
    def __init__(self, a=0, b="", c=0):
        self.a = a
        self.b = b
        self.c = c


class PmemobjStore(Store):
    autocommit = None     # a write outside a transaction is its own one

    def __init__(self, pool):
        self.pool = pool
        self.root = pool.root
        self.tx = pool.transaction       # users write: with pool.transaction():

    def _attach(self, name, obj):
        self.root[name] = obj
        return obj

    def new_dict(self, name):
        with self.pool.transaction():
            return self._attach(name, self.pool.new(pmemobj.PersistentDict))

    def new_list(self, name):
        with self.pool.transaction():
            return self._attach(name, self.pool.new(pmemobj.PersistentList))

    def new_set(self, name):
        with self.pool.transaction():
            return self._attach(name, self.pool.new(pmemobj.PersistentSet))

    def new_obj(self, name):
        with self.pool.transaction():
            return self._attach(name, self.pool.new(Item))

    def new_item(self, a, b, c):
        return self.pool.new(Item, a, b, c)

    def get(self, name):
        return self.root[name]

    def gc(self):
        self.pool.gc()

    def close(self):
        self.pool.close()


class PmemobjSystem(System):
    name = "pmemobj"

    def versions(self):
        v = {"pmemobj": getattr(pmemobj, "__version__", None)}
        if v["pmemobj"] is None:
            try:
                v["pmemobj"] = importlib.metadata.version("pmemobj")
            except importlib.metadata.PackageNotFoundError:
                v["pmemobj"] = "in-tree"
        v["pmemobj module"] = getattr(pmemobj, "__file__", None)
        v["libpmemobj (deb)"] = deb_version("libpmemobj1")
        return v

    @staticmethod
    def path(base):
        return base + ".pmem"

    def create(self, base):
        pool = pmemobj.create(self.path(base), POOL_SIZE)
        pool.root = pool.new(pmemobj.PersistentDict)
        return PmemobjStore(pool)

    def open(self, base):
        return PmemobjStore(pmemobj.open(self.path(base)))

    def footprint_list_ints(self, base, n):
        return pool_footprint(self, base, self.path(base), n)


def load():
    return PmemobjSystem()
