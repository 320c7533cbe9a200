"""Files kept the same in the three services: `logs.py` (the request id travels between them),
`bodies.py` (how a bad body is answered), `tests/hostile_bodies.py` (what the answers must be) and
`tests/support.py` (waiting, e2e processes, the metrics scraper). The copies must not drift apart.
This file is the same in each service's tests."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICE = Path(__file__).resolve().parents[1].name
SERVICES = ("server", "router", "simulator")
# Where each service keeps each shared file: the router's tree puts its plumbing in app/core/.
SHARED = {
    "logs": {"server": "app/logs.py", "router": "app/core/logs.py", "simulator": "app/logs.py"},
    "bodies": {
        "server": "app/bodies.py",
        "router": "app/core/bodies.py",
        "simulator": "app/bodies.py",
    },
    "hostile_bodies": dict.fromkeys(SERVICES, "tests/hostile_bodies.py"),
    "support": dict.fromkeys(SERVICES, "tests/support.py"),
}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("shared", sorted(SHARED))
def test_the_shared_file_is_the_same_in_every_service(service: str, shared: str) -> None:
    mine = REPO / SERVICE / SHARED[shared][SERVICE]
    theirs = REPO / service / SHARED[shared][service]

    assert theirs.read_bytes() == mine.read_bytes(), (
        f"{theirs} differs from {mine}: change all three"
    )
