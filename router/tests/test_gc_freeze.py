import gc

from .conftest import make_settings, running_router


async def test_start_up_objects_are_out_of_the_collectors_scans_until_the_app_stops(
    database_url: str,
) -> None:
    gc.unfreeze()  # whatever an earlier test left
    async with running_router(make_settings(database_url=database_url)):
        while_running = gc.get_freeze_count()
    after = gc.get_freeze_count()

    # The modules, the app and its routes alone are hundreds of thousands of objects.
    assert while_running > 100_000
    assert after == 0
