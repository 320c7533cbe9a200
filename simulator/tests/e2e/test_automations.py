"""Agents and ignore rules end to end, through real processes: a rule agent answers its pattern and
the Server the rest, an ignored keyword gets no reply, an llm agent (a stub the test starts)
answers with the conversation's history. Each on a tenant and number of its own, so the other
modules' tenants keep their agents.

Absence is proven with a barrier: a later message's reply must come, and only then is the earlier
one checked for none.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ..support import wait_until_sync
from .conftest import ADMIN_KEY, REPLY, System
from .llm_stub import LlmStub, llm_stub
from .test_platform import add_business, api, created, replied_to, settled_as, texts, write

pytestmark = pytest.mark.e2e

NUMBER = "4455667788990"
TOKEN = "e2e-automations-token-3c9d"  # noqa: S105 - a test value, made up here
LLM_KEY = "e2e-llm-key-81f0"


@dataclass
class AutomationsCompany:
    tenant_id: int
    key: str  # its owner's
    channel_id: int


@pytest.fixture(scope="module")
def automations_company(system: System) -> AutomationsCompany:
    add_business(system, NUMBER, TOKEN, "Automations Company")
    tenant = created(
        api(system, "POST", "/api/v1/tenants", ADMIN_KEY, json={"name": "Automations Company"})
    )
    key = created(
        api(
            system,
            "POST",
            f"/api/v1/tenants/{tenant['id']}/api-keys",
            ADMIN_KEY,
            json={"name": "setup", "role": "owner"},
        )
    )["key"]
    channel = created(
        api(
            system,
            "POST",
            "/api/v1/channels",
            key,
            json={
                "type": "whatsapp",
                "name": "Automations Company",
                "phone_number_id": NUMBER,
                "access_token": TOKEN,
            },
        )
    )
    return AutomationsCompany(tenant["id"], key, channel["id"])


@pytest.fixture(scope="module")
def stub() -> Iterator[LlmStub]:
    with llm_stub() as running:
        yield running


def inbound(system: System, key: str, wamid: str) -> dict[str, Any]:
    page = api(system, "GET", "/api/v1/messages", key, params={"limit": 500}).json()["items"]
    [found] = [m for m in page if m["wamid"] == wamid]
    return dict(found)


def test_a_rule_agent_answers_its_pattern_and_passes_the_rest_to_the_server(
    system: System, automations_company: AutomationsCompany
) -> None:
    faq = created(
        api(
            system,
            "POST",
            "/api/v1/agents",
            automations_company.key,
            json={
                "name": "FAQ",
                "agent_type": "rule_based",
                "config": {
                    "rules": [{"pattern": "opening hours|open when", "response": "We open at 9."}]
                },
                "channel_ids": [automations_company.channel_id],
                "priority": 10,
            },
        )
    )
    user = "15550900001"
    system.new_user(user)

    asked = write(system, user, "What are your OPENING HOURS?", NUMBER)
    write(system, user, "something else", NUMBER)

    sent = replied_to(system, user, NUMBER, "something else")  # the Server's
    assert sent[0] == "We open at 9."
    assert REPLY.match(sent[1])
    # The reply records the agent that wrote it.
    replies = [
        m
        for m in api(
            system, "GET", "/api/v1/messages", automations_company.key, params={"limit": 50}
        ).json()["items"]
        if m["reply_to_id"]
        == inbound(system, automations_company.key, asked["messages"][0]["wamid"])["id"]
    ]
    assert [(m["sender"], m["agent_id"]) for m in replies] == [("ai", faq["id"])]
    api(system, "DELETE", f"/api/v1/agents/{faq['id']}", automations_company.key)


def test_an_ignored_keyword_gets_no_reply(
    system: System, automations_company: AutomationsCompany
) -> None:
    rule = created(
        api(
            system,
            "POST",
            "/api/v1/ignore-rules",
            automations_company.key,
            json={
                "rule_type": "keyword",
                "value": "stop",
                "channel_id": automations_company.channel_id,
            },
        )
    )
    user = "15550900002"
    system.new_user(user)

    ignored = write(system, user, "STOP sending me things", NUMBER)
    write(system, user, "a later question", NUMBER)

    # Barrier: the later message is answered, so the ignored one was decided before it.
    sent = replied_to(system, user, NUMBER, "a later question")
    assert len(sent) == 1
    wamid = ignored["messages"][0]["wamid"]
    settled_as(system, automations_company.key, wamid, "ignored")
    assert inbound(system, automations_company.key, wamid)["ignored_by_rule_id"] == rule["id"]
    assert not any("STOP sending" in text for text in texts(system, user, NUMBER))
    api(system, "DELETE", f"/api/v1/ignore-rules/{rule['id']}", automations_company.key)


def test_an_llm_agent_answers_with_the_conversations_history(
    system: System, automations_company: AutomationsCompany, stub: LlmStub
) -> None:
    user = "15550900003"
    system.new_user(user)
    write(system, user, "first, for the Server", NUMBER)
    [server_said] = replied_to(system, user, NUMBER, "first, for the Server")
    model = created(
        api(
            system,
            "POST",
            "/api/v1/agents",
            automations_company.key,
            json={
                "name": "Model",
                "agent_type": "llm",
                "config": {
                    "base_url": stub.url,
                    "model": "stub-small",
                    "api_key": LLM_KEY,
                    "system_prompt": "Answer briefly.",
                    "history_messages": 4,
                },
                "channel_ids": [automations_company.channel_id],
                "priority": 20,
            },
        )
    )

    write(system, user, "and now for the model", NUMBER)

    answer = "stub answer to 'and now for the model'"
    assert wait_until_sync(lambda: answer in texts(system, user, NUMBER), timeout=15), texts(
        system, user, NUMBER
    )
    [request] = stub.requests
    assert request["model"] == "stub-small"
    assert request["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "first, for the Server"},
        {"role": "assistant", "content": server_said},
        {"role": "user", "content": "and now for the model"},
    ]
    assert stub.headers[0]["authorization"] == f"Bearer {LLM_KEY}"
    assert LLM_KEY not in system.router.logs()
    assert model["config"]["api_key_set"] is True
    assert LLM_KEY not in str(model)
    api(system, "DELETE", f"/api/v1/agents/{model['id']}", automations_company.key)
