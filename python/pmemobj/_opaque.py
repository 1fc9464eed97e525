"""Stand-ins for objects whose class cannot be imported, in pools opened
read-only (``flag='r'``), so that any pool can be inspected anywhere.

Each class path the pool names but this process cannot import gets a
subclass of :class:`OpaqueObject` (named after the class, with
``_p_class_path`` set to the stored ``module:qualname``).  Its instances
read their stored attributes as any ``PersistentObject`` does; the pool
is read-only, so nothing can change them.  Objects of persistent types
written in Python against the ``MemoryManager`` (whose layout only their
class knows) still raise ``ClassNotFoundError``.
"""

from ._pmemobj import PersistentObject


class OpaqueObject(PersistentObject):
    """An object of a class that could not be imported (``_p_class_path``)."""

    _p_class_path = None

    def __repr__(self):
        try:
            attrs = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._p_attr_names())
        except Exception as e:          # noqa: BLE001 -- shown, not hidden
            attrs = f"<unreadable: {type(e).__name__}: {e}>"
        return f"<opaque {self._p_class_path} object ({attrs})>"


_classes = {}


def opaque_class(path):
    """The OpaqueObject subclass standing for the class at path."""
    cls = _classes.get(path)
    if cls is None:
        name = path.rpartition(":")[2].rpartition(".")[2] or "Opaque"
        cls = type(name, (OpaqueObject,), {"_p_class_path": path, "__module__": __name__,
                                           "__qualname__": "OpaqueObject[%s]" % path})
        _classes[path] = cls
    return cls
