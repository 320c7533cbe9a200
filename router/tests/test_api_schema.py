"""Schemathesis over `/api/v1`: whatever the OpenAPI allows (and much it does not), the router
answers without a 5xx, with a status code the OpenAPI declares and a body its schema describes.

The router runs in-process: Schemathesis' ASGI transport enters its lifespan on a thread of its own,
and its pytest plugin ends it with the test. The store holds real rows first (signed webhooks, the
Server and the Graph API mocked at the HTTP layer), so the id-taking endpoints find some of what
they ask for.
"""

import asyncio
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case

from app.main import create_app
from app.settings import Settings

from .backends import fresh_postgres
from .conftest import (
    ACCESS_TOKEN,
    ADMIN_KEY,
    APP_SECRET,
    make_settings,
    running_router,
)
from .e2e.graph_standin import GraphStandIn
from .e2e.processes import in_thread
from .graph_api import GraphApi, accepted
from .meta import fixture, signed, text_message

UNDELIVERABLE = "15550009999"  # the Graph API refuses every send to this one for good

# Bounded so `make test` runs it in seconds; each run draws new cases.
MAX_EXAMPLES = 40


def _graph_api() -> Callable[[httpx.Request], httpx.Response]:
    sent = itertools.count(1)

    def send(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("to") == UNDELIVERABLE:
            error = {"message": "Message Undeliverable", "type": "OAuthException", "code": 131026}
            return httpx.Response(400, json={"error": error})
        return accepted(f"wamid.out{next(sent)}")

    return send


async def _seed(settings: Settings) -> None:
    """A failed reply (ids 1 and 2, which Schemathesis tries first), a replied text and an ignored
    image, through signed webhooks."""
    image = fixture("message_image")
    image["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.image"
    bodies = [
        text_message("wamid.lost", "hi", wa_id=UNDELIVERABLE),
        text_message("wamid.hello", "hello"),
        image,
    ]
    graph = GraphApi().mock(side_effect=_graph_api())
    await graph.start()
    async with running_router(settings) as router:
        for payload in bodies:
            body, headers = signed(APP_SECRET, payload)
            response = await router.client.post("/webhook", content=body, headers=headers)
            assert response.status_code == 200
        await router.settle()
    await graph.close()


# The OpenAPI the router serves at /openapi.json. The app it comes from is never started: each
# test hands Schemathesis' ASGI transport a router of its own, on a seeded store. (Loading the
# schema from that router through `schemathesis.pytest.from_fixture` would be shorter, but it does
# not run on pytest 9.2: it sets `Function._nodeid`, which pytest no longer has.)
_described = create_app(make_settings())
schema = schemathesis.openapi.from_dict(_described.openapi()).include(path_regex="^/api/v1/")
schema.app = _described
schema.config.update(headers={"X-API-Key": ADMIN_KEY})


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded_router(
    request: pytest.FixtureRequest,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    tmp_path: Path,
) -> Iterator[FastAPI]:
    """A router, not started yet, on a store holding a failed, a replied and an ignored message."""
    if request.param == "postgresql":
        database_url = asyncio.run(fresh_postgres())
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"
    asyncio.run(_seed(make_settings(database_url=database_url)))
    # Schemathesis runs the app on a thread of its own and stops it only after the test, so its
    # sends (a replay's) get a Graph API of their own on a thread too: never the stand-in the next
    # test serves at GRAPH_URL.
    with in_thread(GraphStandIn(ACCESS_TOKEN).app) as graph_url:
        yield create_app(make_settings(database_url=database_url, whatsapp_graph_api_url=graph_url))


@schema.parametrize()
# One router serves every case of a test: its store carries over from case to case (a replay
# changes it), as it would in production.
@settings(
    max_examples=MAX_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@pytest.mark.timeout(60)  # a few seconds as a rule; the default (120 s) is for the e2e tests
def test_the_management_api_answers_as_its_openapi_says(
    case: Case[Any], seeded_router: FastAPI
) -> None:
    case.call_and_validate(app=seeded_router)
