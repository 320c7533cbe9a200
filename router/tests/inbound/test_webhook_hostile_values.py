"""Values JSON can carry and a database cannot: read into storable ones or skipped, on SQLite and
PostgreSQL alike, and never at the cost of the body's valid messages."""

import asyncio
import json
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import text

from app.core.engine import create_engine

from ..conftest import APP_SECRET, RouterUnderTest, make_settings, running_router
from ..graph_api import GraphApi
from ..meta import batch, fixture, signed, text_message

STORES = pytest.mark.parametrize("backends", ["sqlite/memory", "postgresql/memory"], indirect=True)


async def post(router: RouterUnderTest, payload: Any) -> httpx.Response:
    body, headers = signed(APP_SECRET, payload)
    return await router.client.post("/webhook", content=body, headers=headers)


def value(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return found


def status_body(wamid: str, **fields: Any) -> dict[str, Any]:
    body = fixture("status_failed_130472")
    status = value(body)["statuses"][0]
    status["id"] = wamid
    status.update(fields)
    return body


async def stored(router: RouterUnderTest) -> list[dict[str, Any]]:
    response = await router.admin("GET", "/api/v1/messages", params={"limit": 100})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def replies(route: GraphApi) -> list[str]:
    return [json.loads(call.request.content)["text"]["body"] for call in route.calls]


@STORES
async def test_hostile_values_beside_valid_messages(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    long_wamid = text_message("wamid." + "x" * 10_000, "long id")
    bad_from = text_message("wamid.from", "bad sender", wa_id="1555/../x")
    bad_number = text_message("wamid.number", "bad number")
    value(bad_number)["metadata"]["phone_number_id"] = "1/../../x?y"
    huge_code = status_body("wamid.unknown", errors=[{"code": 2**64, "title": "t\ud800"}])
    long_status = status_body("wamid." + "s" * 10_000)
    body = batch(
        text_message("wamid.valid", "valid"),
        text_message("wamid.surrogate", "x\ud800", wa_id="15550000001"),
        text_message("wamid.nul", "a\x00b", wa_id="15550000002"),
        long_wamid,
        bad_from,
        bad_number,
        huge_code,
        long_status,
    )
    value(body)["contacts"][0]["profile"]["name"] = "n\ud800" * 10_000

    async with running_router(make_settings(**backends)) as router:
        response = await post(router, body)
        await router.settle()
        rows = await stored(router)
        valid = await router.repository.reads.get(
            next(r["id"] for r in rows if r["wamid"] == "wamid.valid")
        )

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "messages": 3,
        "duplicates": 0,
        "statuses": 1,
        "skipped": 4,
    }
    assert sorted(replies(graph_route)) == sorted(
        f"I received your message: '{text}' and here is a random number: 7"
        for text in ["valid", "x\ufffd", "a\ufffdb"]
    )
    inbound = {row["wamid"]: row for row in rows if row["direction"] == "inbound"}
    assert set(inbound) == {"wamid.valid", "wamid.surrogate", "wamid.nul"}
    assert {row["status"] for row in rows} == {"replied", "accepted"}
    assert valid is not None
    assert valid.contact_name == "n\ufffd" * 127 + "n"


@STORES
async def test_a_lone_surrogate_sent_as_raw_bytes_is_answered(
    backends: dict[str, str], server_route: respx.Route, graph_route: GraphApi
) -> None:
    # ED A0 80 is U+D800 encoded as if it were UTF-8; Python's json reads it as a lone surrogate.
    raw = json.dumps(text_message("wamid.raw", "x@@")).encode().replace(b"@@", b"\xed\xa0\x80")

    async with running_router(make_settings(**backends)) as router:
        response = await post(router, raw)
        await router.settle()

    assert response.status_code == 200
    assert response.json()["messages"] == 1
    assert json.loads(server_route.calls.last.request.content) == {"text": "x\ufffd"}
    assert graph_route.call_count == 1


@pytest.mark.parametrize(
    ("key", "wrong"), [("messages", 5), ("messages", True), ("statuses", 1.5), ("contacts", 7)]
)
async def test_items_of_the_wrong_type_are_skipped_never_a_5xx(
    router: RouterUnderTest, graph_route: GraphApi, key: str, wrong: Any
) -> None:
    broken = text_message("wamid.broken", "broken")
    value(broken)[key] = wrong

    response = await post(router, batch(text_message("wamid.fine", "fine"), broken))
    await router.settle()

    assert response.status_code == 200
    assert graph_route.call_count == (1 if key == "messages" else 2)


async def test_a_status_with_errors_of_the_wrong_type_is_skipped(router: RouterUnderTest) -> None:
    response = await post(router, status_body("wamid.x", errors=5))

    assert response.status_code == 200
    assert response.json()["skipped"] == 1


async def test_a_body_the_store_still_refuses_is_a_422_for_it_alone(
    database_url: str, server_route: respx.Route, graph_route: GraphApi
) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        # Stands for a value the reader let through and the database refuses.
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.text = 'refuse me'"
                    " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
                )
            )
        await engine.dispose()
        bodies = [
            text_message(f"wamid.n{i}", f"fine {i}", wa_id=f"1555000{i:04d}") for i in range(10)
        ]
        bodies.insert(5, text_message("wamid.refused", "refuse me", wa_id="15559999999"))

        responses = await asyncio.gather(*(post(router, body) for body in bodies))
        await router.settle()

    assert [r.status_code for r in responses] == [200] * 5 + [422] + [200] * 5
    assert responses[5].json()["error"] == {
        "code": "invalid_shape",
        "message": "the body holds a value the store refuses",
    }
    assert graph_route.call_count == 10


async def test_an_unreachable_store_is_a_503_so_meta_delivers_again(
    server_route: respx.Route, graph_route: GraphApi
) -> None:
    settings = make_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:9/nothing",
        router_migrate_on_start=False,
    )
    async with running_router(settings) as router:
        response = await post(router, text_message("wamid.down", "hello"))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "store_unavailable"
