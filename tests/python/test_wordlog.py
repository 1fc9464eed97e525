"""The word log (src/wordlog.h): an autocommitted dict or set insert is
published by a redo record of its index cell and three counters, after the
new entry.  At open a record is redone only if it counts: its check
matches and the entry it makes reachable is on the media as written.

The crash states are made by hand, in the file of a pool whose last user
stopped (os._exit) right after an insert: the record is then live (spent
only by the next change), so the test can put the insert's words back to
what they were before it, as if the crash came between the record's fence
and the stores, and damage the record or the entry as a crash before the
fence could have left them.  Each case also runs with the redo undone
(the record spent), which shows that the words really were put back: the
checks below can fail."""

import json
import struct

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentSet
from pmemobj._pmemobj import _WORDLOG_LAYOUT

from conftest import run_python

M = (1 << 64) - 1
MAGIC, MAGIC_AT, E_AT = (_WORDLOG_LAYOUT[k] for k in ("magic", "magic_at", "e_at"))


def mix(x):
    """pmo_mix64 (src/hash.h)."""
    x &= M
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)


def check_of(n, data_off, data_len, data_check, e):
    """wordlog.c's check_of."""
    h = mix(n * 0x9e3779b97f4a7c15)
    for x in (data_off, data_len, data_check):
        h = mix(h ^ x)
    for off, val in e[:n]:
        h = mix(h ^ mix(off ^ ((val * 0xc2b2ae3d27d4eb4f) & M)))
    return h or 1


class Log:
    """The word log in a pool file (offsets in a one-file pool are file
    offsets)."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        self.at = self.data.index(MAGIC) - MAGIC_AT
        (self.check, self.n, self.data_off, self.data_len,
         self.data_check) = struct.unpack_from("<5Q", self.data, self.at)
        self.e = [struct.unpack_from("<2Q", self.data, self.at + E_AT + 16 * i)
                  for i in range(6)]

    def word(self, off):
        return struct.unpack_from("<Q", self.data, off)[0]

    def put(self, off, value):
        struct.pack_into("<Q", self.data, off, value)

    def recheck(self):
        self.put(self.at, check_of(self.n, self.data_off, self.data_len, self.data_check,
                                   self.e))

    def write(self):
        with open(self.path, "wb") as f:
            f.write(self.data)


INSERT = """
import os, sys, pmemobj
pool = pmemobj.open(sys.argv[1])
{op}
os._exit(0)                     # no close: the record stays live
"""


def crashed_after(pool_path, kind, op):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(kind, {"a": 1} if kind is PersistentDict else {"a"})
    run_python(INSERT.format(op=op), pool_path)
    return Log(pool_path)


def put_words_back(log):
    """The insert's cell and counters as they were before it: the cell
    (the half of its word that holds the new entry's number) empty, the
    three counters one less (the insert took an empty cell)."""
    (cell_off, cell_word), used, fill, nentries = log.e[:4]
    assert log.check != 0 and log.n == 4
    assert log.word(cell_off) == cell_word and log.word(used[0]) == used[1]
    halves = [cell_word & 0xffffffff, cell_word >> 32]
    assert nentries[1] in halves
    old = cell_word & (0xffffffff << 32) if halves[0] == nentries[1] else cell_word & 0xffffffff
    log.put(cell_off, old)
    for off, val in (used, fill, nentries):
        log.put(off, val - 1)


@pytest.mark.parametrize("kind, op, key", [
    (PersistentDict, "pool.root['new'] = 5", "new"),
    (PersistentSet, "pool.root.add('new')", "new")])
@pytest.mark.parametrize("state, redone", [
    ("whole record", True),                # crash in the stores: redone
    ("spent record", False),               # the control: words put back stay back
    ("entry not on the media", False),     # crash before the fence
    ("torn record", False),                # crash before the fence
])
def test_a_record_is_redone_only_if_it_counts(pool_path, kind, op, key, state, redone):
    log = crashed_after(pool_path, kind, op)
    put_words_back(log)
    if state == "spent record":
        log.put(log.at, 0)
    elif state == "entry not on the media":
        # The entry's key as it was before the insert wrote it: empty.
        log.put(log.data_off + 8, 0)
        log.put(log.data_off + 16, 0)
    elif state == "torn record":
        # The record's second line from an older record.
        log.put(log.at + E_AT + 16 * 3 + 8, log.e[3][1] - 1)
    log.write()
    with pmemobj.open(pool_path) as pool:
        c = pool.root
        assert (key in c) == redone
        assert len(c) == (2 if redone else 1)
        assert "a" in c
        _types, counts = pool.gc(debug=True)
        assert counts["invalid"] == 0 and counts["collected"] == 0
        # Usable: the next insert takes the same entry and cell.
        if kind is PersistentDict:
            c["next"] = 6
        else:
            c.add("next")
    assert Log(pool_path).check == 0      # spent at open or by the insert, closed


def test_a_clean_close_spends_the_record(pool_path):
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        pool.root = pool.new(PersistentDict, {"a": 1})
        pool.reset_stats()
        pool.root["k"] = 1                 # published: a record of 4 words
        assert pool.stats()["published"] == 1 and pool.stats()["tx_begun"] == 1
    log = Log(pool_path)
    assert log.check == 0 and log.n == 4


def test_a_transaction_spends_the_record_first(pool_path):
    # A live record redone over a later change would bring the insert
    # back: the transaction that deletes the key spends it before it
    # begins in libpmemobj.
    log = crashed_after(pool_path, PersistentDict, """
pool.root['new'] = 5
del pool.root['new']
""")
    assert log.check == 0
    with pmemobj.open(pool_path) as pool:
        assert dict(pool.root) == {"a": 1}


def test_a_live_record_is_redone_without_change(pool_path):
    # Stopped right after the insert: the record is live, its words hold
    # its values, and the open redoes it to the same state.
    log = crashed_after(pool_path, PersistentDict, "pool.root['new'] = 5")
    assert log.check != 0
    with pmemobj.open(pool_path) as pool:
        assert dict(pool.root) == {"a": 1, "new": 5}
        assert pool.gc(debug=True)[1]["invalid"] == 0


@pytest.mark.parametrize("damage, message", [
    ("magic", "bad word log \\(not a word log's block\\)"),
    ("word offset", "bad word log \\(word 1 of its record at 8\\)"),
])
def test_a_damaged_log_is_refused_at_open(pool_path, damage, message):
    log = crashed_after(pool_path, PersistentDict, "pool.root['new'] = 5")
    if damage == "magic":
        log.put(log.at + MAGIC_AT, 0)
    else:
        # A record that counts, but names a word in the pool's header.
        log.e[1] = (8, log.e[1][1])
        log.put(log.at + E_AT + 16, 8)
        log.recheck()
    log.write()
    with pytest.raises(pmemobj.CorruptPoolError, match=message):
        pmemobj.open(pool_path)


DAMAGE = r"""
import json, os, random, shutil, sys
import pmemobj
src, work, at, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(20261204)
data = open(src, "rb").read()
seen = {}
for trial in range(200):
    img = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 8))):
        i = at + rng.randrange(size)
        img[i] = rng.randrange(256) if rng.random() < 0.5 else img[i] ^ (1 << rng.randrange(8))
    with open(work, "wb") as f:
        f.write(img)
    try:
        with pmemobj.open(work) as pool:
            state = sorted(pool.root.items())
            bad = pool.gc(debug=True)[1]["invalid"]
        outcome = "after" if state == [("a", 1), ("new", 5)] and not bad else repr(state)
    except pmemobj.CorruptPoolError:
        outcome = "detected"
    seen[outcome] = seen.get(outcome, 0) + 1
print(json.dumps(seen))
"""


def test_damage_anywhere_in_a_live_log_is_detected_or_harmless(pool_path, run_py):
    # 200 copies of a pool stopped with a live record, each with random
    # bytes or bits of the log's block damaged: every open either refuses
    # the pool (CorruptPoolError) or finds the insert whole; never a crash
    # (the child would die) or another state.
    log = crashed_after(pool_path, PersistentDict, "pool.root['new'] = 5")
    assert log.check != 0
    proc = run_py(DAMAGE, pool_path, pool_path + ".damaged", log.at, MAGIC_AT + 8,
                  timeout=120)
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(seen) <= {"after", "detected"}, seen
    assert seen.get("detected", 0) > 0 and seen.get("after", 0) > 0, seen
