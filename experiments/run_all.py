#!/usr/bin/env python3
"""Run every experiment, then print and write the summary of headline
ratios against the project's targets.

    experiments/run_all.py [--quick] [--only a,b] [--skip a,b]

(scripts/bench.sh runs this with PYTHONPATH=python and
PMEM_IS_PMEM_FORCE=1 after building.)  The experiments run one after the
other, each in its own process, with progress on stderr.  A full run takes
about 3 minutes on the 2-core machine here (4 when it is busy) and writes
results/; --quick takes 30-45 seconds and writes results/quick/.

At the end: results/summary.json (every target with its measurement, goal,
margin and how the number was formed) and results/summary.md (the same as
a Markdown table, headed by machine, mode and date), and the table on
stdout.  The exit status is 1 if an experiment failed or had errors (the
summary is written anyway, its missing rows saying so).
"""

import json
import os
import subprocess
import sys
import time

os.environ.setdefault("PMO_EXP_T0", repr(time.time()))

import common as C  # noqa: E402  (reads PMO_EXP_T0)
import misses  # noqa: E402

EXPERIMENTS = ["ops_vs_peers", "tx_write_set", "alloc_size", "gc_recovery",
               "footprint", "modes", "c_bench", "arrays", "sorted_map", "flush_counts",
               "verify_cost", "latency"]
GROUPS = ["autocommit write", "writes in one tx", "reads", "gc and open",
          "footprint", "allocation", "modes", "C core", "arrays", "sorted map",
          "flushes and fences", "checksums", "latency"]


def run_experiment(name, quick, out_dir, i, n):
    cmd = [sys.executable, os.path.join(C.HERE, name + ".py"), "--out-dir", out_dir]
    if quick:
        cmd.append("--quick")
    C.progress("==> [%d/%d] %s" % (i, n, name), "run_all")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=sys.stderr)
    try:
        rc = p.wait()
    except BaseException:           # Ctrl-C, SIGTERM: stop the experiment too
        p.terminate()
        p.wait()
        raise
    dt = time.monotonic() - t0
    C.progress("<== [%d/%d] %s: %s in %.1f s" % (
        i, n, name, "ok" if rc == 0 else "exit status %d" % rc, dt), "run_all")
    return rc, dt


def goal_text(t):
    if t["goal"] is None:
        return ""
    sym = {"<=": "<=", ">=": ">="}[t["cmp"]]
    return "%s %s" % (sym, C.fmt_value(t["goal"], t["unit"]))


def result_text(t, md):
    if t["met"] is None:
        return t["status"]
    if t["met"]:
        return "met (%.2fx margin)" % t["margin"]
    s = "not met (off by %.2fx)" % (1 / t["margin"])
    return "**%s**" % s if md else s


def measured_text(t):
    v = C.fmt_value(t["measured"], t["unit"])
    return v + (" (%s)" % t["detail"] if t.get("detail") and t["measured"] is not None
                else "")


def flushes_text(t, per_op):
    """'1/1': the flushes and fences of the operation(s) the target's
    workload repeats (flush_counts.json), or '' when it names none."""
    cells = []
    for op in t.get("ops") or []:
        c = per_op.get(op)
        cells.append("%s/%s" % (c["flushes"], c["fences"]) if c else "? (%s: not counted)" % op)
    return ", ".join(cells)


def tally(rows):
    """Targets met and judged: in all, and for each issue."""
    out = {"all": [0, 0]}
    for t in rows:
        if t["met"] is None:
            continue
        for k in ("all", t.get("issue")):
            if k:
                e = out.setdefault(k, [0, 0])
                e[0] += bool(t["met"])
                e[1] += 1
    return {k: {"met": v[0], "judged": v[1]} for k, v in out.items()}


def missed(rows, data=None):
    """Every target not met: label, issue, by how much, and why (misses.py,
    from this run's numbers; data: the experiments' JSON by name)."""
    return [{"label": t["label"], "issue": t.get("issue"), "group": t.get("group"),
             "off_by": 1 / t["margin"], "why": misses.why(t, rows, data or {})}
            for t in rows if t["met"] is False]


def collect(out_dir, names, data=None):
    """The rows of every experiment's JSON (data, if given, gets each JSON
    by name)."""
    rows, sources = [], {}
    for name in names:
        path = os.path.join(out_dir, name + ".json")
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            rows.append({"experiment": name, "label": "%s: no results" % name,
                         "group": None, "measured": None, "unit": "", "goal": None,
                         "cmp": None, "met": None, "margin": None,
                         "status": "no data: %s" % e, "how": ""})
            continue
        if data is not None:
            data[name] = d
        sources[name] = {"date": d.get("date"), "quick": d.get("quick"),
                         "loadavg": d.get("machine", {}).get("loadavg")}
        for t in d.get("targets", []):
            rows.append(dict(t, experiment=name))
    rows.sort(key=lambda t: (GROUPS.index(t["group"]) if t["group"] in GROUPS
                             else len(GROUPS)))
    return rows, sources


def header(meta, quick, durations, total, sources):
    m = meta["machine"]
    loads = ", ".join("%s %.1f" % (n, src["loadavg"][0]) for n, src in sources.items()
                      if src.get("loadavg"))
    lines = [
        "Machine: %s, %s cores, %s GiB, Linux %s" % (
            m["cpu_model"], m["cores"], round((m["memory_bytes"] or 0) / 2**30),
            m["kernel"]),
        "Mode: pmem = emulated pmem (a file in /dev/shm, tmpfs, "
        "PMEM_IS_PMEM_FORCE=1); the modes experiment also runs tmpfs-msync and file",
        "Date: %s; git %s%s; PMDK %s; Python %s%s" % (
            meta["date"], (meta["git"]["commit"] or "?")[:10],
            " (uncommitted changes)" if meta["git"]["dirty"] else "",
            meta["versions"].get("pmdk (pkg-config libpmemobj)"),
            meta["versions"]["python"], "; QUICK run" if quick else ""),
        ("Run: %s, %.0f s in all (%s)" % (
            "quick" if quick else "full", total,
            ", ".join("%s %.0f s" % kv for kv in durations.items())))
        if durations else
        "Run: none (--summary-only); results dated %s" % ", ".join(
            "%s %s" % (n, (src.get("date") or "?")[:16]) for n, src in sources.items()),
        "Load average (1 min) as each experiment finished: " + (loads or "-"),
        "Note: " + C.SHARED_MACHINE_NOTE,
    ]
    return lines


def tally_text(tl):
    return "%d of %d targets met (%s)" % (
        tl["all"]["met"], tl["all"]["judged"], "; ".join(
            "issue %s: %d of %d" % (k, v["met"], v["judged"])
            for k, v in sorted(tl.items()) if k != "all") or "none from an issue")


def markdown(rows, head, per_op, data=None):
    out = ["%s  " % h for h in head]
    out.append("")
    out.append("Column \"issue\": the open issue whose target a row judges (#9: the "
               "small-object heap and write path; #12: arrays); empty: an older goal of "
               "the project's own, kept beside the issue's.  \"flushes/fences\": per "
               "operation of the workload (per transaction where it is one of 100 "
               "writes), from flush_counts.json.")
    out.append("")
    out.append("| group | issue | measurement | measured | target | result | flushes/fences |")
    out.append("|---|---|---|---|---|---|---|")
    for t in rows:
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            t.get("group") or "", t.get("issue") or "", t["label"].replace("|", "/"),
            measured_text(t), goal_text(t), result_text(t, True),
            flushes_text(t, per_op)))
    nodata = sum(1 for t in rows if t["goal"] is not None and t["met"] is None)
    out.append("")
    out.append("%s%s.  Ratios are formed from medians measured in "
               "the same run; the JSON files in the same directory hold the raw "
               "samples and how each number was formed." % (
                   tally_text(tally(rows)), ", %d without data" % nodata if nodata else ""))
    miss = missed(rows, data)
    if miss:
        out.append("")
        out.append("Not met in this run, each with why (experiments/misses.py, from this "
                   "run's numbers):")
        out.append("")
        for m in miss:
            out.append("- %s%s: off by %.2fx.  Why: %s" % (
                "(%s) " % m["issue"] if m["issue"] else "", m["label"], m["off_by"],
                m["why"]))
    return "\n".join(out) + "\n"


def text_table(rows):
    w = max(len(t["label"]) for t in rows) if rows else 20
    lines = ["%-4s %-*s  %-32s  %-10s  %s" % ("", w, "measurement", "measured", "target",
                                             "result")]
    group = None
    for t in rows:
        if t.get("group") != group:
            group = t.get("group")
            lines.append("-- %s" % group)
        lines.append("%-4s %-*s  %-32s  %-10s  %s" % (
            t.get("issue") or "", w, t["label"], measured_text(t), goal_text(t),
            result_text(t, False)))
    return "\n".join(lines)


def main():
    ap = C.arg_parser(__doc__)
    ap.add_argument("--only", default="", help="comma-separated experiments to run")
    ap.add_argument("--skip", default="", help="comma-separated experiments to skip")
    ap.add_argument("--summary-only", action="store_true",
                    help="do not run anything; summarise the results there are")
    args = ap.parse_args()
    out_dir = C.out_dir(args)
    names = [n for n in (args.only.split(",") if args.only else EXPERIMENTS) if n]
    for n in names + [s for s in args.skip.split(",") if s]:
        if n not in EXPERIMENTS:
            raise SystemExit("unknown experiment %r; known: %s" % (n, ", ".join(EXPERIMENTS)))
    names = [n for n in names if n not in args.skip.split(",")]
    os.environ["PMEM_IS_PMEM_FORCE"] = "1"

    t0 = time.monotonic()
    durations, failed = {}, []
    if not args.summary_only:
        C.progress("%d experiments, %s run, results in %s" % (
            len(names), "quick" if args.quick else "full",
            os.path.relpath(out_dir, C.REPO)), "run_all")
        for i, name in enumerate(names, 1):
            rc, dt = run_experiment(name, args.quick, out_dir, i, len(names))
            durations[name] = dt
            if rc != 0:
                failed.append(name)
    total = time.monotonic() - t0

    data = {}
    rows, sources = collect(out_dir, EXPERIMENTS if args.summary_only else names, data)
    try:
        per_op = C.load_json(os.path.join(out_dir, "flush_counts.json"))["per_operation"]
    except (OSError, ValueError, KeyError):
        per_op = {}
    for t in rows:
        t["flushes"] = {op: per_op.get(op) for op in t.get("ops") or []}
    meta = C.metadata("summary", args.quick)
    head = header(meta, args.quick, durations, total, sources)
    md = markdown(rows, head, per_op, data)
    summary = dict(meta)
    summary.update({
        "what": "headline ratios of every experiment against the project's targets",
        "durations_s": {k: round(v, 1) for k, v in durations.items()},
        "total_s": round(total, 1),
        "failed": failed,
        "sources": sources,
        "tally": tally(rows),
        "missed": missed(rows, data),
        "targets": rows,
    })
    C.write_json(os.path.join(out_dir, "summary.json"), summary)
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(md)
    C.progress("wrote " + os.path.relpath(os.path.join(out_dir, "summary.md"), C.REPO),
               "run_all")

    print()
    print("\n".join(head))
    print()
    print(text_table(rows))
    print()
    print("%s; total %.0f s%s" % (
        tally_text(tally(rows)), total, "; FAILED: " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
