"""glibc's malloc thresholds for a fit's many short-lived numpy arrays (``cevns`` and its worker processes).

By default glibc serves a large request (from 128 KiB, raised adaptively) with fresh ``mmap`` pages, which the kernel
zeroes at their first touch, and it returns the heap's free top to the system beyond a similar threshold. A fit
allocates and frees arrays of 1-30 MB thousands of times (blocks of points x bins in the Newton iterations), so part of
its time went to page faults in the kernel. Fixing the thresholds (``mallopt``; the same as the environment variables
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``, glibc manual, "Memory Allocation Tunables") keeps such
arrays on the heap and their pages mapped. Measured (docs/scaling.md, "Page faults"): ``cevns fit
coherent-lar-2020-4p --fast --seed 1`` 14.1-16.0 s wall (11.7-13.0 s user) -> 11.2-11.7 s (10.6-11.0 s user), peak
resident memory +16 MB. Where the user set either variable, or the C library is not glibc, nothing is changed.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: ``mallopt`` parameters (glibc <malloc.h>).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Requests below this come from the heap: glibc's largest mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX,
#: 4 MiB x sizeof(long)); a larger value is refused by mallopt.
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: Free memory at the heap's top kept mapped up to this (a fit's working set is 0.2-0.7 GB).
TRIM_THRESHOLD_BYTES = 256 * 2**20
#: Environment variables by which a user sets the same thresholds (then left as they are).
USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def tune_allocator() -> bool:
    """Set the thresholds above in this process; True when glibc accepted both."""
    if not sys.platform.startswith("linux") or any(name in os.environ for name in USER_VARIABLES):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        version = ctypes.CDLL(None).gnu_get_libc_version  # glibc only (musl has no such function)
    except (OSError, AttributeError):
        return False
    del version
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) & bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
