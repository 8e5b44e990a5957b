"""What every figure module shares: a headless matplotlib axes, region shades, and the parameters' LaTeX axis
labels with their units."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..labels import latex_label

#: Region shading: fill lightness of the outermost and innermost level (mix of the colour with white).
REGION_SHADES = (0.35, 0.8)
#: Units of parameters that have one (the NSI couplings, sin^2 theta_W and normalisations are ratios).
UNITS = {"mu_nu": r"$10^{-10}\,\mu_B$"}
#: Unit suffixes of parameter names (the config's convention: ``neutron_radius_fm``).
UNIT_SUFFIXES = {"_fm": "fm", "_keV": "keV", "_MeV": "MeV"}
#: Symbols of the physics parameters whose names labels.py leaves plain.
SYMBOLS = {"neutron_radius_fm": r"$R_n$", "mu_nu": r"$\mu_\nu$", "sin2_theta_w": r"$\sin^2\theta_W$",
           "mu_cevns": r"$\mu_{\rm CEvNS}$"}


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


def _shades(color: str, n: int) -> list[tuple[float, float, float]]:
    """Fill colours of ``n`` nested levels, outer (lightest) first."""
    import matplotlib.colors as mcolors

    base = mcolors.to_rgb(color)
    return [tuple(1 - (1 - c) * a for c in base) for a in np.linspace(*REGION_SHADES, n)]


def axis_label(name: str) -> str:
    """The LaTeX label of a parameter with its unit in brackets where it has one."""
    unit = UNITS.get(name) or next((u for suffix, u in UNIT_SUFFIXES.items() if name.endswith(suffix)), None)
    return SYMBOLS.get(name, latex_label(name)) + (f" [{unit}]" if unit else "")
