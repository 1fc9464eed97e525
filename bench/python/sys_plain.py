"""Adapter: plain dict / list / object -- the volatile upper bound.

"Transactions" are no-ops, gc is the interpreter's gc.collect() (which walks
every tracked object in the process, not only the workload's), and a "store"
is an in-memory namespace that survives close() until destroy(), so the
shootout can "reopen" it (the read is then necessarily warm).
"""

import contextlib
import gc
import platform
import tracemalloc

from bench_common import Store, System


class Item:
    def __init__(self, a=0, b="", c=0):
        self.a = a
        self.b = b
        self.c = c


_NOTX = contextlib.nullcontext()


class PlainStore(Store):
    autocommit = None

    def __init__(self, root):
        self.root = root

    def new_dict(self, name):
        d = self.root[name] = {}
        return d

    def new_list(self, name):
        lst = self.root[name] = []
        return lst

    def new_set(self, name):
        s = self.root[name] = set()
        return s

    def new_obj(self, name):
        o = self.root[name] = Item()
        return o

    def new_item(self, a, b, c):
        return Item(a, b, c)

    def get(self, name):
        return self.root[name]

    def tx(self):
        return _NOTX

    def gc(self):
        gc.collect()

    def close(self):
        pass


class PlainSystem(System):
    name = "plain"
    unsupported = {"open_clean": "volatile objects: there is nothing to open"}

    def __init__(self):
        self._stores = {}

    def versions(self):
        return {"python": platform.python_version()}

    def create(self, base):
        root = self._stores[base] = {}
        return PlainStore(root)

    def open(self, base):
        return PlainStore(self._stores[base])

    def destroy(self, base):
        self._stores.pop(base, None)

    def footprint_list_ints(self, base, n):
        # ints from range() are fresh objects except the cached -5..256, so
        # this counts the int objects plus the list's pointer array.
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
        try:
            lst = []
            before = tracemalloc.get_traced_memory()[0]
            for i in range(n):
                lst.append(i)
            after = tracemalloc.get_traced_memory()[0]
        finally:
            if not was_tracing:
                tracemalloc.stop()
        del lst
        return {
            "bytes_per_int": (after - before) / n,
            "n": n,
            "method": "tracemalloc: bytes allocated while appending n ints "
                      "to an empty list (int objects + list array), / n",
        }


def load():
    return PlainSystem()
