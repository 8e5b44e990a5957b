"""The task farm (cevns.app.tasks): same results whatever the workers, resumable from one JSON per task, MPI."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.app.tasks import benchmark_task, run_tasks, task_executor, task_rng, task_seeds

BIN = Path(sys.executable).parent
MPIEXEC = shutil.which("mpiexec", path=str(BIN)) or shutil.which("mpiexec")


def _have_mpi4py() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def draw_task(spec: dict) -> dict:
    rng = task_rng(spec["seed"])
    return {"key": spec["key"], "x": rng.standard_normal(3).tolist(), "third": 1.0 / 3.0}


def _specs(n: int, seed: int = 5) -> list[dict]:
    return [{"key": f"t{i}", "seed": s} for i, s in enumerate(task_seeds(seed, n))]


def test_task_seeds_are_seedsequence_spawn():
    children = np.random.SeedSequence(9).spawn(4)
    for seed, child in zip(task_seeds(9, 4), children, strict=True):
        assert task_rng(seed).random() == np.random.default_rng(child).random()


def test_same_results_bit_for_bit_with_one_or_two_processes(tmp_path):
    specs = _specs(12)
    serial = run_tasks(draw_task, specs)
    with task_executor("process", 2) as executor:
        parallel = run_tasks(draw_task, specs, executor)
    assert json.dumps(serial) == json.dumps(parallel)
    stored = run_tasks(draw_task, specs, store=tmp_path / "tasks")
    assert json.dumps(stored) == json.dumps(serial)


def test_finished_tasks_are_not_run_again(tmp_path):
    specs = _specs(5)
    store = tmp_path / "tasks"
    first = run_tasks(draw_task, specs, store=store)
    assert sorted(p.name for p in store.iterdir()) == [f"t{i}.json" for i in range(5)]  # no temporary leftovers
    (store / "t3.json").unlink()  # as if the run was killed before task 3 finished
    before = {p.name: p.stat().st_mtime_ns for p in store.iterdir()}
    calls = []

    def counting(spec):
        calls.append(spec["key"])
        return draw_task(spec)

    again = run_tasks(counting, specs, store=store)
    assert calls == ["t3"] and again == first
    assert all((store / name).stat().st_mtime_ns == mtime for name, mtime in before.items())


def test_a_store_of_other_specs_is_refused(tmp_path):
    run_tasks(draw_task, _specs(2, seed=1), store=tmp_path)
    with pytest.raises(ConfigError, match="another task spec"):
        run_tasks(draw_task, _specs(2, seed=2), store=tmp_path)
    with pytest.raises(ConfigError, match="task key"):
        run_tasks(draw_task, [{"key": "../escape", "seed": task_seeds(0, 1)[0]}], store=tmp_path)


def test_bad_backend_is_one_line():
    with pytest.raises(ConfigError, match="backend"), task_executor("threads"):
        pass


@pytest.mark.mpi
@pytest.mark.skipif(MPIEXEC is None or not _have_mpi4py(), reason="needs mpiexec and mpi4py: pip install '.[mpi]'")
def test_mpiexec_two_ranks_gives_the_serial_results():
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "cevns.app.tasks", "coherent-2017-2p", "3", "4", "5"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    specs = [{"key": f"toy-{i}", "scenario": "coherent-2017-2p", "seed": s} for i, s in enumerate(task_seeds(4, 3))]
    assert record["results"] == run_tasks(benchmark_task, specs)
