"""The kill torture: processes running random transactions are SIGKILLed at
random moments, and every recovered pool is checked by an oracle.

    python tests/crash/torture.py [--runs N] [--kills-per-run K] [--seed S]
        [--max-delay SECONDS] [--timeout SECONDS] [--no-aborts]
        [--stop-after V] [--json PATH] [--keep-states DIR] [--build DIR] [--quiet]

A run starts from a fresh pool (tests/workload/workload.py's populate) and
kills K children in turn, each continuing on the pool its predecessor left.
One kill:

1. The pool file is copied (the replay copy), then a forked child opens
   the pool and runs the random transactions of tests/workload/workload.py
   (every mutating operation of every persistent type; autocommitted,
   several in one, nested and aborted transactions, and gc; the
   power-failure simulator's workload) with this kill's seed.  Before transaction i it writes
   "B i shape" to a pipe, after it "E i": the pipe, not the pool, is the
   record of what was acknowledged, and it survives the child's death.
2. After a random delay (0 to --max-delay, so that some kills land in the
   open and its recovery) the parent SIGKILLs the child and reads the pipe.
   The kill landed mid-transaction when the last whole line is a "B" (of
   any shape but "nothing", which touches no pool): between announcing a
   transaction and acknowledging it, so this counts the Python work of
   choosing its operations too, and the instant after its commit.
3. A forked verifier (killed and reported as a hang after --timeout)
   replays the same seed on the replay copy, without a kill, for the
   acknowledged transactions and the one in flight, recording the state
   after each of the last two; then opens the killed pool (recovery and gc
   at open), reads everything and requires the state after exactly the
   last acknowledged transaction or after the one in flight (all or
   nothing), pool.check()["ok"], and a pool that stays usable: one more
   transaction, and a reopen that finds it.

Why replay rather than states recorded by the child (as the power-failure
simulator does): recording a state means reading the whole pool after
every transaction, which would take most of the child's time, so most
kills would land between transactions rather than in them; and a record
of the state in flight can only come from somewhere without the kill.
The workload is deterministic (its choices depend on the seed and the
pool's logical state only), and the replay starts from a byte copy of the
pool the child opened, so it meets the same states.  The replay runs the
same build and planted bug as the child: only the kill differs.

A violation ends its run (the pool is then in an unknown state); the next
run starts from a fresh pool.  Violations name the operations in flight
and the root keys that differ from each expected state; --keep-states
keeps the states themselves.

The last line: `crash: R runs, K kills, M mid-transaction, V violations`.
A build with -DPMO_PLANT_BUGS=ON run with PMO_PLANTED_BUG=skip_len_snapshot
(a list append that does not save the list's length, so rollback after a
kill mid-transaction leaves the longer length) must give violations, and
must give none with no bug switched on: that shows the torture can fail.
"""

import argparse
import ast
import json
import os
import random
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "workload"))
sys.path.insert(0, os.path.join(REPO, "bench"))
from workload import RandomTransactions, plain, populate  # noqa: E402

POOL_SIZE = 64 << 20
# A child is killed long before it runs this many transactions; one that
# gets there stops, and the kill is counted as "finished" (not a kill).
MAX_TRANSACTIONS = 1_000_000
# --keep-states DIR: where a verifier writes the states of a violation.
STATES_DIR = None


def child(pool_path, seed, aborts, w):
    """The killed process: transactions until the SIGKILL comes."""
    import pmemobj
    try:
        pool = pmemobj.open(pool_path)
        work = RandomTransactions(pool, random.Random(seed), aborts)
        for i in range(MAX_TRANSACTIONS):
            work.step(lambda shape: os.write(w, b"B %d %s\n" % (i, shape.encode())))
            os.write(w, b"E %d\n" % i)
        pool.close()
        os.write(w, b"finished\n")
    except BaseException:                                  # noqa: BLE001
        os.write(w, b"X " + traceback.format_exc()[-2000:].encode().replace(b"\n", b" | ")
                 + b"\n")
        os._exit(3)
    os._exit(0)


def kill_child(pool_path, seed, aborts, delay):
    """Fork the child, kill it after delay seconds; what it acknowledged."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        child(pool_path, seed, aborts, w)
    os.close(w)
    out = bytearray()
    deadline = time.monotonic() + delay
    # Drain the pipe while waiting, so that the child never blocks on it.
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            chunk = os.read(r, 65536)
            if not chunk:
                break                                      # it ended by itself
            out += chunk
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _, status = os.waitpid(pid, 0)
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    acked, in_flight, shape, error, finished = 0, False, None, None, False
    # A line cut short by the kill is not a record: only whole lines count.
    for line in bytes(out).split(b"\n")[:-1]:
        if line.startswith(b"B "):
            in_flight, shape = True, line.split()[2].decode()
        elif line.startswith(b"E "):
            acked, in_flight = int(line.split()[1]) + 1, False
        elif line.startswith(b"X "):
            error = line[2:].decode(errors="replace")
        elif line == b"finished":
            finished = True
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return {"acked": acked, "in_flight": in_flight, "shape": shape if in_flight else None,
            "killed": killed and not finished and error is None, "error": error}


def verify(pool_path, replay_path, seed, aborts, acked, in_flight, mark):
    """In the verifier process: the outcome of one kill, or raise
    AssertionError saying what is wrong."""
    import pmemobj
    # The oracle: the same seed replayed on the copy, without a kill.
    pool = pmemobj.open(replay_path)
    work = RandomTransactions(pool, random.Random(seed), aborts)
    for _ in range(acked):
        work.step()
    expected = [json.dumps(plain(pool.root))]
    ran = []
    if in_flight:
        work.step()
        ran = work.ran
        expected.append(json.dumps(plain(pool.root)))
    pool.close()
    try:
        return judge(pool_path, expected, acked, in_flight, mark)
    except Exception as e:                                 # noqa: BLE001
        what = str(e) if isinstance(e, AssertionError) else "%s: %s" % (type(e).__name__, e)
        # The operations first: details are cut at 400 characters.
        raise AssertionError("[operations in flight: %s] %s" % (ran or "none", what)) from e


def judge(pool_path, expected, acked, in_flight, mark):
    """The killed pool against the expected states: its outcome."""
    import pmemobj
    # Recovery and gc at open.
    pool = pmemobj.open(pool_path)
    try:
        got = json.dumps(plain(pool.root))
        if got == expected[0]:
            outcome = ("in flight, no change" if in_flight and expected[1] == got else
                       "in flight, rolled back" if in_flight else
                       "acknowledged" if acked else "before the first transaction")
        elif in_flight and got == expected[1]:
            outcome = "in flight, committed"
        else:
            if STATES_DIR:                         # --keep-states: for a closer look
                with open(os.path.join(STATES_DIR, "violation-%d.json" % mark), "w") as f:
                    json.dump({"got": got, "expected": expected}, f)
            raise AssertionError("state after neither the last acknowledged transaction "
                                 "(%d) nor the one in flight; root keys that differ %s"
                                 % (acked, differing_keys(got, expected)))
        report = pool.check()
        if not report["ok"]:
            raise AssertionError("check() not ok: %r" % (report.get("problems", [])[:3],))
        # Usable: one more transaction, found again after a reopen.
        with pool.transaction():
            pool.root["after kill"] = (mark, "x" * (mark % 40))
    finally:
        pool.close()
    pool = pmemobj.open(pool_path)
    try:
        if pool.root["after kill"] != (mark, "x" * (mark % 40)):
            raise AssertionError("the write after the kill was not found after a reopen")
    finally:
        pool.close()
    return outcome


def differing_keys(got, expected):
    """Which root keys differ from each expected state, as text (a torn
    transaction matches each state in some keys, neither in all)."""
    def items(state):
        # plain(): ["dict", [[repr(plain(key)), plain(value)], ...]]; a
        # plain key is [type name, repr].
        return {ast.literal_eval(k)[1]: json.dumps(v) for k, v in json.loads(state)[1]}
    have = items(got)
    out = []
    for name, e in zip(("the acknowledged state", "the in-flight state"), map(items, expected)):
        keys = sorted(k for k in set(have) | set(e) if have.get(k) != e.get(k))
        out.append("from %s in %s" % (name, " ".join(keys) or "none"))
    return "; ".join(out)


def run_verifier(timeout, *args):
    """verify() in a forked child: its outcome, or ("violation", what)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            verdict = "ok " + verify(*args)
        except BaseException as e:                         # noqa: BLE001
            verdict = "bad " + (str(e) if isinstance(e, AssertionError) else
                                "%s: %s" % (type(e).__name__, e))
        try:
            os.write(w, verdict.encode()[:4000])
        finally:
            os._exit(0)       # never a second torture, whatever the write did
    os.close(w)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return "violation", "hang (no verdict in %g s)" % timeout
        time.sleep(0.001)
    out = os.read(r, 4096).decode(errors="replace")
    os.close(r)
    if os.WIFSIGNALED(status):
        return "violation", "crash (signal %d)" % os.WTERMSIG(status)
    if out.startswith("ok "):
        return out[3:], None
    return "violation", out[4:] or "verifier exited %d with no verdict" % status


def torture(args, work):
    import pmemobj
    rng = random.Random(args.seed)
    pool_path = os.path.join(work, "pool")
    replay_path = os.path.join(work, "replay")
    totals = {"runs": 0, "kills": 0, "mid_transaction": 0, "not_killed": 0, "acknowledged": 0}
    outcomes, mid_by_shape, violations = {}, {}, []
    for run in range(args.runs):
        totals["runs"] += 1
        if os.path.exists(pool_path):
            os.unlink(pool_path)
        pool = pmemobj.create(pool_path, pool_size=POOL_SIZE)
        populate(pool)
        pool.close()
        for k in range(args.kills_per_run):
            seed = rng.randrange(1 << 32)
            delay = rng.uniform(0, args.max_delay)
            shutil.copyfile(pool_path, replay_path)
            kill = kill_child(pool_path, seed, not args.no_aborts, delay)
            where = {"run": run, "kill": k, "seed": seed, "delay_s": round(delay, 4),
                     "acknowledged": kill["acked"], "in_flight": kill["shape"]}
            if not kill["killed"]:
                # The child failed or finished before the kill: the
                # workload itself went wrong (or --max-delay is too long).
                totals["not_killed"] += 1
                violations.append(dict(where, problem="child not killed: %s"
                                       % (kill["error"] or "finished")))
                outcomes["violation"] = outcomes.get("violation", 0) + 1
                if not args.quiet and len(violations) <= 20:
                    print("violation %r" % violations[-1], flush=True)
                break                                      # the pool is unknown: next run
            totals["kills"] += 1
            totals["acknowledged"] += kill["acked"]
            # In flight: announced, not acknowledged.  "nothing" (the
            # aborted transaction's turn under --no-aborts) touches no pool.
            if kill["in_flight"] and kill["shape"] != "nothing":
                totals["mid_transaction"] += 1
                mid_by_shape[kill["shape"]] = mid_by_shape.get(kill["shape"], 0) + 1
            outcome, problem = run_verifier(args.timeout, pool_path, replay_path, seed,
                                            not args.no_aborts, kill["acked"],
                                            kill["in_flight"], run * args.kills_per_run + k)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if problem:
                violations.append(dict(where, problem=problem[:400]))
                if not args.quiet and len(violations) <= 20:
                    print("violation %r" % violations[-1], flush=True)
                break                                      # the pool is unknown: next run
        if args.stop_after and len(violations) >= args.stop_after:
            break
        if not args.quiet and (run + 1) % max(1, args.runs // 10) == 0:
            print("%d runs, %d kills, %d violations" % (run + 1, totals["kills"],
                                                          len(violations)), flush=True)
    return totals, outcomes, mid_by_shape, violations


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--kills-per-run", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-delay", type=float, default=0.08,
                    help="kill each child after a delay drawn from 0 to this (seconds)")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="a verifier with no verdict by then is a hang")
    ap.add_argument("--no-aborts", action="store_true",
                    help="no aborted transactions (the planted bug breaks rollback "
                         "outright; without aborts only a kill shows it)")
    ap.add_argument("--stop-after", type=int, default=0, metavar="V",
                    help="stop after the run in which the V-th violation was found")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the build whose extension to use")
    ap.add_argument("--json")
    ap.add_argument("--keep-states", metavar="DIR",
                    help="write each violation's recovered and expected states (as "
                         "plain() JSON) to DIR/violation-N.json")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    global STATES_DIR
    STATES_DIR = args.keep_states
    t0 = time.time()
    if args.build != os.path.join(REPO, "build"):
        os.environ["PMEMOBJ_EXT_DIR"] = args.build
    os.environ["PMEM_IS_PMEM_FORCE"] = "1"
    sys.path.insert(0, os.path.join(REPO, "python"))
    import pmemobj  # noqa: F401  (imported once, before the forks)
    work = tempfile.mkdtemp(prefix="pmemobj-crash-", dir="/dev/shm")
    try:
        totals, outcomes, mid_by_shape, violations = torture(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    last = "crash: %d runs, %d kills, %d mid-transaction, %d violations" % (
        totals["runs"], totals["kills"], totals["mid_transaction"], len(violations))
    if not args.quiet:
        for name, count in sorted(outcomes.items()):
            print("%-28s %6d" % (name, count))
        print("kills mid-transaction by shape: %s" % json.dumps(mid_by_shape, sort_keys=True))
    if args.json:
        from machine import git_info, machine
        with open(args.json, "w") as f:
            json.dump({"runs": totals["runs"], "kills": totals["kills"],
                       "violations": len(violations),
                       "mid_transaction": totals["mid_transaction"],
                       "last_line": last, "outcomes": outcomes,
                       "mid_transaction_by_shape": mid_by_shape,
                       "acknowledged_transactions": totals["acknowledged"],
                       "not_killed": totals["not_killed"],
                       "kills_per_run": args.kills_per_run, "max_delay_s": args.max_delay,
                       "aborts": not args.no_aborts, "seed": args.seed,
                       "timeout_s": args.timeout, "violation_details": violations[:50],
                       "seconds": round(time.time() - t0, 1), "machine": machine(),
                       "commit": git_info(exclude=("results",)), "build": args.build,
                       "mode": "pmem (/dev/shm, PMEM_IS_PMEM_FORCE=1)"}, f, indent=1)
            f.write("\n")
    print(last, flush=True)
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
