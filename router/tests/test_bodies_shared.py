"""`app/bodies.py` (how a bad body is answered) and `tests/hostile_bodies.py` (what the answers
must be) are each one file kept in three services: the copies must not drift apart. This file is
the same in each service's tests."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICE = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("service", ["server", "router", "simulator"])
@pytest.mark.parametrize("shared", ["app/bodies.py", "tests/hostile_bodies.py"])
def test_the_shared_file_is_the_same_in_every_service(service: str, shared: str) -> None:
    mine, theirs = SERVICE / shared, REPO / service / shared

    assert theirs.read_bytes() == mine.read_bytes(), (
        f"{theirs} differs from {mine}: change all three"
    )
