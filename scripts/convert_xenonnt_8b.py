"""Convert the XENONnT solar-8B CEvNS data release (Zenodo 10.5281/zenodo.20576156, CC-BY-4.0) into the
package's compact copy ``src/cevns/data/xenonnt-8b-2026/templates.npz``.

Reads the release folder (default ``../shared/data/xenonnt-8b-2026``), checks its files against the
SHA-256 digests below (each small file by itself; each template folder by the digest of its sorted
"<name> <sha256>" lines), and writes one compressed npz with, per science run r in sr0, sr1, sr2:

* ``<r>_edges_<k>`` (4,): bin edges of observable k (0 cs2, 1 S2 shadow quantile, 2 S1 BDT, 3 S2 BDT);
* ``<r>_mono`` (46, 7, 7, 81) float32: detection efficiency of a mono-energetic recoil of energy
  MONO_KEV[i] on the (light yield, charge yield) grid GRID_SIGMA x GRID_SIGMA, in the 81 bins (C order
  of the 3 x 3 x 3 x 3 histogram);
* ``<r>_rg`` (7, 7, 81): radiogenic neutrons (events per tonne-year) on the same grid;
* ``<r>_ac``, ``<r>_er`` (81,): accidental coincidences, electronic recoils (events per tonne-year);
* ``<r>_events`` (n, 4): the observed events (the data csv's 4 observables);

and ``mono_keV`` (46,), ``grid_sigma`` (7,). Needs h5py (a development dependency of this script only:
the package reads the npz). Run:  python scripts/convert_xenonnt_8b.py [release_folder]
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

import numpy as np

RUNS = ("sr0", "sr1", "sr2")
MONO_KEV = np.round(np.arange(0.5, 5.0001, 0.1), 3)
GRID_SIGMA = np.arange(-3.0, 3.01, 1.0)
AXES = ("cs2", "s2_shadow_s2_time_shadow", "s1_bdt_score", "s2_bdt_score")
OUT = Path(__file__).resolve().parents[1] / "src" / "cevns" / "data" / "xenonnt-8b-2026" / "templates.npz"

#: SHA-256 of the release's files as read on 2026-12-06 (single files) and of each template folder
#: (sha256 of the sorted lines "<file name> <sha256 of file>\n").
CHECKSUMS = {
    "LICENSE": "9e5f1b3c610b9c2da5c313bf81d577a7d1acec686bdb0384edefa6df0f90cd94",
    "README.md": "f4886dda96ea6ac43aea547b3553cee27484362d37763db33aa07869047f1a74",
    "data/sr0.csv": "12277eb44af10eb7cb1346a2acb05e64b17e30f57e6dfdd90dd6afc3c59ee2b5",
    "data/sr1.csv": "3bfda89ec224837f07af87b5130946071e1826241c861b5ae7e95ffe790d1307",
    "data/sr2.csv": "bc7455a44e6a84f2c8efca38a50353bc71b728f1c70529cffc826fcc8fa40465",
    "binning/sr0.yaml": "a2c12278bbdefaf812bd3aa6b9e25acee10c2178309c26563cfa1d7f08dd2a2d",
    "binning/sr1.yaml": "d87972a3e1a9075a72a2f0b0938c1683769e4313116624fb66c513155fbd1383",
    "binning/sr2.yaml": "54bd9d3b47cab6549a9d705664502e388afa79abd144b3dfb626254304416b94",
    "templates/sr0/ac": "6e9a6ceec5e6c6e5426bde489a197757510c19ec9424877e69f75b676918fff9",
    "templates/sr0/er": "f7fc84fdf823c40b98b8a3919a601f077ec3def757a056fdfa36a910b0fe7d35",
    "templates/sr0/rg": "75b3ecfc781a96c28b27f7847815d626370b6959e2d77aa3eba586aca0add76a",
    "templates/sr0/mono": "0a216445a76da4a83bfb7bb4f15b9e266166190132accf39f9031bdf9067a47f",
    "templates/sr1/ac": "64a1bf3bde179048f980036dbf942c58585a8c69fb0ae92726fff6753e09fcf0",
    "templates/sr1/er": "a045a167db3263aada96fdc65b46a5eeed5c2c785981c85cc1564cf574969adc",
    "templates/sr1/rg": "fa92f1f0c72b5ae0761e0e78d9764f93ea38dff6d29433f087d3cfb8f37647d4",
    "templates/sr1/mono": "b8957d4291d066f9e43aa9d3359d81c26f8e432bf1a24ee832bfd699bfde44d9",
    "templates/sr2/ac": "6a38f3f1128ff92273aa2a104c6313d80c879dc9059186baf4b8a849779653b6",
    "templates/sr2/er": "dfd0fe23ca0e3457c896ac298a8e59a9edb5be05e477fdea39be634e77c6f0ff",
    "templates/sr2/rg": "901a0750d848ec07712a138e50725439219e9d83b38f7264561d63a3414c7cad",
    "templates/sr2/mono": "637fa4c6cf643ed69fc2f57682ea6e50e33706cf4388fdd469948db861719c2b",
}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sha256_folder(path: Path) -> str:
    lines = "".join(f"{p.name} {sha256_file(p)}\n" for p in sorted(path.iterdir()) if p.is_file())
    return hashlib.sha256(lines.encode()).hexdigest()


def digest(release: Path, key: str) -> str:
    path = release / key
    return sha256_folder(path) if path.is_dir() else sha256_file(path)


def verify(release: Path) -> None:
    """Every listed file or folder must exist and have the listed digest."""
    missing = [key for key in CHECKSUMS if not (release / key).exists()]
    if missing:
        raise SystemExit(f"{release} lacks {', '.join(missing)}")
    bad = [key for key, expected in CHECKSUMS.items() if digest(release, key) != expected]
    if bad:
        raise SystemExit(f"checksum mismatch in {release}: {', '.join(bad)} (not the release this script was written for)")


def read_template(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    import h5py

    with h5py.File(path, "r") as f:
        names = [f["bins"][str(k)].attrs["name"] for k in range(4)]
        if [str(n) for n in names] != list(AXES):
            raise SystemExit(f"{path}: axes {names}, expected {AXES}")
        histogram = np.asarray(f["templates"]["template"][()], dtype=float)
        edges = [np.asarray(f["bins"][str(k)][()], dtype=float) for k in range(4)]
    if histogram.shape != (3, 3, 3, 3) or not np.all(np.isfinite(histogram)) or np.any(histogram < 0):
        raise SystemExit(f"{path}: not a finite non-negative (3, 3, 3, 3) histogram")
    return histogram.ravel(), edges


def read_yaml_edges(path: Path) -> list[np.ndarray]:
    """The four edge lists of a binning yaml (plain 'name:' / '- value' lines)."""
    edges: dict[str, list[float]] = {}
    key = None
    for line in path.read_text().splitlines():
        if line.strip().startswith("- "):
            edges[key].append(float(line.strip()[2:]))
        elif line.strip().endswith(":"):
            key = line.strip()[:-1]
            edges[key] = []
    names = ["cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score"]
    return [np.array(edges[n]) for n in names]


def read_events(path: Path) -> np.ndarray:
    with path.open() as f:
        rows = list(csv.reader(f))
    header = rows[0][1:]
    if header != ["cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score"]:
        raise SystemExit(f"{path}: unexpected columns {header}")
    return np.array([[float(x) for x in row[1:]] for row in rows[1:]])


def grid_name(value: float) -> str:
    return f"{value:.1f}"


def convert(release: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"mono_keV": MONO_KEV, "grid_sigma": GRID_SIGMA}
    for run in RUNS:
        folder = release / "templates" / run
        yaml_edges = read_yaml_edges(release / "binning" / f"{run}.yaml")
        ac, edges = read_template(folder / "ac" / f"template_XENONnT_{run}_ac_cevns.h5")
        for k in range(4):
            if not np.allclose(edges[k], yaml_edges[k], rtol=1e-9, atol=1e-9):
                raise SystemExit(f"{run}: template edges of axis {k} differ from the binning yaml")
            out[f"{run}_edges_{k}"] = edges[k]
        out[f"{run}_ac"] = ac
        out[f"{run}_er"] = read_template(folder / "er" / f"template_XENONnT_{run}_er_cevns.h5")[0]
        rg = np.zeros((7, 7, 81))
        mono = np.zeros((MONO_KEV.size, 7, 7, 81), dtype=np.float32)
        for a, tly in enumerate(GRID_SIGMA):
            for b, tqy in enumerate(GRID_SIGMA):
                tag = f"tly_{grid_name(tly)}_tqy_{grid_name(tqy)}"
                rg[a, b] = read_template(folder / "rg" / f"template_XENONnT_{run}_rg_cevns_{tag}.h5")[0]
                for i, energy in enumerate(MONO_KEV):
                    mono[i, a, b] = read_template(folder / "mono" / f"template_XENONnT_{run}_mono_{energy:.3f}_cevns_{tag}.h5")[0]
        out[f"{run}_rg"] = rg
        out[f"{run}_mono"] = mono
        out[f"{run}_events"] = read_events(release / "data" / f"{run}.csv")
    return out


def main(argv: list[str]) -> None:
    release = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data" / "xenonnt-8b-2026"
    if "--print-checksums" in argv:
        for key in CHECKSUMS:
            print(f'    "{key}": "{digest(release, key)}",')
        return
    verify(release)
    out = convert(release)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv)
