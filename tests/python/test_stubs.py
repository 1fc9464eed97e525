"""python/pmemobj/_pmemobj.pyi declares every public name of the C
extension and of its classes (so type checkers and editors see the whole
API), and nothing that does not exist."""

import ast
from pathlib import Path

import pmemobj
import pmemobj._pmemobj as ext

# Beside the package's Python files (the extension itself may be loaded
# from another build tree, PMEMOBJ_EXT_DIR).
STUB = Path(pmemobj.__file__).with_name("_pmemobj.pyi")
DUNDERS = {"__enter__", "__exit__"}


def declared():
    tree = ast.parse(STUB.read_text())
    top, classes = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            top.add(node.name)
            classes[node.name] = {n.name if isinstance(n, ast.FunctionDef) else n.target.id
                                  for n in node.body
                                  if isinstance(n, (ast.FunctionDef, ast.AnnAssign))}
        elif isinstance(node, ast.FunctionDef):
            top.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            top.add(node.target.id)
    return top, classes


def public(names):
    return {n for n in names if not n.startswith("__") or n in DUNDERS}


def test_every_public_name_is_declared_and_exists():
    top, classes = declared()
    assert public(dir(ext)) - {"Oid"} == top - {"Oid"}
    for name, members in classes.items():
        cls = getattr(ext, name)
        own = public(vars(cls))
        assert own <= members | {"__init__"}, (name, own - members)
        for m in members - {"__init__", "__getitem__", "__setitem__", "__delitem__",
                            "__iter__", "__len__", "__contains__"}:
            assert hasattr(cls, m), (name, m)


def test_the_package_is_marked_typed():
    assert STUB.with_name("py.typed").exists()
