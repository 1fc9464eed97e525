"""Value comparison for round-trip tests.

`==` is too weak to check a persisted value: 1 == 1.0 == True, 0.0 == -0.0,
frozenset({1}) == frozenset({True}) and nan != nan.  same(a, b) demands the
same exact types all the way down, the same sign of zero, and treats nan as
equal to nan.
"""

import math


def _same_float(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def same(a, b):
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return _same_float(a, b)
    if type(a) is complex:
        return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)
    if type(a) is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is frozenset:
        # same() is an equivalence relation, so greedy matching is exact.
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if same(x, y):
                    del rest[i]
                    break
            else:
                return False
        return True
    return a == b


def assert_same(got, expected):
    assert same(got, expected), (
        f"persisted value differs:\n  expected {expected!r} "
        f"({type(expected).__name__})\n  got      {got!r} "
        f"({type(got).__name__})")
