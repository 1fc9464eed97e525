"""A quick run of the corruption fuzzer (scripts/fuzz.sh runs the long one):
no damaged pool may crash the process or raise anything but a clear error.
And the fuzzer can fail: with the preflight check of libpmemobj's metadata
switched off (a planted bug), it reports the crashes that check prevents."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FUZZ = REPO / "tests" / "fuzz" / "corrupt.py"


def fuzz(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    proc = subprocess.run([sys.executable, str(FUZZ), "--quiet", *args], env=env,
                          capture_output=True, text=True, timeout=600)
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("fuzz: "), proc.stdout + proc.stderr
    words = last[len("fuzz: "):].replace(",", "").split()
    counts = {words[i + 1]: int(words[i]) for i in range(0, len(words), 2)}
    return counts, last


def test_quick_fuzz_has_no_crashes_and_no_internal_errors():
    counts, last = fuzz("--trials", "300", "--seed", "7", "--timeout", "5")
    assert counts["trials"] == 300
    assert counts["crashes"] == 0 and counts["internal"] == 0, last
    assert counts["detected"] > 0 and counts["ok"] > 0, last


def test_fuzzer_reports_crashes_when_the_preflight_check_is_off():
    # Zeroed 4 KiB blocks of the header region reach lane 0's logs.
    args = ("--trials", "60", "--seed", "7", "--timeout", "5", "--region", "header",
            "--kind", "zero")
    counts, last = fuzz(*args, "--no-preflight")
    assert counts["crashes"] > 0, last
    counts, last = fuzz(*args)                   # and the same trials with it on
    assert counts["crashes"] == counts["hangs"] == 0, last
