#!/usr/bin/env python3
"""What the checksums cost: reading with pool.verify on and off, and
pool.check() per live object, in pmem mode.

    experiments/verify_cost.py [--quick]

A list of n immutable heap values of each kind (20-byte strs, 100-byte
bytes, 3-tuples of ints, big ints; each too large for a slot, where a
value has no checksum to verify) is read in full (``list(pool.root)``)
with verify off and on, alternating over rounds; the ratio is of the
medians of the same run.  Writes cost nothing extra: the checksum is the
hash every such value stores at creation anyway (tables look it up).
pool.check() walks and verifies everything: its time per live object.

Writes results/verify_cost.json (no figure).
"""

import os
import shutil
import time

import common as C

NAME = "verify_cost"
KINDS = {
    "str (20 bytes)": lambda i: "value %014d" % i,
    "bytes (100)": lambda i: b"%0100d" % i,
    "tuple of 3 ints": lambda i: (i, i + 1, 2**40 + i),
    "big int": lambda i: 2**120 + i,
}


def main():
    args = C.arg_parser(__doc__).parse_args()
    out = C.out_dir(args)
    C.set_mode_env("pmem")
    pmemobj, why = C.import_pmemobj()
    if pmemobj is None:
        raise SystemExit("verify_cost: " + why)
    n = 2000 if args.quick else 50000
    rounds = 3 if args.quick else 9
    wd = C.workdir("pmem")
    rows = {}
    try:
        for kind, make in KINDS.items():
            path = os.path.join(wd, "verify.pool")
            with pmemobj.create(path, pool_size=64 << 20) as pool:
                with pool.transaction():
                    pool.root = pool.new(pmemobj.PersistentList, [make(i) for i in range(n)])
                lst = pool.root
                times = {False: [], True: []}
                for _ in range(rounds):
                    for verify in (False, True):
                        pool.verify = verify
                        t0 = time.perf_counter_ns()
                        list(lst)
                        times[verify].append((time.perf_counter_ns() - t0) / n)
                t0 = time.perf_counter_ns()
                report = pool.check()
                check_ns = (time.perf_counter_ns() - t0) / report["live"]
            os.remove(path)
            off, on = C.median(times[False]), C.median(times[True])
            rows[kind] = {"n": n, "read_ns_verify_off": off, "read_ns_verify_on": on,
                          "ratio": on / off, "check_ns_per_live_object": check_ns,
                          "samples_off": times[False], "samples_on": times[True]}
            C.progress("%-16s read %6.1f -> %6.1f ns (%.2fx); check %.0f ns/object"
                       % (kind, off, on, on / off, check_ns))
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    T = [C.info("read with verify / without: " + k, r["ratio"], "x",
                "median ns per item of list(pool.root) over %d rounds, the two "
                "alternating" % rounds, group="checksums")
         for k, r in rows.items()]
    T += [C.info("pool.check() per live object: " + k, r["check_ns_per_live_object"], "ns",
                 "one check() of the pool of %d values, divided by its live objects" % n,
                 group="checksums")
          for k, r in rows.items()]
    C.write_json(os.path.join(out, NAME + ".json"),
                 {"meta": C.metadata(NAME, args.quick), "rows": rows, "targets": T})


if __name__ == "__main__":
    main()
