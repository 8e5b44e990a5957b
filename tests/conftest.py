import matplotlib

matplotlib.use("Agg")

import pytest


@pytest.fixture(scope="session")
def fast_reproduction(tmp_path_factory):
    """`cevns reproduce --fast --only fig1,fig2,table3` once per session (its fits serve several tests)."""
    from cevns.cli import main

    out = tmp_path_factory.mktemp("results")
    assert main(["reproduce", "--out", str(out), "--fast", "--only", "fig1,fig2,table3", "--quiet"]) == 0
    return out
