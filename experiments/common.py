"""What every experiment shares: where things are, what the run ran on,
writing results, drawing figures, running commands and pmo_bench.

Every result file is one JSON object with the same header
(:func:`metadata`): experiment name, date, machine (CPU model, cores,
kernel, memory, load average), measurement mode (directory, filesystem,
PMEM_IS_PMEM_FORCE), software versions (Python, PMDK, pmemobj, the peers,
matplotlib), git commit, and whether the run was --quick.  Figures carry
the same facts in a footer line, so a PNG separated from its JSON still
says where it came from.

Full runs write to results/, --quick runs to results/quick/, so a
one-minute look never overwrites the committed data.

Progress goes to stderr as ``[  12.3s] experiment: message``; the clock
starts when run_all.py starts (it exports PMO_EXP_T0), or when the
experiment does if it runs alone.
"""

import datetime
import importlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(REPO, "results")
PYBENCH = os.path.join(REPO, "bench", "python")

# The in-tree build of the package (PYTHONPATH=python is what bench.sh sets;
# putting it first here makes a script run by hand find the same module).
if os.path.join(REPO, "python") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, os.path.join(REPO, "bench"))
from machine import (fmt_ns, git_info, is_dax,  # noqa: E402
                     machine, mount_of)

from modes import MODES, mode_dir  # noqa: E402  (bench/modes.py: the one definition)

SHARED_MACHINE_NOTE = (
    "2-core VM shared with other engineers' builds and tests (see the load "
    "averages recorded): absolute times are noisy; compare ratios measured in "
    "the same run (medians of rounds, systems alternated)")

_T0 = float(os.environ.get("PMO_EXP_T0") or time.time())

# SIGTERM unwinds like Ctrl-C, so that the finally clauses remove pool files.
signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
_NAME = os.path.splitext(os.path.basename(sys.argv[0] or "exp"))[0]


# -- progress and formatting ---------------------------------------------------

def progress(msg, name=None):
    print("[%7.1fs] %s: %s" % (time.time() - _T0, name or _NAME, msg),
          file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summary(samples):
    """median/min/max of a list of samples (None when empty)."""
    if not samples:
        return None
    return {"median": statistics.median(samples), "min": min(samples),
            "max": max(samples), "n": len(samples),
            "samples": [round(s, 3) for s in samples]}


# -- the machine and the software ----------------------------------------------

def _sh(cmd, timeout=20):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def dist_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions():
    v = {
        "python": sys.version.split()[0],
        "pmdk (pkg-config libpmemobj)": _sh(["pkg-config", "--modversion", "libpmemobj"]),
        "libpmemobj1 (deb)": _sh(["dpkg-query", "-W", "-f=${Version}", "libpmemobj1"]),
    }
    pm, why = import_pmemobj()
    if pm is not None:
        v["pmemobj"] = getattr(pm, "__version__", None) or "in-tree"
        v["pmemobj module"] = getattr(pm, "__file__", None)
    else:
        v["pmemobj"] = "missing: " + why
    for d in ("pynvm", "ZODB", "BTrees", "persistent", "transaction", "cffi",
              "matplotlib", "numpy"):
        v[d] = dist_version(d)
    gb = _sh(["dpkg-query", "-W", "-f=${Version}", "libbenchmark-dev"])
    v["google-benchmark (deb)"] = gb
    # The compiler that built the extension and pmo_bench (CMake's default cc).
    cc = _sh(["cc", "--version"])
    v["compiler"] = cc.splitlines()[0] if cc else None
    return v


def mode_info(mode, directory=None):
    d = directory or mode_dir(mode)
    m = mount_of(d)
    return {
        "name": mode,
        "dir": d,
        "filesystem": m["type"] if m else None,
        "dax": is_dax(m) if m else None,
        "PMEM_IS_PMEM_FORCE": MODES[mode].force,
        "what": MODES[mode].what,
    }


def metadata(experiment, quick, mode="pmem", **extra):
    meta = {
        "experiment": experiment,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "quick": bool(quick),
        "machine": machine(),
        "mode": mode_info(mode) if mode in MODES else mode,
        "versions": versions(),
        # Dirty: changed or untracked files outside results/ (an uncommitted
        # experiment script makes the commit alone not reproduce the run).
        "git": git_info(exclude=("results",)),
        "note": SHARED_MACHINE_NOTE,
        "argv": sys.argv[1:],
    }
    meta.update(extra)
    return meta


def footer_text(meta):
    m = meta["machine"]
    mode = meta["mode"]["name"] if isinstance(meta["mode"], dict) else meta["mode"]
    commit = (meta["git"]["commit"] or "?")[:10] + ("+dirty" if meta["git"]["dirty"] else "")
    return "%s, %s cores, Linux %s | mode %s | %s | git %s%s" % (
        m["cpu_model"], m["cores"], m["kernel"], mode, meta["date"][:16].replace("T", " ")
        + " UTC", commit, " | QUICK" if meta["quick"] else "")


# -- pmemobj and peers -----------------------------------------------------------

def set_mode_env(mode):
    """Set PMEM_IS_PMEM_FORCE for *mode*; libpmem reads it once, when it is
    loaded, so this must run before pmemobj or pynvm is imported."""
    want = MODES[mode].force
    if ("pmemobj._pmemobj" in sys.modules or "nvm.pmemobj" in sys.modules) and \
            os.environ.get("PMEM_IS_PMEM_FORCE") != want:
        raise RuntimeError("libpmem already loaded with PMEM_IS_PMEM_FORCE=%r"
                           % os.environ.get("PMEM_IS_PMEM_FORCE"))
    if want is None:                     # dax: libpmem detects it
        os.environ.pop("PMEM_IS_PMEM_FORCE", None)
    else:
        os.environ["PMEM_IS_PMEM_FORCE"] = want


def import_pmemobj():
    """(module, None) or (None, reason)."""
    try:
        pm = importlib.import_module("pmemobj")
    except Exception as e:
        return None, "%s: %s" % (type(e).__name__, e)
    if not hasattr(pm, "create"):
        return None, "pmemobj at %s is not built (no create)" % list(
            getattr(pm, "__path__", []))
    return pm, None


def import_pynvm():
    try:
        return importlib.import_module("nvm.pmemobj"), None
    except Exception as e:
        return None, "%s: %s" % (type(e).__name__, e)


_USED_RE = re.compile(r"^\s*Total used bytes\s*:\s*(\d+)", re.M)
_CLASS_RE = re.compile(r"^\s*Unit size\s*:\s*(\d+)\s*\n(?:.*\n)*?\s*Bytes\s*:\s*(\d+)"
                       r"\s*\n\s*Used bytes\s*:\s*(\d+)", re.M)
CHUNK = 256 << 10       # libpmemobj's chunk: its class lists whole chunks


def pool_heap_usage(path):
    """The heap of a *closed* libpmemobj pool, from ``pmempool info -s``:
    "used", its "Total used bytes" (allocation units in use over all
    allocation classes, so object headers and rounding included);
    "claimed", the bytes of the runs the heap has carved out of chunks
    (used or not) plus the whole chunks in use; and "fill" = used /
    claimed, how much of what the allocator took it actually uses."""
    exe = shutil.which("pmempool")
    if exe is None:
        raise RuntimeError("pmempool not found (Debian package pmdk-tools)")
    r = subprocess.run([exe, "info", "-s", path], capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("pmempool info -s %s: %s" % (path, r.stderr.strip()))
    m = _USED_RE.search(r.stdout)
    if not m:
        raise RuntimeError("cannot find 'Total used bytes' in pmempool info -s")
    claimed = 0
    for unit, total, used in _CLASS_RE.findall(r.stdout):
        claimed += int(used) if int(unit) == CHUNK else int(total)
    used = int(m.group(1))
    return {"used": used, "claimed": claimed, "fill": used / claimed if claimed else None}


def pool_used_bytes(path):
    """Bytes the allocator has handed out in a closed pool (see
    pool_heap_usage)."""
    return pool_heap_usage(path)["used"]


class Timer:
    """Times a block with perf_counter_ns, Python's cyclic gc off inside
    (as timeit does)."""
    __slots__ = ("ns", "_t0", "_gc")

    def __enter__(self):
        import gc
        self._gc = gc.isenabled()
        gc.disable()
        self._t0 = time.perf_counter_ns()
        return self

    def __exit__(self, *exc):
        import gc
        self.ns = time.perf_counter_ns() - self._t0
        if self._gc:
            gc.enable()
        return False


def workdir(mode="pmem"):
    """A fresh directory for pool files on the mode's filesystem."""
    return tempfile.mkdtemp(prefix="pmo-exp-", dir=mode_dir(mode))


# -- results and figures ---------------------------------------------------------

def out_dir(args):
    d = args.out_dir or (os.path.join(RESULTS, "quick") if args.quick else RESULTS)
    os.makedirs(d, exist_ok=True)
    return d


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, default=str)
        f.write("\n")
    os.replace(tmp, path)
    progress("wrote " + os.path.relpath(path, REPO))


def pyplot():
    """matplotlib.pyplot on the Agg backend with the project's style."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 130,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    return plt


# One colour per system, the same in every figure.
# Okabe and Ito's colour-blind-safe palette; every series also has its own
# marker or line style, so figures read in grey-scale print as well.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
             "#D55E00", "#F0E442", "#000000"]
COLORS = {
    "pmemobj": "#0072B2",             # blue
    "pmemobj (C core)": "#56B4E9",    # sky blue
    "raw libpmemobj (C)": "#000000",  # black
    "pynvm": "#D55E00",               # vermillion
    "zodb": "#CC79A7",                # reddish purple
    "plain": "#009E73",               # bluish green
    "pmem": "#0072B2",
    "tmpfs-msync": "#E69F00",         # orange
    "file": "#D55E00",
    "dax": "#CC79A7",
}


def save_figure(fig, path, meta, bottom=0.03):
    """Lay the figure out above a strip of height `bottom` (figure fraction)
    and write the run's footer there, then save and close it."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.text(0.005, 0.004, footer_text(meta), fontsize=6.5, color="0.35",
             ha="left", va="bottom")
    fig.savefig(path)
    import matplotlib.pyplot as plt
    plt.close(fig)
    progress("wrote " + os.path.relpath(path, REPO))


# -- commands ---------------------------------------------------------------------

def run_cmd(cmd, label, env=None, capture_stdout=False, timeout=None,
            quiet=None):
    """Run *cmd*, copying its stderr (and stdout unless captured) to our
    stderr line by line, indented; lines matching the regex *quiet* are
    dropped.  Returns (returncode, captured stdout or None)."""
    progress("$ " + " ".join(cmd), label)
    p = subprocess.Popen(cmd, env=env, text=True, bufsize=1,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    captured = []

    def pump(stream, keep):
        for line in stream:
            if keep:
                captured.append(line)
            elif quiet is None or not re.search(quiet, line):
                print("    | " + line.rstrip("\n"), file=sys.stderr, flush=True)

    threads = [threading.Thread(target=pump, args=(p.stdout, capture_stdout)),
               threading.Thread(target=pump, args=(p.stderr, False))]
    for t in threads:
        t.start()
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    for t in threads:
        t.join()
    return rc, ("".join(captured) if capture_stdout else None)


# -- the Python workload harness (bench/python/harness.py) -------------------------------

def run_harness(mode, label, args=(), quick=False):
    """Run bench/python/harness.py in *mode* with the extra *args*; returns
    its report (the JSON it writes).  Exit status 1 means the report lists
    workload errors, which the report carries; anything else raises."""
    fd, out = tempfile.mkstemp(prefix="pmo-harness-", suffix=".json")
    os.close(fd)
    cmd = [sys.executable, os.path.join(PYBENCH, "harness.py"), "--mode", mode,
           "--out", out] + list(args) + (["--quick"] if quick else [])
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    try:
        rc, _ = run_cmd(cmd, label, env=env)
        with open(out) as f:
            rep = json.load(f)
    finally:
        os.unlink(out)
    if rc not in (0, 1):
        raise RuntimeError("harness exited with status %d" % rc)
    return rep


# -- pmo_bench (Google Benchmark over the C core) ------------------------------------

class PmoBenchMissing(RuntimeError):
    pass


def pmo_bench_path():
    exe = os.environ.get("PMO_BENCH") or os.path.join(REPO, "build", "pmo_bench")
    if not os.access(exe, os.X_OK):
        raise PmoBenchMissing("%s not built (scripts/setup.sh builds it; it needs "
                              "libbenchmark-dev)" % exe)
    return exe


def run_pmo_bench(bench_filter, mode="pmem", min_time=0.1, repetitions=3,
                  quick=False, label="pmo_bench", preload=None, directory=None,
                  exe=None, env_extra=None):
    """Run pmo_bench (or another build of it, *exe*) on the benchmarks
    matching *bench_filter* (a regex) in *mode*; returns its JSON output
    (context + benchmarks).  Repetitions run in random interleaved order, so
    a burst of load from another process spreads over all benchmarks
    instead of landing on one, and ratios formed in one run stay honest."""
    exe = exe or pmo_bench_path()
    env = dict(os.environ)
    env.update(PMO_BENCH_MODE=mode, PMO_BENCH_DIR=directory or mode_dir(mode),
               PMO_BENCH_QUICK="1" if quick else "0")
    env.pop("PMEM_IS_PMEM_FORCE", None)     # pmo_bench sets it from the mode
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(env_extra or {})
    fd, out = tempfile.mkstemp(prefix="pmo_bench-", suffix=".json")
    os.close(fd)
    cmd = [exe, "--benchmark_filter=" + bench_filter,
           "--benchmark_min_time=%g" % min_time,
           "--benchmark_out=" + out, "--benchmark_out_format=json",
           "--benchmark_color=false"]
    if repetitions > 1:
        cmd += ["--benchmark_repetitions=%d" % repetitions,
                "--benchmark_enable_random_interleaving=true"]
    try:
        # Of the aggregates only the median goes to the progress output.
        rc, _ = run_cmd(cmd, label, env=env,
                        quiet=r"_(mean|stddev|cv) |^-+$|^\*\*\*")
        if rc != 0:
            raise RuntimeError("pmo_bench exited with status %d" % rc)
        with open(out) as f:
            data = json.load(f)
    finally:
        os.unlink(out)
    errors = [b for b in data.get("benchmarks", []) if b.get("error_occurred")]
    for b in errors:
        progress("pmo_bench error in %s: %s" % (b["name"], b.get("error_message")), label)
    return data


def flush_counts(bench_filter, label="pmo_bench flush count"):
    """Flushes, flushed bytes and drains per iteration of the benchmarks
    matching *bench_filter*, from a short pmem run with bench/c's
    interposer (libpmo_flushcount.so) preloaded: {name: {flushes,
    flush_bytes, drains}}, or {"missing"/"error": why}.  A run of its own,
    because interposing libpmem costs 5-12% of a transaction; the counts
    are deterministic and do not depend on the mode, only their price
    does."""
    so = os.path.join(os.path.dirname(pmo_bench_path()), "libpmo_flushcount.so")
    if not os.path.exists(so):
        return {"missing": "%s not built" % so}
    try:
        data = run_pmo_bench(bench_filter, "pmem", min_time=0.002, repetitions=1,
                             label=label, preload=so)
    except (RuntimeError, OSError) as e:
        return {"error": str(e)}
    return {n: {k: e["counters"].get(k) for k in ("flushes", "flush_bytes", "drains")}
            for n, e in bench_table(data).items()}


_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def bench_table(data):
    """run_name -> {"samples_ns": [real time per iteration of each
    repetition], "median_ns", "cpu_ns", "median_cpu_ns" (the process's CPU
    time: on a shared machine the gap to real time is time spent
    descheduled, except for manual-time benchmarks where real time is the
    timed section only), "counters": {name: median}}."""
    per = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        e = per.setdefault(b["run_name"], {"samples_ns": [], "cpu_ns": [],
                                           "counters": {}, "iterations": []})
        e["samples_ns"].append(b["real_time"] * _UNIT[b.get("time_unit", "ns")])
        e["cpu_ns"].append(b["cpu_time"] * _UNIT[b.get("time_unit", "ns")])
        e["iterations"].append(b.get("iterations"))
        for k, v in b.items():
            if k in ("objects", "examined", "tx", "snapshots", "snapshot_bytes",
                     "allocs", "alloc_bytes", "frees", "flushes", "flush_bytes",
                     "drains", "close_us", "open_us", "gc_us", "freed"):
                e["counters"].setdefault(k, []).append(v)
    for e in per.values():
        e["median_ns"] = statistics.median(e["samples_ns"])
        e["median_cpu_ns"] = statistics.median(e["cpu_ns"])
        e["counters"] = {k: statistics.median(v) for k, v in e["counters"].items()}
    return per


def bench_context(data):
    c = dict(data.get("context", {}))
    c.pop("caches", None)
    return c


# -- command line ----------------------------------------------------------------------

def arg_parser(doc):
    import argparse
    p = argparse.ArgumentParser(description=doc.strip().split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="a short run (seconds), written to results/quick/")
    p.add_argument("--out-dir", default=None,
                   help="where to write <name>.json and <name>.png "
                        "(default results/, or results/quick/ with --quick)")
    p.add_argument("--replot", action="store_true",
                   help="measure nothing: redraw <name>.png from <name>.json")
    return p


def load_json(path):
    with open(path) as f:
        return json.load(f)


def replotted(args, name, redraw):
    """With --replot: redraw(png_path, data) from the experiment's saved
    name.json, and True (the caller returns); without it, False."""
    if not args.replot:
        return False
    out = out_dir(args)
    redraw(os.path.join(out, name + ".png"), load_json(os.path.join(out, name + ".json")))
    return True


# -- targets ---------------------------------------------------------------------------

def target(label, measured, goal, cmp, unit, how, group=None, missing=None,
           detail=None, issue=None, ops=None):
    """One headline target, evaluated.

    cmp is "<=" (measured at or below goal) or ">=" (at or above).
    "margin" is how far on the right side of the goal the measurement is,
    as a factor: goal/measured for "<=", measured/goal for ">=";  above 1
    the target is met by that factor, below 1 it is missed by 1/margin.
    issue names where the goal comes from ("#9", "#12"; None: an older
    goal of the project's own); ops lists the operations of
    flush_counts.py that the measured workload repeats, whose flushes and
    fences the summary shows beside it.
    """
    t = {"label": label, "group": group, "measured": measured, "unit": unit,
         "goal": goal, "cmp": cmp, "how": how, "detail": detail,
         "issue": issue, "ops": list(ops or [])}
    if measured is None or goal is None:
        t.update(met=None, margin=None,
                 status="no data" + (": " + missing if missing else ""))
        return t
    if cmp == "<=":
        margin = goal / measured if measured > 0 else float("inf")
    elif cmp == ">=":
        margin = measured / goal
    else:
        raise ValueError(cmp)
    met = margin >= 1.0
    t.update(met=met, margin=margin,
             status=("met, %.2fx margin" % margin) if met
             else ("NOT met, off by %.2fx" % (1 / margin)))
    return t


def fmt_value(v, unit):
    if v is None:
        return "-"
    if unit == "ns":
        return fmt_ns(v)
    if unit == "x":
        return "%.0fx" % v if v >= 100 else "%.3gx" % v
    if unit == "bytes":
        return "%.1f B" % v
    if unit == "calls":
        return "%d" % v
    if unit == "count":
        return format(int(v), ",")
    return "%.3g %s" % (v, unit)


def info(label, measured, unit, how, group=None, detail=None, ops=None):
    """A headline number without a target (reported, not judged)."""
    return {"label": label, "group": group, "measured": measured, "unit": unit,
            "goal": None, "cmp": None, "how": how, "detail": detail,
            "issue": None, "ops": list(ops or []),
            "met": None, "margin": None,
            "status": "(no target)" if measured is not None else "no data"}


def _plain(v, _pos=None):
    if v <= 0:
        return ""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return "%g%s" % (round(v / div, 3), suffix)
    return "%g" % round(v, 4)


def log_axis(ax, which="y", include=()):
    """Plain tick labels (200, 1k, 10M) on a log axis, no minor labels;
    widen the axis to *include* the given values (e.g. a target line) and
    to at least one decade, so a small difference is not drawn as a big one."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    get, set_ = (ax.get_ylim, ax.set_ylim) if which == "y" else (ax.get_xlim, ax.set_xlim)
    lo, hi = get()
    for v in include:
        lo, hi = min(lo, v / 1.5), max(hi, v * 1.5)
    if hi / lo < 10:
        mid = (hi * lo) ** 0.5
        lo, hi = mid / 10 ** 0.5, mid * 10 ** 0.5
    set_(lo, hi)
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(NullFormatter())
