"""`/api/v1/messages`: ids, filters and timestamps as the OpenAPI says, on every store; and on the
platform, a tenant's key sees its tenant's messages only, the operator's key sees them all."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx
import pytest
import respx

from app.auth.roles import Role
from app.conversations.models import Conversation
from app.messages.management import MessageStatus
from app.messages.models import InboundStatus, Message, OutboundStatus

from ..conftest import ADMIN_KEY, APP_SECRET, RouterUnderTest, make_settings, running_router
from ..factories import channels, contacts, conversations
from ..factories.store import add
from ..meta import signed, text_message
from ..world import Platform, World

LARGEST_API_ID = 2**63 - 1  # int64, the ids' format in the OpenAPI
LARGEST_POSTGRES_ID = 2**31 - 1  # `messages.id` is an Integer: 32-bit on PostgreSQL


@pytest.fixture
async def seeded(
    stores: dict[str, str], server_route: respx.Route, graph_route: respx.Route
) -> AsyncIterator[RouterUnderTest]:
    """A router on each store, holding one answered message (inbound and its reply). What these
    tests ask (reads, and ids refused before anything is enqueued) no queue can change: the
    queue is the in-process one (tests/jobs/ run the message path on every queue)."""
    async with running_router(make_settings(**stores)) as router:
        body, headers = signed(APP_SECRET, text_message("wamid.seed", "hello"))
        assert (await router.client.post("/webhook", content=body, headers=headers)).is_success
        await router.settle()
        yield router


async def listed(router: RouterUnderTest, **params: Any) -> httpx.Response:
    return await router.admin("GET", "/api/v1/messages", params=params)


@pytest.mark.parametrize("message_id", ["0", "-1", str(LARGEST_API_ID + 1), "9" * 23])
async def test_an_id_out_of_the_apis_range_is_422_on_every_endpoint(
    seeded: RouterUnderTest, message_id: str
) -> None:
    one = await seeded.admin("GET", f"/api/v1/messages/{message_id}")
    retry = await seeded.admin("POST", f"/api/v1/messages/{message_id}/retry")
    page = await listed(seeded, before_id=message_id)

    assert [one.status_code, retry.status_code, page.status_code] == [422, 422, 422]
    for response in (one, retry, page):
        assert response.json()["detail"][0]["loc"][-1] in {"message_id", "before_id"}


@pytest.mark.parametrize(
    "message_id", [LARGEST_POSTGRES_ID, LARGEST_POSTGRES_ID + 1, 2**53 + 1, LARGEST_API_ID]
)
async def test_an_id_no_row_has_is_404_even_beyond_what_the_column_holds(
    seeded: RouterUnderTest, message_id: int
) -> None:
    one = await seeded.admin("GET", f"/api/v1/messages/{message_id}")
    retry = await seeded.admin("POST", f"/api/v1/messages/{message_id}/retry")

    assert [one.status_code, retry.status_code] == [404, 404]
    assert one.json() == {"error": {"code": "not_found", "message": f"no message {message_id}"}}


@pytest.mark.parametrize("before_id", [LARGEST_POSTGRES_ID + 1, LARGEST_API_ID])
async def test_before_an_id_beyond_every_row_lists_them_all(
    seeded: RouterUnderTest, before_id: int
) -> None:
    everything = (await listed(seeded)).json()

    page = await listed(seeded, before_id=before_id)

    assert page.status_code == 200
    assert page.json() == everything
    assert len(everything["items"]) == 2


@pytest.mark.parametrize("status", ["a\x00b", "nope", "FAILED", ""])
async def test_a_status_filter_names_a_known_status(seeded: RouterUnderTest, status: str) -> None:
    response = await listed(seeded, status=status)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]


async def test_the_status_filter_knows_every_status_of_both_directions() -> None:
    known = {s.value for s in InboundStatus} | {s.value for s in OutboundStatus}

    assert set(get_args(MessageStatus)) == known


async def test_timestamps_carry_their_utc_offset(seeded: RouterUnderTest) -> None:
    before = datetime.now(UTC)
    items = (await listed(seeded)).json()["items"]
    one = (await seeded.admin("GET", f"/api/v1/messages/{items[0]['id']}")).json()

    for message in [*items, one]:
        for field in ("created_at", "updated_at"):
            stamp = datetime.fromisoformat(message[field])
            assert message[field].endswith("Z")
            assert stamp.utcoffset() == timedelta(0)
            assert before - stamp < timedelta(minutes=1)


async def a_message_each(platform: Platform, world: World) -> tuple[Message, Message, Message]:
    """One message in our tenant, one in the other, and one to a number no channel has."""
    s = platform.sessions
    ours = await conversations.message(s, world.conversation, "ours")
    other_channel = await channels.channel(s, world.other_tenant, "700800900")
    other_contact = await contacts.contact(s, world.other_tenant)
    other_conversation: Conversation = await conversations.conversation(
        s, world.other_tenant, other_channel.id, other_contact.id
    )
    theirs = await conversations.message(s, other_conversation, "theirs")
    unrouted = await add(
        s,
        Message(
            direction="inbound",
            wamid="wamid.unrouted",
            phone_number_id="555",
            contact="15550001234",
            type="text",
            text="anyone?",
            status=InboundStatus.UNROUTED.value,
            attempts=0,
        ),
    )
    return ours, theirs, unrouted


def texts(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(m["text"] for m in response.json()["items"])


async def test_a_tenants_key_sees_its_tenants_messages_and_the_operator_all(
    platform: Platform, world: World
) -> None:
    await a_message_each(platform, world)
    viewer = world.keys[Role.VIEWER]

    assert texts(await platform.call("GET", "/api/v1/messages", viewer)) == ["ours"]
    # A tenant it names is no other's to see.
    named = await platform.call(
        "GET", "/api/v1/messages", viewer, headers={"X-Tenant-ID": str(world.other_tenant)}
    )
    assert texts(named) == ["ours"]
    assert texts(await platform.call("GET", "/api/v1/messages", world.other_key)) == ["theirs"]
    assert texts(await platform.call("GET", "/api/v1/messages", ADMIN_KEY)) == [
        "anyone?",
        "ours",
        "theirs",
    ]


async def test_another_tenants_message_is_404_and_not_counted(
    platform: Platform, world: World
) -> None:
    ours, theirs, _ = await a_message_each(platform, world)
    viewer = world.keys[Role.VIEWER]

    mine = await platform.call("GET", f"/api/v1/messages/{ours.id}", viewer)
    other = await platform.call("GET", f"/api/v1/messages/{theirs.id}", viewer)
    by_operator = await platform.call("GET", f"/api/v1/messages/{theirs.id}", ADMIN_KEY)
    stats = await platform.call("GET", "/api/v1/messages/stats", viewer)
    everything = await platform.call("GET", "/api/v1/messages/stats", ADMIN_KEY)

    assert (mine.status_code, other.status_code, by_operator.status_code) == (200, 404, 200)
    assert mine.json()["tenant_id"] == world.tenant
    assert mine.json()["conversation_id"] == world.conversation.id
    assert mine.json()["sender"] == "contact"
    assert stats.json() == {"inbound": {"replied": 1}, "outbound": {}}
    assert everything.json() == {"inbound": {"replied": 2, "unrouted": 1}, "outbound": {}}


async def test_a_replay_needs_an_agents_role_in_the_messages_tenant(
    platform: Platform, world: World
) -> None:
    s = platform.sessions
    failed = await conversations.message(s, world.conversation, "lost")
    async with s() as session:
        row = await session.get(Message, failed.id)
        assert row is not None
        row.status = InboundStatus.FAILED.value
        await session.commit()

    viewer = await platform.call(
        "POST", f"/api/v1/messages/{failed.id}/retry", world.keys[Role.VIEWER]
    )
    other = await platform.call("POST", f"/api/v1/messages/{failed.id}/retry", world.other_key)
    agent = await platform.call(
        "POST", f"/api/v1/messages/{failed.id}/retry", world.keys[Role.AGENT]
    )

    assert (viewer.status_code, other.status_code, agent.status_code) == (403, 404, 202)


async def test_keys_that_are_not_keys_are_401_and_tenants_keys_need_no_operator(
    platform: Platform, world: World, database_url: str
) -> None:
    forged = world.keys[Role.OWNER][:-4] + "xxxx"

    assert (await platform.call("GET", "/api/v1/messages")).status_code == 401
    assert (await platform.call("GET", "/api/v1/messages", forged)).status_code == 401
    async with running_router(
        make_settings(database_url=database_url, router_admin_api_key=None)
    ) as unconfigured:
        tenant_key = await unconfigured.client.get(
            "/api/v1/messages", headers={"X-API-Key": world.keys[Role.VIEWER]}
        )
        anything_else = await unconfigured.client.get(
            "/api/v1/messages", headers={"X-API-Key": "x"}
        )
    assert tenant_key.status_code == 200
    assert anything_else.status_code == 503  # the operator's API is off, as before


async def test_the_list_pages_as_every_list_does_and_by_its_first_names(
    seeded: RouterUnderTest,
) -> None:
    first = (await listed(seeded, limit=1)).json()
    by_cursor = (await listed(seeded, limit=1, cursor=first["next"])).json()
    by_before_id = (await listed(seeded, limit=1, before_id=first["next_before_id"])).json()

    newest, oldest = (await listed(seeded)).json()["items"]
    assert first["items"] == [newest]
    assert first["next"] == str(newest["id"])
    assert first["next_before_id"] == newest["id"]
    assert by_cursor == by_before_id == {"items": [oldest], "next": None, "next_before_id": None}
    assert (await listed(seeded, cursor="x1")).status_code == 422
