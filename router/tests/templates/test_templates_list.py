"""`GET /api/v1/templates?channel_id=`: the number's approved templates, from its WhatsApp Business
Account through PyWA (the Graph API answered by a real local server), kept per channel."""

from typing import Any

import httpx

from ..conftest import ACCESS_TOKEN, GRAPH_VERSION, RouterUnderTest
from ..graph_api import GraphApi, meta_error
from ..jobs.test_durability import post
from ..meta import text_message

WABA = "1234567890987654321"  # the fixtures' entry[].id: a webhook teaches the channel its WABA
HELLO = {
    "id": "1001",
    "name": "hello_world",
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
        {"type": "BODY", "text": "Welcome!"},
    ],
}


def template(name: str, status: str = "APPROVED") -> dict[str, Any]:
    return {**HELLO, "id": name, "name": name, "status": status}


def page(items: list[dict[str, Any]], after: str | None = None) -> httpx.Response:
    paging: dict[str, Any] = {"cursors": {"before": "b", "after": after or "end"}}
    if after:
        paging["next"] = f"https://graph.example/next?after={after}"
    return httpx.Response(200, json={"data": items, "paging": paging})


async def default_channel(router: RouterUnderTest) -> int:
    channels = (await router.admin("GET", "/api/v1/channels")).json()["items"]
    return int(channels[0]["id"])


async def listed(router: RouterUnderTest, channel_id: int, **query: Any) -> httpx.Response:
    return await router.admin(
        "GET", "/api/v1/templates", params={"channel_id": channel_id, **query}
    )


async def learned_waba(router: RouterUnderTest) -> int:
    await post(router, text_message("wamid.in.1", "hello"))
    await router.settle()
    return await default_channel(router)


async def test_the_channels_approved_templates_are_listed(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    channel_id = await learned_waba(router)
    graph_route.mock(side_effect=[page([HELLO, template("old_offer", "PAUSED")])])

    response = await listed(router, channel_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["channel_id"], body["waba_id"], body["cached"]) == (channel_id, WABA, False)
    assert body["items"] == [HELLO]  # approved ones only
    request = graph_route.calls.last.request
    assert request.method == "GET"
    assert request.url.path == f"/v{GRAPH_VERSION}/{WABA}/message_templates"
    assert request.url.params["status"] == "APPROVED"
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


async def test_the_list_is_kept_and_refreshed_on_demand(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    channel_id = await learned_waba(router)
    sends = graph_route.call_count
    graph_route.mock(side_effect=[page([HELLO]), page([HELLO, template("order_update")])])

    first = (await listed(router, channel_id)).json()
    again = (await listed(router, channel_id)).json()
    refreshed = (await listed(router, channel_id, refresh="true")).json()

    assert (first["cached"], again["cached"], refreshed["cached"]) == (False, True, False)
    assert again["items"] == first["items"] == [HELLO]
    assert [t["name"] for t in refreshed["items"]] == ["hello_world", "order_update"]
    assert graph_route.call_count == sends + 2


async def test_every_page_is_read(router: RouterUnderTest, graph_route: GraphApi) -> None:
    channel_id = await learned_waba(router)
    graph_route.mock(side_effect=[page([template("a")], after="c1"), page([template("b")])])

    body = (await listed(router, channel_id)).json()

    assert [t["name"] for t in body["items"]] == ["a", "b"]
    assert graph_route.calls.last.request.url.params["after"] == "c1"


async def test_a_channel_whose_waba_is_unknown_is_409(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    channel_id = await default_channel(router)  # no webhook yet: the WABA is not known

    response = await listed(router, channel_id)

    assert response.status_code == 409, response.text
    assert "waba_id" in response.json()["error"]["message"]
    assert not graph_route.called

    patched = await router.admin("PATCH", f"/api/v1/channels/{channel_id}", json={"waba_id": "777"})
    assert patched.status_code == 200, patched.text
    graph_route.mock(side_effect=[page([HELLO])])
    assert (await listed(router, channel_id)).status_code == 200
    assert graph_route.calls.last.request.url.path.endswith("/777/message_templates")


async def test_graph_refusals_and_failures_are_named(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    channel_id = await learned_waba(router)
    graph_route.mock(
        side_effect=[
            meta_error(400, 100, "Unsupported get request."),
            meta_error(500, 1, "An unknown error occurred"),
        ]
    )

    refused = await listed(router, channel_id)
    failed = await listed(router, channel_id)

    assert refused.status_code == 422, refused.text
    assert "Meta's error 100" in refused.json()["error"]["message"]
    assert failed.status_code == 502, failed.text


async def test_an_unknown_channel_is_404_and_a_missing_one_422(
    router: RouterUnderTest, graph_route: GraphApi
) -> None:
    assert (await listed(router, 999_999)).status_code == 404
    assert (await router.admin("GET", "/api/v1/templates")).status_code == 422
    assert not graph_route.called
