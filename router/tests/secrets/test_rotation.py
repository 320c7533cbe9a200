"""Replacing the key: restarted with `new,old`, rotated, restarted with `new` alone, every number
still sends; a key ring that reads none of the stored secrets does not start, and changes nothing.
On SQLite and PostgreSQL."""

import asyncio
import os
import subprocess
import sys

import pytest
import respx

from app.core.engine import create_engine
from app.secrets.keyring import KeyRing
from app.secrets.start import SecretsUnreadable
from app.secrets.stored import census, rotate
from app.settings import ROUTER_ROOT

from ..conftest import running_router
from ..graph_api import GraphApi
from .conftest import (
    LLM_KEY,
    SALES,
    SUPPORT,
    TOKENS,
    every_number_sends,
    keyed,
    new_key,
    set_up_numbers,
    stored_rows,
    write,
)


def rotate_keys(database_url: str, keys: str) -> subprocess.CompletedProcess[str]:
    """`python -m app.secrets rotate`, as `make rotate-keys` runs it."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ROUTER_ENCRYPTION_KEYS": keys,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.secrets", "rotate", "--batch-size", "2"],
        cwd=ROUTER_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_new_old_then_rotated_then_new_alone_every_number_still_sends(
    store: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    graph_route: GraphApi,
    llm_route: respx.Route,
) -> None:
    old, new = new_key(), new_key()
    async with running_router(keyed(store, old)) as router:
        await set_up_numbers(router, mock_http)
        await every_number_sends(router, graph_route, llm_route, "old")

    async with running_router(keyed(store, f"{new},{old}")) as router:
        await every_number_sends(router, graph_route, llm_route, "both")

    rotated = rotate_keys(store, f"{new},{old}")
    again = rotate_keys(store, f"{new},{old}")

    assert rotated.returncode == 0, rotated.stderr
    # The env's number was written again at the start with `new,old`: already under the new key.
    # SALES's and SUPPORT's tokens, and the agent's key, were not.
    assert "rotated: 3 rows changed (a key ring of 2)" in rotated.stdout
    assert "channels.access_token: 3 rows read, 2 re-encrypted" in rotated.stdout
    assert "agents.config.api_key: 4 rows read, 1 re-encrypted" in rotated.stdout
    assert (again.returncode, again.stderr) == (0, "")
    assert "rotated: 0 rows changed" in again.stdout
    for secret in (*TOKENS.values(), LLM_KEY, new, old):
        assert secret not in rotated.stdout + rotated.stderr
    async with running_router(keyed(store, new)) as router:
        await every_number_sends(router, graph_route, llm_route, "new")


async def test_an_unrelated_key_alone_is_refused_naming_the_setting_and_nothing_changes(
    store: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    graph_route: GraphApi,
    llm_route: respx.Route,
) -> None:
    old, unrelated = new_key(), new_key()
    async with running_router(keyed(store, old)) as router:
        await set_up_numbers(router, mock_http)
    before = await stored_rows(store)

    with pytest.raises(SecretsUnreadable) as refused:
        async with running_router(keyed(store, unrelated)):
            pass

    message = str(refused.value)
    assert "ROUTER_ENCRYPTION_KEYS" in message
    assert "4 of the 4 secrets" in message  # three numbers' tokens and the agent's key
    for secret in (old, unrelated, *TOKENS.values(), LLM_KEY):
        assert secret not in message
    assert await stored_rows(store) == before
    # Nothing lost: the right key still reads every one.
    async with running_router(keyed(store, old)) as router:
        await every_number_sends(router, graph_route, llm_route, "after")


async def test_a_key_file_that_reads_nothing_is_refused_naming_the_setting(
    store: str, mock_http: respx.MockRouter
) -> None:
    key = new_key()
    async with running_router(keyed(store, key)) as router:
        await set_up_numbers(router, mock_http)

    # Without the setting: the key file, here a new one, which encrypted none of them.
    with pytest.raises(SecretsUnreadable, match="ROUTER_ENCRYPTION_KEYS is not set, and the key"):
        async with running_router(keyed(store, None)):
            pass


async def test_the_rotation_runs_while_a_router_serves(
    store: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    graph_route: GraphApi,
    llm_route: respx.Route,
) -> None:
    old, new = new_key(), new_key()
    async with running_router(keyed(store, old)) as router:
        await set_up_numbers(router, mock_http)
    engine = create_engine(store)
    # Channels read from the store for every message: each read meets rows mid-rotation.
    settings = keyed(store, f"{new},{old}", router_channel_cache_seconds=0)
    try:
        async with running_router(settings) as router:
            graph_route.calls.clear()

            async def serve() -> None:
                for index in range(12):
                    await write(router, (SALES, SUPPORT)[index % 2], f"wamid.during.{index}")

            rotating = rotate(engine, KeyRing.from_text(f"{new},{old}"), batch_size=1)
            done, _ = await asyncio.gather(rotating, serve())
            await router.settle()
            sent = [c.request.headers["authorization"] for c in graph_route.calls]

        counted = await census(engine, KeyRing.from_text(new))
    finally:
        await engine.dispose()
    assert sorted(sent) == sorted(
        [f"Bearer {TOKENS[SALES]}"] * 6 + [f"Bearer {TOKENS[SUPPORT]}"] * 6
    )
    assert sum(r.changed for r in done) == 3  # SALES, SUPPORT and the agent's key
    assert all(c.unreadable == 0 and c.in_clear == 0 for c in counted)
    assert sum(c.encrypted for c in counted) == 4


async def test_the_served_app_refuses_with_the_message_alone(
    store: str, mock_http: respx.MockRouter
) -> None:
    old, unrelated = new_key(), new_key()
    async with running_router(keyed(store, old)) as router:
        await set_up_numbers(router, mock_http)
    environment = {
        **os.environ,
        "DATABASE_URL": store,
        "ROUTER_ENCRYPTION_KEYS": unrelated,
        "WHATSAPP_PHONE_NUMBER_ID": SALES,
        "WHATSAPP_ACCESS_TOKEN": "served-token",
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "served-verify",
        "WHATSAPP_APP_SECRET": "served-secret",
    }

    # What `uvicorn app.main:app` does first: take `app` from the module.
    served = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from app.main import app"],
        cwd=ROUTER_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert served.returncode == 2, served.stderr
    assert "ROUTER_ENCRYPTION_KEYS" in served.stderr
    assert "Traceback" not in served.stderr + served.stdout
    for secret in (old, unrelated, *TOKENS.values(), LLM_KEY):
        assert secret not in served.stderr + served.stdout
