"""Process-wide tuning belongs to the process uvicorn serves (`app.main:app`), not to every app a
test builds with `create_app`."""

import gc
import sys
from collections.abc import Iterator

import pytest

from app import main

from ..conftest import make_settings, running_router


@pytest.fixture
def untuned() -> Iterator[None]:
    interval = sys.getswitchinterval()
    gc.unfreeze()  # whatever an earlier test left
    yield
    sys.setswitchinterval(interval)
    gc.unfreeze()


async def test_the_served_app_freezes_start_up_objects_until_it_stops(
    untuned: None, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url=database_url)
    monkeypatch.setattr(main, "load_settings", lambda: settings)
    app = main._served()
    assert sys.getswitchinterval() == pytest.approx(0.0005)

    async with app.router.lifespan_context(app):
        while_running = gc.get_freeze_count()
    after = gc.get_freeze_count()

    # The modules, the app and its routes alone are hundreds of thousands of objects.
    assert while_running > 100_000
    assert after == 0


async def test_an_app_a_test_builds_leaves_the_process_as_it_was(
    untuned: None, database_url: str
) -> None:
    interval = sys.getswitchinterval()
    async with running_router(make_settings(database_url=database_url)):
        assert gc.get_freeze_count() == 0
        assert sys.getswitchinterval() == interval
