"""Every platform endpoint against the rules that hold for all of them: no key or a bad one 401,
another tenant's key on an object 404 (never 403), a role that may not 403."""

from dataclasses import dataclass, field
from typing import Any

from app.auth import keys
from app.auth.roles import Role

from ..conftest import ADMIN_KEY, openapi_document
from ..meta import PHONE_NUMBER_ID
from ..world import Platform, World

EVERYONE = frozenset(Role)
OWNER = frozenset({Role.OWNER})
ADMINS = frozenset({Role.OWNER, Role.ADMIN})
AGENTS = frozenset({Role.OWNER, Role.ADMIN, Role.AGENT})
OPERATOR = frozenset[Role]()


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # its template; the world's objects fill it in
    allowed: frozenset[Role]
    body: dict[str, Any] | None = None
    on_object: bool = field(default=False)
    ok: int = 200  # what a GET answers a role that may: past the checks of who may call

    def json(self, world: World) -> dict[str, Any] | None:
        if self.body is None or "channel_id" not in self.body:
            return self.body
        return {**self.body, "channel_id": world.channel.id}

    def url(self, world: World) -> str:
        return self.path.format(
            tenant_id=world.tenant,
            key_id=world.api_key_id,
            member_id=world.agent.id,
            channel_id=world.channel.id,
            contact_id=world.contact.id,
            conversation_id=world.conversation.id,
            agent_id=world.agent_id,
            rule_id=world.ignore_rule_id,
            schedule_id=world.schedule.id,
        )


CONVERSATION = "/api/v1/conversations/{conversation_id}"
SCHEDULE = "/api/v1/schedules/{schedule_id}"
MEMBER_CHANNELS = "/api/v1/members/{member_id}/channels"
A_SCHEDULE = {"channel_id": 1, "to": "15550001234", "text": "hi", "cron": "0 9 * * *"}
ENDPOINTS = [
    Endpoint("POST", "/api/v1/tenants", OPERATOR, {"name": "Third Company"}),
    Endpoint(
        "POST", "/api/v1/tenants/{tenant_id}/api-keys", OPERATOR, {"name": "k", "role": "owner"}
    ),
    Endpoint("GET", "/api/v1/api-keys", OWNER),
    Endpoint("POST", "/api/v1/api-keys", OWNER, {"name": "k", "role": "viewer"}),
    Endpoint("DELETE", "/api/v1/api-keys/{key_id}", OWNER, on_object=True),
    Endpoint("GET", "/api/v1/members", EVERYONE),
    Endpoint("POST", "/api/v1/members", OWNER, {"name": "Member", "role": "viewer"}),
    Endpoint("PATCH", "/api/v1/members/{member_id}", OWNER, {"name": "Member"}, on_object=True),
    Endpoint("DELETE", "/api/v1/members/{member_id}", OWNER, on_object=True),
    Endpoint("GET", MEMBER_CHANNELS, ADMINS, on_object=True),
    Endpoint("POST", MEMBER_CHANNELS, ADMINS, {"channel_id": 0}, on_object=True),
    Endpoint("DELETE", MEMBER_CHANNELS + "/{channel_id}", ADMINS, on_object=True),
    # The world's keys act as no member: 404 past the checks of who may call.
    Endpoint("GET", "/api/v1/users/me", EVERYONE, ok=404),
    Endpoint("GET", "/api/v1/users/me/devices", EVERYONE, ok=404),
    Endpoint("POST", "/api/v1/users/me/devices", ADMINS, {"channel_id": 0}),
    Endpoint("DELETE", "/api/v1/users/me/devices/{channel_id}", ADMINS),
    Endpoint("GET", "/api/v1/channels", EVERYONE),
    Endpoint("POST", "/api/v1/channels", ADMINS, {"type": "api", "name": "Web"}),
    Endpoint("GET", "/api/v1/channels/{channel_id}", EVERYONE, on_object=True),
    Endpoint("PATCH", "/api/v1/channels/{channel_id}", ADMINS, {"name": "Support"}, on_object=True),
    Endpoint("DELETE", "/api/v1/channels/{channel_id}", ADMINS, on_object=True),
    Endpoint("GET", "/api/v1/contacts", EVERYONE),
    Endpoint("POST", "/api/v1/contacts", ADMINS, {"wa_id": "15550009999"}),
    Endpoint("GET", "/api/v1/contacts/{contact_id}", EVERYONE, on_object=True),
    Endpoint("PATCH", "/api/v1/contacts/{contact_id}", ADMINS, {"name": "G"}, on_object=True),
    Endpoint("POST", "/api/v1/contacts/{contact_id}/block", ADMINS, on_object=True),
    Endpoint("DELETE", "/api/v1/contacts/{contact_id}/block", ADMINS, on_object=True),
    Endpoint("DELETE", "/api/v1/contacts/{contact_id}/media", ADMINS, on_object=True),
    Endpoint("GET", "/api/v1/conversations", EVERYONE),
    Endpoint("GET", CONVERSATION, EVERYONE, on_object=True),
    Endpoint("GET", CONVERSATION + "/messages", EVERYONE, on_object=True),
    Endpoint("POST", CONVERSATION + "/read", EVERYONE, on_object=True),
    Endpoint("POST", CONVERSATION + "/messages", AGENTS, {"text": "hi"}, on_object=True),
    Endpoint("POST", CONVERSATION + "/transfer", AGENTS, {"new_owner_id": None}, on_object=True),
    Endpoint("POST", CONVERSATION + "/transfer-toggle", AGENTS, on_object=True),
    Endpoint("POST", CONVERSATION + "/close", AGENTS, on_object=True),
    Endpoint("POST", CONVERSATION + "/reopen", AGENTS, on_object=True),
    Endpoint("GET", "/api/v1/me", EVERYONE),
    Endpoint("POST", "/api/v1/events/ticket", EVERYONE),
    Endpoint("GET", "/api/v1/schedules", EVERYONE),
    Endpoint("POST", "/api/v1/schedules", ADMINS, A_SCHEDULE),
    Endpoint("GET", SCHEDULE, EVERYONE, on_object=True),
    Endpoint("PATCH", SCHEDULE, ADMINS, {"text": "hello"}, on_object=True),
    Endpoint("DELETE", SCHEDULE, ADMINS, on_object=True),
    # The world's channel has no WABA id yet: a 409 past the checks of who may call.
    Endpoint("GET", "/api/v1/templates?channel_id={channel_id}", EVERYONE, on_object=True, ok=409),
    Endpoint(
        "POST",
        "/api/v1/messages",
        AGENTS,
        {"channel_id": 0, "to": "15550009999", "template": {"name": "t", "language": "en_US"}},
        on_object=True,
    ),
    Endpoint("GET", "/api/v1/agents", EVERYONE),
    Endpoint("POST", "/api/v1/agents", ADMINS, {"name": "Web", "agent_type": "http"}),
    Endpoint("GET", "/api/v1/agents/{agent_id}", EVERYONE, on_object=True),
    Endpoint("PATCH", "/api/v1/agents/{agent_id}", ADMINS, {"priority": 5}, on_object=True),
    Endpoint("DELETE", "/api/v1/agents/{agent_id}", ADMINS, on_object=True),
    Endpoint("GET", "/api/v1/ignore-rules", EVERYONE),
    Endpoint("POST", "/api/v1/ignore-rules", ADMINS, {"rule_type": "keyword", "value": "stop"}),
    Endpoint("DELETE", "/api/v1/ignore-rules/{rule_id}", ADMINS, on_object=True),
]
# Answered 200, never ends: tests/events/test_events.py checks its keys, tickets and tenants.
STREAMS = {"GET /api/v1/events"}


async def statuses(
    platform: Platform, world: World, endpoints: list[Endpoint], **kwargs: Any
) -> dict[str, int]:
    answers = {}
    for endpoint in endpoints:
        response = await platform.call(
            endpoint.method, endpoint.url(world), json=endpoint.json(world), **kwargs
        )
        answers[f"{endpoint.method} {endpoint.path}"] = response.status_code
    return answers


def expect(status: int | None, endpoints: list[Endpoint]) -> dict[str, int]:
    """Every endpoint answering `status`; None: each its `ok`."""
    return {f"{e.method} {e.path}": status or e.ok for e in endpoints}


def test_the_matrix_covers_every_platform_endpoint() -> None:
    paths = openapi_document()["paths"]
    operator_only = ("/api/v1/messages", "/api/v1/monitoring")  # ROUTER_ADMIN_API_KEY alone
    served = {
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        if path.startswith("/api/v1/")
        for method in operations
        # Sending is a tenant's (an agent's role or more); the rest of /api/v1/messages is not.
        if not path.startswith(operator_only) or (method, path) == ("post", "/api/v1/messages")
    }

    assert served - STREAMS == {f"{e.method} {e.path.partition('?')[0]}" for e in ENDPOINTS}


async def test_no_key_is_401_everywhere(platform: Platform, world: World) -> None:
    assert await statuses(platform, world, ENDPOINTS) == expect(401, ENDPOINTS)


async def test_a_bad_key_is_401_everywhere(platform: Platform, world: World) -> None:
    real = keys.parse(world.keys[Role.OWNER])
    assert real is not None
    bad_keys = [
        "nope",
        ADMIN_KEY + "x",
        keys.new_key().key,  # well-formed, never issued
        f"{keys.PREFIX}{real.public_id}_{'x' * 43}",  # a real key's id with another secret
    ]
    for bad in bad_keys:
        answers = await statuses(platform, world, ENDPOINTS, headers={"X-API-Key": bad})
        assert answers == expect(401, ENDPOINTS), bad


async def test_another_tenants_key_finds_none_of_our_objects(
    platform: Platform, world: World
) -> None:
    on_objects = [e for e in ENDPOINTS if e.on_object]
    theirs = {"X-API-Key": world.other_key}
    operator_there = {"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(world.other_tenant)}
    ours_named_there = {
        "X-API-Key": world.keys[Role.OWNER],
        "X-Tenant-ID": str(world.other_tenant),
    }

    for headers in (theirs, operator_there, ours_named_there):
        answers = await statuses(platform, world, on_objects, headers=headers)
        assert answers == expect(404, on_objects), headers


async def test_a_role_that_may_not_is_403(platform: Platform, world: World) -> None:
    for role in Role:
        denied = [e for e in ENDPOINTS if role not in e.allowed]
        answers = await statuses(platform, world, denied, headers={"X-API-Key": world.keys[role]})
        assert answers == expect(403, denied), role


async def test_every_role_reads_what_it_may(platform: Platform, world: World) -> None:
    for role in Role:
        reads = [e for e in ENDPOINTS if e.method == "GET" and role in e.allowed]
        answers = await statuses(platform, world, reads, headers={"X-API-Key": world.keys[role]})
        assert answers == expect(None, reads), role


async def test_the_operator_may_do_everything_in_the_tenant_it_names(
    platform: Platform, world: World
) -> None:
    reads = [e for e in ENDPOINTS if e.method == "GET"]
    answers = await statuses(
        platform,
        world,
        reads,
        headers={"X-API-Key": ADMIN_KEY, "X-Tenant-ID": str(world.tenant)},
    )
    unnamed = await platform.call("GET", "/api/v1/channels", ADMIN_KEY)

    assert answers == expect(None, reads)
    # Without X-Tenant-ID the operator acts in the default tenant: the env's number is its channel.
    assert unnamed.status_code == 200
    assert [c["phone_number_id"] for c in unnamed.json()["items"]] == [PHONE_NUMBER_ID]
