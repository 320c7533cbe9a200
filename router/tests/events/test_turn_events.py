"""Burst debounce's turn ends its earlier messages `in_turn`: each of those ends is a
`message.status` event, as any inbound message's end is, so the inbox shows it live."""

import asyncio
import json
from typing import Any

import respx

from app.events.hub import EventHub

from ..conftest import make_settings, running_router
from ..graph_api import GraphApi
from ..jobs.test_durability import messages, post
from ..meta import text_message

BURST = ["a table for two", "tonight", "at nine?"]
WINDOW_MS = 1500
TENANT = 1


async def test_each_message_a_turn_ends_is_a_status_event(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    wamids = [f"wamid.turn-events.{n}" for n in range(len(BURST))]
    async with running_router(make_settings(database_url=database_url)) as router:
        [channel] = (await router.admin("GET", "/api/v1/channels")).json()["items"]
        patched = await router.admin(
            "PATCH", f"/api/v1/channels/{channel['id']}", json={"debounce_ms": WINDOW_MS}
        )
        assert patched.status_code == 200, patched.text
        hub: EventHub = router.state.events
        async with hub.subscribe(TENANT) as subscription:
            for wamid, text in zip(wamids, BURST, strict=True):
                await post(router, text_message(wamid, text))
            await router.settle()
            stored = {m["wamid"]: m for m in await messages(router)}
            earlier = {stored[w]["id"] for w in wamids[:-1]}

            ended: dict[int, dict[str, Any]] = {}
            async with asyncio.timeout(15):
                while set(ended) != earlier:
                    delivered = await subscription.queue.get()
                    assert delivered is not None, "the subscriber was cut off"
                    event = json.loads(delivered.json)
                    data = event["data"]
                    if event["type"] == "message.status" and data["id"] in earlier:
                        ended[data["id"]] = data

    assert [stored[w]["status"] for w in wamids[:-1]] == ["in_turn", "in_turn"]
    assert {data["status"] for data in ended.values()} == {"in_turn"}
