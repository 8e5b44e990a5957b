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
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(40):  # arrays of 4-16 MB and 3 MB, written, freed: a Newton block's temporaries
    a = np.ones((2 + i % 7) * 2**20 // 4)
    b = np.ones(3 * 2**20 // 8)
    del a, b
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@glibc
def test_the_thresholds_spare_page_faults():
    """Fresh processes allocate, write and free 4-16 MB arrays 40 times: with the thresholds, under 0.6 x the minor page
    faults of glibc's defaults (measured on glibc 2.36: 4347 against 9240, the rest being the heap's first growth)."""
    env = {k: v for k, v in os.environ.items() if k not in allocator.USER_VARIABLES}
    faults = {mode: int(subprocess.run([sys.executable, "-c", PAGE_FAULTS, mode], capture_output=True, text=True, env=env,
                                       check=True, timeout=120).stdout) for mode in ("tuned", "default")}
    assert faults["tuned"] < 0.6 * faults["default"], faults


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
