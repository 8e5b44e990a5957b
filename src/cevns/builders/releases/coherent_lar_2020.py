"""COHERENT CENNS-10 liquid argon, analysis A (2020 release): energy x F90 x arrival time.

Sources: D. Akimov et al. (COHERENT), Phys. Rev. Lett. 126 (2021) 012002, arXiv:2003.10630; data
release arXiv:2006.12659, Zenodo 10.5281/zenodo.3903810 (``cevns/data/coherent-lar-2020/REFERENCE.md``).

One channel ``<name>``: the release's 12 energy (10 keVee, 0-120) x 8 F90 (0.05, 0.5-0.9) x 10 time
(0.5 us, -0.1-4.9) bins, 960 observed counts (no background subtracted). Parameters from
``LArParametersAnlA.yaml`` (read by :func:`read_parameters`, a minimal reader of that file's subset of YAML).

* **Signal** per flavor component: recoil spectrum on natural argon (package physics) -> Eee = QF(T) T
  with QF = a + b T -> Gaussian resolution sigma = 0.58 sqrt(Eee/keVee) keVee -> acceptance of the
  release (``CENNS10AnlAEfficiency.txt``, 0.5-keVee bins, evaluated at each fine bin's centre) -> 10-keVee
  bins -> F90 distribution of each energy bin taken from the release's CEvNS template (its F90 shape
  given the energy bin; flavor-independent) -> arrival-time PDF of prompt (nu_mu) or delayed (nu_e,
  nubar_mu) neutrinos from the pi+/mu+ lifetimes (PDG via ``particle``) and the release's proton
  pulse (Gaussian, mean 440 ns, width 150 ns). Default (``signal_shape = "release"``): every bin then
  multiplied by the release's CEvNS template over this folding's SM count at the reference physics
  (:func:`template_correction`), so the SM signal is the collaboration's template (128 events, its
  likelihood) and the physics options move it as they move the folding; ``"release-energy"``: only the energy
  spectrum corrected; ``"folded"``: the folding alone (122.3 events).
* **Backgrounds**: the release's prompt beam-related neutrons (``brnpdf``, 497, +-160), delayed BRN
  (``delbrnpdf``, 33 +- 33) and steady state (``bkgpdf``, 3152; +-25 of 3154), Gaussian normalisations
  with the release's predicted uncertainties.
* **Systematics**: the release's templates in ``SystErrors/`` as shape nuisances (up/down ratios per
  bin to its nominal template): BRN energy and timing mean (+-1 sigma files), BRN timing width and
  CEvNS timing mean (one file each: taken as +1 sigma, -1 sigma mirrored: down = 2 - up), CEvNS F90
  (+-1 sigma); the CEvNS ratios apply to every signal component. The quenching (a, b at +-1 sigma, in
  quadrature) and the fiducial mass (2.5%) enter as one log-normal signal normalisation
  ``detector_<name>`` (their change of the SM count); the flux (10%) per the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ...errors import ConfigError
from ...experiment import PhysicsOptions
from ...spec import Channel
from ._common import (ReleaseOptions, flux_nuisances, is_prompt, live_time_days, parse_options, release_source,
                      systematic)
from ._io import check_column, read_table, release_folder
from .response import RecoilKernels, gaussian_response, overlap_matrix, recoil_kernels, stopped_pion_time_pdfs

FOLDER = "coherent-lar-2020"
ENERGY_EDGES_KEVEE = np.arange(0.0, 120.01, 10.0)
F90_EDGES = np.round(np.arange(0.5, 0.9001, 0.05), 3)
TIME_EDGES_US = np.round(np.arange(-0.1, 4.901, 0.5), 3)
SHAPE = (ENERGY_EDGES_KEVEE.size - 1, F90_EDGES.size - 1, TIME_EDGES_US.size - 1)
#: acceptance table: 0.5-keVee bins, centres 0.25 ... 39.75
EFFICIENCY_EDGES_KEVEE = np.arange(0.0, 40.01, 0.5)
FINE_ENERGY_STEP_KEVEE = 0.5
TEMPLATES = {"cevns": "cevnspdf.txt", "brn": "brnpdf.txt", "delayed_brn": "delbrnpdf.txt", "steady_state": "bkgpdf.txt",
             "data": "datanobkgsub.txt"}
#: SystErrors files: name -> (sample, up file, down file or None = mirrored)
SHAPE_FILES = {
    "brn_energy": ("brn", "brnpdf+1sigEnergy.txt", "brnpdf-1sigEnergy.txt"),
    "brn_timing_mean": ("brn", "brnpdf+1sigBRNTimingMean.txt", "brnpdf-1sigBRNTimingMean.txt"),
    "brn_timing_width": ("brn", "brnpdfBRNTimingWidthSyst.txt", None),
    "cevns_f90": ("cevns", "cevnspdf+1sigF90.txt", "cevnspdf-1sigF90.txt"),
    "cevns_timing_mean": ("cevns", "cevnspdfCEvNSTimingMeanSyst.txt", None),
}


class LAr2020Options(ReleaseOptions):
    """Options of the ``coherent-lar-2020`` release; None = the value in LArParametersAnlA.yaml."""

    mass_kg: float | None = Field(None, gt=0)
    live_time_days: float | None = Field(None, gt=0)
    quenching: list[float] | None = Field(None, min_length=2, max_length=2)  # a, b (1/keVnr)
    resolution_keVee_sqrt: float | None = Field(None, gt=0)
    beam_mean_us: float | None = None
    beam_sigma_us: float | None = Field(None, gt=0)
    shape_systematics: list[str] = Field(default_factory=lambda: list(SHAPE_FILES))
    detector_uncertainty: bool = True
    background_uncertainties: bool = True
    recoil_bins: int = Field(500, ge=50, le=20000)
    recoil_min_keV: float = Field(1.0, gt=0)
    #: "release": the package's folded signal corrected bin by bin to the release's CEvNS template at the reference
    #: physics (the collaboration's likelihood); "release-energy": corrected only to the template's energy spectrum
    #: (:func:`template_correction`); "folded": the package's folding alone
    signal_shape: Literal["release", "release-energy", "folded"] = "release"

    @model_validator(mode="after")
    def _checks(self) -> LAr2020Options:
        unknown = sorted(set(self.shape_systematics) - set(SHAPE_FILES))
        if unknown:
            raise ValueError(f"shape_systematics: unknown {unknown}; choose from {', '.join(SHAPE_FILES)}")
        return self


def read_parameters(path: Path) -> dict[str, dict]:
    """The subset of YAML that ``LArParametersAnlA.yaml`` uses, without a YAML library.

    Top-level keys (no indent, ending in ``:``) hold ``key: value`` fields and an optional
    ``parameters:`` list of ``- name: x`` entries with their own fields; block scalars (``|``) and
    plain text values are kept as strings. Returns ``{key: {field: value, "parameters": {name:
    {field: value}}}}`` with numbers as floats. A line that fits none of this is a ConfigError naming
    the file and the row.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"data file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"data file {path} cannot be read ({type(err).__name__}: {err})") from None

    def scalar(text: str) -> object:
        text = text.strip()
        try:
            return float(text)
        except ValueError:
            return text

    out: dict[str, dict] = {}
    top: dict | None = None
    entry: dict | None = None
    block_indent: int | None = None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if "\t" in line[:indent + 1]:
            raise ConfigError(f"data file {path}, row {lineno}: tab in indentation")
        if block_indent is not None:
            if indent > block_indent:
                continue  # text of a block scalar
            block_indent = None
        text = line.strip()
        if indent == 0:
            if not text.endswith(":") or " " in text[:-1]:
                raise ConfigError(f"data file {path}, row {lineno}: expected a top-level 'key:', found {text[:60]!r}")
            top, entry = {}, None
            out[text[:-1]] = top
            continue
        if top is None:
            raise ConfigError(f"data file {path}, row {lineno}: indented line before any top-level key")
        is_item = text.startswith("- ")
        if is_item:
            text = text[2:].strip()
        key, sep, value = text.partition(":")
        if not sep or not key or " " in key.strip():
            raise ConfigError(f"data file {path}, row {lineno}: expected 'field: value', found {text[:60]!r}")
        key, value = key.strip(), value.strip()
        if is_item:
            if key != "name":
                raise ConfigError(f"data file {path}, row {lineno}: a list entry must start with 'name:'")
            entry = {}
            top.setdefault("parameters", {})[value] = entry
            continue
        if value in ("|", ">", "|-", ">-"):
            block_indent = indent
            continue
        target = entry if (entry is not None and indent > 2) else top
        if target is top:
            entry = None
        if key == "parameters" and not value:
            top.setdefault("parameters", {})
            continue
        if value == "":
            block_indent = indent  # a multi-line plain scalar
            continue
        target[key] = scalar(value)
    return out


def _number(parameters: dict, path: Path, *keys: str) -> float:
    node: object = parameters
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise ConfigError(f"data file {path}: missing {'.'.join(keys)}")
        node = node[key]
    if not isinstance(node, float) or not np.isfinite(node):
        raise ConfigError(f"data file {path}: {'.'.join(keys)} is not a finite number ({node!r})")
    return node


@dataclass(frozen=True)
class ReleaseData:
    """The release's arrays (12, 8, 10) and parameters."""

    templates: dict[str, np.ndarray]
    variants: dict[str, tuple[np.ndarray, np.ndarray | None]]
    efficiency: np.ndarray  # (80,) acceptance per 0.5-keVee bin
    parameters: dict[str, dict]
    parameter_file: Path


def _grid(path: Path) -> np.ndarray:
    table = read_table(path, 4, nonnegative=(3,), n_rows=int(np.prod(SHAPE)), header_allowed=False)
    c = [0.5 * (e[1:] + e[:-1]) for e in (ENERGY_EDGES_KEVEE, F90_EDGES, TIME_EDGES_US)]
    e, f, t = np.meshgrid(*c, indexing="ij")
    check_column(path, table, 0, e.ravel(), "energy bin centre (keVee)", rtol=1e-4)
    check_column(path, table, 1, f.ravel(), "F90 bin centre", rtol=1e-4)
    check_column(path, table, 2, t.ravel(), "time bin centre (us)", rtol=1e-4)
    return table[:, 3].reshape(SHAPE)


def read_release(data_dir: str | None = None) -> ReleaseData:
    """Read and check the release files (binning, counts >= 0, finite numbers, parameters)."""
    folder = release_folder(FOLDER, data_dir)
    templates = {k: _grid(folder / v) for k, v in TEMPLATES.items()}
    variants = {k: (_grid(folder / "SystErrors" / up), None if down is None else _grid(folder / "SystErrors" / down))
                for k, (_, up, down) in SHAPE_FILES.items()}
    path = folder / "CENNS10AnlAEfficiency.txt"
    table = read_table(path, 3, nonnegative=(0, 1, 2), n_rows=EFFICIENCY_EDGES_KEVEE.size - 1, header_allowed=False)
    check_column(path, table, 0, 0.5 * (EFFICIENCY_EDGES_KEVEE[1:] + EFFICIENCY_EDGES_KEVEE[:-1]), "keVee bin centre")
    parameter_file = folder / "LArParametersAnlA.yaml"
    return ReleaseData(templates, variants, table[:, 2], read_parameters(parameter_file), parameter_file)


def release_numbers(data: ReleaseData, options: LAr2020Options) -> dict[str, float]:
    """Detector numbers: the options where given, else the release's parameter file."""
    p, path = data.parameters, data.parameter_file
    qf = options.quenching or [_number(p, path, "larQF", "parameters", "a", "value"),
                               _number(p, path, "larQF", "parameters", "b", "value")]
    return {
        "mass_kg": options.mass_kg or _number(p, path, "fiducialMass", "value"),
        "mass_uncertainty": _number(p, path, "fiducialMass", "uncertainty") / _number(p, path, "fiducialMass", "value"),
        "qf_a": qf[0], "qf_b": qf[1],
        "qf_a_sigma": _number(p, path, "larQF", "parameters", "a", "uncertainty"),
        "qf_b_sigma": _number(p, path, "larQF", "parameters", "b", "uncertainty"),
        "resolution": options.resolution_keVee_sqrt or _number(p, path, "energyResolution", "parameters", "a", "value"),
        "beam_mean_us": options.beam_mean_us if options.beam_mean_us is not None
        else 1e-3 * _number(p, path, "snsPOTTraceTiming", "parameters", "a", "value"),
        "beam_sigma_us": options.beam_sigma_us or 1e-3 * _number(p, path, "snsPOTTraceTiming", "parameters", "b", "value"),
    }


def energy_response(t_edges_keV: np.ndarray, numbers: dict[str, float], efficiency: np.ndarray, qf: tuple[float, float]) -> np.ndarray:
    """R[e, j] from fine recoil bins to the 10-keVee bins: quenching, Gaussian resolution, acceptance."""
    a, b = qf
    fine = np.arange(0.0, ENERGY_EDGES_KEVEE[-1] + 0.5 * FINE_ENERGY_STEP_KEVEE, FINE_ENERGY_STEP_KEVEE)
    eee = lambda t: (a + b * t) * t  # noqa: E731
    response = gaussian_response(t_edges_keV, eee, lambda t: numbers["resolution"] * np.sqrt(np.clip(eee(t), 1e-12, None)), fine)
    centres = 0.5 * (fine[1:] + fine[:-1])
    table_centres = 0.5 * (EFFICIENCY_EDGES_KEVEE[1:] + EFFICIENCY_EDGES_KEVEE[:-1])
    acceptance = np.interp(centres, table_centres, efficiency)  # constant beyond the table's ends
    return overlap_matrix(fine, ENERGY_EDGES_KEVEE) @ (response * acceptance[:, None])


def f90_given_energy(cevns: np.ndarray) -> np.ndarray:
    """(12, 8): the release CEvNS template's F90 distribution in each energy bin (an empty bin takes the
    nearest lower non-empty bin's)."""
    per_energy = cevns.sum(axis=2)
    out = np.zeros_like(per_energy)
    last = None
    for e in range(per_energy.shape[0]):
        total = per_energy[e].sum()
        if total > 0:
            last = per_energy[e] / total
        if last is None:
            raise ConfigError("the release's CEvNS template is empty in its lowest energy bin")
        out[e] = last
    return out


#: Bins (or energy bins) whose template holds less than this fraction of its total carry no information on the shape:
#: the package's folding is kept there (factor 1), so no non-SM signal is switched off where the release is silent.
TEMPLATE_SILENT_FRACTION = 1e-6


def template_correction(template: np.ndarray, reference_forms: np.ndarray, per: str = "bin") -> np.ndarray:
    """Factor r per bin (960,) carrying the package's folded SM signal onto the release's CEvNS template.

    ``template`` (12, 8, 10) is the release's CEvNS template; ``reference_forms`` (960, n_components, P, P) the
    folded quadratic forms at the reference physics (:class:`cevns.experiment.PhysicsOptions` defaults), whose SM
    count per bin is S[o] = sum_c H[o, c, 0, 0].

    * ``per = "bin"``: r[o] = T[o] / S[o]. The SM signal becomes the template in all 960 bins, the collaboration's
      likelihood. The template is an exact product energy x F90 x time (one flavour-averaged time shape at every
      energy), the folding is not (prompt nu_mu recoils end near 13.5 keVee), so r varies from 0.15 to 5.8 and moves
      the SM split between flavours (prompt nu_mu -7%, delayed nu_e +9%, anti-nu_mu +8%; docs/data.md).
    * ``per = "energy"``: r[o] = T_E[e] / S_E[e] of the energy projections, constant within an energy bin: only the
      energy spectrum becomes the collaboration's; F90, arrival time and the flavour split stay as folded.

    Bins (energy bins) where the template is silent (below :data:`TEMPLATE_SILENT_FRACTION` of its total) keep
    r = 1. A ConfigError where the template has counts and the folding none.
    """
    t = np.asarray(template, dtype=float).reshape(-1)
    sm = reference_forms[:, :, 0, 0].sum(axis=1)
    if per == "energy":
        t = np.repeat(t.reshape(SHAPE).sum(axis=(1, 2)), SHAPE[1] * SHAPE[2])
        sm = np.repeat(sm.reshape(SHAPE).sum(axis=(1, 2)), SHAPE[1] * SHAPE[2])
    elif per != "bin":
        raise ValueError(f"per must be 'bin' or 'energy', not {per!r}")
    informative = t > TEMPLATE_SILENT_FRACTION * t.sum()
    if np.any(informative & (sm <= 0)):
        raise ConfigError("the release's CEvNS template has counts where the package's folded signal has none; "
                          "use options.signal_shape = 'folded'")
    return np.where(informative, np.divide(t, sm, out=np.ones_like(sm), where=sm > 0), 1.0)


def build_channels(dataset, scenario, physics) -> list[Channel]:  # noqa: ANN001
    """The energy x F90 x time channel of the release (module docstring)."""
    options = parse_options(LAr2020Options, dataset)
    data = read_release(options.data_dir)
    numbers = release_numbers(data, options)
    source = release_source(dataset, scenario, "stopped-pion")
    exposure_kg_day = numbers["mass_kg"] * live_time_days(dataset, scenario, options.live_time_days)

    def kernels(physics_options: PhysicsOptions):  # noqa: ANN202
        return recoil_kernels(dataset.name, source, "Ar", options.recoil_min_keV, 1.0e3, options.recoil_bins,
                              exposure_kg_day, physics_options)

    recoil = kernels(physics)
    time_pdfs = stopped_pion_time_pdfs(TIME_EDGES_US, numbers["beam_mean_us"], numbers["beam_sigma_us"])
    time_pdf = np.array([time_pdfs["prompt"] if is_prompt(c) else time_pdfs["delayed"] for c in source.components])
    f90 = f90_given_energy(data.templates["cevns"])

    def energy_kernel(qf: tuple[float, float], kernels_: RecoilKernels = recoil) -> np.ndarray:
        return kernels_.fold(energy_response(kernels_.edges_keV, numbers, data.efficiency, qf))

    def kernel_3d(ek: np.ndarray) -> np.ndarray:
        return np.einsum("ecab,ef,ct->eftcab", ek, f90, time_pdf).reshape(int(np.prod(SHAPE)), *ek.shape[1:])

    qf = (numbers["qf_a"], numbers["qf_b"])
    nominal_energy = energy_kernel(qf)
    forms = kernel_3d(nominal_energy)
    if options.signal_shape != "folded":
        reference = forms if physics == PhysicsOptions() else kernel_3d(energy_kernel(qf, kernels(PhysicsOptions())))
        per = "bin" if options.signal_shape == "release" else "energy"
        forms = forms * template_correction(data.templates["cevns"], reference, per)[:, None, None, None]
    components = recoil.component_names

    backgrounds = {k: data.templates[k].ravel() for k in ("brn", "delayed_brn", "steady_state")}
    background_nuisances = {}
    if options.background_uncertainties:
        p, path = data.parameters, data.parameter_file
        for key, yaml_key in (("brn", "promptBeamRelatedNeutronPredictionNormalization"),
                              ("delayed_brn", "delayedBeamRelatedNeutronPredictionNormalization"),
                              ("steady_state", "ssBackgroundPredictionNormalization")):
            sigma = _number(p, path, yaml_key, "uncertainty") / _number(p, path, yaml_key, "value")
            background_nuisances[key] = (f"norm_{key}_{dataset.name}", sigma)

    systematics = []
    for kind in options.shape_systematics:
        sample, _, _ = SHAPE_FILES[kind]
        base = data.templates[sample].ravel()
        up, down = data.variants[kind]
        ratio_up = np.divide(up.ravel(), base, out=np.ones_like(base), where=base > 0)
        ratio_down = (2.0 - ratio_up) if down is None else np.divide(down.ravel(), base, out=np.ones_like(base), where=base > 0)
        targets = list(components) if sample == "cevns" else [sample]
        systematics.append(systematic(f"{kind}_{dataset.name}", "shape", targets, up=ratio_up.tolist(),
                                      down=np.clip(ratio_down, 0.0, None).tolist()))
    if options.detector_uncertainty:
        sm = nominal_energy[:, :, 0, 0].sum()
        changes = []
        for k, key in ((0, "qf_a"), (1, "qf_b")):
            for sign in (+1.0, -1.0):
                varied = list(qf)
                varied[k] += sign * numbers[f"{key}_sigma"]
                changes.append(abs(energy_kernel(tuple(varied))[:, :, 0, 0].sum() / sm - 1.0))
        qf_width2 = (0.5 * (changes[0] + changes[1])) ** 2 + (0.5 * (changes[2] + changes[3])) ** 2
        width = float(np.sqrt(qf_width2 + numbers["mass_uncertainty"] ** 2))
        systematics.append(systematic(f"detector_{dataset.name}", "lognorm", ["signal"], uncertainty=width))

    centres = [0.5 * (e[1:] + e[:-1]) for e in (ENERGY_EDGES_KEVEE, F90_EDGES, TIME_EDGES_US)]
    labels = [f"{dataset.name}[E {e:g} keVee, F90 {f:.3f}, t {t:g} us]" for e in centres[0] for f in centres[1] for t in centres[2]]
    return [Channel(dataset.name, forms, components, flux_nuisances(source, options.flux_nuisances), backgrounds,
                    background_nuisances, systematics + list(dataset.systematics), data.templates["data"].ravel(), labels,
                    recoil.smallest_q2_MeV2)]
