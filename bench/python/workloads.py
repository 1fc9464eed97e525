"""The Python workloads.  Each runs against one System on a fresh store and
returns {metric: (elapsed_ns, ops)}; the harness reports elapsed_ns / ops.

Only the loops inside ``Timer`` are timed; set-up (filling containers,
creating pools, reopening) is not.  Python's cyclic gc is disabled inside the
timed region (as timeit does), so it does not fire at random in one system's
loop and not in another's.

A read workload, and the empty transaction, repeat their timed loop untimed
first, for at least WARMUP_NS (``timed_warm``).  Measured on this VM: right
after a store is created and filled, the same read loop ran up to 1.5x
slower for its first few milliseconds, for plain Python's list as for
pmemobj's (5,000 lst[i] x 4 passes, eight samples back to back: 45 ns per
read falling to 31, and plain's 19.6 falling to 14), and 10 ms of any busy
work before the loop removed it.  Without the warm-up a sample of about a
millisecond timed mostly that transient, and the store whose set-up had
just done the most (a pool created and mapped) was timed coldest.  Writes
are not repeated: a second pass would time a different operation (an
overwrite instead of an insert).
"""

import contextlib
import gc
from time import perf_counter_ns

READ_PASSES = 4      # read workloads go over their n elements this often
GC_PASSES = 3        # gc runs timed per round
OPEN_PASSES = 5      # opens timed per round
WARMUP_NS = 10_000_000   # untimed repetition of a read loop before its sample


def timed_warm(body, *args):
    """Run body(*args) untimed until WARMUP_NS have passed (at least once),
    then once more inside a Timer; return the Timer."""
    end = perf_counter_ns() + WARMUP_NS
    body(*args)
    while perf_counter_ns() < end:
        body(*args)
    with Timer() as t:
        body(*args)
    return t


class Timer:
    __slots__ = ("ns", "_t0", "_gc")

    def __enter__(self):
        self._gc = gc.isenabled()
        gc.disable()
        self._t0 = perf_counter_ns()
        return self

    def __exit__(self, *exc):
        self.ns = perf_counter_ns() - self._t0
        if self._gc:
            gc.enable()
        return False


@contextlib.contextmanager
def fresh(system, base):
    """A newly created store, closed afterwards."""
    st = system.create(base)
    try:
        yield st
    finally:
        st.close()


def check(cond, what):
    if not cond:
        raise AssertionError("workload self-check failed: " + what)


# -- single writes, each its own transaction ------------------------------

def w_dict_set_int(system, base, n):
    with fresh(system, base) as st:
        d = st.new_dict("d")
        commit = st.autocommit
        if commit is None:
            with Timer() as t:
                for i in range(n):
                    d[i] = i
        else:
            with Timer() as t:
                for i in range(n):
                    d[i] = i
                    commit()
        check(len(d) == n, "dict length")
    return {"dict_set_int": (t.ns, n)}


def w_list_append_int(system, base, n):
    with fresh(system, base) as st:
        lst = st.new_list("l")
        commit = st.autocommit
        if commit is None:
            with Timer() as t:
                for i in range(n):
                    lst.append(i)
        else:
            with Timer() as t:
                for i in range(n):
                    lst.append(i)
                    commit()
        check(len(lst) == n, "list length")
    return {"list_append_int": (t.ns, n)}


def w_attr_set_int(system, base, n):
    with fresh(system, base) as st:
        o = st.new_obj("o")
        commit = st.autocommit
        if commit is None:
            with Timer() as t:
                for i in range(n):
                    o.a = i
        else:
            with Timer() as t:
                for i in range(n):
                    o.a = i
                    commit()
        check(o.a == n - 1, "attribute value")
    return {"attr_set_int": (t.ns, n)}


OVERWRITE_SLOTS = 100   # overwrites cycle over this many existing slots

# The autocommit loops below are written out (no helper taking a callable),
# as in the workloads above: a call per operation would add ~100 ns to
# every system's time and blur the ratios to the raw transaction.


def w_list_set(system, base, n):
    """Scalars written over scalars of the same kind: list[i] = int over an
    int, float over a float, bool over a bool, None over None."""
    kinds = (("list_set_int", lambda i: i, 0),
             ("list_set_float", lambda i: i + 0.5, 0.5),
             ("list_set_bool", lambda i: bool(i & 1), False),
             ("list_set_none", lambda i: None, None))
    idx = [i % OVERWRITE_SLOTS for i in range(n)]
    out = {}
    with fresh(system, base) as st:
        commit = st.autocommit
        for metric, value, first in kinds:
            lst = st.new_list(metric)
            with st.tx():
                for _ in range(OVERWRITE_SLOTS):
                    lst.append(first)
            work = list(zip(idx, [value(i) for i in range(n)]))
            if commit is None:
                with Timer() as t:
                    for j, v in work:
                        lst[j] = v
            else:
                with Timer() as t:
                    for j, v in work:
                        lst[j] = v
                        commit()
            check(lst[idx[-1]] == value(n - 1), metric + " value")
            out[metric] = (t.ns, n)
    return out


def w_dict_overwrite_int(system, base, n):
    work = [(i % OVERWRITE_SLOTS, i) for i in range(n)]
    with fresh(system, base) as st:
        d = st.new_dict("d")
        with st.tx():
            for k in range(OVERWRITE_SLOTS):
                d[k] = 0
        commit = st.autocommit
        if commit is None:
            with Timer() as t:
                for k, v in work:
                    d[k] = v
        else:
            with Timer() as t:
                for k, v in work:
                    d[k] = v
                    commit()
        check(len(d) == OVERWRITE_SLOTS and d[work[-1][0]] == n - 1, "dict value")
    return {"dict_overwrite_int": (t.ns, n)}


def w_attr_set_new(system, base, n):
    """setattr of an attribute the object does not have yet: n objects made
    beforehand (untimed), then o.d = i on each."""
    with fresh(system, base) as st:
        items = _fill_items(st, n)
        work = [(items[i], i) for i in range(n)]
        commit = st.autocommit
        if commit is None:
            with Timer() as t:
                for o, v in work:
                    o.d = v
        else:
            with Timer() as t:
                for o, v in work:
                    o.d = v
                    commit()
        check(items[n - 1].d == n - 1, "new attribute")
    return {"attr_set_new": (t.ns, n)}


def w_set_add_int(system, base, n):
    with fresh(system, base) as st:
        s = st.new_set("s")
        commit = st.autocommit
        if commit is None:
            with Timer() as t:
                for i in range(n):
                    s.add(i)
        else:
            with Timer() as t:
                for i in range(n):
                    s.add(i)
                    commit()
        check(len(s) == n, "set length")
    return {"set_add_int": (t.ns, n)}


# -- many writes in one transaction ----------------------------------------

def w_dict_set_int_in_tx(system, base, n):
    with fresh(system, base) as st:
        d = st.new_dict("d")
        with Timer() as t:
            with st.tx():
                for i in range(n):
                    d[i] = i
        check(len(d) == n, "dict length")
    return {"dict_set_int_in_tx": (t.ns, n)}


def w_dict_set_str_in_tx(system, base, n):
    keys = ["key%07d" % i for i in range(n)]
    vals = ["val%07d" % i for i in range(n)]
    with fresh(system, base) as st:
        d = st.new_dict("d")
        with Timer() as t:
            with st.tx():
                for k, v in zip(keys, vals):
                    d[k] = v
        check(len(d) == n, "dict length")
    return {"dict_set_str_in_tx": (t.ns, n)}


def w_list_append_in_tx(system, base, n):
    with fresh(system, base) as st:
        lst = st.new_list("l")
        with Timer() as t:
            with st.tx():
                for i in range(n):
                    lst.append(i)
        check(len(lst) == n, "list length")
    return {"list_append_in_tx": (t.ns, n)}


def w_list_append_str_in_tx(system, base, n):
    vals = ["s%07d" % i for i in range(n)]
    with fresh(system, base) as st:
        lst = st.new_list("l")
        with Timer() as t:
            with st.tx():
                for v in vals:
                    lst.append(v)
        check(len(lst) == n and lst[n - 1] == vals[-1], "list of strs")
    return {"list_append_str_in_tx": (t.ns, n)}


def w_obj_new_in_tx(system, base, n):
    """n new small objects with three attributes (a int, b short str, c
    int), each appended to a list, in one transaction."""
    strs = ["item %d" % i for i in range(n)]
    with fresh(system, base) as st:
        lst = st.new_list("items")
        new = st.new_item
        with Timer() as t:
            with st.tx():
                for i in range(n):
                    lst.append(new(i, strs[i], i))
        check(len(lst) == n and lst[n - 1].b == strs[-1], "objects")
    return {"obj_new_in_tx": (t.ns, n)}


# -- reads ------------------------------------------------------------------

def _filled_dict(st, keys):
    d = st.new_dict("d")
    with st.tx():
        for i, k in enumerate(keys):
            d[k] = i
    return d


def _filled_list(st, n):
    lst = st.new_list("l")
    with st.tx():
        for i in range(n):
            lst.append(i)
    return lst


def _get_keys(d, keys):
    for _ in range(READ_PASSES):
        for k in keys:
            d[k]


def _dict_get(system, base, keys, metric):
    with fresh(system, base) as st:
        d = _filled_dict(st, keys)
        t = timed_warm(_get_keys, d, keys)
        check(d[keys[-1]] == len(keys) - 1, "dict value")
    return {metric: (t.ns, READ_PASSES * len(keys))}


def w_dict_get_int(system, base, n):
    return _dict_get(system, base, list(range(n)), "dict_get_int")


def w_dict_get_str(system, base, n):
    return _dict_get(system, base, ["k%d" % i for i in range(n)],
                     "dict_get_str")


def _contains_keys(d, keys):
    for _ in range(READ_PASSES):
        for k in keys:
            k in d


def w_dict_contains_int(system, base, n):
    keys = list(range(n))
    with fresh(system, base) as st:
        d = _filled_dict(st, keys)
        t = timed_warm(_contains_keys, d, keys)
        check((n - 1) in d and n not in d, "dict membership")
    return {"dict_contains_int": (t.ns, READ_PASSES * n)}


def _index_all(lst, idx):
    for _ in range(READ_PASSES):
        for i in idx:
            lst[i]


def w_list_index(system, base, n):
    with fresh(system, base) as st:
        lst = _filled_list(st, n)
        idx = list(range(n))
        t = timed_warm(_index_all, lst, idx)
        check(lst[n - 1] == n - 1, "list value")
    return {"list_index": (t.ns, READ_PASSES * n)}


def _iterate(lst):
    for _ in range(READ_PASSES):
        for x in lst:
            pass


def w_list_iterate(system, base, n):
    with fresh(system, base) as st:
        lst = _filled_list(st, n)
        t = timed_warm(_iterate, lst)
        check(lst[n - 1] == n - 1, "last element")
    return {"list_iterate": (t.ns, READ_PASSES * n)}


def _get_attr(o, n):
    for _ in range(n):
        o.a


def w_attr_get(system, base, n):
    with fresh(system, base) as st:
        o = st.new_obj("o")
        t = timed_warm(_get_attr, o, n)
    return {"attr_get": (t.ns, n)}


# -- transactions, gc, open ---------------------------------------------------

def _empty_txs(tx, n):
    for _ in range(n):
        with tx():
            pass


def w_empty_tx(system, base, n):
    with fresh(system, base) as st:
        t = timed_warm(_empty_txs, st.tx, n)
    return {"empty_tx": (t.ns, n)}


def _fill_items(st, n):
    lst = st.new_list("items")
    with st.tx():
        for i in range(n):
            lst.append(st.new_item(i, "item %d" % i, i))
    return lst


def w_gc(system, base, n):
    with fresh(system, base) as st:
        _fill_items(st, n)
        with Timer() as t:
            for _ in range(GC_PASSES):
                st.gc()
        check(len(st.get("items")) == n, "items survive gc")
    return {"gc": (t.ns, GC_PASSES)}


def w_open_clean(system, base, n):
    with fresh(system, base) as st:
        _fill_items(st, n)
    total = 0
    for _ in range(OPEN_PASSES):
        with Timer() as t:
            st = system.open(base)
            items = st.get("items")
        total += t.ns
        try:
            check(len(items) == n, "items after reopen")
        finally:
            st.close()
    return {"open_clean": (total, OPEN_PASSES)}


# -- zodbshootout style -------------------------------------------------------

def w_shootout(system, base, n):
    st = system.create(base)
    try:
        objs = st.new_dict("objs")
        with Timer() as t_add:
            with st.tx():
                for i in range(n):
                    objs[i] = st.new_item(i, "item %d" % i, i)
        with Timer() as t_upd:
            with st.tx():
                for i in range(n):
                    o = objs[i]
                    o.c = o.c + 1
    finally:
        st.close()
    del objs, o
    st = system.open(base)
    try:
        with Timer() as t_read:
            count = 0
            for o in st.get("objs").values():
                o.a
                o.b
                o.c
                count += 1
        check(count == n and o.c == o.a + 1, "objects read back")
        del o
    finally:
        st.close()
    return {"shootout_add": (t_add.ns, n),
            "shootout_update": (t_upd.ns, n),
            "shootout_read": (t_read.ns, n)}


class Workload:
    def __init__(self, name, fn, n, op, doc, metrics=None):
        self.name = name
        self.fn = fn
        self.n = n              # full-run size; --quick divides it by 10
        self.op = op            # what one "op" of the reported ns/op is
        self.doc = doc
        self.metrics = metrics or [name]


W = Workload
WORKLOADS = [
    W("dict_set_int", w_dict_set_int, 3000, "d[i] = i",
      "n int->int inserts into an empty dict, each its own transaction "
      "(ZODB: OOBTree + commit per op)"),
    W("list_append_int", w_list_append_int, 2000, "lst.append(i)",
      "n int appends to an empty list, each its own transaction "
      "(ZODB: PersistentList + commit per op; that pickles the whole list "
      "per commit, so its per-op cost grows with n)"),
    W("attr_set_int", w_attr_set_int, 5000, "o.a = i",
      "n int attribute sets on one object, each its own transaction"),
    W("list_set", w_list_set, 1000, "lst[i] = x",
      "n overwrites of a scalar by a scalar of the same kind, cycling over "
      "the %d items of a list, each its own transaction: int over int, float "
      "over float, bool over bool, None over None (ZODB: PersistentList, "
      "which re-pickles the %d items per commit)" % (OVERWRITE_SLOTS, OVERWRITE_SLOTS),
      metrics=["list_set_int", "list_set_float", "list_set_bool", "list_set_none"]),
    W("dict_overwrite_int", w_dict_overwrite_int, 2000, "d[k] = i",
      "n int overwrites of the int values of a %d-entry dict's existing keys, "
      "each its own transaction (ZODB: OOBTree)" % OVERWRITE_SLOTS),
    W("attr_set_new", w_attr_set_new, 2000, "o.d = i",
      "setattr of a new attribute on each of n 3-attribute objects made "
      "beforehand, each its own transaction"),
    W("set_add_int", w_set_add_int, 2000, "s.add(i)",
      "n int adds to an empty set, each its own transaction (ZODB: OOTreeSet)"),
    W("dict_set_int_in_tx", w_dict_set_int_in_tx, 5000, "d[i] = i",
      "n int->int inserts into an empty dict in one transaction "
      "(commit included)"),
    W("dict_set_str_in_tx", w_dict_set_str_in_tx, 5000, "d[k] = v",
      "n short str -> short str inserts ('key0000123' -> 'val0000123') into "
      "an empty dict in one transaction (commit included)"),
    W("list_append_in_tx", w_list_append_in_tx, 5000, "lst.append(i)",
      "n int appends to an empty list in one transaction (commit included)"),
    W("list_append_str_in_tx", w_list_append_str_in_tx, 5000, "lst.append(s)",
      "n short str appends ('s0000123') to an empty list in one transaction "
      "(commit included)"),
    W("obj_new_in_tx", w_obj_new_in_tx, 2000, "lst.append(Item(a, b, c))",
      "n new objects with attributes a (int), b (short str), c (int), each "
      "appended to a list, in one transaction (commit included)"),
    W("dict_get_int", w_dict_get_int, 5000, "d[k]",
      "lookups of all n int keys of an n-entry dict, %d passes, warm"
      % READ_PASSES),
    W("dict_get_str", w_dict_get_str, 5000, "d[k]",
      "lookups of all n str keys ('k123') of an n-entry dict, %d passes, warm"
      % READ_PASSES),
    W("dict_contains_int", w_dict_contains_int, 5000, "k in d",
      "membership tests of all n int keys of an n-entry dict, %d passes, warm"
      % READ_PASSES),
    W("list_index", w_list_index, 5000, "lst[i]",
      "lst[i] for every index of an n-int list, %d passes, warm"
      % READ_PASSES),
    W("list_iterate", w_list_iterate, 5000, "one element",
      "for x in lst over an n-int list, %d passes, warm; per element"
      % READ_PASSES),
    W("attr_get", w_attr_get, 20000, "o.a",
      "n reads of one int attribute of one object, warm"),
    W("empty_tx", w_empty_tx, 20000, "with tx: pass",
      "n empty transactions (ZODB: with transaction.manager: pass)"),
    W("gc", w_gc, 2000, "one full gc",
      "one gc of a store holding a list of n live 3-attribute objects "
      "(pmemobj/pynvm pool.gc(); ZODB db.pack(); plain gc.collect()); "
      "%d per round; nothing is garbage" % GC_PASSES),
    W("open_clean", w_open_clean, 2000, "one open",
      "open a cleanly closed store holding n 3-attribute objects and fetch "
      "root['items'] (ZODB: DB(FileStorage(path)) + open + root); close not "
      "timed; %d per round" % OPEN_PASSES),
    W("shootout", w_shootout, 1000, "one object",
      "zodbshootout style over n objects with attributes a (int), b (str), "
      "c (int) kept in a dict (ZODB: OOBTree): add all in one transaction; "
      "update c of each in one transaction; close, reopen, then read a, b, c "
      "of every object via dict.values() (cold: fresh pool/connection)",
      metrics=["shootout_add", "shootout_update", "shootout_read"]),
]

FOOTPRINT_N = 10000

BY_NAME = {w.name: w for w in WORKLOADS}
METRIC_GROUP = {m: w.name for w in WORKLOADS for m in w.metrics}

# metric -> the operation of experiments/flush_counts.py that does what one
# op of the metric does, so that the summary shows the flushes and fences
# beside each target.  (A transaction of n writes is counted as one
# transaction of 100; gc as one gc of a small heap.)
FLUSH_OPS = {
    "dict_set_int": "dict[k] = int (new key)",
    "list_append_int": "list.append(int)",
    "attr_set_int": "setattr (existing, int)",
    "list_set_int": "list[i] = int (over an int)",
    "list_set_float": "list[i] = float (over a float)",
    "list_set_bool": "list[i] = bool (over a bool)",
    "list_set_none": "list[i] = None (over None)",
    "dict_overwrite_int": "dict[k] = int (existing key)",
    "attr_set_new": "setattr (new attribute)",
    "set_add_int": "set.add(int)",
    "dict_set_int_in_tx": "transaction of 100 dict[int] = int (new keys)",
    "dict_set_str_in_tx": "transaction of 100 dict[short str] = short str (new keys)",
    "list_append_in_tx": "transaction of 100 list.append(int)",
    "list_append_str_in_tx": "transaction of 100 list.append(short str)",
    "obj_new_in_tx": "transaction of 100 new 3-attribute objects, appended",
    "dict_get_int": "d[int] (read)",
    "dict_get_str": "d[short str] (read)",
    "dict_contains_int": "int in dict (read)",
    "list_index": "list[i] (read)",
    "list_iterate": "iterate a list of 100 (read)",
    "attr_get": "getattr (read)",
    "empty_tx": "empty transaction",
    "gc": "pool.gc(), 100 live 3-attribute objects",
}
