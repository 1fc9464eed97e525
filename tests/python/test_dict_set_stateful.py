"""Stateful property tests for PersistentDict and PersistentSet against
dict and set: random operations (including hostile keys whose __eq__ or
__hash__ raise) give the same results and exceptions on both sides, and
the contents agree after every step, after committed and rolled-back
transactions, and after closing and reopening the pool.  (The list has
its own machine, test_list_stateful.py.)"""

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

import pmemobj
from helpers import PoolMachine
from pmemobj import PersistentDict, PersistentSet

keys = st.one_of(st.integers(-5, 5), st.text(max_size=20), st.binary(max_size=3),
                 st.floats(allow_nan=False, width=16), st.booleans(), st.none(),
                 st.tuples(st.integers(-2, 2), st.text(max_size=16)),
                 # In their slot or not (src/slot.h): equal across the forms
                 st.lists(st.one_of(st.integers(-2, 2), st.sampled_from([2**31 - 1, 2**31]),
                                    st.booleans(), st.floats(-2, 2, width=16)),
                          max_size=4).map(tuple),
                 st.frozensets(st.integers(0, 3), max_size=3))
values = st.one_of(keys, st.lists(st.integers(), max_size=3))


class Unhashable:
    __hash__ = None


class BadEq:
    """Hashes like 1 and raises on comparison: a hostile key."""

    def __hash__(self):
        return hash(1)

    def __eq__(self, other):
        raise ArithmeticError("no comparing")


def outcome(fn):
    try:
        return ("ok", fn())
    except Exception as e:      # noqa: BLE001 -- compared, type and all
        return ("raised", type(e))


def plain(v):
    if isinstance(v, (PersistentDict, dict)):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (pmemobj.PersistentList, list)):
        return [plain(x) for x in v]
    if isinstance(v, (PersistentSet, set)):
        return set(v)
    return v


class Machine(PoolMachine):
    model_kind = None  # dict or set, for root_type PersistentDict or PersistentSet

    def __init__(self):
        super().__init__()
        self.model = self.model_kind()

    def both(self, op):
        got = outcome(lambda: plain(op(self.pool.root)))
        want = outcome(lambda: plain(op(self.model)))
        assert got == want, (got, want)

    @rule(batch=st.lists(st.integers(0, 10**6), min_size=1, max_size=5), commit=st.booleans())
    def transaction(self, batch, commit):
        ops = [self.op_for(i) for i in batch]
        before = plain(self.pool.root)
        try:
            with self.pool.transaction():
                for op in ops:
                    self.both(op)
                if not commit:
                    raise KeyboardInterrupt      # not an Exception: never caught by outcome
        except KeyboardInterrupt:
            assert plain(self.pool.root) == before
            self.model = self.model_kind(before) if self.root_type is PersistentSet else before

    @rule()
    def reopen(self):
        self.pool.close()
        self.pool = pmemobj.open(self.path)

    @invariant()
    def same_contents(self):
        assert plain(self.pool.root) == plain(self.model)
        assert len(self.pool.root) == len(self.model)
        assert self.pool.root == self.model


class DictMachine(Machine):
    root_type, model_kind = PersistentDict, dict

    @rule(k=keys, v=values)
    def setitem(self, k, v):
        self.both(lambda d: d.__setitem__(k, v))

    @rule(k=keys)
    def getitem_pop_delete(self, k):
        self.both(lambda d: d[k])
        self.both(lambda d: d.get(k, "default"))
        self.both(lambda d: k in d)
        self.both(lambda d: d.pop(k, "absent"))
        self.both(lambda d: d.__delitem__(k))

    @rule(items=st.lists(st.tuples(keys, values), max_size=4), k=keys, v=values)
    def update_setdefault(self, items, k, v):
        self.both(lambda d: d.update(items))
        self.both(lambda d: d.setdefault(k, v))

    @rule()
    def popitem_views(self):
        self.both(lambda d: sorted(map(repr, d.keys())))
        self.both(lambda d: sorted(map(repr, d.items())))
        self.both(lambda d: d.popitem())

    @rule(hostile=st.sampled_from([Unhashable, BadEq]))
    def hostile_keys(self, hostile):
        # Unhashable: TypeError on both sides.  BadEq cannot be stored (a
        # class the pool does not know): TypeError for a store, and for a
        # lookup "absent" or the error of its __eq__ -- never a change to
        # the table (the invariant compares it with the unchanged model).
        bad = hostile()
        assert outcome(lambda: self.pool.root.__setitem__(bad, 1)) == ("raised", TypeError)
        for op in (lambda d: d[bad], lambda d: bad in d, lambda d: d.pop(bad, None)):
            got = outcome(lambda: op(self.pool.root))
            assert got in (("raised", TypeError), ("raised", KeyError), ("ok", False),
                           ("ok", None), ("raised", ArithmeticError)), got

    def op_for(self, i):
        k = [3, "key", (1, "a"), b"b", 2.5][i % 5]
        return [lambda d: d.__setitem__(k, i), lambda d: d.pop(k, None),
                lambda d: d.setdefault(k, [i]), lambda d: d.update({k: i})][i % 4]


class SetMachine(Machine):
    root_type, model_kind = PersistentSet, set

    @rule(k=keys)
    def add_discard_remove(self, k):
        self.both(lambda s: s.add(k))
        self.both(lambda s: k in s)
        self.both(lambda s: s.discard(k))
        self.both(lambda s: s.remove(k))

    @rule(others=st.lists(st.frozensets(st.integers(-3, 3), max_size=4), min_size=1,
                          max_size=3))
    def set_algebra(self, others):
        for name in ("update", "intersection_update", "difference_update",
                     "symmetric_difference_update"):
            o = others[0]
            self.both(lambda s: getattr(s, name)(o))
        self.both(lambda s: s | others[-1])
        self.both(lambda s: s.issubset(others[0]))
        self.both(lambda s: s.isdisjoint(tuple(others[-1])))

    @rule()
    def pop(self):
        n = len(self.model)
        got = outcome(self.pool.root.pop)
        if n == 0:
            assert got == ("raised", KeyError)
        else:
            self.model.discard(got[1])          # which item pops is not specified
            assert len(self.model) == n - 1

    def op_for(self, i):
        return [lambda s: s.add(i % 7), lambda s: s.discard(i % 7),
                lambda s: s.update({i % 5, "x"}), lambda s: s.difference_update({1})][i % 4]


SETTINGS = settings(max_examples=40, stateful_step_count=20, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
DictMachine.TestCase.settings = SETTINGS
SetMachine.TestCase.settings = SETTINGS
TestPersistentDictAgainstDict = DictMachine.TestCase
TestPersistentSetAgainstSet = SetMachine.TestCase
