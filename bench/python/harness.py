#!/usr/bin/env python3
"""Run the Python workloads side by side over pmemobj and its peers.

    python bench/python/harness.py [--quick] [--systems pmemobj,pynvm,zodb,plain]
        [--workloads dict_set_int,...] [--out results/python_workloads.json]
        [--dir /dev/shm] [--mode pmem|file|tmpfs-msync] [--rounds 5]
        [--ratio-base pmemobj]

Every round runs every workload once on every system; the order of the
systems rotates from round to round.  Reported: the per-op median over the
rounds (ns/op) with min and max, and median(ratio-base) / median(peer).
See README.md for what each workload measures.
"""

import argparse
import datetime
import importlib
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from machine import fmt_ns, git_info, is_dax, machine, mount_of  # noqa: E402

ALL_SYSTEMS = ["pmemobj", "pynvm", "zodb", "plain"]

from modes import MODES, mode_dir  # noqa: E402  (bench/modes.py: the one definition)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# -- machine description -------------------------------------------------------

def machine_info():
    m = machine()
    return dict(m, loadavg_start=m.pop("loadavg"),
                python=sys.version.split()[0],
                python_implementation=platform.python_implementation(),
                python_executable=sys.executable)


# -- running -------------------------------------------------------------------

def load_systems(names):
    """Import each adapter; return (loaded {name: System}, missing {name: why})."""
    loaded, missing = {}, {}
    for name in names:
        try:
            mod = importlib.import_module("sys_" + name)
            loaded[name] = mod.load()
        except ModuleNotFoundError as e:
            if e.name == "sys_" + name:
                missing[name] = "no adapter bench/python/sys_%s.py" % name
            else:
                missing[name] = "%s: %s" % (type(e).__name__, e)
        except Exception as e:     # broken install, missing shared library...
            missing[name] = "%s: %s" % (type(e).__name__, e)
    return loaded, missing


def select_workloads(spec, workloads):
    if not spec:
        return list(workloads.WORKLOADS), True
    groups, footprint = [], False
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if item == "footprint":
            footprint = True
            continue
        group = workloads.METRIC_GROUP.get(item, item)
        if group not in workloads.BY_NAME:
            raise SystemExit("unknown workload %r; known: %s, footprint"
                             % (item, ", ".join(workloads.METRIC_GROUP)))
        if workloads.BY_NAME[group] not in groups:
            groups.append(workloads.BY_NAME[group])
    return groups, footprint


def run(args):
    import workloads as W

    loaded, missing = load_systems(args.systems)
    for name, why in missing.items():
        log("MISSING %s: %s" % (name, why))
    groups, do_footprint = select_workloads(args.workloads, W)
    order = [s for s in args.systems if s in loaded]
    if not order:
        log("no system could be loaded")

    scale = args.scale * (0.1 if args.quick else 1.0)
    sizes = {w.name: max(10, int(w.n * scale)) for w in groups}

    # samples[metric][system] -> list of ns/op; errors: list of dicts
    samples = {m: {s: [] for s in order} for w in groups for m in w.metrics}
    errors = []
    workdir = tempfile.mkdtemp(prefix="pmo-pybench-", dir=args.dir)
    t_start = time.monotonic()
    try:
        if args.warmup and order:
            # One untimed pass at n/10: imports, cffi/type-table set-up,
            # first-touch of tmpfs pages and the like stay out of round 1.
            for w in groups:
                for s in order:
                    if w.name in loaded[s].unsupported:
                        continue
                    base = os.path.join(workdir, "%s-%s-warmup" % (s, w.name))
                    try:
                        w.fn(loaded[s], base, max(10, sizes[w.name] // 10))
                    except Exception:
                        pass    # a real failure is reported by the rounds
                    finally:
                        loaded[s].destroy(base)
            log("[%6.1fs] warm-up done" % (time.monotonic() - t_start))
        for r in range(args.rounds):
            rot = order[r % len(order):] + order[:r % len(order)] if order \
                else []
            for w in groups:
                line = []
                for s in rot:
                    system = loaded[s]
                    if w.name in system.unsupported:
                        continue
                    base = os.path.join(workdir, "%s-%s-r%d" % (s, w.name, r))
                    try:
                        res = w.fn(system, base, sizes[w.name])
                    except Exception as e:
                        errors.append({"system": s, "workload": w.name,
                                       "round": r, "error":
                                       "%s: %s" % (type(e).__name__, e)})
                        log("ERROR %s/%s round %d:\n%s"
                            % (s, w.name, r + 1, traceback.format_exc()))
                        line.append("%s ERROR" % s)
                        continue
                    finally:
                        system.destroy(base)
                    for m, (ns, ops) in res.items():
                        samples[m][s].append(ns / ops)
                    line.append("%s %s" % (s, fmt_ns(
                        res[w.metrics[0]][0] / res[w.metrics[0]][1])))
                log("[%6.1fs] round %d/%d %-18s %s"
                    % (time.monotonic() - t_start, r + 1, args.rounds,
                       w.name, "  ".join(line)))

        footprint = {}
        if do_footprint:
            fn = max(100, int(W.FOOTPRINT_N * scale))
            for s in order:
                base = os.path.join(workdir, "%s-footprint" % s)
                try:
                    footprint[s] = loaded[s].footprint_list_ints(base, fn)
                    log("[%6.1fs] footprint %s: %.1f bytes/int"
                        % (time.monotonic() - t_start, s,
                           footprint[s]["bytes_per_int"]))
                except Exception as e:
                    footprint[s] = {"error": "%s: %s" % (type(e).__name__, e)}
                    errors.append({"system": s, "workload": "footprint",
                                   "error": footprint[s]["error"]})
                    log("ERROR %s/footprint:\n%s"
                        % (s, traceback.format_exc()))
                finally:
                    loaded[s].destroy(base)
            for s in missing:
                footprint[s] = {"missing": missing[s]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    duration = time.monotonic() - t_start

    return build_report(args, W, groups, sizes, loaded, missing, samples,
                        footprint if do_footprint else None, errors, duration)


def summarize(values):
    if not values:
        return None
    return {"median_ns": statistics.median(values), "min_ns": min(values),
            "max_ns": max(values), "rounds": len(values),
            "samples_ns": [round(v, 2) for v in values]}


def build_report(args, W, groups, sizes, loaded, missing, samples, footprint,
                 errors, duration):
    base = args.ratio_base
    systems = {}
    for s in args.systems:
        if s in loaded:
            try:
                systems[s] = {"versions": loaded[s].versions(),
                              "unsupported": dict(loaded[s].unsupported)}
            except Exception as e:
                systems[s] = {"versions_error": str(e)}
        else:
            systems[s] = {"missing": missing[s]}

    results = {}
    for w in groups:
        for m in w.metrics:
            per = {}
            for s in args.systems:
                if s in missing:
                    per[s] = {"missing": missing[s]}
                elif w.name in loaded[s].unsupported:
                    per[s] = {"unsupported": loaded[s].unsupported[w.name]}
                else:
                    per[s] = summarize(samples[m][s]) or {"error": "no sample"}
            ratios = {}
            bmed = per.get(base, {}).get("median_ns")
            for s in args.systems:
                if s == base:
                    continue
                pmed = per[s].get("median_ns")
                if bmed is not None and pmed:
                    ratios["%s/%s" % (base, s)] = bmed / pmed
            results[m] = {"group": w.name, "n": sizes[w.name], "op": w.op,
                          "description": w.doc, "unit": "ns per op",
                          "systems": per, "ratios": ratios}

    d = args.dir
    mnt = mount_of(d)
    return {
        "schema": "pmemobj-bench-python/1",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "machine": dict(args.machine, loadavg_end=list(os.getloadavg())),
        "run": {
            "mode": args.mode,
            "dir": d,
            "filesystem": {"mount": mnt["dir"], "type": mnt["type"],
                           "dax": is_dax(mnt)} if mnt else None,
            "PMEM_IS_PMEM_FORCE": os.environ.get("PMEM_IS_PMEM_FORCE"),
            "quick": args.quick,
            "rounds": args.rounds,
            "scale": args.scale,
            "warmup": args.warmup,
            "ratio_base": base,
            "systems_order": [s for s in args.systems if s in loaded],
            "duration_s": round(duration, 2),
            "argv": sys.argv[1:],
            "git_rev": git_info()["commit"],
        },
        "systems": systems,
        "results": results,
        "footprint": footprint,
        "errors": errors,
    }


def print_table(report, out=sys.stdout):
    systems = list(report["systems"])
    base = report["run"]["ratio_base"]
    run = report["run"]
    m = report["machine"]
    print("Python workloads, mode %s (%s, PMEM_IS_PMEM_FORCE=%s), %d rounds%s"
          % (run["mode"], run["dir"], run["PMEM_IS_PMEM_FORCE"],
             run["rounds"], ", quick" if run["quick"] else ""), file=out)
    print("%s, %s cores, Linux %s, Python %s, %s"
          % (m["cpu_model"], m["cores"], m["kernel"], m["python"],
             report["date"]), file=out)
    for s, info in report["systems"].items():
        if "missing" in info:
            print("  %-8s MISSING: %s" % (s, info["missing"]), file=out)
        else:
            v = ", ".join("%s %s" % kv for kv in info.get("versions", {}).items()
                          if kv[1] is not None)
            print("  %-8s %s" % (s, v), file=out)
    present = [s for s in systems if "missing" not in report["systems"][s]]
    ratio_cols = [s for s in present if s != base] \
        if base in present else []
    hdr = "%-19s %6s" % ("median ns/op", "n") + "".join(
        " %30s" % s for s in present) + "".join(
        " %13s" % ("%s/%s" % (base, s))[:13] for s in ratio_cols)
    print(hdr, file=out)
    for name, r in report["results"].items():
        row = "%-19s %6d" % (name, r["n"])
        for s in present:
            e = r["systems"][s]
            if "median_ns" in e:
                cell = "%s [%s..%s]" % (fmt_ns(e["median_ns"]),
                                        fmt_short(e["min_ns"]),
                                        fmt_short(e["max_ns"]))
            elif "unsupported" in e:
                cell = "n/a"
            else:
                cell = "ERROR"
            row += " %30s" % cell
        for s in ratio_cols:
            x = r["ratios"].get("%s/%s" % (base, s))
            row += " %13s" % ("%.3g" % x if x is not None else "-")
        print(row, file=out)
    if base not in present:
        print("(no ratios: ratio base %r is %s)"
              % (base, "missing" if base in report["systems"] else
                 "not selected"), file=out)
    if report["footprint"] is not None:
        print("footprint, bytes per int in a list:", file=out)
        for s, f in report["footprint"].items():
            if "bytes_per_int" in f:
                print("  %-8s %8.1f   (%s)" % (s, f["bytes_per_int"],
                                                f["method"]), file=out)
            else:
                print("  %-8s %s" % (s, f.get("missing") or f.get("error")),
                      file=out)
    for e in report["errors"]:
        print("ERROR %(system)s/%(workload)s: %(error)s" % e, file=out)
    print("total run time %.1f s" % run["duration_s"], file=out)


def fmt_short(ns):
    # compact min/max for the table: 3 significant digits, unit of fmt_ns
    return fmt_ns(ns).replace(" ", "")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="n/10 per workload and 3 rounds (unless --rounds)")
    p.add_argument("--systems", default=",".join(ALL_SYSTEMS),
                   help="comma-separated, default %(default)s")
    p.add_argument("--workloads", default="",
                   help="comma-separated workload or metric names, or "
                        "'footprint' (default: all)")
    p.add_argument("--out", default="results/python_workloads.json",
                   help="JSON output file (default %(default)s, relative to "
                        "the current directory); '-' for none")
    p.add_argument("--mode", choices=sorted(MODES), default="pmem",
                   help="pmem: emulated pmem, /dev/shm + PMEM_IS_PMEM_FORCE=1"
                        " (default); file: disk file, msync; tmpfs-msync")
    p.add_argument("--dir", default=None,
                   help="directory for pool/storage files (default by mode)")
    p.add_argument("--rounds", type=int, default=None,
                   help="rounds (default 5, quick 3)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every workload's n by this")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="skip the untimed warm-up pass at n/10")
    p.add_argument("--ratio-base", default="pmemobj",
                   help="report median(base)/median(peer) (default pmemobj)")
    p.add_argument("--list", action="store_true",
                   help="list the workloads and exit")
    args = p.parse_args(argv)

    sys.path[:0] = [HERE, os.path.join(REPO, "python")]
    if args.list:
        import workloads as W
        for w in W.WORKLOADS:
            print("%-18s n=%-6d %s\n%18s   metrics: %s; op: %s"
                  % (w.name, w.n, w.doc, "", ", ".join(w.metrics), w.op))
        print("%-18s n=%-6d bytes per int appended to a list (see README)"
              % ("footprint", W.FOOTPRINT_N))
        return 0

    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    default_dir, force = mode_dir(args.mode), MODES[args.mode].force
    if not (args.dir or default_dir):
        raise SystemExit("mode %s: no DAX mount here; give --dir" % args.mode)
    args.dir = os.path.abspath(args.dir or default_dir)
    if not os.path.isdir(args.dir):
        raise SystemExit("--dir %s is not a directory" % args.dir)
    # libpmem reads this once, when it is loaded: it must be set before the
    # pynvm / pmemobj adapters are imported.
    if force is not None:
        os.environ["PMEM_IS_PMEM_FORCE"] = force
    else:
        os.environ.pop("PMEM_IS_PMEM_FORCE", None)
    mnt = mount_of(args.dir)
    if args.mode == "file" and mnt and mnt["type"] == "tmpfs":
        log("warning: --mode file on tmpfs %s" % args.dir)
    if args.mode != "file" and mnt and mnt["type"] != "tmpfs" and not is_dax(mnt):
        log("warning: --mode %s on %s (%s), not tmpfs or DAX"
            % (args.mode, args.dir, mnt["type"]))

    # SIGTERM: unwind so that the pool files get removed.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    args.machine = machine_info()
    log("python workloads: mode %s, dir %s, %d rounds%s, systems %s"
        % (args.mode, args.dir, args.rounds, " (quick)" if args.quick else "",
           ",".join(args.systems)))
    report = run(args)
    print_table(report)
    if args.out != "-":
        out = os.path.abspath(args.out)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1, sort_keys=False)
            f.write("\n")
        os.replace(tmp, out)
        log("wrote %s" % out)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
