"""What the store could never hold is answered like anything else that is not there or not valid,
on SQLite and PostgreSQL alike: never a 5xx from the driver."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import respx

from app.auth.roles import Role

from ..backends import fresh_postgres
from ..conftest import make_settings, running_router
from ..world import Platform, World

# One past PostgreSQL's INTEGER, which the platform's id columns are: the API's ids go further.
BEYOND_INT32 = 2**31


@pytest.fixture(params=["sqlite", "postgresql"])
async def platform(
    request: pytest.FixtureRequest, mock_http: respx.MockRouter, tmp_path: Path
) -> AsyncIterator[Platform]:
    if request.param == "postgresql":
        database_url = await fresh_postgres()
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"
    async with running_router(make_settings(database_url=database_url)) as router:
        yield Platform(router)


async def test_an_id_beyond_the_stores_column_finds_nothing(
    platform: Platform, world: World
) -> None:
    owner = world.keys[Role.OWNER]
    far = BEYOND_INT32

    contact = await platform.call("GET", f"/api/v1/contacts/{far}", owner)
    patched = await platform.call("PATCH", f"/api/v1/contacts/{far}", owner, json={"name": "x"})
    tenant = await platform.operator("GET", "/api/v1/channels", tenant=far)
    key_for = await platform.call(
        "POST", "/api/v1/api-keys", owner, json={"name": "k", "role": "viewer", "member_id": far}
    )
    by_channel = await platform.call("GET", "/api/v1/contacts", owner, params={"channel_id": far})
    by_owner = await platform.call("GET", "/api/v1/conversations", owner, params={"owner": far})
    after = await platform.call(
        "GET",
        f"/api/v1/conversations/{world.conversation.id}/messages",
        owner,
        params={"cursor": str(far)},
    )
    before = await platform.call("GET", "/api/v1/contacts", owner, params={"cursor": str(far)})

    assert contact.status_code == 404
    assert patched.status_code == 404
    assert tenant.status_code == 404
    assert key_for.status_code == 404
    assert by_channel.json() == {"items": [], "next": None}
    assert by_owner.json() == {"items": [], "next": None}
    assert after.json() == {"items": [], "next": None}
    assert [c["id"] for c in before.json()["items"]] == [world.contact.id]


async def test_an_id_beyond_the_apis_range_is_a_422(platform: Platform, world: World) -> None:
    owner = world.keys[Role.OWNER]
    beyond = 10**15

    path = await platform.call("GET", f"/api/v1/contacts/{beyond}", owner)
    body = await platform.call(
        "POST",
        f"/api/v1/conversations/{world.conversation.id}/transfer",
        owner,
        json={"new_owner_id": beyond},
    )
    header = await platform.operator("GET", "/api/v1/channels", tenant=beyond)

    assert path.status_code == 422
    assert body.status_code == 422
    assert header.status_code == 422


async def test_text_with_a_nul_is_refused_by_its_schema(platform: Platform, world: World) -> None:
    owner = world.keys[Role.OWNER]

    created = await platform.call(
        "POST", "/api/v1/contacts", owner, json={"wa_id": "15550007777", "name": "A\x00da"}
    )
    described = await platform.call(
        "PATCH",
        f"/api/v1/contacts/{world.contact.id}",
        owner,
        json={"description": "\x00"},
    )
    searched = await platform.call("GET", "/api/v1/contacts", owner, params={"q": "a\x00"})

    assert created.status_code == 422
    assert created.json()["detail"][0]["loc"] == ["body", "name"]
    assert described.status_code == 422
    assert searched.status_code == 422
