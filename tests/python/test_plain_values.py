"""Plain values in (a list, dict or set stored anywhere becomes a
persistent copy) and plain values out (to_python, copy, deepcopy, pickle,
json)."""

import copy
import json
import pickle

import pytest

import pmemobj
from pmemobj import (PersistentArray, PersistentDict, PersistentFrozenSet, PersistentList,
                     PersistentSet, PersistentTuple)
from persistent_types import Node


def test_plain_nested_values_are_stored_as_persistent_copies(pool_path):
    value = {"users": [{"name": "ann", "tags": {"admin", "ops"}}, {"name": "bob"}],
             "counts": (1, [2, 3]), "empty": {}}
    with pmemobj.create(pool_path) as pool:
        pool.root = value
        r = pool.root
        assert type(r) is PersistentDict
        assert type(r["users"]) is PersistentList and type(r["users"][0]) is PersistentDict
        assert type(r["users"][0]["tags"]) is PersistentSet
        assert type(r["counts"]) is tuple and type(r["counts"][1]) is PersistentList
        value["users"].append("not in the pool")        # a copy was stored
        assert len(r["users"]) == 2
    with pmemobj.open(pool_path) as pool:
        assert pool.root.to_python() == {"users": [{"name": "ann", "tags": {"admin", "ops"}},
                                                  {"name": "bob"}],
                                         "counts": (1, [2, 3]), "empty": {}}
        assert pool.check()["ok"]


def test_shared_parts_and_cycles_are_copied_once(pool):
    shared = [1, 2]
    cyc = []
    cyc.append(cyc)
    d = {"a": shared, "b": shared, "cycle": cyc}
    d["self"] = d
    pool.root = d
    r = pool.root
    assert r["a"] is r["b"] and r["self"] is r
    assert r["cycle"][0] is r["cycle"]
    out = r.to_python()
    assert out["a"] is out["b"] and out["self"] is out and out["cycle"][0] is out["cycle"]


def test_plain_values_in_every_place_a_value_goes(pool):
    lst = pool.new(PersistentList)
    lst.append([1])
    lst.extend([{2: 3}, {4}])
    lst.insert(0, {"x": []})
    lst[1] = [[5]]
    node = pool.new(Node, "n")
    node.payload = {"k": [1, 2]}
    s = pool.new(PersistentSet)
    s.add((1, frozenset({2})))
    t = pool.new(PersistentTuple, [[1], {2: 2}])
    d = pool.new(PersistentDict, {"l": [1]}, m={"n": {3}})
    d.update(o=[4])
    d.setdefault("p", [5])
    assert lst.to_python() == [{"x": []}, [[5]], {2: 3}, {4}]
    assert type(node.payload) is PersistentDict and node.payload.to_python() == {"k": [1, 2]}
    assert t.to_python() == ([1], {2: 2})
    assert d.to_python() == {"l": [1], "m": {"n": {3}}, "o": [4], "p": [5]}


def test_a_bad_item_deep_inside_stores_nothing(pool):
    pool.root = pool.new(PersistentList, [1])
    before = pool.stats()["allocs"]
    with pytest.raises(TypeError, match="Don't know how to persist object"):
        pool.root.append({"a": [1, {"b": object()}]})
    assert list(pool.root) == [1] and pool.stats()["allocs"] == before


def test_to_python_of_every_container(pool):
    arr = pool.new(PersistentArray, "i", [1, 2])
    pool.root = pool.new(PersistentList, [
        pool.new(PersistentTuple, [1, "a"]), pool.new(PersistentFrozenSet, [1]),
        pool.new(PersistentSet, [2]), arr, (pool.new(PersistentList, [3]),)])
    out = pool.root.to_python()
    assert out[:3] == [(1, "a"), frozenset({1}), {2}]
    assert [type(x) for x in out] == [tuple, frozenset, set, type(arr.to_python()), tuple]
    assert list(out[3]) == [1, 2] and out[4] == ([3],)


def test_copy_deepcopy_pickle_and_json_give_plain_values(pool):
    pool.root = {"a": [1, {"b": 2}], "s": {3}}
    r = pool.root
    shallow = copy.copy(r)
    assert type(shallow) is dict and type(shallow["a"]) is PersistentList
    deep = copy.deepcopy(r)
    assert deep == {"a": [1, {"b": 2}], "s": {3}} and type(deep["a"]) is list
    loaded = pickle.loads(pickle.dumps(r))
    assert loaded == deep and type(loaded) is dict
    assert json.loads(json.dumps(r.to_python(), default=sorted)) == {"a": [1, {"b": 2}],
                                                                     "s": [3]}
    data = pickle.dumps(r)
    pool.close()
    assert pickle.loads(data) == deep                   # nothing refers to the pool


def test_pickled_cycle_stays_a_cycle(pool):
    cyc = [1]
    cyc.append(cyc)
    pool.root = cyc
    loaded = pickle.loads(pickle.dumps(pool.root))
    assert loaded[1] is loaded
