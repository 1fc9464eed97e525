"""Persistent classes shared by the tests of user types.

They live at module level in an importable module, so that a pool written
by one process can be read by another (classes are found again by their
"module:qualname" path).

Int64Array is a persistent type written purely in Python against the
MemoryManager API of the spec: a fixed-size array of int64 kept in memory
from ``mm.zalloc``, read and written through ``mm.direct`` addresses with
ctypes, plus one reference to another persistent value (to show that gc
and reference counting follow what ``_p_traverse`` reports).
"""

import ctypes

from pmemobj import OID_NULL, Persistent, PersistentObject

ARRAY_TYPE_NUM = 4242    # the type number of the data substructure


class _Body(ctypes.Structure):
    """The PObject of an Int64Array: the manager's 16-byte header first."""
    _fields_ = [
        ("refcnt", ctypes.c_uint64),     # header: owned by the manager
        ("type_code", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("n", ctypes.c_int64),
        ("reserved", ctypes.c_uint64),
        ("data_uuid", ctypes.c_uint64),  # oid of the int64 array
        ("data_off", ctypes.c_uint64),
        ("ref_uuid", ctypes.c_uint64),   # oid of the referenced value
        ("ref_off", ctypes.c_uint64),
    ]


class Int64Array(Persistent):
    """A fixed-size array of int64 in persistent memory."""

    # Volatile log of the oids whose _p_deallocate ran (for the tests).
    deallocated = []

    def _p_new(self, manager):
        self._p_mm = manager
        with manager.transaction():
            self._p_oid = manager.zalloc(ctypes.sizeof(_Body))

    def __init__(self, n, ref=None):
        mm = self._p_mm
        with mm.transaction():
            data = mm.zalloc(8 * max(n, 1), type_num=ARRAY_TYPE_NUM)
            body = self._body()
            # _p_new committed the body: snapshot before changing it.
            mm.snapshot_range(ctypes.addressof(body), ctypes.sizeof(body))
            body.n = n
            body.data_uuid, body.data_off = data
            if ref is not None:
                self.ref = ref

    def _p_resurrect(self, manager, oid):
        self._p_mm = manager
        self._p_oid = manager.otuple(oid)

    def _body(self):
        return _Body.from_address(self._p_mm.direct(self._p_oid))

    def _data(self):
        body = self._body()
        addr = self._p_mm.direct((body.data_uuid, body.data_off))
        return (ctypes.c_int64 * max(body.n, 1)).from_address(addr)

    def __len__(self):
        return self._body().n

    def _index(self, i):
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("Int64Array index out of range")
        return i

    def __getitem__(self, i):
        return self._data()[self._index(i)]

    def __setitem__(self, i, value):
        i = self._index(i)
        data = self._data()
        mm = self._p_mm
        with mm.transaction():
            mm.snapshot_range(ctypes.addressof(data) + 8 * i, 8)
            data[i] = value

    def __iter__(self):
        return iter(list(self._data())[:len(self)])

    @property
    def ref(self):
        body = self._body()
        return self._p_mm.resurrect((body.ref_uuid, body.ref_off))

    @ref.setter
    def ref(self, value):
        mm = self._p_mm
        with mm.transaction():
            new = OID_NULL if value is None else mm.persist(value)
            if new != OID_NULL:
                mm.incref(new)
            body = self._body()
            old = (body.ref_uuid, body.ref_off)
            mm.snapshot_range(ctypes.addressof(body) + _Body.ref_uuid.offset, 16)
            body.ref_uuid, body.ref_off = new
            mm.xdecref(old)

    def _p_traverse(self):
        body = self._body()
        return [(body.ref_uuid, body.ref_off)] if body.ref_off else []

    def _p_substructures(self):
        body = self._body()
        return [(body.data_uuid, body.data_off)]

    def _p_deallocate(self):
        mm = self._p_mm
        body = self._body()
        type(self).deallocated.append(self._p_oid)
        mm.xdecref((body.ref_uuid, body.ref_off))
        mm.free((body.data_uuid, body.data_off))


class PlainInt64Array(Int64Array):
    """The same type without _p_deallocate: the runtime releases what
    _p_traverse and _p_substructures report."""
    _p_deallocate = None


# --- PersistentObject classes ------------------------------------------------

class Point(PersistentObject):
    """A user class with class attributes, methods and properties."""

    kind = "point"                  # a class attribute
    log = []                        # volatile: calls of __init__/_v__init__

    def _v__init__(self):
        self._v_resurrections = getattr(self, "_v_resurrections", 0) + 1
        Point.log.append(("_v__init__", self._v_resurrections))

    def __init__(self, x, y, *, label=None):
        Point.log.append(("__init__", x, y))
        self.x = x
        self.y = y
        if label is not None:
            self.label = label

    @property
    def norm2(self):
        return self.x * self.x + self.y * self.y

    @property
    def doubled_x(self):
        return self.x * 2

    @doubled_x.setter
    def doubled_x(self, value):
        self.x = value // 2

    def moved(self, dx, dy):
        return (self.x + dx, self.y + dy)

    @classmethod
    def origin_kind(cls):
        return cls.kind

    @staticmethod
    def helper():
        return "static"


class Node(PersistentObject):
    """A node of a linked structure (for identity, cycles and gc)."""

    def __init__(self, name, next=None):
        self.name = name
        self.next = next


class Record(PersistentObject):
    """Twelve attributes, more than the room a first instance got before
    its class's __init__ was read (pmemobj/_room.py)."""

    def __init__(self, i):
        self.a, self.b, self.c, self.d = i, i + 1, i + 2, i + 3
        self.e = self.f = self.g = self.h = str(i)
        self.i = self.j = self.k = None
        self.l = [i]


class SetattrRecord(PersistentObject):
    """Twelve attributes set by name: invisible to the guess."""

    def __init__(self, i):
        for n in "abcdefghijkl":
            setattr(self, n, i)


class Slotted(PersistentObject):
    __slots__ = ("cache",)          # a slot is a data descriptor: volatile


def make_class_module(directory, modname):
    """Write a module defining a PersistentObject subclass Thing into
    directory (for the class-not-found tests)."""
    path = directory / f"{modname}.py"
    path.write_text(
        "import pmemobj\n"
        "class Thing(pmemobj.PersistentObject):\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n")
    return path


__all__ = ["ARRAY_TYPE_NUM", "Int64Array", "PlainInt64Array", "Point", "Node",
           "Slotted", "make_class_module"]
