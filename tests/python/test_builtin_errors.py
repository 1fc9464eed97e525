"""Errors of the persistent containers are the builtins' errors.

Each case is an expression on x, run once with x a builtin container and
once with x the persistent one of the same content: both must succeed, or
both raise the same exception type with the same message (up to the type
names: 'PersistentList' reads 'list').  CPython's suites mostly check the
types only; this checks the messages of the everyday mistakes.
"""


import pytest

from pmemobj import (PersistentDict, PersistentFrozenSet, PersistentList,  # noqa: F401
                     PersistentSet, PersistentTuple)

CASES = {
    (list, PersistentList): [
        'x.__contains__()', 'x.__len__(1)', 'x.__iter__(1)', 'x.__eq__()', 'x.pop(index=1)',
        'x.index(1, start=0)', 'x.count(x=1)', 'x.append(object=1)',
        'x.insert(index=1, object=2)', 'x.extend(iterable=[1])', 'x.remove(value=1)',
        'x.sort(None)', 'x.sort(key=lambda v: 1/0)', 'x.__setitem__(slice(0,1,0), [])',
        'x.__delitem__()', 'x.__delitem__(slice(0,1,0))', 'x.__reversed__(1)', "x.__mul__('a')",
        "x.__rmul__('a')", "x.__imul__('a')", 'x.__iadd__(5)', 'x.__add__(5)',
        'x.__class_getitem__', 'list.__class_getitem__(int) and type(x)[int]',
        "x.index(1, 0, 'a')", 'x.index(1, None)', "x[1:2:'a']", "x['a':]",
        'x.__getitem__(1, 2)', 'x.__lt__()', "x < x < 'a'", 'sorted(x, key=1)',
        'x.__sizeof__(1)', 'x.__reduce_ex__()', 'x[10]', 'x[-10]', "x['a']", 'x[1.5]',
        'x[10]=1', "x['a']=1", 'del x[10]', "del x['a']", 'x.pop(10)', 'x.clear() or x.pop()',
        "x.pop('a')", 'x.pop(1,2)', 'x.index(99)', "x.index(1,'a')", 'x.index()',
        'x.remove(99)', 'x.insert(1)', "x.insert('a',1)", 'x.count()', 'x.sort(1)',
        'x.sort(key=1)', "x.sort(reverse='a')", 'x.sort(foo=1)', 'x.extend(5)', 'x.extend()',
        'x.append()', 'x + 5', 'x + (1,)', '5 + x', "x * 'a'", 'x * 1.5', 'x[::0]',
        'x[1:2] = 5', 'x[::2] = [1]', 'x[::2] = 5', 'x < 5', 'x += 5', "x *= 'a'",
        'x.__getitem__()', 'x.reverse(1)', 'x.copy(1)', 'x.clear(1)', 'iter(x).__next__(1)',
        'hash(x)', 'x.foo', 'x[2**100]', 'x[2**100] = 1', 'x.insert(2**100, 1)',
        'x.pop(2**100)', 'x.index(1, 2**100)', 'x[1:2:2**100]', 'x.__setitem__(1)',
        'x.__init__(1, 2)', 'x.__init__(a=1)', 'reversed(x).__length_hint__(1)',
    ],
    (tuple, PersistentTuple): [
        'x.__contains__()', 'x.__len__(1)', 'x.index(1, start=0)', 'x.count(x=1)',
        "x.__mul__('a')", "x.__rmul__('a')", 'x.__add__(5)',
        'type(x)[int]', "x.index(1, 0, 'a')", 'x.index(1, None)', "x[1:2:'a']", "x['a':]",
        'x.__lt__()', 'x.__hash__(1)', 'x < [1]', 'x[10]', "x['a']", 'x[1.5]', 'x[10]=1',
        'del x[1]', 'x.index(99)', 'x.index()', 'x.count()', 'x + 5', 'x + [1]', '[1] + x',
        "x * 'a'", 'x[::0]', 'x < 5', 'x.append(1)', 'x.foo', 'x[2**100]', "x.index(1,'a')",
        'x.__getitem__()',
    ],
    (dict, PersistentDict): [
        'x.__getitem__()', 'x.__contains__()', 'x.__len__(1)', 'x.get(key=1)',
        'x.setdefault(key=1)', 'x.pop(key=1)', 'x.update(1, a=2)', 'x.__or__(5)',
        'x.__ror__(5)', 'x.__ior__(5)', 'type(x)[int]', 'x.__eq__()', 'x == 5 and 1/0',
        'x.keys().isdisjoint(5)', 'x.keys().__contains__()', 'x.items().__contains__(1)',
        'x.values()[0]', 'x.keys()[0]', 'len(x.keys(), 1)', 'x.keys().mapping',
        'x.__reversed__()', 'x.items() == 5 and 1/0', 'x.__sizeof__(1)', 'x.fromkeys([[1]])',
        'x.__class_getitem__(int) and 0', 'x[99]', 'x[[1]]', 'x[[1]] = 1', 'del x[99]',
        'del x[[1]]', 'x.pop(99)', 'x.pop()', 'x.pop(1,2,3)', 'x.popitem(1)', 'x.get()',
        'x.get(1,2,3)', 'x.get([1])', 'x.setdefault()', 'x.setdefault([1])', 'x.update(5)',
        'x.update([1])', 'x.update([(1,2,3)])', 'x.update(1, 2)', 'x.keys(1)', 'x | 5', '5 | x',
        'x |= 5', 'x < x', 'hash(x)', 'x.foo', 'x.fromkeys()', 'x.fromkeys(5)', '[1] in x',
        'x.copy(1)', 'x.clear(1)', 'x.__init__(1,2)', 'x.__init__(5)', 'x.__init__([1])',
        'x.keys() | 5', 'x.keys() < 5', 'x.items() & 5', 'x.values() | {1}',
        'reversed(x.values()).__length_hint__(1)', 'x.__reversed__(1)',
    ],
    (set, PersistentSet): [
        'x.__contains__()', 'x.__len__(1)', 'x.remove()', 'x.discard()', 'x.remove(1, 2)',
        'x.update(1, 2)', 'x.issubset()', 'x.issuperset(5)', 'x.__or__(5)', 'x.__ror__(5)',
        'x.__ior__(5)', 'x.__isub__(5)', 'x.__le__(5)', 'type(x)[int]', 'x.__eq__()',
        'x.__reduce__(1)', 'x.__sizeof__(1)', 'x.add(x)', 'x.remove(set())', 'x.discard({1})',
        '{1} in x', 'x.union([[1]])', 'x.update([[1]])', 'x.isdisjoint([[1]])',
        'x.issubset([[1]])', 'x.intersection([[1]])', 'x.difference([[1]])',
        'x.difference_update([[1]])', 'x.symmetric_difference([[1]])',
        'x.intersection_update([[1]])', 'x.symmetric_difference_update([[1]])', 'x.remove(99)',
        'x.remove([1])', 'x.add([1])', 'x.add()', 'x.discard([1])', 'x.pop(1)',
        'x.clear() or x.pop()', 'x.update(5)', 'x.union(5)', 'x | 5', '5 | x', 'x |= [1]',
        'x < 5', 'x.issubset(5)', 'x.isdisjoint(5)', 'x.difference(5)',
        'x.symmetric_difference(5)', 'x.symmetric_difference()', 'x.intersection(5)',
        'x.intersection_update(5)', 'x.difference_update(5)',
        'x.symmetric_difference_update(5)', '[1] in x', 'hash(x)', 'x.foo', 'x.__init__(1,2)',
        'x.__init__(5)', 'x.__init__(a=1)', 'x.copy(1)', 'x.add(1,2)', 'x - 5', 'x ^ 5',
        'x & 5', 'x -= 5', 'x &= 5', 'x ^= 5',
    ],
    (frozenset, PersistentFrozenSet): [
        'x.add(1)', 'x.union(5)', 'x | 5', 'x < 5', 'x.issubset(5)', '[1] in x', 'x.foo',
        'x.isdisjoint(5)', 'x.__init__(1,2)', 'x - 5', 'x |= 5',
    ],
}
INIT = {list: [1, 2, 3], tuple: (1, 2, 3), dict: {1: 2, 3: 4}, set: {1, 2, 3},
        frozenset: {1, 2, 3}}

# Differences that stay, with the reason.
KNOWN = {
    "x.__sizeof__(1)": "sys.getsizeof: the proxy's own __sizeof__ is object's",
    "x.__reduce__(1)": "pickling: persistent containers do not pickle; object's __reduce__",
    "reversed(x).__length_hint__(1)": "iterator type names: one type for both directions",
    "reversed(x.values()).__length_hint__(1)": "iterator type names: one type for all tables",
}

NAMES = [("PersistentFrozenSet", "frozenset"), ("PersistentSet", "set"),
         ("PersistentList", "list"), ("PersistentDict", "dict"),
         ("PersistentTuple", "tuple"), ("pmemobj.", "")]


def outcome(expr, x):
    try:
        exec(expr, {"x": x})
    except Exception as e:
        msg = str(e)
        for ours, builtin in NAMES:
            msg = msg.replace(ours, builtin)
        return type(e).__name__, msg
    return None


@pytest.mark.parametrize("builtin, ptype, expr", [
    pytest.param(b, p, e, id=f"{p.__name__}:{e}")
    for (b, p), exprs in CASES.items() for e in exprs])
def test_same_error_as_the_builtin(module_pool, builtin, ptype, expr):
    if expr in KNOWN:
        pytest.skip(KNOWN[expr])
    got = outcome(expr, module_pool.new(ptype, INIT[builtin]))
    assert got == outcome(expr, builtin(INIT[builtin]))
