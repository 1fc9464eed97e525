#!/usr/bin/env python3
"""Every measured number of the paper, from results/*.json.

    paper/generate.py [--results DIR] [--out DIR]

Writes into paper/generated/ (or --out):
  numbers.tex    one \\newcommand per number the prose uses
  tab-*.tex      the tables, cell by cell from the same data
  sources.json   for every number (macro or table cell): the printed text,
                 the result file(s) and key path(s) it was computed from,
                 the operation (value, ratio, ...) and the exact value, so
                 tests/python/test_paper.py can re-read the key and check
                 the printed text against it.

Nothing here measures: a number the paper prints is either read from a
result file or computed from read values by one of OPS.  Change the data
and rerun; never edit generated/.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# -- operations a printed number may be formed with --------------------------------
# The test imports OPS, so the checker and the generator agree on what e.g.
# "ratio" means; each is a one-liner over values read from results.

def _geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


OPS = {
    "value": lambda xs: xs[0],
    "ratio": lambda xs: xs[0] / xs[1],
    "diff": lambda xs: xs[0] - xs[1],
    "sum": lambda xs: sum(xs),
    "min": lambda xs: min(xs),
    "max": lambda xs: max(xs),
    "median": lambda xs: statistics.median(xs),
    "geomean": _geomean,
    # the smallest and largest of several ratios: xs = a1, b1, a2, b2, ...
    "min_ratio": lambda xs: min(a / b for a, b in zip(xs[::2], xs[1::2])),
    "max_ratio": lambda xs: max(a / b for a, b in zip(xs[::2], xs[1::2])),
    "len": lambda xs: len(xs[0]),
    # targets of a summary: how many have a goal, how many are met
    "count_goals": lambda xs: sum(1 for t in xs[0] if t.get("goal") is not None),
    "count_met": lambda xs: sum(1 for t in xs[0] if t.get("met") is True),
    "count_missed": lambda xs: sum(1 for t in xs[0] if t.get("met") is False),
}


def target_index(data, label):
    """The position of the target labelled `label` in data["targets"]:
    exactly one must match, so a reordered or renamed target fails loudly
    instead of pointing at its neighbour."""
    hits = [i for i, t in enumerate(data["targets"]) if t.get("label") == label]
    if len(hits) != 1:
        raise KeyError("%d targets labelled %r" % (len(hits), label))
    return hits[0]


def lookup(data, path):
    """data[path[0]][path[1]]...; a str path element indexes dicts, an int lists."""
    for p in path:
        data = data[p]
    return data


# -- formatting --------------------------------------------------------------------------
# Each formatter returns (latex, number, scale): the text printed, the bare
# number in it as printed (digits and a point), and what the value was
# multiplied by to get that number, so the test can check the rounding.

def _sig(x, digits):
    """x to `digits` significant digits, as a plain decimal string."""
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    s = "%.*f" % (decimals, x)
    # rounding can carry into a new digit (9.996 -> 10.00): one digit fewer
    if decimals and len(s.replace(".", "").lstrip("-0")) > digits:
        s = "%.*f" % (decimals - 1, x)
    return s


def _group(s):
    """Thousands separators for LaTeX: 10000 -> 10{,}000."""
    whole, _, frac = s.partition(".")
    if len(whole) > 4:
        whole = re.sub(r"(\d)(?=(\d{3})+$)", r"\1{,}", whole)
    return whole + ("." + frac if frac else "")


def fmt_time(ns):
    for unit, scale, tex in (("s", 1e-9, "s"), ("ms", 1e-6, "ms"),
                             ("us", 1e-3, r"\textmu{}s"), ("ns", 1.0, "ns")):
        if ns * scale >= 1 or unit == "ns":
            v = ns * scale
            num = _sig(v, 3) if v < 1000 else "%.0f" % v
            if unit == "ns" and v >= 100:
                num = "%.0f" % v
            return "%s\\,%s" % (_group(num), tex), num, scale
    raise AssertionError


def fmt_ratio(x):
    num = "%.0f" % x if x >= 100 else _sig(x, 3)
    return "%s$\\times$" % num, num, 1.0


def fmt_time_us(us):
    """a time recorded in microseconds."""
    latex, num, scale = fmt_time(us * 1e3)
    return latex, num, scale * 1e3


def fmt_ratio2(x):
    """a ratio near 1 to two decimals (1.08, 0.89)."""
    num = "%.2f" % x
    return "%s$\\times$" % num, num, 1.0


def fmt_int(x):
    num = "%.0f" % x
    return _group(num), num, 1.0


def fmt_bytes(x):
    num = "%.1f" % x if x < 100 else "%.0f" % x
    return "%s\\,B" % num, num, 1.0


def fmt_pct(x):
    """a ratio printed as a percentage change (1.0049 -> 0.5\\%): the
    printed number is (x + offset) * scale, offset -1."""
    num = "%.1f" % ((x - 1) * 100)
    return "%s\\%%" % num, num, 100.0, -1.0


def fmt_real(x):
    """a count that may be a median of fractional per-iteration counts."""
    if abs(x - round(x)) < 1e-9:
        num = "%.0f" % x
    else:
        num = "%.1f" % x if x < 1000 else "%.0f" % x
    return _group(num), num, 1.0


def fmt_plain(x):
    """a goal or a setting as written in the results (2.5, 500, 0.98)."""
    num = "%g" % x
    return _group(num), num, 1.0


def fmt_gib(x):
    num = "%.0f" % (x / 2 ** 30)
    return "%s\\,GiB" % num, num, 1 / 2 ** 30


def fmt_time_s(s):
    """a time recorded in seconds."""
    latex, num, scale = fmt_time(s * 1e9)
    return latex, num, scale * 1e9


def fmt_mib(x):
    v = x / 2 ** 20
    num = "%.0f" % v if v >= 10 else "%.1f" % v
    return "%s\\,MiB" % _group(num), num, 1 / 2 ** 20


def fmt_mins(s):
    num = "%.0f" % (s / 60)
    return "%s\\,min" % num, num, 1 / 60


def fmt_secs(s):
    num = "%.0f" % s
    return "%s\\,s" % num, num, 1.0


def fmt_share(x):
    """a fraction printed as a percentage (0.67 -> 67\\%)."""
    num = "%.0f" % (x * 100)
    return "%s\\%%" % num, num, 100.0


FORMATS = {"share": fmt_share, "time": fmt_time, "time_us": fmt_time_us, "ratio": fmt_ratio,
           "ratio2": fmt_ratio2, "int": fmt_int, "real": fmt_real, "plain": fmt_plain,
           "bytes": fmt_bytes, "pct": fmt_pct, "gib": fmt_gib, "mins": fmt_mins,
           "secs": fmt_secs, "time_s": fmt_time_s, "mib": fmt_mib}


def tex_escape(s):
    return (str(s).replace("\\", r"\textbackslash{}").replace("&", r"\&")
            .replace("%", r"\%").replace("$", r"\$").replace("#", r"\#")
            .replace("_", r"\_").replace("{", r"\{").replace("}", r"\}")
            .replace("~", r"\textasciitilde{}").replace("^", r"\^{}")
            .replace("<", r"\textless{}").replace(">", r"\textgreater{}"))


# -- the registry ---------------------------------------------------------------------------

class Numbers:
    """Result files, read once, and every number printed from them."""

    def __init__(self, results_dir):
        self.dir = results_dir
        self._files = {}
        self.entries = {}        # id -> record (sources.json)
        self.macros = []         # (name, latex) in order
        self._labels = {}        # (file, target index) -> label, from target()
        self.group = None        # the optional group being defined (OPTIONAL)
        self.flags = {}          # optional group -> present (True) or why not (str)

    def exists(self, name):
        return os.path.exists(os.path.join(self.dir, name + ".json"))

    def data(self, name):
        if name not in self._files:
            with open(os.path.join(self.dir, name + ".json")) as f:
                self._files[name] = json.load(f)
        return self._files[name]

    def read(self, src):
        return lookup(self.data(src[0]), src[1:])

    def target(self, name, label, *key):
        """(name, "targets", i) + key for the target of results/name.json
        labelled `label`; the label is recorded with the number, and the
        test checks it is still the label at that position."""
        i = target_index(self.data(name), label)
        self._labels[(name, i)] = label
        return (name, "targets", i) + key

    def number(self, ident, fmt, op, *srcs):
        """Compute OPS[op] over the values at srcs, format it, record it;
        returns the LaTeX text."""
        value = OPS[op]([self.read(s) for s in srcs])
        latex, num, scale, *offset = FORMATS[fmt](value)
        self._record(ident, latex, {"op": op, "value": value, "number": num,
                                    "scale": scale, "offset": offset[0] if offset else 0.0,
                                    "format": fmt}, srcs)
        return latex

    def text(self, ident, src, transform=None):
        """A string from a result header (CPU model, a version); transform
        is one of TEXT_TRANSFORMS, applied before printing."""
        value = self.read(src)
        shown = TEXT_TRANSFORMS[transform](value) if transform else value
        latex = tex_escape(shown)
        self._record(ident, latex, {"op": "text", "value": value,
                                    "transform": transform, "shown": shown}, [src])
        return latex

    def _record(self, ident, latex, rec, srcs):
        if ident in self.entries:
            raise ValueError("number %s defined twice" % ident)
        rec["latex"] = latex
        if self.group:
            rec["group"] = self.group
        rec["sources"] = [{"file": "results/%s.json" % s[0], "key": list(s[1:])}
                          for s in srcs]
        for src, s in zip(rec["sources"], srcs):
            if len(s) > 2 and s[1] == "targets" and (s[0], s[2]) in self._labels:
                src["label"] = self._labels[(s[0], s[2])]
        self.entries[ident] = rec

    def macro(self, name, fmt_or_kind, *args):
        """\\name: a number (fmt, op, *srcs) or, with fmt_or_kind "text",
        a string (src[, transform])."""
        if not re.fullmatch(r"[A-Za-z]+", name):
            raise ValueError("macro names are letters only: %r" % name)
        if fmt_or_kind == "text":
            latex = self.text(name, *args)
        else:
            latex = self.number(name, fmt_or_kind, *args)
        self.macros.append((name, latex))
        return latex


def missed_targets(targets):
    """The targets of a summary that were not met, as a list for the prose:
    each one's label, and the issue it comes from where it has one."""
    return "; ".join(t["label"] + (" (issue %s)" % t["issue"] if t.get("issue") else "")
                     for t in targets if t.get("met") is False) or "none"


TEXT_TRANSFORMS = {
    # a target's "met" (true/false) as the verb of a sentence
    "meets": lambda met: "meets" if met else "misses",
    "missed": missed_targets,
    "date": lambda s: s[:10],
    # pynvm_suite.json's "pynvm v0.3.1 <commit> from <where>": the version
    "tests_version": lambda s: s.split()[1].lstrip("v"),
    "commit": lambda s: s[:7],
    # latency.py's tags of one sample, in words
    "tags": lambda t: ", ".join({"g": "a gc", "f": "a page fault", "s": "an fsync",
                                 "p": "a preemption", "w": "a wait"}[c] for c in t)
    or "none of the events we tag",
}


# -- the paper's numbers ------------------------------------------------------------------
# Names say what is measured; the prose (paper/*.tex) uses only these.

OPS_RESULT = ("ops_vs_peers", "results")
SYSTEM_NAMES = {"pmemobj": "pmemobj", "pynvm": "pynvm", "zodb": "ZODB",
                "plain": "Python"}


def op_src(workload, system, key="median_ns"):
    return OPS_RESULT + (workload, "systems", system, key)


def camel(s):
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z]+", s) if w)


def define_environment(n):
    ops = "ops_vs_peers"
    n.macro("CpuModel", "text", (ops, "machine", "cpu_model"))
    n.macro("Cores", "int", "value", (ops, "machine", "cores"))
    n.macro("Memory", "gib", "value", (ops, "machine", "memory_bytes"))
    n.macro("Kernel", "text", (ops, "machine", "kernel"))
    n.macro("OsName", "text", (ops, "machine", "os"))
    n.macro("PmdkVersion", "text", (ops, "versions", "pmdk (pkg-config libpmemobj)"))
    n.macro("PythonVersion", "text", (ops, "versions", "python"))
    n.macro("PynvmVersion", "text", (ops, "versions", "pynvm"))
    n.macro("ZodbVersion", "text", (ops, "versions", "ZODB"))
    n.macro("NumpyVersion", "text", (ops, "versions", "numpy"))
    n.macro("MatplotlibVersion", "text", (ops, "versions", "matplotlib"))
    n.macro("GbenchVersion", "text", (ops, "versions", "google-benchmark (deb)"))
    n.macro("CompilerVersion", "text", (ops, "versions", "compiler"))
    n.macro("PmemobjVersion", "text", (ops, "versions", "pmemobj"))
    n.macro("RunDate", "text", ("summary", "date"), "date")
    n.macro("RunCommit", "text", ("summary", "git", "commit"), "commit")
    n.macro("PmemDir", "text", (ops, "mode", "dir"))
    n.macro("PmemFs", "text", (ops, "mode", "filesystem"))
    n.macro("PmemForce", "text", (ops, "mode", "PMEM_IS_PMEM_FORCE"))
    n.macro("FileDir", "text", ("modes", "modes", "file", "dir"))
    n.macro("FileFs", "text", ("modes", "modes", "file", "filesystem"))
    n.macro("CpuMhz", "int", "value", ("c_bench", "context", "mhz_per_cpu"))
    n.macro("BenchTotal", "mins", "value", ("summary", "total_s"))
    n.macro("BenchTotalSecs", "secs", "value", ("summary", "total_s"))
    n.macro("TargetsMet", "int", "count_met", ("summary", "targets"))
    n.macro("TargetsTotal", "int", "count_goals", ("summary", "targets"))
    n.macro("MissedCount", "int", "count_missed", ("summary", "targets"))
    n.macro("MissedTargets", "text", ("summary", "targets"), "missed")
    n.macro("LoadAvg", "plain", "value", (ops, "machine", "loadavg", 0))
    for name, key in (("OpsVsPeers", "ops_vs_peers"), ("TxWriteSet", "tx_write_set"),
                      ("AllocSize", "alloc_size"), ("GcRecovery", "gc_recovery"),
                      ("Footprint", "footprint"), ("Modes", "modes"),
                      ("CBench", "c_bench"), ("Arrays", "arrays"),
                      ("FlushCounts", "flush_counts")):
        n.macro("Dur" + name, "secs", "value", ("summary", "durations_s", key))


def define_ops(n):
    ops = "ops_vs_peers"
    floor = (ops, "floor", "pooled", "RawTx16", "median")
    n.macro("Rounds", "int", "value", op_src("dict_set_int", "pmemobj", "rounds"))
    n.macro("FloorRepetitions", "int", "value", (ops, "floor", "pooled", "RawTx16", "n"))
    n.macro("FloorRuns", "int", "len", (ops, "floor", "runs"))
    n.macro("RawTxSixteen", "time", "value", floor)
    n.macro("RawTxEmpty", "time", "value", (ops, "floor", "pooled", "RawTxEmpty", "median"))
    n.macro("CoreTxOneSlot", "time", "value", (ops, "floor", "pooled", "TxSlots/1", "median"))
    n.macro("CoreTxEmpty", "time", "value", (ops, "floor", "pooled", "TxEmpty", "median"))
    for w in ("dict_set_int", "list_append_int", "attr_set_int", "dict_set_int_in_tx",
              "list_append_in_tx", "dict_get_int", "dict_get_str", "list_index",
              "list_iterate", "attr_get", "empty_tx", "shootout_add",
              "shootout_update", "shootout_read"):
        base = camel(w)
        for s in ("pmemobj", "pynvm", "zodb", "plain"):
            n.macro(base + camel(s), "time", "value", op_src(w, s))
        for s in ("pynvm", "zodb", "plain"):
            n.macro(base + camel(s) + "Over", "ratio", "ratio", op_src(w, s),
                    op_src(w, "pmemobj"))
        n.macro(base + "OverPlain", "ratio", "ratio", op_src(w, "pmemobj"),
                op_src(w, "plain"))
    for name, workloads in (("Autocommit", ("dict_set_int", "list_append_int", "attr_set_int")),
                            ("Read", ("dict_get_int", "list_index", "attr_get"))):
        for peer in ("pynvm", "zodb"):
            srcs = [s for w in workloads for s in (op_src(w, peer), op_src(w, "pmemobj"))]
            n.macro(name + camel(peer) + "OverMin", "ratio", "min_ratio", *srcs)
            n.macro(name + camel(peer) + "OverMax", "ratio", "max_ratio", *srcs)
        srcs = [s for w in workloads for s in (op_src(w, "pmemobj"), op_src(w, "plain"))]
        n.macro(name + "OverPlainMax", "ratio", "max_ratio", *srcs)
    for w in ("dict_set_int", "list_append_int", "attr_set_int"):
        n.macro(camel(w) + "OverFloor", "ratio", "ratio", op_src(w, "pmemobj"), floor)
    n.macro("EmptyTxOverRaw", "ratio", "ratio", op_src("empty_tx", "pmemobj"),
            (ops, "floor", "pooled", "RawTxEmpty", "median"))
    n.macro("DictSetIntN", "int", "value", OPS_RESULT + ("dict_set_int", "n"))
    for w, word in (("gc", "Gc"), ("open_clean", "Open")):
        for s in ("pmemobj", "pynvm", "zodb", "plain"):
            if n.read(OPS_RESULT + (w, "systems", s)).get("median_ns") is not None:
                n.macro("Whole" + word + camel(s), "time", "value", op_src(w, s))


def define_tx(n):
    tx = "tx_write_set"
    n.macro("TxRounds", "int", "len",
            (tx, "python", "pmemobj list", "1", "samples_ns_per_tx"))
    ks = [(tx, "ks", i) for i in range(len(n.data(tx)["ks"]))]
    n.macro("TxMinK", "int", "min", *ks)
    n.macro("TxMaxK", "int", "max", *ks)
    for k, word in (("1", "One"), ("4096", "Max")):
        for s, sw in (("pmemobj list", "List"), ("pmemobj dict", "Dict"),
                      ("pynvm list", "Pynvm"), ("zodb list", "Zodb"),
                      ("plain list", "Plain")):
            n.macro("TxPerWrite" + sw + word, "time", "value",
                    (tx, "python", s, k, "median_ns_per_write"))
    n.macro("TxZodbOverListMax", "ratio", "ratio",
            (tx, "python", "zodb list", "4096", "median_ns_per_write"),
            (tx, "python", "pmemobj list", "4096", "median_ns_per_write"))
    n.macro("TxPynvmOverListMax", "ratio", "ratio",
            (tx, "python", "pynvm list", "4096", "median_ns_per_write"),
            (tx, "python", "pmemobj list", "4096", "median_ns_per_write"))
    n.macro("TxZodbOverListOne", "ratio", "ratio",
            (tx, "python", "zodb list", "1", "median_ns_per_write"),
            (tx, "python", "pmemobj list", "1", "median_ns_per_write"))
    c = (tx, "c", "benchmarks")
    n.macro("CTxSlotsFiveTwelve", "time", "value", c + ("TxSlots/512", "median_ns"))
    n.macro("CTxRangeFiveTwelve", "time", "value", c + ("TxSlotsRange/512", "median_ns"))
    n.macro("CTxBigK", "int", "value", c + ("TxSlots/512", "counters", "snapshots"))
    n.macro("CTxSlotsOverRange", "ratio", "ratio", c + ("TxSlots/512", "median_ns"),
            c + ("TxSlotsRange/512", "median_ns"))


def define_alloc(n):
    a = "alloc_size"
    p = (a, "python")
    n.macro("AllocAppendBytesSmall", "time", "value",
            p + ("pmemobj append bytes", "16", "median_ns"))
    n.macro("AllocAppendBytesLarge", "time", "value",
            p + ("pmemobj append bytes", "1048576", "median_ns"))
    n.macro("AllocAppendBytesFourK", "time", "value",
            p + ("pmemobj append bytes", "4096", "median_ns"))
    n.macro("AllocAppendBytesKilo", "time", "value",
            p + ("pmemobj append bytes", "1024", "median_ns"))
    n.macro("AllocDelBytesSmall", "time", "value", p + ("pmemobj del bytes", "16", "median_ns"))
    n.macro("AllocDelBytesLarge", "time", "value",
            p + ("pmemobj del bytes", "1048576", "median_ns"))
    n.macro("AllocAppendInt", "time", "value", p + ("pmemobj append int", "all", "median_ns"))
    n.macro("AllocBytesOverInt", "ratio", "ratio",
            p + ("pmemobj append bytes", "16", "median_ns"),
            p + ("pmemobj append int", "all", "median_ns"))
    n.macro("AllocPynvmStrSmall", "time", "value", p + ("pynvm append str", "16", "median_ns"))
    n.macro("AllocPynvmOverStrSmall", "ratio", "ratio",
            p + ("pynvm append str", "16", "median_ns"),
            p + ("pmemobj append str", "16", "median_ns"))
    n.macro("AllocPynvmOverStrLarge", "ratio2", "ratio",
            p + ("pynvm append str", "1048576", "median_ns"),
            p + ("pmemobj append str", "1048576", "median_ns"))
    c = (a, "c", "benchmarks")
    n.macro("CAllocSmall", "time", "value", c + ("Alloc/32", "median_ns"))
    n.macro("CAllocLarge", "time", "value", c + ("Alloc/1048576", "median_ns"))
    n.macro("CFreeSmall", "time", "value", c + ("Free/32", "median_ns"))
    n.macro("CAllocFreeSmall", "time", "value", c + ("AllocFree/32", "median_ns"))
    n.macro("RawAllocFreeSmall", "time", "value", c + ("RawAllocFree32", "median_ns"))
    n.macro("CAllocFreeOverRaw", "ratio2", "ratio", c + ("AllocFree/32", "median_ns"),
            c + ("RawAllocFree32", "median_ns"))


def define_gc(n):
    g = "gc_recovery"
    # The str heap must consist of heap objects (strs longer than a slot
    # holds); a run of gc_recovery.py before 78a5039 stored 10-character
    # strs inline, leaving one live object and a meaningless per-object time.
    for size, e in n.data(g)["python"]["str"].items():
        if e["live_objects"] < e["n"] / 2:
            print("generate: warning: gc_recovery str heap of %s reports %d live objects:"
                  " results/gc_recovery.json predates 20-character strs; rerun the"
                  " experiment" % (size, e["live_objects"]), file=sys.stderr)
    c = (g, "c", "benchmarks")
    n.macro("GcRepetitions", "int", "value", (g, "python", "str", "1000000", "gc_ns", "n"))
    n.macro("GcCoreObjects", "int", "value", c + ("Gc/1000000", "counters", "objects"))
    n.macro("GcCorePerObj", "time", "ratio", c + ("Gc/1000000", "median_ns"),
            c + ("Gc/1000000", "counters", "objects"))
    n.macro("GcCoreSmallPerObj", "time", "ratio", c + ("Gc/1000", "median_ns"),
            c + ("Gc/1000", "counters", "objects"))
    n.macro("GcPyStrPerObj", "time", "value",
            (g, "python", "str", "1000000", "gc_ns_per_live_object"))
    n.macro("GcPyItemPerObj", "time", "value",
            (g, "python", "item", "100000", "gc_ns_per_live_object"))
    n.macro("GcPyItemObjects", "int", "value", (g, "python", "item", "100000", "n"))
    n.macro("GcPyMinPerObj", "time", "min",
            *[(g, "python", k, s, "gc_ns_per_live_object")
              for k, sizes in (("str", ("1000", "10000", "100000", "1000000")),
                               ("item", ("1000", "10000", "100000"))) for s in sizes])
    n.macro("GcPyMaxPerObj", "time", "max",
            *[(g, "python", k, s, "gc_ns_per_live_object")
              for k, sizes in (("str", ("1000", "10000", "100000", "1000000")),
                               ("item", ("1000", "10000", "100000"))) for s in sizes])
    gc_core = n.target(g, "gc per live object, C core, heap of 1000000")
    n.macro("GcTarget", "time", "value", gc_core + ("goal",))
    n.macro("GcCoreMet", "text", gc_core + ("met",), "meets")
    n.macro("GcPyStrMet", "text", n.target(
        g, "gc per live object, Python pool.gc(), str heap of 1000000", "met"), "meets")
    n.macro("GcPyItemMet", "text", n.target(
        g, "gc per live object, Python pool.gc(), 100000 3-attribute objects", "met"), "meets")
    n.macro("OpenCleanSmall", "time", "value", c + ("OpenClean/1000/manual_time", "median_ns"))
    n.macro("OpenCleanLarge", "time", "value",
            c + ("OpenClean/1000000/manual_time", "median_ns"))
    for objs, word in (("1000", "Small"), ("1000000", "Large")):
        n.macro("Open%sObjects" % word, "int", "value",
                c + ("OpenClean/%s/manual_time" % objs, "counters", "objects"))
    n.macro("OpenCleanGrowth", "ratio2", "ratio",
            c + ("OpenClean/1000000/manual_time", "median_ns"),
            c + ("OpenClean/1000/manual_time", "median_ns"))
    n.macro("OpenCleanPyGrowth", "ratio2", "value",
            n.target(g, "clean open, Python: time at 1000000 / at 1000 objects", "measured"))
    n.macro("OpenCleanPyLarge", "time", "value",
            (g, "python", "str", "1000000", "open_clean_ns", "median"))
    n.macro("RecoverLarge", "time", "value", c + ("Recover/1000000/manual_time", "median_ns"))
    n.macro("RecoverSmall", "time", "value", c + ("Recover/1000/manual_time", "median_ns"))
    n.macro("RecoverPyLarge", "time", "value",
            (g, "python", "str", "1000000", "recovery_ns", "median"))
    cb = c + ("Recover/1000000/manual_time", "counters")     # the same run as RecoverLarge
    n.macro("RecoverGcPart", "time_us", "value", cb + ("gc_us",))
    n.macro("RecoverOpenPart", "time_us", "value", cb + ("open_us",))
    cb = ("c_bench", "benchmarks")
    for objs, word in (("1000", "Small"), ("1000000", "Large")):
        n.macro("Preflight" + word, "ratio2", "ratio",
                cb + ("OpenClean/%s/manual_time" % objs, "median_ns"),
                cb + ("OpenNoPreflight/%s/manual_time" % objs, "median_ns"))
    pre = [n.target("c_bench", "open with the preflight check / without, %s objects" % objs)
           for objs in ("1000", "10000", "100000", "1000000")]
    n.macro("PreflightMin", "ratio2", "min", *[t + ("measured",) for t in pre])
    n.macro("PreflightMax", "ratio2", "max", *[t + ("measured",) for t in pre])
    n.macro("PreflightTarget", "ratio2", "value", pre[0] + ("goal",))
    n.macro("CoreTxOverRaw", "ratio2", "value",
            n.target("c_bench", "C core 1-slot tx / raw libpmemobj 16-byte tx", "measured"))
    n.macro("CoreEmptyOverRaw", "ratio2", "value",
            n.target("c_bench", "C core empty tx / raw libpmemobj empty tx", "measured"))


def define_footprint(n):
    f = "footprint"
    rows = {r["type"]: i for i, r in enumerate(n.data(f)["rows"])}
    r = lambda t, *k: (f, "rows", rows[t]) + k  # noqa: E731
    n.macro("FootIntPmemobj", "bytes", "value", r("int", "pmemobj", "bytes_per_object"))
    n.macro("FootIntPynvm", "bytes", "value", r("int", "pynvm", "bytes_per_object"))
    n.macro("FootIntPickle", "bytes", "value", r("int", "pickle"))
    n.macro("FootIntRatio", "ratio", "ratio", r("int", "pynvm", "bytes_per_object"),
            r("int", "pmemobj", "bytes_per_object"))
    n.macro("FootIntTarget", "bytes", "value",
            n.target(f, "pool bytes per int stored in a list, pmemobj", "goal"))
    n.macro("FootStrPmemobj", "bytes", "value", r("str, 8 chars", "pmemobj", "bytes_per_object"))
    n.macro("FootStrLong", "bytes", "value", r("str, 100 chars", "pmemobj", "bytes_per_object"))
    n.macro("FootObjPmemobj", "bytes", "value",
            r("PersistentObject, 3 attributes", "pmemobj", "bytes_per_object"))
    n.macro("FootObjPynvm", "bytes", "value",
            r("PersistentObject, 3 attributes", "pynvm", "bytes_per_object"))
    n.macro("FootObjPickle", "bytes", "value", r("PersistentObject, 3 attributes", "pickle"))
    n.macro("FootObjOverPickle", "ratio", "ratio",
            r("PersistentObject, 3 attributes", "pmemobj", "bytes_per_object"),
            r("PersistentObject, 3 attributes", "pickle"))
    n.macro("FootDictEmpty", "bytes", "value",
            r("PersistentDict, empty", "pmemobj", "bytes_per_object"))
    n.macro("FootListEmpty", "bytes", "value",
            r("PersistentList, empty", "pmemobj", "bytes_per_object"))
    n.macro("FootN", "int", "value", r("int", "n"))
    # The least any layout that overwrites items in place needs (footprint.LEAST)
    ten, empty = "PersistentList of 10 ints", "PersistentList, empty"
    n.macro("FootListTenLeast", "bytes", "value", r(ten, "least_bytes"))
    n.macro("FootListTenPickle", "bytes", "value", r(ten, "pickle"))
    n.macro("FootListTenLeastOverPickle", "ratio2", "ratio", r(ten, "least_bytes"),
            r(ten, "pickle"))
    n.macro("FootListEmptyLeast", "bytes", "value", r(empty, "least_bytes"))
    n.macro("FootListEmptyPickle", "bytes", "value", r(empty, "pickle"))
    n.macro("FootPickleGoal", "ratio2", "value",
            n.target(f, "pool bytes / pickle bytes: " + ten, "goal"))


def define_flushes(n):
    b = ("c_bench", "benchmarks")
    for name, bench in (("TxOne", "TxSlots/1"), ("TxEmpty", "TxEmpty"),
                        ("RawTxEmpty", "RawTxEmpty"),
                        ("ListAppend", "ListAppend"), ("DictInsert", "DictInsertInt"),
                        ("RangeSixtyFour", "TxSlotsRange/64"), ("SlotsSixtyFour", "TxSlots/64"),
                        ("RawTx", "RawTx16")):
        for k in ("flushes", "drains"):
            n.macro("Fl" + name + camel(k), "real", "value", b + (bench, "counters", k))
    n.macro("FlSixtyFourK", "int", "value", b + ("TxSlots/64", "counters", "snapshots"))
    n.macro("FlTxOneBytes", "int", "value", b + ("TxSlots/1", "counters", "flush_bytes"))


# results/flush_counts.json "per_operation": flushes and fences of one
# autocommitted Python operation (or one transaction), by its label there.
PER_OPERATION = [
    ("PoEmptyTx", "empty transaction"),
    ("PoScalar", "list[i] = int (over an int)"),
    ("PoScalarFloat", "list[i] = float (over a float)"),
    ("PoRetag", "list[i] = int or float (over the other)"),
    ("PoShortStr", "list[i] = short str"),
    ("PoLongStr", "list[i] = long str"),
    ("PoAppend", "list.append(int)"),
    ("PoPop", "list.pop()"),
    ("PoDictOld", "dict[k] = int (existing key)"),
    ("PoDictNew", "dict[k] = int (new key)"),
    ("PoDictStr", "dict[short str] = short str (new)"),
    ("PoDictDel", "del dict[k]"),
    ("PoSetattr", "setattr (existing, int)"),
    ("PoSetAdd", "set.add(int)"),
    ("PoRoot", "pool.root = int"),
    ("PoTxOne", "transaction of 1 list write"),
    ("PoTxTen", "transaction of 10 list writes"),
    ("PoArray", "array[i] = float"),
]


def define_per_operation(n):
    p = ("flush_counts", "per_operation")
    for name, op in PER_OPERATION:
        for k in ("flushes", "fences"):
            n.macro(name + camel(k), "int", "value", p + (op, k))


def define_modes(n):
    m = ("modes", "modes")
    for bench, word in (("TxSlots/1", "Tx"), ("RawTx16", "Raw")):
        n.macro("Mode" + word + "Pmem", "time", "value",
                m + ("pmem", "benchmarks", bench, "median_ns"))
        n.macro("Mode" + word + "Msync", "time", "value",
                m + ("tmpfs-msync", "benchmarks", bench, "median_ns"))
        n.macro("Mode" + word + "File", "time", "value",
                m + ("file", "benchmarks", bench, "median_ns"))
        n.macro("Mode" + word + "MsyncOver", "ratio", "ratio",
                m + ("tmpfs-msync", "benchmarks", bench, "median_ns"),
                m + ("pmem", "benchmarks", bench, "median_ns"))
        n.macro("Mode" + word + "FileOver", "ratio", "ratio",
                m + ("file", "benchmarks", bench, "median_ns"),
                m + ("pmem", "benchmarks", bench, "median_ns"))


def define_arrays(n):
    a = "arrays"
    n.macro("ArrN", "int", "value", (a, "n"))
    n.macro("ArrRounds", "int", "value", (a, "rounds"))
    for red in ("sum", "mean", "max", "std"):
        n.macro("Arr" + camel(red) + "Ratio", "ratio2", "value", (a, "reductions", red, "ratio"))
        n.macro("Arr" + camel(red) + "SmallPages", "ratio2", "value",
                (a, "reductions", red, "small_pages_ratio"))
        n.macro("Arr" + camel(red) + "Mapped", "ratio2", "value",
                (a, "reductions", red, "mapped_file_ratio"))
    n.macro("ArrSumPersistent", "time", "value", (a, "reductions", "sum", "persistent_ns"))
    n.macro("ArrSumMemory", "time", "value", (a, "reductions", "sum", "memory_ns"))
    n.macro("ArrReductionTarget", "ratio2", "value",
            n.target(a, "numpy.sum over 10,000,000 persistent float64 / in memory", "goal"))
    w = (a, "write_1mib")
    n.macro("ArrWrite", "time", "value", w + ("pmemobj_ns",))
    n.macro("ArrWriteFloor", "time", "value", w + ("floor_ns",))
    n.macro("ArrWriteRatio", "ratio", "ratio", w + ("pmemobj_ns",), w + ("floor_ns",))
    n.macro("ArrWriteTarget", "plain", "value", n.target(
        a, "1 MiB transactional range write / libpmem memcpy+persist of 1 MiB", "goal"))
    n.macro("ArrWriteMet", "text", n.target(
        a, "1 MiB transactional range write / libpmem memcpy+persist of 1 MiB", "met"),
        "meets")
    n.macro("ArrWriteZodb", "time", "value", w + ("zodb_ns",))
    n.macro("ArrWritePynvm", "time", "value", w + ("pynvm_ns",))
    n.macro("ArrZodbOver", "ratio", "ratio", w + ("zodb_ns",), w + ("pmemobj_ns",))
    n.macro("ArrPynvmOver", "ratio", "ratio", w + ("pynvm_ns",), w + ("pmemobj_ns",))
    n.macro("ArrWriteFirst", "time", "value", w + ("pmemobj_samples_ns", 0))


def define_failures(n):
    for k in ("trials", "crashes", "hangs", "internal", "detected", "silent", "ok"):
        n.macro("Fuzz" + camel(k), "int", "value", ("fuzz", k))
    n.macro("FuzzTime", "mins", "value", ("fuzz", "seconds"))
    n.macro("FuzzTimeout", "secs", "value", ("fuzz", "timeout_s"))
    n.macro("FuzzSeed", "int", "value", ("fuzz", "seed"))
    n.macro("FuzzCommit", "text", ("fuzz", "commit", "commit"), "commit")
    for k in ("images", "violations", "fences", "transactions"):
        n.macro("Pf" + camel(k), "int", "value", ("powerfail", k))
    for k, word in (("durable", "Durable"), ("evicted", "Evicted"),
                    ("in flight", "InFlight"), ("both", "Both")):
        n.macro("Pf" + word, "int", "value", ("powerfail", "by_kind", k, 0))
    n.macro("PfTime", "mins", "value", ("powerfail", "seconds"))
    n.macro("PfCommit", "text", ("powerfail", "commit", "commit"), "commit")
    so = "stats_overhead"
    n.macro("StatsCpu", "pct", "value", n.target(
        so, "pool counters: CPU time with / without (geometric mean)", "measured"))
    n.macro("StatsInstr", "pct", "value", n.target(
        so, "pool counters: instructions with / without (geometric mean)", "measured"))


# -- results that a run may lack ------------------------------------------------------------
# Each optional group's numbers are defined only where its data exists, and
# the prose puts them inside \ifHave<Group> ... \fi (numbers.tex sets the
# flag); tests/python/test_paper.py checks that every use is so guarded and
# that the paper builds its numbers with and without each group.

def present_new_ops(n):
    res = n.data("ops_vs_peers")["results"]
    lack = [w for w in NEW_OPS if w not in res]
    return True if not lack else "ops_vs_peers.json lacks %s" % ", ".join(lack)


def define_new_ops(n):
    for w in NEW_OPS:
        base = camel(w)
        n.macro(base + "Pmemobj", "time", "value", op_src(w, "pmemobj"))
        for s in ("pynvm", "zodb"):
            n.macro(base + camel(s) + "Over", "ratio", "ratio", op_src(w, s),
                    op_src(w, "pmemobj"))
        n.macro(base + "OverPlain", "ratio", "ratio", op_src(w, "pmemobj"),
                op_src(w, "plain"))
    over = [s for w in ("list_set_int", "list_set_float", "dict_overwrite_int")
            for s in (op_src(w, "pmemobj"),)]
    n.macro("OverwriteMin", "time", "min", *over)
    n.macro("OverwriteMax", "time", "max", *over)
    n.macro("ListSetIntOverFloor", "ratio", "ratio", op_src("list_set_int", "pmemobj"),
            ("ops_vs_peers", "floor", "pooled", "RawTx16", "median"))


SM_WORKLOADS = [("insert_autocommit", "InsertAuto", "insert, autocommit"),
                ("insert_in_tx", "InsertTx", "insert, one tx"),
                ("lookup", "Lookup", "lookup"),
                ("range_100", "Range", "range scan, 100 keys")]


# the sorted dict's operations whose flushes and fences the prose cites
SM_FLUSH_OPS = [("New", "sorteddict[int] = int (new key)"),
                ("Old", "sorteddict[int] = int (existing key)"),
                ("Del", "del sorteddict[k]"),
                ("TxHundred", "transaction of 100 sorteddict[int] = int (new keys)")]


def present_sorted_map(n):
    if not n.exists("sorted_map"):
        return "no results/sorted_map.json"
    med = n.data("sorted_map")["median_ns"]
    lack = [s for s in ("pmemobj", "zodb", "sortedcontainers") if s not in med["lookup"]]
    per_op = n.data("flush_counts")["per_operation"]
    lack += ["flush count of %r" % op for _, op in SM_FLUSH_OPS if op not in per_op]
    return True if not lack else "sorted_map.json lacks %s" % ", ".join(lack)


def sm_src(w, s):
    return ("sorted_map", "median_ns", w, s)


def define_sorted_map(n):
    sm = "sorted_map"
    n.macro("SmN", "int", "value", (sm, "n"))
    n.macro("SmNAuto", "int", "value", (sm, "n_autocommit"))
    n.macro("SmRounds", "int", "value", (sm, "rounds"))
    for w, word, label in SM_WORKLOADS:
        for s, sw in (("pmemobj", "Pmemobj"), ("zodb", "Zodb"), ("sortedcontainers", "Sorted")):
            n.macro("Sm" + word + sw, "time", "value", sm_src(w, s))
        n.macro("Sm" + word + "ZodbOver", "ratio", "ratio", sm_src(w, "zodb"),
                sm_src(w, "pmemobj"))
        n.macro("Sm" + word + "OverSorted", "ratio", "ratio", sm_src(w, "pmemobj"),
                sm_src(w, "sortedcontainers"))
        n.macro("Sm" + word + "Met", "text",
                n.target(sm, "%s: OOBTree / PersistentSortedDict" % label, "met"), "meets")
    n.macro("SmZodbGoal", "plain", "value",
            n.target(sm, "lookup: OOBTree / PersistentSortedDict", "goal"))
    lookup = n.target(sm, "lookup: PersistentSortedDict / SortedDict (in memory)")
    n.macro("SmSortedGoal", "plain", "value", lookup + ("goal",))
    n.macro("SmSortedMet", "text", lookup + ("met",), "meets")
    n.macro("SmZodbOverMin", "ratio", "min_ratio",
            *[x for w, _, _ in SM_WORKLOADS for x in (sm_src(w, "zodb"), sm_src(w, "pmemobj"))])
    n.macro("SmZodbOverMax", "ratio", "max_ratio",
            *[x for w, _, _ in SM_WORKLOADS for x in (sm_src(w, "zodb"), sm_src(w, "pmemobj"))])
    n.macro("SmTxOverAuto", "ratio", "ratio", sm_src("insert_autocommit", "pmemobj"),
            sm_src("insert_in_tx", "pmemobj"))
    n.macro("SmOverDictSet", "ratio", "ratio", sm_src("insert_autocommit", "pmemobj"),
            op_src("dict_set_int", "pmemobj"))
    p = ("flush_counts", "per_operation")
    for word, op in SM_FLUSH_OPS:
        for k in ("flushes", "fences"):
            n.macro("SmFl" + word + camel(k), "int", "value", p + (op, k))


LAT_WORKLOADS = [("dict_set", "Dict"), ("list_append", "List"), ("sorted_insert", "Sorted")]
LAT_KEYS = [("p50_ns", "Med"), ("p90_ns", "Ninety"), ("p99_ns", "NinetyNine"),
            ("p999_ns", "ThreeNines"), ("max_ns", "Max")]


def present_latency(n):
    if not n.exists("latency"):
        return "no results/latency.json"
    res = n.data("latency")["results"]
    lack = [w for w, _ in LAT_WORKLOADS if "pmemobj" not in res.get(w, {})]
    lack += [s for s in ("zodb", "plain") if s not in res.get("dict_set", {})]
    return True if not lack else "latency.json lacks %s" % ", ".join(lack)


def lat_src(w, s, *key):
    return ("latency", "results", w, s) + key


def define_latency(n):
    la = "latency"
    res = n.data(la)["results"]
    n.macro("LatRounds", "int", "value", (la, "rounds"))
    n.macro("LatSeconds", "secs", "value", (la, "seconds"))
    n.macro("LatN", "int", "value", lat_src("dict_set", "pmemobj", "n"))
    n.macro("LatNSlow", "int", "value", lat_src("dict_set", "zodb", "n"))
    for w, ww in LAT_WORKLOADS:
        for s in ("pmemobj", "pynvm", "zodb", "plain"):
            if s not in res[w]:
                continue
            for k, kw in LAT_KEYS:
                n.macro("Lat" + ww + camel(s) + kw, "time", "value", lat_src(w, s, k))
        n.macro("Lat" + ww + "TailRatio", "ratio", "ratio", lat_src(w, "pmemobj", "p99_ns"),
                lat_src(w, "pmemobj", "p50_ns"))
        n.macro("Lat" + ww + "FaultShare", "share", "value",
                lat_src(w, "pmemobj", "fault", "tail_share"))
        n.macro("Lat" + ww + "PreemptShare", "share", "value",
                lat_src(w, "pmemobj", "preempt", "tail_share"))
        n.macro("Lat" + ww + "NoneShare", "share", "value",
                lat_src(w, "pmemobj", "tail_untagged_share"))
        n.macro("Lat" + ww + "UntaggedNinetyNine", "time", "value",
                lat_src(w, "pmemobj", "untagged", "p99_ns"))
        n.macro("Lat" + ww + "MaxTags", "text", lat_src(w, "pmemobj", "max_tags"), "tags")
        if "zodb" in res[w]:
            n.macro("Lat" + ww + "ZodbOverTail", "ratio", "ratio", lat_src(w, "zodb", "p99_ns"),
                    lat_src(w, "pmemobj", "p99_ns"))
            for tag in ("gc", "preempt", "fault"):
                n.macro("Lat" + ww + "Zodb" + camel(tag) + "Share", "share", "value",
                        lat_src(w, "zodb", tag, "tail_share"))
    n.macro("LatZodbGcMedian", "time", "value", lat_src("dict_set", "zodb", "gc", "median_ns"))
    n.macro("LatZodbGcSamples", "int", "value", lat_src("dict_set", "zodb", "gc", "samples"))
    n.macro("LatDictFaultMedian", "time", "value",
            lat_src("dict_set", "pmemobj", "fault", "median_ns"))
    n.macro("LatDictFaultSamples", "int", "value",
            lat_src("dict_set", "pmemobj", "fault", "samples"))
    n.macro("LatPlainFaultShare", "share", "value",
            lat_src("dict_set", "plain", "fault", "tail_share"))
    n.macro("LatLoad", "plain", "value", (la, "machine", "loadavg", 0))
    n.macro("LatFsyncPerCall", "time", "ratio", (la, "fsync", "ns"), (la, "fsync", "calls"))
    n.macro("LatFsyncCalls", "int", "value", (la, "fsync", "calls"))
    if "pynvm" in res["dict_set"]:
        n.macro("LatDictPynvmOverTail", "ratio", "ratio", lat_src("dict_set", "pynvm", "p99_ns"),
                lat_src("dict_set", "pmemobj", "p99_ns"))


def present_crash(n):
    return True if n.exists("crash") else "no results/crash.json"


def define_crash(n):
    for k in ("runs", "kills", "violations", "mid_transaction"):
        n.macro("Crash" + camel(k), "int", "value", ("crash", k))
    n.macro("CrashSeed", "int", "value", ("crash", "seed"))
    n.macro("CrashTime", "mins", "value", ("crash", "seconds"))
    n.macro("CrashTimeout", "secs", "value", ("crash", "timeout_s"))
    n.macro("CrashCommit", "text", ("crash", "commit", "commit"), "commit")


def present_pynvm_suite(n):
    if not n.exists("pynvm_suite"):
        return "no results/pynvm_suite.json (scripts/pynvm_suite.sh)"
    d = n.data("pynvm_suite")
    if d.get("passed") is not True or set(d.get("outcomes", {})) - {"pass", "skip"}:
        # the prose says the suite passes: a run with failures or errors
        # is left out rather than described as a pass
        return "pynvm_suite.json: not passed (%s)" % d.get("outcomes")
    return True


def define_pynvm_suite(n):
    s = "pynvm_suite"
    n.macro("PynvmSuitePass", "int", "value", (s, "outcomes", "pass"))
    n.macro("PynvmSuiteSkip", "int", "value", (s, "outcomes", "skip"))
    n.macro("PynvmSuiteVersion", "text", (s, "tests_from"), "tests_version")
    n.macro("PynvmSuiteCommit", "text", (s, "git", "commit"), "commit")
    n.macro("PynvmSuiteDate", "text", (s, "date"), "date")


def present_growth(n):
    # footprint.py's growth run (growable pools): {"n", "grow_s", "fixed_s",
    # "grow_bytes", "fixed_bytes", "ratio"}, or {"error": ...}, or absent
    # in results from before growable pools
    g = n.data("footprint").get("growth")
    if not isinstance(g, dict) or "ratio" not in g:
        return "footprint.json has no growth run%s" % (
            ": %s" % g["error"] if isinstance(g, dict) and "error" in g else "")
    return True


def define_growth(n):
    g = ("footprint", "growth")
    n.macro("GrowN", "int", "value", g + ("n",))
    n.macro("GrowOverFixed", "ratio2", "value", g + ("ratio",))
    n.macro("GrowTime", "time_s", "value", g + ("grow_s",))
    n.macro("GrowFixedTime", "time_s", "value", g + ("fixed_s",))
    n.macro("GrowDisk", "mib", "value", g + ("grow_bytes",))
    n.macro("GrowFixedDisk", "mib", "value", g + ("fixed_bytes",))


# Why each missed target is missed (issue #9): experiments/misses.py puts a
# "why" beside every entry of the summary's "missed" list, formed from the
# run's own numbers.  Results from before it lack them; the group is there
# only when every miss has one and the list is the summary's misses.
def present_miss_reasons(n):
    d = n.data("summary")
    missed = d.get("missed") or []
    labels = [t["label"] for t in d["targets"] if t.get("met") is False]
    if not labels:
        return "no missed targets"
    if [m.get("label") for m in missed] != labels:
        return "summary.json: its missed list is not its missed targets"
    lack = sum(1 for m in missed if not isinstance(m.get("why"), str))
    return True if not lack else "%d of %d missed targets have no reason" % (
        lack, len(missed))


def define_miss_reasons(n):
    # Its numbers are in tab-missed.tex.  No counts by kind: a reason's
    # opening words do not say its conclusion (a "floor: ..." may end "not a
    # floor; not done", a modes row's starts with its workload).
    pass


def table_missed(n):
    """Every missed target, how far off and why, as the summary has them."""
    lines = []
    for i, m in enumerate(n.data("summary")["missed"]):
        src = ("summary", "missed", i)
        ident = "tab-missed/%d/" % i
        label = n.text(ident + "label", src + ("label",))
        if m.get("issue"):
            label = n.text(ident + "issue", src + ("issue",)) + ": " + label
        # \raggedright redefines \\ inside the cell: end the row with
        # \tabularnewline
        lines.append(r"\raggedright %s & %s & \raggedright %s \tabularnewline" % (
            label, n.number(ident + "off", "ratio2", "value", src + ("off_by",)),
            n.text(ident + "why", src + ("why",))))
    # A run can miss many targets, each with a long reason, and a float
    # cannot break across pages: one table* per MISSED_PER_TABLE rows.
    out = []
    for k in range(0, len(lines), MISSED_PER_TABLE):
        first = k == 0
        out += [r"\begin{table*}[tp]",
                r"\caption{Every missed target of the final run and why%s.}" % (
                    "" if first else " (continued)"),
                r"\label{tab:missed}" if first else "",
                r"\scriptsize"]
        out += tabular(r"p{0.27\textwidth}rp{0.63\textwidth}", "missed target & off by & why",
                       lines[k:k + MISSED_PER_TABLE])
        out.append(r"\end{table*}")
    return out


MISSED_PER_TABLE = 12


def table_sorted_map(n):
    short = {"insert_autocommit": "insert, autocommit", "insert_in_tx": "insert, one tx",
             "lookup": "lookup", "range_100": "range scan"}
    lines = []
    for w, word, label in SM_WORKLOADS:
        t = "tab-sortedmap/%s/" % w
        cells = [short[w]]
        for s in ("pmemobj", "zodb", "sortedcontainers"):
            cells.append(n.number(t + s, "time", "value", sm_src(w, s)))
        cells.append(n.number(t + "ratio", "ratio", "ratio", sm_src(w, "zodb"),
                              sm_src(w, "pmemobj")))
        met = n.read(n.target("sorted_map", "%s: OOBTree / PersistentSortedDict" % label,
                              "met"))
        cells.append("met" if met else r"\textbf{missed}")
        lines.append(" & ".join(cells) + r" \\")
    return tabular("lrrrrl", r"workload & pmemobj & OOBTree & SortedDict & ratio & target",
                   lines)


LAT_TAIL = [("gc", "gc"), ("fault", "fault"), ("preempt", "preempted")]


def table_latency(n):
    """Percentiles per system, and what the samples above P99 carried."""
    res = n.data("latency")["results"]
    lines = []
    names = {"pmemobj": "pmemobj", "pynvm": "pynvm", "zodb": "ZODB", "plain": "Python"}
    cols = 1 + len(LAT_KEYS) + len(LAT_TAIL) + 1
    for w, _ in LAT_WORKLOADS:
        lines.append(r"\multicolumn{%d}{@{}l}{\texttt{%s}} \\" % (cols, tex_escape(
            {"dict_set": "d[i] = i", "list_append": "lst.append(i)",
             "sorted_insert": "sorted d[k] = k"}[w])))
        for s in ("pmemobj", "pynvm", "zodb", "plain"):
            if s not in res[w]:
                continue
            t = "tab-latency/%s/%s/" % (w, s)
            cells = [names[s] if not (s == "plain" and w == "sorted_insert") else "SortedDict"]
            for k, _ in LAT_KEYS:
                cells.append(n.number(t + k, "time", "value", lat_src(w, s, k)))
            for k, _ in LAT_TAIL:
                cells.append(n.number(t + "tail-" + k, "share", "value",
                                      lat_src(w, s, k, "tail_share")))
            cells.append(n.number(t + "tail-none", "share", "value",
                                  lat_src(w, s, "tail_untagged_share")))
            lines.append(" & ".join(cells) + r" \\")
    head = ("system & P50 & P90 & P99 & P99.9 & max & " +
            " & ".join(h for _, h in LAT_TAIL) + " & none")
    return tabular("l" + "r" * (cols - 1), head, lines)


OPTIONAL = {
    # group: (is it there, define its numbers, its tables)
    "NewOps": (present_new_ops, define_new_ops, {}),
    "SortedMap": (present_sorted_map, define_sorted_map,
                  {"tab-sortedmap.tex": table_sorted_map}),
    "Latency": (present_latency, define_latency, {"tab-latency.tex": table_latency}),
    "Crash": (present_crash, define_crash, {}),
    "PynvmSuite": (present_pynvm_suite, define_pynvm_suite, {}),
    "Growth": (present_growth, define_growth, {}),
    "MissReasons": (present_miss_reasons, define_miss_reasons,
                    {"tab-missed.tex": table_missed}),
}


# -- tables ----------------------------------------------------------------------------------

TABLE_WORKLOADS = [
    ("autocommit writes", ["dict_set_int", "list_append_int", "attr_set_int",
                           "list_set_int", "list_set_float", "list_set_bool", "list_set_none",
                           "dict_overwrite_int", "attr_set_new", "set_add_int"]),
    ("writes in one transaction", ["dict_set_int_in_tx", "dict_set_str_in_tx",
                                   "list_append_in_tx", "list_append_str_in_tx",
                                   "obj_new_in_tx"]),
    ("reads", ["dict_get_int", "dict_get_str", "dict_contains_int", "list_index",
               "list_iterate", "attr_get"]),
    ("transaction", ["empty_tx"]),
    ("shootout, per object", ["shootout_add", "shootout_update", "shootout_read"]),
    ("whole store", ["gc", "open_clean"]),
]
# The workloads of issue #9 (bench/python/workloads.py), which results
# from before it lack: the table and figure show those a run has, and the
# prose about them is inside \ifHaveNewOps.
NEW_OPS = ["list_set_int", "list_set_float", "list_set_bool", "list_set_none",
           "dict_overwrite_int", "attr_set_new", "set_add_int", "list_append_str_in_tx",
           "obj_new_in_tx", "dict_contains_int"]


def table_workloads(res):
    """TABLE_WORKLOADS without the workloads the results lack."""
    out = []
    for section, workloads in TABLE_WORKLOADS:
        have = [w for w in workloads if w in res]
        if have:
            out.append((section, have))
    return out


def tabular(spec, header, body):
    """A booktabs tabular of the given column spec: the header row (None
    for none), then the body lines."""
    head = [r"\begin{tabular}{@{}%s@{}}" % spec, r"\toprule"]
    if header is not None:
        head += [header + r" \\", r"\midrule"]
    return head + body + [r"\bottomrule", r"\end{tabular}"]


def table_ops(n):
    res = n.data("ops_vs_peers")["results"]
    lines = []
    for section, workloads in table_workloads(res):
        lines.append(r"\multicolumn{7}{@{}l}{\emph{%s}} \\" % section)
        for w in workloads:
            cells = [r"\texttt{%s}" % tex_escape(w), r"\texttt{%s}" % tex_escape(res[w]["op"])]
            t = "tab-ops/%s/" % w
            cells.append(n.number(t + "pmemobj", "time", "value", op_src(w, "pmemobj")))
            lo = n.number(t + "spread-lo", "pct", "ratio", op_src(w, "pmemobj", "min_ns"),
                          op_src(w, "pmemobj"))
            hi = n.number(t + "spread-hi", "pct", "ratio", op_src(w, "pmemobj", "max_ns"),
                          op_src(w, "pmemobj"))
            cells.append("%s/+%s" % (lo, hi))
            for s in ("pynvm", "zodb", "plain"):
                if res[w]["systems"].get(s, {}).get("median_ns") is None:
                    cells.append("--")      # a system without the operation
                else:
                    cells.append(n.number(t + s, "time", "value", op_src(w, s)))
            lines.append(" & ".join(cells) + r" \\")
    return tabular("llrrrrr",
                   "workload & operation & pmemobj & spread & pynvm & ZODB & Python", lines)


FLUSH_BENCHES = ["RawTxEmpty", "TxEmpty", "RawTx16", "TxSlots/1", "TxSlots/8", "TxSlots/64",
                 "TxSlotsRange/8", "TxSlotsRange/64", "TxSlotsRange/512", "RawAllocFree32",
                 "AllocFree/32", "ListAppend", "ListAppendStr", "DictInsertInt", "DictInsertStr"]


def table_flushes(n):
    lines = []
    b = ("c_bench", "benchmarks")
    for bench in FLUSH_BENCHES:
        t = "tab-flushes/%s/" % bench
        e = n.data("c_bench")["benchmarks"][bench]
        cells = [r"\texttt{%s}" % tex_escape(bench),
                 n.number(t + "time", "time", "value", b + (bench, "median_ns"))]
        for k in ("snapshot_bytes", "flushes", "flush_bytes", "drains"):
            if k in e["counters"]:
                cells.append(n.number(t + k, "real", "value", b + (bench, "counters", k)))
            else:
                cells.append("--")
        lines.append(" & ".join(cells) + r" \\")
    return tabular("lrrrrr", r"benchmark & time & snap.\ B & flushes & flushed B & fences", lines)


def table_per_operation(n):
    """Every row of flush_counts.json's per_operation, in the file's order."""
    lines = []
    p = ("flush_counts", "per_operation")
    for op in n.data("flush_counts")["per_operation"]:
        t = "tab-perop/%s/" % op
        cells = [r"\raggedright\texttt{%s}" % tex_escape(op)]
        cells += [n.number(t + k, "int", "value", p + (op, k)) for k in ("flushes", "fences")]
        lines.append(" & ".join(cells) + r" \\")
    # The operations' names wrap: the benchmarks' ones are long.
    return tabular(r"p{0.66\columnwidth}rr", "operation & flushes & fences", lines)


def table_footprint(n):
    lines = []
    for i, row in enumerate(n.data("footprint")["rows"]):
        src = ("footprint", "rows", i)
        t = "tab-footprint/%d/" % i
        cells = [n.text(t + "type", src + ("type",)),
                 n.number(t + "pickle", "bytes", "value", src + ("pickle",)),
                 n.number(t + "pmemobj", "bytes", "value", src + ("pmemobj", "bytes_per_object"))]
        if "bytes_per_object" in row["pynvm"]:
            cells.append(n.number(t + "pynvm", "bytes", "value",
                                  src + ("pynvm", "bytes_per_object")))
        else:
            cells.append("unsupported")
        lines.append(" & ".join(cells) + r" \\")
    return tabular("lrrr", "stored value & pickle & pmemobj & pynvm", lines)


def table_modes(n):
    m = n.data("modes")
    lines = []
    for bench in m["benchmarks"]:
        t = "tab-modes/%s/" % bench
        src = lambda mode: ("modes", "modes", mode, "benchmarks", bench, "median_ns")  # noqa: E731
        cells = [r"\texttt{%s}" % tex_escape(bench)]
        for mode in ("pmem", "tmpfs-msync", "file"):
            cells.append(n.number(t + mode, "time", "value", src(mode)))
        cells.append(n.number(t + "ratio", "ratio", "ratio", src("file"), src("pmem")))
        lines.append(" & ".join(cells) + r" \\")
    return tabular("lrrrr", "benchmark & pmem & tmpfs-msync & file & file/pmem", lines)


def table_fuzz(n):
    cols = ["ok", "detected", "crash", "hang", "internal", "silent"]
    lines = []
    for group, title in (("by_kind", "kind of damage"), ("by_region", "where")):
        lines.append(r"\multicolumn{%d}{@{}l}{\emph{%s}} \\" % (len(cols) + 1, title))
        for k in n.data("fuzz")[group]:
            t = "tab-fuzz/%s/%s/" % (group, k)
            cells = [tex_escape(k)] + [n.number(t + c, "int", "value", ("fuzz", group, k, c))
                                       for c in cols]
            lines.append(" & ".join(cells) + r" \\")
    return tabular("l" + "r" * len(cols), "damage & " + " & ".join(cols), lines)


TARGET_UNITS = {"x": "ratio", "ns": "time", "bytes": "bytes", "calls": "int", "count": "int"}


def table_targets(n):
    """Every target with a goal, grouped.  Over eighty rows are taller than
    a page, so the table is two tabulars side by side in a table*, split
    where half the estimated height is reached (a group cut in two repeats
    its heading)."""
    rows = []                       # (group, cells)
    for i, t in enumerate(n.data("summary")["targets"]):
        if t.get("goal") is None:
            continue
        src = ("summary", "targets", i)
        ident = "tab-targets/%d/" % i
        fmt = TARGET_UNITS[t["unit"]]
        if fmt == "ratio" and t["measured"] is not None:
            fmt = "ratio2" if t["measured"] < 10 else "ratio"
        label = n.text(ident + "label", src + ("label",))
        if t.get("issue"):          # the issue the goal comes from (#9, #12)
            label = n.text(ident + "issue", src + ("issue",)) + ": " + label
        cells = [r"\raggedright " + label,
                 n.number(ident + "measured", fmt, "value", src + ("measured",))
                 if t["measured"] is not None else "no data",
                 {"<=": r"$\le$", ">=": r"$\ge$"}[t["cmp"]] + " " +
                 n.number(ident + "goal", "plain" if t["unit"] == "x" else fmt, "value",
                          src + ("goal",)) + ("$\\times$" if t["unit"] == "x" else ""),
                 "met" if t["met"] else "--" if t["met"] is None else r"\textbf{missed}"]
        rows.append((t["group"], " & ".join(cells) + r" \\", len(t["label"])))
    # a label of about LINE characters fills one line of its column; a
    # group heading is one line
    LINE = 56
    height = lambda r: 1 + r[2] // LINE  # noqa: E731
    groups = len({g for g, _, _ in rows})
    half = (sum(height(r) for r in rows) + groups) / 2
    halves, used, group = [[]], 0, None
    for g, line, chars in rows:
        if len(halves) == 1 and used >= half:
            halves.append([])
            if g == group:
                halves[1].append(r"\multicolumn{4}{@{}l}{\emph{%s} (continued)} \\"
                                 % tex_escape(g))
        if g != group:
            group = g
            halves[-1].append(r"\multicolumn{4}{@{}l}{\emph{%s}} \\" % tex_escape(g))
            used += 1
        halves[-1].append(line)
        used += height((g, line, chars))
    parts = [tabular(r"p{0.30\textwidth}rrl", "target & measured & goal &", h)
             for h in halves]
    return [line for i, part in enumerate(parts)
            for line in ([r"\hfill"] if i else []) + part]


def table_environment(n):
    rows = [("CPU", r"\CpuModel, \Cores{} cores (VM), \CpuMhz\,MHz"),
            ("memory", r"\Memory"),
            ("kernel", r"Linux \Kernel"),
            ("OS", r"\OsName"),
            ("PMDK", r"\PmdkVersion"),
            ("Python", r"\PythonVersion"),
            ("peers", r"pynvm \PynvmVersion, ZODB \ZodbVersion"),
            ("others", r"NumPy \NumpyVersion, Google Benchmark \GbenchVersion"),
            ("pmem mode",
             r"\texttt{\PmemDir} (\PmemFs), \texttt{PMEM\_IS\_PMEM\_FORCE=\PmemForce}"),
            ("file mode", r"\texttt{\FileDir} (\FileFs), \texttt{msync}"),
            ("run", r"\RunDate, commit \texttt{\RunCommit}, \BenchTotalSecs{} in all")]
    return tabular(r"lp{0.72\columnwidth}", None, ["%s & %s \\\\" % r for r in rows])


TABLES = {"tab-ops.tex": table_ops, "tab-flushes.tex": table_flushes,
          "tab-perop.tex": table_per_operation,
          "tab-footprint.tex": table_footprint, "tab-modes.tex": table_modes,
          "tab-fuzz.tex": table_fuzz, "tab-targets.tex": table_targets,
          "tab-environment.tex": table_environment}


def build(results_dir):
    """All numbers and tables: (Numbers, {file name: LaTeX text})."""
    n = Numbers(results_dir)
    for define in (define_environment, define_ops, define_tx, define_alloc, define_gc,
                   define_footprint, define_flushes, define_per_operation, define_modes,
                   define_arrays, define_failures):
        define(n)
    tables = {name: "\n".join(make(n)) + "\n" for name, make in TABLES.items()}
    for group, (present, define, group_tables) in OPTIONAL.items():
        there = present(n)
        n.flags[group] = there
        if there is not True:
            print("generate: %s left out: %s" % (group, there), file=sys.stderr)
            continue
        n.group = group
        define(n)
        tables.update({name: "\n".join(make(n)) + "\n" for name, make in group_tables.items()})
        n.group = None
    return n, tables


HEADER = "%% Generated by paper/generate.py from results/*.json; do not edit.\n"


def write(n, tables, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "numbers.tex"), "w") as f:
        f.write(HEADER)
        # One flag per optional group (OPTIONAL): the prose tests it.
        for group, there in n.flags.items():
            f.write("\\newif\\ifHave%s%s\n" % (group, "\\Have%strue" % group
                                                  if there is True else ""))
        for name, latex in n.macros:
            f.write("\\newcommand{\\%s}{%s}\n" % (name, latex))
    for name, text in tables.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(HEADER + text)
    with open(os.path.join(out, "sources.json"), "w") as f:
        json.dump(n.entries, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    p.add_argument("--results", default=os.path.join(REPO, "results"))
    p.add_argument("--out", default=os.path.join(HERE, "generated"))
    args = p.parse_args()
    n, tables = build(args.results)
    write(n, tables, args.out)
    print("generate: %d macros, %d numbers in all, %d tables -> %s"
          % (len(n.macros), len(n.entries), len(tables), os.path.relpath(args.out)))


if __name__ == "__main__":
    main()
