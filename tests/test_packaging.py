"""Packaging as the field expects: LICENSE agrees with pyproject, CITATION.cff cites the software, the paper and
every shipped data release, the CHANGELOG has the current version; and (slow) the wheel that ``python -m build``
makes installs in a fresh virtual environment and runs ``cevns reproduce --fast`` outside the repository.

The slow test needs the package registry (pip installs the build backend and the dependencies); run it with
``pytest -m slow tests/test_packaging.py`` (about 5-10 minutes, most of it pip).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from cevns._version import __version__

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "cevns" / "data"


def test_license_file_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
    assert project["version"] == __version__


def test_citation_cites_software_paper_and_every_release():
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "CITATION.cff").read_text()
    citation = yaml.safe_load(text)
    assert citation["cff-version"] == "1.2.0"
    assert citation["version"] == __version__ and citation["license"] == "MIT"
    assert citation["type"] == "software" and citation["authors"]
    ids = [i["value"] for ref in citation["references"] for i in ref.get("identifiers", [])]
    assert "arXiv:1711.03521" in ids  # the paper cevns reproduces
    shipped = sorted(p.name for p in DATA.iterdir() if p.is_dir() and not p.name.startswith("__"))
    assert shipped, "no data folders found"
    missing = [name for name in shipped if f"src/cevns/data/{name}" not in text]
    assert not missing, f"data folders without a reference in CITATION.cff: {missing}"
    for ref in citation["references"]:
        assert ref.get("identifiers") and ref.get("authors"), ref["title"]


def test_changelog_has_the_current_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog")
    assert f"## {__version__}" in text


def _tracked_copy(destination: Path) -> Path:
    """The repository's files as in the working tree (tracked and new, not ignored) copied to ``destination``,
    so the build leaves nothing in the repository."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_environment_and_reproduces(tmp_path):
    pytest.importorskip("build")
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the repository's files")
    source = _tracked_copy(tmp_path / "source")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)], check=True,
                   capture_output=True, timeout=900)
    (wheel,) = dist.glob("cevns-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)
    assert any(n.startswith("cevns/scenarios/") and n.endswith(".toml") for n in names)
    for folder in (p.name for p in DATA.iterdir() if p.is_dir() and not p.name.startswith("__")):
        assert any(n.startswith(f"cevns/data/{folder}/") for n in names), folder
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=1800)
    work = tmp_path / "elsewhere"  # outside the repository: only the installed package is importable
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run([str(environment / "bin" / "cevns"), "reproduce", "--fast", "--out", "results"], cwd=work,
                         env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-2000:]
    for stem in ("fig1", "fig2", "fig8", "table3"):
        assert any((work / "results").glob(f"{stem}.*")), stem
    assert (work / "results" / "report.html").stat().st_size > 0
    located = subprocess.run([str(python), "-c", "import cevns; print(cevns.__file__)"], cwd=work, env=env,
                             capture_output=True, text=True, check=True).stdout
    assert str(environment) in located and str(ROOT) not in located
