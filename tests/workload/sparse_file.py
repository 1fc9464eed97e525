"""Pool images written as sparse files.

The crash checkers write a pool image per trial (the fuzzer a damaged
copy of its template, the power-failure simulator a crash image).  Most of
a fresh pool is zeros, so an image is written as the pages that can be
other than zero, the rest left as holes: the cost of an image is then that
of the pool's used bytes, not of its size, and the checkers can use pools
large enough to have every allocation class (64 MiB, src/tx.c).
"""

import os

PAGE = 4096
_ZERO = bytes(PAGE)


def nonzero_pages(data):
    """The numbers of data's pages that are not all zero."""
    return {i for i in range(len(data) // PAGE) if data[i * PAGE:(i + 1) * PAGE] != _ZERO}


def page_extents(pages):
    """Runs of consecutive page numbers as [first byte, end byte]."""
    extents = []
    for pg in sorted(pages):
        if extents and extents[-1][1] == pg * PAGE:
            extents[-1][1] += PAGE
        else:
            extents.append([pg * PAGE, (pg + 1) * PAGE])
    return extents


def write_sparse(path, view, extents):
    """A file of len(view) bytes holding view's bytes in extents and
    holes (zeros) elsewhere."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, len(view))
        for lo, hi in extents:
            os.pwrite(fd, view[lo:hi], lo)
    finally:
        os.close(fd)


class SparseCopy:
    """The file at path, to copy again and again (write)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.view = memoryview(data)
        self.extents = page_extents(nonzero_pages(data))

    def write(self, path):
        write_sparse(path, self.view, self.extents)
