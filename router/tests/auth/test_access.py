"""Tenants, their API keys and their members: what the operator and the owners manage."""

import hmac
from typing import Any

import pytest
from sqlalchemy import select

from app.auth import keys
from app.auth.models import ApiKey
from app.auth.roles import Role
from app.conversations.models import Conversation, ConversationStatus

from ..factories import conversations, tenants
from ..world import Platform, World


async def test_the_operator_makes_a_tenant_and_its_first_owner_key(platform: Platform) -> None:
    created = await platform.operator("POST", "/api/v1/tenants", json={"name": "Third Company"})
    again = await platform.operator("POST", "/api/v1/tenants", json={"name": "Third Company"})
    tenant = created.json()["id"]
    first = await platform.operator(
        "POST", f"/api/v1/tenants/{tenant}/api-keys", json={"name": "setup", "role": "owner"}
    )
    nowhere = await platform.operator(
        "POST", "/api/v1/tenants/999/api-keys", json={"name": "setup", "role": "owner"}
    )
    key = first.json()["key"]
    listed = await platform.call("GET", "/api/v1/api-keys", key)

    assert created.status_code == 201
    assert created.json()["name"] == "Third Company"
    assert created.json()["created_at"].endswith("+00:00")
    assert again.status_code == 409
    assert first.status_code == 201
    assert key.startswith(f"wr_live_{first.json()['prefix'].removeprefix('wr_live_')}_")
    assert nowhere.status_code == 404
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert "key" not in item
    assert item["prefix"] == first.json()["prefix"]
    assert item["last_used_at"] is not None  # it was just used


async def test_a_key_is_stored_only_as_a_hash(platform: Platform, world: World) -> None:
    response = await platform.call(
        "POST", "/api/v1/api-keys", world.keys[Role.OWNER], json={"name": "ci", "role": "admin"}
    )
    key = response.json()["key"]
    async with platform.sessions() as session:
        stored = await session.scalar(select(ApiKey).where(ApiKey.id == response.json()["id"]))
    assert stored is not None

    assert key not in repr([getattr(stored, c.key) for c in ApiKey.__table__.columns])
    parsed = keys.parse(key)
    assert parsed is not None
    assert stored.secret_hash == keys.hash_secret(parsed.secret)


async def test_keys_are_compared_in_constant_time(
    platform: Platform, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[Any, Any]] = []
    compare = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return compare(a, b)

    monkeypatch.setattr("app.auth.keys.hmac.compare_digest", spy)
    key = world.keys[Role.VIEWER]
    parsed = keys.parse(key)
    assert parsed is not None

    response = await platform.call("GET", "/api/v1/members", key)

    assert response.status_code == 200
    # The operator's key first, then the tenant key's hash against the stored one.
    assert (key.encode(), b"test-admin-key") in compared
    assert (keys.hash_secret(parsed.secret).encode(),) * 2 in compared


async def test_a_revoked_key_stops_working(platform: Platform, world: World) -> None:
    owner = world.keys[Role.OWNER]
    made = await platform.call(
        "POST", "/api/v1/api-keys", owner, json={"name": "x", "role": "viewer"}
    )
    key, key_id = made.json()["key"], made.json()["id"]

    works = await platform.call("GET", "/api/v1/members", key)
    revoked = await platform.call("DELETE", f"/api/v1/api-keys/{key_id}", owner)
    refused = await platform.call("GET", "/api/v1/members", key)
    listed = (await platform.call("GET", "/api/v1/api-keys", owner)).json()["items"]

    assert works.status_code == 200
    assert revoked.status_code == 204
    assert refused.status_code == 401
    assert next(k for k in listed if k["id"] == key_id)["revoked_at"] is not None


async def test_a_members_key_never_exceeds_the_member(platform: Platform, world: World) -> None:
    owner = world.keys[Role.OWNER]

    async def key_for(member_id: int, role: str) -> Any:
        body = {"name": "k", "role": role, "member_id": member_id}
        return await platform.call("POST", "/api/v1/api-keys", owner, json=body)

    too_much = await key_for(world.agent.id, "admin")
    someone_elses = await key_for(world.other_member.id, "viewer")
    second_owner = (
        await platform.call(
            "POST", "/api/v1/members", owner, json={"name": "Second Owner", "role": "owner"}
        )
    ).json()["id"]
    second_owners_key = (await key_for(second_owner, "owner")).json()["key"]
    before = await platform.call(
        "POST",
        "/api/v1/members",
        second_owners_key,
        json={"name": "First Viewer", "role": "viewer"},
    )
    await platform.call("PATCH", f"/api/v1/members/{second_owner}", owner, json={"role": "admin"})
    after = await platform.call(
        "POST",
        "/api/v1/members",
        second_owners_key,
        json={"name": "Second Viewer", "role": "viewer"},
    )

    assert too_much.status_code == 409  # with the member as stored: the body is valid
    assert "role" in too_much.json()["error"]["message"]
    assert someone_elses.status_code == 404
    assert before.status_code == 201
    assert after.status_code == 403  # the second owner is an admin now, and so is their key


async def test_members_are_managed_by_owners(platform: Platform, world: World) -> None:
    owner = world.keys[Role.OWNER]
    created = await platform.call(
        "POST",
        "/api/v1/members",
        owner,
        json={"name": "New Agent", "role": "agent", "email": " New.Agent@Acme.TEST "},
    )
    duplicate = await platform.call(
        "POST",
        "/api/v1/members",
        owner,
        json={"name": "L2", "role": "viewer", "email": "new.agent@acme.test"},
    )
    member = created.json()["id"]
    renamed = await platform.call(
        "PATCH", f"/api/v1/members/{member}", owner, json={"name": "Admin Agent", "role": "admin"}
    )
    nulled = await platform.call("PATCH", f"/api/v1/members/{member}", owner, json={"name": None})
    listed = await platform.call(
        "GET", "/api/v1/members", world.keys[Role.VIEWER], params={"limit": 2}
    )
    rest = await platform.call(
        "GET", "/api/v1/members", world.keys[Role.VIEWER], params={"cursor": listed.json()["next"]}
    )

    assert created.status_code == 201
    assert created.json()["email"] == "new.agent@acme.test"
    assert duplicate.status_code == 409
    assert renamed.json()["name"] == "Admin Agent"
    assert renamed.json()["role"] == "admin"
    assert nulled.status_code == 422
    assert nulled.json()["detail"][0]["loc"] == ["body", "name"]
    assert [m["name"] for m in listed.json()["items"] + rest.json()["items"]] == [
        "Owner",
        "Support Agent",
        "Admin Agent",
    ]
    assert rest.json()["next"] is None


async def test_a_tenant_keeps_an_owner(platform: Platform, world: World) -> None:
    owner = world.keys[Role.OWNER]

    demoted = await platform.call(
        "PATCH", f"/api/v1/members/{world.owner.id}", owner, json={"role": "admin"}
    )
    removed = await platform.call("DELETE", f"/api/v1/members/{world.owner.id}", owner)
    second = await platform.call(
        "POST", "/api/v1/members", owner, json={"name": "Second Owner", "role": "owner"}
    )
    now_removable = await platform.call("DELETE", f"/api/v1/members/{world.owner.id}", owner)

    assert demoted.status_code == 409
    assert "last owner" in demoted.json()["error"]["message"]
    assert removed.status_code == 409
    assert second.status_code == 201
    assert now_removable.status_code == 204


async def test_a_removed_members_conversations_go_back_to_the_bot(
    platform: Platform, world: World
) -> None:
    s = platform.sessions
    theirs = await conversations.conversation(
        s,
        world.tenant,
        world.channel.id,
        world.contact.id,
        owner_member_id=world.agent.id,
        status=ConversationStatus.CLOSED,
    )
    _, agents_key = await tenants.api_key(s, world.tenant, Role.AGENT, member_id=world.agent.id)

    removed = await platform.call(
        "DELETE", f"/api/v1/members/{world.agent.id}", world.keys[Role.OWNER]
    )
    refused = await platform.call("GET", "/api/v1/members", agents_key)
    async with s() as session:
        owner = await session.scalar(
            select(Conversation.owner_member_id).where(Conversation.id == theirs.id)
        )

    assert removed.status_code == 204
    assert refused.status_code == 401
    assert owner is None


async def test_a_bad_body_is_a_422_naming_the_field(platform: Platform, world: World) -> None:
    response = await platform.call(
        "POST",
        "/api/v1/api-keys",
        world.keys[Role.OWNER],
        json={"name": "", "role": "boss", "colour": "red"},
    )

    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {
        ("body", "name"),
        ("body", "role"),
        ("body", "colour"),
    }


async def test_a_cursor_that_is_not_ours_is_a_422(platform: Platform, world: World) -> None:
    response = await platform.call(
        "GET", "/api/v1/members", world.keys[Role.OWNER], params={"cursor": "nonsense!"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
