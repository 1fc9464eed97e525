"""The tutorial's examples run as written (each ```python block of
docs/tutorial.md, in order, as in one session that imported pmemobj, with
the pools in a temporary directory)."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_tutorial_examples_run(pool_dir):
    pool_dir = Path(pool_dir)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), str(pool_dir)]))
    ran = 0
    for code in blocks(REPO / "docs" / "tutorial.md"):
        code = code.replace("/dev/shm/", str(pool_dir) + "/")
        if code.startswith("# bank.py"):
            (pool_dir / "bank.py").write_text(code)
            continue
        code = "import pmemobj\n" + code    # as in one session: imported once
        if "def transfer" in code:       # a definition, exercised below
            code += ("\nwith pmemobj.open(%r) as pool:\n"
                     "    a = pool.root['ada']\n    b = pool.new(Account, 'bob')\n"
                     "    transfer(pool, a, b, 4)\n"
                     "    assert (a.balance, b.balance) == (6, 4)\n"
                     % str(pool_dir / "tutorial.pool"))
        proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=pool_dir,
                              capture_output=True, text=True, timeout=120)
        if "SIGKILL" in code:
            assert proc.returncode == -signal.SIGKILL, proc.stderr
        else:
            assert proc.returncode == 0, "%s\n---\n%s" % (code, proc.stderr)
        ran += 1
    assert ran >= 8


def test_readme_examples_run(pool_dir):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    outputs = []
    for code in blocks(REPO / "README.md"):
        code = code.replace("/dev/shm/", str(pool_dir) + "/")
        proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=pool_dir,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, "%s\n---\n%s" % (code, proc.stderr)
        outputs.append(proc.stdout)
    assert outputs[0] == "[('run', 0)]\n"
    assert outputs[1] == ('{"users": [{"name": "ann", "roles": ["admin"]}, '
                          '{"name": "bob", "roles": []}]}\n')
