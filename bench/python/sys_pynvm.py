"""Adapter: pynvm 0.3.1 (``nvm.pmemobj``), the pure-Python (cffi)
implementation of the pmemobj API.

One pool file ``<base>.pmem`` per store; root is a PersistentDict.  Each
single write outside ``pool.transaction()`` is wrapped by pynvm in its own
transaction, so ``autocommit`` is None.  PMEM_IS_PMEM_FORCE must be set
before this module is imported (the harness does it).
"""

import nvm.pmemobj as nvm_pmemobj

from bench_common import Store, System, dist_versions, deb_version, \
    pool_footprint

POOL_SIZE = 64 * 1024 * 1024


class Item(nvm_pmemobj.PersistentObject):
    # Resurrected by pynvm through its class path "sys_pynvm.Item", so this
    # module must be importable under that name when a pool is reopened.
    def __init__(self, a=0, b="", c=0):
        self.a = a
        self.b = b
        self.c = c


class PynvmStore(Store):
    autocommit = None

    def __init__(self, pool):
        self.pool = pool
        self.root = pool.root
        self.tx = pool.transaction       # users write: with pool.transaction():

    def _attach(self, name, obj):
        self.root[name] = obj
        return obj

    def new_dict(self, name):
        with self.pool.transaction():
            return self._attach(name, self.pool.new(nvm_pmemobj.PersistentDict))

    def new_list(self, name):
        with self.pool.transaction():
            return self._attach(name, self.pool.new(nvm_pmemobj.PersistentList))

    def new_set(self, name):
        with self.pool.transaction():
            return self._attach(name, self.pool.new(nvm_pmemobj.PersistentSet))

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
        # pynvm's close() runs gc() before pmemobj_close().
        self.pool.close()


class PynvmSystem(System):
    name = "pynvm"

    def versions(self):
        v = dist_versions("pynvm", "cffi")
        v["libpmemobj (deb)"] = deb_version("libpmemobj1")
        return v

    @staticmethod
    def path(base):
        return base + ".pmem"

    def create(self, base):
        pool = nvm_pmemobj.create(self.path(base), pool_size=POOL_SIZE)
        pool.root = pool.new(nvm_pmemobj.PersistentDict)
        return PynvmStore(pool)

    def open(self, base):
        return PynvmStore(nvm_pmemobj.open(self.path(base)))

    def footprint_list_ints(self, base, n):
        return pool_footprint(self, base, self.path(base), n)


def load():
    return PynvmSystem()
