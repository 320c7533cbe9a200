"""Burst debounce in the router: a contact's burst is one turn, one call to the agent with the texts
joined, one reply quoting the last message; the turn is in the store, so a restart after it was
formed answers the same turn once, and a replay answers the whole turn again.

Time is the test's (app/core/clock.py's ManualClock): a job that waits for its burst to end waits
until the test moves time past the window, so nothing here waits a window out for real."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from app.core import clock
from app.core.clock import ManualClock

from ..backends import migrated_postgres
from ..conftest import SERVER_URL, RouterUnderTest, make_settings, running_router, server_reply
from ..graph_api import GraphApi
from ..jobs.test_durability import messages, post
from ..meta import parsed_text, text_message
from ..support import wait_until

BURST = ["I'd like to book a table", "for four people", "tomorrow at 8?"]
WINDOW_MS = 1500


@pytest.fixture(autouse=True)
def manual() -> Iterator[ManualClock]:
    with clock.use(ManualClock()) as manual:
        assert isinstance(manual, ManualClock)
        yield manual


async def window_ends(manual: ManualClock, seconds: float = WINDOW_MS / 1000) -> None:
    """Once a job waits for its contact's burst to end, move time to the end of the window."""
    await wait_until(lambda: manual.sleeping, what="a job waiting for its burst to end")
    await manual.advance(seconds)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, database_url: str) -> str:
    return await migrated_postgres() if request.param == "postgresql" else database_url


async def debounce(router: RouterUnderTest, milliseconds: int | None) -> None:
    [channel] = (await router.admin("GET", "/api/v1/channels")).json()["items"]
    patched = await router.admin(
        "PATCH", f"/api/v1/channels/{channel['id']}", json={"debounce_ms": milliseconds}
    )
    assert patched.status_code == 200, patched.text


def asked(route: respx.Route) -> list[str]:
    return [json.loads(call.request.content)["text"] for call in route.calls]


def sent(graph: GraphApi) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in graph.calls]


def by_wamid(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["wamid"]: m for m in items if m["direction"] == "inbound"}


async def test_a_burst_is_answered_once_as_one_turn(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi, manual: ManualClock
) -> None:
    wamids = [f"wamid.turn.{n}" for n in range(len(BURST))]
    async with running_router(make_settings(**backends)) as router:
        await debounce(router, WINDOW_MS)
        for wamid, text in zip(wamids, BURST, strict=True):
            await post(router, text_message(wamid, text))
        await window_ends(manual)
        await router.settle()
        stored = by_wamid(await messages(router))

    assert asked(server_route) == ["\n".join(BURST)]
    [reply] = sent(graph_route)
    assert reply["context"] == {"message_id": wamids[-1]}
    last = stored[wamids[-1]]
    assert [(stored[w]["status"], stored[w]["turn_id"]) for w in wamids] == [
        ("in_turn", last["id"]),
        ("in_turn", last["id"]),
        ("replied", last["id"]),
    ]


async def test_messages_further_apart_than_the_window_are_turns_of_their_own(
    database: str, server_route: respx.Route, graph_route: GraphApi, manual: ManualClock
) -> None:
    async with running_router(make_settings(database_url=database)) as router:
        await debounce(router, WINDOW_MS)
        await post(router, text_message("wamid.apart.1", "hello"))
        await window_ends(manual)
        await router.settle()
        await manual.advance(0.5)  # the next message comes later than the window after it
        await post(router, text_message("wamid.apart.2", "are you there?"))
        await window_ends(manual)
        await router.settle()

    assert asked(server_route) == ["hello", "are you there?"]
    assert [r["context"]["message_id"] for r in sent(graph_route)] == [
        "wamid.apart.1",
        "wamid.apart.2",
    ]


async def test_a_turn_formed_before_a_restart_is_answered_once_and_later_ones_wait(
    database: str, server_route: respx.Route, graph_route: GraphApi, manual: ManualClock
) -> None:
    settings = make_settings(database_url=database, router_lease_seconds=0.5)
    async with running_router(settings) as router:
        await debounce(router, WINDOW_MS)
        await router.state.sweeper.stop()
        repository = router.repository
        ids = await repository.inbound.store_webhook(
            [parsed_text(f"wamid.formed.{n}", text) for n, text in enumerate(BURST)], [], "r"
        )
        # A job took the first message, waited, wrote the turn, and its router died there.
        claim = await repository.leases.claim(ids[0], 0.5)
        assert claim is not None
        last = await repository.turns.form_turn(claim.message, ids, 0.5)
        assert last is not None
        assert last.message.id == ids[-1]
        assert await repository.turns.form_turn(claim.message, ids, 0.5) is None  # written once
        # Sent after the turn was written: the next turn.
        [later] = await repository.inbound.store_webhook(
            [parsed_text("wamid.formed.3", "and a chair")], [], "r"
        )

    await manual.advance(1)  # the dead router's lease runs out
    async with running_router(settings) as router:
        await window_ends(manual)  # the later message's own turn
        await router.settle()
        stored = by_wamid(await messages(router))

    assert asked(server_route) == ["\n".join(BURST), "and a chair"]
    assert [r["context"]["message_id"] for r in sent(graph_route)] == [
        "wamid.formed.2",
        "wamid.formed.3",
    ]
    assert [stored[f"wamid.formed.{n}"]["turn_id"] for n in range(4)] == [ids[-1]] * 3 + [later]


async def test_a_failed_turn_is_replayed_as_the_whole_turn(
    database: str, mock_http: respx.MockRouter, graph_route: GraphApi, manual: ManualClock
) -> None:
    down = mock_http.post(f"{SERVER_URL}/process").respond(503)
    wamids = [f"wamid.replay.{n}" for n in range(len(BURST))]
    async with running_router(make_settings(database_url=database)) as router:
        await debounce(router, WINDOW_MS)
        for wamid, text in zip(wamids, BURST, strict=True):
            await post(router, text_message(wamid, text))
        await window_ends(manual)
        await router.settle()
        failed = by_wamid(await messages(router))[wamids[-1]]
        assert failed["status"] == "failed"
        down.mock(side_effect=server_reply)
        replay = await router.admin("POST", f"/api/v1/messages/{failed['id']}/retry")
        await router.settle()
        stored = by_wamid(await messages(router))

    assert replay.status_code == 202
    assert set(asked(down)) == {"\n".join(BURST)}
    [reply] = sent(graph_route)
    assert reply["context"] == {"message_id": wamids[-1]}
    assert [stored[w]["status"] for w in wamids] == ["in_turn", "in_turn", "replied"]


async def test_a_conversation_handed_over_during_the_wait_gets_no_reply(
    database: str, server_route: respx.Route, graph_route: GraphApi, manual: ManualClock
) -> None:
    async with running_router(make_settings(database_url=database)) as router:
        await debounce(router, WINDOW_MS)
        await post(router, text_message("wamid.handed.0", "hello"))
        await post(router, text_message("wamid.handed.1", "anyone?"))
        # The first message's job waits for the burst to end.
        await wait_until(lambda: manual.sleeping, timeout=5, what="the job's wait")
        [conversation] = (await router.admin("GET", "/api/v1/conversations")).json()["items"]
        toggled = await router.admin(
            "POST", f"/api/v1/conversations/{conversation['id']}/transfer-toggle"
        )
        await window_ends(manual)
        await router.settle()
        stored = by_wamid(await messages(router))

    assert toggled.json()["detail"] == "switched ownership to human"
    assert server_route.call_count == 0
    assert graph_route.call_count == 0
    # The turn was written as the wait ended: its last message says how it ended.
    assert [stored[f"wamid.handed.{n}"]["status"] for n in range(2)] == ["in_turn", "handed_over"]
