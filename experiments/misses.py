"""Why a target was missed: the one home of the reasons run_all.py prints
beside each miss (summary.md, "Not met in this run") and keeps in
summary.json ("missed": [{..., "why": ...}]).

Each reason is formed from numbers measured in the same run -- the rows of
the summary and the experiments' JSON files -- never typed in: a floor
(what libpmemobj, the interpreter or the pool format costs by itself,
measured beside the target), noise at the edge (the spread of the rounds),
or, where neither, a plain "not a floor ...; not done".  A target missed
with no reason here says so.

    why(t, rows, data) -> str

t is the missed target's row, rows all rows of the summary, data the
experiments' JSON by name (e.g. data["ops_vs_peers"]).
"""

import re
import statistics

import common as C

EDGE = 1.05      # a miss by at most this factor may be noise: the rounds say


def _ns(v):
    return C.fmt_ns(v) if v is not None else "?"


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _spread(num, den, goal, cmp):
    """Per-round ratios of two alternated sample lists: 'rounds 1.1x-1.4x,
    k of n meet the goal', or None without samples."""
    if not num or not den or len(num) != len(den):
        return None
    rs = [a / b for a, b in zip(num, den) if b]
    if not rs:
        return None
    ok = sum(1 for r in rs if (r <= goal if cmp == "<=" else r >= goal))
    return "per-round ratios %.2fx-%.2fx (median %.2fx), %d of %d rounds meet %s %.3gx" % (
        min(rs), max(rs), statistics.median(rs), ok, len(rs), cmp, goal)


def _edge(t, spread):
    off = 1 / t["margin"]
    if spread and off <= EDGE:
        return "noise at the edge: off by %.2fx, within %.2fx; %s" % (off, EDGE, spread)
    return None


# -- autocommitted writes and the empty transaction (ops_vs_peers) --------------

def _write(t, rows, data, w):
    d = data.get("ops_vs_peers") or {}
    fl = _get(d, "floor", "pooled") or {}
    import ops_vs_peers as O
    bench, what = O.WRITE_FLOORS[w]
    f, r = _get(fl, bench, "median"), _get(fl, O.FLOOR, "median")
    p = _get(d, "results", w, "systems", "pmemobj", "median_ns")
    if not (f and r and p):
        return None
    fr = f / r
    head = ("floor: raw libpmemobj %s (pmo_bench %s) takes %s = %.3fx the 1-slot tx (%s) "
            "in this run" % (what, bench, _ns(f), fr, _ns(r)))
    fc = _get(d, "floor", "flush_counts", bench)
    ops = [c for c in (t.get("flushes") or {}).values() if c]
    if fc and ops:
        head += " with %g flushes / %g fences (pmemobj's op: %s/%s)" % (
            fc["flushes"], fc["drains"], ops[0]["flushes"], ops[0]["fences"])
    other = ""
    if bench == "RawWordLogDictAdd":
        # The other ways to make a new entry durable, measured beside it:
        # a libpmemobj transaction logging the insert's ranges, and the
        # action API (entry persisted, cell word and counters published
        # through the lane's redo log).
        alt = [(n, how, _get(fl, n, "median")) for n, how in
               (("RawTxDictAdd", "as a libpmemobj transaction"),
                ("RawPublishDictAdd", "through the action API"))]
        other = "".join("; the same insert %s (%s) takes %s = %.3fx" % (how, n, _ns(v), v / r)
                        for n, how, v in alt if v)
    if fr > t["goal"]:
        return head + other + "; the floor alone misses %.3gx" % t["goal"]
    if p <= f:
        return head + other + "; pmemobj's %s is not above it: the C and Python runs " \
            "disagree (noise), not a floor" % _ns(p)
    return head + (", under the %.3gx goal (%s)%s; pmemobj's %s is %s above %s (the "
                   "Python call, %s, slot encoding, pmemobj's own tx bookkeeping): not a "
                   "floor; not done" % (
                       t["goal"], _ns(t["goal"] * r), other, _ns(p), _ns(p - f), bench,
                       "the attribute's name lookup" if w.startswith("attr")
                       else "the key's hash and probe"))


def _empty_tx(t, rows, data):
    d = data.get("ops_vs_peers") or {}
    fl, py = _get(d, "floor", "pooled") or {}, d.get("python_floors") or {}
    p = _get(d, "results", "empty_tx", "systems", "pmemobj", "median_ns")
    r, e = _get(fl, "RawTxEmpty", "median"), _get(fl, "TxEmpty", "median")
    w, a = _get(py, "with_lock", "median"), _get(py, "lock_calls", "median")
    if not (p and r and e and w and a):
        return None
    floor = (w - a) + e
    if floor >= p:
        # The lock's with-block binds __enter__ and __exit__ on every
        # block; pmemobj's binds them once per pool, so it is no floor.
        return ("no floor from the interpreter: a with-block over threading.Lock (%s, "
                "less the same lock calls made plainly, %s) plus pmemobj's C begin + commit "
                "(TxEmpty, %s) is %s, more than pmemobj's whole block (%s), whose "
                "__enter__ and __exit__ are bound once per pool where the lock's are bound "
                "on every block; pmemobj's block is %.2fx the raw empty tx (%s), the rest "
                "being the with-statement itself and the call of pool.transaction(): "
                "not shown to be a floor; not done" % (
                    _ns(w), _ns(a), _ns(e), _ns(floor), _ns(p), p / r, _ns(r)))
    return ("floor: the interpreter's with-statement (a with-block over threading.Lock, %s, "
            "less the same lock calls made plainly, %s) is %s, and pmemobj's C begin + "
            "commit (TxEmpty) %s; together %s = %.2fx the raw empty tx (%s); a with-block "
            "over threading.Lock costs %s in all, %s pmemobj's whole block (%s); %s" % (
                _ns(w), _ns(a), _ns(w - a), _ns(e), _ns(floor), floor / r, _ns(r), _ns(w),
                "more than" if w > p else "less than", _ns(p),
                "the floor alone misses %.3gx" % t["goal"] if floor / r > t["goal"] else
                "the remaining %s is the calls of pool.transaction(), __enter__ and "
                "__exit__ (bound once per pool, no allocation): not a floor; not done"
                % _ns(p - floor)))


def _modes(t, rows, data):
    """A modes row times, with fewer rounds, an operation ops_vs_peers also
    times in this run: the workload its detail names ('dict_set_int: ...')."""
    m = re.match(r"(\w+):", t.get("detail") or "")
    if not m:
        return None
    w = m.group(1)
    start = ("empty transaction: pmemobj (Python with-block)" if w == "empty_tx"
             else w + " autocommit (")
    base = next((x for x in rows if x["label"].startswith(start)), None)
    if base is None or base.get("met") is None:
        return None
    mode = re.search(r" in mode ([^ ,:]+)", t["label"]).group(1)
    head = ("%s, timed here in mode %s by the modes harness (fewer rounds, pmemobj "
            "alone, against the raw tx in the same mode); ops_vs_peers times the same "
            "operation in mode pmem in this run: %s, %s" % (
                w, mode, C.fmt_value(base["measured"], base["unit"]), base["status"]))
    if base["met"] and mode == "pmem":
        return head + "; the two disagree: noise of this shorter measurement, not a floor"
    if base["met"]:
        return head + "; what mode %s adds is not measured apart: not shown to be a " \
            "floor; not done" % mode
    return head + "; the reason is that row's: " + why(base, rows, data)


# -- reads -------------------------------------------------------------------------

def _read(t, rows, data, w):
    d = data.get("ops_vs_peers") or {}
    s = _get(d, "results", w, "systems") or {}
    p, b = _get(s, "pmemobj", "median_ns"), _get(s, "plain", "median_ns")
    py = d.get("python_floors") or {}
    # An iteration is held to a C type's iteration, every other read to its
    # indexing: the interpreter's share differs between the two shapes.
    shape = "iterate" if w == "list_iterate" else "index"
    arr, lst = _get(py, "array_" + shape, "median"), _get(py, "list_" + shape, "median")
    what = ("an iteration over array.array('q')" if shape == "iterate"
            else "array.array('q')[i]")
    edge = _edge(t, _spread(_get(s, "pmemobj", "samples_ns"), _get(s, "plain", "samples_ns"),
                            t["goal"], "<="))
    if edge:
        return edge
    if not (p and b and arr and lst):
        return None
    if arr / lst > t["goal"]:
        return ("floor: a C type's read that must box its result (%s, %s) costs %.2fx a "
                "list's (%s) in this run, over the %.3gx goal by itself; pmemobj's %.2fx "
                "is %.2fx that floor" % (what, _ns(arr), arr / lst, _ns(lst), t["goal"],
                                         p / b, (p / b) / (arr / lst)))
    return ("floor measured in this run: a C type's read that must box its result "
            "(%s, %s) costs %.2fx a list's (%s), under the %.3gx goal; "
            "pmemobj's %s vs plain %s leaves %s per read in pmemobj's own path (%s): "
            "not a floor; not done" % (
                what, _ns(arr), arr / lst, _ns(lst), t["goal"], _ns(p), _ns(b),
                _ns(p - b * arr / lst), READ_PATHS.get(w, "proxy check, pool lock, slot decode")))


# What a read does beyond boxing its result, by workload (the hot paths as
# python/_pmemobj has them; list reads and attribute-name lookups skip the
# lock and the validation while the pool's epoch is unchanged).
READ_PATHS = {
    "list_index": "the index conversion, the check that the pool is unchanged since the "
                  "list's array was seen, the slot decode",
    "list_iterate": "the iterator's check that the pool is unchanged, the slot decode",
    "attr_get": "the class's descriptor lookup (a name the class defines is not stored), "
                "the recent-name check, the pool lock, the object's validation and the "
                "linear search of its attribute table, the slot decode",
    "dict_get_int": "proxy check, pool lock, the table's validation, the probe, the slot decode",
    "dict_contains_int": "proxy check, pool lock, the table's validation, the probe",
    "dict_get_str": "proxy check, pool lock, the table's validation, the probe str's keyed "
                    "SipHash (the stored hashes are of that function, so Python's cached "
                    "str hash cannot serve), the probe, comparing the stored str's UTF-8, "
                    "the slot decode",
}


def _per_write(t, rows, data, w):
    s = _get(data.get("ops_vs_peers"), "results", w, "systems", "pmemobj", "samples_ns")
    if not s:
        return None
    ok = sum(1 for x in s if x <= t["goal"])
    spread = "per-round %s-%s (median %s), %d of %d rounds meet <= %s" % (
        _ns(min(s)), _ns(max(s)), _ns(statistics.median(s)), ok, len(s), _ns(t["goal"]))
    return _edge(t, spread) or "not a floor; %s; not done" % spread


# -- open, footprint ---------------------------------------------------------------

def _open(t, rows, data):
    c = next((x for x in rows if x["label"].startswith("clean open, C core: time at")), None)
    if c is None or c["measured"] is None:
        return None
    text = ("not a floor: pmo_bench's clean open (OpenClean) grows %.2fx over the same 3 "
            "decades in this run, the Python open %.2fx" % (c["measured"], t["measured"]))
    sizes = _get(data.get("gc_recovery"), "python", "str") or {}
    ns = sorted(sizes, key=int)
    own = [_get(sizes, n, "open_clean_own_ns", "median") for n in (ns[:1] + ns[-1:])]
    if len(ns) > 1 and all(own):
        text += ("; of it, the core's open as the package calls it (pool.stats()['open_ns']) "
                 "takes %s at %s objects and %s at %s (%.2fx): the growth is in that call, "
                 "which OpenClean's pools of the same counts do not show (how the two "
                 "pools or opens differ is not found)" % (
                     _ns(own[0]), ns[0], _ns(own[1]), ns[-1], own[1] / own[0]))
    return text + "; not done"


def _allocation_floor(data):
    """What one libpmemobj allocation costs beside the one-slot transaction
    that attr_set_new's goal is a multiple of, from the same run's C
    benchmarks."""
    table = _get(data.get("c_bench"), "benchmarks") or {}
    alloc = (table.get("RawAllocFree32") or {}).get("median_ns")
    tx = (table.get("RawTx16") or {}).get("median_ns")
    if not (alloc and tx):
        return ""
    return ("; libpmemobj's atomic allocation and free (RawAllocFree32) took %s in this "
            "run, %.2fx the one-slot transaction (RawTx16, %s) of which attr_set_new may "
            "take 1.5x, and a spill adds a transaction and the copy to its allocation; "
            "growth into space that needs no allocation (a pool-wide overflow table, not "
            "built) could meet both" % (_ns(alloc), alloc / tx, _ns(tx)))


def _footprint(t, rows, data, kind):
    d = data.get("footprint") or {}
    row = next((r for r in d.get("rows", []) if r.get("type") == kind), None)
    fmt = d.get("format")
    pm = (row or {}).get("pmemobj") or {}
    if not (row and fmt and pm.get("blocks_per_object") is not None):
        return None
    k = round(pm["blocks_per_object"])
    bare = round(pm.get("headerless_blocks_per_object", 0))
    pk = row["pickle"]
    # The headers of one value's blocks, on average over them.
    heads = fmt["pmo_head"] + (fmt["pmdk_header"] * (k - bare) / k if k else 0)
    per_value = pm["block_bytes_per_object"]
    acct = ("pool.stats() here: %s B per value = a %d B slot and %d heap block(s), %.0f B "
            "each with the container's growth slack (each block with pmemobj's %d B header and, "
            "%d of them, libpmemobj's %d B allocation header (objects of up to %d B have "
            "none), rounded up to %d B units); "
            "pickle's %.1f B carry no per-object header, no allocation unit and no random "
            "access" % (_fmt(per_value), fmt["slot"], k,
                        (per_value - fmt["slot"]) / k if k else 0,
                        fmt["pmo_head"], k - bare, fmt["pmdk_header"],
                        fmt.get("headerless_max", 0), fmt["unit"], pk))
    slots = row.get("slots", 1)
    # What any layout keeping #9's in-place overwrite needs (footprint.LEAST).
    words, other = row.get("least_words", 1), row.get("least_other_bytes", 0)
    least_any = row.get("least_bytes")
    if least_any and least_any / pk > t["goal"]:
        if words == 1 and not other:
            what = ("the reference that holds the value, one 8-byte word (a pool offset; a "
                    "pool may pass 4 GiB), alone takes %d B = %.2fx pickle before the "
                    "value's own header and length, over the %.3gx goal: a pickle is inside "
                    "its parent's bytes and needs no reference" % (
                        least_any, least_any / pk, t["goal"]))
        else:
            what = ("one 8-byte word for the reference that holds the value (a pool offset) "
                    "and one for each item or value (so that any int is written over an int "
                    "by one failure-atomic store, the overwrite target) make %d words%s: "
                    "%d B = %.2fx pickle before any header, length or tag, over the %.3gx "
                    "goal; pickle packs a small int in 2 to 5 bytes and is read only whole, "
                    "which no layout updated in place can do" % (
                        words, ", and the keys, never overwritten, at the fewest bytes any "
                        "per-key encoding has for them, %d B" % other if other else "",
                        least_any, least_any / pk, t["goal"]))
        return ("floor of any layout that keeps the in-place overwrite: %s; %s; pmemobj's "
                "%d B slots (word and tag) take %d B = %.2fx" % (
                    acct, what, fmt["slot"], slots * fmt["slot"], slots * fmt["slot"] / pk))
    if slots * fmt["slot"] / pk > t["goal"]:
        return ("floor of the slot design: %s; the value's %d slot(s) of %d B alone (the one "
                "that refers to it and the items, keys and values it holds) take %d B = "
                "%.2fx pickle before any header, over the %.3gx goal: every value and item "
                "is a slot so that it is read in place and overwritten failure-atomically "
                "with one 8-byte store; a layout of one word per item could meet it" % (
                    acct, slots, fmt["slot"], slots * fmt["slot"],
                    slots * fmt["slot"] / pk, t["goal"]))
    spare = row.get("spare_slots", 0) * fmt["slot"]
    if spare and (per_value - spare) / pk <= t["goal"]:
        return ("a trade-off, not a floor: %s; of these, %d B are slots kept free so that "
                "an attribute added after the object was made is published in place (one "
                "flush of the value, one word for the shape: attr_set_new) rather than "
                "moving the attributes to a table of their own, an allocation in a "
                "transaction (an object cannot grow where it is: its offset is its "
                "identity)%s; without them %.0f B = %.2fx pickle, under the %.3gx goal" % (
                    acct, spare, _allocation_floor(data), per_value - spare,
                    (per_value - spare) / pk, t["goal"]))
    # Rounding a block up to whole units adds at most unit - 1 bytes: what
    # is left after taking that off is what the format's headers and the
    # type's own fields take.
    least = per_value - k * (fmt["unit"] - 1)
    if least / pk > t["goal"]:
        return ("floor of the pool format: %s; less the most that rounding to units can "
                "add (%d B a block), the slot, the %d B of headers per block and the "
                "type's own fields and payload still take %.0f B = %.2fx pickle, over the "
                "%.3gx goal; only a smaller header or field layout, a format change, would "
                "meet it" % (acct, fmt["unit"] - 1, round(heads), least, least / pk, t["goal"]))
    return ("not a floor of the allocation minimum: %s; without the rounding to %d B units "
            "(at most %d B a block) it could take %.0f B = %.2fx pickle, under the %.3gx "
            "goal: rounding makes the difference; an object layout a few bytes smaller (a "
            "format change) would meet it; not done" % (
                acct, fmt["unit"], fmt["unit"] - 1, least, least / pk, t["goal"]))


def _fmt(v):
    return "%.1f" % v


# -- arrays, sorted map (#12) ------------------------------------------------------

def _reduction(t, rows, data, name):
    a = data.get("arrays") or {}
    e = _get(a, "reductions", name) or {}
    spread = _spread(e.get("persistent_samples_ns"), e.get("memory_samples_ns"),
                     t["goal"], "<=")
    edge = _edge(t, spread)
    if edge:
        return edge
    small = e.get("small_pages_ratio")
    if small is not None and small <= t["goal"]:
        return ("floor of this mode's pages: the pool is a tmpfs file mapped in 4 KiB pages "
                "(this machine's shmem huge pages: %s), while NumPy madvises its in-memory "
                "array for 2 MiB transparent huge pages; over an in-memory array of 4 KiB "
                "pages (NumPy's madvise off, same run) the pool's %s is %.2fx (%s vs %s), "
                "within the %.3gx goal" % (
                    a.get("shmem_hugepages") or "unknown", name, small,
                    _ns(e.get("persistent_ns")), _ns(e.get("small_pages_ns")), t["goal"]))
    mapped = e.get("mapped_file_ratio")
    if mapped is not None and mapped * t["goal"] >= t["measured"]:
        return ("floor of a read through a file mapping in this mode: the same numbers in a "
                "plain file beside the pool, mapped by np.memmap with no pmemobj in the way, "
                "take %s, %.2fx the in-memory array (same alternated rounds); the pool's %s "
                "is %.2fx that mapped file, within the %.3gx goal" % (
                    _ns(e.get("mapped_file_ns")), mapped, name, t["measured"] / mapped,
                    t["goal"]))
    why = ["not a floor: numpy reads the mapped pool as it reads memory; off by %.2fx with %s"
           % (1 / t["margin"], spread or "no per-round samples")]
    if small is not None:
        why.append("against 4 KiB-page memory it is %.2fx, so page size is not all of it"
                   % small)
    if mapped is not None:
        why.append("against a plain file mapped by np.memmap it is %.2fx"
                   % (t["measured"] / mapped))
    return "; ".join(why + ["not done"])


def _write_1mib(t, rows, data):
    e = _get(data.get("arrays"), "write_1mib") or {}
    p, f = e.get("pmemobj_ns"), e.get("floor_ns")
    cf = e.get("c_floor") or {}
    copy, snap = _get(cf, "RawRangeCopy1MiB", "median_ns"), _get(cf, "RawTxRange1MiB", "median_ns")
    rlog = _get(cf, "RawRangeLogTx1MiB", "median_ns")
    if not (p and f and copy and snap and rlog):
        return None
    lf = rlog / copy
    head = ("pmo_bench in this run, against its durable 1 MiB copy into one range "
            "(RawRangeCopy1MiB, %s), with the written MiB taken in turn from 64 MiB as "
            "arrays.py's from its array: libpmemobj's own transaction snapshotting the MiB "
            "(RawTxRange1MiB) takes %s = %.2fx, and the raw calls of the range log pmemobj uses "
            "instead (RawRangeLogTx1MiB: the old MiB read and copied aside, the new one written "
            "and flushed at commit, three passes where the copy makes one) %s = %.2fx" % (
                _ns(copy), _ns(snap), snap / copy, _ns(rlog), lf))
    if lf > t["goal"]:
        return "floor: " + head + "; the floor alone misses %.3gx" % t["goal"]
    spread = _spread(e.get("pmemobj_samples_ns"), e.get("floor_samples_ns"), t["goal"], "<=")
    return _edge(t, spread) or (
        "not a floor: %s, under the %.3gx goal; pmemobj's %s = %.2fx of the Python-timed "
        "memcpy+persist (%s) leaves %.2fx beyond the range log's raw calls (the with-block's "
        "transaction, the memoryview, NumPy's copy: not measured apart); %s; not done" % (
            head, t["goal"], _ns(p), p / f, _ns(f), p / f / lf,
            spread or "no per-round samples"))


SORTED_OPS = {"insert, autocommit": "insert_autocommit", "insert, one tx": "insert_in_tx",
              "lookup": "lookup", "range scan, 100 keys": "range_100"}
SORTED_SYSTEMS = {"OOBTree": "zodb", "PersistentSortedDict": "pmemobj",
                  "SortedDict (in memory)": "sortedcontainers"}


def _sorted(t, rows, data, op, a, b):
    s = _get(data.get("sorted_map"), "samples_ns", SORTED_OPS.get(op)) or {}
    spread = _spread(s.get(SORTED_SYSTEMS.get(a)), s.get(SORTED_SYSTEMS.get(b)),
                     t["goal"], t["cmp"])
    return _edge(t, spread) or ("not noise alone: off by %.2fx, %s; not a floor; not done"
                                % (1 / t["margin"], spread or "no per-round samples"))


# -- the open's metadata check (C core) ---------------------------------------------

def _preflight(t, rows, data, n):
    table = _get(data.get("c_bench"), "benchmarks") or {}     # c_bench's bench_table

    def med(name, k):
        e = table.get("%s/%s/manual_time" % (name, k))
        return e.get("median_ns") if e else None
    with_, without = med("OpenClean", n), med("OpenNoPreflight", n)
    small = med("OpenClean", 1000), med("OpenNoPreflight", 1000)
    if not (with_ and without):
        return None
    spread = _spread(table["OpenClean/%s/manual_time" % n].get("samples_ns"),
                     table["OpenNoPreflight/%s/manual_time" % n].get("samples_ns"),
                     t["goal"], "<=")
    grows = ""
    if all(small):
        d = small[0] - small[1]
        grows = ("; at 1000 objects it adds %s" % _ns(d) if d > 0 else
                 "; at 1000 objects it adds nothing measurable (the open without it took "
                 "%s more in this run)" % _ns(-d))
    return ("not a floor: before libpmemobj maps the file, the check reads the descriptor "
            "and every lane's logs through a private read-only mapping and every chunk and "
            "run header by pread, so its cost grows with the runs the heap holds: at %s "
            "objects it adds "
            "%s to the %s open%s; %s; not done" % (
                format(int(n), ","), _ns(with_ - without), _ns(without), grows,
                spread or "no per-round samples"))


# -- the table ---------------------------------------------------------------------

REASONS = [
    (r"^(dict_set_int|set_add_int|attr_set_new|list_append_int) autocommit \(other write\)",
     lambda t, r, d, m: _write(t, r, d, m.group(1))),
    (r"^empty transaction: pmemobj \(Python with-block\)", lambda t, r, d, m: _empty_tx(t, r, d)),
    (r"^(scalar overwrite|other write) autocommit in mode |^empty transaction in mode ",
     lambda t, r, d, m: _modes(t, r, d)),
    (r"^(dict_get_str|list_index|attr_get|dict_get_int|dict_contains_int|list_iterate): "
     r"pmemobj / plain Python", lambda t, r, d, m: _read(t, r, d, m.group(1))),
    (r"^(\w+_in_tx): pmemobj ns per write$", lambda t, r, d, m: _per_write(t, r, d, m.group(1))),
    (r"^clean open, Python: time at", lambda t, r, d, m: _open(t, r, d)),
    (r"^pool bytes / pickle bytes: (.+)$", lambda t, r, d, m: _footprint(t, r, d, m.group(1))),
    (r"^numpy\.(\w+) over ", lambda t, r, d, m: _reduction(t, r, d, m.group(1))),
    (r"^1 MiB transactional range write", lambda t, r, d, m: _write_1mib(t, r, d)),
    (r"^open with the preflight check / without, (\d+) objects",
     lambda t, r, d, m: _preflight(t, r, d, m.group(1))),
    (r"^(insert, autocommit|insert, one tx|lookup|range scan, 100 keys): (.+) / (.+)$",
     lambda t, r, d, m: _sorted(t, r, d, *m.groups())),
]

NONE = "no reason recorded for this target (experiments/misses.py)"


def why(t, rows, data):
    """The reason for the missed target t, from this run's numbers."""
    for pattern, fn in REASONS:
        m = re.match(pattern, t["label"])
        if not m:
            continue
        try:
            text = fn(t, rows, data, m)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
            return "%s (the reason could not be formed: %s: %s)" % (NONE, type(e).__name__, e)
        return text or "%s (its measurements are missing from this run)" % NONE
    return NONE
