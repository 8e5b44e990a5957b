"""Independent tasks over processes and machines: one ``concurrent.futures`` interface (docs/scaling.md).

Profiles, toys, forecasts and ``cevns reproduce``'s fits are sets of independent tasks. A task
is a module-level function and a JSON-able ``spec`` dict; :func:`run_tasks` runs them on any
:class:`concurrent.futures.Executor`:

* ``"process"`` (default with ``workers > 1``): a :class:`~concurrent.futures.ProcessPoolExecutor`
  (spawned processes, one BLAS thread each);
* ``"mpi"`` (default under ``mpiexec`` / ``srun``): ``mpi4py.futures.MPICommExecutor`` on
  ``COMM_WORLD``; rank 0 hands out tasks, ranks 1..K-1 run them (K - 1 workers);
* ``"serial"``: in this process (``workers=1``);
* any other Executor, e.g. a Dask cluster's ``client.get_executor()``.

Reproducible whatever the number of workers: a task's randomness comes only from its spec
(per-task seeds from ``numpy.random.SeedSequence(seed).spawn(n)``, see :func:`task_seeds`),
results are collected in task order, and each result passes through JSON whether it was
computed now or read back, so the outputs are the same bit for bit.

Resumable: with ``store``, each finished task is written atomically to ``store/<key>.json``
(its spec, result and the SHA-256 of both); a later run with the same specs reads those back and
runs only the others. A file whose checksum does not verify (edited, truncated, or written before
checksums) is run again; a file whose spec differs is refused (ConfigError): the folder belongs to
another run.

Interrupts: a SIGINT or SIGTERM (:class:`cevns.errors.Interrupted`) stops the farm at once. No task
starts after it (the serial executor does not catch it, a pool worker that was interrupted refuses
further tasks), queued tasks are cancelled and pool workers are terminated rather than awaited; what
finished before stays in ``store`` (each task is stored as it finishes), verified.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, Interrupted
from ..io import atomic_write_json, checksum_json
from .parallel import launcher_world_size

BACKENDS = ("auto", "serial", "process", "mpi")
#: Characters allowed in a task key (it is a file name).
_KEY_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.=+,")


class SerialExecutor(Executor):
    """Runs each task when it is submitted, in this process (the one-worker case, and the reference).
    An interrupt is not handed to the future but raised at once: no later task is submitted."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except (Interrupted, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


#: Set in a pool worker once it was interrupted: it starts no further task (the manager is stopping).
_STOPPED = False


def _run_task(function: Callable[[dict], Any], spec: dict) -> Any:  # noqa: ANN401
    """A task in a pool worker: refused once this worker was interrupted."""
    if _STOPPED:
        raise Interrupted("interrupted: no new task after an interrupt")
    return function(spec)


def _worker_interrupted(signum, frame):  # noqa: ANN001, ANN202, ARG001
    """SIGINT in a pool worker (Ctrl-C reaches the whole process group): start no other task. The task it runs is
    not interrupted by an exception (raised inside compiled code it would be printed and ignored): the manager,
    stopping on the same Ctrl-C, terminates the worker; if only this worker was signalled, it ends its task and
    refuses the next, which stops the manager."""
    global _STOPPED
    _STOPPED = True


@contextmanager
def _children_start_deaf() -> Iterator[None]:
    """Block SIGINT in this thread while pool workers are started: a worker inherits the mask and unblocks
    SIGINT in its initializer once its handler is in place, so a Ctrl-C while it is still starting (importing)
    does not print a traceback (the signal stays pending and then marks the worker stopped)."""
    import signal

    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, ValueError, OSError):  # pragma: no cover - no pthread_sigmask on this platform
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued tasks and terminate the workers now (``shutdown(wait=True)`` would let every running
    task, e.g. a fit, run to its end). Terminated workers write nothing half: every output is atomic."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown(wait=False) forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=0.5)
        if process.is_alive():
            process.kill()
    # the executor's manager thread closes its wake-up pipe when it sees the workers gone; at interpreter exit
    # concurrent.futures writes to that pipe (_python_exit), and in CPython 3.11 the check and the write race the
    # close ("Exception ignored ... OSError: [Errno 9] Bad file descriptor" on stderr after "cevns: interrupted";
    # python/cpython#125451, bpo-39995). Waiting for the thread here leaves the pipe closed before exit.
    if manager is not None:
        manager.join(timeout=5.0)


def one_blas_thread():  # noqa: ANN201
    """BLAS/OpenMP limited to one thread while in use (threadpoolctl, a dependency); a no-op without it.
    One worker means one core: timings on one core and each pool worker use it."""
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return nullcontext()
    return threadpool_limits(1)


def _single_thread() -> None:
    """Process-pool initializer: one BLAS/OpenMP thread per worker (workers, not threads, share the cores);
    SIGINT (Ctrl-C reaches the whole process group) marks the worker stopped (:func:`_worker_interrupted`),
    SIGTERM (from the manager stopping the pool) ends it."""
    import signal

    from .. import errors

    errors.GUARD_SIGNALS = False  # a fit inside a task (cevns reproduce) leaves the signals to this worker's handlers
    signal.signal(signal.SIGINT, _worker_interrupted)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while it started (_children_start_deaf)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    one_blas_thread()  # kept for the worker's lifetime: the limit is not undone
    from .allocator import tune_allocator

    tune_allocator()  # a spawned worker starts with glibc's defaults (cevns.app.allocator)


def resolve_backend(backend: str = "auto", workers: int | None = None) -> str:
    """The backend ``auto`` means here: MPI under an MPI launcher, else processes (serial for one worker)."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend != "auto":
        return backend
    if launcher_world_size() > 1:
        return "mpi"
    return "serial" if (workers or 1) <= 1 else "process"


@contextmanager
def task_executor(backend: str = "auto", workers: int | None = None) -> Iterator[Executor | None]:
    """An Executor for :func:`run_tasks`; under MPI, ``None`` on ranks other than 0 (they serve tasks
    inside the ``with`` block and leave it when rank 0 does), so callers write::

        with task_executor() as executor:
            if executor is None:
                return  # an MPI worker: its work is done
            results = run_tasks(fn, specs, executor)
    """
    kind = resolve_backend(backend, workers)
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if kind == "serial":
        yield SerialExecutor()
    elif kind == "process":
        import multiprocessing

        pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_single_thread)
        try:
            yield pool
        except BaseException:  # an interrupt or an error: stop now, do not wait for the running tasks
            _stop_pool(pool)
            raise
        pool.shutdown(wait=True)
    else:
        try:
            from mpi4py import MPI
            from mpi4py.futures import MPICommExecutor
        except ImportError:
            raise ConfigError("the MPI backend needs mpi4py: pip install '.[mpi]' (or pip install 'cevns[mpi]')") from None
        if MPI.COMM_WORLD.Get_size() < 2:
            raise ConfigError("the MPI backend needs at least 2 ranks (rank 0 hands out tasks): mpiexec -n K with K >= 2")
        with MPICommExecutor(MPI.COMM_WORLD, root=0) as executor:
            try:
                yield executor
            except Interrupted as err:  # the workers may be inside long tasks: end every rank now
                if executor is not None:
                    import sys as _sys

                    print("cevns: interrupted" if err.signum == 2 else "cevns: terminated", file=_sys.stderr, flush=True)
                    MPI.COMM_WORLD.Abort(128 + err.signum)
                raise


def task_seeds(seed: int, n: int) -> list[dict]:
    """Per-task seeds: child i of ``SeedSequence(seed)`` as JSON-able ``{"entropy", "spawn_key"}``
    (the same as ``SeedSequence(seed).spawn(n)[i]``); rebuild with :func:`task_rng`."""
    return [{"entropy": int(child.entropy), "spawn_key": list(child.spawn_key)} for child in np.random.SeedSequence(seed).spawn(n)]


def task_rng(seed: dict) -> np.random.Generator:
    """The generator of one task from its :func:`task_seeds` entry."""
    return np.random.default_rng(np.random.SeedSequence(seed["entropy"], spawn_key=tuple(seed["spawn_key"])))


def _canonical(data: Any) -> Any:
    """JSON round trip: what a result is once stored (floats exact, tuples as lists)."""
    return json.loads(json.dumps(data, sort_keys=True, allow_nan=True))


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key or not set(key) <= _KEY_CHARACTERS or key.startswith("."):
        raise ConfigError(f"task key {key!r}: use letters, digits and -_.=+, (it names a file)")
    return key


def task_record(spec: dict, result: Any) -> dict:  # noqa: ANN401
    """What ``store/<key>.json`` holds: the spec, the result and the SHA-256 of both (:func:`cevns.io.checksum_json`)."""
    return {"spec": spec, "result": result, "sha256": checksum_json({"spec": spec, "result": result})}


def _stored(path: Path, spec: dict) -> Any:  # noqa: ANN401
    """The verified result in ``path``, or None (unreadable, edited, or without checksum: the task runs again)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # unreadable: run the task again (writes are atomic, so this is rare)
    if not isinstance(record, dict) or "result" not in record:
        return None
    if record.get("spec") != _canonical(spec):
        raise ConfigError(f"{path} holds the result of another task spec; use another output folder or delete it")
    if record.get("sha256") != checksum_json({"spec": record["spec"], "result": record["result"]}):
        return None  # changed after it was written (or written before checksums): not trusted, run again
    return record["result"]


def progress_lines(scenario: str, work: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` for :func:`run_tasks`: the samplers' progress lines
    (:class:`cevns.inference.samplers.Progress`), ``[scenario] work tasks: 3/10 done; 12 s elapsed, about 30 s
    left``, at most one per PROGRESS_MIN_SECONDS and always for the last task (long toy and forecast runs)."""
    from ..inference.samplers import Progress

    line = Progress(work, scenario)

    def report(done: int, total: int) -> None:
        line("tasks", f"{done}/{total} done", measure=float(done), target=float(total), force=done == total)

    return report


def run_tasks(function: Callable[[dict], Any], specs: Sequence[dict], executor: Executor | None = None,
              store: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
              finished: Callable[[dict, Any], None] | None = None) -> list[Any]:
    """Run ``function(spec)`` for every spec; results in spec order (JSON-canonical).

    Parameters
    ----------
    function
        A module-level (picklable) function of one JSON-able dict, returning JSON-able data.
    specs
        One dict per task, each with a unique ``"key"`` (a file name) when ``store`` is given.
    executor
        Any :class:`concurrent.futures.Executor` (default: this process, serially).
    store
        Folder of finished tasks (``<key>.json``, written atomically): those found are not run again.
    progress
        Called as ``progress(done, total)`` after each task.
    finished
        Called as ``finished(spec, result)`` after each task run here (not for stored ones), so progress can name
        the task that finished.
    """
    specs = [_canonical(s) for s in specs]
    executor = executor or SerialExecutor()
    results: list[Any] = [None] * len(specs)
    pending = list(range(len(specs)))
    folder = Path(store) if store is not None else None
    if folder is not None:
        keys = [_check_key(s.get("key")) for s in specs]
        if len(set(keys)) != len(keys):
            raise ConfigError("task keys must be unique")
        folder.mkdir(parents=True, exist_ok=True)
        pending = []
        for i, key in enumerate(keys):
            path = folder / f"{key}.json"
            value = _stored(path, specs[i]) if path.exists() else None
            if value is None:
                pending.append(i)
            else:
                results[i] = value
    done = len(specs) - len(pending)
    pool = isinstance(executor, ProcessPoolExecutor)
    futures: dict[Future, int] = {}

    def finish(future: Future) -> None:  # store a finished task at once: an interrupt keeps what finished
        nonlocal done
        i = futures[future]
        value = _canonical(future.result())
        if folder is not None:
            atomic_write_json(folder / f"{specs[i]['key']}.json", task_record(specs[i], value))
        results[i] = value
        done += 1
        if progress is not None:
            progress(done, len(specs))
        if finished is not None:
            finished(specs[i], value)

    try:
        if isinstance(executor, SerialExecutor):  # each task runs as it is submitted: store it before the next
            for i in pending:
                future = executor.submit(function, specs[i])
                futures[future] = i
                finish(future)
            return results
        with _children_start_deaf() if pool else nullcontext():  # submitting starts the pool's workers
            for i in pending:
                futures[executor.submit(_run_task, function, specs[i]) if pool else executor.submit(function, specs[i])] = i
        for future in as_completed(futures):
            finish(future)
    except BaseException:  # an interrupt, or a task's error: no queued task may start after it
        for future in futures:
            future.cancel()
        raise
    return results


# ---------------------------------------------------------------------------------------------------
# measured throughput (``cevns bench`` and docs/scaling.md)
# ---------------------------------------------------------------------------------------------------
def _noop_task(spec: dict) -> dict:
    """An empty task: its rate measures the farm's own cost per task."""
    return {"key": spec["key"]}


def _warm_task(spec: dict) -> dict:
    """Build the benchmark's model in a worker (and hold it briefly, so each worker gets one of these)."""
    from .forecast import cached_model

    cached_model(spec["scenario"])
    time.sleep(0.3)
    return {"key": spec["key"], "pid": os.getpid()}


def benchmark_task(spec: dict) -> dict:
    """The benchmark's unit of work: one toy of ``spec['scenario']`` (draw, global fit, profile-likelihood ratio)."""
    from ..inference.frequentist import Profiler, draw_toy, fit_mle, test_statistic
    from .forecast import cached_model

    model = cached_model(spec["scenario"])
    rng = task_rng(spec["seed"])
    truth = np.array(model.init, dtype=float)
    profiler = Profiler(model, draw_toy(model, truth, rng))
    free_truth = truth[np.asarray(model.free_indices)]
    mle = fit_mle(profiler, n_grid=512, n_starts=4, extra_starts=[free_truth], polish=False)  # as `cevns toys`
    name = profiler.free_names[0]
    t, _ = test_statistic(profiler, [name], [float(free_truth[0])], mle, starts=[free_truth])
    return {"key": spec["key"], "t": t, "nll": mle.nll}


def _time_run(function: Callable, specs: list[dict], backend: str, workers: int) -> tuple[float, list]:
    start = time.perf_counter()
    with task_executor(backend, workers) as executor:
        if executor is None:  # pragma: no cover - MPI worker
            return 0.0, []
        if isinstance(executor, ProcessPoolExecutor):  # start the workers and build their models before the clock
            scenario = specs[0].get("scenario", "coherent-2017-2p")
            ready: set[int] = set()
            for _ in range(20):  # until every worker process has built the model
                with _children_start_deaf():
                    batch = executor.map(_warm_task, [{"key": str(i), "scenario": scenario} for i in range(workers)])
                ready |= {r["pid"] for r in batch}
                if len(ready) >= workers:
                    break
            start = time.perf_counter()
        results = run_tasks(function, specs, executor)
    return time.perf_counter() - start, results


def benchmark_tasks(scenario: str = "future-combined", n_tasks: int = 48, workers: Sequence[int] = (1, 2),
                    mpi_ranks: Sequence[int] = (), seed: int = 0, n_noop: int = 200) -> dict:
    """Tasks per second of :func:`benchmark_task` (one toy) with 1, 2, ... local workers and under MPI.

    For each setting: tasks/s, wall time, and the farm's overhead per task (rate of empty tasks).
    MPI settings are run as ``mpiexec -n K python -m cevns.app.tasks`` (K ranks, K - 1 workers) from the
    ``mpiexec`` next to this Python. ``projection`` gives the model for a cluster:
    rate(W workers) = min(W / c, 1 / o), with c the measured seconds per task on one worker and o the
    dispatch cost per task of the farm's manager (the rate of empty tasks on 2 workers / MPI).
    All results are bit-for-bit equal across settings (checked, reported in ``identical``).
    """
    specs = [{"key": f"toy-{i}", "scenario": scenario, "seed": s} for i, s in enumerate(task_seeds(seed, n_tasks))]
    out: dict[str, Any] = {"scenario": scenario, "n_tasks": n_tasks, "task": "one toy: draw, global fit, profile-likelihood ratio",
                           "cpu_count": os.cpu_count(), "settings": {}}
    reference = None
    identical = True
    from contextlib import nullcontext

    for w in workers:
        backend = "serial" if w == 1 else "process"
        # one worker means one core: the serial run gets one BLAS thread, as each pool worker does (_single_thread)
        with one_blas_thread() if backend == "serial" else nullcontext():
            _time_run(benchmark_task, specs[:1], "serial", 1)  # warm the model cache of this process
            seconds, results = _time_run(benchmark_task, specs, backend, w)
            noop_seconds, _ = _time_run(_noop_task, [{"key": str(i)} for i in range(n_noop)], backend, w)
        reference = reference or results
        identical &= results == reference
        out["settings"][f"local-{w}"] = {"backend": backend, "workers": w, "seconds": seconds, "tasks_per_second": n_tasks / seconds,
                                         "overhead_per_task_s": noop_seconds / n_noop}
    for k in mpi_ranks:
        record = _mpi_benchmark(scenario, n_tasks, k, seed, n_noop)
        identical &= record.pop("results") == reference if reference is not None else True
        out["settings"][f"mpi-{k}"] = record
    one = out["settings"].get("local-1")
    if one:
        per_task = one["seconds"] / n_tasks
        dispatch = max((s["overhead_per_task_s"] for s in out["settings"].values() if s["workers"] > 1), default=one["overhead_per_task_s"])
        out["projection"] = {"seconds_per_task": per_task, "dispatch_seconds_per_task": dispatch,
                             "saturation_workers": per_task / dispatch,
                             "tasks_per_second": {str(w): min(w / per_task, 1.0 / dispatch) for w in (1, 2, 16, 64, 256, 1024)}}
    for s in out["settings"].values():
        if one:
            s["speedup"] = s["tasks_per_second"] / one["tasks_per_second"]
    out["identical"] = bool(identical)
    return out


def _mpi_benchmark(scenario: str, n_tasks: int, ranks: int, seed: int, n_noop: int) -> dict:
    import shutil
    import subprocess
    import sys

    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    if mpiexec is None:
        raise ConfigError("no mpiexec found next to this Python or on PATH: pip install '.[mpi]'")
    command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "cevns.app.tasks", scenario, str(n_tasks), str(seed), str(n_noop)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                          env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {proc.stderr.strip()[-500:]}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"backend": "mpi", "ranks": ranks, "workers": ranks - 1, **record}


def ranks_minus_one() -> int:
    """Workers of an MPI task farm (every rank but 0)."""
    return max(1, launcher_world_size() - 1)


def _mpi_main(argv: Sequence[str]) -> int:
    """``mpiexec -n K python -m cevns.app.tasks SCENARIO N_TASKS SEED N_NOOP``: one MPI measurement, JSON on rank 0."""
    scenario, n_tasks, seed, n_noop = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    _single_thread()
    specs = [{"key": f"toy-{i}", "scenario": scenario, "seed": s} for i, s in enumerate(task_seeds(seed, n_tasks))]
    with task_executor("mpi") as executor:
        if executor is None:
            return 0
        list(executor.map(_warm_task, [{"key": str(i), "scenario": scenario} for i in range(2 * ranks_minus_one())]))
        start = time.perf_counter()
        results = run_tasks(benchmark_task, specs, executor)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        run_tasks(_noop_task, [{"key": str(i)} for i in range(n_noop)], executor)
        noop = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "tasks_per_second": n_tasks / seconds, "overhead_per_task_s": noop / n_noop,
                      "results": results}))
    return 0


if __name__ == "__main__":  # pragma: no cover - run under mpiexec by benchmark_tasks
    sys.exit(_mpi_main(sys.argv[1:]))
