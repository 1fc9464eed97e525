"""Classes defined in __main__: storing an instance warns (no other
program can import the class), and the error of a program that cannot
find a class says what to do."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import pmemobj

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys, warnings, pmemobj
class Note(pmemobj.PersistentObject):
    pass
with pmemobj.create(sys.argv[1]) as pool:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        pool.root = pool.new(Note)
        pool.root.other = pool.new(Note)         # registered once: one warning
    print(len(w), w[0].category.__name__, str(w[0].message))
"""


def test_storing_a_main_class_warns_and_reading_it_elsewhere_explains(pool_path):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    r = subprocess.run([sys.executable, "-c", SCRIPT, pool_path], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("1 UserWarning storing an instance of <class '__main__.Note'>")
    assert "define the class in a module both can import" in r.stdout
    with pmemobj.open(pool_path) as pool:
        with pytest.raises(pmemobj.ClassNotFoundError,
                           match="'__main__:Note'.*move it to a module"):
            pool.root


def test_a_missing_module_says_which_to_make_importable(pool_path, tmp_path):
    mod = tmp_path / "gone_module.py"
    mod.write_text("import pmemobj\nclass Thing(pmemobj.PersistentObject):\n    pass\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), str(tmp_path)]))
    code = ("import sys, pmemobj, gone_module\n"
            "with pmemobj.create(sys.argv[1]) as p:\n    p.root = p.new(gone_module.Thing)\n")
    r = subprocess.run([sys.executable, "-c", code, pool_path], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Warning" not in r.stderr, r.stderr
    with pmemobj.open(pool_path) as pool:
        with pytest.raises(pmemobj.ClassNotFoundError,
                           match="'gone_module:Thing'.*make it importable"):
            pool.root
