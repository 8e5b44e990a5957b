"""Robustness of the command line, run as a new user would (a subprocess of ``cevns``, cwd in a tmp folder).

One test function (or one parametrized function) per item of the robustness issue. Every refusal must be
exit code 2 and exactly one stderr line ``cevns: error: ...`` (no traceback), must leave the output folder as
it was, and ``--json`` output must be strict JSON (no NaN/Infinity tokens). Commands that print progress to
stderr are run with ``--quiet`` wherever a refusal is expected, so that the one-line rule is exact (item 1 times
its interrupt from the progress lines, and requires one line besides them).

Each command is a new process (``python -c "from cevns.cli import main; ..."``, works from any install); the
commands that several tests share run once per module, two to four at a time (two shared cores).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from cevns.cli import main; import sys; sys.exit(main())"]
#: Generous limit for one small command (imports + a fast fit) on two shared cores.
TIMEOUT = 180


# --- helpers ------------------------------------------------------------------------------------------------------
def cevns(*args: str, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``cevns ARGS`` in ``cwd``; fail (not hang) past ``timeout`` seconds."""
    try:
        return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"`cevns {' '.join(args)}` did not finish within {timeout} s (stderr so far: {err.stderr!r})")


class Started:
    """A ``cevns`` command started in the background, its output going to files (no pipe can fill up)."""

    def __init__(self, *args: str, cwd: Path, tag: str, log_dir: Path | None = None) -> None:
        self.args = args
        # the logs live outside every folder compared in a test (in cwd, never in --out; or in log_dir)
        self.stdout_path = (log_dir or cwd) / f"{tag}.stdout"
        self.stderr_path = (log_dir or cwd) / f"{tag}.stderr"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen([*CLI, *args], cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.started = time.monotonic()

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"`cevns {' '.join(self.args)}` did not end within {timeout} s; stderr: {self.stderr[-2000:]!r}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_until(condition, timeout: float, step: float = 0.1) -> bool:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"`cevns {' '.join(proc.args[len(CLI):])}` -> rc {proc.returncode}\nstdout: {proc.stdout[-1500:]!r}\nstderr: {proc.stderr[-3000:]!r}"


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, describe(proc)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """rc 2, stderr exactly one line ``cevns: error: ...`` naming every fragment; stdout empty or strict JSON."""
    assert_no_traceback(proc)
    assert proc.returncode == 2, describe(proc)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cevns: error:"), describe(proc)
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in the error line\n{describe(proc)}"
    if proc.stdout.strip():  # a refusal prints nothing, or (--json) only JSON
        strict_json(proc.stdout)
    return lines[0]


def _no_constant(token: str):  # noqa: ANN202
    raise ValueError(f"non-standard JSON token {token}")


def strict_json(text: str):  # noqa: ANN201
    """json.loads that refuses NaN, Infinity and -Infinity (not JSON)."""
    return json.loads(text, parse_constant=_no_constant)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry below ``folder`` (hidden ones included) with a hash of each file's content."""
    if not folder.exists():
        return {}
    entries = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_dir():
            entries[rel + "/"] = "dir"
        else:
            entries[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def assert_unchanged(folder: Path, before: dict[str, str], proc: subprocess.CompletedProcess) -> None:
    after = snapshot(folder)
    if after != before:
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
        pytest.fail(f"a refused command changed {folder}: added {added}, removed {removed}, changed {changed}\n{describe(proc)}")


def write_scenario(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return name


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def summary_log_evidence(folder: Path) -> float:
    return json.loads((folder / "summary.json").read_text())["log_evidence"]


#: Temporary files of the atomic writers (``.NAME.XXXXXXXX.SUFFIX`` from mkstemp) or any ``*.tmp``.
TEMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$|\.tmp$")


def temp_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and TEMP_FILE.search(p.name))


def read_only_folder_is_writable(folder: Path) -> bool:
    """Whether this process can still write into a chmod 0o555 folder (root can)."""
    probe = folder / "probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


# --- shared runs: started together (two cores), each awaited by the fixture or test that needs it -------------------
BACKGROUND = {
    # `cevns fit coherent-2017-2p --fast --json --out coherent-2017-2p`: a folder named like the scenario, no --quiet
    "fit2p": ("fit", "coherent-2017-2p", "--fast", "--json", "--out", "coherent-2017-2p"),
    # `cevns reproduce --fast --only fig2 --json --out R` without --quiet
    "reproduce": ("reproduce", "--fast", "--only", "fig2", "--json", "--out", "R"),
    # item 7: `--sampler ultranest --quiet --json`
    "ultranest": ("fit", "coherent-2017-2p", "--fast", "--sampler", "ultranest", "--quiet", "--json", "--out", "U"),
    # item 2: the dynesty backend (with its checkpoint) at few live points
    "dynesty": ("fit", "coherent-2017-2p", "--fast", "--sampler", "dynesty", "--nlive", "60", "--out", "D"),
}


class Finished:
    """A background run once it has ended: like a CompletedProcess, plus its cwd."""

    def __init__(self, run: Started, cwd: Path, timeout: float) -> None:
        self.returncode = run.wait(timeout)
        self.args = [*CLI, *run.args]
        self.stdout, self.stderr, self.cwd = run.stdout, run.stderr, cwd


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    """Start every BACKGROUND command at once (each in its own cwd); returns name -> () -> Finished."""
    started = {}
    for name, args in BACKGROUND.items():
        cwd = tmp_path_factory.mktemp(name)
        started[name] = (Started(*args, cwd=cwd, tag="log"), cwd)
    done: dict[str, Finished] = {}

    def result(name: str) -> Finished:
        if name not in done:
            run, cwd = started[name]
            done[name] = Finished(run, cwd, TIMEOUT)
        return done[name]

    yield result
    for run, _ in started.values():
        run.kill()


@pytest.fixture(scope="module")
def finished_2p(background):
    """The finished fast fit in ./coherent-2017-2p: (cwd, the folder, the finished process)."""
    proc = background("fit2p")
    assert proc.returncode == 0, describe(proc)
    assert (proc.cwd / "coherent-2017-2p" / "summary.json").exists(), describe(proc)
    return proc.cwd, proc.cwd / "coherent-2017-2p", proc


@pytest.fixture(scope="module")
def reproduced_fig2(background):
    """The fast reproduction of fig2: (R, the finished process)."""
    proc = background("reproduce")
    assert proc.returncode == 0, describe(proc)
    return proc.cwd / "R", proc


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


# --- 1. SIGINT during a fit ----------------------------------------------------------------------------------------
#: A progress line of cevns itself (``[future-combined] ...``, ``[future-combined] nautilus exploring ...``), not an error or a library warning.
PROGRESS_LINE = re.compile(r"^\[[\w.+-]+\] ")


def other_than_progress(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not PROGRESS_LINE.match(line)]


def test_item01_sigint_during_fit_is_interrupted_and_not_finished(tmp_path):
    """`cevns fit future-combined --fast --out F`, SIGINT during nautilus' network training (where scikit-learn
    catches KeyboardInterrupt, warns and goes on)."""
    fit_args = ("fit", "future-combined", "--fast", "--sampler", "nautilus")
    run = Started(*fit_args, "--out", "F", cwd=tmp_path, tag="first")
    folder = tmp_path / "F"
    # each bound: print the progress line, sample new points, then train the next networks (the second half of the
    # interval between two bound lines, measured: 0.45-0.62 of it is inside scikit-learn's training loop)
    seen: dict[int, float] = {}

    def bound_lines() -> bool:
        text = run.stderr
        for bound in (4, 5):
            if bound not in seen and f"nautilus exploring: bound {bound}," in text:
                seen[bound] = time.monotonic()
        return len(seen) == 2 or run.proc.poll() is not None

    assert wait_until(bound_lines, 120, step=0.02), run.stderr
    assert run.proc.poll() is None, f"the fit ended before it could be interrupted: rc {run.proc.returncode}, {run.stderr!r}"
    time.sleep(0.55 * (seen[5] - seen[4]))
    signalled = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    rc = run.wait(120)
    stop_seconds = time.monotonic() - signalled
    assert "Traceback" not in run.stderr, run.stderr
    assert rc == 130, f"rc {rc}, stderr {run.stderr!r}"
    first_stderr = run.stderr  # its one line is checked last, after the folder checks below
    assert not (folder / "complete.json").exists(), "an interrupted run was recorded as complete"

    # --resume must run the fit (not reuse the interrupted folder as a finished run)
    resume = Started(*fit_args, "--resume", "--out", "F", cwd=tmp_path, tag="resume")

    def sampling_or_ended() -> bool:
        text = resume.stderr
        started = "live points" in text or "nautilus exploring" in text  # logged once the folder was not taken as finished
        return resume.proc.poll() is not None or started or "reusing" in text or "finished run found" in text

    assert wait_until(sampling_or_ended, 120), resume.stderr
    text = resume.stderr
    assert "reusing" not in text and "finished run found" not in text, f"--resume reused an interrupted run:\n{text}"
    if resume.proc.poll() is None:  # it is sampling: good; stop it (a second interrupt ends the same way)
        resume.proc.send_signal(signal.SIGINT)
        rc = resume.wait(60)
        assert "Traceback" not in resume.stderr, resume.stderr
        assert rc == 130 and resume.stderr.splitlines()[-1] == "cevns: interrupted", (rc, resume.stderr)
        assert not (folder / "complete.json").exists()
    else:  # it ran to the end
        assert resume.proc.returncode == 0, resume.stderr
        assert "Traceback" not in resume.stderr, resume.stderr
        assert (folder / "complete.json").exists()
    # besides cevns' own progress lines, the interrupted fit printed exactly one line: no library warning
    assert other_than_progress(first_stderr) == ["cevns: interrupted"], f"stderr of the interrupted fit:\n{first_stderr}"
    # and an interrupt stops the fit, rather than letting it sample to the end before exiting with 130
    assert stop_seconds < 10, f"the fit went on for {stop_seconds:.1f} s after SIGINT:\n{first_stderr}"


# --- 2. dynesty end to end -------------------------------------------------------------------------------------------
def _check_dynesty(proc: subprocess.CompletedProcess, folder: Path) -> None:
    assert_no_traceback(proc)
    assert proc.returncode == 0, describe(proc)
    summary = strict_json((folder / "summary.json").read_text())
    assert summary["sampler"] == "dynesty" and summary["scenario"] == "coherent-2017-2p"
    assert (folder / "complete.json").exists()


def test_item02_dynesty_end_to_end_small(background):
    """The dynesty backend with its checkpoint, at few live points (fast):
    `cevns fit coherent-2017-2p --fast --sampler dynesty --nlive 60 --out D`."""
    proc = background("dynesty")
    _check_dynesty(proc, proc.cwd / "D")


@pytest.mark.slow
def test_item02_dynesty_end_to_end_fast_preset(tmp_path):
    """The issue's command as written: `cevns fit coherent-2017-2p --fast --sampler dynesty --out D`."""
    proc = cevns("fit", "coherent-2017-2p", "--fast", "--sampler", "dynesty", "--out", "D", cwd=tmp_path)
    _check_dynesty(proc, tmp_path / "D")


# --- 3. a file or folder named like a built-in scenario never shadows it ----------------------------------------
def test_item03_names_in_cwd_never_shadow_builtin_scenarios(finished_2p, tmp_path):
    _, source, first = finished_2p
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    # the fit into ./coherent-2017-2p worked (fixture); in a cwd that holds that folder and a FILE ./coherent-2017
    # (the base of coherent-2017-2p): the same fit with --resume, the rates of coherent-2017-2p, and coherent-2017
    copy_run(source, cwd / "coherent-2017-2p")
    (cwd / "coherent-2017").write_text("this is not a scenario\n")
    before = snapshot(cwd)
    commands = {
        "resume": ("fit", "coherent-2017-2p", "--fast", "--resume", "--quiet", "--json", "--out", "coherent-2017-2p"),
        "rates": ("rates", "coherent-2017-2p"),
        "ambiguous": ("rates", "coherent-2017"),
    }
    started = {name: Started(*args, cwd=cwd, tag=name, log_dir=tmp_path) for name, args in commands.items()}
    done = {name: Finished(run, cwd, TIMEOUT) for name, run in started.items()}

    proc = done["resume"]
    assert_no_traceback(proc)
    assert proc.returncode == 0, describe(proc)
    summary = strict_json(proc.stdout)
    assert summary["scenario"] == "coherent-2017-2p"
    assert summary["log_evidence"] == strict_json(first.stdout)["log_evidence"], "the resumed run is not the finished one"

    proc = done["rates"]  # the normal SM signal, 162.5 events
    assert_no_traceback(proc)
    assert proc.returncode == 0 and proc.stderr == "", describe(proc)
    totals = [line for line in proc.stdout.splitlines() if line.strip().startswith("total")]
    assert len(totals) == 1 and "162.5" in totals[0].split(), describe(proc)

    proc = done["ambiguous"]  # refused in one line that says how to name the file
    assert_one_line_error(proc, "./coherent-2017")
    assert_unchanged(cwd, before, proc)


# --- 4. a killed --force run is never taken as finished --------------------------------------------------------------
def test_item04_killed_force_run_is_not_resumed_as_finished(finished_2p, tmp_path):
    _, source, first = finished_2p
    result_2p = strict_json(first.stdout)
    stale = copy_run(source, tmp_path / "stale")
    # (meanwhile, on another copy: --resume of the finished run with another --tolerance than its own is refused)
    other = copy_run(source, tmp_path / "tolerance")
    other_before = snapshot(other)
    tolerance = Started("fit", "coherent-2017-2p", "--fast", "--resume", "--tolerance", "0.37", "--quiet", "--json",
                        "--out", "tolerance", cwd=tmp_path, tag="tolerance")
    run = Started("fit", "coherent-2017-4p", "--fast", "--force", "--quiet", "--out", "stale", cwd=tmp_path, tag="force")
    time.sleep(3)
    # ~3 s in, or once the 4p run has taken the folder over (its run.json), whichever comes later
    wait_until(lambda: "coherent-2017-4p" in read_or_empty(stale / "run.json") or run.proc.poll() is not None, 30)
    assert run.proc.poll() is None, f"the --force run ended before it could be killed: {run.stderr!r}"
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait()

    before = snapshot(stale)
    proc = cevns("fit", "coherent-2017-4p", "--fast", "--resume", "--seed", "3", "--quiet", "--json", "--out", "stale", cwd=tmp_path)
    assert "coherent-2017-2p" not in proc.stdout, f"--resume printed the old 2p result\n{describe(proc)}"
    if proc.returncode == 2:  # refused: other settings (seed 3 vs 0) or configuration
        assert_one_line_error(proc)
        assert_unchanged(stale, before, proc)
    else:  # or it ran the 4p fit
        assert_no_traceback(proc)
        assert proc.returncode == 0, describe(proc)
        summary = strict_json(proc.stdout)
        assert summary["scenario"] == "coherent-2017-4p"
        assert summary["log_evidence"] != result_2p["log_evidence"]

    # --resume of a finished run with another --tolerance than its own is refused
    proc = Finished(tolerance, tmp_path, TIMEOUT)
    assert_one_line_error(proc)
    assert_unchanged(other, other_before, proc)


# --- 5. the reproduce cache is verified ------------------------------------------------------------------------------
def test_item05_reproduce_cache_is_verified(reproduced_fig2, tmp_path):
    source, _ = reproduced_fig2
    edited, garbage = copy_run(source, tmp_path / "edited"), copy_run(source, tmp_path / "garbage")
    summary_path = edited / "fits-fast" / "coherent-2017-2p" / "summary.json"
    summary = json.loads(summary_path.read_text())
    original = summary["log_evidence"]
    fake = 1234.5
    summary["log_evidence"] = fake
    summary_path.write_text(json.dumps(summary, indent=2))
    (garbage / "fits-fast" / "coherent-2017-2p" / "summary.json").write_bytes(b"\x00garbage{{{ not json")

    # both at once (two cores); the edited one must refit or resume, the garbage one must not crash
    runs = {name: Started("reproduce", "--fast", "--only", "fig2", "--quiet", "--out", name, cwd=tmp_path, tag=name)
            for name in ("edited", "garbage")}
    done = {name: Finished(run, tmp_path, TIMEOUT) for name, run in runs.items()}

    proc = done["edited"]
    assert_no_traceback(proc)
    assert proc.returncode == 0, describe(proc)
    used = json.loads((edited / "provenance.json").read_text())["items"]["fig2"]["fits"]["coherent-2017-2p"]["log_evidence"]
    assert used != fake, "reproduce used the edited (unverified) summary.json"
    assert used == pytest.approx(original, abs=1.0)
    assert summary_log_evidence(edited / "fits-fast" / "coherent-2017-2p") != fake

    proc = done["garbage"]
    assert_no_traceback(proc)
    if proc.returncode == 2:  # a one-line refusal is no crash
        assert_one_line_error(proc)
    else:  # or it refit: a valid summary again
        assert proc.returncode == 0, describe(proc)
        used = json.loads((garbage / "provenance.json").read_text())["items"]["fig2"]["fits"]["coherent-2017-2p"]["log_evidence"]
        assert used == pytest.approx(original, abs=1.0)
        strict_json((garbage / "fits-fast" / "coherent-2017-2p" / "summary.json").read_text())


# --- 6. non-finite numbers -------------------------------------------------------------------------------------------
NONFINITE = {
    "nsi-1e308": ("rates", "coherent-2017", "--nsi", "eps_u_ee=1e308", "--json"),
    "nsi-1e200": ("rates", "coherent-2017", "--nsi", "eps_u_ee=1e200", "--json"),
    "nsi-nan": ("rates", "coherent-2017", "--nsi", "eps_u_ee=nan", "--json"),
    "exposure-inf": ("rates", "exposure-inf.toml", "--json"),
    "reactor-flux-1e308": ("rates", "reactor-flux-1e308.toml", "--json"),
}
NONFINITE_FILES = {
    "exposure-inf.toml": 'base = "coherent-2017"\n[[experiments]]\nname = "COHERENT-CsI"\nexposure_kg_day = inf\n',
    "reactor-flux-1e308.toml": 'base = "future-reactor"\n[sources.reactor]\ntotal_flux_cm2_s = 1e308\n',
}


def _nonfinite_case(case: str):  # noqa: ANN202
    def prepare(cwd: Path) -> tuple[str, ...]:
        for name, text in NONFINITE_FILES.items():
            write_scenario(cwd, name, text)
        return NONFINITE[case]

    return prepare


@pytest.mark.parametrize("case", list(NONFINITE))
def test_item06_nonfinite_values_are_refused(quick, case):
    result = quick(f"06-{case}")
    assert "NaN" not in result.proc.stdout and "Infinity" not in result.proc.stdout, describe(result.proc)
    assert_one_line_error(result.proc)
    result.assert_unchanged()


# --- 7. --json stdout is only JSON ------------------------------------------------------------------------------------
def test_item07_json_stdout_is_only_json(finished_2p, reproduced_fig2, background):
    _, _, fit_proc = finished_2p  # `cevns fit coherent-2017-2p --fast --json --out ...` without --quiet
    assert_no_traceback(fit_proc)
    assert strict_json(fit_proc.stdout)["scenario"] == "coherent-2017-2p"

    _, reproduce_proc = reproduced_fig2  # `cevns reproduce --fast --only fig2 --json --out R` without --quiet
    assert_no_traceback(reproduce_proc)
    assert "fig2" in strict_json(reproduce_proc.stdout)["items"]

    proc = background("ultranest")  # `cevns fit coherent-2017-2p --fast --sampler ultranest --quiet --json --out U`
    assert_no_traceback(proc)
    assert proc.returncode == 0, describe(proc)
    assert strict_json(proc.stdout)["scenario"] == "coherent-2017-2p", describe(proc)


# --- 8. no hangs ------------------------------------------------------------------------------------------------------
def test_item08_bench_nan_seconds_refused_quickly(quick):
    result = quick("08-bench-seconds-nan")  # `cevns bench coherent-2017 --seconds nan`
    assert_one_line_error(result.proc, "--seconds")
    assert result.seconds < 30


def test_item08_tiny_nlive_refused_or_finishes(tmp_path):
    proc = cevns("fit", "future-reactor", "--fast", "--nlive", "5", "--quiet", "--out", "X", cwd=tmp_path, timeout=60)
    if proc.returncode == 2:
        assert_one_line_error(proc)
    else:
        assert_no_traceback(proc)
        assert proc.returncode == 0, describe(proc)


# --- 9. one line, no traceback -----------------------------------------------------------------------------------------
def _case_non_utf8(tmp_path):
    (tmp_path / "latin1.toml").write_bytes(b"name = '\xff'\n")
    return ("rates", "latin1.toml")


def _case_deep_arrays(tmp_path):
    write_scenario(tmp_path, "deep.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    return ("rates", "deep.toml")


def _case_experiments_int(tmp_path):
    write_scenario(tmp_path, "int.toml", 'base = "coherent-2017"\nexperiments = [1]\n')
    return ("rates", "int.toml")


def _case_seed_negative(tmp_path):
    return ("fit", "coherent-2017-2p", "--fast", "--seed", "-1", "--quiet", "--out", "S")


def _case_seed_2_32_ultranest(tmp_path):
    return ("fit", "coherent-2017-2p", "--fast", "--sampler", "ultranest", "--seed", "4294967296", "--quiet", "--out", "S")


def _case_out_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0 and read_only_folder_is_writable(folder):
        pytest.skip("running as root (euid 0): a chmod 0o555 folder is still writable, so it is no read-only --out "
                    "(the --out-below-a-file case covers an unwritable --out)")
    return ("fit", "coherent-2017-2p", "--fast", "--quiet", "--out", "ro")


def _case_out_below_file(tmp_path):
    (tmp_path / "afile").write_text("a regular file\n")
    return ("fit", "coherent-2017-2p", "--fast", "--quiet", "--out", "afile/run")


def _case_plot_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0 and read_only_folder_is_writable(folder):
        pytest.skip("running as root (euid 0): a chmod 0o555 folder is still writable (see plot-below-file)")
    return ("rates", "coherent-2017", "--plot", "ro/spectra.png")


def _case_plot_below_file(tmp_path):
    (tmp_path / "afile").write_text("a regular file\n")
    return ("rates", "coherent-2017", "--plot", "afile/spectra.png")


def _case_plot_onto_folder(tmp_path):
    (tmp_path / "spectra.png").mkdir()
    (tmp_path / "spectra.png" / "keep.txt").write_text("keep me\n")
    return ("rates", "coherent-2017", "--plot", "spectra.png")


def _case_bench_batch_zero(tmp_path):
    return ("bench", "--batch", "0")


def _case_degeneracy_hydrogen(tmp_path):
    return ("degeneracy", "H[1]")


def _case_million_bins(tmp_path):
    write_scenario(tmp_path, "bins.toml", 'base = "coherent-2017"\n[[experiments]]\nname = "COHERENT-CsI"\nbins = 1000000\n')
    return ("rates", "bins.toml")


ONE_LINE_CASES = {
    "non-utf8-toml": _case_non_utf8,
    "deeply-nested-arrays": _case_deep_arrays,
    "experiments-int": _case_experiments_int,
    "seed-negative": _case_seed_negative,
    "seed-2**32-ultranest": _case_seed_2_32_ultranest,
    "out-read-only-folder": _case_out_read_only_folder,
    "out-below-a-file": _case_out_below_file,
    "plot-read-only-folder": _case_plot_read_only_folder,
    "plot-below-a-file": _case_plot_below_file,
    "plot-onto-a-folder": _case_plot_onto_folder,
    "bench-batch-0": _case_bench_batch_zero,
    "degeneracy-H1": _case_degeneracy_hydrogen,
    "bins-1000000": _case_million_bins,
}


@pytest.mark.parametrize("case", list(ONE_LINE_CASES))
def test_item09_one_line_no_traceback(quick, case):
    result = quick(f"09-{case}")
    assert_one_line_error(result.proc)
    result.assert_unchanged()


def test_item09_concurrent_force_fits_second_refused(tmp_path):
    args = ("fit", "future-combined", "--fast", "--sampler", "nautilus", "--force", "--quiet", "--out", "C")
    first = Started(*args, cwd=tmp_path, tag="first")
    try:
        time.sleep(2)
        # make sure the first holds the folder (its run.json is written under the lock)
        assert wait_until(lambda: (tmp_path / "C" / "run.json").exists() or first.proc.poll() is not None, 120), first.stderr
        assert first.proc.poll() is None, f"the first fit ended early: {first.stderr!r}"
        second = cevns(*args, cwd=tmp_path)
        assert first.proc.poll() is None, "the first fit ended before the second was refused (the test could not check)"
        assert_one_line_error(second)
    finally:
        first.kill()  # (how an interrupt ends a fit is item 1)
    assert "Traceback" not in first.stderr, first.stderr


def test_item09_corrupt_weighted_samples_then_resume(finished_2p, tmp_path):
    _, source, first = finished_2p
    folder = copy_run(source, tmp_path / "X")
    (folder / "weighted_samples.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    before = snapshot(folder)
    proc = cevns("fit", "coherent-2017-2p", "--fast", "--resume", "--quiet", "--json", "--out", "X", cwd=tmp_path)
    if proc.returncode == 2:
        assert_one_line_error(proc)
        assert_unchanged(folder, before, proc)
    else:  # it refit or resumed: the folder is a complete run again
        assert_no_traceback(proc)
        assert proc.returncode == 0, describe(proc)
        assert strict_json(proc.stdout)["scenario"] == "coherent-2017-2p"
        import numpy as np

        with np.load(folder / "weighted_samples.npz") as data:
            assert len(data.files) > 0
        assert (folder / "complete.json").exists()


# --- 10. leftovers ----------------------------------------------------------------------------------------------------
def test_item10_failed_validation_leaves_nothing_blocking(tmp_path):
    proc = cevns("fit", "coherent-2017-2p", "--fast", "--nlive", "0", "--quiet", "--out", "N", cwd=tmp_path)
    assert_one_line_error(proc, "--nlive")
    proc = cevns("fit", "coherent-2017-2p", "--fast", "--nlive", "100", "--quiet", "--json", "--out", "N", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 0, describe(proc)
    strict_json(proc.stdout)
    assert temp_files(tmp_path / "N") == []


def test_item10_no_temporary_files_left(finished_2p, reproduced_fig2):
    _, folder, _ = finished_2p
    assert temp_files(folder) == [], "temporary files left in a finished fit folder"
    root, _ = reproduced_fig2
    assert temp_files(root) == [], "temporary files left in a reproduce folder"


# --- 11. silent surprises are refused -------------------------------------------------------------------------------
SURPRISES = {
    "degeneracy-SI": (("degeneracy", "SI"), None),
    "nsi-duplicate": (("rates", "coherent-2017", "--nsi", "eps_u_ee=0.1", "--nsi", "eps_u_ee=0.2"), None),
    "nsi-alias": (("rates", "coherent-2017", "--nsi", "eps_u_emu=0.1", "--nsi", "eps_u_mue=0.2"), None),
    "bins-true": (("rates", "bins.toml"), 'base = "coherent-2017"\n[[experiments]]\nname = "COHERENT-CsI"\nbins = true\n'),
    "threshold-string": (("rates", "threshold.toml"),
                         'base = "coherent-2017"\n[[experiments]]\nname = "COHERENT-CsI"\nthreshold_keV = "10"\n'),
}


def _surprise_case(case: str):  # noqa: ANN202
    def prepare(cwd: Path) -> tuple[str, ...]:
        args, text = SURPRISES[case]
        if text is not None:
            write_scenario(cwd, args[1], text)
        return args

    return prepare


@pytest.mark.parametrize("case", list(SURPRISES))
def test_item11_silent_surprises_refused(quick, case):
    result = quick(f"11-{case}")
    line = assert_one_line_error(result.proc)
    result.assert_unchanged()
    if case == "degeneracy-SI":  # it must suggest Si (beyond the generic list of example formulas)
        specific = line.split("use a chemical formula such as")[0]
        assert re.search(r"\bSi\b", specific), line


# --- the quick one-line commands of items 6, 8, 9 and 11, run two or three at a time -----------------------------
QUICK_CASES = {
    **{f"06-{case}": _nonfinite_case(case) for case in NONFINITE},
    "08-bench-seconds-nan": lambda cwd: ("bench", "coherent-2017", "--seconds", "nan"),
    **{f"09-{case}": prepare for case, prepare in ONE_LINE_CASES.items()},
    **{f"11-{case}": _surprise_case(case) for case in SURPRISES},
}


class QuickResult:
    def __init__(self, cwd: Path, args: tuple[str, ...] | None = None, skip: str | None = None) -> None:
        self.cwd, self.args, self.skip = cwd, args, skip
        self.before = snapshot(cwd)
        self.proc: subprocess.CompletedProcess | None = None
        self.after: dict[str, str] = {}
        self.seconds = 0.0

    def run(self) -> QuickResult:
        start = time.monotonic()
        try:
            self.proc = subprocess.run([*CLI, *self.args], cwd=self.cwd, capture_output=True, text=True, timeout=120,
                                       stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as err:
            self.proc = subprocess.CompletedProcess(err.cmd, -9, err.stdout or "", f"TIMEOUT after 120 s: {err.stderr!r}")
        self.seconds = time.monotonic() - start
        self.after = snapshot(self.cwd)
        for path in [self.cwd, *self.cwd.rglob("*")]:  # undo chmod 0o555 so that pytest can clean up
            if path.is_dir():
                path.chmod(0o755)
        return self

    def assert_unchanged(self) -> None:
        if self.after != self.before:
            added = sorted(set(self.after) - set(self.before))
            removed = sorted(set(self.before) - set(self.after))
            changed = sorted(k for k in set(self.before) & set(self.after) if self.before[k] != self.after[k])
            pytest.fail(f"a refused command changed its folder: added {added}, removed {removed}, changed {changed}\n"
                        f"{describe(self.proc)}")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Run every QUICK_CASES command once (three at a time); returns case -> QuickResult (skips a skipped case)."""
    from concurrent.futures import ThreadPoolExecutor

    results = {}
    for case, prepare in QUICK_CASES.items():
        cwd = tmp_path_factory.mktemp(re.sub(r"[^A-Za-z0-9]+", "-", case))
        try:
            results[case] = QuickResult(cwd, tuple(prepare(cwd)))
        except pytest.skip.Exception as skip:
            results[case] = QuickResult(cwd, skip=str(skip))
            for path in [cwd, *cwd.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(QuickResult.run, [r for r in results.values() if r.skip is None]))

    def get(case: str) -> QuickResult:
        result = results[case]
        if result.skip is not None:
            pytest.skip(result.skip)
        return result

    return get
