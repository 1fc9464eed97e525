"""Shared fixtures for the pmemobj Python tests.

Pools are real libpmemobj pools (no mocks), created in a per-test directory
under /dev/shm (emulated pmem with PMEM_IS_PMEM_FORCE=1), or under pytest's
tmp_path when /dev/shm is missing.  Anything that might crash, hang or must
observe a fresh interpreter (crash tests, faulty files, restricted unpickling)
runs in a child process with the same interpreter and environment and a hard
timeout.
"""

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest

os.environ.setdefault("PMEM_IS_PMEM_FORCE", "1")

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO_ROOT / "python"
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

import pmemobj  # noqa: E402  (must come after the environment is set up)

# Every child process gets at most this long before it is killed and the
# test fails; nothing in this suite should come close to it.
CHILD_TIMEOUT = 30


def child_env(extra_paths=()):
    """Environment for child interpreters: ours plus PYTHONPATH=python."""
    env = dict(os.environ)
    env["PMEM_IS_PMEM_FORCE"] = os.environ["PMEM_IS_PMEM_FORCE"]
    paths = [str(p) for p in extra_paths] + [str(PYTHON_DIR)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONSTARTUP", None)
    return env


def _argv(code, args):
    return [sys.executable, "-c", textwrap.dedent(code)] + [str(a) for a in args]


def run_python(code, *args, timeout=CHILD_TIMEOUT, extra_paths=(), check=True):
    """Run *code* in a child interpreter and return the CompletedProcess.

    With check=True a non-zero exit status (including death by a signal)
    fails the test and shows the child's output.  A child that outlives
    *timeout* is killed and fails the test.
    """
    try:
        proc = subprocess.run(
            _argv(code, args), env=child_env(extra_paths), cwd=str(REPO_ROOT),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"child process hung (killed after {timeout}s)\n"
                    f"stdout: {exc.stdout!r}\nstderr: {exc.stderr!r}")
    if check and proc.returncode != 0:
        pytest.fail(f"child process exited with status {proc.returncode}\n"
                    f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


class Child:
    """A long-running child interpreter whose stdout is read line by line.

    A reader thread feeds the lines into a queue so that waiting for a
    marker line has a timeout and a child that hangs cannot hang the test.
    """

    def __init__(self, code, args=(), extra_paths=()):
        self.proc = subprocess.Popen(
            _argv(code, args), env=child_env(extra_paths), cwd=str(REPO_ROOT),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []
        self._stderr = []
        self._out_thread = threading.Thread(
            target=self._pump, args=(self.proc.stdout, self.lines), daemon=True)
        self._err_thread = threading.Thread(
            target=self._collect, args=(self.proc.stderr, self._stderr),
            daemon=True)
        self._out_thread.start()
        self._err_thread.start()

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    @staticmethod
    def _collect(stream, out):
        for line in stream:
            out.append(line)

    @property
    def stderr(self):
        return "".join(self._stderr)

    def readline(self, timeout=CHILD_TIMEOUT):
        """The next stdout line; fails the test on timeout or EOF."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            pytest.fail(f"no output from child within {timeout}s; "
                        f"seen {self.seen[-5:]!r}; stderr:\n{self.stderr}")
        if line is None:
            self.proc.wait(timeout=CHILD_TIMEOUT)
            self._err_thread.join(timeout=5)
            pytest.fail(f"child exited (status {self.proc.returncode}) "
                        f"before the expected output; seen {self.seen[-5:]!r};"
                        f" stderr:\n{self.stderr}")
        self.seen.append(line)
        return line

    def expect(self, marker, timeout=CHILD_TIMEOUT):
        """Read lines until one equals *marker*; return the lines before it."""
        before = []
        while True:
            line = self.readline(timeout)
            if line == marker:
                return before
            before.append(line)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self):
        """SIGKILL the child and wait for it; return the remaining output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=CHILD_TIMEOUT)
        self._out_thread.join(timeout=5)
        rest = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                rest.append(line)
                self.seen.append(line)
        return rest

    def wait(self, timeout=CHILD_TIMEOUT):
        """Wait for a normal exit; return the status. Kill and fail on hang."""
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"child did not exit within {timeout}s")
        self._out_thread.join(timeout=5)
        self._err_thread.join(timeout=5)
        return status

    def close(self):
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def pool_dir(tmp_path):
    """A fresh directory for this test's pool files, removed afterwards."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        d = tempfile.mkdtemp(prefix="pmemobj-test-", dir="/dev/shm")
        try:
            yield Path(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


@pytest.fixture
def pool_path(pool_dir):
    """A path (str) where no file exists yet."""
    return str(pool_dir / "test.pool")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fixed_pool: the test's 'pool' is one file of MIN_POOL_SIZE, not the "
        "growable default (the test writes into the file's bytes, or fills the pool)")


@pytest.fixture
def pool(pool_path, request):
    """A freshly created pool, as pmemobj.create(path) makes it (growable,
    starting at MIN_POOL_SIZE), closed at teardown.  A test marked
    fixed_pool gets one file of MIN_POOL_SIZE instead: it damages the
    file at offsets, or fills the pool until MemoryError.

    At teardown pool.check() must find nothing wrong: every test that uses
    this fixture is also a test that the runtime leaves a sound pool (exact
    reference counts, tables, checksums).  A test that damages its pool on
    purpose is marked damages_pool."""
    if request.node.get_closest_marker("fixed_pool"):
        p = pmemobj.create(pool_path, pool_size=pmemobj.MIN_POOL_SIZE)
    else:
        p = pmemobj.create(pool_path)
    try:
        yield p
        if not p.closed and not request.node.get_closest_marker("damages_pool"):
            report = p.check()
            assert report["ok"], "the test left an unsound pool: %r" % (report["problems"][:5],)
    finally:
        p.close()


@pytest.fixture(scope="module")
def module_pool():
    """One 64 MiB pool shared by the tests of a module that only make new
    objects in it (the differential tests: thousands of cases)."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    d = tempfile.mkdtemp(prefix="pmemobj-module-", dir=base)
    p = pmemobj.create(os.path.join(d, "module.pool"), pool_size=64 << 20)
    yield p
    p.close()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def run_py():
    """run_py(code, *args, timeout=..., check=True) -> CompletedProcess."""
    return run_python


@pytest.fixture
def spawn_py():
    """spawn_py(code, *args) -> Child; every child is killed at teardown."""
    children = []

    def spawn(code, *args, extra_paths=()):
        child = Child(code, args, extra_paths=extra_paths)
        children.append(child)
        return child

    yield spawn
    for child in children:
        child.close()
