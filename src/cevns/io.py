"""Atomic file output: write to a temporary file in the same folder, then rename.

Nothing a command writes is ever left half-written, and an existing file is
replaced only once its successor is complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def json_safe(value: Any) -> Any:  # noqa: ANN401
    """Plain JSON values: numpy scalars and arrays to Python, non-finite floats to None (JSON has no NaN)."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def print_json(data: Any) -> None:  # noqa: ANN401
    """One JSON object on standard output: sorted keys, strict JSON (non-finite numbers as null)."""
    print(json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False))


def atomic_write_with(path: str | Path, writer: Callable[[Path], None], suffix: str | None = None) -> Path:
    """Call ``writer(tmp_path)`` then rename ``tmp_path`` onto ``path``.

    ``suffix`` defaults to the target's suffix (matplotlib picks the format from it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the permissions open() would
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_with(path, lambda tmp: tmp.write_text(text))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_savefig(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically (format from the extension)."""
    return atomic_write_with(path, lambda tmp: fig.savefig(tmp, **kwargs))
