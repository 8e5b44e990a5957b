"""The task farm's scaling figure (``cevns bench --tasks N --plot FILE``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._common import _axes


def task_scaling_figure(benchmark: Mapping[str, Any]) -> Any:
    """Tasks per second against workers (``cevns bench --tasks N --plot FILE``).

    Points: the measured settings of :func:`cevns.app.tasks.benchmark_tasks` (serial, process pool,
    MPI ranks). Line: the task-farm projection rate(W) = min(W / c, 1 / o) from the measured
    seconds per task c (one worker) and the manager's cost per task o (docs/scaling.md).
    """
    ax = _axes(figsize=(5.5, 4.0))
    markers = {"serial": "o", "process": "s", "mpi": "^"}
    for label, setting in benchmark.get("settings", {}).items():
        ax.plot(setting["workers"], setting["tasks_per_second"], markers.get(setting["backend"], "o"), ms=8,
                label=f"{label}: {setting['tasks_per_second']:.3g}/s")
    projection = benchmark.get("projection")
    if projection:
        c, o = projection["seconds_per_task"], projection["dispatch_seconds_per_task"]
        workers = np.logspace(0, np.log10(max(1024.0, 4 * projection["saturation_workers"])), 200)
        ax.plot(workers, np.minimum(workers / c, 1.0 / o), "k--", lw=1,
                label=f"min(W/c, 1/o): c = {c * 1e3:.0f} ms, o = {o * 1e3:.2f} ms")
        ax.plot(workers, workers / c, ":", color="0.6", lw=1, label="ideal W/c")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("workers W (processes or MPI ranks)")
    ax.set_ylabel("throughput [tasks/s]")
    ax.set_title(f"task farm, toy fits of {benchmark.get('scenario', '')}: measured (points), projected (lines)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    ax.figure.tight_layout()
    return ax.figure
