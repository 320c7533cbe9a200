"""Contacts: the tenant's customers; and how the message path will find them (`resolve`)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.roles import Role
from app.contacts.models import Contact
from app.contacts.repository import resolve
from app.core.clock import utcnow
from app.tenants.models import Tenant

from ..backends import migrated_store
from ..factories import channels, contacts, conversations
from ..world import Platform, World


async def test_a_contact_is_made_by_wa_id_or_user_id(platform: Platform, world: World) -> None:
    admin = world.keys[Role.ADMIN]

    by_phone = await platform.call(
        "POST", "/api/v1/contacts", admin, json={"wa_id": "15550002222", "name": "New Customer"}
    )
    by_user_id = await platform.call(
        "POST", "/api/v1/contacts", admin, json={"user_id": "US.99", "email": "X@Y.test"}
    )
    neither = await platform.call("POST", "/api/v1/contacts", admin, json={"name": "Nobody"})
    again = await platform.call("POST", "/api/v1/contacts", admin, json={"wa_id": "15550002222"})
    elsewhere = await platform.call(
        "POST", "/api/v1/contacts", world.other_key, json={"wa_id": "15550002222"}
    )

    assert by_phone.status_code == 201
    assert by_phone.json()["name_edited"] is True  # a name a member gave
    assert by_user_id.status_code == 201
    assert by_user_id.json()["email"] == "x@y.test"
    assert by_user_id.json()["name_edited"] is False
    assert neither.status_code == 422
    assert "wa_id or user_id" in neither.json()["detail"][0]["msg"]
    assert again.status_code == 409
    assert elsewhere.status_code == 201  # unique per tenant, not across tenants


async def test_a_wa_id_with_a_leading_plus_is_kept_as_its_digits(
    platform: Platform, world: World
) -> None:
    admin = world.keys[Role.ADMIN]

    made = await platform.call("POST", "/api/v1/contacts", admin, json={"wa_id": "+15550003333"})
    again = await platform.call("POST", "/api/v1/contacts", admin, json={"wa_id": "15550003333"})
    plus_only = await platform.call("POST", "/api/v1/contacts", admin, json={"wa_id": "+"})
    inside = await platform.call("POST", "/api/v1/contacts", admin, json={"wa_id": "1+5550003333"})

    assert made.status_code == 201, made.text
    assert made.json()["wa_id"] == "15550003333"
    assert again.status_code == 409  # the same number
    assert (plus_only.status_code, inside.status_code) == (422, 422)


async def test_contacts_are_found_by_name_number_user_id_channel_and_block(
    platform: Platform, world: World
) -> None:
    s, t = platform.sessions, world.tenant
    first_customer = await contacts.contact(s, t, "4915112345", name="First Customer 100%")
    second_customer = await contacts.contact(
        s, t, None, user_id="DE.5551", name="Second Customer", blocked=True
    )
    support = await channels.channel(s, t, "900900900")
    await conversations.conversation(s, t, support.id, second_customer.id)
    viewer = world.keys[Role.VIEWER]

    async def ids(**params: object) -> list[int]:
        response = await platform.call("GET", "/api/v1/contacts", viewer, params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await ids() == [second_customer.id, first_customer.id, world.contact.id]  # newest first
    assert await ids(q="first") == [first_customer.id]
    assert await ids(q="100%") == [first_customer.id]
    assert await ids(q="1%0") == []  # as a wildcard it would match "100"
    assert await ids(q="51123") == [first_customer.id]
    assert await ids(q="de.55") == [second_customer.id]
    assert await ids(blocked=True) == [second_customer.id]
    assert await ids(blocked=False) == [first_customer.id, world.contact.id]
    assert await ids(channel_id=support.id) == [second_customer.id]
    first = await platform.call("GET", "/api/v1/contacts", viewer, params={"limit": 2})
    rest = await platform.call(
        "GET", "/api/v1/contacts", viewer, params={"limit": 2, "cursor": first.json()["next"]}
    )
    assert [c["id"] for c in first.json()["items"] + rest.json()["items"]] == await ids()
    assert rest.json()["next"] is None


async def test_a_contact_is_edited_and_blocked(platform: Platform, world: World) -> None:
    admin, path = world.keys[Role.ADMIN], f"/api/v1/contacts/{world.contact.id}"

    edited = await platform.call(
        "PATCH", path, admin, json={"name": "Customer (edited)", "description": "VIP"}
    )
    given_back = await platform.call("PATCH", path, admin, json={"name": None})
    blocked = await platform.call("POST", f"{path}/block", admin)
    read = await platform.call("GET", path, world.keys[Role.VIEWER])
    unblocked = await platform.call("DELETE", f"{path}/block", admin)
    wa_id = await platform.call("PATCH", path, admin, json={"wa_id": "1"})

    assert edited.json()["name"] == "Customer (edited)"
    assert edited.json()["name_edited"] is True
    assert edited.json()["description"] == "VIP"
    assert given_back.json()["name_edited"] is False  # WhatsApp's profile name applies again
    assert blocked.json()["is_blocked"] is True
    assert read.json()["is_blocked"] is True
    assert unblocked.json()["is_blocked"] is False
    assert wa_id.status_code == 422  # identifiers are not edited


# --- resolve: the message path's way to its contact (phase 2 calls it at ingest) ---------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_store(request.param, tmp_path) as engine:
        async with engine.begin() as connection:
            await connection.execute(insert(Tenant).values(name="Acme", created_at=utcnow()))
        yield engine


async def found(engine: AsyncEngine, **identity: str | None) -> int:
    async with engine.begin() as connection:
        route = await resolve(
            connection,
            1,
            wa_id=identity.get("wa_id"),
            user_id=identity.get("user_id"),
            profile_name=identity.get("name"),
            now=utcnow(),
        )
    return route.contact_id


async def everyone(engine: AsyncEngine) -> list[tuple[str | None, str | None, str | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Contact.wa_id, Contact.user_id, Contact.name).order_by(Contact.id)
        )
        return [(r.wa_id, r.user_id, r.name) for r in rows]


async def test_resolve_makes_a_contact_once_and_learns_its_other_identifier(
    store: AsyncEngine,
) -> None:
    first = await found(store, wa_id="111", name="First Customer")
    with_user_id = await found(store, wa_id="111", user_id="US.1", name="First Customer")
    user_id_only = await found(store, user_id="US.1", name="First Customer (new profile name)")

    assert first == with_user_id == user_id_only
    assert await everyone(store) == [("111", "US.1", "First Customer (new profile name)")]


async def test_resolve_keeps_a_name_a_member_edited(store: AsyncEngine) -> None:
    contact_id = await found(store, wa_id="111", name="First Customer")
    async with store.begin() as connection:
        await connection.execute(
            update(Contact).values(name="First Customer (VIP)", name_edited=True)
        )

    assert await found(store, wa_id="111", name="First Customer (new profile name)") == contact_id
    assert await everyone(store) == [("111", None, "First Customer (VIP)")]


async def test_resolve_makes_one_contact_of_simultaneous_first_messages(
    store: AsyncEngine,
) -> None:
    ids = await asyncio.gather(
        *(found(store, wa_id="111", name="First Customer") for _ in range(6))
    )

    assert len(set(ids)) == 1
    assert await everyone(store) == [("111", None, "First Customer")]
