"""Closed-form NSI degeneracies of the CEvNS rate (Dent et al., arXiv:1711.03521, sec. II; the paper arXiv:1711.03521, section II.3, Fig. 1).

For one neutrino flavor with only flavor-diagonal couplings (eps^u, eps^d) the
vector charge of a nucleus with Z protons and N neutrons is (Dent et al., arXiv:1711.03521, eqs. 1-2)

    Q = Z g_p + N g_n + Z (2 eps^u + eps^d) + N (eps^u + 2 eps^d).

Divide by N and write beta = Z/N. The rate equals its Standard Model value when
Q^2 = Q_SM^2, i.e. on two parallel lines in the (eps^u, eps^d) plane:

* Q = +Q_SM (through the SM point):
  eps^d = -(1 + 2 beta)/(2 + beta) eps^u;
* Q = -Q_SM (the "mirror" line):
  (1 + 2 beta) eps^u + (2 + beta) eps^d = -2 (beta g_p + g_n).
  It crosses the eps^u axis at -2 (g_n + beta g_p)/(1 + 2 beta) (the form
  Dent et al., arXiv:1711.03521, sec. II quotes) and the eps^d axis at -2 (g_n + beta g_p)/(2 + beta).

Two targets with different beta have lines with different slopes; the four
crossings of {SM, mirror}_A x {SM, mirror}_B leave both rates at their SM
values: the SM point, the "mirror" point (both mirror lines) and two mixed ones.

Flavor-changing plus diagonal couplings of one quark, e.g. (eps^u_ee, eps^u_emu),
for incoming nu_e: sum_b Q_eb^2 = (Q_SM + a eps_ee)^2 + (a eps_emu)^2 with
a = 2Z + N (u quark) or Z + 2N (d quark), so the SM rate lies on the circle of
centre (-Q_SM/a, 0) and radius |Q_SM/a|, through the origin.

For a target of several isotopes, beta is the isotope-averaged Z/N
(:attr:`cevns.detectors.Target.beta`). The lines are exact for a single
isotope. For a mixture the SM point and the mirror crossing of two targets stay
exact (there 2 eps^u + eps^d = -2 g_p and eps^u + 2 eps^d = -2 g_n separately,
so Q = -Q_SM for every Z and N); elsewhere the lines are approximate: at the
mixed crossings (|eps| ~ 5) the spread of N in natural Si and Ge moves the
rate by 6% and 14% (tests/test_degeneracy.py).

The nucleon couplings g_p, g_n follow the ``convention`` keyword (tree level by
default; ``"radiative"``: Barranco, Miranda & Rashba 2005, see
:func:`cevns.physics.couplings.weak_nucleon_charges`). The mirror crossing of any
two targets is the target-independent point (:func:`mirror_point`)

    eps^u = -2 (2 g_p - g_n) / 3,   eps^d = -2 (2 g_n - g_p) / 3,

so the convention moves it by d eps^u = -2 (2 dg_p - dg_n)/3, d eps^d = -2 (2 dg_n - dg_p)/3:
tree level at sin^2 = 0.2387 gives (-0.3635, +0.6817), radiative at 0.2312 (-0.3820, +0.7032).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

from .. import units
from .couplings import NEUTRON_QUARK_CONTENT, PROTON_QUARK_CONTENT, weak_nucleon_charges


@dataclass(frozen=True)
class TargetLines:
    """SM-equivalent lines and ring of one target (all couplings dimensionless, in G_F units).

    Attributes
    ----------
    slope : float            d eps^d / d eps^u of both lines, -(1 + 2 beta)/(2 + beta)
    intercept_sm : float     eps^d at eps^u = 0 of the SM line (0)
    intercept_mirror : float eps^u-axis crossing of the mirror line, -2 (g_n + beta g_p)/(1 + 2 beta) (Dent et al., arXiv:1711.03521, sec. II)
    intercept_mirror_d : float eps^d-axis crossing of the mirror line, -2 (g_n + beta g_p)/(2 + beta)
    ring_center : (float, float)  centre of the SM-rate circle in (eps^q_ee, eps^q_emu)
    ring_radius : float
    """

    name: str
    beta: float
    slope: float
    intercept_sm: float
    intercept_mirror: float
    intercept_mirror_d: float
    ring_center: tuple[float, float]
    ring_radius: float
    ring_quark: str = "u"

    def mirror_d(self, eps_u: np.ndarray) -> np.ndarray:
        """eps^d on the mirror line at eps^u."""
        return self.slope * (np.asarray(eps_u) - self.intercept_mirror)

    def sm_d(self, eps_u: np.ndarray) -> np.ndarray:
        """eps^d on the SM line at eps^u."""
        return self.slope * np.asarray(eps_u) + self.intercept_sm


def target_lines(
    name: str,
    beta: float,
    sin2_theta_w: float = units.SIN2_THETA_W_LOW_ENERGY,
    ring_quark: str = "u",
    convention: str = "tree",
) -> TargetLines:
    """The closed forms of the module docstring for a target with Z/N = ``beta``.

    ``convention``: nucleon couplings, as in :func:`cevns.physics.couplings.weak_nucleon_charges`.
    """
    if not beta > 0:
        raise ValueError(f"beta = Z/N must be > 0, got {beta}")
    if ring_quark not in ("u", "d"):
        raise ValueError(f"ring_quark must be 'u' or 'd', got {ring_quark!r}")
    g_p, g_n = weak_nucleon_charges(sin2_theta_w, convention)
    per_u = PROTON_QUARK_CONTENT["u"] * beta + NEUTRON_QUARK_CONTENT["u"]  # (2 beta + 1): charge per eps^u, per neutron
    per_d = PROTON_QUARK_CONTENT["d"] * beta + NEUTRON_QUARK_CONTENT["d"]  # (beta + 2)
    q_sm = beta * g_p + g_n  # SM charge per neutron
    per_q = per_u if ring_quark == "u" else per_d
    return TargetLines(
        name=name,
        beta=float(beta),
        slope=-per_u / per_d,
        intercept_sm=0.0,
        intercept_mirror=-2.0 * q_sm / per_u,
        intercept_mirror_d=-2.0 * q_sm / per_d,
        ring_center=(-q_sm / per_q, 0.0),
        ring_radius=abs(q_sm / per_q),
        ring_quark=ring_quark,
    )


def _line(lines: TargetLines, which: str) -> tuple[float, float]:
    """(slope, eps^d intercept) of the SM or mirror line."""
    return (lines.slope, lines.intercept_sm if which == "sm" else lines.intercept_mirror_d)


def intersections(a: TargetLines, b: TargetLines) -> list[dict]:
    """Crossings of target a's and b's lines: [{"lines": ("sm"|"mirror", ...), "point": (eps_u, eps_d)}].

    Order: (sm, sm) = the SM point, (mirror, mirror), (sm, mirror), (mirror, sm).
    Parallel lines (equal beta) have no crossing and give an empty list.
    """
    if np.isclose(a.slope, b.slope, rtol=0, atol=1e-15):
        return []
    out = []
    for wa, wb in (("sm", "sm"), ("mirror", "mirror"), ("sm", "mirror"), ("mirror", "sm")):
        (sa, ca), (sb, cb) = _line(a, wa), _line(b, wb)
        x = (cb - ca) / (sa - sb)
        out.append({"lines": (wa, wb), "point": (float(x), float(sa * x + ca))})
    return out


def angle_deg(a: TargetLines, b: TargetLines) -> float:
    """Angle between the two targets' lines, degrees in [0, 90]."""
    angle = abs(np.degrees(np.arctan(a.slope) - np.arctan(b.slope)))
    return float(min(angle, 180.0 - angle))


def mirror_point(sin2_theta_w: float = units.SIN2_THETA_W_LOW_ENERGY, convention: str = "tree") -> tuple[float, float]:
    """The (eps^u, eps^d) where both targets' mirror lines cross, for any two targets.

    Solving 2 eps^u + eps^d = -2 g_p and eps^u + 2 eps^d = -2 g_n (Q = -Q_SM for every
    Z and N): eps^u = -2 (2 g_p - g_n)/3, eps^d = -2 (2 g_n - g_p)/3 (dimensionless).
    Equals the (mirror, mirror) entry of :func:`intersections` for any pair.
    """
    g_p, g_n = weak_nucleon_charges(sin2_theta_w, convention)
    return -2.0 * (2.0 * g_p - g_n) / 3.0, -2.0 * (2.0 * g_n - g_p) / 3.0


def degeneracy_report(
    targets: list[tuple[str, float]],
    sin2_theta_w: float = units.SIN2_THETA_W_LOW_ENERGY,
    convention: str = "tree",
) -> dict:
    """JSON-ready report: per target lines and ring, per pair angle and crossings (``cevns degeneracy``).

    ``convention``: nucleon couplings (:data:`cevns.physics.couplings.COUPLING_CONVENTIONS`),
    recorded in the report as ``coupling_convention``.
    """
    lines = [target_lines(name, beta, sin2_theta_w, convention=convention) for name, beta in targets]
    out_targets = []
    for t in lines:
        entry = asdict(t)
        entry["ring_center"] = list(t.ring_center)
        out_targets.append(entry)
    pairs = []
    for a, b in itertools.combinations(lines, 2):
        crossings = intersections(a, b)
        pairs.append({
            "targets": [a.name, b.name],
            "angle_deg": angle_deg(a, b),
            "intersections": [list(c["point"]) for c in crossings],
            "intersection_lines": [list(c["lines"]) for c in crossings],
        })
    return {"sin2_theta_w": sin2_theta_w, "coupling_convention": convention, "targets": out_targets, "pairs": pairs}
