#!/usr/bin/env python3
"""Transaction cost against the size of its write set.

    experiments/tx_write_set.py [--quick] [--rounds N]

One transaction overwrites k items of a prefilled container with ints,
for k = 1, 4, 16, ... 4096; reported are the time of the whole transaction
(commit included) and that time / k, the cost per write.

Python, same process, systems rotated round by round, a fresh store per
system and round (its set-up untimed):

  pmemobj list    ``with pool.transaction(): lst[i] = v`` for i < k
  pmemobj dict    the same on a PersistentDict with int keys 0..L-1
                  (existing keys: an update, not an insert)
  pynvm list      the same on pynvm's PersistentList
  zodb list       ``with transaction.manager: lst[i] = v`` on a
                  persistent.list.PersistentList (commit pickles the whole
                  list: ZODB's unit of writing is the object)
  plain list      no transaction at all (the interpreter's loop cost)

C, pmo_bench in the same run: TxSlots/N (N slot stores, one 16-byte
snapshot each, what lst[i] = v does under the binding), TxSlotsRange/N
(one snapshot of the N adjacent slots) and RawTx16 (raw libpmemobj, 1 slot).

Each Python sample repeats the transaction until it has run for at least
20 ms (5 ms with --quick; at least once); the sample is the mean over those
repeats, the reported value the median over rounds.

Writes results/tx_write_set.json and results/tx_write_set.png.
"""

import contextlib
import os
import shutil
import sys

import common as C

NAME = "tx_write_set"
KS_FULL = [1, 4, 16, 64, 256, 1024, 4096]
KS_QUICK = [1, 16, 256, 4096]
C_FILTER = "^(TxSlots|TxSlotsRange)/[0-9]+$|^RawTx16$"
POOL_SIZE = 64 << 20
SERIES = ["pmemobj list", "pmemobj dict", "pynvm list", "zodb list", "plain list"]


class PoolStore:
    """pmemobj or pynvm: both implement the same pool API."""

    def __init__(self, mod, path, kind, length):
        self.pool = mod.create(path, POOL_SIZE)
        cls = mod.PersistentList if kind == "list" else mod.PersistentDict
        with self.pool.transaction():
            self.pool.root = self.pool.new(cls)
        c = self.pool.root
        with self.pool.transaction():
            if kind == "list":
                for i in range(length):
                    c.append(i)
            else:
                for i in range(length):
                    c[i] = i
        self.c = self.pool.root
        self.tx = self.pool.transaction

    def close(self):
        self.pool.close()


class ZodbStore:
    def __init__(self, path, length):
        import transaction
        from persistent.list import PersistentList
        from ZODB import DB
        from ZODB.FileStorage import FileStorage
        self.db = DB(FileStorage(path, create=True))
        self.conn = self.db.open()
        root = self.conn.root()
        root["l"] = PersistentList(range(length))
        transaction.commit()
        self.c = root["l"]
        self.tx = lambda: transaction.manager

    def close(self):
        self.conn.close()
        self.db.close()


class PlainStore:
    def __init__(self, length):
        self.c = list(range(length))
        self.tx = contextlib.nullcontext

    def close(self):
        pass


def make_store(series, mods, path, length):
    if series.startswith("pmemobj"):
        return PoolStore(mods["pmemobj"], path, series.split()[1], length)
    if series == "pynvm list":
        return PoolStore(mods["pynvm"], path, "list", length)
    if series == "zodb list":
        return ZodbStore(path, length)
    return PlainStore(length)


def run_txs(c, tx, k, reps, v):
    with C.Timer() as t:
        for _ in range(reps):
            with tx():
                for i in range(k):
                    c[i] = v
            v += 1
    return t.ns


def measure(store, ks, target_ns):
    """{k: ns per transaction} for one store."""
    out = {}
    v = 1_000_000
    for k in ks:
        first = run_txs(store.c, store.tx, k, 1, v)    # warm-up and estimate
        reps = max(1, min(100_000, int(target_ns / max(first, 1))))
        ns = run_txs(store.c, store.tx, k, reps, v + 1)
        v += reps + 1
        out[k] = ns / reps
    if store.c[ks[-1] - 1] != v - 1:
        raise AssertionError("last write not visible")
    return out


def draw(path, meta, py, cb, ks):
    plt = C.pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"pmemobj list": ("pmemobj", "o", "-"),
              "pmemobj dict": ("pmemobj", "s", "--"),
              "pynvm list": ("pynvm", "o", "-"),
              "zodb list": ("zodb", "o", "-"),
              "plain list": ("plain", "o", "-")}
    for s, per_k in py.items():
        if "missing" in per_k:
            continue
        xs = [k for k in ks if per_k.get(str(k))]
        tx_ns = [per_k[str(k)]["median_ns_per_tx"] for k in xs]
        color, marker, ls = styles[s]
        for ax, ys in ((a1, [t / 1e3 for t in tx_ns]),
                       (a2, [t / k for t, k in zip(tx_ns, xs)])):
            ax.plot(xs, ys, marker=marker, ls=ls, color=C.COLORS[color], label=s,
                    ms=4)
    for fam, marker, label in (("TxSlots", "^", "C core, 1 snapshot per slot (TxSlots/N)"),
                               ("TxSlotsRange", "v", "C core, 1 range snapshot (TxSlotsRange/N)")):
        pts = sorted((int(n.split("/")[1]), e["median_ns"]) for n, e in cb.items()
                     if n.startswith(fam + "/"))
        if pts:
            xs = [p[0] for p in pts]
            a1.plot(xs, [p[1] / 1e3 for p in pts], marker=marker, ls=":",
                    color=C.COLORS["pmemobj (C core)"], label=label, ms=5)
            a2.plot(xs, [p[1] / p[0] for p in pts], marker=marker, ls=":",
                    color=C.COLORS["pmemobj (C core)"], label=label, ms=5)
    if "RawTx16" in cb:
        r = cb["RawTx16"]["median_ns"]
        a1.plot([1], [r / 1e3], "D", color=C.COLORS["raw libpmemobj (C)"],
                label="raw libpmemobj, 1 slot (RawTx16)")
        a2.plot([1], [r], "D", color=C.COLORS["raw libpmemobj (C)"],
                label="raw libpmemobj, 1 slot (RawTx16)")
    a2.axhline(500, color="k", lw=0.8, ls="--")
    a2.text(ks[0], 560, "target: 0.5 us per write", ha="left", va="bottom",
            fontsize=7)
    ticks = sorted(set(ks) | {8, 64, 512})
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(t) for t in ticks])
        ax.set_xlabel("writes in the transaction, k (log scale)")
        C.log_axis(ax)
    a1.set_ylabel("time per transaction, commit included (us, log scale)")
    a2.set_ylabel("time per write (ns, log scale)")
    a1.set_title("Transaction time vs write-set size")
    a2.set_title("Cost per write vs write-set size")
    a1.legend(loc="upper left", fontsize=7)
    C.save_figure(fig, path, meta)


def main():
    ap = C.arg_parser(__doc__)
    ap.add_argument("--rounds", type=int, default=None, help="default 5, quick 3")
    args = ap.parse_args()
    out = C.out_dir(args)
    if C.replotted(args, NAME,
                   lambda png, d: draw(png, d, d["python"], d["c"]["benchmarks"], d["ks"])):
        return 0
    C.set_mode_env("pmem")
    ks = KS_QUICK if args.quick else KS_FULL
    rounds = args.rounds or (3 if args.quick else 5)
    target_ns = (5 if args.quick else 20) * 1e6
    length = ks[-1]

    mods, missing = {}, {}
    mods["pmemobj"], why = C.import_pmemobj()
    if why:
        missing["pmemobj list"] = missing["pmemobj dict"] = why
    mods["pynvm"], why = C.import_pynvm()
    if why:
        missing["pynvm list"] = why
    try:
        import ZODB  # noqa: F401
        import persistent  # noqa: F401
    except Exception as e:
        missing["zodb list"] = "%s: %s" % (type(e).__name__, e)
    order = [s for s in SERIES if s not in missing]
    for s, why in missing.items():
        C.progress("MISSING %s: %s" % (s, why))

    samples = {s: {k: [] for k in ks} for s in order}
    errors = []
    wd = C.workdir("pmem")
    try:
        for r in range(rounds):
            rot = order[r % len(order):] + order[:r % len(order)]
            for s in rot:
                path = os.path.join(wd, "%s-r%d" % (s.replace(" ", "-"), r))
                try:
                    st = make_store(s, mods, path, length)
                    try:
                        res = measure(st, ks, target_ns)
                    finally:
                        st.close()
                except Exception as e:
                    errors.append({"series": s, "round": r,
                                   "error": "%s: %s" % (type(e).__name__, e)})
                    C.progress("ERROR %s round %d: %s" % (s, r + 1, errors[-1]["error"]))
                    continue
                finally:
                    for fn in os.listdir(wd):
                        if fn.startswith(os.path.basename(path)):
                            os.unlink(os.path.join(wd, fn))
                for k, ns in res.items():
                    samples[s][k].append(ns)
                C.progress("round %d/%d %-13s %s" % (
                    r + 1, rounds, s, "  ".join(
                        "k=%d %s/write" % (k, C.fmt_ns(res[k] / k)) for k in (ks[0], ks[-1]))))
    finally:
        shutil.rmtree(wd, ignore_errors=True)

    py = {}
    for s in SERIES:
        if s in missing:
            py[s] = {"missing": missing[s]}
            continue
        py[s] = {}
        for k in ks:
            st = C.summary(samples[s][k])
            if st:
                py[s][str(k)] = {"median_ns_per_tx": st["median"],
                                 "median_ns_per_write": st["median"] / k,
                                 "min_ns_per_tx": st["min"], "max_ns_per_tx": st["max"],
                                 "samples_ns_per_tx": st["samples"]}

    cb, c_missing, c_context = {}, None, None
    try:
        data = C.run_pmo_bench(C_FILTER, "pmem", min_time=0.02 if args.quick else 0.1,
                               repetitions=1 if args.quick else 3, label="pmo_bench tx")
        cb = C.bench_table(data)
        c_context = C.bench_context(data)
    except (C.PmoBenchMissing, RuntimeError, OSError) as e:
        c_missing = str(e)
        C.progress("C benchmarks MISSING: %s" % e)

    kmax = str(ks[-1])
    pl = py.get("pmemobj list", {}).get(kmax, {}).get("median_ns_per_write")
    zl = py.get("zodb list", {}).get(kmax, {}).get("median_ns_per_write")
    T = [
        C.target("list[i] = int, %s writes in one tx: pmemobj ns per write" % kmax,
                 pl, 500.0, "<=", "ns",
                 "median over rounds of (time of the transaction) / k",
                 group="writes in one tx",
                 missing=missing.get("pmemobj list", "no sample")),
        C.target("list[i] = int, %s writes in one tx: zodb / pmemobj" % kmax,
                 zl / pl if zl and pl else None, 1.0, ">=", "x",
                 "median ZODB transaction time / median pmemobj transaction time",
                 group="writes in one tx",
                 detail="%s vs %s per write" % (C.fmt_ns(zl), C.fmt_ns(pl)) if zl and pl else None,
                 missing="no sample for pmemobj or zodb"),
    ]
    meta = C.metadata(NAME, args.quick)
    data = dict(meta)
    data.update({
        "what": "time of one transaction overwriting k items of a container with "
                "ints, and per write, vs k",
        "method": {"python": "%d rounds, systems rotated; container of %d items "
                             "prefilled; each sample repeats the transaction for "
                             ">= %d ms and takes the mean; median over rounds"
                             % (rounds, length, target_ns / 1e6),
                   "c": "pmo_bench --benchmark_filter='%s'" % C_FILTER},
        "units": {"ns_per_tx": "ns per transaction (commit included)",
                  "ns_per_write": "ns per transaction / k"},
        "ks": ks,
        "python": py,
        "c": {"benchmarks": cb, "context": c_context, "missing": c_missing},
        "errors": errors,
        "targets": T,
    })
    C.write_json(os.path.join(out, NAME + ".json"), data)
    draw(os.path.join(out, NAME + ".png"), meta, py, cb, ks)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
