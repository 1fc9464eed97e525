"""Results of the persistent containers are the builtins' results.

Each case is an expression on x, evaluated with x a builtin container and
with x the persistent one of the same content; the results are compared
after mapping persistent containers to the builtin of their kind (a
PersistentList result stands for a list).  Iterators and views compare
by what they yield.  Exceptions compare by type and message.  Where the
persistent result is a new container, it is a persistent one (in the same
pool), which the mapping accepts; its kind must be the builtin's.
"""


import pytest

from pmemobj import (PersistentDict, PersistentFrozenSet, PersistentList,
                     PersistentSet, PersistentTuple)

CASES = {
    dict: [
        'x.keys() == {1, 3}', 'x.keys() == x.keys()', 'x.items() == {(1, 2), (3, 4)}',
        'x.values() == x.values()', 'x.keys() & {1}', 'x.keys() | [5]', 'x.keys() - {1}',
        'x.keys() ^ {1, 9}', '[5] | x.keys()', '{1} - x.keys()', 'x.items() | {(9, 9)}',
        'x.items() & [(1, 2)]', '(1, 2) in x.items()', '(1, 3) in x.items()',
        '[1, 2] in x.items()', 'len(x.keys())', 'list(reversed(x.keys()))',
        'list(reversed(x.items()))', 'list(reversed(x.values()))', 'x.keys() <= {1, 3, 5}',
        'x.keys() < {1, 3}', 'x.keys().isdisjoint([1])', 'x.items().isdisjoint([(1, 2)])',
        'repr(x.keys())', 'repr(x.values())', 'repr(x.items())', 'x.keys() != {1}',
        'bool(x.keys())', 'x | {5: 6}', '{5: 6} | x', 'x.get(1)', 'x.setdefault(9, 10)',
        'x.pop(1)', 'x.popitem()', 'list(x)', 'x == {1: 2, 3: 4}', 'x == {1: 2}',
        'x != {3: 4, 1: 2}', 'dict(x)', 'x.copy()', 'sorted(x.items())',
        'x.update({5: 6}) or x', 'x.update(a=1) or x', 'x.update([(7, 8)], b=2) or x',
        'x.__init__({9: 9}) or x', 'x |= [(0, 0)]; x', 'x.fromkeys([1, 2], 0)', '1.0 in x',
        'True in x', 'x[1.0]', 'x.keys() == {1.0, 3}', 'x.clear() or x',
    ],
    list: [
        'x + [4]', '[0] + x', 'x * 2', '2 * x', 'x[::-1]', 'x[1:]', 'x[-2:]', 'x.index(2)',
        'x.count(2)', 'x == [1, 2, 3]', 'x < [1, 3]', 'x > [1]', 'x <= x',
        'sorted(x, reverse=True)', 'x.sort(reverse=True) or x', 'x.reverse() or x', 'x.pop()',
        'x.pop(0)', 'x.insert(-1, 9) or x', 'x.insert(100, 9) or x', 'x.remove(2) or x',
        'x.extend(range(3)) or x', 'x.extend(x) or x', 'x.__iadd__(x)', 'x.__imul__(2)',
        'x.__imul__(0)', 'x.__setitem__(slice(1, 2), [7, 8, 9]) or x',
        'x.__setitem__(slice(None, None, -1), [7, 8, 9]) or x',
        'x.__delitem__(slice(None, None, 2)) or x', 'x.__setitem__(slice(5, 9), [7]) or x',
        'x.__setitem__(slice(0, 0), x) or x', 'x.__delitem__(slice(-1, -5, -1)) or x',
        'list(reversed(x))', 'x.index(3, -1)', 'x.copy()', 'x == (1, 2, 3)', 'x != [1, 2, 3]',
        'repr(x)', 'str(x)', '1.0 in x', 'x.count(True)', 'x.clear() or x',
        'x.__init__(range(2)) or x', 'x.__init__() or x',
    ],
    tuple: [
        'x + (4,)', '(0,) + x', 'x * 2', '2 * x', 'x[::-1]', 'x[1:]', 'x.index(2)',
        'x.count(2)', 'x == (1, 2, 3)', 'x < (1, 3)', 'hash(x) == hash((1, 2, 3))',
        'x == [1, 2, 3]', 'repr(x)', 'x[:]', 'x * 1', 'x * 0', 'x[5:]', 'list(reversed(x))',
        'x.index(3, -1)', 'x.__add__((5,))', 'x.__mul__(2)', 'x.__rmul__(2)',
    ],
    set: [
        'x | {4}', '{4} | x', 'x & {1, 5}', 'x - {1}', '{1, 9} - x', 'x ^ {1, 9}',
        'x <= {1, 2, 3}', 'x < {1, 2, 3, 4}', 'x == {1, 2, 3}', 'x == frozenset({1, 2, 3})',
        'x.union([4], (5,))', 'x.intersection([1, 2], {2})', 'x.difference([1], [2])',
        'x.symmetric_difference([1, 9])', 'x.issubset(range(5))', 'x.issuperset([1])',
        'x.isdisjoint([9])', 'x.add(4) or x', 'x.discard(9) or x', 'x.remove(1) or x',
        'x.update([4], [5]) or x', 'x.intersection_update([1, 2], [2, 3]) or x',
        'x.difference_update([1], [2]) or x', 'x.symmetric_difference_update([1, 9]) or x',
        'x.__ior__({7})', 'x.__iand__({1})', 'x.__isub__({1})', 'x.__ixor__({1, 8})', 'repr(x)',
        'x.copy()', '1.0 in x', 'frozenset([1]) in x', '{1} in x', 'x.pop() in (1, 2, 3)',
        'x.clear() or x', 'x.__init__([7]) or x', 'sorted(x)', 'x.intersection()', 'x.union()',
        'x.difference()',
    ],
    frozenset: [
        'x | {4}', '{4} | x', 'x & {1, 5}', 'x - {1}', 'x ^ {1, 9}', 'x <= {1, 2, 3}',
        'hash(x) == hash(frozenset({1, 2, 3}))', 'x == {1, 2, 3}', 'x.union([4])',
        'x.copy() is x', 'repr(x)', '{x: 1}[frozenset({1, 2, 3})]',
        'x in {frozenset({1, 2, 3})}', 'x.intersection()', 'x.union()', 'x |= {5}; x',
    ],
}

INIT = {list: [1, 2, 3], tuple: (1, 2, 3), dict: {1: 2, 3: 4}, set: {1, 2, 3},
        frozenset: {1, 2, 3}}
PERSISTENT = {dict: PersistentDict, list: PersistentList, tuple: PersistentTuple,
              set: PersistentSet, frozenset: PersistentFrozenSet}
KIND = [(PersistentList, list), (PersistentTuple, tuple), (PersistentDict, dict),
        (PersistentSet, set), (PersistentFrozenSet, frozenset)]
NAMES = [("PersistentFrozenSet", "frozenset"), ("PersistentSet", "set"),
         ("PersistentList", "list"), ("PersistentDict", "dict"),
         ("PersistentTuple", "tuple"), ("pmemobj.", "")]


def norm(v):
    """v with containers, persistent or not, as (kind, plain value)."""
    for ptype, builtin in KIND:
        if isinstance(v, (ptype, builtin)):
            if builtin is dict:
                return "dict", {k: norm(x) for k, x in v.items()}
            if builtin in (set, frozenset):
                return builtin.__name__, frozenset(v)
            return builtin.__name__, builtin(norm(x) for x in v)
    name = type(v).__name__
    if name.startswith(("dict_", "_Persistent", "Persistent")) or name.endswith("iterator"):
        return "iter", [norm(x) for x in v]
    if isinstance(v, str):
        for ours, builtin in NAMES:
            v = v.replace(ours, builtin)
    return v


def outcome(expr, x):
    ns = {"x": x}
    try:
        if ";" in expr:
            stmt, expr = expr.split(";")
            exec(stmt, ns)
        return norm(eval(expr, ns))
    except Exception as e:
        return "raised", type(e).__name__, norm(str(e))


@pytest.mark.parametrize("builtin, expr", [
    pytest.param(b, e, id=f"{b.__name__}:{e}") for b, exprs in CASES.items() for e in exprs])
def test_same_result_as_the_builtin(module_pool, builtin, expr):
    got = outcome(expr, module_pool.new(PERSISTENT[builtin], INIT[builtin]))
    assert got == outcome(expr, builtin(INIT[builtin]))
