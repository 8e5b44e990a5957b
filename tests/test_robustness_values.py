"""Robustness of the newer commands: truths against the prior, output folders, messages, a seeded fuzz.

Same style as tests/test_robustness.py (its helpers are reused): each command is a new ``cevns`` process in a tmp
folder; a refusal is exit code 2, exactly one stderr line ``cevns: error: ...`` naming the option and the fix, and
the folder is left as it was. The quick commands run three at a time (two shared cores), once per module.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import time
from pathlib import Path

import pytest

from test_robustness import CLI, assert_no_traceback, assert_one_line_error, describe, read_only_folder_is_writable, snapshot

SCENARIO = "coherent-2017-2p"  # eps_u_ee, eps_u_mumu in [-1.5, 1.5]; norm_bkg_COHERENT-CsI in [0.5, 1.5] (sigma 5%)
HUGE_PRIOR = 'base = "coherent-2017-2p"\n[fit.free]\neps_u_ee = [-1e300, 1e300]\neps_u_mumu = [-1.5, 1.5]\n'


# --- the cases: (args, files to write into the cwd, fragments the one error line must name) ------------------------
def _file(tmp: Path) -> None:
    (tmp / "afile").write_text("a regular file\n")


def _huge(tmp: Path) -> None:
    (tmp / "huge.toml").write_text(HUGE_PRIOR)


def _huge_fixed(tmp: Path) -> None:
    (tmp / "fixed.toml").write_text('base = "coherent-2017-2p"\n[fit]\nfixed = { eps_d_ee = 1e300 }\n')


def _ignored_truth(tmp: Path) -> None:  # coherent-2017-2p fits the observed counts: the truth would be ignored
    (tmp / "truth.toml").write_text('base = "coherent-2017-2p"\n[fit]\nasimov_truth = { eps_u_ee = 5.0 }\n')


REFUSED = {
    # 2. truths outside the prior, non-finite, unknown, or with data they cannot set
    "toys-truth-50": (("toys", SCENARIO, "--params", "eps_u_ee", "-n", "4", "--truth", "eps_u_ee=50", "--out", "T"), None,
                      ("--truth", "eps_u_ee=50", "[-1.5, 1.5]")),
    "profile-truth-100": (("profile", SCENARIO, "--params", "eps_u_ee", "--truth", "eps_u_ee=100", "--data", "asimov",
                           "--points", "5", "--out", "P"), None, ("--truth", "eps_u_ee=100", "[-1.5, 1.5]")),
    "forecast-truth-30": (("forecast", SCENARIO, "--params", "eps_u_ee", "--vary", "exposure_kg_day=1e3,1e4", "--truth",
                           "eps_u_ee=30", "--points", "5", "--out", "F"), None, ("--truth", "eps_u_ee=30", "[-1.5, 1.5]")),
    "profile-truth-nan-observed": (("profile", SCENARIO, "--params", "eps_u_ee", "--truth", "eps_u_ee=nan", "--data",
                                    "observed", "--points", "5", "--out", "P"), None, ("--truth", "--data asimov")),
    "profile-truth-ok-observed": (("profile", SCENARIO, "--params", "eps_u_ee", "--truth", "eps_u_ee=0.1", "--points", "5",
                                   "--out", "P"), None, ("--truth", "observed")),
    "profile-truth-no-name": (("profile", SCENARIO, "--params", "eps_u_ee", "--truth", "0.1", "--data", "asimov", "--out",
                               "P"), None, ("--truth", "NAME=VALUE")),
    "profile-truth-nan-asimov": (("profile", SCENARIO, "--params", "eps_u_ee", "--truth", "eps_u_ee=nan", "--data", "asimov",
                                  "--points", "5", "--out", "P"), None, ("--truth", "eps_u_ee", "finite")),
    "forecast-truth-inf": (("forecast", SCENARIO, "--params", "eps_u_ee", "--vary", "exposure_kg_day=1e3", "--truth",
                            "eps_u_ee=inf", "--points", "5", "--out", "F"), None, ("--truth", "eps_u_ee", "finite")),
    "toys-truth-nan": (("toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--truth", "eps_u_ee=nan", "--out", "T"), None,
                       ("--truth", "eps_u_ee", "finite")),
    "toys-truth-norm-below": (("toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--truth", "norm_bkg_COHERENT-CsI=0.2",
                               "--out", "T"), None, ("--truth", "norm_bkg_COHERENT-CsI", "[0.5, 1.5]")),
    "toys-truth-fixed-coupling": (("toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--truth", "eps_d_ee=0.1", "--out",
                                   "T"), None, ("--truth", "eps_d_ee", "eps_u_mumu")),
    "toys-truth-twice": (("toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--truth", "eps_u_ee=0.1,eps_u_ee=0.2",
                          "--out", "T"), None, ("--truth", "once")),
    "toys-bayes-of-a-nuisance": (("toys", SCENARIO, "--params", "norm_bkg_COHERENT-CsI", "-n", "2", "--bayes", "grid",
                                  "--out", "T"), None, ("--bayes", "norm_bkg_COHERENT-CsI", "--bayes none")),
    # 4. output folders that cannot take the outputs, names the system refuses
    "profile-out-file": (("profile", SCENARIO, "--params", "eps_u_ee", "--points", "5", "--out", "afile"), _file,
                         ("--out", "afile", "not a folder")),
    "toys-out-file": (("toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--out", "afile"), _file, ("--out", "afile")),
    "forecast-out-file": (("forecast", SCENARIO, "--params", "eps_u_ee", "--vary", "exposure_kg_day=1e3", "--points", "5",
                           "--out", "afile"), _file, ("--out", "afile")),
    "toys-out-below-file": (("toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--out", "afile/run"), _file,
                            ("--out", "afile")),
    "rates-5000-character-name": (("rates", "x" * 5000), None, ("too long",)),
    # 5. wrong or missing messages
    "fit-out-empty": (("fit", SCENARIO, "--fast", "--quiet", "--out", ""), None, ("--out", "empty")),
    "profile-out-blank": (("profile", SCENARIO, "--params", "eps_u_ee", "--out", "  "), None, ("--out", "empty")),
    "fit-huge-prior": (("fit", "huge.toml", "--fast", "--quiet", "--out", "H"), _huge, ("eps_u_ee", "[-1e+300, 1e+300]")),
    "profile-huge-prior": (("profile", "huge.toml", "--params", "eps_u_ee", "--points", "5", "--out", "H"), _huge,
                           ("eps_u_ee", "[-1e+300, 1e+300]")),
    # fixed values and truths of a scenario file: named, before any work
    "fit-fixed-overflow": (("fit", "fixed.toml", "--fast", "--quiet", "--out", "X"), _huge_fixed,
                           ("[fit] fixed", "eps_d_ee = 1e+300")),
    "profile-fixed-overflow": (("profile", "fixed.toml", "--params", "eps_u_ee", "--points", "5", "--out", "X"), _huge_fixed,
                               ("[fit] fixed", "eps_d_ee = 1e+300")),
    "fit-asimov-truth-with-observed-data": (("fit", "truth.toml", "--fast", "--quiet", "--out", "X"), _ignored_truth,
                                            ("asimov_truth", "eps_u_ee", "observed")),
    "bench-mpi-without-tasks": (("bench", "coherent-2017", "--mpi", "--no-fit", "--seconds", "0.1"), None, ("--mpi", "--tasks")),
    # the documented --masses format reaches the command's own check (argparse took "-1,..." for an option)
    "masses-negative-first": (("mediator-limits", "coherent-2017", "--masses", "-1,4,5", "--level", "2", "--out", "m.png"),
                              None, ("--level",)),
    "masses-negative-out-of-range": (("mediator-limits", "coherent-2017", "--masses", "-9,4,5", "--out", "m.png"), None,
                                     ("--masses", "-9,4,5")),
    # 3. fit folders are verified before they are shown or plotted
    "show-not-a-fit": (("show", "afile"), _file, ("afile",)),
}


class Ran:
    def __init__(self, cwd: Path, args: tuple[str, ...]) -> None:
        self.cwd, self.args = cwd, args
        self.before = snapshot(cwd)
        self.proc: subprocess.CompletedProcess | None = None
        self.after: dict[str, str] = {}

    def run(self) -> Ran:
        try:
            self.proc = subprocess.run([*CLI, *self.args], cwd=self.cwd, capture_output=True, text=True, timeout=180,
                                       stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as err:
            self.proc = subprocess.CompletedProcess(err.cmd, -9, "", f"TIMEOUT after 180 s: {err.stderr!r}")
        self.after = snapshot(self.cwd)
        return self


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    """Run every REFUSED case once, three at a time."""
    from concurrent.futures import ThreadPoolExecutor

    runs = {}
    for case, (args, prepare, _) in REFUSED.items():
        cwd = tmp_path_factory.mktemp(re.sub(r"[^A-Za-z0-9]+", "-", case))
        if prepare is not None:
            prepare(cwd)
        runs[case] = Ran(cwd, args)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(Ran.run, runs.values()))
    return runs


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_in_one_line_folder_unchanged(refused, case):
    ran = refused[case]
    assert_one_line_error(ran.proc, *REFUSED[case][2])
    assert ran.after == ran.before, f"a refused command changed its folder\n{describe(ran.proc)}"


def test_out_read_only_folder_refused_before_any_work(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if read_only_folder_is_writable(folder):
            pytest.skip("running as root: a chmod 0o555 folder is still writable (out-below-a-file covers the case)")
        for args in (("profile", SCENARIO, "--params", "eps_u_ee", "--points", "5", "--out", "ro/P"),
                     ("toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--out", "ro")):
            proc = subprocess.run([*CLI, *args], cwd=tmp_path, capture_output=True, text=True, timeout=180)
            assert_one_line_error(proc, "--out", "not writable")
    finally:
        folder.chmod(0o755)


# --- every parameter name a model lists is accepted wherever a name is ------------------------------------------------
def test_truth_of_a_nuisance_with_a_dash_is_accepted(tmp_path):
    """`--truth norm_bkg_COHERENT-CsI=0.6` (a normsys with a dash in its name, 8 sigma low but inside its range
    [0.5, 1.5]) is accepted and used: the Asimov data at it are not the nominal ones, so the best fit moves
    (the background deficit is taken up by the couplings) from the nominal data's."""
    base = [*CLI, "profile", SCENARIO, "--params", "eps_u_ee", "--data", "asimov", "--points", "5", "--json"]
    runs = {name: subprocess.Popen([*base, *extra, "--out", name], cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            for name, extra in (("truth", ["--truth", "norm_bkg_COHERENT-CsI=0.6"]), ("nominal", []))}
    out = {}
    for name, proc in runs.items():
        stdout, stderr = proc.communicate(timeout=180)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        assert_no_traceback(done)
        assert done.returncode == 0, describe(done)
        out[name] = json.loads(stdout)
    assert out["truth"]["truth"] == {"norm_bkg_COHERENT-CsI": 0.6}
    moved = abs(out["truth"]["mle"]["best"]["eps_u_ee"] - out["nominal"]["mle"]["best"]["eps_u_ee"])
    assert moved > 0.05, (out["truth"]["mle"]["best"], out["nominal"]["mle"]["best"])


def test_toys_of_a_nuisance_are_accepted(tmp_path):
    """`cevns toys --params norm_bkg_COHERENT-CsI` (a constrained nuisance, as `cevns profile --params` takes one):
    t is the profile-likelihood ratio at its true value, its constraint kept, so every t is finite and >= 0."""
    proc = subprocess.run([*CLI, "toys", SCENARIO, "--params", "norm_bkg_COHERENT-CsI", "-n", "4", "--json", "--out", "T"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert_no_traceback(proc)
    assert proc.returncode == 0, describe(proc)
    assert json.loads(proc.stdout)["params"] == ["norm_bkg_COHERENT-CsI"]
    rows = (tmp_path / "T" / "toys.csv").read_text().splitlines()[1:]
    t = [float(row.split(",")[1]) for row in rows]
    assert len(t) == 4 and all(0 <= value < 1e3 for value in t), t


# --- a seeded fuzz of the newer commands' options ------------------------------------------------------------------
#: Values a new user might type by mistake (or on purpose), for any option.
FUZZ_VALUES = ("nan", "inf", "-inf", "-1", "0", "1e308", "-1e-320", "", " ", "abc", "1,2", "=", "eps_u_ee", "eps_u_ee=",
               "=0.1", "eps_u_ee=1e308", "eps_u_ee=-2", "norm_bkg_COHERENT-CsI=nan", "x" * 300, "-1,4,5", "\u00e9\u00e8",
               "1e3,nan", "exposure_kg_day=-1", "threshold_keV=abc", "target=Xx", "eps_zzz=1")
#: Each newer command with cheap valid options; the fuzz replaces one option's value (or adds one option).
FUZZ_COMMANDS = {
    "profile": ["profile", SCENARIO, "--params", "eps_u_ee", "--data", "asimov", "--points", "5", "--out", "O"],
    "toys": ["toys", SCENARIO, "--params", "eps_u_ee", "-n", "2", "--out", "O"],
    "forecast": ["forecast", SCENARIO, "--params", "eps_u_ee", "--vary", "exposure_kg_day=1e3", "--points", "5", "--out", "O"],
    "mediator-limits": ["mediator-limits", "coherent-2017", "--masses", "0,1,2", "--quiet", "--out", "O.png"],
    "bench": ["bench", "coherent-2017", "--no-fit", "--seconds", "0.1", "--batch", "100"],
}
FUZZ_OPTIONS = {
    "profile": ("--params", "--points", "--truth", "--data", "--out"),
    "toys": ("--params", "-n", "--truth", "--seed", "--bayes", "--workers", "--backend", "--out"),
    "forecast": ("--params", "--vary", "--targets", "--experiment", "--truth", "--points", "--workers", "--out"),
    "mediator-limits": ("--masses", "--level", "--out"),
    "bench": ("--batch", "--seconds", "--tasks", "--plot"),
}
FUZZ_CASES = 24


def _fuzz_cases(seed: int = 26) -> list[list[str]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(FUZZ_CASES):
        command = rng.choice(sorted(FUZZ_COMMANDS))
        args = list(FUZZ_COMMANDS[command])
        option, value = rng.choice(FUZZ_OPTIONS[command]), rng.choice(FUZZ_VALUES)
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
        cases.append(args)
    return cases


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    from concurrent.futures import ThreadPoolExecutor

    runs = [Ran(tmp_path_factory.mktemp(f"fuzz{k}"), tuple(args)) for k, args in enumerate(_fuzz_cases())]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(Ran.run, runs))
    return runs, time.monotonic() - start


@pytest.mark.parametrize("k", range(FUZZ_CASES))
def test_fuzz_newer_commands_refuse_in_one_line_or_run(fuzzed, k):
    """Seeded (random.Random(26)): one option of a newer command gets a value from FUZZ_VALUES. Either the command
    runs (exit 0, no traceback) or it refuses in one line with exit 2 and leaves its folder as it was."""
    runs, _ = fuzzed
    ran = runs[k]
    assert_no_traceback(ran.proc)
    if ran.proc.returncode == 0:
        return
    assert_one_line_error(ran.proc)
    assert ran.after == ran.before, f"a refused command changed its folder\n{describe(ran.proc)}"


def test_fuzz_cases_are_the_seeded_ones():
    """The fuzz is reproducible: the same seed gives the same cases, and they cover every newer command."""
    assert _fuzz_cases() == _fuzz_cases()
    assert {case[0] for case in _fuzz_cases()} == set(FUZZ_COMMANDS)


def test_no_traceback_env_is_documented_in_the_internal_error_line():
    """An unexpected error (a bug) is one line too, naming how to see its traceback (CEVNS_TRACEBACK=1)."""
    code = ("import importlib, sys; m = importlib.import_module('cevns.cli.commands')\n"
            "def boom(args): raise TypeError('a bug')\n"
            "parser = m.build_parser\n"
            "def patched():\n    p = parser(); p._subparsers._group_actions[0].choices['scenarios'].set_defaults(func=boom); return p\n"
            "m.build_parser = patched\n"
            "sys.exit(m.main(['scenarios']))\n")
    env = {k: v for k, v in os.environ.items() if k != "CEVNS_TRACEBACK"}
    proc = subprocess.run([CLI[0], "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1 and proc.stderr.splitlines() == [proc.stderr.strip()], proc.stderr
    assert "CEVNS_TRACEBACK=1" in proc.stderr and "TypeError: a bug" in proc.stderr
    proc = subprocess.run([CLI[0], "-c", code], capture_output=True, text=True, timeout=120, env={**env, "CEVNS_TRACEBACK": "1"})
    assert "Traceback" in proc.stderr and "TypeError: a bug" in proc.stderr
