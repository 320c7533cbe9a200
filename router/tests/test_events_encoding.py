"""How events are written. An event's JSON is made by hand around its object's
(app/events/service.py `envelope`, so an object with several events in one read is encoded
once): it must be what the `Event` model
writes, byte for byte, for every type. The SSE stream is written by the endpoint itself (a
chunk per batch of events), with FastAPI's headers and keep-alive comment."""

import asyncio
import json

import httpx
import pytest
import respx

from app.events import endpoints
from app.events.hub import EventHub
from app.events.schemas import Event, EventType

from .conftest import make_settings, running_router
from .graph_api import GraphApi
from .meta import text_message
from .test_durability import post
from .test_events import OPERATOR, served

TENANT = 1


async def test_every_event_is_written_as_the_event_model_writes_it(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        await post(router, text_message("wamid.encoding.1", 'héllo \u2028 "quoted"'))
        await router.settle()
        [contact] = (await router.admin("GET", "/api/v1/contacts")).json()["items"]
        edited = await router.admin(
            "PATCH", f"/api/v1/contacts/{contact['id']}", json={"name": "Renamed \u00e9"}
        )
        assert edited.status_code == 200, edited.text
        [conversation] = (await router.admin("GET", "/api/v1/conversations")).json()["items"]
        closed = await router.admin("POST", f"/api/v1/conversations/{conversation['id']}/close")
        assert closed.status_code == 200, closed.text
        hub: EventHub = router.state["events"]
        events = await hub.replay(TENANT, 0, 500)
        # The objects as the API returns them, now: the events read after the last change
        # carry the same.
        api_conversation = (
            await router.admin("GET", f"/api/v1/conversations/{conversation['id']}")
        ).json()
        api_messages = (
            await router.admin("GET", f"/api/v1/conversations/{conversation['id']}/messages")
        ).json()["items"]

    assert {e.type for e in events} == {t.value for t in EventType}
    ids = [e.id for e in events]
    assert ids == sorted(set(ids))
    for delivered in events:
        assert Event.model_validate_json(delivered.json).model_dump_json() == delivered.json
    data = [json.loads(e.json)["data"] for e in events]
    conversations = [d for e, d in zip(events, data, strict=True) if e.type.startswith("conv")]
    messages = {d["id"]: d for e, d in zip(events, data, strict=True) if e.type.startswith("mess")}
    assert conversations[-1] == api_conversation
    assert messages == {m["id"]: m for m in api_messages}


async def test_an_idle_stream_gets_a_keep_alive_comment(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "PING_SECONDS", 0.2)
    with served(database_url) as url:
        async with (
            httpx.AsyncClient(base_url=url, timeout=10) as client,
            asyncio.timeout(10),
            client.stream("GET", "/api/v1/events", headers=OPERATOR) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            async for line in response.aiter_lines():
                if line == ": ping":
                    break
