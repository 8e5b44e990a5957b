"""Reading a release's text files: every defect is one :class:`~cevns.errors.ConfigError` line naming
the file and the row (malformed or truncated rows, wrong binning, negative counts, NaN)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from ...errors import ConfigError


def release_folder(folder: str, data_dir: str | None = None) -> Path:
    """The folder of a release: the package's copy (``cevns/data/<folder>``) or a user's ``data_dir``."""
    if data_dir is not None:
        path = Path(data_dir)
        if not path.is_dir():
            raise ConfigError(f"options.data_dir: {data_dir!r} is not a folder")
        return path
    return Path(str(resources.files("cevns").joinpath("data", folder)))


def read_table(path: Path, n_columns: int, *, nonnegative: Sequence[int] = (), n_rows: int | None = None,
               header_allowed: bool = True) -> np.ndarray:
    """Numbers of a comma- or whitespace-separated text table, shape (rows, ``n_columns``).

    ``#`` lines and blank lines are skipped; one header line of text is allowed before the first
    number row. Raises :class:`ConfigError` naming the file and the row (1-based line number) for a
    row with another number of columns, a non-number, NaN or infinity, a negative value in a
    ``nonnegative`` column, or (``n_rows``) a table with another number of rows (truncated file).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"data file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"data file {path} cannot be read ({type(err).__name__}: {err})") from None
    rows: list[list[float]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f for f in stripped.replace(",", " ").split()]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if header_allowed and not rows and any(c.isalpha() for c in stripped):
                header_allowed = False
                continue
            raise ConfigError(f"data file {path}, row {lineno}: not numbers: {stripped[:60]!r}") from None
        if len(values) != n_columns:
            raise ConfigError(f"data file {path}, row {lineno}: {len(values)} columns, expected {n_columns} "
                              f"(malformed or truncated row)")
        bad = [v for v in values if not np.isfinite(v)]
        if bad:
            raise ConfigError(f"data file {path}, row {lineno}: {bad[0]} is not a finite number")
        negative = [k for k in nonnegative if values[k] < 0]
        if negative:
            raise ConfigError(f"data file {path}, row {lineno}: column {negative[0] + 1} is negative ({values[negative[0]]}); "
                              f"counts and rates must be >= 0")
        rows.append(values)
    if not rows:
        raise ConfigError(f"data file {path} holds no data rows")
    if n_rows is not None and len(rows) != n_rows:
        raise ConfigError(f"data file {path}: {len(rows)} data rows, expected {n_rows} (truncated or extra rows)")
    return np.array(rows)


def _line_numbers(path: Path) -> list[int]:
    """Line numbers of the data rows (same skipping rules as :func:`read_table`)."""
    out = []
    seen_number = False
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not seen_number and any(c.isalpha() for c in s):
            continue
        seen_number = True
        out.append(lineno)
    return out


def check_column(path: Path, table: np.ndarray, column: int, expected: np.ndarray, what: str,
                 rtol: float = 1e-6) -> None:
    """Raise a ConfigError naming the first row whose ``column`` differs from ``expected`` (binning check)."""
    values = table[:, column]
    expected = np.asarray(expected, dtype=float)
    mismatch = ~np.isclose(values, expected, rtol=rtol, atol=1e-9)
    if np.any(mismatch):
        row = int(np.argmax(mismatch))
        lineno = _line_numbers(path)[row]
        raise ConfigError(f"data file {path}, row {lineno}: {what} is {values[row]:g}, expected {expected[row]:g} "
                          f"(binning does not match the release's)")


def grid_rows(first_centres: np.ndarray, second_centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected (first, second) columns of a table with the second index running fastest."""
    a, b = np.meshgrid(first_centres, second_centres, indexing="ij")
    return a.ravel(), b.ravel()
