"""`app/http_metrics.py` is one file kept in the Server and the simulator: the copies must not
drift apart. This file is the same in both services' tests."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINE = Path(__file__).resolve().parents[1] / "app" / "http_metrics.py"


@pytest.mark.parametrize("service", ["server", "simulator"])
def test_http_metrics_py_is_the_same_in_every_service(service: str) -> None:
    theirs = REPO / service / "app" / "http_metrics.py"

    assert theirs.read_bytes() == MINE.read_bytes(), f"{theirs} differs from {MINE}: change both"
