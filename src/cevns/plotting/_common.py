"""What every figure module shares: a headless matplotlib axes and the parameters' LaTeX labels."""

from __future__ import annotations

from typing import Any

from ..labels import latex_label


def _plt() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (figures are written to files)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Any = None, **fig_kwargs: Any) -> Any:
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(**fig_kwargs)
    return ax


def _latex(name: str) -> str:
    return latex_label(name)
