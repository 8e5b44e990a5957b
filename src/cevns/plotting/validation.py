"""The release validation figure: each release's fitted CEvNS count beside its collaboration's, with the
release's statistical floor (rows of :func:`cevns.app.validation.validation_rows`)."""

from __future__ import annotations

import textwrap
from typing import Any

from ._common import _plt


def validation_figure(rows: list[dict], title: str = "Measured releases: fitted CEvNS counts beside the collaborations") -> Any:  # noqa: ANN401
    """Left: fitted count / collaboration's count (cevns +- sd, collaboration +- its error, the floor as a band);
    right: Dresden-II's fitted normalisation per quenching model (SM = 1)."""
    plt = _plt()
    counted = [r for r in rows if r["reference"] is not None]
    statements = [r for r in rows if r["reference"] is None]
    fig, axes = plt.subplots(2, 1, figsize=(9, 0.7 * (len(counted) + len(statements)) + 3.5), constrained_layout=True,
                             height_ratios=[max(len(counted), 1) + 1, max(len(statements), 1) + 0.5])
    ax = axes[0]
    for y, r in enumerate(counted):
        ref, err = r["reference"], r["reference_error"]
        ax.fill_betweenx([y - 0.25, y + 0.25], (r["count"] - r["floor"]) / ref, (r["count"] + r["floor"]) / ref,
                         color="0.85", label="statistical floor (backgrounds fixed)" if y == 0 else None)
        ax.errorbar(1.0, y + 0.12, xerr=err / ref, fmt="ks", ms=5, capsize=3, label="collaboration" if y == 0 else None)
        ax.errorbar(r["count"] / ref, y - 0.12, xerr=r["sd"] / ref, fmt="o", color="tab:blue", capsize=3,
                    label="cevns (posterior mean +- sd)" if y == 0 else None)
        ax.text(0.99, y, f"{r['distance_sigma']:+.2f} sigma\nwidth {r['width_ratio']:.2f} sigma", va="center", ha="right",
                fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_yticks(range(len(counted)), [textwrap.fill(r["release"], 24) for r in counted])
    ax.set_xlabel("fitted CEvNS count / collaboration's count")
    ax.axvline(1.0, color="0.6", lw=0.8)
    lows = [(r["count"] - max(r["sd"], r["floor"])) / r["reference"] for r in counted]
    highs = [(r["count"] + max(r["sd"], r["floor"])) / r["reference"] for r in counted]
    ax.set_xlim(min(lows + [0.8]) - 0.05, max(highs + [1.2]) + 0.25)  # room for the distance labels on the right
    ax.set_ylim(-0.7, len(counted) + 0.4)
    ax.legend(fontsize=7, loc="upper left", ncols=2)
    ax = axes[1]
    for y, r in enumerate(statements):
        ax.errorbar(r["mu"], y, xerr=r["mu_sd"], fmt="o", color="tab:blue", capsize=3)
        ax.text(r["mu"], y + 0.2, f"q(mu=0) {r['q_mu0']:.1f}, q(SM) {r['q_mu1']:.2f}", ha="center", fontsize=8)
    ax.axvline(1.0, color="tab:red", lw=1, ls="--", label="SM (mu = 1)")
    ax.set_yticks(range(len(statements)), [textwrap.fill(r["release"], 24) for r in statements])
    ax.set_xlabel(r"fitted CEvNS normalisation $\mu$ (SM = 1)")
    ax.set_xlim(0.0, max([3.0] + [r["mu"] + 2 * r["mu_sd"] for r in statements]))
    ax.set_ylim(-0.7, max(len(statements), 1) - 0.2)
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    return fig

