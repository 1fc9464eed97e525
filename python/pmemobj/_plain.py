"""Plain Python values out of persistent containers.

``to_python(x)`` is a deep copy made of builtins only: PersistentList ->
list, PersistentDict -> dict, PersistentSortedDict -> dict (in key
order), PersistentSet -> set, PersistentFrozenSet -> frozenset,
PersistentTuple -> tuple, PersistentArray -> array.array,
with shared parts shared and cycles kept, as ``copy.deepcopy`` keeps them.
Objects of PersistentObject subclasses (and other persistent types) are
not containers: they stay as they are.  The containers' ``to_python``,
``__copy__``, ``__deepcopy__`` and ``__reduce__`` (pickling) call here.
"""

import operator

from . import _pmemobj as _p


def to_python(x, memo=None):
    if memo is None:
        memo = {}
    return _Copier(memo).copy(x)


class _Copier:
    def __init__(self, memo):
        self.memo = memo        # id(source) -> copy, as copy.deepcopy's memo

    def copy(self, x):
        done = self.memo.get(id(x))
        if done is not None:
            return done
        if isinstance(x, _p.PersistentList):
            out = self.memo[id(x)] = []
            out.extend(self.copy(v) for v in x)
        elif isinstance(x, (_p.PersistentDict, _p.PersistentSortedDict)):
            out = self.memo[id(x)] = {}
            for k, v in x.items():
                out[self.copy(k)] = self.copy(v)
        elif isinstance(x, _p.PersistentSet):
            out = self.memo[id(x)] = set()
            out.update(self.copy(v) for v in x)
        elif isinstance(x, (_p.PersistentTuple, tuple)):
            items = tuple(self.copy(v) for v in x)
            # A cycle through a mutable item may have made the copy already.
            out = self.memo.setdefault(id(x), items)
        elif isinstance(x, (_p.PersistentFrozenSet, frozenset)):
            out = self.memo.setdefault(id(x), frozenset(self.copy(v) for v in x))
        elif isinstance(x, _p.PersistentArray):
            out = self.memo[id(x)] = x.to_python()
        else:
            return x            # a value, or an object that is not a container
        # Keep x alive while the memo is (as copy.deepcopy does, under
        # memo[id(memo)]): a proxy that died could let another object
        # take its id and be mistaken for it.
        self.memo.setdefault(id(self.memo), []).append(x)
        return out


def shallow(x):
    """copy.copy: a plain container of the same items."""
    if isinstance(x, (_p.PersistentDict, _p.PersistentSortedDict)):
        return dict(x.items())
    return {_p.PersistentList: list, _p.PersistentSet: set, _p.PersistentTuple: tuple,
            _p.PersistentFrozenSet: frozenset}[type(x)](x)


def reduce(x):
    """Pickle a persistent container as its plain value (never by
    reference to a pool that may be closed when it is loaded)."""
    # itemgetter(0)([v]) is v itself: the loaded value is the plain copy,
    # cycles back to it included.
    return operator.itemgetter(0), ([to_python(x)],)
