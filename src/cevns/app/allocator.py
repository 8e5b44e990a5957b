"""glibc's malloc thresholds for a fit's many short-lived numpy arrays (``cevns`` and its worker processes).

By default glibc serves a large request (from 128 KiB, raised adaptively) with fresh ``mmap`` pages, which the kernel
zeroes at their first touch, and it returns the heap's free top to the system beyond a similar threshold. A fit
allocates and frees arrays of 1-30 MB thousands of times (blocks of points x bins in the Newton iterations), so part of
its time went to page faults in the kernel. Fixing the thresholds (``mallopt``; the same as the environment variables
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``, glibc manual, "Memory Allocation Tunables") keeps such
arrays on the heap and their pages mapped. Measured (docs/scaling.md, "Page faults"): ``cevns fit
coherent-lar-2020-4p --fast --seed 1``, 3 interleaved pairs, 12.0-14.3 s wall (system time 0.7-2.5 s) -> 10.0-11.9 s
(0.4 s), peak resident memory +10 MB. Where the user set either variable, or the C library is not glibc, nothing is
changed.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: ``mallopt`` parameters (glibc <malloc.h>).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Requests below this come from the heap: glibc's largest default mmap threshold on 64-bit systems
#: (DEFAULT_MMAP_THRESHOLD_MAX, 4 MiB x sizeof(long)). glibc 2.36 accepts any value here, so mallopt's return value
#: proves little (tests/test_allocator.py counts page faults instead).
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: Free memory at the heap's top kept mapped up to this (a fit's working set is 0.2-0.7 GB).
TRIM_THRESHOLD_BYTES = 256 * 2**20
#: Environment variables by which a user sets the same thresholds (then left as they are).
USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def glibc() -> ctypes.CDLL | None:
    """glibc of this process, or None on another system or C library (musl has no ``gnu_get_libc_version``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def tune_allocator() -> bool:
    """Set the thresholds above in this process; True when glibc accepted both."""
    libc = glibc()
    if libc is None or any(name in os.environ for name in USER_VARIABLES):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_set = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    trim_set = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    return bool(mmap_set and trim_set)
