"""Flushes and fences per operation, pinned.

experiments/flush_counts.py counts libpmem's flush and fence calls around
each operation (with bench/c's interposer preloaded).  The counts are
deterministic, so they are pinned here: a change that adds (or removes) a
flush or a fence fails this test until PINNED is changed on purpose, in the
same commit, with the reason in its message.  (Times would be useless
here: this machine's vary by 2x from minute to minute.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "experiments" / "flush_counts.py"
SO = REPO / "build" / "libpmo_flushcount.so"

# operation: (flushes, fences) of one autocommitted operation or transaction.
PINNED = {
    "empty transaction": (0, 0),
    "list[i] = int (over an int)": (1, 1),
    "list[i] = float (over a float)": (1, 1),
    "list[i] = int or float (over the other)": (4, 5),
    "list[i] = short str": (1, 1),
    "list[i] = long str": (10, 7),
    # Published, not logged (pmo_tx_publish), as a new attribute:
    # it was (5, 5) in a transaction.
    "list.append(int)": (2, 3),
    "list.pop()": (7, 7),
    "dict[k] = int (existing key)": (1, 1),
    # Published through the word log (src/wordlog.h): the entry and the
    # record flushed, a fence; the cell and the counters (one line), a
    # fence.  It was (8, 7) in a transaction.
    "dict[k] = int (new key)": (4, 2),
    "dict[short str] = short str (new)": (4, 2),
    "del dict[k]": (10, 9),
    "setattr (existing, int)": (1, 1),
    "set.add(int)": (4, 2),           # as a dict's new key; (8, 7) before
    "pool.root = int": (1, 1),
    "transaction of 1 list write": (4, 5),
    "transaction of 10 list writes": (22, 23),
    "array[i] = float": (4, 5),
    "list[i] = bool (over a bool)": (1, 1),
    "list[i] = None (over None)": (1, 1),
    # Published, not logged (pmo_tx_publish): the slot persisted, then the
    # shape by a one-word pmemobj_publish; it was (5, 5) in a transaction.
    "setattr (new attribute)": (2, 3),
    "transaction of 100 dict[int] = int (new keys)": (14, 7),
    "transaction of 100 dict[short str] = short str (new keys)": (14, 7),
    "transaction of 100 list.append(int)": (17, 9),
    "transaction of 100 list.append(short str)": (17, 9),
    # Shaped objects (src/object.h), smaller than the attribute tables
    # before: 2 fewer lines at commit; it was (244, 25).
    "transaction of 100 new 3-attribute objects, appended": (242, 25),
    "d[int] (read)": (0, 0),
    "d[short str] (read)": (0, 0),
    "int in dict (read)": (0, 0),
    "list[i] (read)": (0, 0),
    "iterate a list of 100 (read)": (0, 0),
    "getattr (read)": (0, 0),
    "pool.gc(), 100 live 3-attribute objects": (0, 0),
    # The range log (src/rangelog.h): the saved MiB and its header under
    # one fence, the arming store, then libpmemobj's 8-byte snapshot and
    # commit.  It was (443, 317) with libpmemobj's snapshot of the MiB,
    # most of them its log extensions' allocation and freeing.
    "writable 1 MiB range of an array, own transaction": (8, 7),
    "sorteddict[int] = int (existing key)": (1, 1),
    "sorteddict[int] = int (new key)": (16, 13),
    "del sorteddict[k]": (15, 11),
    "transaction of 100 sorteddict[int] = int (new keys)": (18, 7),
    "sorteddict[int] (read)": (0, 0),
    "numpy.sum over an array (read)": (0, 0),
    "list[i] = short tuple (same length and first item)": (1, 1),
    "dict[short tuple] = int (new key)": (4, 2),
    "dict[short bytes] = short bytes (new)": (4, 2),
    # Header-less objects (src/tx.c): libpmemobj writes and flushes no
    # allocation header, one flush less per new object.
    "transaction of 100 new 3-attribute objects, appended (64 MiB pool)": (141, 25),
}


def measured():
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    proc = subprocess.run([sys.executable, str(SCRIPT), "--print"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {k: (v["flushes"], v["fences"]) for k, v in json.loads(proc.stdout).items()}


@pytest.mark.skipif(not SO.exists(), reason="build/libpmo_flushcount.so not built")
def test_flushes_and_fences_per_operation_are_as_pinned():
    got = measured()
    if got != PINNED:
        table = "\n".join("    %r: %r," % kv for kv in got.items())
        pytest.fail("flush/fence counts changed; if on purpose, set PINNED to:\n" + table)
