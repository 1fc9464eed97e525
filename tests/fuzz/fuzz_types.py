"""User classes stored in the fuzzer's template pools (importable by the
trial processes, which find them again by module path)."""

import pmemobj


class Node(pmemobj.PersistentObject):
    def __init__(self, name, value, next=None):
        self.name = name
        self.value = value
        self.next = next


class Pickled:
    """Stored via persist_via_pickle."""

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __eq__(self, other):
        return type(other) is Pickled and (self.a, self.b) == (other.a, other.b)

    def __hash__(self):
        return hash((self.a, self.b))

    def __repr__(self):
        return "Pickled(%r, %r)" % (self.a, self.b)
