"""Robustness of the newer commands: interrupts stop at once, fit folders and task caches are verified.

Same style as tests/test_robustness.py (its helpers are reused). Interrupts: each command runs in its own session
(process group), and Ctrl-C is a SIGINT to that whole group, as a terminal sends it; SIGTERM goes to the command's
process alone, as a batch scheduler or ``kill`` sends it. After either: exit 130 / 143 within seconds (measured
about 1 s, most of it the interpreter's own exit on two loaded cores), one line besides the progress lines, no task or
fit started after the signal, no process of the command left, and every task file that was written verifies.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_robustness import CLI, assert_no_traceback, assert_one_line_error, describe, other_than_progress, snapshot, wait_until

#: Progress lines of `cevns reproduce` (``fits: 4 (...) on 2 process worker(s)``, ``fits: 1/4 done: NAME (log Z ..., ...)``, ``[1/2] fig3: ...``).
REPRODUCE_PROGRESS = re.compile(r"^(fits: |\[\d+/\d+\] )")
#: Seconds a stopped command may take to exit (measured 0.7-1.5 s on the two shared cores, mostly interpreter exit).
STOP_SECONDS = 5.0


class Session:
    """A ``cevns`` command in its own session, its output in files."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.args, self.cwd = args, cwd
        self.err_path = cwd / "stderr.log"
        with open(cwd / "stdout.log", "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([*CLI, *args], cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        self.signalled = 0.0

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def signal(self, signum: int, group: bool) -> None:
        self.signalled = time.time()
        if group:
            os.killpg(self.proc.pid, signum)
        else:
            self.proc.send_signal(signum)

    def wait(self, timeout: float = 120) -> tuple[int, float]:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"`cevns {' '.join(self.args)}` did not end {timeout} s after the signal: {self.stderr[-2000:]!r}")
        return rc, time.time() - self.signalled

    def left(self, timeout: float = 3.0) -> list[str]:
        """Processes of the session still alive ``timeout`` s after the command exited (workers it should have
        stopped), as ``ps`` lines."""

        def alive() -> list[str]:
            pids = subprocess.run(["pgrep", "-s", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
            return [subprocess.run(["ps", "-o", "pid=,args=", "-p", pid], capture_output=True, text=True).stdout.strip()
                    for pid in pids]

        wait_until(lambda: not alive(), timeout)
        return [line for line in alive() if line]

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def written_after(folder: Path, pattern: str, moment: float, grace: float = 0.3) -> list[str]:
    """Files matching ``pattern`` below ``folder`` last written after ``moment`` + ``grace`` seconds."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(pattern) if p.stat().st_mtime > moment + grace)


def assert_task_files_verify(store: Path) -> None:
    from cevns.io import checksum_json

    for path in store.glob("*.json"):
        if path.name.startswith("."):  # a worker killed inside an atomic write leaves its temporary file; never read
            continue
        record = json.loads(path.read_text())
        assert record["sha256"] == checksum_json({"spec": record["spec"], "result": record["result"]}), path


def assert_stopped(run: Session, rc: int, seconds: float, expected_rc: int, line: str) -> None:
    stderr = run.stderr
    assert "Traceback" not in stderr, stderr
    assert rc == expected_rc, f"rc {rc}, stderr {stderr!r}"
    own = [text for text in other_than_progress(stderr) if not REPRODUCE_PROGRESS.match(text)]
    assert own == [line], stderr
    assert seconds < STOP_SECONDS, f"{seconds:.1f} s from the signal to the exit\n{stderr}"
    assert run.left() == [], "processes of the command were left running"


# --- 1. interrupts --------------------------------------------------------------------------------------------------
TOYS = ("toys", "coherent-2017-2p", "--params", "eps_u_ee", "-n", "20000", "--out", "T")  # runs until stopped


@pytest.mark.parametrize("signum, group, workers", [(signal.SIGINT, True, "2"), (signal.SIGTERM, False, "2"),
                                                    (signal.SIGINT, True, "1")],
                         ids=["sigint-group-2-workers", "sigterm-pid-2-workers", "sigint-group-serial"])
def test_toys_stop_at_once_and_start_no_task_after_the_signal(tmp_path, signum, group, workers):
    run = Session(*TOYS, "--workers", workers, cwd=tmp_path)
    store = tmp_path / "T" / "tasks"
    try:
        # the farm is at work: toys are being written
        assert wait_until(lambda: len(list(store.glob("toy-*.json"))) >= 2 or run.proc.poll() is not None, 150), run.stderr
        assert run.proc.poll() is None, f"the toys ended before the signal: {run.stderr!r}"
        run.signal(signum, group)
        rc, seconds = run.wait()
    finally:
        run.kill()
    assert_stopped(run, rc, seconds, 128 + signum, "cevns: interrupted" if signum == signal.SIGINT else "cevns: terminated")
    assert written_after(store, "toy-*.json", run.signalled) == [], "toys were finished after the signal"
    assert len(list(store.glob("toy-*.json"))) < 20000
    assert not (tmp_path / "T" / "toys.json").exists(), "an interrupted run wrote its summary"
    assert_task_files_verify(store)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_reproduce_interrupted_starts_no_new_fit(tmp_path, workers):
    """`cevns reproduce --fast --only fig3,fig4` (4 fits); Ctrl-C once the first fit has started: no other fit starts
    (before: on two workers every queued fit still ran, 2 min 43 s; serially the next fit started at once)."""
    run = Session("reproduce", "--fast", "--only", "fig3,fig4", "--workers", workers, "--out", "R", cwd=tmp_path)
    fits = tmp_path / "R" / "fits-fast"
    try:
        assert wait_until(lambda: any(fits.glob("*/run.json")) or run.proc.poll() is not None, 150, step=0.05), run.stderr
        assert run.proc.poll() is None, f"reproduce ended before the signal: {run.stderr!r}"
        time.sleep(0.5)
        started = sorted(p.parent.name for p in fits.glob("*/run.json"))
        run.signal(signal.SIGINT, group=True)
        rc, seconds = run.wait()
    finally:
        run.kill()
    assert_stopped(run, rc, seconds, 130, "cevns: interrupted")
    after = sorted(p.parent.name for p in fits.glob("*/run.json"))
    assert after == started, f"fits started after the signal: {sorted(set(after) - set(started))}"
    for folder in fits.iterdir():  # a fit that finished before the signal verifies; the others are not complete
        if (folder / "complete.json").exists():
            from cevns.app.runs import completion_problem

            assert completion_problem(folder) is None


def test_a_second_toys_run_into_the_same_folder_is_refused(tmp_path):
    """Two `cevns toys` into one --out (other truths, the same toy keys): the second is refused in one line while the
    first writes, instead of mixing its toys into the first's tasks/."""
    run = Session(*TOYS, cwd=tmp_path)
    try:
        assert wait_until(lambda: any((tmp_path / "T" / "tasks").glob("toy-*.json")) or run.proc.poll() is not None, 150)
        assert run.proc.poll() is None, run.stderr
        second = subprocess.run([*CLI, "toys", "coherent-2017-2p", "--params", "eps_u_ee", "-n", "4", "--truth",
                                 "eps_u_ee=0.1", "--out", "T"], cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert run.proc.poll() is None, "the first run ended before the second was refused (the test could not check)"
        assert_one_line_error(second, "--out", "another cevns process is writing", "wait for it to finish")
    finally:
        run.kill()
    from cevns.io import checksum_json

    for path in (tmp_path / "T" / "tasks").glob("*.json"):  # every toy is the first run's (truth: nominal)
        record = json.loads(path.read_text())
        assert record["spec"]["truth"] == {}, path
        assert record["sha256"] == checksum_json({"spec": record["spec"], "result": record["result"]})


# --- 3. fit folders and task caches are verified before they are trusted ------------------------------------------
@pytest.fixture(scope="module")
def fit_folder(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("fit")
    proc = subprocess.run([*CLI, "fit", "coherent-2017-2p", "--fast", "--quiet", "--json", "--out", "F"], cwd=cwd,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, describe(proc)
    return cwd / "F", json.loads(proc.stdout)


def _copy(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def _edit_summary(folder: Path) -> None:
    summary = json.loads((folder / "summary.json").read_text())
    summary["log_evidence"] = 99.0
    (folder / "summary.json").write_text(json.dumps(summary))


def _edit_samples(folder: Path) -> None:
    lines = (folder / "samples.csv").read_text().splitlines()
    cells = lines[2].split(",")
    cells[0] = "0.9"
    lines[2] = ",".join(cells)
    (folder / "samples.csv").write_text("\n".join(lines) + "\n")


TAMPER = {
    "edited-log-evidence": (_edit_summary, "summary.json"),
    "edited-samples": (_edit_samples, "samples.csv"),
    "no-complete-json": (lambda f: (f / "complete.json").unlink(), "complete.json"),
    "corrupt-complete-json": (lambda f: (f / "complete.json").write_text("{corrupt"), "complete.json"),
    "complete-json-without-files": (lambda f: (f / "complete.json").write_text('{"settings": {}, "files": {}}'), "summary.json"),
    "missing-weighted-samples": (lambda f: (f / "weighted_samples.npz").unlink(), "weighted_samples.npz"),
}


@pytest.mark.parametrize("case", list(TAMPER))
def test_show_and_plot_refuse_an_unverified_fit_folder(fit_folder, tmp_path, case):
    source, _ = fit_folder
    folder = _copy(source, tmp_path / "X")
    tamper, named = TAMPER[case]
    tamper(folder)
    before = snapshot(tmp_path)
    for args in (("show", "X"), ("plot", "X", "--params", "eps_u_ee", "--out", "x.png")):
        proc = subprocess.run([*CLI, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert_one_line_error(proc, "'X' holds no finished fit that verifies", named, "--no-verify")
        assert snapshot(tmp_path) == before, describe(proc)


def test_show_no_verify_reads_an_edited_folder_as_it_is(fit_folder, tmp_path):
    source, summary = fit_folder
    proc = subprocess.run([*CLI, "show", str(source)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, describe(proc)
    assert f"log Z = {summary['log_evidence']:.3f}" in proc.stdout
    folder = _copy(source, tmp_path / "X")
    _edit_summary(folder)
    proc = subprocess.run([*CLI, "show", "X", "--no-verify"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert_no_traceback(proc)
    assert proc.returncode == 0 and "log Z = 99.000" in proc.stdout, describe(proc)


def test_load_verified_fit_raises_the_library_error_with_an_opt_out(fit_folder, tmp_path):
    from cevns import ConfigError
    from cevns.app.runs import load_verified_fit

    source, summary = fit_folder
    assert load_verified_fit(source).log_evidence == summary["log_evidence"]
    folder = _copy(source, tmp_path / "X")
    _edit_summary(folder)
    with pytest.raises(ConfigError, match="summary.json was changed"):
        load_verified_fit(folder)
    assert load_verified_fit(folder, verify=False).log_evidence == 99.0


def test_edited_or_unchecksummed_toy_cache_is_run_again(tmp_path):
    """An edited t = 1234.5 in tasks/toy-000000.json was counted as covered; now the toy is run again, and the
    outputs equal the untampered run's. A task file without a checksum (an older cevns) is run again too."""
    args = ("toys", "coherent-2017-2p", "--params", "eps_u_ee", "-n", "4", "--json", "--out", "T")
    first = subprocess.run([*CLI, *args], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, describe(first)
    store = tmp_path / "T" / "tasks"
    original = {p.name: json.loads(p.read_text()) for p in store.glob("*.json")}
    edited = json.loads((store / "toy-000000.json").read_text())
    edited["result"]["t"] = 1234.5
    (store / "toy-000000.json").write_text(json.dumps(edited))
    unchecked = json.loads((store / "toy-000001.json").read_text())
    del unchecked["sha256"]
    (store / "toy-000001.json").write_text(json.dumps(unchecked))
    second = subprocess.run([*CLI, *args], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, describe(second)
    assert {p.name: json.loads(p.read_text()) for p in store.glob("*.json")} == original
    drop = lambda text: {k: v for k, v in json.loads(text).items() if k != "wall_seconds"}  # noqa: E731
    assert drop(second.stdout) == drop(first.stdout)
    assert_task_files_verify(store)
