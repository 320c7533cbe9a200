"""`/api/v1/agents` and `/api/v1/ignore-rules`, and what they change in the message path: a
channel's agents asked in priority order, the reply recording its agent, ignored messages kept
with their rule's id."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select
from structlog.testing import capture_logs

from app.agents.models import Agent
from app.auth.roles import Role
from app.messages.models import Message

from ..backends import migrated_postgres
from ..conftest import (
    APP_SECRET,
    SERVER_URL,
    RouterUnderTest,
    make_settings,
    running_router,
    server_reply,
)
from ..factories import channels
from ..graph_api import GraphApi
from ..meta import WA_ID, fixture, signed, text_message
from ..world import Platform, World

LLM_URL = "http://llm.test/v1"
API_KEY = "sk-test-llm-key-5f2e"
RULES = [{"pattern": "hello|hi|hey", "response": "Hello from the FAQ"}]
FAQ: dict[str, Any] = {
    "name": "FAQ",
    "agent_type": "rule_based",
    "config": {"rules": RULES},
    "priority": 10,
}


def llm(**config: Any) -> dict[str, Any]:
    return {
        "name": "Model",
        "agent_type": "llm",
        "config": {"base_url": LLM_URL, "model": "small", "api_key": API_KEY} | config,
        "priority": 50,
    }


def completion(content: str) -> httpx.Response:
    return httpx.Response(
        200, json={"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    )


# --- the API -----------------------------------------------------------------------------------


async def test_a_new_channel_starts_with_the_server_as_its_agent(
    platform: Platform, world: World
) -> None:
    admin = world.keys[Role.ADMIN]
    made = await platform.call("POST", "/api/v1/channels", admin, json={"type": "api", "name": "W"})

    listed = await platform.call("GET", "/api/v1/agents", admin)

    [agent] = [a for a in listed.json()["items"] if made.json()["id"] in a["channel_ids"]]
    assert (agent["agent_type"], agent["priority"], agent["config"]) == ("http", 100, {})
    # The env's number (the default tenant's channel) has its own.
    default = await platform.operator("GET", "/api/v1/agents")
    assert [(a["agent_type"], a["channel_ids"]) for a in default.json()["items"]] == [("http", [1])]


async def test_an_agent_is_made_read_changed_and_deleted(platform: Platform, world: World) -> None:
    admin, viewer = world.keys[Role.ADMIN], world.keys[Role.VIEWER]
    body = FAQ | {"channel_ids": [world.channel.id]}

    made = await platform.call("POST", "/api/v1/agents", admin, json=body)
    agent_id = made.json()["id"]
    read = await platform.call("GET", f"/api/v1/agents/{agent_id}", viewer)
    changed = await platform.call(
        "PATCH", f"/api/v1/agents/{agent_id}", admin, json={"priority": 200, "channel_ids": []}
    )
    deleted = await platform.call("DELETE", f"/api/v1/agents/{agent_id}", admin)
    gone = await platform.call("GET", f"/api/v1/agents/{agent_id}", viewer)

    assert made.status_code == 201, made.text
    assert made.json()["config"]["rules"] == RULES
    assert made.json()["config"]["ignore_groups"] is True
    assert read.json() == made.json()
    assert (changed.json()["priority"], changed.json()["channel_ids"]) == (200, [])
    assert (deleted.status_code, gone.status_code) == (204, 404)


async def test_a_bad_pattern_is_a_422_naming_its_rule(platform: Platform, world: World) -> None:
    rules = [{"pattern": "fine", "response": "a"}, {"pattern": "(a|b", "response": "b"}]
    body = FAQ | {"config": {"rules": rules}}

    refused = await platform.call("POST", "/api/v1/agents", world.keys[Role.ADMIN], json=body)

    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert "rules[1].pattern" in error["msg"]


async def test_an_llm_agents_api_key_is_write_only(platform: Platform, world: World) -> None:
    admin = world.keys[Role.ADMIN]
    with capture_logs() as logs:
        made = await platform.call("POST", "/api/v1/agents", admin, json=llm())
        agent_id = made.json()["id"]
        patched = await platform.call(
            "PATCH",
            f"/api/v1/agents/{agent_id}",
            admin,
            json={"config": {"base_url": LLM_URL, "model": "bigger"}},
        )
        listed = await platform.call("GET", "/api/v1/agents", admin)
    async with platform.sessions() as session:
        stored = await session.get(Agent, agent_id)

    assert made.status_code == 201, made.text
    for answer in (made, patched, listed):
        assert API_KEY not in answer.text
    assert made.json()["config"]["api_key_set"] is True
    assert patched.json()["config"]["model"] == "bigger"
    assert stored is not None
    assert stored.config["api_key"] == API_KEY  # kept by the PATCH
    assert API_KEY not in repr(logs)


async def test_a_refused_llm_config_does_not_echo_its_api_key(
    platform: Platform, world: World
) -> None:
    body = llm(temperature="hot")
    del body["config"]["model"]

    refused = await platform.call("POST", "/api/v1/agents", world.keys[Role.ADMIN], json=body)

    assert refused.status_code == 422
    assert {tuple(e["loc"][-2:]) for e in refused.json()["detail"]} == {
        ("config", "model"),
        ("config", "temperature"),
    }
    assert API_KEY not in refused.text


async def test_a_config_of_another_type_is_409(platform: Platform, world: World) -> None:
    admin = world.keys[Role.ADMIN]
    made = await platform.call("POST", "/api/v1/agents", admin, json=FAQ)

    refused = await platform.call(
        "PATCH", f"/api/v1/agents/{made.json()['id']}", admin, json={"config": {}}
    )

    assert refused.status_code == 409


async def test_another_tenants_channel_is_404(platform: Platform, world: World) -> None:
    theirs = {"X-API-Key": world.other_key}
    agent = await platform.call(
        "POST", "/api/v1/agents", json=FAQ | {"channel_ids": [world.channel.id]}, headers=theirs
    )
    rule = await platform.call(
        "POST",
        "/api/v1/ignore-rules",
        json={"rule_type": "keyword", "value": "x", "channel_id": world.channel.id},
        headers=theirs,
    )

    assert (agent.status_code, rule.status_code) == (404, 404)


async def test_an_agent_made_without_channels_serves_every_channel_of_its_tenant(
    platform: Platform, world: World
) -> None:
    admin = world.keys[Role.ADMIN]
    theirs = await channels.channel(platform.sessions, world.other_tenant, "900900902")
    body = {"name": "Everywhere", "agent_type": "rule_based", "config": {"rules": RULES}}

    made = await platform.call("POST", "/api/v1/agents", admin, json=body)
    later = await channels.channel(platform.sessions, world.tenant, "900900901")
    read = await platform.call("GET", f"/api/v1/agents/{made.json()['id']}", admin)
    path = f"/api/v1/agents/{made.json()['id']}"
    pinned = await platform.call("PATCH", path, admin, json={"channel_ids": [later.id]})
    everywhere = await platform.call("PATCH", path, admin, json={"channel_ids": None})
    nowhere = await platform.call("POST", "/api/v1/agents", admin, json=body | {"channel_ids": []})

    assert made.status_code == 201, made.text
    assert (made.json()["all_channels"], made.json()["channel_ids"]) == (True, [world.channel.id])
    assert made.json()["priority"] == 50  # before the Server's agent (100)
    assert read.json()["channel_ids"] == [world.channel.id, later.id]  # and those added later
    assert theirs.id not in read.json()["channel_ids"]
    assert (pinned.json()["all_channels"], pinned.json()["channel_ids"]) == (False, [later.id])
    assert everywhere.json()["all_channels"] is True
    assert everywhere.json()["channel_ids"] == [world.channel.id, later.id]
    assert (nowhere.json()["all_channels"], nowhere.json()["channel_ids"]) == (False, [])


async def test_langgraph_is_the_llm_agent(platform: Platform, world: World) -> None:
    body = {"name": "Support", "agent_type": "langgraph", "config": {"model": "gpt-4o-mini"}}

    made = await platform.call("POST", "/api/v1/agents", world.keys[Role.ADMIN], json=body)

    assert made.status_code == 201, made.text
    assert made.json()["agent_type"] == "llm"
    assert made.json()["config"]["base_url"] is None  # OPENAI_BASE_URL's
    assert made.json()["config"]["api_key_set"] is False


async def test_an_ignore_rule_is_made_listed_and_deleted(platform: Platform, world: World) -> None:
    admin = world.keys[Role.ADMIN]
    body = {"rule_type": "message_type", "value": "Image", "channel_id": world.channel.id}

    made = await platform.call("POST", "/api/v1/ignore-rules", admin, json=body)
    listed = await platform.call("GET", "/api/v1/ignore-rules", world.keys[Role.VIEWER])
    deleted = await platform.call("DELETE", f"/api/v1/ignore-rules/{made.json()['id']}", admin)
    again = await platform.call("DELETE", f"/api/v1/ignore-rules/{made.json()['id']}", admin)

    assert made.status_code == 201, made.text
    assert made.json()["value"] == "image"
    assert made.json() in listed.json()["items"]  # beside the world's own rule
    assert (deleted.status_code, again.status_code) == (204, 404)


# --- the message path ----------------------------------------------------------------------------


class Bot:
    def __init__(self, router: RouterUnderTest) -> None:
        self.router = router

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.router.admin(method, path, **kwargs)
        assert response.status_code < 300, response.text
        return response

    async def write(self, wamid: str, text: str) -> None:
        await self.post(text_message(wamid, text))

    async def post(self, payload: Any) -> None:
        body, headers = signed(APP_SECRET, payload)
        response = await self.router.client.post("/webhook", content=body, headers=headers)
        assert response.status_code == 200, response.text
        await self.router.settle()

    async def message(self, wamid: str) -> Message:
        async with self.router.state.sessions() as session:
            found: Message | None = await session.scalar(
                select(Message).where(Message.wamid == wamid)
            )
            assert found is not None
            return found

    async def reply_to(self, wamid: str) -> Message | None:
        inbound = await self.message(wamid)
        async with self.router.state.sessions() as session:
            found: Message | None = await session.scalar(
                select(Message).where(Message.reply_to_id == inbound.id)
            )
            return found


@pytest.fixture(params=["sqlite", "postgresql"])
async def bot(
    request: pytest.FixtureRequest,
    database_url: str,
    server_route: respx.Route,
    graph_route: GraphApi,
) -> AsyncIterator[Bot]:
    """The env's number (channel 1, the default tenant's) and its agents, on each store."""
    url = await migrated_postgres() if request.param == "postgresql" else database_url
    async with running_router(make_settings(database_url=url)) as router:
        yield Bot(router)


async def server_agent(bot: Bot) -> int:
    agents = (await bot.api("GET", "/api/v1/agents")).json()["items"]
    [server] = [a["id"] for a in agents if a["agent_type"] == "http"]
    return int(server)


async def test_a_rule_agent_answers_its_pattern_and_the_server_the_rest(
    bot: Bot, server_route: respx.Route
) -> None:
    faq = (await bot.api("POST", "/api/v1/agents", json=FAQ | {"channel_ids": [1]})).json()

    await bot.write("wamid.hi", "Hi there")
    await bot.write("wamid.price", "what does it cost?")

    hi, price = await bot.reply_to("wamid.hi"), await bot.reply_to("wamid.price")
    assert hi is not None
    assert price is not None
    assert (hi.text, hi.sender, hi.agent_id) == ("Hello from the FAQ", "ai", faq["id"])
    assert price.agent_id == await server_agent(bot)
    assert [json.loads(c.request.content)["text"] for c in server_route.calls] == [
        "what does it cost?"
    ]
    page = (await bot.api("GET", "/api/v1/messages", params={"limit": 10})).json()["items"]
    assert {m["agent_id"] for m in page if m["reply_to_id"]} == {faq["id"], price.agent_id}


async def test_a_channel_without_agents_answers_nothing(
    bot: Bot, server_route: respx.Route
) -> None:
    await bot.api("DELETE", f"/api/v1/agents/{await server_agent(bot)}")

    await bot.write("wamid.alone", "anyone?")

    assert (await bot.message("wamid.alone")).status == "unanswered"
    assert await bot.reply_to("wamid.alone") is None
    assert not server_route.calls


async def test_an_ignored_keyword_is_kept_with_its_rule_and_never_answered(
    bot: Bot, server_route: respx.Route
) -> None:
    rule = (
        await bot.api(
            "POST", "/api/v1/ignore-rules", json={"rule_type": "keyword", "value": "unsubscribe"}
        )
    ).json()
    image_rule = (
        await bot.api(
            "POST", "/api/v1/ignore-rules", json={"rule_type": "message_type", "value": "image"}
        )
    ).json()

    await bot.write("wamid.stop", "Please UNSUBSCRIBE me")
    await bot.post(fixture("message_image"))
    await bot.write("wamid.later", "unsubscribed? no, a question")  # not the whole word

    stop = await bot.message("wamid.stop")
    assert (stop.status, stop.ignored_by_rule_id) == ("ignored", rule["id"])
    assert await bot.reply_to("wamid.stop") is None
    image = await bot.message(
        fixture("message_image")["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    )
    assert (image.status, image.ignored_by_rule_id) == ("ignored", image_rule["id"])
    assert (await bot.message("wamid.later")).status == "replied"
    assert [json.loads(c.request.content)["text"] for c in server_route.calls] == [
        "unsubscribed? no, a question"
    ]
    # Still in its conversation, with the rule's id.
    conversation = stop.conversation_id
    shown = (await bot.api("GET", f"/api/v1/conversations/{conversation}/messages")).json()
    [kept] = [m for m in shown["items"] if m["id"] == stop.id]
    assert (kept["status"], kept["ignored_by_rule_id"]) == ("ignored", rule["id"])


async def test_an_llm_agent_gets_the_conversations_history_and_answers_its_triggers(
    bot: Bot, mock_http: respx.MockRouter, server_route: respx.Route
) -> None:
    model = mock_http.post(f"{LLM_URL}/chat/completions").mock(
        return_value=completion("Our plans start at 5 a month")
    )
    body = llm(trigger_keywords=["price"], system_prompt="Be brief.", history_messages=2)
    agent = (await bot.api("POST", "/api/v1/agents", json=body | {"channel_ids": [1]})).json()

    await bot.write("wamid.1", "hello")  # no trigger: the Server answers
    await bot.write("wamid.2", "What is the PRICE?")

    answer = await bot.reply_to("wamid.2")
    assert answer is not None
    assert (answer.text, answer.agent_id) == ("Our plans start at 5 a month", agent["id"])
    [call] = model.calls
    sent = json.loads(call.request.content)
    server_said = server_reply(httpx.Request("POST", SERVER_URL, json={"text": "hello"}))
    assert sent["model"] == "small"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": server_said.json()["reply"]},
        {"role": "user", "content": "What is the PRICE?"},
    ]
    assert call.request.headers["authorization"] == f"Bearer {API_KEY}"


async def test_an_unreachable_llm_fails_the_message_after_the_retries(
    bot: Bot, mock_http: respx.MockRouter
) -> None:
    model = mock_http.post(f"{LLM_URL}/chat/completions").mock(
        side_effect=httpx.ConnectError("refused")
    )
    await bot.api("POST", "/api/v1/agents", json=llm() | {"channel_ids": [1]})

    with capture_logs() as logs:
        await bot.write("wamid.down", "hello")

    down = await bot.message("wamid.down")
    assert down.status == "failed"
    assert down.error_title is not None
    assert "unreachable" in down.error_title
    assert model.call_count == 4  # ROUTER_RETRY_MAX_ATTEMPTS in the tests
    assert API_KEY not in repr(logs)
    assert await bot.reply_to("wamid.down") is None


async def test_an_edit_is_seen_at_once_by_the_process_that_made_it(
    bot: Bot, server_route: respx.Route
) -> None:
    await bot.write("wamid.before", "hi")  # the channel's agents are now kept in memory
    faq = (await bot.api("POST", "/api/v1/agents", json=FAQ | {"channel_ids": [1]})).json()

    await bot.write("wamid.after", "hi")

    after = await bot.reply_to("wamid.after")
    assert after is not None
    assert after.agent_id == faq["id"]


ORDERS_URL = "http://orders.test/process"
OTHER_WA_ID = "15550001111"


def answering_orders(agent_type: str, mock_http: respx.MockRouter) -> dict[str, Any]:
    """An agent of `agent_type` answering "Order desk" to whatever it is asked."""
    if agent_type == "http":
        mock_http.post(ORDERS_URL).respond(200, json={"reply": "Order desk"})
        return {"url": ORDERS_URL}
    if agent_type == "llm":
        mock_http.post(f"{LLM_URL}/chat/completions").mock(return_value=completion("Order desk"))
        return {"base_url": LLM_URL, "model": "small"}
    return {"rules": [{"pattern": ".", "response": "Order desk"}]}


@pytest.mark.parametrize("agent_type", ["http", "rule_based", "llm"])
async def test_whom_an_agent_answers_is_the_same_check_for_every_type(
    bot: Bot, mock_http: respx.MockRouter, server_route: respx.Route, agent_type: str
) -> None:
    contact = (await bot.api("POST", "/api/v1/contacts", json={"wa_id": WA_ID})).json()
    audience = {"allowed_contacts": [contact["id"]], "trigger_keywords": ["order"]}
    config = answering_orders(agent_type, mock_http) | audience
    await bot.api(
        "POST",
        "/api/v1/agents",
        json={"name": "Orders", "agent_type": agent_type, "config": config},
    )

    await bot.write("wamid.mine", "Where is my ORDER?")
    await bot.post(text_message("wamid.theirs", "my order", wa_id=OTHER_WA_ID, user_id=None))
    await bot.write("wamid.nokeyword", "hello")

    answers = [await bot.reply_to(w) for w in ("wamid.mine", "wamid.theirs", "wamid.nokeyword")]
    assert [a.text if a else None for a in answers] == [
        "Order desk",
        server_reply(httpx.Request("POST", SERVER_URL, json={"text": "my order"})).json()["reply"],
        server_reply(httpx.Request("POST", SERVER_URL, json={"text": "hello"})).json()["reply"],
    ]


async def test_the_envs_llm_key_goes_to_the_envs_endpoint_only(
    database_url: str, mock_http: respx.MockRouter, server_route: respx.Route, graph_route: GraphApi
) -> None:
    env_url, env_key = "http://openai.test/v1", "sk-env-key-0a9d"
    at_env = mock_http.post(f"{env_url}/chat/completions").mock(return_value=completion("env"))
    at_own = mock_http.post(f"{LLM_URL}/chat/completions").mock(return_value=completion("own"))
    settings = make_settings(
        database_url=database_url, openai_base_url=env_url, openai_api_key=env_key
    )
    async with running_router(settings) as router:
        bot = Bot(router)
        own_host = llm(trigger_keywords=["mine"]) | {"priority": 10}
        del own_host["config"]["api_key"]
        own_key = llm(trigger_keywords=["theirs"]) | {"priority": 20}
        del own_key["config"]["base_url"]
        for body in (own_host, own_key):
            await bot.api("POST", "/api/v1/agents", json=body)

        await bot.write("wamid.mine", "mine")
        await bot.write("wamid.theirs", "theirs")

    [to_own_host] = at_own.calls
    [to_env_host] = at_env.calls
    assert "authorization" not in to_own_host.request.headers  # never the env's key
    assert to_env_host.request.headers["authorization"] == f"Bearer {API_KEY}"  # its own
