"""The repository's scripts run and exit 0 on success."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "build" / "pmo_bench"


@pytest.mark.skipif(not BENCH.exists(), reason="pmo_bench not built")
@pytest.mark.skipif(shutil.which("valgrind") is None and shutil.which("perf") is None,
                    reason="neither perf nor valgrind installed")
def test_perf_sh_exits_zero_and_reports():
    # Regression: the callgrind path piped into head under pipefail and
    # exited 141 after printing everything.
    env = dict(os.environ, PMO_BENCH=str(BENCH), PERF_ITERATIONS="5")
    proc = subprocess.run(["bash", str(REPO / "scripts" / "perf.sh"), "RawTxEmpty$"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "RawTxEmpty" in out
    if "instructions per iteration" in out:          # the callgrind path
        assert "top functions" in out


def test_version_matches_pyproject():
    import re

    import pmemobj
    text = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', text, re.M).group(1) == pmemobj.__version__
