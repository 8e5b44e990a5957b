"""Figures that explain themselves: sets running off the axes are marked with their end value, slivers stay
visible, the rates figure names the scenario and the NSI point and draws the Standard Model beside it (also for a
measured release in its own bins), the
mediator figure names its scenarios and level."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cevns.builders.scenario import Scenario  # noqa: E402
from cevns.physics.couplings import nsi_vector  # noqa: E402
from cevns.plotting import credible_sets_figure, mediator_limits_figure, rates_figure  # noqa: E402


def _texts(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for lg in legends for t in lg.get_texts()]


def test_credible_sets_mark_what_runs_off_and_what_is_thin():
    rows = [("reactor alone", {"eff_eps_mumu": [[-7.0, 7.3]], "eps_u_ee": [[-0.5, 0.5]]}),
            ("projection", {"eff_eps_mumu": [[-0.1, 0.1]], "eps_u_ee": [[-0.378, -0.35], [-0.014, 0.014]]})]
    fig = credible_sets_figure(rows, ["eps_u_ee", "eff_eps_mumu"], {"eps_u_ee": (-1.6, 1.6), "eff_eps_mumu": (-1.0, 2.0)},
                               title="toy")
    texts = _texts(fig)
    assert any("-7" in t and "\u25c0" in t for t in texts) and any("+7.3" in t and "\u25b6" in t for t in texts)
    assert any("continues past the axis" in t for t in texts) and any("narrower than 2%" in t for t in texts)
    ee = fig.axes[0]
    diamonds = [line for line in ee.lines if line.get_marker() == "D"]
    assert len(diamonds) == 2  # the two slivers of the projection's ee set (0.028 wide on a 3.2-wide axis)
    assert fig._suptitle.get_text() == "toy"
    plt.close(fig)
    # nothing runs off, nothing thin: no such keys
    fig = credible_sets_figure([("a", {"x": [[-0.5, 0.5]]})], ["x"], {"x": (-1, 1)})
    assert not any("continues" in t or "narrower" in t for t in _texts(fig))
    plt.close(fig)


def test_rates_figure_names_scenario_and_nsi_point():
    scenario = Scenario.load("coherent-2017")
    fig = rates_figure(scenario, nsi_vector({"eps_u_ee": 0.2}))
    assert fig._suptitle.get_text() == "coherent-2017: expected events at NSI eps_u_ee = +0.2"
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "total signal (NSI)" in labels and "total signal, Standard Model" in labels
    nsi, sm = (next(line for line in fig.axes[0].lines if line.get_label() == name).get_ydata()
               for name in ("total signal (NSI)", "total signal, Standard Model"))
    assert not np.allclose(nsi, sm)
    plt.close(fig)
    fig = rates_figure(scenario)
    assert fig._suptitle.get_text() == "coherent-2017: expected events at the Standard Model"
    assert "total signal, Standard Model" not in [line.get_label() for line in fig.axes[0].lines]
    plt.close(fig)


def test_rates_figure_of_a_measured_release_draws_the_standard_model_beside_the_nsi_point():
    from matplotlib.patches import StepPatch

    from cevns.app.rates import rates_table

    scenario = Scenario.load("coherent-csi-2021")
    eps = nsi_vector({"eps_u_ee": 0.2})
    table = rates_table(scenario, eps)
    signal = next(e for e in table["experiments"] if e["name"] == "CsI-2021")
    sm = rates_table(scenario, np.zeros_like(eps))["experiments"][0]
    assert np.allclose(signal["signal_standard_model"], sm["signal"]) and not np.allclose(signal["signal"], sm["signal"])
    fig = rates_figure(scenario, eps, table)
    assert fig._suptitle.get_text() == "coherent-csi-2021: expected events at NSI eps_u_ee = +0.2"
    steps = {patch.get_label(): patch for patch in fig.axes[0].patches if isinstance(patch, StepPatch)}
    reference = next(v for k, v in steps.items() if "Standard Model" in k)
    background = np.sum([signal["backgrounds"][k] for k in signal["backgrounds"]], axis=0)
    assert np.allclose(reference.get_data().values, background + np.asarray(sm["signal"]))
    assert any(k.startswith("CEvNS signal, NSI") for k in steps)
    assert "no signal" in fig.axes[1].get_title()  # the anti-coincidence control channel
    plt.close(fig)
    fig = rates_figure(scenario, np.zeros_like(eps), rates_table(scenario, np.zeros_like(eps)))
    assert not any("Standard Model" in patch.get_label() for patch in fig.axes[0].patches)
    plt.close(fig)


def test_mediator_figure_names_scenarios_and_level():
    result = {"masses_MeV": [1.0, 10.0, 100.0], "level": 0.95,
              "allowed_g": [[[0.0, 1e-5]], [[0.0, 2e-5]], [[0.0, 1e-4], [2e-4, 3e-4]]]}
    fig = mediator_limits_figure([result], ["coherent-2017"])
    ax = fig.axes[0]
    assert ax.get_title() == "Light vector mediator, 95% allowed: coherent-2017"
    assert "[MeV]" in ax.get_xlabel()
    assert any("g = 0 (Standard Model)" in t for t in _texts(fig))
    plt.close(fig)
