"""Where an object is: the path from the root (``root['users'][3].name``)
of objects named by their offsets, for the reports of ``check()``.

A breadth-first walk from the root over what a program can read (list
and tuple items, dict and sorted dict values, set members, attributes),
so the path given is a shortest one.  Damage met on the way is stepped
over: the walk is for naming places, and check() reports the damage.
"""

from collections import deque

from . import _pmemobj as P

# What reading a damaged part may raise.
_DAMAGE = (P.CorruptPoolError, OSError, ValueError, TypeError, KeyError, IndexError,
           RuntimeError, UnicodeError, P.ClassNotFoundError)


def _children(v, path):
    """(child, path) for what v holds."""
    if isinstance(v, (P.PersistentList, P.PersistentTuple, tuple)):
        for i, x in enumerate(v):
            yield x, f"{path}[{i}]"
    elif isinstance(v, (P.PersistentDict, P.PersistentSortedDict)):
        for k, x in v.items():
            yield k, f"{path}.keys()[{k!r}]"
            yield x, f"{path}[{k!r}]"
    elif isinstance(v, (P.PersistentSet, P.PersistentFrozenSet, frozenset)):
        for x in v:
            yield x, f"{path}{{{x!r}}}"
    elif isinstance(v, P.PersistentObject):
        for name in v._p_attr_names():
            yield getattr(v, name), f"{path}.{name}"


def paths_to(pool, offsets, limit=1_000_000):
    """{offset: path} for the offsets among `offsets` that objects
    reachable from the root have (at most `limit` objects are visited)."""
    wanted = {o for o in offsets if o}
    found = {}
    try:
        root = pool.root
    except _DAMAGE:
        return found
    seen = set()
    todo = deque([(root, "root")])
    while todo and wanted and len(seen) < limit:
        v, path = todo.popleft()
        oid = getattr(v, "_p_oid", None) if isinstance(v, P._PersistentBase) else None
        if oid is not None:
            if oid[1] in seen:
                continue
            seen.add(oid[1])
            if oid[1] in wanted:
                found[oid[1]] = path
                wanted.discard(oid[1])
            # Values it holds (str, bytes, tuples...) have no proxy to
            # carry an oid: name them by their holder.
            try:
                for _, off in v._p_traverse():
                    if off in wanted and off not in found:
                        found[off] = f"a value inside {path}"
            except (AttributeError, *_DAMAGE):
                pass
        elif not isinstance(v, (tuple, frozenset)):
            continue
        try:
            for child in _children(v, path):
                todo.append(child)
        except _DAMAGE:
            pass
    return found
