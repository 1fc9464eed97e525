"""Adapter: ZODB with a FileStorage ``<base>.fs``.

dict workloads use an OOBTree, set workloads an OOTreeSet, list workloads
a PersistentList, attribute
workloads a ``persistent.Persistent`` subclass.  Autocommit workloads call
``transaction.commit()`` after every operation (FileStorage fsyncs on each
commit); a multi-op transaction is ``with transaction.manager:``.  gc is
``db.pack()`` (FileStorage's pack is its reachability garbage collection).
The connection cache is made large enough that every object of a workload
stays cached: reads other than shootout_read are warm.
"""

import os

import transaction
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from persistent.list import PersistentList
from ZODB import DB
from ZODB.FileStorage import FileStorage

from bench_common import Store, System, dist_versions

CACHE_SIZE = 1_000_000   # objects per connection


class Item(Persistent):
    def __init__(self, a=0, b="", c=0):
        self.a = a
        self.b = b
        self.c = c


class ZodbStore(Store):
    autocommit = staticmethod(transaction.commit)

    def __init__(self, path, create):
        self.db = DB(FileStorage(path, create=create), cache_size=CACHE_SIZE)
        self.conn = self.db.open()
        self.root = self.conn.root()

    def _attach(self, name, obj):
        self.root[name] = obj
        transaction.commit()
        return obj

    def new_dict(self, name):
        return self._attach(name, OOBTree())

    def new_list(self, name):
        return self._attach(name, PersistentList())

    def new_set(self, name):
        return self._attach(name, OOTreeSet())

    def new_obj(self, name):
        return self._attach(name, Item())

    def new_item(self, a, b, c):
        return Item(a, b, c)

    def get(self, name):
        return self.root[name]

    def tx(self):
        return transaction.manager

    def gc(self):
        self.db.pack()

    def close(self):
        transaction.abort()
        self.conn.close()
        self.db.close()


class ZodbSystem(System):
    name = "zodb"

    def versions(self):
        return dist_versions("ZODB", "BTrees", "persistent", "transaction",
                             "zodbpickle")

    @staticmethod
    def path(base):
        return base + ".fs"

    def create(self, base):
        return ZodbStore(self.path(base), create=True)

    def open(self, base):
        return ZodbStore(self.path(base), create=False)

    def footprint_list_ints(self, base, n):
        path = self.path(base)
        st = self.create(base)
        try:
            lst = st.new_list("l")
            st.gc()
            size0 = os.path.getsize(path)
            with st.tx():
                for i in range(n):
                    lst.append(i)
            st.gc()
            size1 = os.path.getsize(path)
        finally:
            st.close()
        return {
            "bytes_per_int": (size1 - size0) / n,
            "n": n,
            "method": "FileStorage file size after pack with n ints appended "
                      "(one commit) to a PersistentList at root['l'], minus "
                      "the size after pack with the list empty, / n (the "
                      "list is one pickle: 2-5 bytes per int)",
        }


def load():
    return ZodbSystem()
