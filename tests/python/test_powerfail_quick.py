"""A quick run of the power-failure simulator (scripts/powerfail.sh runs
the long one): crash images rebuilt from flushed and fenced cache lines
recover to a prefix of the committed transactions.  And the simulator can
fail: a build with a planted bug (a list append that does not save the
list's length, so its new value is never flushed by the commit) gives
violations.  scripts/test.sh builds that variant in build-planted/."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "tests" / "powerfail" / "powerfail.py"
PLANTED = REPO / "build-planted"


def simulate(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    env.pop("PMEMOBJ_EXT_DIR", None)
    proc = subprocess.run([sys.executable, str(SIM), "--quiet", *args], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("powerfail: "), proc.stdout + proc.stderr
    words = last.split()
    return int(words[1]), int(words[4]), last


def test_quick_simulation_has_no_violations():
    images, violations, last = simulate("--transactions", "50", "--images", "150",
                                        "--seed", "3")
    assert images == 150 and violations == 0, last


@pytest.mark.skipif(not (PLANTED / "libpftrace.so").exists(),
                    reason="build-planted/ not built (scripts/test.sh builds it)")
def test_simulator_catches_the_planted_bug():
    images, violations, last = simulate("--transactions", "50", "--images", "150",
                                        "--seed", "3", "--no-aborts",
                                        "--build", str(PLANTED))
    assert violations > 0, last
