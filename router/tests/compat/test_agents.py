"""The multi-number platform's agents, posted exactly as its examples write them, answer the
messages they match; the Server answers the rest. Meta's webhooks come signed, the replies are
read where they went (the Graph API), and the model is mocked at the HTTP layer."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from ..agents.test_agents import Bot, completion
from ..backends import migrated_postgres
from ..conftest import (
    GRAPH_URL,
    GRAPH_VERSION,
    SERVER_URL,
    make_settings,
    running_router,
    server_reply,
)
from ..graph_api import GraphApi
from ..meta import PHONE_NUMBER_ID, WA_ID, text_message

LLM_URL = "http://llm.test/v1"
ENV_KEY = "sk-env-openai-key-77c1"
SOMEONE_ELSE = "15550009999"
NEW_NUMBER = "106540352242922"
NEW_TOKEN = "EAAG-added-later-token"

FAQ_HELLO = "Hello! How can I help you?"
SUPPORT_PROMPT = "You are a helpful customer support agent."
MODEL_ANSWER = "Sorry to hear that: what is your order number?"


def faq_bot(contact_id: int) -> dict[str, Any]:
    return {
        "name": "FAQ Bot",
        "agent_type": "rule_based",
        "config": {
            "rules": [
                {"pattern": "hello|hi|hey", "response": "Hello! How can I help you?"},
                {"pattern": "hours|schedule", "response": "We're open Mon-Fri 9am-6pm."},
            ],
            "allowed_contacts": [contact_id],
            "ignore_groups": True,
        },
    }


SUPPORT_AGENT: dict[str, Any] = {
    "name": "Support Agent",
    "agent_type": "langgraph",
    "config": {
        "model": "gpt-4o-mini",
        "temperature": 0.7,
        "system_prompt": "You are a helpful customer support agent.",
        "trigger_keywords": ["help", "support", "question"],
        "allowed_contacts": [],
        "ignore_groups": False,
    },
}


def server_says(text: str) -> str:
    answer = server_reply(httpx.Request("POST", SERVER_URL, json={"text": text}))
    return str(answer.json()["reply"])


@dataclass
class Platform:
    bot: Bot
    graph: GraphApi
    model: respx.Route
    contact_id: int  # the contact the FAQ Bot serves, WA_ID
    agents: tuple[dict[str, Any], dict[str, Any]]  # as the API answered them

    async def write(self, wamid: str, text: str, *, wa_id: str = WA_ID, number: str = "") -> str:
        """Meta's webhook of `text` from `wa_id` to `number` (the env's by default); the reply
        that went to the Graph API."""
        body = text_message(wamid, text, wa_id=wa_id, user_id=None)
        if number:
            body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = number
        sent = self.graph.call_count
        await self.bot.post(body)
        [reply] = self.graph.calls[sent:]
        payload = json.loads(reply.request.content)
        assert payload["to"] == wa_id
        assert reply.request.url.path == f"/v{GRAPH_VERSION}/{number or PHONE_NUMBER_ID}/messages"
        return str(payload["text"]["body"])


@pytest.fixture(params=["sqlite", "postgresql"])
async def platform(
    request: pytest.FixtureRequest,
    database_url: str,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    graph_route: GraphApi,
) -> AsyncIterator[Platform]:
    """The env's number, with the two agents of the platform's examples posted as written."""
    url = await migrated_postgres() if request.param == "postgresql" else database_url
    model = mock_http.post(f"{LLM_URL}/chat/completions").mock(
        return_value=completion(MODEL_ANSWER)
    )
    settings = make_settings(database_url=url, openai_base_url=LLM_URL, openai_api_key=ENV_KEY)
    async with running_router(settings) as router:
        bot = Bot(router)
        # As the platform writes a phone number: with its +.
        contact = await bot.api("POST", "/api/v1/contacts", json={"wa_id": f"+{WA_ID}"})
        contact_id = contact.json()["id"]
        faq = await router.admin("POST", "/api/v1/agents", json=faq_bot(contact_id))
        support = await router.admin("POST", "/api/v1/agents", json=SUPPORT_AGENT)
        assert (faq.status_code, support.status_code) == (201, 201), (faq.text, support.text)
        yield Platform(bot, graph_route, model, contact_id, (faq.json(), support.json()))


async def test_the_examples_are_accepted_as_written(platform: Platform) -> None:
    faq, support = platform.agents

    assert (faq["agent_type"], support["agent_type"]) == ("rule_based", "llm")
    assert faq["config"]["allowed_contacts"] == [platform.contact_id]
    assert support["config"]["api_key_set"] is False  # the env's key is used
    assert ENV_KEY not in json.dumps(support)
    for agent in (faq, support):
        assert (agent["all_channels"], agent["channel_ids"]) == (True, [1])
        assert agent["priority"] < 100  # before the Server's


async def test_the_faq_bot_answers_its_contact_and_the_server_everyone_else(
    platform: Platform,
) -> None:
    assert await platform.write("wamid.c1", "hello") == FAQ_HELLO
    assert await platform.write("wamid.c2", "your hours?") == "We're open Mon-Fri 9am-6pm."
    assert await platform.write("wamid.o1", "hello", wa_id=SOMEONE_ELSE) == server_says("hello")
    assert not platform.model.called


async def test_the_support_agent_answers_its_keywords_with_the_model(platform: Platform) -> None:
    await platform.write("wamid.c1", "hello")

    with capture_logs() as logs:
        assert await platform.write("wamid.c2", "I need help") == MODEL_ANSWER
    assert await platform.write("wamid.c3", "Where is my order") == server_says("Where is my order")
    [call] = platform.model.calls
    sent = json.loads(call.request.content)
    assert (sent["model"], sent["temperature"]) == ("gpt-4o-mini", 0.7)
    assert sent["messages"] == [
        {"role": "system", "content": SUPPORT_PROMPT},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": FAQ_HELLO},
        {"role": "user", "content": "I need help"},
    ]
    assert call.request.url == f"{LLM_URL}/chat/completions"  # OPENAI_BASE_URL
    assert call.request.headers["authorization"] == f"Bearer {ENV_KEY}"  # OPENAI_API_KEY
    assert ENV_KEY not in repr(logs)


async def test_a_number_added_after_the_agents_is_served_by_them(
    platform: Platform, mock_http: respx.MockRouter
) -> None:
    mock_http.get(f"{GRAPH_URL}/v{GRAPH_VERSION}/{NEW_NUMBER}").respond(
        200, json={"display_phone_number": "+1 555-0199", "id": NEW_NUMBER}
    )
    added = await platform.bot.api(
        "POST",
        "/api/v1/channels",
        json={
            "type": "whatsapp",
            "name": "Second number",
            "phone_number_id": NEW_NUMBER,
            "access_token": NEW_TOKEN,
        },
    )

    write = platform.write
    assert await write("wamid.n1", "hey", number=NEW_NUMBER) == FAQ_HELLO
    assert await write("wamid.n2", "a question", number=NEW_NUMBER) == MODEL_ANSWER
    assert await write("wamid.n3", "bye", wa_id=SOMEONE_ELSE, number=NEW_NUMBER) == server_says(
        "bye"
    )
    assert platform.graph.calls.last.request.headers["authorization"] == f"Bearer {NEW_TOKEN}"
    faq = await platform.bot.api("GET", f"/api/v1/agents/{platform.agents[0]['id']}")
    assert faq.json()["channel_ids"] == [1, added.json()["id"]]
