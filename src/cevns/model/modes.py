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

    def nearest(self, warm: np.ndarray) -> np.ndarray | None:
        """Modes of the remembered points nearest to ``warm`` (n, q) in warm keys, or None with too few remembered."""
        size = min(self.next, self.capacity)
        if size < self.min_points:
            return None
        if self.tree is None or self.next - self.tree_at > max(1024, size // 8):
            self.tree, self.tree_at = cKDTree(self.warm[:size], copy_data=True), self.next
        _, slot = self.tree.query(warm)
        return self.modes[slot]

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
