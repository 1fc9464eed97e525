#!/usr/bin/env python3
"""The paper's figures, as vector PDF, from results/*.json.

    paper/figures.py [--results DIR] [--out DIR]

Writes fig-*.pdf into paper/generated/ (or --out).  The experiment scripts
draw their own PNGs for the README; these are the same data laid out for
a two-column page: column-wide, small type, the project's palette
(experiments/common.py: Okabe-Ito, one colour per system, every series
with its own marker so the figures read in grey-scale print).
Nothing is measured here; every point is a median read from results/.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "experiments"))
import common as C  # noqa: E402  (the project's plotting style and colours)
from generate import table_workloads  # noqa: E402  (the same workloads as the table)
from generate import OPTIONAL, Numbers  # noqa: E402  (which optional results exist)
from generate import target_index  # noqa: E402  (targets found by label, not position)

COLUMN = 3.33   # inches: one column of acmart sigconf
PAGE = 7.0      # both columns
LABELS = {"pmemobj": "pmemobj", "pynvm": "pynvm", "zodb": "ZODB", "plain": "plain Python",
          "raw libpmemobj (C)": "raw libpmemobj (C)", "pmemobj (C core)": "pmemobj C core"}
MARKERS = {"pmemobj": "o", "pmemobj (C core)": "s", "raw libpmemobj (C)": "D",
           "pynvm": "^", "zodb": "v", "plain": "x"}


def style():
    plt = C.pyplot()
    plt.rcParams.update({"font.size": 7, "axes.labelsize": 7, "axes.titlesize": 7.5,
                         "legend.fontsize": 6, "xtick.labelsize": 6.5,
                         "ytick.labelsize": 6.5, "lines.markersize": 3.5,
                         "lines.linewidth": 1.0, "pdf.fonttype": 42,
                         "legend.frameon": False})
    return plt


def load(results, name):
    with open(os.path.join(results, name + ".json")) as f:
        return json.load(f)


def target(data, label):
    return data["targets"][target_index(data, label)]


def legend_above(fig, axes, ncol):
    """One legend for the whole figure, above the axes, so it never covers data."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, ncol=ncol, loc="upper center", bbox_to_anchor=(0.5, 1.0),
               handlelength=2.2, columnspacing=1.0)


def save(fig, out, name, top=1.0):
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, top))
    path = os.path.join(out, name)
    # "tight" grows the canvas to hold a legend placed above the axes;
    # LaTeX scales the figure to the column anyway.
    fig.savefig(path, bbox_inches="tight", pad_inches=0.02)
    plt = C.pyplot()
    plt.close(fig)
    print("figures: wrote " + os.path.relpath(path, REPO))


def fig_ops(plt, results, out):
    """Per-operation cost, every system, log scale, min-max of rounds as
    error bars; the raw libpmemobj transaction beside the autocommit writes.
    Two rows: the writes, then reads, transactions and whole-store work."""
    d = load(results, "ops_vs_peers")
    res, floor = d["results"], d["floor"]["pooled"]
    systems = ["pmemobj", "raw libpmemobj (C)", "pynvm", "zodb", "plain"]
    raw = {"dict_set_int": "RawTx16", "list_append_int": "RawTx16",
           "attr_set_int": "RawTx16", "list_set_int": "RawTx16", "empty_tx": "RawTxEmpty"}
    sections = table_workloads(res)
    rows = [sections[:2], sections[2:]]
    fig, axes = plt.subplots(2, 1, figsize=(PAGE, 4.4))
    width = 0.17
    for ax, row in zip(axes, rows):
        x, ticks, labels, spans = 0.0, [], [], []
        for section, workloads in row:
            start = x
            for w in workloads:
                shown = [s for s in systems if s != "raw libpmemobj (C)" or w in raw]
                for i, s in enumerate(shown):
                    xi = x + (i - (len(shown) - 1) / 2) * width
                    if s == "raw libpmemobj (C)":
                        e = floor[raw[w]]
                        med, lo, hi = e["median"], e["min"], e["max"]
                    else:
                        e = res[w]["systems"].get(s, {})
                        med, lo, hi = e.get("median_ns"), e.get("min_ns"), e.get("max_ns")
                    if med is None:
                        continue
                    ax.bar(xi, med, width * 0.92, color=C.COLORS[s], label=LABELS[s],
                           yerr=[[med - lo], [hi - med]], error_kw={"lw": 0.5, "capsize": 0.8})
                ticks.append(x)
                labels.append(w.replace("_", " ").replace("shootout ", ""))
                x += 1
            spans.append((start - 0.5, x - 0.5, section))
            x += 0.4
        ax.set_yscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, rotation=25, ha="right")
        ax.set_ylabel("ns per operation (log)")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 6)
        for i, (a, b, title) in enumerate(spans):
            if i % 2:
                ax.axvspan(a, b, color="0.5", alpha=0.07, lw=0)
            ax.text((a + b) / 2, hi * 2.5, title, ha="center", va="center", fontsize=6.5)
        ax.set_xlim(spans[0][0] - 0.1, spans[-1][1] + 0.1)
        ax.grid(axis="x", visible=False)
    legend_above(fig, list(axes), 5)
    save(fig, out, "fig-ops.pdf", top=0.95)


def plot_c_series(ax, benchmarks, prefix, ls, label, per_arg=False):
    """One line of the C benchmarks named prefix + N, against N (the median
    time divided by N with per_arg)."""
    pts = sorted((int(name[len(prefix):]), e["median_ns"]) for name, e in benchmarks.items()
                 if name.startswith(prefix))
    ax.plot([x for x, _ in pts], [y / x if per_arg else y for x, y in pts], ls, marker="s",
            color=C.COLORS["pmemobj (C core)"], label=label)


def fig_tx(plt, results, out):
    """ns per write against the number of writes in one transaction."""
    d = load(results, "tx_write_set")
    ks = d["ks"]
    fig, ax = plt.subplots(figsize=(COLUMN, 2.5))
    series = [("pmemobj list", "pmemobj", "-", "pmemobj list"),
              ("pmemobj dict", "pmemobj", "--", "pmemobj dict"),
              ("pynvm list", "pynvm", "-", "pynvm list"),
              ("zodb list", "zodb", "-", "ZODB list"),
              ("plain list", "plain", "-", "plain Python list")]
    for key, system, ls, label in series:
        ys = [d["python"][key][str(k)]["median_ns_per_write"] for k in ks]
        ax.plot(ks, ys, ls, marker=MARKERS[system], color=C.COLORS[system], label=label)
    c = d["c"]["benchmarks"]
    for prefix, ls, label in (("TxSlots/", "-", "C core, k snapshots"),
                              ("TxSlotsRange/", ":", "C core, one range")):
        plot_c_series(ax, c, prefix, ls, label, per_arg=True)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    C.log_axis(ax, "y")
    ax.set_xlabel("writes k in one transaction")
    ax.set_ylabel("ns per write (log)")
    legend_above(fig, [ax], 3)
    save(fig, out, "fig-tx.pdf", top=0.80)


def fig_alloc(plt, results, out):
    """Allocation and free against size, Python and C."""
    d = load(results, "alloc_size")
    sizes = d["sizes"]
    fig, ax = plt.subplots(figsize=(COLUMN, 2.4))
    for key, system, ls, label in (("pmemobj append bytes", "pmemobj", "-", "pmemobj append bytes"),
                                   ("pmemobj del bytes", "pmemobj", ":", "pmemobj del bytes"),
                                   ("pynvm append str", "pynvm", "-", "pynvm append str"),
                                   ("pynvm del str", "pynvm", ":", "pynvm del str")):
        ax.plot(sizes, [d["python"][key][str(s)]["median_ns"] for s in sizes], ls,
                marker=MARKERS[system], color=C.COLORS[system], label=label)
    c = d["c"]["benchmarks"]
    for prefix, ls, label in (("Alloc/", "-", "C core alloc"), ("Free/", ":", "C core free")):
        plot_c_series(ax, c, prefix, ls, label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    C.log_axis(ax, "y")
    ax.set_xticks([16, 256, 4096, 65536, 1048576])
    ax.set_xticklabels(["16 B", "256 B", "4 KiB", "64 KiB", "1 MiB"])
    ax.set_xlabel("object size")
    ax.set_ylabel("ns per operation (log)")
    legend_above(fig, [ax], 3)
    save(fig, out, "fig-alloc.pdf", top=0.82)


def fig_gc(plt, results, out):
    """gc per live object, and clean open / recovery, against heap size."""
    d = load(results, "gc_recovery")
    c = d["c"]["benchmarks"]
    sizes = d["sizes"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(COLUMN, 2.4))
    a1.plot(sizes, [c["Gc/%d" % n]["median_ns"] / n for n in sizes], "-", marker="s",
            color=C.COLORS["pmemobj (C core)"], label="C core")
    for kind, ls, label in (("str", "-", "pool.gc(), str"), ("item", "--", "pool.gc(), objects")):
        pts = sorted((int(n), e["gc_ns_per_live_object"]) for n, e in d["python"][kind].items())
        a1.plot([p[0] for p in pts], [p[1] for p in pts], ls, marker="o",
                color=C.COLORS["pmemobj"], label=label)
    goal = target(d, "gc per live object, C core, heap of 1000000")["goal"]
    a1.axhline(goal, color="0.3", lw=0.6, ls="-.", label="target")
    a1.set_xscale("log")
    a1.set_ylim(0, None)
    a1.set_xlabel("heap objects")
    a1.set_ylabel("gc ns per live object")
    a1.set_title("collection", fontsize=7)
    for bench, ls, label in (("OpenClean", "-", "clean open"), ("Recover", "--", "recovery")):
        a2.plot(sizes, [c["%s/%d/manual_time" % (bench, n)]["median_ns"] / 1e6 for n in sizes],
                ls, marker="s", color=C.COLORS["pmemobj (C core)"], label=label + " (C)")
    for key, ls, label in (("open_clean_ns", "-", "clean open"), ("recovery_ns", "--", "recovery")):
        pts = sorted((int(n), e[key]["median"] / 1e6) for n, e in d["python"]["str"].items())
        a2.plot([p[0] for p in pts], [p[1] for p in pts], ls, marker="o",
                color=C.COLORS["pmemobj"], label=label + " (Py)")
    a2.set_xscale("log")
    a2.set_yscale("log")
    C.log_axis(a2, "y")
    a2.set_xlabel("heap objects")
    a2.set_ylabel("ms (log)")
    a2.set_title("open and recovery", fontsize=7)
    legend_above(fig, [a1, a2], 3)
    save(fig, out, "fig-gc.pdf", top=0.76)


def fig_footprint(plt, results, out):
    """Pool bytes per stored value by type, against its pickle and pynvm."""
    d = load(results, "footprint")
    rows = d["rows"]
    fig, ax = plt.subplots(figsize=(COLUMN, 2.4))
    h = 0.27
    for i, (key, system, label) in enumerate((("pickle", "plain", "pickle"),
                                              ("pmemobj", "pmemobj", "pmemobj"),
                                              ("pynvm", "pynvm", "pynvm"))):
        ys, vs = [], []
        for j, r in enumerate(rows):
            v = r[key] if key == "pickle" else r[key].get("bytes_per_object")
            if v is not None:
                ys.append(j + (i - 1) * h)
                vs.append(v)
        ax.barh(ys, vs, h * 0.92, color=C.COLORS[system], label=label,
                hatch="///" if key == "pickle" else None, edgecolor="white", lw=0)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r["type"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("bytes per stored value")
    ax.grid(axis="y", visible=False)
    legend_above(fig, [ax], 3)
    save(fig, out, "fig-footprint.pdf", top=0.93)


def fig_modes(plt, results, out):
    """The same C benchmarks in each measurement mode."""
    d = load(results, "modes")
    modes = [m for m in ("pmem", "tmpfs-msync", "file") if "benchmarks" in d["modes"].get(m, {})]
    benches = d["benchmarks"]
    fig, ax = plt.subplots(figsize=(COLUMN, 2.1))
    w = 0.8 / len(modes)
    for i, m in enumerate(modes):
        vals = [d["modes"][m]["benchmarks"][b]["median_ns"] for b in benches]
        ax.bar([j + (i - (len(modes) - 1) / 2) * w for j in range(len(benches))], vals,
               w * 0.92, color=C.COLORS[m], label=m)
    ax.set_yscale("log")
    C.log_axis(ax, "y")
    ax.set_xticks(range(len(benches)))
    ax.set_xticklabels(benches, rotation=35, ha="right")
    ax.set_ylabel("ns per operation (log)")
    ax.grid(axis="x", visible=False)
    ax.legend(ncol=3, loc="upper left")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * 10)
    save(fig, out, "fig-modes.pdf")


def fig_arrays(plt, results, out):
    """NumPy over a PersistentArray, and a durable 1 MiB write."""
    d = load(results, "arrays")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(COLUMN, 2.1))
    reds = list(d["reductions"])
    a1.bar(range(len(reds)), [d["reductions"][r]["ratio"] for r in reds], 0.6,
           color=C.COLORS["pmemobj"])
    a1.axhline(1.0, color="0.2", lw=0.6)
    goal = target(d, "numpy.sum over 10,000,000 persistent float64 / in memory")["goal"]
    a1.axhline(goal, color="0.3", lw=0.6, ls="-.")
    a1.text(len(reds) - 0.5, goal * 1.02, "target", ha="right", va="bottom", fontsize=6)
    a1.set_xticks(range(len(reds)))
    a1.set_xticklabels(reds, rotation=25, ha="right")
    a1.set_ylabel("persistent / in memory")
    a1.set_title("NumPy reductions", fontsize=7)
    a1.set_ylim(0, goal * 1.25)
    a1.grid(axis="x", visible=False)
    w = d["write_1mib"]
    bars = [("libpmem floor", w["floor_ns"], "raw libpmemobj (C)"),
            ("pmemobj", w["pmemobj_ns"], "pmemobj"),
            ("ZODB", w["zodb_ns"], "zodb"), ("pynvm", w["pynvm_ns"], "pynvm")]
    a2.bar(range(len(bars)), [b[1] / 1e3 for b in bars], 0.6,
           color=[C.COLORS[b[2]] for b in bars])
    a2.set_yscale("log")
    C.log_axis(a2, "y")
    a2.set_xticks(range(len(bars)))
    a2.set_xticklabels([b[0] for b in bars], rotation=25, ha="right")
    a2.set_ylabel("\u00b5s (log)")
    a2.set_title("durable 1 MiB write", fontsize=7)
    a2.grid(axis="x", visible=False)
    save(fig, out, "fig-arrays.pdf")


def fig_sorted_map(plt, results, out):
    """PersistentSortedDict against OOBTree and SortedDict, per workload."""
    d = load(results, "sorted_map")
    med = d["median_ns"]
    from generate import SM_WORKLOADS
    systems = [("pmemobj", "pmemobj", "PersistentSortedDict"),
               ("zodb", "zodb", "ZODB OOBTree"),
               ("sortedcontainers", "plain", "SortedDict (in memory)")]
    fig, ax = plt.subplots(figsize=(COLUMN, 2.2))
    w = 0.27
    for j, (key, color, label) in enumerate(systems):
        xs = [i + (j - 1) * w for i in range(len(SM_WORKLOADS))]
        ax.bar(xs, [med[wl][key] for wl, _, _ in SM_WORKLOADS], w * 0.92,
               color=C.COLORS[color], label=label,
               hatch="///" if key == "sortedcontainers" else None, edgecolor="white", lw=0)
    ax.set_xticks(range(len(SM_WORKLOADS)))
    ax.set_xticklabels([lab.replace(", ", "\n") for _, _, lab in SM_WORKLOADS])
    ax.set_yscale("log")
    C.log_axis(ax, "y")
    ax.set_ylabel("ns per operation (log)")
    ax.grid(axis="x", visible=False)
    legend_above(fig, [ax], 3)
    save(fig, out, "fig-sortedmap.pdf", top=0.88)


def fig_latency(plt, results, out):
    """The latency distribution: P50 to max, per system and workload."""
    d = load(results, "latency")
    from generate import LAT_KEYS, LAT_WORKLOADS
    res = d["results"]
    titles = {"dict_set": "d[i] = i", "list_append": "lst.append(i)",
              "sorted_insert": "sorted d[k] = k"}
    fig, axes = plt.subplots(1, len(LAT_WORKLOADS), figsize=(COLUMN, 2.1), sharey=True)
    for ax, (wl, _) in zip(axes, LAT_WORKLOADS):
        for s in ("pmemobj", "pynvm", "zodb", "plain"):
            e = res[wl].get(s)
            if not e:
                continue
            label = LABELS[s] if not (s == "plain" and wl == "sorted_insert") else None
            ax.plot(range(len(LAT_KEYS)), [e[k] for k, _ in LAT_KEYS], "-",
                    marker=MARKERS[s], color=C.COLORS[s], label=label)
        ax.set_xticks(range(len(LAT_KEYS)))
        ax.set_xticklabels(["P50", "P90", "P99", "P99.9", "max"], rotation=60)
        ax.set_yscale("log")
        ax.set_title(titles[wl], fontsize=6.5)
        ax.grid(axis="x", visible=False)
    C.log_axis(axes[0], "y")
    axes[0].set_ylabel("ns per operation (log)")
    legend_above(fig, list(axes), 4)
    save(fig, out, "fig-latency.pdf", top=0.86)


# Figures of optional result groups (generate.OPTIONAL): drawn only when
# the group's results are there, as the prose includes them only then.
OPTIONAL_FIGURES = {"SortedMap": [fig_sorted_map], "Latency": [fig_latency]}


FIGURES = [fig_ops, fig_tx, fig_alloc, fig_gc, fig_footprint, fig_modes, fig_arrays]


def main():
    p = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    p.add_argument("--results", default=os.path.join(REPO, "results"))
    p.add_argument("--out", default=os.path.join(HERE, "generated"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    plt = style()
    for draw in FIGURES:
        draw(plt, args.results, args.out)
    n = Numbers(args.results)
    for group, draws in OPTIONAL_FIGURES.items():
        there = OPTIONAL[group][0](n)
        if there is not True:
            print("figures: %s left out: %s" % (group, there))
            continue
        for draw in draws:
            draw(plt, args.results, args.out)


if __name__ == "__main__":
    main()
