"""Members and their numbers: `/api/v1/members/{id}/channels`, and the multi-number platform's
`/api/v1/users/me` and `/api/v1/users/me/devices` (app/compat/users.py)."""

from app.auth.roles import Role

from ..factories import channels, tenants
from ..world import Platform, World


async def test_users_me_is_the_signed_in_member(platform: Platform, world: World) -> None:
    _, bound = await tenants.api_key(platform.sessions, world.tenant, Role.OWNER, world.owner.id)
    _, agents = await tenants.api_key(platform.sessions, world.tenant, Role.VIEWER, world.agent.id)

    me = await platform.call("GET", "/api/v1/users/me", bound)
    agent = await platform.call("GET", "/api/v1/users/me", agents)
    unbound = await platform.call("GET", "/api/v1/users/me", world.keys[Role.OWNER])
    operator = await platform.operator("GET", "/api/v1/users/me", world.tenant)
    nobody = await platform.call("GET", "/api/v1/users/me")
    still_there = await platform.call("GET", "/api/v1/me", bound)

    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": world.owner.id,
        "name": "Owner",
        "email": "owner@acme.test",
        "role": "owner",
        "tenant_id": world.tenant,
    }
    assert agent.json()["id"] == world.agent.id
    assert agent.json()["role"] == "agent"  # the member's, not their key's lesser one
    assert unbound.status_code == 404
    assert operator.status_code == 404
    assert nobody.status_code == 401
    assert still_there.json()["member_id"] == world.owner.id


async def test_owners_and_admins_put_members_on_numbers(platform: Platform, world: World) -> None:
    second = await channels.channel(platform.sessions, world.tenant, "100200399", name="Support")
    path = f"/api/v1/members/{world.agent.id}/channels"
    owner, admin = world.keys[Role.OWNER], world.keys[Role.ADMIN]

    empty = await platform.call("GET", path, owner)
    added = await platform.call("POST", path, owner, json={"channel_id": world.channel.id})
    again = await platform.call("POST", path, admin, json={"channel_id": world.channel.id})
    other = await platform.call("POST", path, admin, json={"channel_id": second.id})
    listed = await platform.call("GET", path, admin)
    removed = await platform.call("DELETE", f"{path}/{world.channel.id}", admin)
    removed_again = await platform.call("DELETE", f"{path}/{world.channel.id}", owner)
    left = await platform.call("GET", path, owner)

    assert empty.status_code == 200
    assert empty.json() == {"items": [], "next": None}
    assert added.status_code == 201, added.text
    assert added.json()["id"] == world.channel.id
    assert "access_token" not in added.json()
    assert again.status_code == 200  # on it already: nothing changes
    assert again.json() == added.json()
    assert other.status_code == 201
    assert [c["id"] for c in listed.json()["items"]] == [world.channel.id, second.id]
    assert removed.status_code == 204
    assert removed_again.status_code == 204
    assert [c["id"] for c in left.json()["items"]] == [second.id]


async def test_agents_and_viewers_may_not_assign_numbers(platform: Platform, world: World) -> None:
    path = f"/api/v1/members/{world.agent.id}/channels"
    body = {"channel_id": world.channel.id}
    for role in (Role.AGENT, Role.VIEWER):
        key = world.keys[role]
        assert (await platform.call("GET", path, key)).status_code == 403
        assert (await platform.call("POST", path, key, json=body)).status_code == 403
        assert (await platform.call("DELETE", f"{path}/{world.channel.id}", key)).status_code == 403
    listed = await platform.call("GET", path, world.keys[Role.OWNER])
    assert listed.json()["items"] == []


async def test_only_the_tenants_own_numbers_and_members(platform: Platform, world: World) -> None:
    theirs = await channels.channel(platform.sessions, world.other_tenant, "900800700")
    owner = world.keys[Role.OWNER]
    ours = f"/api/v1/members/{world.agent.id}/channels"
    their_member = f"/api/v1/members/{world.other_member.id}/channels"

    other_channel = await platform.call("POST", ours, owner, json={"channel_id": theirs.id})
    other_delete = await platform.call("DELETE", f"{ours}/{theirs.id}", owner)
    other_member = await platform.call("POST", their_member, owner, json={"channel_id": 1})
    nowhere = await platform.call("POST", ours, owner, json={"channel_id": 10**15 - 1})
    bad = await platform.call("POST", ours, owner, json={"channel_id": "A"})

    assert other_channel.status_code == 404
    assert other_delete.status_code == 404
    assert other_member.status_code == 404
    assert (await platform.call("GET", their_member, owner)).status_code == 404
    assert nowhere.status_code == 404
    assert bad.status_code == 422


async def test_devices_are_the_numbers_the_caller_is_on(platform: Platform, world: World) -> None:
    s = platform.sessions
    _, owners = await tenants.api_key(s, world.tenant, Role.OWNER, world.owner.id)
    _, agents = await tenants.api_key(s, world.tenant, Role.AGENT, world.agent.id)
    path = "/api/v1/users/me/devices"
    body = {"channel_id": world.channel.id}

    none_yet = await platform.call("GET", path, owners)
    added = await platform.call("POST", path, owners, json=body)
    again = await platform.call("POST", path, owners, json=body)
    listed = await platform.call("GET", path, owners)
    as_member = await platform.call(
        "GET", f"/api/v1/members/{world.owner.id}/channels", world.keys[Role.OWNER]
    )
    agent_adds = await platform.call("POST", path, agents, json=body)
    agent_removes = await platform.call("DELETE", f"{path}/{world.channel.id}", agents)
    agent_lists = await platform.call("GET", path, agents)
    unbound = await platform.call("GET", path, world.keys[Role.OWNER])
    unbound_adds = await platform.call("POST", path, world.keys[Role.OWNER], json=body)
    operator = await platform.operator("POST", path, world.tenant, json=body)
    removed = await platform.call("DELETE", f"{path}/{world.channel.id}", owners)
    after = await platform.call("GET", path, owners)

    assert none_yet.json() == {"items": [], "next": None}
    assert added.status_code == 201, added.text
    assert again.status_code == 200
    assert [c["id"] for c in listed.json()["items"]] == [world.channel.id]
    assert as_member.json() == listed.json()
    assert agent_adds.status_code == 403
    assert agent_removes.status_code == 403
    assert agent_lists.status_code == 200
    assert agent_lists.json()["items"] == []
    assert unbound.status_code == 404
    assert unbound_adds.status_code == 404
    assert operator.status_code == 404
    assert removed.status_code == 204
    assert after.json()["items"] == []
