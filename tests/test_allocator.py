"""glibc's malloc thresholds (cevns.app.allocator): set by the CLI and by every worker process, accepted by glibc,
and left alone where the user set them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cevns.app import allocator

glibc = pytest.mark.skipif(allocator.glibc() is None, reason="glibc only")


PAGE_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from cevns.app.allocator import tune_allocator
    assert tune_allocator()
size = 10 * 2**20 // 8
for i in range(3):  # warm-up: the heap's first growth, and glibc's adaptive threshold raised above 10 MB
    a, b, c = np.ones(size), np.ones(size), np.ones(size)
    del a, b, c
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(20):  # three 10 MB temporaries at once, written, then all freed: a Newton block's arrays
    a, b, c = np.ones(size), np.ones(size), np.ones(size)
    del a, b, c
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@glibc
def test_the_thresholds_spare_page_faults():
    """Fresh processes allocate, write and free three 10 MB arrays 20 times, after a warm-up. With glibc's defaults the
    30 MB freed at the heap's top exceed its adaptive trim threshold (twice the mmap threshold, 2 x 10 MB), so the
    heap is trimmed and refaulted every time; with the thresholds it is kept (measured on glibc 2.36: 0 minor page
    faults against 30 320, with BLAS on one thread or on all; an earlier version of this test, which counted the
    heap's first growth too, depended on the BLAS threads: 4347 against 9240 or 5663)."""
    env = {k: v for k, v in os.environ.items() if k not in allocator.USER_VARIABLES}
    faults = {mode: int(subprocess.run([sys.executable, "-c", PAGE_FAULTS, mode], capture_output=True, text=True, env=env,
                                       check=True, timeout=120).stdout) for mode in ("tuned", "default")}
    assert faults["default"] > 10000 and faults["tuned"] < 0.05 * faults["default"], faults


def test_a_users_own_setting_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert allocator.tune_allocator() is False


def test_the_cli_and_the_task_workers_tune_it(monkeypatch):
    from cevns.app import tasks
    from cevns.cli import main

    calls = []
    monkeypatch.setattr(allocator, "tune_allocator", lambda: calls.append(1) or True)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert calls == [1]
    import signal

    from cevns import errors

    # the initializer's other effects, undone after the test: the signal guard, the thread variables, the BLAS limit
    monkeypatch.setattr(errors, "GUARD_SIGNALS", errors.GUARD_SIGNALS)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, os.environ.get(name, "1"))
    monkeypatch.setattr(tasks, "one_blas_thread", lambda: None)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        tasks._single_thread()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    assert calls == [1, 1]
