"""What a restarted worker finds in the store, and what it makes of it: never a second reply, and
never a message recorded as answered when its reply failed."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import text

from app.core.clock import utcnow
from app.core.engine import create_engine
from app.messages.models import Message
from app.outbound.trackers import TrackerWatch, new_tracker

from ..backends import migrated_postgres
from ..conftest import (
    SERVER_URL,
    RouterUnderTest,
    make_settings,
    running_router,
)
from ..graph_api import STALL, Answer, GraphApi, accepted, meta_error
from ..meta import parsed_text, status_update, text_message
from ..support import wait_until
from .test_durability import messages, post

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
    return name, await migrated_postgres() if name == "postgresql" else database_url


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


async def test_a_worker_dying_after_a_refused_send_never_ends_the_message_replied(
    store: tuple[str, str], graph_route: GraphApi, server_route: respx.Route
) -> None:
    dialect, url = store
    send = graph_route.mock(return_value=meta_error(400, 131047, "Re-engagement message"))
    settings = make_settings(database_url=url, router_resend_wait_seconds=0.1)
    async with running_router(settings) as router, sql(url) as run:
        for statement in REFUSE_FAILED_ENDING[dialect]:
            await run(statement)
        await post(router, text_message("wamid.in.dies", "hi"))
        # The Graph API refuses the reply; the worker dies before the message's end is stored.
        await wait_until(lambda: _job_ran(router, send), interval=0.02)
        for statement in ALLOW_FAILED_ENDING[dialect]:
            await run(statement)
        await router.settle()  # its lease runs out; a worker takes the message up again
        found = {m["direction"]: m for m in await messages(router)}

    assert (found["inbound"]["status"], found["inbound"]["error_code"]) == ("failed", 131047)
    assert (found["outbound"]["status"], found["outbound"]["error_code"]) == ("failed", 131047)


async def _job_ran(router: RouterUnderTest, send: GraphApi) -> bool:
    return send.called and not router.state.queue.busy


async def test_a_resumed_message_whose_part_failed_ends_failed(
    store: tuple[str, str], graph_route: GraphApi, server_route: respx.Route
) -> None:
    _, url = store
    settings = make_settings(database_url=url)
    # What a worker that died between the two writes of an earlier version left behind: the
    # message unfinished, its only part refused by the Graph API.
    async with running_router(settings) as router, sql(url) as run:
        await router.state.sweeper.stop()
        [inbound_id] = await router.repository.inbound.store_webhook(
            [parsed_text("wamid.in.left")], [], "r"
        )
        claim = await router.repository.leases.claim(inbound_id, lease_seconds=0.2)
        assert claim is not None
        [part] = await router.repository.replies.add_replies(claim.message, ["re: hi"], "1.0.t")
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


# --- the crash window: a send the Graph API accepted, a wamid never stored ---------------------


async def crashed_mid_send(router: RouterUnderTest, wamid: str) -> tuple[int, str]:
    """What a router killed while the Graph API answered a send leaves behind: the message claimed,
    its reply stored with the tracker it went out with, no wamid. Returns the message's id and the
    tracker."""
    await router.state.sweeper.stop()
    [inbound_id] = await router.repository.inbound.store_webhook([parsed_text(wamid)], [], "r")
    claim = await router.repository.leases.claim(inbound_id, lease_seconds=0.3)
    assert claim is not None
    tracker = new_tracker(inbound_id, 0)
    await router.repository.replies.add_replies(claim.message, ["re: hi"], tracker)
    return inbound_id, tracker


async def waiting_for_a_status(router: RouterUnderTest, inbound_id: int) -> bool:
    """The resumed job holds the message for the whole wait, well past an ordinary lease."""
    message = await router.repository.reads.get(inbound_id)
    assert message is not None
    held_until = message.lease_until or utcnow()
    return message.status == "processing" and held_until > utcnow() + timedelta(seconds=10)


@pytest.mark.parametrize("arrives", ["before the restart", "while the resumed job waits"])
async def test_a_send_meta_accepted_before_a_crash_is_adopted_not_sent_again(
    backends: dict[str, str], arrives: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = make_settings(**backends, router_resend_wait_seconds=30)
    async with running_router(settings) as router:
        inbound_id, tracker = await crashed_mid_send(router, "wamid.in.crashed")
        if arrives == "before the restart":
            for status in ("sent", "delivered"):
                await post(router, status_update("wamid.out.meta", status, tracker=tracker))

    async with running_router(settings) as router:
        if arrives == "while the resumed job waits":
            await wait_until(lambda: waiting_for_a_status(router, inbound_id), interval=0.02)
            for status in ("sent", "delivered"):
                await post(router, status_update("wamid.out.meta", status, tracker=tracker))
        await router.settle()
        found = {m["direction"]: m for m in await messages(router)}

    assert not graph_route.called
    assert found["inbound"]["status"] == "replied"
    # The statuses that came before the wamid was adopted are applied with it.
    assert (found["outbound"]["wamid"], found["outbound"]["status"]) == (
        "wamid.out.meta",
        "delivered",
    )


async def test_a_send_no_status_webhook_names_is_sent_again_after_the_wait(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = make_settings(database_url=database_url, router_resend_wait_seconds=0.3)
    async with running_router(settings) as router:
        _, tracker = await crashed_mid_send(router, "wamid.in.lost")

    async with running_router(settings) as router:
        await router.settle()
        found = {m["direction"]: m for m in await messages(router)}

    [call] = graph_route.calls
    assert json.loads(call.request.content)["biz_opaque_callback_data"] == tracker
    assert found["inbound"]["status"] == "replied"
    assert (found["outbound"]["wamid"], found["outbound"]["status"]) == ("wamid.sent1", "accepted")


async def test_a_timed_out_send_that_reached_meta_is_not_retried(
    database_url: str, graph_route: GraphApi, server_route: respx.Route
) -> None:
    holder: dict[str, RouterUnderTest] = {}

    async def accepted_then_timed_out(request: httpx.Request) -> Answer:
        if send.call_count > 0:
            return accepted("wamid.out.second")
        # Meta took the message and reported it; its answer to the router never came.
        tracker = json.loads(request.content)["biz_opaque_callback_data"]
        await post(holder["router"], status_update("wamid.out.slow", "sent", tracker=tracker))
        return STALL

    send = graph_route.mock(side_effect=accepted_then_timed_out)
    settings = make_settings(database_url=database_url, whatsapp_send_timeout_seconds=0.5)
    async with running_router(settings) as router:
        holder["router"] = router
        await post(router, text_message("wamid.in.slow", "hi"))
        await router.settle()
        found = {m["direction"]: m for m in await messages(router)}

    assert send.call_count == 1
    assert found["inbound"]["status"] == "replied"
    assert (found["outbound"]["wamid"], found["outbound"]["status"]) == ("wamid.out.slow", "sent")


async def outbound_parts(router: RouterUnderTest) -> list[Message]:
    page = await router.repository.reads.page(
        status=None, direction="outbound", limit=10, before_id=None
    )
    return sorted(page.items, key=lambda m: m.part or 0)


async def test_each_part_is_sent_with_its_own_tracker_stored_before_the_send(
    database_url: str, mock_http: respx.MockRouter, graph_route: GraphApi
) -> None:
    reply = " ".join(["word"] * 1500)  # 7,499 characters: two parts
    mock_http.post(f"{SERVER_URL}/process").mock(
        return_value=httpx.Response(200, json={"original": "hi", "reply": reply})
    )
    holder: dict[str, RouterUnderTest] = {}
    seen: list[tuple[str, dict[str | None, str]]] = []

    async def send(request: httpx.Request) -> httpx.Response:
        tracker = json.loads(request.content)["biz_opaque_callback_data"]
        stored = {part.tracker: part.status for part in await outbound_parts(holder["router"])}
        seen.append((tracker, stored))
        return accepted(f"wamid.out.{len(seen)}")

    graph_route.mock(side_effect=send)
    async with running_router(make_settings(database_url=database_url)) as router:
        holder["router"] = router
        await post(router, text_message("wamid.in.long", "hi"))
        await router.settle()
        parts = await outbound_parts(router)

    assert [part.tracker for part in parts] == [tracker for tracker, _ in seen]
    for part in parts:
        assert part.tracker is not None
        assert part.tracker.startswith(f"{part.reply_to_id}.{part.part}.")
    # Each tracker was in the store, its part still pending, when its send went out.
    assert [stored[tracker] for tracker, stored in seen] == ["pending", "pending"]


async def test_a_replayed_part_is_sent_with_a_new_tracker(
    database_url: str, graph_route: GraphApi, server_route: respx.Route
) -> None:
    send = graph_route.mock(
        side_effect=[
            meta_error(400, 131047, "Re-engagement message"),
            accepted("wamid.out.replayed"),
        ]
    )
    async with running_router(make_settings(database_url=database_url)) as router:
        await post(router, text_message("wamid.in.replayed", "hi"))
        await router.settle()
        [failed] = await messages(router, direction="inbound")
        await router.admin("POST", f"/api/v1/messages/{failed['id']}/retry")
        await router.settle()
        [part] = await outbound_parts(router)

    first, second = (json.loads(c.request.content)["biz_opaque_callback_data"] for c in send.calls)
    # The replay is a new message at Meta: the failed send's statuses must not be taken for it.
    assert first != second
    assert (part.tracker, part.wamid) == (second, "wamid.out.replayed")


async def test_a_status_webhook_keeps_the_tracker_it_carries(router: RouterUnderTest) -> None:
    ours = status_update("wamid.a", "sent", tracker="12.0.abc")
    too_long = status_update("wamid.b", "sent", tracker="x" * 513)
    not_text = status_update("wamid.c", "sent")
    not_text["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = 12

    answers = [await post(router, body) for body in (ours, too_long, not_text)]

    # A tracker that cannot be one of ours costs the status nothing.
    assert [(a.status_code, a.json()["statuses"]) for a in answers] == [(200, 1)] * 3
    found = await router.repository.statuses.wamids_for_trackers(["12.0.abc", "x" * 513, "12"])
    assert found == {"12.0.abc": "wamid.a"}


async def test_waiting_parts_share_one_store_query_per_tick() -> None:
    stored: dict[str, str] = {}
    queries: list[list[str]] = []

    async def find(trackers: Sequence[str]) -> dict[str, str]:
        queries.append(sorted(trackers))
        return {tracker: stored[tracker] for tracker in trackers if tracker in stored}

    watch = TrackerWatch(find, interval=0.02)
    waits = [asyncio.create_task(watch.wamid_for(f"t{i}", 10)) for i in range(2)]
    waits.append(asyncio.create_task(watch.wamid_for("t2", 0.5)))

    async def ticked() -> bool:
        return len(queries) >= 5

    await wait_until(ticked, interval=0.02)
    stored |= {"t0": "wamid.0", "t1": "wamid.1"}

    assert await asyncio.gather(*waits) == ["wamid.0", "wamid.1", None]
    # Each looked once on its own when it began; then one query per tick served them all.
    assert queries[3:5] == [["t0", "t1", "t2"]] * 2
    await watch.aclose()
