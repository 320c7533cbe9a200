"""`app/logs.py` is one file kept in three services (the request id travels between them): the
copies must not drift apart again. This file is the same in each service's tests."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINE = Path(__file__).resolve().parents[1] / "app" / "logs.py"


@pytest.mark.parametrize("service", ["server", "router", "simulator"])
def test_logs_py_is_the_same_in_every_service(service: str) -> None:
    theirs = REPO / service / "app" / "logs.py"

    assert theirs.read_bytes() == MINE.read_bytes(), (
        f"{theirs} differs from {MINE}: change all three"
    )
