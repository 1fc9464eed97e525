"""The Python side of PersistentSortedDict: its range views and repr().

The dict itself is in C (python/_pmemobj/psorteddict.c).  A range of keys
is a rank interval that its ``_bounds(minimum, maximum, incl_min,
incl_max)`` finds in O(log n), and ``_iter(lo, hi, kind, reverse)`` walks.
The views are live: each use finds its interval again, so a view made
before a change shows the dict as it is after it.
"""

from collections.abc import ItemsView, KeysView, ValuesView

_KEYS, _VALUES, _ITEMS = 0, 1, 2


def _inclusive(inclusive):
    try:
        lo, hi = inclusive
    except (TypeError, ValueError):
        raise TypeError("inclusive must be a pair of bools, e.g. (True, False)") from None
    return bool(lo), bool(hi)


class _RangeView:
    """Keys (values, items) of a PersistentSortedDict between two bounds."""

    __slots__ = ()
    _kind = _KEYS

    def __init__(self, d, minimum=None, maximum=None, inclusive=(True, True)):
        self._mapping = d
        self._min, self._max = minimum, maximum
        self._incl = _inclusive(inclusive)
        self._range()           # bounds that cannot compare raise now

    def _range(self):
        return self._mapping._bounds(self._min, self._max, *self._incl)

    def _bounded(self):
        return self._min is not None or self._max is not None

    def __len__(self):
        lo, hi = self._range()
        return hi - lo

    def __iter__(self):
        lo, hi = self._range()
        return self._mapping._iter(lo, hi, self._kind, False)

    def __reversed__(self):
        lo, hi = self._range()
        return self._mapping._iter(lo, hi, self._kind, True)

    def __getitem__(self, index):
        lo, hi = self._range()
        if isinstance(index, slice):
            start, stop, step = index.indices(hi - lo)
            return [self[i] for i in range(start, stop, step)]
        n = hi - lo
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"{type(self).__name__} index out of range")
        k, v = self._mapping.peekitem(lo + i)
        return (k, v, (k, v))[self._kind]

    def _in_range(self, key):
        """Is key a key of the dict within the bounds?"""
        try:
            rank = self._mapping.index(key)
        except ValueError:
            return False
        lo, hi = self._range()
        return lo <= rank < hi

    def __repr__(self):
        bounds = ""
        if self._bounded():
            bounds = f", minimum={self._min!r}, maximum={self._max!r}, inclusive={self._incl}"
        return f"{type(self).__name__}({list(self)!r}{bounds})"


class SortedKeysView(_RangeView, KeysView):
    __slots__ = ("_min", "_max", "_incl")
    _kind = _KEYS

    def __contains__(self, key):
        if not self._bounded():
            return key in self._mapping
        return self._in_range(key)

    def index(self, key):
        """The index of key in this view (ValueError if it is not in it)."""
        if not self._in_range(key):
            raise ValueError(f"{key!r} is not in the view")
        return self._mapping.index(key) - self._range()[0]


class SortedValuesView(_RangeView, ValuesView):
    __slots__ = ("_min", "_max", "_incl")
    _kind = _VALUES

    def __contains__(self, value):
        return any(v is value or v == value for v in self)


class SortedItemsView(_RangeView, ItemsView):
    __slots__ = ("_min", "_max", "_incl")
    _kind = _ITEMS

    def __contains__(self, item):
        try:
            key, value = item
        except (TypeError, ValueError):
            return False
        if key not in self._mapping or (self._bounded() and not self._in_range(key)):
            return False
        v = self._mapping[key]
        return v is value or v == value


def keys(d, minimum=None, maximum=None, inclusive=(True, True)):
    return SortedKeysView(d, minimum, maximum, inclusive)


def values(d, minimum=None, maximum=None, inclusive=(True, True)):
    return SortedValuesView(d, minimum, maximum, inclusive)


def items(d, minimum=None, maximum=None, inclusive=(True, True)):
    return SortedItemsView(d, minimum, maximum, inclusive)


_in_repr = set()


def repr(d):  # noqa: A001  (called from C as _sorted.repr)
    if id(d) in _in_repr:
        return "PersistentSortedDict({...})"
    _in_repr.add(id(d))
    try:
        body = ", ".join(f"{k!r}: {v!r}" for k, v in d.items())
    finally:
        _in_repr.discard(id(d))
    return f"PersistentSortedDict({{{body}}})"
