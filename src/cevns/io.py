"""Atomic file output (write to a temporary file in the same folder, then rename) and checksums.

Nothing a command writes is ever left half-written, and an existing file is
replaced only once its successor is complete. What a command reads back (a fit
folder, a task cache) is trusted only once its SHA-256 checksums verify
(:func:`sha256_file`, :func:`checksum_json`, :func:`verify_checksums`).
"""

from __future__ import annotations

import hashlib
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


# --- checksums of what is read back ---------------------------------------------------------------
def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_json(data: Any) -> str:  # noqa: ANN401
    """SHA-256 of a JSON value in its canonical form (sorted keys, no spaces): the checksum a task file
    carries of its own spec and result."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def verify_checksums(folder: str | Path, files: Any, required: tuple[str, ...] = (),  # noqa: ANN401
                     vouched: tuple[str, ...] = ()) -> str | None:
    """Why ``folder`` does not match ``files`` ({name: sha256}, a completion record's list), or None if it does.

    ``required``: names that must be listed; ``vouched``: names that, when present in the folder, must be
    listed (a file the record does not vouch for was added or replaced after it was written)."""
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return "its completion record lists no checksums"
    folder = Path(folder)
    for name in required:
        if name not in files:
            return f"its completion record does not list {name}"
    for name in vouched:
        if (folder / name).exists() and name not in files:
            return f"{name} is not in its completion record"
    for name, digest in files.items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            return f"its completion record names a file outside it ({name})"
        try:
            if sha256_file(folder / name) != digest:
                return f"{name} was changed after the run finished (checksum mismatch)"
        except OSError:
            return f"{name} is missing or unreadable"
    return None


def read_record(path: str | Path) -> dict | None:
    """A JSON object from ``path`` (None when it is missing, unreadable, not JSON or not an object)."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def record_problem(folder: str | Path, name: str, required: tuple[str, ...] = (), vouched: tuple[str, ...] = (),
                   missing: str | None = None) -> str | None:
    """Why the checksum record ``name`` in ``folder`` (``{"files": {name: sha256}}``) does not vouch for the
    folder's files (None when it does): missing (the reason ``missing``, by default "it has no NAME"), corrupt,
    or :func:`verify_checksums`' reason."""
    path = Path(folder) / name
    if not path.exists():
        return missing or f"it has no {name}"
    record = read_record(path)
    if record is None:
        return f"its {name} is corrupt"
    return verify_checksums(folder, record.get("files"), required, vouched)
