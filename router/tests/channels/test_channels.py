"""Channels: a WhatsApp number is saved only once the Graph API says its token may use it."""

from typing import Any

import httpx
import respx
from sqlalchemy import func, select
from structlog.testing import capture_logs

from app.auth.roles import Role
from app.channels.models import Channel

from ..conftest import GRAPH_URL, GRAPH_VERSION
from ..factories import channels, contacts, conversations
from ..meta import PHONE_NUMBER_ID
from ..world import Platform, World

NUMBER = "106540352242922"
TOKEN = "EAAG-new-number-token"
NUMBER_URL = f"{GRAPH_URL}/v{GRAPH_VERSION}/{NUMBER}"


def whatsapp(**fields: Any) -> dict[str, Any]:
    return {
        "type": "whatsapp",
        "name": "Support",
        "phone_number_id": NUMBER,
        "display_phone_number": "+1 555 0199",
        "access_token": TOKEN,
    } | fields


def meta_refuses(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": message, "type": "OAuthException", "code": code}}
    )


async def count_channels(platform: Platform) -> int:
    async with platform.sessions() as session:
        return int(await session.scalar(select(func.count(Channel.id))) or 0)


async def test_a_number_whose_token_the_graph_api_accepts_is_saved(
    platform: Platform, world: World, mock_http: respx.MockRouter
) -> None:
    check = mock_http.get(NUMBER_URL).respond(
        200,
        json={"verified_name": "Acme", "display_phone_number": "+1 555-0199", "id": NUMBER},
    )
    admin = world.keys[Role.ADMIN]

    created = await platform.call(
        "POST", "/api/v1/channels", admin, json=whatsapp(display_phone_number=None)
    )
    read = await platform.call("GET", f"/api/v1/channels/{created.json()['id']}", admin)
    async with platform.sessions() as session:
        token = await session.scalar(
            select(Channel.access_token).where(Channel.phone_number_id == NUMBER)
        )

    assert created.status_code == 201
    assert check.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert created.json()["display_phone_number"] == "+1 555-0199"  # the Graph API's
    assert read.json() == created.json()
    assert TOKEN not in created.text
    assert "access_token" not in read.json()
    assert token == TOKEN


async def test_a_number_that_is_already_a_channel_is_409(
    platform: Platform, world: World, mock_http: respx.MockRouter
) -> None:
    check = mock_http.get(f"{GRAPH_URL}/v{GRAPH_VERSION}/{PHONE_NUMBER_ID}").respond(200, json={})

    # The env's number: the default tenant's channel, not this tenant's.
    response = await platform.call(
        "POST",
        "/api/v1/channels",
        world.keys[Role.OWNER],
        json=whatsapp(phone_number_id=PHONE_NUMBER_ID),
    )

    assert response.status_code == 409
    assert PHONE_NUMBER_ID in response.json()["error"]["message"]
    assert not check.called


async def test_a_token_that_cannot_use_the_number_is_422_and_nothing_is_saved(
    platform: Platform, world: World, mock_http: respx.MockRouter
) -> None:
    mock_http.get(NUMBER_URL).mock(
        return_value=meta_refuses(400, 100, "Unsupported get request. Object does not exist")
    )
    before = await count_channels(platform)

    with capture_logs() as logs:
        response = await platform.call(
            "POST", "/api/v1/channels", world.keys[Role.OWNER], json=whatsapp()
        )

    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "access_token" in message
    assert "Meta's error 100" in message
    assert TOKEN not in response.text
    assert TOKEN not in repr(logs)
    assert await count_channels(platform) == before


async def test_a_graph_api_that_fails_or_cannot_be_reached_saves_nothing(
    platform: Platform, world: World, mock_http: respx.MockRouter
) -> None:
    route = mock_http.get(NUMBER_URL)
    before = await count_channels(platform)
    owner = world.keys[Role.OWNER]

    route.respond(500, json={"error": {"message": "An unknown error occurred", "code": 1}})
    failing = await platform.call("POST", "/api/v1/channels", owner, json=whatsapp())
    route.mock(side_effect=httpx.ConnectError("connection refused"))
    unreachable = await platform.call("POST", "/api/v1/channels", owner, json=whatsapp())

    assert failing.status_code == 502
    assert unreachable.status_code == 503
    assert "could not be reached" in unreachable.json()["error"]["message"]
    assert await count_channels(platform) == before


async def test_a_new_token_is_checked_before_it_replaces_the_old_one(
    platform: Platform, world: World, mock_http: respx.MockRouter
) -> None:
    url = f"{GRAPH_URL}/v{GRAPH_VERSION}/{world.channel.phone_number_id}"
    route = mock_http.get(url).mock(return_value=meta_refuses(401, 190, "Invalid OAuth token"))
    path = f"/api/v1/channels/{world.channel.id}"
    admin = world.keys[Role.ADMIN]

    refused = await platform.call("PATCH", path, admin, json={"access_token": "bad"})
    route.respond(200, json={"id": world.channel.phone_number_id})
    renamed = await platform.call(
        "PATCH", path, admin, json={"access_token": "good", "name": "Sales EU"}
    )
    async with platform.sessions() as session:
        token = await session.scalar(
            select(Channel.access_token).where(Channel.id == world.channel.id)
        )

    assert refused.status_code == 422
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Sales EU"
    assert token == "good"


async def test_an_api_channel_needs_no_number(platform: Platform, world: World) -> None:
    admin = world.keys[Role.ADMIN]
    created = await platform.call(
        "POST", "/api/v1/channels", admin, json={"type": "api", "name": "Website"}
    )
    with_token = await platform.call(
        "PATCH", f"/api/v1/channels/{created.json()['id']}", admin, json={"access_token": "x"}
    )

    assert created.status_code == 201
    assert created.json()["phone_number_id"] is None
    assert with_token.status_code == 409  # with the channel's type: the body is valid


async def test_bad_channel_bodies_are_422_naming_the_field(
    platform: Platform, world: World
) -> None:
    owner = world.keys[Role.OWNER]

    path_in_number = await platform.call(
        "POST", "/api/v1/channels", owner, json=whatsapp(phone_number_id="../me")
    )
    no_token = await platform.call(
        "POST", "/api/v1/channels", owner, json=whatsapp(access_token=None)
    )
    no_type = await platform.call("POST", "/api/v1/channels", owner, json={"name": "x"})
    misspelt = await platform.call("POST", "/api/v1/channels", owner, json=whatsapp(type="whatsap"))
    too_long = await platform.call(
        "POST", "/api/v1/channels", owner, json=whatsapp(access_token="EAAG" + "x" * 5000)
    )

    assert path_in_number.status_code == 422
    assert path_in_number.json()["detail"][0]["loc"][-1] == "phone_number_id"
    assert no_token.json()["detail"][0]["loc"][-1] == "access_token"
    assert no_type.status_code == 422
    # A 422 shows what it refused, but never the token.
    assert misspelt.status_code == 422
    assert TOKEN not in misspelt.text
    assert "**********" in misspelt.text
    assert too_long.json()["detail"][0]["loc"][-1] == "access_token"
    assert "xxxx" not in too_long.text


async def test_a_channel_with_conversations_is_kept(platform: Platform, world: World) -> None:
    admin = world.keys[Role.ADMIN]
    spare = await channels.channel(platform.sessions, world.tenant, "555000111")

    kept = await platform.call("DELETE", f"/api/v1/channels/{world.channel.id}", admin)
    deleted = await platform.call("DELETE", f"/api/v1/channels/{spare.id}", admin)
    gone = await platform.call("GET", f"/api/v1/channels/{spare.id}", admin)

    assert kept.status_code == 409
    assert deleted.status_code == 204
    assert gone.status_code == 404


async def test_channels_are_listed_per_tenant(platform: Platform, world: World) -> None:
    other = await channels.channel(platform.sessions, world.other_tenant, "777000111")
    contact = await contacts.contact(platform.sessions, world.other_tenant)
    await conversations.conversation(platform.sessions, world.other_tenant, other.id, contact.id)

    ours = await platform.call("GET", "/api/v1/channels", world.keys[Role.VIEWER])
    theirs = await platform.call("GET", "/api/v1/channels", world.other_key)

    assert [c["id"] for c in ours.json()["items"]] == [world.channel.id]
    assert [c["id"] for c in theirs.json()["items"]] == [other.id]


async def test_burst_debounce_is_set_per_channel_and_off_by_default(
    platform: Platform, world: World
) -> None:
    admin = world.keys[Role.ADMIN]
    path = f"/api/v1/channels/{world.channel.id}"

    before = await platform.call("GET", path, admin)
    on = await platform.call("PATCH", path, admin, json={"debounce_ms": 1500})
    read = await platform.call("GET", path, admin)
    renamed = await platform.call("PATCH", path, admin, json={"name": "Sales EU"})
    off = await platform.call("PATCH", path, admin, json={"debounce_ms": None})
    too_long = await platform.call("PATCH", path, admin, json={"debounce_ms": 60_001})
    negative = await platform.call("PATCH", path, admin, json={"debounce_ms": -1})
    not_a_number = await platform.call("PATCH", path, admin, json={"debounce_ms": "soon"})
    by_a_viewer = await platform.call(
        "PATCH", path, world.keys[Role.VIEWER], json={"debounce_ms": 10}
    )
    api = await platform.call(
        "POST", "/api/v1/channels", admin, json={"type": "api", "name": "Website"}
    )
    on_api = await platform.call(
        "PATCH", f"/api/v1/channels/{api.json()['id']}", admin, json={"debounce_ms": 10}
    )

    assert before.json()["debounce_ms"] is None
    assert on.status_code == 200
    assert on.json()["debounce_ms"] == 1500
    assert read.json()["debounce_ms"] == 1500
    assert renamed.json()["debounce_ms"] == 1500  # a PATCH without it leaves it
    assert off.json()["debounce_ms"] is None
    for refused in (too_long, negative, not_a_number):
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"][-1] == "debounce_ms"
    assert by_a_viewer.status_code == 403
    assert on_api.status_code == 409  # an api channel has a name only
