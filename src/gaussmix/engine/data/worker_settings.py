"""Settings of a Dask worker process that gaussmix's tasks apply for themselves.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ`` setting), which returns freed memory to the
system eagerly. Setting it also switches off glibc's dynamic mmap threshold, so every
temporary array above 128 KiB is a fresh mapping whose pages fault in again at each use:
the E-step allocates such temporaries for every block, and a 20-iteration fit on
2,000,000 x 16 rows (K = 8, two workers) took 22-24 s with the setting against about
10 s without it (issue 15).

`tune_worker_allocator` raises the two thresholds of glibc's allocator in the process
it runs in, once, when the environment asks for the eager setting: temporaries up to
`MMAP_THRESHOLD_BYTES` then come from the heap and are reused, and at most
`TRIM_THRESHOLD_BYTES` of freed memory stays in the process. gaussmix's Dask tasks call
it on the worker before their first block; elsewhere (other C libraries, macOS,
Windows, a process without the variable) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["tune_worker_allocator", "MMAP_THRESHOLD_BYTES", "TRIM_THRESHOLD_BYTES"]

#: Allocations below this size come from the heap (glibc's largest dynamic value).
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: Freed memory at the top of the heap kept for reuse before it is returned.
TRIM_THRESHOLD_BYTES = 128 * 2**20

# mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_done = False


def _eager_trimming_requested() -> bool:
    value = os.environ.get("MALLOC_TRIM_THRESHOLD_", "").strip()
    try:
        return bool(value) and int(value) < TRIM_THRESHOLD_BYTES
    except ValueError:
        return False


def tune_worker_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds in this process, once (see the module).

    Returns
    -------
    bool
        Whether the thresholds were set now (False: not asked for, already done, or not
        glibc).
    """
    global _done
    if _done:
        return False
    _done = True
    if not sys.platform.startswith("linux") or not _eager_trimming_requested():
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
