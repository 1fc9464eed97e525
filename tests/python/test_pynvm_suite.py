"""pynvm's own pmemobj test suite, run against pmemobj.

pmemobj offers pynvm's pmemobj API (pool, transactions, containers,
PersistentObject), so pynvm's tests should pass against it, but for the
reviewed list in pynvm_internal.txt: tests of pynvm's internals and of
deliberate differences, each with its reason.  The tests are not part of
this repository: scripts/pynvm_suite.sh fetches them into .cache/pynvm
(PYNVM_TESTS_DIR names another place); without them this test skips.
pynvm_runner.py runs them in a child interpreter with ``nvm.pmemobj``
aliased to ``pmemobj``.
"""

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PYNVM_DIR = Path(os.environ.get("PYNVM_TESTS_DIR", HERE.parents[1] / ".cache" / "pynvm"))
REVIEWED = HERE / "pynvm_internal.txt"


def test_pynvm_suite_passes(pool_dir, run_py):
    if not (PYNVM_DIR / "tests" / "support.py").is_file():
        pytest.skip(f"pynvm's tests are not in {PYNVM_DIR}: run scripts/pynvm_suite.sh "
                    f"to fetch them (needs the pynvm repository or a mirror of it)")
    code = f"""
import os, runpy, sys
os.chdir({str(pool_dir)!r})          # pynvm's tests make their pools in the cwd
sys.argv = ["pynvm_runner.py", {str(PYNVM_DIR)!r}, {str(REVIEWED)!r}]
runpy.run_path({str(HERE / "pynvm_runner.py")!r}, run_name="__main__")
"""
    proc = run_py(code, timeout=600)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    outcomes = report["outcomes"]
    counts = Counter(outcomes.values())
    print(f"pynvm suite: {dict(counts)}", file=sys.stderr)
    assert not report["unknown"], f"{REVIEWED.name} names no such tests: {report['unknown']}"
    bad = {t: report["details"].get(t, "") for t, o in outcomes.items() if o in ("fail", "error")}
    assert not bad, "pynvm tests failing against pmemobj:\n" + "\n".join(
        f"--- {t}\n{tb}" for t, tb in sorted(bad.items()))
    # the reviewed ones were skipped, and nothing else was
    reviewed = {t for t, o in outcomes.items() if o == "skip"}
    assert counts["pass"] > 100 and len(reviewed) == sum(
        1 for line in REVIEWED.read_text().splitlines()
        if line.strip() and not line.startswith("#"))
