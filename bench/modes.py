"""The measurement modes: their one definition (stdlib only).

Every benchmark of the project runs in one of these, and every result file
names the one it ran in.  The Python workload harness (bench/python), the
experiments (experiments/, which also drive the C harness pmo_bench, handing
it the mode's name and directory) and the C harness's own defaults for runs
by hand (bench/c/bench_main.cc) follow this table.

  pmem         a file on tmpfs (/dev/shm) with PMEM_IS_PMEM_FORCE=1: libpmem
               takes it for persistent memory and makes it durable with
               cache-line flush instructions and fences (emulated pmem; the
               main job's mode)
  tmpfs-msync  the same file system with PMEM_IS_PMEM_FORCE=0: an msync per
               flush, with no disk behind it -- the cost of the system call
  file         a file on a disk file system (/var/tmp), msync per flush
  dax          real persistent memory: a mount with the dax option, when
               /proc/mounts has one (the force flag is left unset: libpmem
               detects it)
"""

from collections import namedtuple

from machine import find_dax

Mode = namedtuple("Mode", "dir force what")

MODES = {
    "pmem": Mode("/dev/shm", "1", "emulated pmem: a file on tmpfs, PMEM_IS_PMEM_FORCE=1 "
                                  "(cache-flush instructions, no msync)"),
    "tmpfs-msync": Mode("/dev/shm", "0", "tmpfs, PMEM_IS_PMEM_FORCE=0 (msync per flush, "
                                         "no disk)"),
    "file": Mode("/var/tmp", "0", "a disk file, PMEM_IS_PMEM_FORCE=0 (msync per flush)"),
    "dax": Mode(None, None, "real pmem: a DAX mount (none found means not available)"),
}


def mode_dir(mode):
    """Where the mode's files go; None for dax when there is no DAX mount."""
    m = MODES[mode]
    return m.dir if m.dir else find_dax()
