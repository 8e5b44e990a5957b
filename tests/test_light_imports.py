"""A fit imports neither scipy.stats nor scipy.signal (together ~1 s at the start of every fit process): the few
functions it used from them are computed here from scipy.special, and must equal scipy's bit for bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal, stats

from cevns.builders.releases.response import exponnorm_pdf, poisson_cdf
from cevns.inference.density import fft_convolve_same
from cevns.inference.summaries import flat_resolution, peak_prominences


def test_peaks_and_prominences_are_scipys():
    """3000 random arrays of 1-60 samples: Gaussian noise, small integers (runs of equal samples, flat tops) and
    zero-padded absolute values (as modes_1d pads a marginal density)."""
    rng = np.random.default_rng(0)
    for trial in range(3000):
        n = int(rng.integers(1, 60))
        x = rng.integers(0, 5, size=n).astype(float) if trial % 2 else rng.standard_normal(n)
        if trial % 3 == 0:
            x = np.concatenate([[0.0], np.abs(x), [0.0]])
        expected, props = signal.find_peaks(x, prominence=0.0)
        peaks, prominences = peak_prominences(x)
        assert np.array_equal(peaks, expected) and np.array_equal(prominences, props["prominences"]), x


def test_fft_convolution_is_scipys():
    """1-D and 2-D, kernels shorter and longer than the data, odd and even sizes (the 2-D credible regions convolve a
    binned density with a Gaussian kernel this way, cevns.inference.regions)."""
    rng = np.random.default_rng(1)
    for shape_a, shape_k in [((200,), (31,)), ((101,), (400,)), ((128, 128), (41, 41)), ((97, 64), (20, 33)), ((5, 7), (9, 3))]:
        a, kernel = rng.standard_normal(shape_a), rng.uniform(size=shape_k)
        assert np.array_equal(fft_convolve_same(a, kernel), signal.fftconvolve(a, kernel, mode="same"))


def test_poisson_cdf_and_exponnorm_pdf_are_scipys():
    k = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])[:, None]
    mean = np.array([0.0, 0.1, 1.0, 3.0, 7.0, 20.0, 50.0])[None, :]
    assert np.array_equal(poisson_cdf(k, mean), stats.poisson.cdf(k, mean))
    t = np.linspace(-2.0, 20.0, 1001)
    for tau in (0.026, 0.5, 2.2):  # the pion and muon lifetimes (us) and one between
        assert np.array_equal(exponnorm_pdf(t, tau, 0.4, 0.15), stats.exponnorm.pdf(t, tau / 0.15, loc=0.4, scale=0.15))
    for level in (0.68, 0.95):
        assert flat_resolution(level) == pytest.approx(stats.norm.ppf(1 - level / 2) - stats.norm.ppf(1 - level), rel=1e-15)


def test_a_fit_of_a_release_imports_neither(tmp_path):
    """`cevns fit` of the CsI 2021 release (its response matrices, arrival times, a summary with modes and a corner
    figure) in a fresh process: scipy.stats and scipy.signal never imported."""
    script = (
        "import sys\n"
        "from cevns.cli import main\n"
        f"code = main(['fit', 'coherent-csi-2021-2p', '--fast', '--out', {str(tmp_path / 'fit')!r}, '--quiet'])\n"
        "print(code, 'scipy.stats' in sys.modules, 'scipy.signal' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-3:] == ["0", "False", "False"], out.stdout
