"""Remembered conditional modes of the Newton plan (cevns.model.newton): where a point evaluated again, or a new
point near remembered ones, starts its Newton iteration."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

#: Modes remembered per plan (:class:`ModeCache`): the points of the last calls, so that a point evaluated again
#: starts at its mode (one Newton evaluation instead of ~4.4). A fit asks for the conditional modes of its
#: equal-weight draws after sampling (Model.sample_nuisances), and every one of them was a point of the sampler's
#: last calls (smc's importance draws: 12 000-48 000 with the presets, after ~25 000 tempering points, the oldest
#: forgotten first). Memory per plan and point: the key (8 bytes per parameter of the model) and its dict entry, ~200
#: bytes, and 8 bytes per nuisance and per warm-key number: ~18 MB for the argon release's plan when full, ~30 MB per
#: plan of the solar combinations (33 parameters, three plans: ~90 MB).
MODE_CACHE_POINTS = 65536
#: Starting modes from the modes of solved points (:func:`local_start`): a least-squares fit in the warm key through
#: its nearest solved points, a quadratic where the warm key has at most QUADRATIC_KEYS numbers, a plane where it has at
#: most LINEAR_KEYS, else the nearest one's mode; LOCAL_EXTRA more neighbours than the fit has coefficients. Measured,
#: Newton evaluations per point of a first call on 1000 prior draws (cevns.model.newton's waves, every 64th point
#: cold), from the nearest solved point's mode / a plane / a quadratic:
#: argon (q = 3 numbers) 3.78 / 3.40 / 3.01 (a plane with 4 / 5 / 7 / 8 / 12 neighbours: 3.49 / 3.40 / 3.42 / 3.45 /
#: 3.55; a quadratic with 12 / 15 / 20: 3.01 / 3.04 / 3.11); Dresden-II (q = 1) 2.67 / 2.25 / 2.12; XENONnT (q = 18:
#: 27 samples' yields, functions of 4 couplings) 4.18 / 4.07 with a plane, which took 1.3x the call's time.
QUADRATIC_KEYS = 3
LINEAR_KEYS = 6
LOCAL_EXTRA = 2
#: False: always the nearest solved point's mode (the A/B switch of the measurement above).
LOCAL_FIT = True
#: Ridge of the normal equations, relative to their mean diagonal (neighbours on a line or a point: a smooth fit).
LOCAL_RIDGE = 1e-12


def local_start(keys: np.ndarray, modes: np.ndarray, tree: cKDTree, new: np.ndarray, fit: bool = True) -> np.ndarray:
    """Starting modes (t, M) for points with warm keys ``new`` (t, q), from solved points' ``keys`` (s, q) and
    ``modes`` (s, M) (``tree``: a k-d tree over ``keys``): the value at ``new`` of a least-squares quadratic or plane
    (QUADRATIC_KEYS, LINEAR_KEYS) through the modes of its nearest solved points, a Taylor prediction of the mode as a
    function of the warm key, clipped per nuisance to the range of those neighbours' modes (it interpolates; where
    the point lies outside its neighbours it goes no further than the farthest of their modes). With fewer solved
    points than the fit needs, more key numbers than LINEAR_KEYS, or ``fit`` False, the nearest one's mode. Either way
    only a start: Newton's iteration runs from it to the tolerance."""
    q = new.shape[1]
    degree = 2 if q <= QUADRATIC_KEYS else 1 if q <= LINEAR_KEYS else 0
    coefficients = 1 + q + (q * (q + 1) // 2 if degree == 2 else 0)
    k = coefficients + LOCAL_EXTRA
    if not (fit and LOCAL_FIT) or degree == 0 or q == 0 or len(keys) < k:
        return modes[tree.query(new)[1]]
    _, near = tree.query(new, k=k)
    offsets = keys[near] - new[:, None, :]                                  # (t, k, q)
    scale = np.sqrt(np.mean(offsets**2, axis=1, keepdims=True))            # each key number to unit size
    x = offsets / np.where(scale > 0, scale, 1.0)
    columns = [np.ones((*x.shape[:2], 1)), x]
    if degree == 2:
        first, second = np.triu_indices(q)
        columns.append(x[..., first] * x[..., second])
    design = np.concatenate(columns, axis=2)                                # (t, k, coefficients)
    neighbours = modes[near]                                                # (t, k, M)
    normal = np.swapaxes(design, 1, 2) @ design
    ridge = LOCAL_RIDGE * np.trace(normal, axis1=1, axis2=2) / coefficients
    normal[:, np.arange(coefficients), np.arange(coefficients)] += ridge[:, None]
    intercept = np.linalg.solve(normal, np.swapaxes(design, 1, 2) @ neighbours)[:, 0]
    return np.clip(intercept, neighbours.min(axis=1), neighbours.max(axis=1))


class ModeCache:
    """The converged modes (M nuisances) of the last MODE_CACHE_POINTS points, keyed by the point's bytes, with their
    warm keys, for one data set and one set of constraint centres (another data set empties it); oldest forgotten
    first. A hit, or the nearest remembered point (:meth:`nearest`), is only a starting point: the Newton iteration
    runs from it to the tolerance as from any other start. The k-d tree over the warm keys (a copy) is rebuilt when an
    eighth of the remembered points (at least 1024) are newer than it, or when a point it holds has been forgotten
    (its slot then holds another point's mode). With fewer than ``min_points`` remembered, :meth:`nearest` gives none."""

    def __init__(self, m: int, min_points: int, capacity: int = MODE_CACHE_POINTS) -> None:
        self.m, self.min_points, self.capacity = m, min_points, capacity
        self.fingerprint: bytes | None = None
        self.slots: dict[bytes, int] = {}
        self.modes = np.empty((0, m))
        self.warm = np.empty((0, 0))
        self.next = 0
        self.tree, self.tree_at = None, 0

    def bind(self, data: np.ndarray, centers: np.ndarray) -> None:
        fingerprint = np.ascontiguousarray(data).tobytes() + np.ascontiguousarray(centers).tobytes()
        if fingerprint != self.fingerprint:
            self.clear()
            self.fingerprint = fingerprint

    def clear(self) -> None:
        self.fingerprint, self.slots, self.next = None, {}, 0
        self.tree, self.tree_at = None, 0

    def nearest(self, warm: np.ndarray, fit: bool = True) -> np.ndarray | None:
        """Starting modes for points with warm keys ``warm`` (n, q) from the remembered ones (:func:`local_start`), or
        None with too few remembered; ``fit`` False: the nearest one's mode."""
        size = min(self.next, self.capacity)
        if size < self.min_points:
            return None
        if self.tree is None or self.next - self.tree_at > max(1024, size // 8):
            self.tree, self.tree_at = cKDTree(self.warm[:size], copy_data=True), self.next
        return local_start(self.warm[:size], self.modes[:size], self.tree, warm, fit)

    def lookup(self, keys: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """(rows with a remembered mode, their modes (hits, M))."""
        slots = [self.slots.get(k, -1) for k in keys]
        rows = np.flatnonzero(np.array(slots, dtype=np.intp) >= 0) if keys else np.zeros(0, dtype=np.intp)
        return rows, self.modes[[slots[r] for r in rows]]

    def store(self, keys: list[bytes], modes: np.ndarray, warm: np.ndarray) -> None:
        if self.modes.shape[0] < min(self.capacity, self.next + len(keys)):  # grown on demand: a small fit never holds the whole buffer
            size = min(self.capacity, max(2 * self.modes.shape[0], self.next + len(keys), 1024))
            grown, grown_warm = np.empty((size, self.m)), np.empty((size, warm.shape[1]))
            grown[: self.modes.shape[0]] = self.modes
            if self.warm.size:
                grown_warm[: self.warm.shape[0]] = self.warm
            self.modes, self.warm = grown, grown_warm
        for key, mode, w in zip(keys, modes, warm):
            slot = self.slots.get(key)
            if slot is None:
                slot = self.next % self.capacity
                if len(self.slots) >= self.capacity:  # the slot's old point: insertion order is slot order
                    del self.slots[next(iter(self.slots))]
                    self.tree = None  # it held the old point's warm key at this slot
                self.slots[key] = slot
                self.next += 1
            self.modes[slot], self.warm[slot] = mode, w
