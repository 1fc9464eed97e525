"""The bench pipeline runs end to end: one definition of the modes
(bench/modes.py), one runner of pmo_bench (experiments/common.py), one
summary format.  A quick run of the C-harness experiment into a temporary
directory must produce its table with flush counts and its targets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (REPO / "build" / "pmo_bench").exists(),
                    reason="pmo_bench not built")
def test_c_bench_quick_run_writes_table_with_flush_counts(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    proc = subprocess.run([sys.executable, str(REPO / "experiments" / "c_bench.py"),
                           "--quick", "--out-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "c_bench.json").read_text())
    assert data["mode"]["name"] == "pmem"
    tx = data["benchmarks"]["TxSlots/1"]
    assert tx["median_ns"] > 0
    assert tx["counters"]["tx"] == 1
    if data["flush_counts"] == "merged into counters":
        assert tx["counters"]["drains"] >= 1       # a commit makes it durable
    labels = [t["label"] for t in data["targets"]]
    assert any("1-slot tx / raw" in l for l in labels)


def test_modes_have_one_definition():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from modes import MODES
    finally:
        sys.path.pop(0)
    assert set(MODES) == {"pmem", "tmpfs-msync", "file", "dax"}
    assert MODES["pmem"].force == "1" and MODES["pmem"].dir == "/dev/shm"
    # Nobody else defines them.
    for path in list((REPO / "experiments").glob("*.py")) + \
            list((REPO / "bench").rglob("*.py")):
        if path.name == "modes.py" and path.parent.name == "bench":
            continue
        assert "MODES = {" not in path.read_text(), path
