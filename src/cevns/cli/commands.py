"""Command line: ``cevns <command>``. Thin: parse, call the library, print.

Every user error (bad scenario, bad value) is a :class:`~cevns.errors.ConfigError`,
printed as one line ``cevns: error: ...`` with exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import CevnsError, ConfigError, Interrupted, RunFolderError, interrupt_guard, stop_signal_received
from .argtypes import MAX_SEED, seed_value
from .shell import EXIT_USAGE, _Parser, _with_flags, check_out_folder, join_negative_values  # noqa: F401 (_with_flags: tests)
from ..io import print_json
from ..app.parallel import launcher_rank


def parse_nsi_assignments(items: Sequence[str] | None) -> dict[str, float]:
    """Parse ``NAME=VALUE`` strings into {canonical coupling name: value} (finite values)."""
    from ..physics.couplings import UnknownCouplingError, canonical_nsi_name
    from .argtypes import assignments

    def canonical(name: str) -> str:
        try:
            return canonical_nsi_name(name)
        except UnknownCouplingError as err:
            raise ConfigError(f"--nsi: {err}") from None

    values = assignments(items, "--nsi", canonical, commas=False,
                         same_hint=" (eps_u_emu and eps_u_mue are one coupling)")
    for key, value in values.items():
        if not np.isfinite(value):
            raise ConfigError(f"--nsi {key}={value}: value must be finite")
    return values


def _check_plot_path(path: str | None, flag: str = "--plot") -> None:
    if path is None:
        return
    if Path(path).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ConfigError(f"{flag} {path!r}: use a .png, .pdf or .svg file name")
    if Path(path).is_dir():
        raise ConfigError(f"{flag} {path!r} is a folder; give a file name inside it")


def _save_figure(figure: Any, path: str, flag: str) -> None:
    from ..io import atomic_savefig

    try:
        atomic_savefig(figure, path, dpi=130)
    except OSError as err:
        raise ConfigError(f"{flag} {path!r} cannot be written ({err.strerror or err}); choose another path") from None


# --- commands -------------------------------------------------------------------
def cmd_scenarios(args: argparse.Namespace) -> int:
    from ..spec.config import builtin_scenarios, config_to_toml, load_config

    if args.name is not None:  # one scenario, fully resolved (its base chain merged), and the backgrounds it uses
        from ..app.rates import background_notes, rates_table
        from ..builders.scenario import Scenario
        from ..physics.couplings import N_NSI

        config = load_config(args.name)
        scenario = Scenario(config, args.name)
        notes = background_notes(scenario, rates_table(scenario, np.zeros(N_NSI)))
        if args.json:
            print_json({**config.model_dump(mode="json", exclude_none=True), "effective_backgrounds": notes})
        else:  # as TOML comments: the output stays a valid scenario file
            print(config_to_toml(config), end="")
            print("\n# Backgrounds the model uses (cevns rates; expected counts at nominal normalisation):")
            print("\n".join(f"#   {line}" for line in notes))
        return 0
    scenarios = builtin_scenarios()
    if args.json:
        print_json({"scenarios": [{"name": k, "description": v} for k, v in scenarios.items()]})
        return 0
    width = max(len(k) for k in scenarios)
    for name, description in scenarios.items():
        print(f"{name:<{width}}  {description}")
    return 0


def cmd_rates(args: argparse.Namespace) -> int:
    from ..physics.couplings import nsi_vector
    from ..app.rates import format_rates, rates_table
    from ..builders.scenario import Scenario

    nsi = parse_nsi_assignments(args.nsi)
    _check_plot_path(args.plot)
    scenario = Scenario.load(args.scenario)
    eps = nsi_vector(nsi)
    table = rates_table(scenario, eps)
    if args.plot:
        from ..plotting import rates_figure

        _save_figure(rates_figure(scenario, eps, table), args.plot, "--plot")
    if args.json:
        print_json(table)
    else:
        print(format_rates(table, nsi))
        if args.plot:
            print(f"\nspectra plot written to {args.plot}")
    return 0


#: What each command says to do about an output folder that cannot take the run (errors.RunFolderError.reason).
FOLDER_REMEDIES = {
    "fit": {"holds-run": "use --resume to continue it or --force to overwrite it",
            "other-config": "use another --out, or --force to overwrite it",
            "other-settings": "use the same settings, another --out, or --force to overwrite it",
            "locked": "wait for it to finish or use another --out",
            "unusable": "use another --out"},
    "reproduce": {"locked": "wait for it to finish or use another --out", "unusable": "use another --out"},
    **{command: {"locked": "wait for it to finish or use another --out", "unusable": "use another --out"}
       for command in ("profile", "toys", "forecast")},
    "show": {"unverified": "refit it, or give --no-verify to read it as it is", "unusable": "give a fit folder"},
    "plot": {"unverified": "refit it, or give --no-verify to read it as it is", "unusable": "give fit folders"},
}
#: Commands whose RunFolderError is about --out (the others name a folder they read).
OUT_FOLDER_COMMANDS = ("fit", "reproduce", "profile", "toys", "forecast")


def cmd_fit(args: argparse.Namespace) -> int:
    from ..app.runs import FitSettings, run_fit
    from ..builders.scenario import Scenario

    check_out_folder(args.out)
    if args.resume and args.force:
        raise ConfigError("--resume and --force exclude each other")
    if args.tolerance is not None and not (np.isfinite(args.tolerance) and args.tolerance > 0):
        raise ConfigError(f"--tolerance must be a finite number > 0, got {args.tolerance}")
    from ..app.parallel import world

    mpi = world()  # under mpiexec: needs mpi4py (one-line error otherwise)
    scenario = Scenario.load(args.scenario)
    settings = FitSettings(args.sampler, args.nlive, args.tolerance, args.seed, args.nuisances, args.fast, args.resume,
                           args.force, not args.quiet)
    result = run_fit(scenario, args.out, settings)
    if not mpi.is_root:
        return 0
    summary = result.summary()
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['scenario']}: log Z = {summary['log_evidence']:.3f} +- {summary['log_evidence_err']:.3f} "
              f"({summary['n_likelihood_calls']} likelihood calls, {summary['wall_seconds']:.1f} s)")
        from ..inference.results import headline

        for name in result.shown_names + [n for n in ("eff_eps_ee", "eff_eps_mumu") if n in summary["parameters"]]:
            print(f"  {name:<14} {headline(summary['parameters'][name])}")
        print(f"outputs in {args.out}/")
    return 0


def _load_fits(folders: Sequence[str], verify: bool = True) -> list:
    from ..app.runs import load_verified_fit

    return [load_verified_fit(folder, verify) for folder in folders]


def cmd_show(args: argparse.Namespace) -> int:
    (result,) = _load_fits([args.folder], not args.no_verify)
    summary = result.summary()
    if args.json:
        print_json(summary)
        return 0
    from ..inference.samplers import points_phrase

    s = summary
    print(f"{s['scenario']}: {s['sampler']}, {points_phrase(s['sampler'], s['nlive'])}, seed {s['seed']}, nuisances {s['nuisances']}, "
          f"cevns {s['version']}")
    print(f"log Z = {s['log_evidence']:.3f} +- {s['log_evidence_err']:.3f}; {s['n_likelihood_calls']} likelihood calls, "
          f"{s['wall_seconds']:.1f} s")
    names = result.shown_names + [n for n in s["parameters"] if n.startswith("eff_")]
    if args.all:  # then the nuisances, in the model's order
        names += [n for n in result.parameters if n not in names]
    width = max(len(n) for n in names)
    sets = {name: {lv: " U ".join(f"[{lo:+.4g}, {hi:+.4g}]" for lo, hi in s["parameters"][name]["hpd"][lv])
                   for lv in ("0.68", "0.95")} for name in names}
    inner = max(len("68% HPD"), *(len(v["0.68"]) for v in sets.values()))  # unions are as wide as they need
    print(f"{'parameter':<{width}}  {'median':>11}  {'68% HPD':<{inner}}  95% HPD")
    for name in names:
        entry = s["parameters"][name]
        inside = entry.get("median_in_hpd", {}).get("0.95", True)  # a median between the modes is flagged
        median = f"{entry['median']:>+10.4g}" + (" " if inside else "*")
        print(f"{name:<{width}}  {median}  {sets[name]['0.68']:<{inner}}  {sets[name]['0.95']}")
    if any(not s["parameters"][n].get("median_in_hpd", {}).get("0.95", True) for n in names):
        print("* median outside the 95% HPD set (a multimodal posterior): quote the sets, not the median")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from ..app.figures import fits_overlay_figure

    params = [p.strip() for p in args.params.split(",") if p.strip()]
    if not params:
        raise ConfigError("--params: give one or more column names, e.g. --params eps_u_ee,eps_d_ee")
    try:
        levels = tuple(float(v) for v in args.levels.split(","))
    except ValueError:
        raise ConfigError(f"--levels {args.levels!r}: give numbers in (0, 1), e.g. 0.68,0.95") from None
    if not levels or not all(0 < lv < 1 for lv in levels):
        raise ConfigError(f"--levels {args.levels!r}: every level must be in (0, 1)")
    _check_plot_path(args.out, "--out")
    labels = [x.strip() for x in args.labels.split(",")] if args.labels else [Path(f).name for f in args.folders]
    if len(labels) != len(args.folders):
        raise ConfigError(f"--labels: {len(labels)} labels for {len(args.folders)} folders")
    fits = _load_fits(args.folders, not args.no_verify)
    for folder, result in zip(args.folders, fits, strict=True):
        columns = result.columns
        missing = [p for p in params if p not in columns]
        if missing:
            raise ConfigError(f"--params: {folder} has no column {', '.join(missing)}; it has {', '.join(columns)}")
    _save_figure(fits_overlay_figure(fits, params, levels, labels), args.out, "--out")
    print(f"wrote {args.out}")
    return 0


def cmd_mediator_limits(args: argparse.Namespace) -> int:
    from ..io import atomic_write_json
    from ..app.limits import mediator_allowed_regions, mediator_figure

    try:
        lo, hi, n = (float(v) for v in args.masses.split(","))
    except ValueError:
        raise ConfigError(f"--masses {args.masses!r}: give LOG10_MIN,LOG10_MAX,N, e.g. -1,4,26") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and -3 <= lo < hi <= 6 and 2 <= n <= 1000 and n == int(n)):
        raise ConfigError(f"--masses {args.masses!r}: need -3 <= LOG10_MIN < LOG10_MAX <= 6 (MeV) and 2 <= N <= 1000")
    if not 0 < args.level < 1:
        raise ConfigError(f"--level must be in (0, 1), got {args.level}")
    _check_plot_path(args.out, "--out")
    grid = np.linspace(lo, hi, int(n))
    results = []
    for name in args.scenarios:
        if not args.quiet:
            print(f"[{name}] {int(n)} masses from 10^{lo:g} to 10^{hi:g} MeV", file=sys.stderr, flush=True)
        results.append(mediator_allowed_regions(name, grid, args.level))
    _save_figure(mediator_figure(results, args.scenarios), args.out, "--out")
    record = {"version": __version__, "results": results}
    json_path = Path(args.out).with_suffix(".json")
    atomic_write_json(json_path, record)
    if args.json:
        print_json(record)
    else:
        for result in results:
            heaviest, lightest = result["allowed_g"][-1], result["allowed_g"][0]
            print(f"{result['scenario']}: g < {lightest[0][1]:.3g} at m = {result['masses_MeV'][0]:.3g} MeV, "
                  f"g < {heaviest[0][1]:.3g} at m = {result['masses_MeV'][-1]:.3g} MeV ({result['level']:.0%}, lower band)")
        print(f"wrote {args.out} and {json_path}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..app.parallel import world
    from ..app.reproduce import reproduce

    mpi = world()
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    provenance = reproduce(args.out, args.only, args.fast, args.seed, verbose=not args.quiet, workers=workers,
                           couplings=args.couplings)
    if not mpi.is_root:
        return 0
    if args.json:
        print_json(provenance)
    else:
        for item_id, entry in provenance["items"].items():
            print(f"{item_id:<7} {', '.join(entry['files'])}")
        print(f"report: {Path(args.out) / 'report.html'} ({provenance['couplings']} couplings)")
    return 0


#: Limits of `cevns bench`: a batch of 1e6 points of 12 parameters and 40 bins needs ~1 GB of
#: intermediates in the Laplace path; a measurement longer than 10 minutes is a mistake.
MAX_BENCH_BATCH = 1_000_000
MAX_BENCH_SECONDS = 600.0
MAX_BENCH_TASKS = 10_000


def cmd_bench(args: argparse.Namespace) -> int:
    from ..app.bench import benchmark_likelihood
    from ..builders.scenario import Scenario

    if not 1 <= args.batch <= MAX_BENCH_BATCH:
        raise ConfigError(f"--batch must be between 1 and {MAX_BENCH_BATCH}, got {args.batch}")
    if not (np.isfinite(args.seconds) and 0 < args.seconds <= MAX_BENCH_SECONDS):
        raise ConfigError(f"--seconds must be a finite number in (0, {MAX_BENCH_SECONDS}], got {args.seconds}")
    if args.tasks is not None and not 1 <= args.tasks <= MAX_BENCH_TASKS:
        raise ConfigError(f"--tasks must be between 1 and {MAX_BENCH_TASKS}, got {args.tasks}")
    if args.plot is not None and not args.tasks:
        raise ConfigError("--plot draws the task-farm scaling: give --tasks N too")
    if args.mpi and not args.tasks:
        raise ConfigError("--mpi times the task farm under mpiexec: give --tasks N too")
    _check_plot_path(args.plot)
    result = benchmark_likelihood(Scenario.load(args.scenario), batch=args.batch, seconds=args.seconds)
    if args.tasks:
        from ..app.tasks import benchmark_tasks

        result["tasks"] = benchmark_tasks(args.scenario, n_tasks=args.tasks, workers=(1, 2), mpi_ranks=(3,) if args.mpi else ())
        if args.plot:
            from ..plotting import task_scaling_figure

            _save_figure(task_scaling_figure(result["tasks"]), args.plot, "--plot")
    if args.fit:
        from ..app.bench import benchmark_fit

        result["fit"] = benchmark_fit(Scenario.load(args.scenario))
    if args.json:
        print_json(result)
    else:
        print(f"scenario {result['scenario']}: {result['n_parameters']} parameters, {result['n_bins']} bins, one core")
        print(f"  batched kernel likelihood (nuisances sampled):  {result['likelihood_evals_per_second']:.3e} evals/s "
              f"(best batch; median {result['likelihood_evals_per_second_median']:.3e})")
        print(f"  batched kernel likelihood (nuisances Laplace):  {result['marginalized_evals_per_second']:.3e} evals/s "
              f"(best batch; median {result['marginalized_evals_per_second_median']:.3e})")
        if result.get("guide_evals_per_second"):
            from ..model.laplace import GUIDE_DECREMENT_TOLERANCE

            print(f"  its guide (what smc tempers on, Newton to {GUIDE_DECREMENT_TOLERANCE:.0e}): "
                  f"{result['guide_evals_per_second']:.3e} evals/s (best batch; median {result['guide_evals_per_second_median']:.3e})")
        if result["naive_evals_per_second"] is not None:
            print(f"  naive likelihood (integrates every call):       {result['naive_evals_per_second']:.3e} evals/s")
            print(f"  speed-up: {result['speedup']:.3g}x")
        if "fit" in result:
            f = result["fit"]
            from ..inference.samplers import points_phrase

            khat = f"k-hat {f['khat']:.2f}, " if f["khat"] is not None else ""
            print(f"  one fit, default sampler ({f['sampler']}, {points_phrase(f['sampler'], f['n_live'])}, "
                  f"{f['n_sampled']} sampled, nuisances {f['nuisances']}): {f['sampler_seconds']:.2f} s sampling, "
                  f"{f['n_likelihood_calls']} likelihood calls, {khat}log Z {f['log_evidence']:.3f} +- {f['log_evidence_err']:.3f}")
        for label, setting in result.get("tasks", {}).get("settings", {}).items():
            print(f"  task farm, {label:<8} ({setting['workers']} worker(s)): {setting['tasks_per_second']:.3g} toy fits/s, "
                  f"speed-up {setting.get('speedup', 1.0):.2f}x, overhead {1e3 * setting['overhead_per_task_s']:.2f} ms/task")
    return 0


def cmd_degeneracy(args: argparse.Namespace) -> int:
    from ..detectors import TargetError, make_target
    from ..physics.degeneracy import degeneracy_report

    from .. import units

    if args.sin2_theta_w is None:  # each convention with its own low-energy value (docs/physics.md)
        args.sin2_theta_w = units.SIN2_THETA_W_LOW_ENERGY if args.couplings == "tree" else units.SIN2_THETA_W_MSBAR_MZ_BMR2005
    if not (np.isfinite(args.sin2_theta_w) and 0 < args.sin2_theta_w < 1):
        raise ConfigError(f"--sin2-theta-w must be in (0, 1), got {args.sin2_theta_w}")
    targets = []
    for formula in args.targets:
        try:
            target = make_target(formula)
            if not all(iso.n > 0 for iso in target.isotopes):
                raise TargetError("a nucleus without neutrons has no beta = Z/N")
            targets.append((formula, target.beta))
        except TargetError as err:
            raise ConfigError(f"target {formula!r}: {err}; use a chemical formula such as Ge, Si, CsI or an isotope such as Ge[76]") from None
    report = degeneracy_report(targets, args.sin2_theta_w, args.couplings)
    if args.json:
        print_json(report)
        return 0
    print(f"SM-equivalent lines in (eps^u, eps^d) for one flavor, {args.couplings} couplings, sin^2(theta_W) = {args.sin2_theta_w}")
    print(f"{'target':<10} {'beta=Z/N':>9} {'slope':>9} {'mirror eps^u':>13} {'mirror eps^d':>13} {'ring centre':>12} {'radius':>8}")
    for t in report["targets"]:
        print(f"{t['name']:<10} {t['beta']:9.4f} {t['slope']:9.4f} {t['intercept_mirror']:13.4f} "
              f"{t['intercept_mirror_d']:13.4f} {t['ring_center'][0]:12.4f} {t['ring_radius']:8.4f}")
    for pair in report["pairs"]:
        a, b = pair["targets"]
        points = "  ".join(f"{la}/{lb} ({x:+.4f}, {y:+.4f})" for (la, lb), (x, y) in zip(pair["intersection_lines"], pair["intersections"], strict=True))
        print(f"{a} vs {b}: angle {pair['angle_deg']:.3f} deg; crossings {points or 'none (parallel)'}")
    return 0


def _add_run_options(p: argparse.ArgumentParser, json_help: str) -> None:
    """--fast, --seed, --quiet, --json: shared by the commands that run fits."""
    p.add_argument("--fast", action="store_true", help="quick-look preset: fewer particles or live points and a looser tolerance")
    p.add_argument("--seed", type=seed_value, default=0, help=f"random seed in [0, {MAX_SEED}] (default 0); same seed, same numbers")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help=json_help)


# --- parser -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from ..inference.samplers import SAMPLERS
    from ..physics.couplings import COUPLING_CONVENTIONS

    parser = _Parser(
        prog="cevns",
        description="CEvNS rates with non-standard interactions and Bayesian NSI fits "
        "(reproduces Dent et al., arXiv:1711.03521).",
    )
    parser.add_argument("--version", action="version", version=f"cevns {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("scenarios", help="list the built-in scenarios, or print one resolved",
                       description="List the built-in scenarios with a one-line description each; with a NAME (or a TOML "
                       "path), print that scenario fully resolved (its base chain merged) as TOML.")
    p.add_argument("name", nargs="?", metavar="NAME_OR_FILE", help="print this scenario, resolved")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser(
        "rates",
        help="expected counts per bin, by flavor, for a scenario",
        description="Expected CEvNS signal per bin (split by incoming flavor), background per bin and totals "
        "for every experiment of a scenario, in the Standard Model or with NSI couplings.",
    )
    p.add_argument("scenario", metavar="SCENARIO_OR_FILE", help="built-in scenario name (see `cevns scenarios`) or path to a TOML file")
    p.add_argument("--nsi", action="append", metavar="NAME=VALUE",
                   help="set an NSI coupling, e.g. --nsi eps_u_ee=0.1 (repeatable; names eps_{u,d}_{ee,emu,etau,mumu,mutau,tautau})")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--plot", metavar="FILE", help="draw the recoil spectra by flavor (.png, .pdf or .svg)")
    p.set_defaults(func=cmd_rates)

    p = sub.add_parser(
        "fit",
        help="Bayesian fit of NSI couplings (smc or nested sampling)",
        description="Bayesian fit (smc or nested sampling, chosen per fit dimension: docs/sampling.md) of the free "
        "parameters of a scenario ([fit] table) with flux and "
        "background nuisances; writes config.toml, summary.json, samples.csv and corner.png/pdf into --out.",
    )
    p.add_argument("scenario", metavar="SCENARIO_OR_FILE", help="built-in fit scenario or TOML path")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--sampler", choices=SAMPLERS, help="backend (default: the scenario's [fit] sampler, else chosen per fit dimension: smc up to 7 sampled "
                   "parameters, nautilus above; see docs/sampling.md)")
    p.add_argument("--nlive", type=int, metavar="N", help="live points or particles (default: chosen per sampler and fit "
                   "dimension, see docs/sampling.md)")
    p.add_argument("--tolerance", type=float, metavar="DLOGZ", help="stopping tolerance on log-evidence (default: per sampler)")
    p.add_argument("--nuisances", choices=["marginalized", "sampled"], help="treat nuisances by per-point Laplace marginalization "
                   "or as sampled parameters (default: the scenario's [fit] nuisances, 'marginalized')")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (same configuration only)")
    p.add_argument("--force", action="store_true", help="overwrite a previous run in --out")
    _add_run_options(p, "print summary.json to stdout")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("show", help="the summary table of a finished fit folder",
                       description="Print a finished fit's settings, evidence and, per parameter, the median and the 68% "
                       "and 95% highest-posterior-density sets (unions where disjoint).")
    p.add_argument("folder", metavar="FOLDER", help="a fit folder (cevns fit --out, or results/fits/<scenario>)")
    p.add_argument("--all", action="store_true", help="every column, nuisances included")
    p.add_argument("--json", action="store_true", help="print summary.json")
    p.add_argument("--no-verify", action="store_true", help="read the folder even if its complete.json is missing or its "
                   "checksums do not match (inspection of an unfinished or edited run)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("plot", help="overlay the posteriors of one or more fit folders",
                       description="Overlay 1-D marginals and 2-D credible regions of several fits (e.g. 1 bin vs 10 bins) "
                       "for the chosen parameters, into one figure.")
    p.add_argument("folders", nargs="+", metavar="FOLDER", help="fit folders")
    p.add_argument("--params", required=True, metavar="A,B", help="columns to plot, e.g. eps_u_ee,eps_d_ee")
    p.add_argument("--levels", default="0.68,0.95", metavar="L1,L2", help="credible levels (default 0.68,0.95)")
    p.add_argument("--labels", metavar="L1,L2", help="legend labels, one per folder (default: folder names)")
    p.add_argument("--out", required=True, metavar="FILE", help="figure file (.png, .pdf or .svg)")
    p.add_argument("--no-verify", action="store_true", help="read the folders even if a complete.json is missing or its "
                   "checksums do not match")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("mediator-limits", help="light vector mediator: allowed (mass, coupling) bands",
                       description="For a flavor-universal vector mediator of mass m (coupling g to neutrinos, u and d "
                       "quarks), the allowed couplings per mass (Bayesian HPD sets of eps(0) = g^2/(sqrt2 G_F m^2) with "
                       "nuisances marginalized), drawn in the (m, g) plane; writes the figure and a JSON file beside it.")
    p.add_argument("scenarios", nargs="*", default=["coherent-2017", "future-combined"], metavar="SCENARIO",
                   help="scenarios (default: coherent-2017 future-combined)")
    p.add_argument("--masses", default="-1,4,26", metavar="LO,HI,N", help="log10 of the mass in MeV: from, to, points (default -1,4,26)")
    p.add_argument("--level", type=float, default=0.95, help="credible level (default 0.95)")
    p.add_argument("--out", default="mediator-limits.png", metavar="FILE", help="figure (default mediator-limits.png)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the JSON record")
    p.set_defaults(func=cmd_mediator_limits)

    from . import cite, frequentist

    frequentist.register(sub)  # profile, toys, forecast
    cite.register(sub)

    p = sub.add_parser(
        "reproduce",
        help="every figure and table of Dent et al. 2017 (fig1..fig8, table3) and an HTML report",
        description="Run the paper's fits (reusing finished ones in --out) and write fig1..fig8 (PNG, PDF), "
        "table3 (.md, .csv, .tex, .json), provenance.json and a self-contained report.html.",
    )
    p.add_argument("--out", default="results", metavar="DIR", help="output folder (default results/)")
    p.add_argument("--only", metavar="ID,...", help="comma-separated items: fig1,...,fig8,table3 (the default set), "
                   "measured (fits of the public data releases), or all")
    p.add_argument("--workers", type=int, metavar="N", help="local processes for the independent fits (default: the number "
                   "of cores); under mpiexec one fit per worker rank")
    p.add_argument("--couplings", choices=COUPLING_CONVENTIONS, default="tree",
                   help="nucleon couplings of every fit: tree level with sin^2(theta_W) = 0.2387, as the paper's text "
                   "states (default), or radiatively corrected with 0.2312, as the authors' code (fits in fits-radiative/)")
    _add_run_options(p, "print provenance.json to stdout")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser(
        "degeneracy",
        help="closed-form SM-equivalent NSI lines, crossings and rings per target",
        description="For each target: beta = Z/N (isotope-averaged), slope and intercepts of the two lines in "
        "(eps^u, eps^d) that leave the CEvNS rate at its SM value, and the SM-rate ring in (eps^u_ee, eps^u_emu); "
        "for each pair of targets: the angle between their lines and the crossings (Dent et al., arXiv:1711.03521, sec. II.3).",
    )
    p.add_argument("targets", nargs="+", metavar="TARGET", help="chemical formula (Ge, Si, CsI, NaI, Ar) or isotope (Ge[76])")
    p.add_argument("--couplings", choices=COUPLING_CONVENTIONS, default="tree",
                   help="nucleon vector couplings: tree level (default) or radiatively corrected (Barranco et al. 2005)")
    p.add_argument("--sin2-theta-w", type=float, default=None,
                   help="weak mixing angle (default 0.2387, PDG low-energy MS-bar, for tree; 0.2312 for radiative)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_degeneracy)

    p = sub.add_parser(
        "bench",
        help="likelihood evaluations per second (kernels vs naive) and the sampler time of one fit",
        description="Measure batched likelihood evaluations per second on one core (kernel algebra) beside the "
        "naive likelihood that integrates the flux for every call, and their ratio (the best batch, timeit's "
        "convention, and the median of the batches); then the wall time of one fit with the default sampler.",
    )
    p.add_argument("scenario", nargs="?", default="future-combined", metavar="SCENARIO", help="default future-combined")
    p.add_argument("--batch", type=int, default=10000, help="points per batch (default 10000)")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    p.add_argument("--tasks", type=int, metavar="N", help="also time N toy fits on the task farm with 1 and 2 local workers "
                   "(docs/scaling.md)")
    p.add_argument("--mpi", action="store_true", help="with --tasks: also under mpiexec -n 3 (2 worker ranks)")
    p.add_argument("--plot", metavar="FILE", help="with --tasks: draw tasks/s against workers with the cluster projection "
                   "(.png, .pdf or .svg)")
    p.add_argument("--fit", action=argparse.BooleanOptionalAction, default=True,
                   help="also time one fit with the default sampler, seed 0 (the sampler time per fit; default on; "
                   "--no-fit skips it)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_bench)
    return parser


def _print_error(message: str) -> None:
    if launcher_rank() == 0:  # under mpiexec every rank fails the same way; one line is enough
        print(f"cevns: error: {' '.join(message.split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(join_negative_values(parser, sys.argv[1:] if argv is None else list(argv)))
    try:
        with interrupt_guard():  # SIGINT and SIGTERM stop the command at once (exit 130, 143)
            try:
                return int(args.func(args) or 0)
            except Exception as err:  # an interrupt that a library wrapped into its own error is an interrupt
                signum = stop_signal_received()
                if signum is not None:
                    raise Interrupted("interrupted" if signum == 2 else "terminated", signum) from err
                raise
    except RunFolderError as err:
        remedy = FOLDER_REMEDIES.get(args.command, {}).get(err.reason, "use another --out")
        _print_error(f"{'--out: ' if args.command in OUT_FOLDER_COMMANDS else ''}{err}; {remedy}")
        return EXIT_USAGE
    except ConfigError as err:
        _print_error(_with_flags(err))
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0
    except (KeyboardInterrupt, Interrupted) as err:
        signum = getattr(err, "signum", 2)
        print("cevns: interrupted" if signum == 2 else "cevns: terminated", file=sys.stderr)
        return 128 + signum
    except OSError as err:  # a file or folder the command cannot read or write (a name too long, no space left)
        name = str(err.filename or "")
        name = f"{name[:80]}{'...' if len(name) > 80 else ''}: " if name else ""
        _print_error(f"{name}{err.strerror or err}")
        return EXIT_USAGE
    except (CevnsError, ValueError) as err:  # the library's refusals of bad values (cevns.ModelError and the like)
        if os.environ.get("CEVNS_TRACEBACK"):
            raise
        _print_error(f"{err}")
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - a bug: one line that says how to see the traceback
        if os.environ.get("CEVNS_TRACEBACK"):
            raise
        _print_error(f"internal error ({type(err).__name__}: {err}); run with CEVNS_TRACEBACK=1 for the traceback "
                     "and please report it")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
