"""Each measured release fitted as the Standard Model with a free CEvNS normalisation, beside its collaboration.

For every release: the fitted CEvNS count (posterior mean and standard deviation of the summed signal of its
channel over the equal-weight samples), the release's statistical floor (the 1-sigma Wilks half-width of
``mu_cevns`` with every other parameter fixed at the maximum likelihood, on the Asimov data there:
:func:`cevns.inference.frequentist.statistical_floor`), and the distance from the collaboration's value in
units of sigma = max(collaboration's error, floor) (docs/data.md, "Validation against the collaborations").
Dresden-II quotes no count: its row is the fitted normalisation mu (SM = 1) and the profile-likelihood
q = -2 Delta ln L at mu = 0 and mu = 1 beside the collaboration's statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..builders.scenario import Scenario
from ..inference.fitting import FitResult
from ..inference.frequentist import Profiler, fit_mle, profile_1d, statistical_floor
from ..model import Model


@dataclass(frozen=True)
class Reference:
    """A collaboration's published result for one release (``count`` None: a statement, no number)."""

    scenario: str
    channel: str
    label: str
    count: float | None
    error: float | None
    source: str


#: The releases' SM scenarios (``mu_cevns`` free) and the collaborations' fitted counts.
REFERENCES = (
    Reference("coherent-csi-2017-data", "CsI-2017", "COHERENT CsI 2017", 134.0, 22.0,
              "Akimov et al., Science 357 (2017) 1123"),
    Reference("coherent-csi-2021", "CsI-2021", "COHERENT CsI 2021", 306.0, 20.0,
              "Akimov et al., PRL 129 (2022) 081801"),
    Reference("coherent-lar-2020", "LAr-2020", "COHERENT argon 2020", 159.0, 43.0,
              "Akimov et al., PRL 126 (2021) 012002 (LArParametersAnlA.yaml)"),
    Reference("dresden-ii", "Dresden-II", "Dresden-II, iron-filter quenching (provenance probable)", None, None,
              "Colaresi et al., PRL 129 (2022) 211802: a strong preference for CEvNS with the iron-filter quenching"),
    Reference("dresden-ii-ybe", "Dresden-II", "Dresden-II, YBe quenching", None, None, "the PRL's other quenching data"),
    Reference("dresden-ii-lindhard", "Dresden-II", "Dresden-II, Lindhard k = 0.162 +- 0.004", None, None,
              "Lindhard quenching at the CONUS measurement (EPJC 82 (2022) 815)"),
)
#: The scenarios :func:`validation_rows` needs fitted.
VALIDATION_FITS = tuple(r.scenario for r in REFERENCES)


def channel_signal(model: Model, pars: np.ndarray, channel: str, per_bin: bool = False) -> np.ndarray:
    """The CEvNS count of ``channel`` at each parameter point (n, d): summed over its bins (n,), or per bin (n, bins)."""
    expected = model.expected(pars)[channel]
    signal = sum(expected[s.component] for s in model.samples if s.experiment == channel and s.is_signal)
    return signal if per_bin else signal.sum(axis=1)


def signal_counts(model: Model, fit: FitResult, channel: str) -> np.ndarray:
    """The summed CEvNS count of ``channel`` at each equal-weight sample of ``fit``."""
    return channel_signal(model, np.column_stack([fit.equal_weight[n] for n in model.parameter_names]), channel)


def release_floor(model: Model, channel: str) -> dict:
    """Maximum likelihood of the observed data (``mle``: :class:`MaximumLikelihood`), its CEvNS count and mu, and the
    release's statistical floor (1 sigma) in events and in mu (module docstring)."""
    mle = fit_mle(Profiler(model, model.observed()))
    pars = np.asarray(mle.full, dtype=float)
    mu = float(pars[model.index("mu_cevns")])
    count = float(channel_signal(model, pars[None, :], channel)[0])
    lo, hi = statistical_floor(model, model.asimov(pars), "mu_cevns", pars)
    return {"mle": mle, "mle_count": count, "mle_mu": mu, "floor": 0.5 * (hi - lo) * count / mu, "floor_mu": 0.5 * (hi - lo)}


def floor_and_mle(model: Model, channel: str) -> dict[str, float]:
    """:func:`release_floor` and the profile likelihood q = -2 Delta ln L at mu = 0 and mu = 1 (module docstring)."""
    out = release_floor(model, channel)
    mle = out.pop("mle")
    q = profile_1d(model, model.observed(), "mu_cevns", values=np.array([0.0, 1.0]), mle=mle, refine=False).q
    return {**out, "q_mu0": float(q[0]), "q_mu1": float(q[-1])}


def validation_rows(fits: dict[str, FitResult], scenario: Callable[[str], Scenario] = Scenario.load) -> list[dict]:
    """One row per :data:`REFERENCES` entry from the finished fits of :data:`VALIDATION_FITS`; ``scenario(name)``
    builds each scenario as its fit was made (e.g. ``cevns reproduce --couplings radiative``'s)."""
    rows = []
    for ref in REFERENCES:
        model = Model.from_scenario(scenario(ref.scenario))
        counts = signal_counts(model, fits[ref.scenario], ref.channel)
        mu = np.asarray(fits[ref.scenario].equal_weight["mu_cevns"])
        row = {"release": ref.label, "scenario": ref.scenario, "count": float(np.mean(counts)), "sd": float(np.std(counts)),
               "mu": float(np.mean(mu)), "mu_sd": float(np.std(mu)), "reference": ref.count, "reference_error": ref.error,
               "source": ref.source, **floor_and_mle(model, ref.channel)}
        if ref.count is not None:
            sigma = max(ref.error, row["floor"])
            row.update(sigma=sigma, distance_sigma=(row["count"] - ref.count) / sigma,
                       width_ratio=row["sd"] / sigma)
        rows.append(row)
    return rows


def validation_markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table (the one in docs/data.md)."""
    lines = ["| release | cevns count | collaboration | floor | distance | width / sigma | maximum likelihood |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["reference"] is None:
            lines.append(f"| {r['release']} | mu = {r['mu']:.2f} +- {r['mu_sd']:.2f} | {r['source']} | {r['floor_mu']:.2f} (in mu) | "
                         f"q(mu=0) = {r['q_mu0']:.1f}, q(mu=1) = {r['q_mu1']:.2f} | - | mu = {r['mle_mu']:.2f} |")
        else:
            lines.append(f"| {r['release']} | {r['count']:.1f} +- {r['sd']:.1f} | {r['reference']:g} +- {r['reference_error']:g} "
                         f"({r['source']}) | {r['floor']:.1f} | {r['distance_sigma']:+.2f} sigma | {r['width_ratio']:.2f} | "
                         f"{r['mle_count']:.1f} |")
    lines += ["", "Fitted count: posterior mean +- sd of the summed CEvNS signal (mu_cevns free). Floor: 1-sigma half-width "
              "with every background and nuisance fixed at the maximum likelihood (Asimov), in events. sigma = max("
              "collaboration's error, floor). q = -2 Delta ln L of the profile likelihood. docs/data.md explains each row."]
    return "\n".join(lines) + "\n"
