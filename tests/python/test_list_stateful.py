"""Stateful property test: random operations on a PersistentList and on a
plain list (the model) must give the same results, exceptions and
contents, across pool reopens, committed transactions and rolled-back ones.

Nested lists are stored as PersistentLists in the pool and as plain lists
in the model; the model keeps the same sharing (an operation that copies a
reference, like extend(self) or *=, copies it in both), so changing a
nested list through one reference is seen through every other in both.
"""

import copy

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

import pmemobj
from helpers import PoolMachine
from pmemobj import PersistentList


def _norm(msg):
    return (msg.replace("pmemobj.PersistentList", "list")
               .replace("PersistentList", "list"))


def plain(v):
    if isinstance(v, (PersistentList, list)):
        return [plain(x) for x in v]
    return v


scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-3, 3),
    st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=False, width=32),
    st.text(max_size=3), st.binary(max_size=3),
    st.tuples(st.integers(-2, 2), st.text(max_size=2)),
)
# A value to store: a scalar, or ("nested", items) for a new nested list.
values = st.one_of(scalars, scalars, st.tuples(st.just("nested"),
                                               st.lists(scalars, max_size=3)))
small_index = st.integers(-12, 12)
bound = st.one_of(st.none(), st.integers(-12, 12))
step = st.one_of(st.none(), st.sampled_from([1, 1, 2, 3, -1, -2, -3]))

SORT_KEYS = {
    # Total orders over any mix of the values above (lists and
    # PersistentLists look alike to them) ...
    "repr": lambda v: (isinstance(v, (list, PersistentList)), repr(plain(v))),
    # ... and a coarse one, so that there are many ties: checks stability.
    "kind": lambda v: type(v).__name__.replace("PersistentList", "list"),
}

ops = st.one_of(
    st.tuples(st.just("append"), values),
    st.tuples(st.just("extend"), st.lists(values, max_size=4)),
    st.tuples(st.just("extend_self")),
    st.tuples(st.just("insert"), small_index, values),
    st.tuples(st.just("pop"), st.one_of(st.none(), small_index)),
    st.tuples(st.just("remove"), scalars),
    st.tuples(st.just("setitem"), small_index, values),
    st.tuples(st.just("delitem"), small_index),
    st.tuples(st.just("setslice"), bound, bound, step, st.lists(values, max_size=5)),
    st.tuples(st.just("setslice_same"), bound, bound, step),
    st.tuples(st.just("delslice"), bound, bound, step),
    st.tuples(st.just("sort"), st.sampled_from(sorted(SORT_KEYS)), st.booleans()),
    st.tuples(st.just("reverse")),
    st.tuples(st.just("clear")),
    st.tuples(st.just("iadd"), st.lists(values, max_size=3)),
    st.tuples(st.just("imul"), st.integers(-1, 3)),
    st.tuples(st.just("init"), st.lists(values, max_size=4)),
    st.tuples(st.just("nested_append"), small_index, scalars),
    # reads
    st.tuples(st.just("getitem"), small_index),
    st.tuples(st.just("getslice"), bound, bound, step),
    st.tuples(st.just("index"), scalars, bound),
    st.tuples(st.just("count"), scalars),
    st.tuples(st.just("contains"), scalars),
)


class ListMachine(PoolMachine):
    root_type = PersistentList

    def __init__(self):
        super().__init__()
        self.model = []

    @property
    def plist(self):
        return self.pool.root

    # --- applying one operation to either side ---------------------------

    def make(self, v, persistent):
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "nested":
            items = list(v[1])
            return self.pool.new(PersistentList, items) if persistent else items
        return v

    def apply(self, target, op, persistent):
        name, args = op[0], op[1:]
        mk = lambda v: self.make(v, persistent)  # noqa: E731
        if name == "append":
            return target.append(mk(args[0]))
        if name == "extend":
            return target.extend([mk(v) for v in args[0]])
        if name == "extend_self":
            return target.extend(target)
        if name == "insert":
            return target.insert(args[0], mk(args[1]))
        if name == "pop":
            return target.pop() if args[0] is None else target.pop(args[0])
        if name == "remove":
            return target.remove(args[0])
        if name == "setitem":
            target[args[0]] = mk(args[1])
            return None
        if name == "delitem":
            del target[args[0]]
            return None
        if name == "setslice":
            target[slice(*args[:3])] = [mk(v) for v in args[3]]
            return None
        if name == "setslice_same":
            # Right size for an extended slice, and from the list itself.
            s = slice(*args)
            target[s] = target[s][::-1]
            return None
        if name == "delslice":
            del target[slice(*args)]
            return None
        if name == "sort":
            return target.sort(key=SORT_KEYS[args[0]], reverse=args[1])
        if name == "reverse":
            return target.reverse()
        if name == "clear":
            return target.clear()
        if name == "iadd":
            target += [mk(v) for v in args[0]]
            return None
        if name == "imul":
            target *= args[0]
            return None
        if name == "init":
            return target.__init__([mk(v) for v in args[0]])
        if name == "nested_append":
            # Change a nested list in place (seen through every reference).
            nested = target[args[0]]
            if not isinstance(nested, (list, PersistentList)):
                raise TypeError("not a nested list")
            return nested.append(args[1])
        if name == "getitem":
            return target[args[0]]
        if name == "getslice":
            return target[slice(*args)]
        if name == "index":
            return target.index(*args) if args[1] is not None else target.index(args[0])
        if name == "count":
            return target.count(args[0])
        if name == "contains":
            return args[0] in target
        raise AssertionError(name)

    def outcome(self, target, op, persistent):
        try:
            return ("ok", plain(self.apply(target, op, persistent)))
        except Exception as e:  # noqa: BLE001
            return ("raise", type(e), _norm(str(e)))

    def run_both(self, model, op):
        if op[0] in ("imul", "extend_self") and len(model) > 40:
            return   # keep the lists small: these double or triple them
        expected = self.outcome(model, op, False)
        got = self.outcome(self.plist, op, True)
        assert got == expected, op

    # --- rules ----------------------------------------------------------

    @rule(op=ops)
    def one_operation(self, op):
        self.run_both(self.model, op)

    @rule(batch=st.lists(ops, min_size=1, max_size=6))
    def committed_transaction(self, batch):
        # Errors caught inside a transaction do not abort it.
        with self.pool.transaction():
            for op in batch:
                self.run_both(self.model, op)

    @rule(batch=st.lists(ops, min_size=1, max_size=6))
    def rolled_back_transaction(self, batch):
        scratch = copy.deepcopy(self.model)   # sharing is kept within the copy

        class Rollback(Exception):
            pass
        try:
            with self.pool.transaction():
                for op in batch:
                    self.run_both(scratch, op)
                raise Rollback
        except Rollback:
            pass
        # The model stays as it was; the invariant compares.

    @rule()
    def reopen(self):
        self.pool.close()
        self.pool = pmemobj.open(self.path)

    @precondition(lambda self: len(self.model) > 0)
    @rule()
    def gc_collects_nothing_live(self):
        _, counts = self.pool.gc()
        assert counts["collected"] == 0

    @invariant()
    def same_contents(self):
        assert plain(self.plist) == self.model
        assert len(self.plist) == len(self.model)
        assert self.plist == self.model


ListMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

TestPersistentListAgainstList = ListMachine.TestCase
