"""What a restarted worker finds in the store, and what it makes of it: never a second reply, and
never a message recorded as answered when its reply failed."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import respx
from sqlalchemy import text

from app.payload import InboundMessage
from app.store.engine import create_engine

from .backends import fresh_postgres
from .conftest import MESSAGES_URL, RouterUnderTest, make_settings, running_router
from .meta import PHONE_NUMBER_ID, WA_ID, text_message
from .test_durability import messages, meta_error, post

# A database that refuses to end an inbound message as failed: the worker that tried dies there.
REFUSE_FAILED_ENDING = {
    "sqlite": [
        "CREATE TRIGGER refuse_failed_ending BEFORE UPDATE OF status ON messages"
        " WHEN NEW.direction = 'inbound' AND NEW.status = 'failed'"
        " BEGIN SELECT RAISE(ABORT, 'the worker died here'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_failed_ending() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'the worker died here'; END $$",
        "CREATE TRIGGER refuse_failed_ending BEFORE UPDATE ON messages FOR EACH ROW"
        " WHEN (NEW.direction = 'inbound' AND NEW.status = 'failed')"
        " EXECUTE FUNCTION refuse_failed_ending()",
    ],
}
ALLOW_FAILED_ENDING = {
    "sqlite": ["DROP TRIGGER refuse_failed_ending"],
    "postgresql": [
        "DROP TRIGGER refuse_failed_ending ON messages",
        "DROP FUNCTION refuse_failed_ending()",
    ],
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, database_url: str) -> tuple[str, str]:
    name: str = request.param
    return name, await fresh_postgres() if name == "postgresql" else database_url


@asynccontextmanager
async def sql(url: str) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """Statements run on the router's database from outside the router."""
    engine = create_engine(url)

    async def run(statement: str, **params: Any) -> None:
        async with engine.begin() as connection:
            await connection.execute(text(statement), params)

    try:
        yield run
    finally:
        await engine.dispose()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


def inbound(wamid: str, text: str = "hi") -> InboundMessage:
    return InboundMessage(
        wamid=wamid,
        type="text",
        phone_number_id=PHONE_NUMBER_ID,
        wa_id=WA_ID,
        user_id=None,
        name=None,
        text=text,
        timestamp=None,
    )


async def test_a_worker_dying_after_a_refused_send_never_ends_the_message_replied(
    store: tuple[str, str], mock_http: respx.MockRouter, server_route: respx.Route
) -> None:
    dialect, url = store
    send = mock_http.post(MESSAGES_URL).mock(
        return_value=meta_error(400, 131047, "Re-engagement message")
    )
    settings = make_settings(database_url=url)
    async with running_router(settings) as router, sql(url) as run:
        for statement in REFUSE_FAILED_ENDING[dialect]:
            await run(statement)
        await post(router, text_message("wamid.in.dies", "hi"))
        # The Graph API refuses the reply; the worker dies before the message's end is stored.
        await wait_until(lambda: _job_ran(router, send))
        for statement in ALLOW_FAILED_ENDING[dialect]:
            await run(statement)
        await router.settle()  # its lease runs out; a worker takes the message up again
        found = {m["direction"]: m for m in await messages(router)}

    assert (found["inbound"]["status"], found["inbound"]["error_code"]) == ("failed", 131047)
    assert (found["outbound"]["status"], found["outbound"]["error_code"]) == ("failed", 131047)


async def _job_ran(router: RouterUnderTest, send: respx.Route) -> bool:
    return send.called and not router.state["queue"].busy


async def test_a_resumed_message_whose_part_failed_ends_failed(
    store: tuple[str, str], graph_route: respx.Route, server_route: respx.Route
) -> None:
    _, url = store
    settings = make_settings(database_url=url)
    # What a worker that died between the two writes of an earlier version left behind: the
    # message unfinished, its only part refused by the Graph API.
    async with running_router(settings) as router, sql(url) as run:
        await router.state["sweeper"].stop()
        [inbound_id] = await router.repository.store_webhook([inbound("wamid.in.left")], [], "r")
        claim = await router.repository.claim(inbound_id, lease_seconds=0.2)
        assert claim is not None
        [part] = await router.repository.add_replies(claim.message, ["re: hi"])
        await run(
            "UPDATE messages SET status = 'failed', error_code = 131047,"
            " error_title = 'Re-engagement message' WHERE id = :id",
            id=part.id,
        )

    async with running_router(settings) as router:
        await router.settle()
        [message] = await messages(router, direction="inbound")

    assert (message["status"], message["error_code"]) == ("failed", 131047)
    assert not graph_route.called
