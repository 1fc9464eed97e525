"""experiments/latency.py: a quick run writes percentiles that are
ordered, counts every sample, tags the samples so the tail can be
explained, and times ZODB's fsync; its percentile is the nearest rank."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_latency():
    sys.path.insert(0, str(REPO / "experiments"))
    try:
        spec = importlib.util.spec_from_file_location("latency_exp",
                                                      REPO / "experiments" / "latency.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(REPO / "experiments"))


def test_percentile_is_the_nearest_rank():
    lat = load_latency()
    xs = list(range(1, 1001))
    assert [lat.percentile(xs, p) for p in (50, 90, 99, 99.9, 100)] == [500, 900, 990, 999, 1000]
    assert lat.percentile([7], 99.9) == 7


def test_summary_explains_the_tail():
    lat = load_latency()
    rows = [(100, "")] * 990 + [(5000, "f")] * 6 + [(9000, "gp")] * 4
    s = lat.summarise(rows)
    assert (s["p50_ns"], s["p99_ns"], s["max_ns"]) == (100, 100, 9000)
    assert s["tail_n"] == 10
    assert s["fault"]["tail_share"] == 0.6 and s["fault"]["samples"] == 6
    assert s["gc"]["tail_share"] == 0.4 and s["preempt"]["tail_share"] == 0.4
    assert s["tail_untagged_share"] == 0.0
    assert s["untagged"]["samples"] == 990 and s["max_tags"] == "gp"
    # fsync alone (every ZODB commit) does not explain a sample
    s = lat.summarise([(100, "s")] * 990 + [(5000, "s")] * 10)
    assert s["tail_untagged_share"] == 1.0 and s["untagged"]["samples"] == 1000


def test_quick_run(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"), PMEM_IS_PMEM_FORCE="1")
    proc = subprocess.run([sys.executable, str(REPO / "experiments" / "latency.py"),
                           "--quick", "--out-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "latency.json").read_text())
    assert (tmp_path / "latency.png").exists()
    res = data["results"]
    for w in ("dict_set", "list_append", "sorted_insert"):
        e = res[w]["pmemobj"]
        assert e["n"] == data["rounds"] * data["n"][w]
        keys = ["min_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"]
        assert [e[k] for k in keys] == sorted(e[k] for k in keys)
        for tag in ("gc", "fault", "preempt"):
            assert 0.0 <= e[tag]["tail_share"] <= 1.0
    if "zodb" in res["dict_set"]:
        # every ZODB commit fsyncs its file, and each sample is tagged so
        assert data["fsync"]["calls"] >= res["dict_set"]["zodb"]["n"]
        assert res["dict_set"]["zodb"]["fsync"]["samples"] == res["dict_set"]["zodb"]["n"]
