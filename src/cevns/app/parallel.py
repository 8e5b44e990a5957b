"""Fits under MPI: ``mpiexec -n K cevns fit ...`` with no change to the command (docs/scaling.md).

Rank 0 runs the sampler and writes every output; ranks 1..K-1 build the same
likelihood (the scenario and its kernels are deterministic) and wait for
batches of points. :class:`MPIPool` is the pool nautilus sees for likelihood
calls: nautilus splits each batch into ``size`` chunks, rank 0 evaluates the
first and the workers the rest. The sampler's own work (network training,
bounds) stays on rank 0.

MPI is detected from the launcher's environment (MPICH/Hydra ``PMI_SIZE``,
Open MPI ``OMPI_COMM_WORLD_SIZE``, PMIx, MVAPICH, Slurm ``srun``), so mpi4py is
imported only when it is needed; launched with K > 1 processes and no mpi4py,
the command stops with a one-line error naming the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

#: Environment variables in which MPI launchers publish the world size.
WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
WORLD_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK", "MPI_LOCALRANKID")
_TAG = 17
#: Sleep between polls of an idle worker (s): at most ~1 ms latency per batch of 1000 points,
#: against ~30-60 ms of likelihood work per batch on future-combined.
WORKER_POLL_SECONDS = 0.0005


def _first_int_variable(names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return default


def launcher_world_size() -> int:
    """Number of processes the MPI launcher started (1 when not under MPI)."""
    return _first_int_variable(WORLD_SIZE_VARIABLES, 1)


def launcher_rank() -> int:
    """This process's rank as the launcher publishes it (0 when not under MPI); works without mpi4py."""
    return _first_int_variable(WORLD_RANK_VARIABLES, 0)


@dataclass
class World:
    comm: object
    rank: int
    size: int

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def root_decides(self, decide: Callable[[], Any]) -> Any:
        """Run ``decide`` on rank 0 only (folder checks, file reads) and give its result to every rank.

        Any exception it raises is raised on every rank (rank 0 re-raises the original; the
        workers a :class:`ConfigError`, or a RuntimeError for other kinds, with its message),
        so no worker is left waiting for a rank 0 that has stopped.
        """
        result, error, original = None, None, None
        if self.is_root:
            try:
                result = decide()
            except Exception as err:  # noqa: BLE001 - broadcast, then re-raised below
                original = err
                error = (isinstance(err, ConfigError), str(err))
        if self.size > 1:
            result, error = self.comm.bcast((result, error), root=0)
        if original is not None:
            raise original
        if error is not None:
            is_config, message = error
            raise ConfigError(message) if is_config else RuntimeError(f"rank 0 failed: {message}")
        return result


_WORLD: World | None = None


def world() -> World:
    """The MPI world (rank 0 of size 1 when not under MPI)."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    if launcher_world_size() <= 1:
        _WORLD = World(None, 0, 1)
        return _WORLD
    try:
        from mpi4py import MPI
    except ImportError:
        raise ConfigError(
            f"launched under MPI with {launcher_world_size()} processes but mpi4py is not installed; "
            "install it with: pip install '.[mpi]' (or pip install 'cevns[mpi]')"
        ) from None
    comm = MPI.COMM_WORLD
    _WORLD = World(comm, comm.Get_rank(), comm.Get_size())
    return _WORLD


class MPIPool:
    """A ``map``/``size`` pool over MPI ranks for vectorized likelihood chunks (used on rank 0).

    ``map(func, chunks)`` evaluates chunk 0 with ``func`` on rank 0 and sends
    chunk i > 0 to worker ``(i - 1) % (size - 1) + 1``, which evaluates it with
    its own copy of the likelihood; results come back in order.
    """

    def __init__(self, comm) -> None:  # noqa: ANN001
        self.comm = comm
        self.size = comm.Get_size()

    def map(self, func: Callable, iterable: Iterable) -> list:
        chunks = list(iterable)
        n_workers = self.size - 1
        owners = [(i - 1) % n_workers + 1 for i in range(1, len(chunks))]
        # the workers evaluate their own likelihood, or its guide when ``func`` says it is one (smc's tempering:
        # cevns.model.sampler_view.SamplerLikelihood.mpi_message)
        kind = getattr(func, "mpi_message", "eval")
        for chunk, owner in zip(chunks[1:], owners, strict=True):
            self.comm.send((kind, chunk), dest=owner, tag=_TAG)
        results = [func(chunks[0])] if chunks else []
        results += [self.comm.recv(source=owner, tag=_TAG) for owner in owners]  # MPI keeps per-source order
        return results

    def close(self) -> None:
        """Release the workers of this fit."""
        for rank in range(1, self.size):
            self.comm.send(("stop", None), dest=rank, tag=_TAG)


def serve(comm, likelihood: Callable) -> int:  # noqa: ANN001
    """Worker loop: evaluate chunks from rank 0 until told to stop. Returns the number of points evaluated.
    A ``"guide"`` chunk is evaluated with ``likelihood.guide_likelihood()`` (cevns.model.sampler_view.SamplerLikelihood), the
    cheaper approximation smc tempers on, where the likelihood offers one."""
    import time

    import numpy as np

    guide = None  # made on the first guide chunk (most fits never send one)
    n_points = 0
    while True:
        # poll with sleeps instead of a blocking recv: MPI implementations busy-wait in recv, and an idle worker
        # spinning on a core (or its hyperthread sibling) slows rank 0's sampler. The poll probes; recv then takes the
        # whole message, its buffer sized from the probe. (An irecv without a buffer receives into 32 KiB,
        # github.com/mpi4py/mpi4py/issues/591: a larger chunk, e.g. 1000 points of 5 parameters, left both ranks
        # waiting for ever; Dresden-II's fits under mpiexec hung in smc's importance stage.)
        while not comm.Iprobe(source=0, tag=_TAG):
            time.sleep(WORKER_POLL_SECONDS)
        kind, chunk = comm.recv(source=0, tag=_TAG)
        if kind == "stop":
            return n_points
        chunk = np.atleast_2d(chunk)
        function = likelihood
        if kind == "guide":
            if guide is None:
                from ..model.sampler_view import guide_of

                guide = guide_of(likelihood)
                guide = likelihood if guide is None else guide
            function = guide
        comm.send(function(chunk), dest=0, tag=_TAG)
        n_points += len(chunk)
