"""The command line (python -m pmemobj; the `pmemobj` script of an
installed package runs the same main()).  Read-only subcommands must not
change the file."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pmemobj
from pmemobj import PersistentDict, PersistentList

REPO = Path(__file__).resolve().parents[2]
DAMAGED = "a str that the test damages"


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    return subprocess.run([sys.executable, "-m", "pmemobj", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def filled(pool_path):
    # One file: the tests hash it and write into its bytes.
    with pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE) as pool:
        big = pool.new(PersistentList, ["item number %d, long enough" % i for i in range(200)])
        pool.root = pool.new(PersistentDict, {"big": big, "small": pool.new(PersistentList, [1]),
                                              "text": DAMAGED, "n": 7})
    return pool_path


def test_info_check_dump_du_stats_leave_the_file_alone(filled):
    before = digest(filled)
    info = run("info", filled, "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["format_version"] == pmemobj.FORMAT_VERSION and data["closed_cleanly"]
    assert data["objects_by_type"]["str"] == 201 and data["check"] == "ok"
    assert 0 < data["used_bytes"] < data["file_bytes"]
    for args in (["check", filled], ["dump", filled], ["du", filled], ["stats", filled]):
        r = run(*args)
        assert r.returncode == 0, (args, r.stderr)
    assert digest(filled) == before


def test_check_exit_status_says_whether_problems_were_found(filled):
    assert run("check", filled).returncode == 0
    data = Path(filled).read_bytes()
    at = data.index(DAMAGED.encode()) + 3
    with open(filled, "r+b") as f:
        f.seek(at)
        f.write(b"X")
    r = run("check", filled, "--json")
    assert r.returncode == 1
    problems = json.loads(r.stdout)["problems"]
    assert len(problems) == 1 and "checksum" in problems[0][2]


def test_salvage(filled, tmp_path):
    dst = str(tmp_path / "out.pool")
    r = run("salvage", filled, dst)
    assert r.returncode == 0 and "0 skipped" in r.stdout
    with pmemobj.open(dst) as pool:
        assert pool.root["text"] == DAMAGED and len(pool.root["big"]) == 200


def test_dump_a_path_as_json(filled):
    r = run("dump", filled, "--path", "root.big.3", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == "item number 3, long enough"
    r = run("dump", filled, "--path", "root.small", "--json")
    assert json.loads(r.stdout) == {"PersistentList": [1]}
    r = run("dump", filled, "--depth", "1", "--json")
    assert json.loads(r.stdout)["PersistentDict"][0][1] == {"...": "PersistentList"}


def test_du_puts_the_biggest_first(filled):
    r = run("du", filled)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and "root['big']" in lines[0]
    sizes = [int(line.split()[0]) for line in lines[:-1]]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) <= int(lines[-1].split()[0])


def test_create_and_gc(tmp_path):
    path = str(tmp_path / "new.pool")
    assert run("create", path, "--size", str(16 << 20)).returncode == 0
    assert os.path.getsize(path) == 16 << 20
    assert run("create", path).returncode == 2                       # exists
    r = run("gc", path)
    assert r.returncode == 0 and "collected 0" in r.stdout


def test_create_makes_a_growable_pool_unless_given_a_size(tmp_path):
    grow, fixed = str(tmp_path / "grow.pool"), str(tmp_path / "fixed.pool")
    r = run("create", grow)
    assert r.returncode == 0 and "growable up to %d bytes" % pmemobj.GROW_DEFAULT_MAX in r.stdout
    assert pmemobj._is_pool_set(grow) and os.listdir(grow + ".parts") == ["000000.pmem"]
    r = run("create", str(tmp_path / "small.pool"), "--max-size", "64M")
    assert r.returncode == 0 and "growable up to %d bytes" % (64 << 20) in r.stdout
    assert run("create", str(tmp_path / "explicit.pool"), "--grow").returncode == 0
    assert pmemobj._is_pool_set(str(tmp_path / "explicit.pool"))
    r = run("create", fixed, "--size", "8M")
    assert r.returncode == 0 and r.stdout == "created %s (%d bytes)\n" % (fixed, 8 << 20)
    assert os.path.getsize(fixed) == 8 << 20 and not os.path.exists(fixed + ".parts")
    r = run("create", str(tmp_path / "both.pool"), "--size", "8M", "--max-size", "64M")
    assert r.returncode == 2 and "do not go together" in r.stderr
    assert not os.path.exists(str(tmp_path / "both.pool"))
    r = run("info", grow, "--json")
    info = json.loads(r.stdout)
    assert info["growable"] and info["max_size"] == pmemobj.GROW_DEFAULT_MAX
    assert info["file_bytes"] == pmemobj.MIN_POOL_SIZE


def test_bad_input_exits_2_with_a_message(tmp_path):
    assert run("info", str(tmp_path / "missing.pool")).returncode == 2
    junk = tmp_path / "junk"
    junk.write_bytes(b"junk" * 4096)
    r = run("check", str(junk))
    assert r.returncode == 1 and "not a pmemobj pool" in r.stdout
    r = run("info", str(junk))
    assert r.returncode == 2 and "not a pmemobj pool" in r.stderr
    assert run("frobnicate").returncode == 2
    assert run("--help").returncode == 0
