"""The Persistent abstract base class: the interface of persistent types.

A persistent type written in Python implements this interface against the
pool's MemoryManager (``pool.mm``); ``pool.new(cls, *args, **kw)`` then
creates instances (``cls.__new__(cls)``, ``_p_new(mm)``, ``__init__``) and
reading a stored reference to one resurrects it (``cls.__new__(cls)``,
``_p_resurrect(mm, oid)``), once per object while the Python object lives.
Classes need not derive from Persistent: any class with ``_p_new``,
``_p_resurrect``, ``_p_traverse`` and ``_p_substructures`` counts as one
(``issubclass(cls, Persistent)``).  The types implemented in C
(PersistentList, PersistentObject, PersistentTuple, and PersistentDict,
PersistentSet, PersistentFrozenSet where built) are registered with it.

How the runtime uses the methods:

- ``_p_traverse()`` and ``_p_substructures()`` are asked by the garbage
  collector (for every reachable object of the type) and, when the type
  has no ``_p_deallocate``, by reference counting to release what an
  object holds when its count drops to zero;
- ``_p_deallocate()``, if the class defines it, is called instead when
  the object is freed (on an instance made with ``_p_resurrect``); it must
  decref what the object refers to and free its substructures, leaving
  only the memory at ``_p_oid``, which the manager frees.

The object's PObject (its first ``POBJECT_TYPE_NUM`` allocation, made by
``mm.alloc``/``mm.zalloc`` while ``_p_new`` runs) starts with a 16-byte
header the manager owns (reference count and type code); the type's own
data follows it.  Writes through ``mm.direct()`` addresses to memory
committed by an earlier transaction must be preceded by
``mm.snapshot_range(address, size)`` inside a transaction.
"""

import abc

from . import _pmemobj

__all__ = ["Persistent"]

_REQUIRED = ("_p_new", "_p_resurrect", "_p_traverse", "_p_substructures")


class Persistent(abc.ABC):
    """Abstract base class of objects that keep their data in a pool."""

    __slots__ = ()

    #: The MemoryManager of the pool the object lives in (set by _p_new /
    #: _p_resurrect).
    _p_mm = None

    #: The oid (pool_uuid_lo, offset) of the object's PObject.
    _p_oid = None

    @abc.abstractmethod
    def _p_new(self, manager):
        """Allocate and initialise the object's persistent data (inside a
        ``manager.transaction()``), and set ``_p_mm`` and ``_p_oid``."""

    @abc.abstractmethod
    def _p_resurrect(self, manager, oid):
        """Attach to the stored object at *oid*: set ``_p_mm`` and
        ``_p_oid`` (and whatever volatile state the type keeps)."""

    @abc.abstractmethod
    def _p_traverse(self):
        """Return an iterable of the oids of the objects this one refers
        to (each holding a reference taken with ``mm.incref``)."""

    @abc.abstractmethod
    def _p_substructures(self):
        """Return an iterable of the oids of the memory this object owns
        besides its PObject (allocated with other type numbers)."""

    #: Optional: ``_p_deallocate(self)`` releases what the object holds
    #: (decref its references, free its substructures).  None means "let
    #: the runtime do it from _p_traverse and _p_substructures".
    _p_deallocate = None

    @classmethod
    def __subclasshook__(cls, C):
        if cls is Persistent:
            if all(any(name in B.__dict__ and B.__dict__[name] is not None
                       for B in C.__mro__) for name in _REQUIRED):
                return True
        return NotImplemented


for _name in ("PersistentList", "PersistentObject", "PersistentTuple",
              "PersistentDict", "PersistentSet", "PersistentFrozenSet"):
    _type = getattr(_pmemobj, _name, None)
    if _type is not None:
        Persistent.register(_type)
del _name, _type
