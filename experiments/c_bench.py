#!/usr/bin/env python3
"""The whole C harness (pmo_bench, Google Benchmark over src/) on emulated
pmem, with flush and fence counts per operation.

    experiments/c_bench.py [--quick]

Every benchmark of bench/c: raw libpmemobj transactions and allocation (the
floor), the core's transactions of 1 to 512 slots, allocation from 16 B to
1 MiB, list append, dict insert and lookup, gc, clean open and recovery
from 10^3 to 10^6 objects.  One timing run (repetitions in random
interleaved order), then one short run with bench/c's flush counter
preloaded for the flushes and drains per operation, merged into the same
table.  The C-level ratios to the raw floor are reported beside the Python
ones, so a regression shows in the layer that caused it.

Writes results/c_bench.json (no figure: modes.py, alloc_size.py,
tx_write_set.py and gc_recovery.py draw subsets of the same benchmarks).
"""

import os
import re
import sys

import common as C

NAME = "c_bench"
# Whole-heap benchmarks make no flushes worth counting per operation (gc
# writes nothing; open and recovery flush a few lines per open).
NOT_COUNTED = re.compile(r"^(Gc|OpenClean|OpenNoPreflight|Recover)/")
RATIOS = [  # (label, ours, raw floor)
    ("C core 1-slot tx / raw libpmemobj 16-byte tx", "TxSlots/1", "RawTx16"),
    ("C core empty tx / raw libpmemobj empty tx", "TxEmpty", "RawTxEmpty"),
]  # (alloc+free against the raw floor is alloc_size.py's row)


def main():
    ap = C.arg_parser(__doc__)
    args = ap.parse_args()
    out = C.out_dir(args)
    if args.replot:
        return 0                      # nothing to draw
    min_time, reps = (0.01, 1) if args.quick else (0.05, 5)
    try:
        data = C.run_pmo_bench(".", "pmem", min_time=min_time, repetitions=reps,
                               quick=args.quick, label="pmo_bench all")
    except (C.PmoBenchMissing, RuntimeError, OSError) as e:
        C.progress("MISSING: %s" % e)
        C.write_json(os.path.join(out, NAME + ".json"),
                     dict(C.metadata(NAME, args.quick), missing=str(e), targets=[]))
        return 1
    table = C.bench_table(data)
    counted = [n for n in table if not NOT_COUNTED.match(n)]
    flushes = C.flush_counts("^(%s)$" % "|".join(re.escape(n) for n in counted)) \
        if counted else {}
    for n, e in table.items():
        f = flushes.get(n)
        if isinstance(f, dict):
            e["counters"].update({k: v for k, v in f.items() if v is not None})

    T = []
    for label, ours, raw in RATIOS:
        a, b = table.get(ours, {}).get("median_ns"), table.get(raw, {}).get("median_ns")
        T.append(C.info(label, a / b if a and b else None, "x",
                        "median %s / median %s, same pmo_bench run" % (ours, raw),
                        group="C core",
                        detail="%s vs %s" % (C.fmt_ns(a), C.fmt_ns(b)) if a and b else None))
    # What the preflight check of libpmemobj's metadata costs at open, at
    # every heap size measured (the bound: 1.5x an open without it).
    for name in sorted(table, key=lambda n: int(n.split("/")[1])
                       if n.startswith("OpenClean/") else 0):
        if not name.startswith("OpenClean/"):
            continue
        n = name.split("/")[1]
        other = "OpenNoPreflight/%s/manual_time" % n
        a, b = table[name].get("median_ns"), table.get(other, {}).get("median_ns")
        T.append(C.target("open with the preflight check / without, %s objects" % n,
                          a / b if a and b else None, 1.5, "<=", "x",
                          "median %s / median %s, same pmo_bench run" % (name, other),
                          group="C core",
                          detail="%s vs %s" % (C.fmt_ns(a), C.fmt_ns(b)) if a and b else None))
    meta = C.metadata(NAME, args.quick)
    result = dict(meta)
    result.update({
        "what": "every pmo_bench benchmark on emulated pmem",
        "method": "pmo_bench, min_time %gs, %d repetitions in random interleaved order, "
                  "medians over repetitions; counters per iteration: tx, snapshots, "
                  "snapshot_bytes, allocs, alloc_bytes, frees from the pool's own counters "
                  "in the timing run; flushes, flush_bytes, drains from a second short run "
                  "with libpmo_flushcount.so preloaded (not for Gc, OpenClean, Recover)"
                  % (min_time, reps),
        "units": "ns per iteration",
        "context": C.bench_context(data),
        "flush_counts": "missing" if "missing" in flushes else
                        "error" if "error" in flushes else "merged into counters",
        "benchmarks": table,
        "targets": T,
    })
    C.write_json(os.path.join(out, NAME + ".json"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
