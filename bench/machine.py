"""What machine and filesystem a measurement ran on (stdlib only).

Shared by the Python workload harness (bench/python/harness.py) and the
experiments (experiments/), so
every result file describes its machine, mounts and commit the same way.
"""

import os
import platform
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def fmt_ns(ns):
    """A duration in ns, in the unit that reads best ("1.23 us")."""
    if ns is None:
        return "-"
    if ns < 1e3:
        return "%.0f ns" % ns
    if ns < 1e6:
        return "%.2f us" % (ns / 1e3)
    if ns < 1e9:
        return "%.2f ms" % (ns / 1e6)
    return "%.2f s" % (ns / 1e9)


def cpu_model():
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def machine():
    """CPU, cores, memory, kernel and the load when asked."""
    mem = None
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "memory_bytes": mem,
        "kernel": platform.release(),
        "os": platform.platform(),
        "hostname": platform.node(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def mounts():
    out = []
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) >= 4:
            out.append({"dev": parts[0], "dir": parts[1].replace("\\040", " "),
                        "type": parts[2], "opts": parts[3].split(",")})
    return out


def is_dax(mount):
    return any(o == "dax" or (o.startswith("dax=") and o != "dax=never")
               for o in mount["opts"])


def mount_of(path):
    """The mount (dict: dir, type, opts) holding path: the longest match."""
    path = os.path.realpath(path)
    best = None
    for m in mounts():
        d = m["dir"]
        if path == d or path.startswith(d.rstrip("/") + "/"):
            if best is None or len(d) > len(best["dir"]):
                best = m
    return best


def find_dax():
    """A writable DAX mount point (real persistent memory), or None."""
    for m in mounts():
        if is_dax(m) and os.access(m["dir"], os.W_OK):
            return m["dir"]
    return None


def git_info(exclude=()):
    """The commit, and whether the tree has changes outside `exclude`."""
    def git(*args):
        try:
            r = subprocess.run(["git", "-C", REPO, *args], capture_output=True,
                               text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--", ".",
                 *(":(exclude)%s" % e for e in exclude))
    return {"commit": commit, "dirty": bool(status) if status is not None else None}
