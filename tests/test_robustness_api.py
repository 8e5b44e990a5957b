"""Robustness of the Python API and of the command's start: the library refuses bad values with its own error
(a :class:`cevns.CevnsError`, also a ValueError) naming the argument, never a silent finite number, and Ctrl-C at
any moment of ``cevns`` (also while it imports numpy and the samplers) is one line and exit code 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cevns
from cevns.detectors import TargetError, make_target
from cevns.errors import CevnsError, ConfigError, RunFolderError
from cevns.experiment import ExperimentError
from cevns.model import ModelError
from cevns.physics.couplings import UnknownConventionError, weak_nucleon_charges
from cevns.spec.vocabulary import UnknownCouplingError, parse_nsi_name

from test_robustness import CLI, describe


# --- one library exception ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [ConfigError, RunFolderError, ModelError, UnknownCouplingError, UnknownConventionError,
                                   TargetError, ExperimentError])
def test_every_library_error_is_a_cevns_error_and_a_value_error(error):
    assert issubclass(error, CevnsError) and issubclass(error, ValueError)


def test_the_base_is_exported_and_raised():
    assert cevns.CevnsError is CevnsError and "CevnsError" in cevns.__all__
    with pytest.raises(CevnsError, match="eps_x_ee"):
        parse_nsi_name("eps_x_ee")
    with pytest.raises(CevnsError, match="Xx"):
        make_target("Xx")
    with pytest.raises(CevnsError, match="loop"):
        weak_nucleon_charges(0.23, "loop")
    with pytest.raises(CevnsError, match="no-such-scenario"):
        cevns.load_config("no-such-scenario")


# --- the model refuses bad values by name ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    return cevns.Model.from_scenario(cevns.Scenario.load("coherent-2017-2p"))


def test_logpdf_outside_the_prior_or_a_negative_normalisation_is_minus_infinity(model):
    """logpdf is the model's density: -inf where the model does not describe the point (never a finite number)."""
    data = model.observed()
    inside = model.logpdf(model.pars(), data)
    assert np.isfinite(inside).all()
    for name, value in (("eps_u_ee", 50.0), ("eps_u_ee", -1.5001), ("norm_sns_prompt_nu_mu", -0.5),
                        ("norm_bkg_COHERENT-CsI", -0.2)):
        pars = model.pars()
        pars[model.index(name)] = value
        assert model.logpdf(pars, data).tolist() == [-np.inf], name
    # a constrained nuisance beyond its +-10 sigma sampling box is still described (its Gaussian prior has no end)
    assert np.isfinite(model.logpdf(model.pars({"norm_bkg_COHERENT-CsI": 1.6}), data)).all()
    # a batch keeps its good points: one outside point does not stop it
    batch = np.array([model.pars(), model.pars(eps_u_ee=1e300)])
    values = model.logpdf(batch, data)
    assert values[0] == inside[0] and values[1] == -np.inf
    assert model.outside_support(batch).tolist() == [False, True]


@pytest.mark.parametrize("call, fragment", [
    (lambda m: m.pars(eps_u_ee=float("nan")), "eps_u_ee"),
    (lambda m: m.pars(eps_u_ee="0.1"), "eps_u_ee"),
    (lambda m: m.pars(eps_u_xx=0.1), "eps_u_xx"),
    (lambda m: m.toy(np.full(len(m.parameters), np.nan), np.random.default_rng(0)), "eps_u_ee"),
    (lambda m: m.toy({"eps_u_mumu": np.inf}, np.random.default_rng(0)), "eps_u_mumu"),
    (lambda m: m.logpdf("abc", m.observed()), "pars"),
    (lambda m: m.logpdf(m.pars(), "abc"), "data"),
    (lambda m: m.logpdf(m.pars(), -m.observed()), "data"),
    (lambda m: m.logpdf(m.pars(), m.observed()[:-1] if m.n_bins > 1 else np.ones(3)), "data"),
    (lambda m: m.logpdf(np.where(np.arange(len(m.parameters)) == 1, np.nan, m.pars()), m.observed()), "eps_u_mumu"),
    (lambda m: m.prior_transform(np.full(len(m.sampled_names("sampled")), 2.0), "sampled"), "eps_u_ee"),
    (lambda m: m.prior_transform(np.array([0.5, -0.1]), "marginalized"), "eps_u_mumu"),
    (lambda m: m.prior_transform(np.array([0.5, np.nan]), "marginalized"), "eps_u_mumu"),
    (lambda m: m.check_values({"eps_u_ee": 2.0}, "truth"), "[-1.5, 1.5]"),
])
def test_model_methods_raise_the_library_error_naming_the_argument(model, call, fragment):
    with pytest.raises(CevnsError) as err:
        call(model)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_prior_transform_inside_the_cube_is_inside_the_ranges(model):
    cube = np.array([[0.0] * 2, [1.0] * 2, [0.5] * 2])
    values = model.prior_transform(cube, "marginalized")
    lo, hi = model.bounds["eps_u_ee"]
    assert values[:, 0].tolist() == [lo, hi, 0.5 * (lo + hi)]


def test_fit_of_data_too_large_to_be_counts_names_the_data(model):
    with pytest.raises(ModelError, match="data"):
        cevns.fit(model, model.observed() * 1e12, fast=True, verbose=False)


@pytest.mark.parametrize("start, fragment", [
    ([2.0, 0.0], "eps_u_ee=2 is outside the range of eps_u_ee, [-1.5, 1.5]"),
    ([0.0, np.nan], "eps_u_mumu=nan"),
    ([0.0], "2 values (eps_u_ee, eps_u_mumu)"),
    ("ab", "numbers"),
])
def test_optimiser_starting_points_are_checked_by_name(model, start, fragment):
    from cevns.inference.frequentist import Profiler, fit_mle

    profiler = Profiler(model, model.observed())
    with pytest.raises(ConfigError) as err:
        fit_mle(profiler, n_grid=16, n_starts=1, extra_starts=[start], polish=False)
    assert fragment in str(err.value) and err.value.field == "extra_starts"
    with pytest.raises(ConfigError, match="start"):
        profiler.minimize(np.asarray([9.0, 0.0]), np.arange(2))


# --- Ctrl-C at start-up ---------------------------------------------------------------------------------------------
def _console_script() -> list[str]:
    """The installed ``cevns`` console script (the entry point users start), else the same call through python -c."""
    script = Path(sys.executable).with_name("cevns")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from cevns.cli import console; console()"]


@pytest.mark.parametrize("delay", [0.15, 0.4, 0.8, 1.5])
def test_ctrl_c_during_start_up_is_one_line_and_exit_130(tmp_path, delay):
    """SIGINT while the command imports numpy, scipy and the samplers (or later): exit 130, one line, no traceback.
    On a machine fast enough to finish before the signal, the command must have succeeded instead."""
    proc = subprocess.Popen([*_console_script(), "rates", "coherent-2017"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    done = subprocess.CompletedProcess([*CLI, "rates", "coherent-2017"], proc.returncode, stdout, stderr)
    assert "Traceback" not in stderr, describe(done)
    if proc.returncode == 0:  # finished before the signal
        return
    assert proc.returncode == 130, describe(done)
    assert stderr.splitlines() == ["cevns: interrupted"], describe(done)


def test_an_interrupt_wrapped_by_a_library_is_still_an_interrupt(capsys, monkeypatch):
    """A SIGINT that arrives while pydantic builds a model class comes out as pydantic's SchemaError (seen in
    `cevns rates` interrupted at 1.5 s): the CLI still exits 130 with one line, because the guard recorded the signal."""
    import signal as _signal

    from cevns.cli import commands

    def command(args):  # noqa: ANN001, ARG001
        try:
            _signal.raise_signal(_signal.SIGINT)
        except BaseException as err:  # what a library that catches everything does
            raise RuntimeError(f"wrapped: {err}") from None

    parser = commands.build_parser()
    original = parser.parse_args
    monkeypatch.setattr(commands, "build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", lambda argv: (lambda ns: (setattr(ns, "func", command), ns)[1])(original(argv)))
    assert commands.main(["rates", "coherent-2017"]) == 130
    err = capsys.readouterr().err.strip()
    assert err == "cevns: interrupted"
    # outside an interrupt, a bug is still an internal error
    monkeypatch.setattr(parser, "parse_args", lambda argv: (lambda ns: (setattr(ns, "func", lambda a: 1 / 0), ns)[1])(original(argv)))
    assert commands.main(["rates", "coherent-2017"]) == 1
    assert "internal error (ZeroDivisionError" in capsys.readouterr().err
