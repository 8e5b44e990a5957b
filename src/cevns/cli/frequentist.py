"""``cevns profile``, ``cevns toys``, ``cevns forecast``: the frequentist commands (wired by :func:`register`).

Thin: parse, call :mod:`cevns.inference.frequentist`, :mod:`cevns.app.forecast` and :mod:`cevns.app.tasks`,
write the outputs atomically into ``--out``, print. Every bad input is one ConfigError line.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .argtypes import positive_int, sequence_seed, assignments
from .shell import check_out_folder
from ..errors import ConfigError
from ..io import atomic_savefig, atomic_write_json, atomic_write_text, print_json

#: Limits on scan sizes and toy counts (a mistake beyond them would run for hours).
MAX_POINTS = 2000
MAX_TOYS = 1_000_000


def _names(text: str, flag: str = "--params") -> list[str]:
    """Parameter names: an NSI coupling in any accepted spelling becomes its canonical name; any other name
    (``mu_cevns``, ``sin2_theta_w``, a release's normalisation) is kept as given and checked against the
    model's parameters where the model is built."""
    from ..spec.config import canonical_parameter_name

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"{flag}: give one or more parameter names separated by commas")
    out = []
    for name in names:
        try:
            out.append(canonical_parameter_name(name))
        except ValueError:  # not a coupling or physics name: a model parameter such as mu_cevns
            out.append(name)
    return out


def _assignments(items: list[str] | None, flag: str) -> dict[str, float]:
    """``NAME=VALUE`` items (repeatable or comma-separated) -> {canonical name: value}; the values are checked
    against the model's parameter ranges where the model is built (``Model.check_values``)."""
    return assignments(items, flag, lambda name: _names(name, flag)[0])


def holds_out(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command that may take ``--out``'s lock (``args.hold_out()``, :func:`cevns.app.runs.directory_lock`: one writer per
    folder; a second toys run into the same folder is refused in one line instead of mixing its tasks in), held until
    the command returns. Taken after the inputs are checked, so a refusal leaves no folder behind."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from ..app.runs import directory_lock

        with contextlib.ExitStack() as stack:
            args.hold_out = lambda: stack.enter_context(directory_lock(Path(args.out)))
            return command(args)

    return run


def _data(model, scenario, which: str, truth: dict[str, float]) -> np.ndarray:  # noqa: ANN001
    """The observed counts, or the Asimov data at the scenario's truth updated by ``--truth`` (checked against
    the parameters' ranges: a truth outside the prior has no fit but one on the boundary)."""
    which = which or scenario.config.fit.data
    if which == "observed":
        if truth:
            raise ConfigError(f"--truth sets the Asimov truth, but the data are the observed counts ({scenario.name}'s "
                              "[fit] data or --data observed); give --data asimov, or drop --truth")
        return model.observed()
    model.check_values(truth, "truth")
    return model.asimov(model.check_values({**scenario.config.fit.asimov_truth, **truth}, "truth"))


# ------------------------------------------------------------------------------------------------------
# figures (app layer; functions take ax=None and return the axes)
# ------------------------------------------------------------------------------------------------------
def plot_profile_1d(profile, ax=None):  # noqa: ANN001, ANN201
    import matplotlib.pyplot as plt

    from ..inference.frequentist import wilks_threshold
    from ..labels import latex_label

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(profile.values, profile.q, color="C0", lw=1.5)
    for level, style in ((0.68, ":"), (0.95, "--")):
        ax.axhline(wilks_threshold(level, 1), color="0.4", ls=style, lw=1, label=f"Wilks {level:.0%}")
        for lo, hi in profile.intervals.get(f"{level:.2f}", []):
            ax.axvspan(lo, hi, color="C0", alpha=0.12 if level > 0.9 else 0.2, lw=0)
    ax.set_ylim(0, max(6.0, min(20.0, float(np.nanmax(profile.q)))))
    ax.set_xlabel(latex_label(profile.name))
    ax.set_ylabel(r"$-2\,\Delta\ln L$ (profiled)")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_profile_2d(profile, ax=None):  # noqa: ANN001, ANN201
    import matplotlib.pyplot as plt

    from ..inference.frequentist import wilks_threshold
    from ..labels import latex_label

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    levels = [wilks_threshold(0.68, 2), wilks_threshold(0.95, 2)]
    ax.contourf(profile.x, profile.y, profile.q.T, levels=[0, *levels], colors=["C0", "#9ecae1"], alpha=0.8)
    ax.contour(profile.x, profile.y, profile.q.T, levels=levels, colors="C0", linewidths=1)
    ax.plot(*[profile.mle.values[n] for n in profile.names], "k+", label="best fit")
    ax.set_xlabel(latex_label(profile.names[0]))
    ax.set_ylabel(latex_label(profile.names[1]))
    ax.set_title("profile likelihood, Wilks 68% / 95%", fontsize=9)
    return ax


# ------------------------------------------------------------------------------------------------------
# profile
# ------------------------------------------------------------------------------------------------------
def cmd_profile(args: argparse.Namespace) -> int:
    import time

    from ..inference.frequentist import Profiler, fit_mle, profile_1d, profile_2d
    from ..model import Model
    from ..builders.scenario import Scenario

    params = _names(args.params)
    if len(params) not in (1, 2):
        raise ConfigError(f"--params: give one or two parameters (1-D or 2-D profile), got {len(params)}")
    if not 2 <= args.points <= MAX_POINTS:
        raise ConfigError(f"--points must be between 2 and {MAX_POINTS}, got {args.points}")
    truth = _assignments(args.truth, "--truth")
    check_out_folder(args.out)
    scenario = Scenario.load(args.scenario)
    model = Model.from_scenario(scenario)
    model.check_ranges()
    data = _data(model, scenario, args.data, truth)
    start = time.perf_counter()
    # a constrained nuisance named in --params is scanned like a free parameter, its constraint kept
    model = model.with_free([name for name in params if name in model.parameter_names])
    profiler = Profiler(model, data)
    for name in params:
        profiler.index(name)
    args.hold_out()
    mle = fit_mle(profiler)
    out = Path(args.out)
    summary: dict[str, Any] = {"scenario": scenario.name, "data": args.data or scenario.config.fit.data, "truth": truth,
                               "mle": mle.to_dict(), "profiles": {}}
    import matplotlib.pyplot as plt

    if len(params) == 1:
        profile = profile_1d(profiler, data, params[0], n_points=args.points, mle=mle)
        summary["profiles"][params[0]] = profile.to_dict()
        atomic_write_text(out / f"profile_{params[0]}.csv", profile.to_csv())
        ax = plot_profile_1d(profile)
        figure = out / f"profile_{params[0]}.png"
    else:
        profile = profile_2d(profiler, data, (params[0], params[1]), n_points=args.points, mle=mle)
        key = f"{params[0]}__{params[1]}"
        summary["profiles"][key] = profile.to_dict()
        atomic_write_text(out / f"profile_{key}.csv", profile.to_csv())
        ax = plot_profile_2d(profile)
        figure = out / f"profile_{key}.png"
    out.mkdir(parents=True, exist_ok=True)
    atomic_savefig(ax.figure, figure, dpi=130, bbox_inches="tight")
    plt.close(ax.figure)
    summary["wall_seconds"] = time.perf_counter() - start
    summary["n_evaluations"] = profiler.n_calls
    atomic_write_json(out / "profile.json", summary)
    if args.json:
        print_json(summary)
        return 0
    print(f"{scenario.name}: -2 ln L_min = {mle.nll:.6f}  ({profiler.n_calls} profiled evaluations, {summary['wall_seconds']:.1f} s)")
    if len(params) == 1:
        for level in ("0.68", "0.95"):
            sets = " U ".join(f"[{lo:+.5f}, {hi:+.5f}]" for lo, hi in profile.intervals[level])
            print(f"  {params[0]:<14} Wilks {float(level):.0%}: {sets}")
    else:
        area = profile.to_dict()["region_area"]
        print(f"  {params[0]} x {params[1]}: area of the Wilks 68% / 95% regions {area['0.68']:.4g} / {area['0.95']:.4g}")
    print(f"outputs in {out}/ (profile.json, CSV, {figure.name})")
    return 0


# ------------------------------------------------------------------------------------------------------
# toys
# ------------------------------------------------------------------------------------------------------
def toy_task(spec: dict) -> dict:
    """One toy: data (and auxiliary measurements) at the truth, global fit, t at the truth, optional grid posterior."""
    from ..app.forecast import cached_model
    from ..inference.frequentist import Profiler, draw_toy, fit_mle, grid_covers, grid_posterior, test_statistic, wilks_threshold
    from ..app.tasks import task_rng

    model = cached_model(spec["model"])
    model = model.with_free([n for n in spec["params"] if n in model.parameter_names])  # a nuisance scanned: its constraint kept
    truth = model.check_values(spec["truth"], "truth")
    rng = task_rng(spec["seed"])
    data = draw_toy(model, truth, rng, spec["auxiliary"])  # counts, then the auxiliary measurements
    profiler = Profiler(model, data)
    free_truth = truth[np.asarray(model.free_indices)]
    mle = fit_mle(profiler, n_grid=512, n_starts=4, extra_starts=[free_truth], polish=False)
    values = [float(truth[model.parameter_names.index(n)]) for n in spec["params"]]
    t, _ = test_statistic(profiler, spec["params"], values, mle, starts=[free_truth])
    k = len(spec["params"])
    out = {"key": spec["key"], "t": t, "nll_min": mle.nll, "mle": mle.values,
           "wilks_covered": {f"{lv:.2f}": bool(t <= wilks_threshold(lv, k)) for lv in spec["levels"]}}
    if spec.get("bayes") == "grid":
        axes, p = grid_posterior(model, data, spec.get("grid_points", 201))
        names = [model.parameter_names[i] for i in model.free_indices]
        cover = {}
        for lv in spec["levels"]:
            if k == len(names):
                cover[f"{lv:.2f}"] = grid_covers(axes, p, [truth[model.parameter_names.index(n)] for n in names], lv)
            else:  # marginal of the first named parameter
                j = names.index(spec["params"][0])
                marginal = p.sum(axis=1 - j) if p.ndim == 2 else p
                cover[f"{lv:.2f}"] = grid_covers([axes[j]], marginal, values[:1], lv)
        out["hpd_covered"] = cover
    elif spec.get("bayes") in ("fit", "nautilus"):  # the default sampler's quick-look preset (smc), or nautilus
        from ..inference.fitting import fit

        result = fit(model, data, sampler="nautilus" if spec["bayes"] == "nautilus" else None, fast=True,
                     seed=int(rng.integers(2**31)), verbose=False)
        out["hpd_covered"] = {f"{lv:.2f}": any(lo <= values[0] <= hi for lo, hi in result.hpd(spec["params"][0], lv))
                              for lv in spec["levels"]}
    return out


def toy_specs(model_spec: Any, truth: dict[str, float], params: list[str], n_toys: int, seed: int, auxiliary: bool = True,
              bayes: str = "none", levels: tuple[float, ...] = (0.68, 0.95)) -> list[dict]:
    from ..app.tasks import task_seeds

    return [{"key": f"toy-{i:06d}", "model": model_spec, "truth": truth, "params": params, "seed": s, "auxiliary": auxiliary,
             "bayes": bayes, "levels": list(levels)} for i, s in enumerate(task_seeds(seed, n_toys))]


def summarize_toys(results: list[dict], params: list[str]) -> dict:
    """Coverage (fraction covered, binomial standard error) of the Wilks and HPD sets, and the t quantiles."""
    from scipy import stats

    t = np.array([r["t"] for r in results])
    n = t.size
    out = {"n_toys": n, "t_quantiles": {f"{q:.2f}": float(np.quantile(t, q)) for q in (0.68, 0.9, 0.95)},
           "chi2_quantiles": {f"{q:.2f}": float(stats.chi2.ppf(q, len(params))) for q in (0.68, 0.9, 0.95)}}
    for kind in ("wilks_covered", "hpd_covered"):
        if kind in results[0]:
            cover = {}
            for level in results[0][kind]:
                frac = float(np.mean([r[kind][level] for r in results]))
                cover[level] = {"coverage": frac, "error": float(np.sqrt(max(frac * (1 - frac), 1.0 / n) / n))}
            out[kind.replace("_covered", "")] = cover
    return out


def cmd_toys(args: argparse.Namespace) -> int:
    import time

    from ..app.forecast import cached_model
    from ..app.tasks import progress_lines, run_tasks, task_executor

    params = _names(args.params)
    if not 1 <= args.n <= MAX_TOYS:
        raise ConfigError(f"-n must be between 1 and {MAX_TOYS}, got {args.n}")
    truth = _assignments(args.truth, "--truth")
    check_out_folder(args.out)
    with task_executor(args.backend, args.workers) as executor:
        if executor is None:
            return 0  # an MPI worker rank
        model = cached_model(args.scenario)
        from ..inference.frequentist import Profiler

        model.check_ranges()
        model.check_values(truth, "truth")  # names, finite, inside the prior
        for name in params:
            if name not in model.parameter_names:
                raise ConfigError(f"--params {name!r}: not a parameter of {args.scenario}; its parameters: "
                                  f"{', '.join(model.parameter_names)}")
        constrained = [n for n in params if model.index(n) in model.constrained_indices]
        if constrained and args.bayes != "none":
            raise ConfigError(f"--bayes checks the HPD sets of free parameters; {', '.join(constrained)} is a constrained "
                              "nuisance (its Wilks sets are checked with --bayes none)")
        profiler = Profiler(model.with_free(params), model.asimov())  # as each toy's (toy_task)
        for name in params:
            profiler.index(name)
        if args.bayes == "grid" and len(model.free_indices) > 2:
            raise ConfigError(f"--bayes grid needs at most 2 free parameters; {args.scenario} has {len(model.free_indices)}: use --bayes fit")
        specs = toy_specs(args.scenario, truth, params, args.n, args.seed, not args.no_auxiliary, args.bayes)
        out = Path(args.out)
        args.hold_out()
        start = time.perf_counter()
        results = run_tasks(toy_task, specs, executor, store=out / "tasks", progress=progress_lines(args.scenario, "toys"))
        summary = {"scenario": args.scenario, "truth": truth, "params": params, "seed": args.seed,
                   "auxiliary": not args.no_auxiliary, "bayes": args.bayes, **summarize_toys(results, params),
                   "wall_seconds": time.perf_counter() - start}
    atomic_write_json(out / "toys.json", summary)
    rows = ["toy,t," + ",".join(f"wilks_{lv}" for lv in results[0]["wilks_covered"])]
    rows += [f"{r['key']},{r['t']!r}," + ",".join(str(int(v)) for v in r["wilks_covered"].values()) for r in results]
    atomic_write_text(out / "toys.csv", "\n".join(rows) + "\n")
    _plot_t(results, params, out / "toys.png")
    if args.json:
        print_json(summary)
        return 0
    print(f"{args.scenario}: {summary['n_toys']} toys at {truth or 'the nominal point'}, t = -2 Delta ln L at the true {', '.join(params)}")
    for kind in ("wilks", "hpd"):
        for level, c in summary.get(kind, {}).items():
            print(f"  {kind:<5} {float(level):.0%} coverage: {c['coverage']:.3f} +- {c['error']:.3f}")
    print(f"outputs in {out}/ (toys.json, toys.csv, toys.png, tasks/)")
    return 0


def _plot_t(results: list[dict], params: list[str], path: Path) -> None:
    import matplotlib.pyplot as plt
    from scipy import stats

    t = np.array([r["t"] for r in results])
    fig, ax = plt.subplots(figsize=(5, 3.6))
    edges = np.linspace(0, max(10.0, float(np.quantile(t, 0.99))), 41)
    ax.hist(t, bins=edges, density=True, histtype="stepfilled", alpha=0.5, label=f"{t.size} toys")
    grid = np.linspace(edges[1] / 4, edges[-1], 300)
    ax.plot(grid, stats.chi2.pdf(grid, len(params)), "k--", lw=1, label=rf"$\chi^2_{len(params)}$ (Wilks)")
    ax.set_yscale("log")
    ax.set_xlabel(r"$t = -2\,\Delta\ln L$ at the truth")
    ax.legend(frameon=False, fontsize=8)
    atomic_savefig(fig, path, dpi=120, bbox_inches="tight")
    plt.close(fig)


# ------------------------------------------------------------------------------------------------------
# forecast
# ------------------------------------------------------------------------------------------------------
def cmd_forecast(args: argparse.Namespace) -> int:
    from ..app.forecast import forecast_specs, forecast_task, parse_vary, target_pair_specs
    from ..app.tasks import progress_lines, run_tasks, task_executor

    params = _names(args.params)
    if (args.vary is None) == (args.targets is None):
        raise ConfigError("give either --vary KEY=V1,V2,... or --targets T1,T2,...")
    truth = _assignments(args.truth, "--truth")
    if not 2 <= args.points <= MAX_POINTS:
        raise ConfigError(f"--points must be between 2 and {MAX_POINTS}, got {args.points}")
    check_out_folder(args.out)
    with task_executor(args.backend, args.workers) as executor:
        if executor is None:
            return 0
        if args.vary is not None:
            key, values = parse_vary(args.vary)
            specs = forecast_specs(args.scenario, key, values, params, args.experiment, truth, args.points)
        else:
            targets = [t.strip() for t in args.targets.split(",") if t.strip()]
            specs = target_pair_specs(args.scenario, targets, params, truth, args.points, args.profile_others)
        out = Path(args.out)
        args.hold_out()
        results = run_tasks(forecast_task, specs, executor, store=out / "tasks",
                            progress=progress_lines(args.scenario, "forecast"))
    summary = {"scenario": args.scenario, "params": params, "experiment": args.experiment, "truth": truth, "points": []}
    for spec, result in zip(specs, results, strict=True):
        entry = {"changes": spec["model"]["changes"], **({"pair": spec["pair"]} if "pair" in spec else {}),
                 "parameters": result["parameters"]}
        summary["points"].append(entry)
    if args.targets is not None:
        summary["ranking"] = {name: sorted(([*e["pair"], e["parameters"][name]["width_95"]] for e in summary["points"]), key=lambda r: r[2])
                              for name in params}
    atomic_write_json(out / "forecast.json", summary)
    rows = ["setting,value,parameter,width_95,width_at_truth_95,n_pieces_95,width_68"]
    for e in summary["points"]:
        setting, value = (("pair", "+".join(e["pair"])) if "pair" in e else next(iter(e["changes"].items())))
        for name, p in e["parameters"].items():
            rows.append(f"{setting},{value},{name},{p['width_95']!r},{p['width_at_truth_95']!r},{p['n_pieces_95']},{p['width_68']!r}")
    atomic_write_text(out / "forecast.csv", "\n".join(rows) + "\n")
    figure = _plot_forecast(summary, out / "forecast.png", args.targets is not None)
    if args.json:
        print_json(summary)
        return 0
    print(f"{args.scenario}: expected (Asimov) Wilks 95% widths")
    for row in rows[1:]:
        setting, value, name, width, at_truth, pieces, _ = row.split(",")
        print(f"  {setting}={value:<12} {name:<12} width {float(width):.4g}  (piece at the truth {float(at_truth):.4g}, {pieces} piece(s))")
    print(f"outputs in {out}/ (forecast.json, forecast.csv, {figure.name})")
    return 0


def _plot_forecast(summary: dict, path: Path, pairs: bool) -> Path:
    import matplotlib.pyplot as plt

    from ..labels import latex_label

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    names = summary["params"]
    if pairs:
        labels = ["+".join(e["pair"]) for e in summary["points"]]
        positions = np.arange(len(labels))
        for k, name in enumerate(names):
            ax.bar(positions + 0.8 * k / len(names), [e["parameters"][name]["width_95"] for e in summary["points"]],
                   width=0.8 / len(names), label=latex_label(name))
        ax.set_xticks(positions + 0.4 - 0.4 / len(names), labels)
        ax.set_ylabel("Wilks 95% width (Asimov)")
        ax.set_yscale("log")
    else:
        key = next(iter(summary["points"][0]["changes"]))
        x = [e["changes"][key] for e in summary["points"]]
        for name in names:
            ax.plot(x, [e["parameters"][name]["width_95"] for e in summary["points"]], "o-", label=latex_label(name) + " (total)")
            ax.plot(x, [e["parameters"][name]["width_at_truth_95"] for e in summary["points"]], "s--", alpha=0.7,
                    label=latex_label(name) + " (piece at the truth)")
        if isinstance(x[0], (int, float)):
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(key + (f" ({summary['experiment']})" if summary.get("experiment") else " (every experiment)"))
        ax.set_ylabel("Wilks 95% width (Asimov)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(summary["scenario"], fontsize=9)
    atomic_savefig(fig, path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------------------
def _farm_options(p: argparse.ArgumentParser) -> None:
    from ..app.tasks import BACKENDS

    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="local worker processes (default 1; under mpiexec the MPI ranks are the workers)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="auto (MPI under mpiexec/srun, else processes), serial, process or mpi (docs/scaling.md)")


def register(subparsers: Any) -> None:
    """Add ``profile``, ``toys`` and ``forecast`` to a ``cevns`` argparse sub-parser collection."""
    p = subparsers.add_parser(
        "profile", help="maximum likelihood and 1-D/2-D profile likelihoods with Wilks intervals",
        description="Global maximum-likelihood fit (multi-start: the NSI likelihood has mirror solutions), then the "
        "profile likelihood of one or two free parameters (other couplings minimised, Gaussian nuisances profiled) "
        "with Wilks intervals (unions where disjoint). Writes profile.json, a CSV and a PNG into --out.")
    p.add_argument("scenario", metavar="SCENARIO_OR_FILE", help="built-in scenario or TOML path")
    p.add_argument("--params", required=True, metavar="NAME[,NAME]", help="one (1-D) or two (2-D) free parameters, e.g. eps_u_ee")
    p.add_argument("--points", type=int, default=200, help="scan points (1-D, default 200) or per axis (2-D, give e.g. 41)")
    p.add_argument("--data", choices=["asimov", "observed"], help="data set (default: the scenario's [fit] data)")
    p.add_argument("--truth", action="append", metavar="NAME=VALUE", help="Asimov truth (repeatable or comma-separated)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--json", action="store_true", help="print profile.json to stdout")
    p.set_defaults(func=holds_out(cmd_profile))

    p = subparsers.add_parser(
        "toys", help="toy ensembles at a truth: test-statistic distribution and coverage of Wilks (and HPD) sets",
        description="Draw toys (Poisson counts and auxiliary measurements) at a truth, fit each one and record "
        "t = -2 Delta ln L at the true values of --params; reports the coverage of the Wilks sets and, with --bayes, "
        "of Bayesian HPD sets. One task per toy (cevns.app.tasks): --workers, MPI, resumable from --out/tasks.")
    p.add_argument("scenario", metavar="SCENARIO", help="built-in scenario or TOML path")
    p.add_argument("--params", required=True, metavar="NAME[,NAME]", help="the parameters whose sets are checked")
    p.add_argument("--truth", action="append", metavar="NAME=VALUE", help="the truth (default: the nominal, SM, point)")
    p.add_argument("-n", type=int, default=200, help="number of toys (default 200)")
    p.add_argument("--seed", type=sequence_seed, default=0, help="seed; toy i uses SeedSequence(seed).spawn(n)[i]")
    p.add_argument("--bayes", choices=["none", "grid", "fit", "nautilus"], default="none",
                   help="also check HPD sets: grid posterior (<= 2 free parameters), or one cevns.fit --fast per toy with "
                   "the default sampler (fit: smc for marginalized fits up to 4-D) or with nautilus")
    p.add_argument("--no-auxiliary", action="store_true", help="keep the constraint centres fixed (fluctuate counts only)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (tasks/ holds one JSON per finished toy)")
    p.add_argument("--json", action="store_true", help="print toys.json to stdout")
    _farm_options(p)
    p.set_defaults(func=holds_out(cmd_toys))

    p = subparsers.add_parser(
        "forecast", help="expected 95%% widths of couplings against a detector setting, or per target pair",
        description="Asimov profile-likelihood widths (Wilks 95%) of --params while one setting of the scenario's "
        "experiments is varied (--vary exposure_kg_day=1e3,1e4,1e5; threshold_keV, background_per_kg_day_keV, "
        "target, distance_m, ...), or for every pair of --targets (which pair breaks the eps^u/eps^d degeneracy best).")
    p.add_argument("scenario", metavar="SCENARIO", help="built-in scenario or TOML path")
    p.add_argument("--params", required=True, metavar="NAME[,NAME]", help="couplings whose widths are reported")
    p.add_argument("--vary", metavar="KEY=V1,V2,...", help="the setting and its values")
    p.add_argument("--experiment", metavar="NAME", help="vary this experiment only (default: every experiment)")
    p.add_argument("--targets", metavar="T1,T2,...", help="rank every pair of these targets (experiments of the scenario)")
    p.add_argument("--profile-others", action="store_true",
                   help="with --targets: profile the scenario's other couplings too (default: fixed at the SM)")
    p.add_argument("--truth", action="append", metavar="NAME=VALUE", help="Asimov truth (default: the nominal, SM, point)")
    p.add_argument("--points", type=int, default=150, help="profile scan points per coupling (default 150)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--json", action="store_true", help="print forecast.json to stdout")
    _farm_options(p)
    p.set_defaults(func=holds_out(cmd_forecast))
