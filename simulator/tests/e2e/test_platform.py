"""The platform end to end, through real processes: two numbers of two tenants on one Router,
handing a conversation to a person and back, a blocked contact, a number no channel has.

Absence is proven with barriers, never with a pause: the Router's record that it decided not to
answer a message (its final status) comes first, and only then is the Simulator asked what was
sent; or a later message whose reply must come after any reply to the earlier one.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ..support import wait_until_sync
from .conftest import ADMIN_KEY, PHONE_ID, REPLY, System

pytestmark = pytest.mark.e2e

SECOND_NUMBER = "2233445566778"
SECOND_TOKEN = "e2e-second-number-token-5e1c"  # noqa: S105 - a test value, made up here
UNKNOWN_NUMBER = "3344556677889"  # the Simulator plays it; no channel of the Router has it
UNKNOWN_TOKEN = "e2e-unknown-number-token-77ad"  # noqa: S105


@dataclass
class SecondCompany:
    """The second tenant: its WhatsApp number (SECOND_NUMBER), an owner key, and an agent,
    with a key acting as her."""

    tenant_id: int
    owner_key: str
    agent_id: int
    agent_key: str


def api(system: System, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    headers = {"X-API-Key": key, **kwargs.pop("headers", {})}
    return httpx.request(
        method, f"{system.router.url}{path}", headers=headers, timeout=10, **kwargs
    )


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_business(system: System, phone_number_id: str, token: str, name: str) -> None:
    response = system.sim.post(
        "/sim/businesses",
        json={
            "phone_number_id": phone_number_id,
            "display_phone_number": "1555" + phone_number_id[-7:],
            "access_token": token,
            "name": name,
        },
    )
    assert response.status_code in (201, 409), response.text  # 409: added by an earlier module


@pytest.fixture(scope="module")
def second_company(system: System) -> SecondCompany:
    add_business(system, SECOND_NUMBER, SECOND_TOKEN, "Second Company")
    add_business(system, UNKNOWN_NUMBER, UNKNOWN_TOKEN, "Nobody's")
    tenant = created(
        api(system, "POST", "/api/v1/tenants", ADMIN_KEY, json={"name": "Second Company"})
    )
    owner_key = created(
        api(
            system,
            "POST",
            f"/api/v1/tenants/{tenant['id']}/api-keys",
            ADMIN_KEY,
            json={"name": "setup", "role": "owner"},
        )
    )["key"]
    # The Router checks the token with the Simulator's Graph API before it keeps the channel.
    created(
        api(
            system,
            "POST",
            "/api/v1/channels",
            owner_key,
            json={
                "type": "whatsapp",
                "name": "Second Company support",
                "phone_number_id": SECOND_NUMBER,
                "access_token": SECOND_TOKEN,
            },
        )
    )
    agent = created(
        api(
            system,
            "POST",
            "/api/v1/members",
            owner_key,
            json={"name": "Support Agent", "role": "agent"},
        )
    )
    agent_key = created(
        api(
            system,
            "POST",
            "/api/v1/api-keys",
            owner_key,
            json={"name": "Support agent's key", "role": "agent", "member_id": agent["id"]},
        )
    )["key"]
    return SecondCompany(tenant["id"], owner_key, agent["id"], agent_key)


def write(system: System, wa_id: str, text: str, number: str = PHONE_ID) -> dict[str, Any]:
    """The user writes to a business number; answered once the Router took the webhook."""
    response = system.sim.post(
        f"/sim/users/{wa_id}/messages",
        json={"type": "text", "text": text, "phone_number_id": number},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    [delivery] = result["deliveries"]
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    return result


def chat(system: System, wa_id: str, number: str) -> list[dict[str, Any]]:
    """What the business number sent the user, oldest first."""
    response = system.sim.get(
        "/sim/messages",
        params={"wa_id": wa_id, "phone_number_id": number, "direction": "outbound"},
    )
    response.raise_for_status()
    sent: list[dict[str, Any]] = response.json()
    return sent


def texts(system: System, wa_id: str, number: str) -> list[str]:
    return [m["payload"]["body"] for m in chat(system, wa_id, number)]


def answered(text: str) -> str:
    """What the Server's reply to `text` says it answers; checked against the real reply."""
    return f"'{text}'"


def replied_to(system: System, wa_id: str, number: str, text: str) -> list[str]:
    """The number's messages to the user, once one of them answers `text`."""

    def found() -> list[str]:
        sent = texts(system, wa_id, number)
        return sent if any(answered(text) in t for t in sent) else []

    sent = wait_until_sync(found, timeout=15)
    assert sent, f"{text!r} was never answered from {number}"
    return sent


def stored_status(system: System, key: str, wamid: str, **headers: str) -> str | None:
    """The Router's status for the inbound message `wamid`."""
    page = api(system, "GET", "/api/v1/messages", key, params={"limit": 500}, headers=headers)
    assert page.status_code == 200, page.text
    for item in page.json()["items"]:
        if item["wamid"] == wamid:
            status: str = item["status"]
            return status
    return None


def settled_as(system: System, key: str, wamid: str, status: str) -> None:
    """Barrier: the Router's job for the message ended, with `status` (final: nothing follows)."""
    assert wait_until_sync(lambda: stored_status(system, key, wamid) == status, timeout=15), (
        f"{wamid} never became {status}: {stored_status(system, key, wamid)}"
    )


def conversation_of(system: System, key: str, wa_id: str) -> int:
    contacts = api(system, "GET", "/api/v1/contacts", key, params={"q": wa_id}).json()["items"]
    [contact] = [c for c in contacts if c["wa_id"] == wa_id]
    found = api(
        system, "GET", "/api/v1/conversations", key, params={"contact_id": contact["id"]}
    ).json()["items"]
    assert len(found) == 1, found
    conversation_id: int = found[0]["id"]
    return conversation_id


def test_two_numbers_of_two_tenants_each_answer_from_their_own_number(
    system: System, second_company: SecondCompany
) -> None:
    user = "15550700001"
    system.new_user(user)

    write(system, user, "hello default company")
    write(system, user, "hello second company", SECOND_NUMBER)

    [to_default] = replied_to(system, user, PHONE_ID, "hello default company")
    [to_second] = replied_to(system, user, SECOND_NUMBER, "hello second company")
    assert REPLY.match(to_default)
    assert REPLY.match(to_second)
    assert answered("hello second company") not in to_default
    # Each send went out as its own number, with its own token: the Simulator refuses a number's
    # send made with another number's token (Meta's 400, code 100).
    sends = [
        (r["phone_id"], r["status_code"])
        for r in system.sim.get("/sim/requests").json()
        if r["body"] and r["body"].get("to") == user
    ]
    assert sorted(sends) == sorted([(PHONE_ID, 200), (SECOND_NUMBER, 200)])
    # Each tenant sees its own conversation with the person, and not the other's.
    second_view = api(system, "GET", "/api/v1/conversations", second_company.owner_key).json()[
        "items"
    ]
    assert [c["contact"]["wa_id"] for c in second_view].count(user) == 1
    default_view = api(system, "GET", "/api/v1/conversations", ADMIN_KEY).json()["items"]
    assert [c["contact"]["wa_id"] for c in default_view].count(user) == 1
    assert {c["id"] for c in second_view}.isdisjoint({c["id"] for c in default_view})
    assert SECOND_TOKEN not in system.router.logs()  # a channel's token is never logged


def test_a_conversation_handed_to_a_person_gets_no_bot_reply_and_their_message_arrives(
    system: System, second_company: SecondCompany
) -> None:
    user = "15550700002"
    system.new_user(user)
    write(system, user, "hi second_company", SECOND_NUMBER)
    replied_to(system, user, SECOND_NUMBER, "hi second_company")
    conversation = conversation_of(system, second_company.owner_key, user)

    toggled = api(
        system,
        "POST",
        f"/api/v1/conversations/{conversation}/transfer-toggle",
        second_company.agent_key,
    )
    assert toggled.json() == {"detail": "switched ownership to human"}
    asked = write(system, user, "can I talk to a person?", SECOND_NUMBER)
    settled_as(system, second_company.owner_key, asked["messages"][0]["wamid"], "handed_over")
    assert len(texts(system, user, SECOND_NUMBER)) == 1  # the reply to "hi second_company" only

    # The agent answers: the message reaches the user's chat with the number, its ticks turn blue.
    written = api(
        system,
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        second_company.agent_key,
        json={"text": "Hi, this is support. How can I help?"},
    )
    assert written.status_code == 202, written.text
    assert written.json()["author"] == {"id": second_company.agent_id, "name": "Support Agent"}

    def agents_message_read() -> dict[str, Any] | None:
        for message in chat(system, user, SECOND_NUMBER):
            if message["payload"]["body"] == "Hi, this is support. How can I help?":
                return message if message["status"] == "read" else None
        return None

    arrived = wait_until_sync(agents_message_read, timeout=15)
    assert arrived is not None, chat(system, user, SECOND_NUMBER)
    assert [h["status"] for h in arrived["history"]][-3:] == ["sent", "delivered", "read"]

    # The Router shows the whole conversation, the agent's message as read too.
    def thread() -> list[tuple[str, str]]:
        items = api(
            system,
            "GET",
            f"/api/v1/conversations/{conversation}/messages",
            second_company.agent_key,
        ).json()["items"]
        return [(m["sender"], m["status"]) for m in items]

    assert wait_until_sync(lambda: thread()[-1] == ("agent", "read"), timeout=15), thread()
    assert [sender for sender, _ in thread()] == ["contact", "ai", "contact", "agent"]
    assert thread()[2] == ("contact", "handed_over")

    # Handed back, the bot answers the next message (not the one that came meanwhile).
    back = api(
        system,
        "POST",
        f"/api/v1/conversations/{conversation}/transfer-toggle",
        second_company.agent_key,
    )
    assert back.json() == {"detail": "switched ownership to ai"}
    write(system, user, "thanks, back to the bot", SECOND_NUMBER)
    sent = replied_to(system, user, SECOND_NUMBER, "thanks, back to the bot")
    assert sent[1] == "Hi, this is support. How can I help?"
    assert [bool(REPLY.match(t)) for t in sent] == [True, False, True]
    assert not any(answered("can I talk to a person?") in t for t in sent)


def test_a_blocked_contact_gets_nothing(system: System) -> None:
    user = "15550700003"
    system.new_user(user)
    write(system, user, "before the block")
    replied_to(system, user, PHONE_ID, "before the block")
    contacts = api(system, "GET", "/api/v1/contacts", ADMIN_KEY, params={"q": user}).json()
    [contact] = contacts["items"]
    assert api(system, "POST", f"/api/v1/contacts/{contact['id']}/block", ADMIN_KEY).is_success

    blocked = write(system, user, "while blocked")
    settled_as(system, ADMIN_KEY, blocked["messages"][0]["wamid"], "blocked")
    assert api(system, "DELETE", f"/api/v1/contacts/{contact['id']}/block", ADMIN_KEY).is_success
    write(system, user, "after the block")

    # The message after it is answered; nothing ever answered the one in between.
    sent = replied_to(system, user, PHONE_ID, "after the block")
    assert len(sent) == 2
    assert answered("before the block") in sent[0]
    assert not any(answered("while blocked") in t for t in sent)


def test_a_number_no_channel_has_gets_a_200_and_no_send(
    system: System, second_company: SecondCompany
) -> None:
    user = "15550700004"
    system.new_user(user)

    unrouted = write(system, user, "is anybody there?", UNKNOWN_NUMBER)  # a 200, as Meta needs
    settled_as(system, ADMIN_KEY, unrouted["messages"][0]["wamid"], "unrouted")
    # The Router carries on: the same user's message to a known number is answered.
    write(system, user, "and here?")
    replied_to(system, user, PHONE_ID, "and here?")

    assert chat(system, user, UNKNOWN_NUMBER) == []
    assert not [
        r for r in system.sim.get("/sim/requests").json() if r["phone_id"] == UNKNOWN_NUMBER
    ]
    # The message is the operator's to see, no tenant's.
    assert stored_status(system, second_company.owner_key, unrouted["messages"][0]["wamid"]) is None
