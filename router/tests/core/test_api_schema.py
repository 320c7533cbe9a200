"""Schemathesis over `/api/v1`: whatever the OpenAPI allows (and much it does not), the router
answers without a 5xx, with a status code the OpenAPI declares and a body its schema describes.

Three passes: the operator's key (ROUTER_ADMIN_API_KEY) on SQLite and on PostgreSQL, a tenant
owner's key on SQLite. The key is configured as the auth of every case (not as a plain header), so
Schemathesis knows it is valid: on each operation that answers 2xx it also sends the request
without it, and with a wrong X-API-Key and a wrong bearer token, and requires 401 or 403 for each
(on SQLite: a key is checked before the store is read, the same on either).

The router runs in-process: Schemathesis' ASGI transport enters its lifespan on a thread of its own,
and its pytest plugin ends it with the test. The store holds real rows first (signed webhooks, the
Server and the Graph API mocked at the HTTP layer; a tenant and its owner key made through the
operator API; a member, a contact, a conversation and a schedule in each tenant), so the id-taking
endpoints find some of what they ask for.
"""

import asyncio
import itertools
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import AuthContext, Case, CheckContext, CheckFunction, GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from app.auth.roles import Role
from app.ignore_rules.models import IgnoreRule
from app.main import create_app
from app.settings import Settings

from ..backends import POSTGRES_DATABASE, fresh_postgres, restore_postgres, snapshot_postgres
from ..conftest import (
    ACCESS_TOKEN,
    ADMIN_KEY,
    APP_SECRET,
    SERVER_URL,
    RouterUnderTest,
    make_settings,
    running_router,
    server_reply,
)
from ..e2e.graph_standin import GraphStandIn
from ..factories import contacts, conversations, schedules, tenants
from ..factories.store import Sessions, add
from ..graph_api import GraphApi, accepted
from ..meta import fixture, signed, text_message
from ..support import in_thread

# Schemathesis draws some values with the `random` module inside its strategies, which Hypothesis
# warns about the first time it sees it (so only the first case that does fails): theirs to change.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)

DEFAULT_TENANT = 1  # the operator acts in it without X-Tenant-ID
FUZZ_TENANT = 2  # made by the seed, with its owner's key
UNDELIVERABLE = "15550009999"  # the Graph API refuses every send to this one for good

# Bounded so `make test` runs it in seconds (about 30 operations, two backends, two keys); each
# run draws new cases. The fuzzing phase's cases per operation: the coverage phase's (every
# boundary and every keyword broken, one at a time) come on top, and are most of the time.
MAX_EXAMPLES = 10


def _graph_api() -> Callable[[httpx.Request], httpx.Response]:
    sent = itertools.count(1)

    def send(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("to") == UNDELIVERABLE:
            error = {"message": "Message Undeliverable", "type": "OAuthException", "code": 131026}
            return httpx.Response(400, json={"error": error})
        return accepted(f"wamid.out{next(sent)}")

    return send


async def _seed_messages(router: RouterUnderTest) -> None:
    """A failed reply (ids 1 and 2, which Schemathesis tries first), a replied text and an ignored
    image, through signed webhooks."""
    image = fixture("message_image")
    image["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.image"
    bodies = [
        text_message("wamid.lost", "hi", wa_id=UNDELIVERABLE),
        text_message("wamid.hello", "hello"),
        image,
    ]
    for payload in bodies:
        body, headers = signed(APP_SECRET, payload)
        response = await router.client.post("/webhook", content=body, headers=headers)
        assert response.status_code == 200
    await router.settle()


async def _seed_tenant(router: RouterUnderTest) -> str:
    """A tenant and its first owner key, made as an operator makes them; returns the key."""
    tenant = await router.admin("POST", "/api/v1/tenants", json={"name": "Fuzz"})
    assert tenant.status_code == 201, tenant.text
    assert tenant.json()["id"] == FUZZ_TENANT
    key = await router.admin(
        "POST",
        f"/api/v1/tenants/{tenant.json()['id']}/api-keys",
        json={"name": "owner", "role": "owner"},
    )
    assert key.status_code == 201, key.text
    owner_key: str = key.json()["key"]
    return owner_key


async def _seed_objects(sessions: Sessions, tenant_id: int, channel_id: int) -> None:
    """A member, a contact, an open conversation, an ignore rule and a schedule of the tenant
    (its channel has its first agent already)."""
    await tenants.member(sessions, tenant_id, Role.AGENT, name=f"Agent {tenant_id}")
    contact = await contacts.contact(sessions, tenant_id, wa_id=f"1555000{tenant_id:04}")
    await conversations.conversation(sessions, tenant_id, channel_id, contact.id)
    await add(sessions, IgnoreRule(tenant_id=tenant_id, rule_type="keyword", value="stop"))
    await schedules.schedule(sessions, tenant_id, channel_id, contact.id)


async def _seed(settings: Settings, first_tenant: int) -> str:
    """The store's rows; returns the tenant owner's key. The tenant whose key the pass uses gets
    its objects first: the ids Schemathesis tries most (1, the schema's minimum) are its own."""
    graph = GraphApi().mock(side_effect=_graph_api())
    await graph.start()
    try:
        with respx.mock(assert_all_called=False, assert_all_mocked=True, using="httpx") as mock:
            mock.route(host="router").pass_through()
            mock.post(f"{SERVER_URL}/process").mock(side_effect=server_reply)
            async with running_router(settings) as router:
                await _seed_messages(router)
                owner_key = await _seed_tenant(router)
                # The default tenant (1) has the env's number as channel 1; the new tenant (2)
                # gets an api channel of its own.
                api_channel = await router.client.post(
                    "/api/v1/channels",
                    json={"type": "api", "name": "Web"},
                    headers={"X-API-Key": owner_key},
                )
                assert api_channel.status_code == 201, api_channel.text
                channels = {DEFAULT_TENANT: 1, FUZZ_TENANT: api_channel.json()["id"]}
                sessions: Sessions = router.state.sessions
                for tenant in sorted(channels, key=lambda t: t != first_tenant):
                    await _seed_objects(sessions, tenant, channels[tenant])
    finally:
        await graph.close()
    return owner_key


@dataclass(frozen=True)
class SeededStore:
    database_url: str  # each test gets it as seeded: a copy (SQLite), restored (PostgreSQL)
    owner_key: str


def _seeded_store(backend: str, first_tenant: int, directory: Path) -> SeededStore:
    if backend == "postgresql":
        database_url = asyncio.run(fresh_postgres(f"{POSTGRES_DATABASE}_seed{first_tenant}"))
    else:
        database_url = f"sqlite+aiosqlite:///{directory / 'router.db'}"
    owner_key = asyncio.run(_seed(make_settings(database_url=database_url), first_tenant))
    if backend == "postgresql":
        asyncio.run(snapshot_postgres(database_url.rsplit("/", 1)[1]))
    return SeededStore(database_url, owner_key)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


# Seeded once per backend and pass; each test takes a copy, so what one test's cases change (a
# revoked key, a deleted member) is not what the next test starts from.
@pytest.fixture(scope="module")
def operators_store(backend: str, tmp_path_factory: pytest.TempPathFactory) -> SeededStore:
    return _seeded_store(backend, DEFAULT_TENANT, tmp_path_factory.mktemp("operator"))


@pytest.fixture(scope="module")
def owners_store(backend: str, tmp_path_factory: pytest.TempPathFactory) -> SeededStore:
    return _seeded_store(backend, FUZZ_TENANT, tmp_path_factory.mktemp("owner"))


@pytest.fixture(scope="module")
def graph_url() -> Iterator[str]:
    """A Graph API for the routers Schemathesis runs: they run on a thread of their own and stop
    only after the test, so their sends (a replay's) need a Graph API of their own on a thread
    too, never the stand-in the next test serves at GRAPH_URL."""
    with in_thread(GraphStandIn(ACCESS_TOKEN).app) as url:
        yield url


def _router_on_a_copy(
    store: SeededStore, graph_url: str, mock_http: respx.MockRouter, directory: Path
) -> FastAPI:
    """A router, not started yet, on the seeded store as it was seeded: a copy of SQLite's
    file, PostgreSQL's database restored from its snapshot (the last test's router has ended)."""
    if store.database_url.startswith("postgresql"):
        database_url = asyncio.run(restore_postgres(store.database_url.rsplit("/", 1)[1]))
    else:
        seed = Path(store.database_url.removeprefix("sqlite+aiosqlite:///"))
        for part in seed.parent.glob(f"{seed.name}*"):  # with its WAL, if one was left
            shutil.copy(part, directory)
        database_url = f"sqlite+aiosqlite:///{directory / seed.name}"
    # A channel's token is checked with `GET /{version}/{phone_number_id}` first. Here Meta lets
    # every token use every number: what is fuzzed is the router's contract, and a refusal (a 422
    # the schema cannot foresee) would turn valid requests into failures.
    # tests/channels/test_channels.py covers the refusals.
    mock_http.get(url__regex=rf"^{re.escape(graph_url)}/v[0-9.]+/[0-9]+$").mock(
        return_value=httpx.Response(
            200, json={"display_phone_number": "+1 555 0100", "verified_name": "Fuzz"}
        )
    )
    return create_app(make_settings(database_url=database_url, whatsapp_graph_api_url=graph_url))


@pytest.fixture
def operators_router(
    operators_store: SeededStore,
    graph_url: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    tmp_path: Path,
) -> FastAPI:
    return _router_on_a_copy(operators_store, graph_url, mock_http, tmp_path)


@pytest.fixture
def owners_router(
    owners_store: SeededStore,
    graph_url: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    tmp_path: Path,
) -> FastAPI:
    return _router_on_a_copy(owners_store, graph_url, mock_http, tmp_path)


# The OpenAPI the router serves at /openapi.json. The app it comes from is never started: each
# test hands Schemathesis' ASGI transport a router of its own, on a seeded store. (Loading the
# schema from that router through `schemathesis.pytest.from_fixture` would be shorter, but it does
# not run on pytest 9.2: it sets `Function._nodeid`, which pytest no longer has.)
_described = create_app(make_settings())


def _schema() -> BaseSchema:
    schema = (
        schemathesis.openapi.from_dict(_described.openapi())
        .include(path_regex="^/api/v1/")
        # A stream that answers 200 never ends: a case would wait for its body until the test
        # times out. tests/events/test_events.py covers it (auth, tickets, replay) over real HTTP.
        .exclude(path="/api/v1/events", method="GET")
    )
    schema.app = _described
    return schema


as_operator = _schema()
as_operator_on_postgresql = _schema()
as_owner = _schema()
# The coverage phase walks every boundary of the schema and breaks every keyword, one at a time.
# A request that breaks one is refused by its validation before the store is touched, the same on
# either store and whoever calls: the operator's pass on SQLite sends them. Valid values at the
# boundaries (an id beyond what PostgreSQL's integer column holds, the longest name) do reach the
# store: the operator's pass on PostgreSQL and the owner's pass send those. What the owner's key
# changes (its tenant's objects only, 403 on the operator's endpoints, 401 on the messages API)
# valid cases reach, and random ones, both kinds, as well.
for _positive_only in (as_operator_on_postgresql, as_owner):
    _positive_only.config.phases.coverage.generation.update(modes=[GenerationMode.POSITIVE])
# The fuzzing phase's random cases, valid and not, reach the store the same way on either: the
# SQLite pass sends them. What PostgreSQL alone can refuse is a value at a boundary (an id beyond
# its integer column, the longest name), which the coverage phase sends.
as_operator_on_postgresql.config.phases.fuzzing.enabled = False


# The key each case carries, set as the auth of the schema's X-API-Key scheme. The owner's key is
# made by the seed, after the coverage phase's cases were drawn (at collection): they carry a
# stand-in, which the test swaps for the key of its store.
OWNER_KEY_STAND_IN = "the-seeded-owners-key"


def _set_key(case: Case[Any], key: str) -> None:
    case.headers["X-API-Key"] = key


class OperatorKey:
    def get(self, case: Case[Any], context: AuthContext) -> str:
        return ADMIN_KEY

    def set(self, case: Case[Any], data: str, context: AuthContext) -> None:
        _set_key(case, data)


as_operator.auth(refresh_interval=None)(OperatorKey)
as_operator_on_postgresql.auth(refresh_interval=None)(OperatorKey)


@as_owner.auth(refresh_interval=None)
class OwnerKey:
    def get(self, case: Case[Any], context: AuthContext) -> str:
        return OWNER_KEY_STAND_IN

    def set(self, case: Case[Any], data: str, context: AuthContext) -> None:
        _set_key(case, data)


# One router serves every case of a test: its store carries over from case to case (a replay
# changes it), as it would in production.
_bounded = settings(
    max_examples=MAX_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)


# Fields whose validity no JSON Schema can say: a cron expression's meaning (30 February, a range
# that runs backwards), an IANA zone's existence, a time past the calendar's end once read in its
# zone, a template on an api channel (which sends no WhatsApp templates), and a rule's pattern
# that RE2 cannot compile, or an agent's URL or a model API's base_url that is not http(s); a
# file's bytes (its type, its size, what its first bytes say it is) or a file's link that is not
# http(s). A request the schema allows may be refused for these alone, with a 422 naming the field
# (a file over its kind's limit: a 413).
BEYOND_A_SCHEMA = (
    "cron",
    "timezone",
    "send_at",
    "template",
    "rules",
    "url",
    "base_url",
    "file",
    "link",
)
WRITES_BEYOND_A_SCHEMA = {
    "POST /api/v1/messages",
    "POST /api/v1/conversations/{conversation_id}/messages",
    "POST /api/v1/schedules",
    "PATCH /api/v1/schedules/{schedule_id}",
    "POST /api/v1/agents",
    "PATCH /api/v1/agents/{agent_id}",
}


# Not registered (`@schemathesis.check` would run it on every operation): passed to the writes in
# WRITES_BEYOND_A_SCHEMA alone, in place of the positive_data_acceptance it stands for there.
def refused_only_for_what_no_schema_says(ctx: CheckContext, response: Any, case: Case[Any]) -> None:
    if (
        response.status_code != 422
        or case.meta is None
        or not case.meta.generation.mode.is_positive
    ):
        return
    body = response.json()
    if "error" in body:
        reasons = [body["error"]["message"]]
        assert all(map(_beyond_a_schema, reasons)), f"a schema-valid request refused: {body}"
        return
    # A union (an agent's config in a PATCH) is refused with every member's errors, each `loc`
    # naming its member (`["body", "config", "LlmConfig", "base_url"]`). The member the body
    # meant (no field of it missing, none unknown to it) must be refused only for what no schema
    # says.
    members: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for error in body["detail"]:
        loc = error["loc"]
        at = next((i for i, part in enumerate(loc) if str(part)[:1].isupper()), None)
        if at is None:
            members[tuple(loc)][""].append(error)
        else:
            members[tuple(loc[:at])][loc[at]].append(error)
    for union in members.values():
        assert any(_meant_and_beyond_a_schema(errors) for errors in union.values()), (
            f"a schema-valid request refused: {body}"
        )


def _meant_and_beyond_a_schema(errors: list[dict[str, Any]]) -> bool:
    return all(
        error["type"] not in ("missing", "extra_forbidden")
        and _beyond_a_schema(f"{error['loc'][-1]} {error['msg']}")
        for error in errors
    )


def _beyond_a_schema(reason: str) -> bool:
    return reason.startswith(BEYOND_A_SCHEMA) or any(
        f"{field}:" in reason for field in BEYOND_A_SCHEMA
    )


def _call_and_validate(case: Case[Any], app: FastAPI, *, auth_checked: bool = True) -> None:
    """`auth_checked`: whether a 2xx is followed by the same request without the key and with wrong
    ones (Schemathesis' ignored_auth check)."""
    excluded: list[CheckFunction] = [] if auth_checked else [ignored_auth]
    if case.operation.label in WRITES_BEYOND_A_SCHEMA:
        case.call_and_validate(
            app=app,
            excluded_checks=[*excluded, positive_data_acceptance],
            additional_checks=[refused_only_for_what_no_schema_says],
        )
    else:
        case.call_and_validate(app=app, excluded_checks=excluded)


@as_operator.parametrize()
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@_bounded
@pytest.mark.timeout(60)  # a few seconds as a rule; the default (120 s) is for the e2e tests
def test_the_api_answers_the_operator_as_its_openapi_says(
    case: Case[Any], operators_router: FastAPI
) -> None:
    _call_and_validate(case, operators_router)


@as_operator_on_postgresql.parametrize()
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@_bounded
@pytest.mark.timeout(60)
def test_the_api_answers_the_operator_on_postgresql_as_its_openapi_says(
    case: Case[Any], operators_router: FastAPI
) -> None:
    _call_and_validate(case, operators_router, auth_checked=False)


@as_owner.parametrize()
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@_bounded
@pytest.mark.timeout(60)
def test_the_api_answers_a_tenant_owner_as_its_openapi_says(
    case: Case[Any], owners_store: SeededStore, owners_router: FastAPI
) -> None:
    if isinstance(case.headers, MutableMapping) and (
        case.headers.get("X-API-Key") == OWNER_KEY_STAND_IN
    ):
        case.headers["X-API-Key"] = owners_store.owner_key
    _call_and_validate(case, owners_router)
