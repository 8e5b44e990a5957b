"""Draw docs/release-projections.png: each release's SM CEvNS prediction in the projections the release gives.

Argon 2020: the release's CEvNS template (energy, F90, time projections) beside the package's own folding
(``signal_shape = "folded"``) and the default (``"release"``: the folding corrected bin by bin to the template, so
it lies on the template). CsI 2021 and CsI 2017 give no CEvNS template: their panels show the package's SM
prediction plus the fitted backgrounds at the maximum-likelihood point against the data (PE and time projections).

    python scripts/release_projections.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cevns  # noqa: E402
from cevns.app.validation import channel_signal  # noqa: E402
from cevns.builders.releases import coherent_lar_2020 as lar  # noqa: E402
from cevns.builders.scenario import Scenario  # noqa: E402
from cevns.inference.frequentist import Profiler, fit_mle  # noqa: E402
from cevns.spec.config import load_config  # noqa: E402


def with_options(name: str, options: dict) -> Scenario:
    config = load_config(name)
    datasets = list(config.datasets)
    datasets[0] = datasets[0].model_copy(update={"options": {**datasets[0].options, **options}})
    return Scenario(config.model_copy(update={"datasets": datasets}))


def argon_panels(axes) -> None:  # noqa: ANN001
    template = lar.read_release().templates["cevns"]
    shapes = {}
    for shape in ("folded", "release"):
        (channel,) = with_options("coherent-lar-2020", {"signal_shape": shape}).channels_at(None)
        shapes[shape] = channel.quadratic_forms[:, :, 0, 0].sum(axis=1).reshape(lar.SHAPE)
    edges = (lar.ENERGY_EDGES_KEVEE, lar.F90_EDGES, lar.TIME_EDGES_US)
    labels = ("reconstructed energy (keVee)", "F90", "arrival time (us)")
    for axis, (ax, e, label) in enumerate(zip(axes, edges, labels)):
        other = tuple(a for a in range(3) if a != axis)
        ax.stairs(template.sum(axis=other), e, color="k", lw=2, label=f"release template ({template.sum():.1f})")
        ax.stairs(shapes["folded"].sum(axis=other), e, color="tab:orange", ls="--",
                  label=f"cevns folding ({shapes['folded'].sum():.1f})")
        ax.stairs(shapes["release"].sum(axis=other), e, color="tab:blue", ls=":", lw=2,
                  label=f"cevns default ({shapes['release'].sum():.1f})")
        ax.set_xlabel(label)
        ax.set_ylabel("SM CEvNS events per bin")
        ax.set_title("argon 2020: " + label.split(" (")[0])
    axes[0].legend(fontsize=7)


def csi_panels(axes, scenario: str, channel: str, pe_axis: int, shape: tuple[int, int], pe_edges, t_edges) -> None:  # noqa: ANN001
    model = cevns.Model.from_scenario(Scenario.load(scenario))
    pars = np.asarray(fit_mle(Profiler(model, model.observed())).full, dtype=float)[None, :]
    signal = channel_signal(model, pars, channel, per_bin=True)[0]
    total = sum(v[0] for v in model.expected(pars)[channel].values())
    data = model.observed()[model.experiment_bins[channel]]
    for axis, (ax, e, label) in enumerate(zip(axes, (pe_edges, t_edges), ("photoelectrons (PE)", "arrival time (us)"))):
        width = np.diff(np.asarray(e, dtype=float))
        project = lambda x: x.reshape(shape).sum(axis=1 - axis) / width  # noqa: E731  (per unit of the axis)
        centres = 0.5 * (np.asarray(e[1:]) + np.asarray(e[:-1]))
        counts = data.reshape(shape).sum(axis=1 - axis)
        ax.errorbar(centres, counts / width, yerr=np.sqrt(counts) / width, fmt="k.", label=f"data ({data.sum():.0f})")
        ax.stairs(project(total), e, color="tab:blue", label="CEvNS + backgrounds (max. likelihood)")
        ax.stairs(project(signal), e, color="tab:red", ls="--", label=f"CEvNS at the max. likelihood ({signal.sum():.1f})")
        ax.set_xlabel(label)
        ax.set_ylabel("events per " + ("PE" if axis == 0 else "us"))
        ax.set_title(f"{scenario}: {label.split(' (')[0]}")
    axes[0].legend(fontsize=7)


def main(out: str) -> None:
    from cevns.builders.releases import coherent_csi_2017 as c17
    from cevns.builders.releases import coherent_csi_2021 as c21

    fig, axes = plt.subplots(3, 3, figsize=(14, 12), constrained_layout=True)
    argon_panels(axes[0])
    o21 = c21.CsI2021Options()
    csi_panels(axes[1][:2], "coherent-csi-2021", "CsI-2021", 0, (len(o21.pe_edges) - 1, len(o21.time_edges_us) - 1),
               o21.pe_edges, o21.time_edges_us)
    o17 = c17.Coherent2017Options()
    pe, t = c17._window(o17)
    pe_edges, t_edges = c17.PE_EDGES[pe.start:pe.stop + 1], c17.TIME_EDGES_US[t.start:t.stop + 1]
    csi_panels(axes[2][:2], "coherent-csi-2017-data", "CsI-2017", 0, (pe_edges.size - 1, t_edges.size - 1), pe_edges, t_edges)
    for ax in (axes[1][2], axes[2][2]):
        ax.axis("off")
    axes[1][2].text(0, 0.5, "CsI 2021 and CsI 2017 releases give no CEvNS\ntemplate: the package's SM signal and the\n"
                    "fitted backgrounds at the maximum likelihood\nagainst the data (statistical errors).", fontsize=10)
    fig.suptitle(f"SM CEvNS predictions in each release's projections (cevns {cevns.__version__})")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/release-projections.png")
