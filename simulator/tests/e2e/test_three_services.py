"""The whole path through real processes: the Simulator plays Meta, Router and Server answer.

Everything is driven and observed through the Simulator's control and inspection API (and the
Router's management API for what it stored), as a developer would with `make demo` running.
"""

from typing import Any

import httpx
import pytest

from ..support import wait_until_sync
from .conftest import ADMIN_KEY, PHONE_ID, REPLY, System

pytestmark = pytest.mark.e2e


def send(system: System, wa_id: str, text: str, **fields: object) -> dict[str, Any]:
    response = system.sim.post(
        f"/sim/users/{wa_id}/messages", json={"type": "text", "text": text, **fields}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_one_reply(system: System, wa_id: str, text: str) -> dict[str, Any]:
    """Exactly one reply reaches the user, the Server's text about what the user wrote.

    The user then writes again: the Router answers one contact's messages in order, so once that
    later message is answered, a second reply to the first would have been sent already.
    """
    after = f"after {text}"
    send(system, wa_id, after)
    assert said_to(system, wa_id, until=after) == [text, after]
    return system.replies_to(wa_id)[0]


def said_to(system: System, wa_id: str, *, until: str) -> list[str]:
    """What the replies to the user answered, in order, once one of them answers `until`."""

    def replies() -> list[dict[str, Any]]:
        sent = system.replies_to(wa_id)
        done = any(f"'{until}'" in r["payload"].get("body", "") for r in sent)
        return sent if done else []

    answered = []
    for reply in wait_until_sync(replies, timeout=15):
        assert reply["type"] == "text", reply
        match = REPLY.match(reply["payload"]["body"])
        assert match is not None, reply
        assert 1 <= int(match["n"]) <= 1000
        answered.append(match["text"])
    assert answered, f"nothing answered {until!r}"
    return answered


def test_the_verification_handshake_needs_the_right_token(system: System) -> None:
    good = system.sim.post("/sim/webhooks/verify", json={"challenge": "314159"}).json()
    bad = system.sim.post("/sim/webhooks/verify", json={"verify_token": "not-the-token"}).json()

    assert (good["status_code"], good["body"], good["echoed"]) == (200, "314159", True)
    assert good["url"] == f"{system.router.url}/webhook"
    assert bad["status_code"] == 403
    assert bad["echoed"] is False


def test_a_text_gets_exactly_one_reply_and_its_statuses_flow_back(system: System) -> None:
    user = "15550100001"
    system.new_user(user)

    result = send(system, user, "hello there")

    [delivery] = result["deliveries"]
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    reply = assert_one_reply(system, user, "hello there")
    # The Graph API calls (this reply and the one to the message after it) came with the Router's
    # token, for the configured number.
    sends = [
        r
        for r in system.sim.get("/sim/requests").json()
        if r["body"] and r["body"].get("to") == user and r["body"].get("type") == "text"
    ]
    assert [(r["phone_id"], r["status_code"]) for r in sends] == [(PHONE_ID, 200)] * 2

    # Sent, delivered, read: each status webhook reaches the Router and is accepted.
    assert system.sim.post("/sim/flush", params={"seconds": 10}).json() == {"pending": 0}
    statuses = system.sim.get(
        "/sim/deliveries", params={"kind": "status", "wamid": reply["wamid"]}
    ).json()
    assert len(statuses) == 3
    for status in statuses:
        assert status["state"] == "delivered"
        assert 200 <= status["attempts"][-1]["status_code"] < 300
    assert wait_until_sync(
        lambda: system.sim.get(f"/sim/messages/{reply['wamid']}").json(), timeout=15
    )["status"] == ("read")

    # The Router moved its copy of the reply to `read`.
    def stored() -> dict[str, Any] | None:
        page = httpx.get(
            f"{system.router.url}/api/v1/messages",
            params={"direction": "outbound"},
            headers={"X-API-Key": ADMIN_KEY},
        )
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            if item["wamid"] == reply["wamid"] and item["status"] == "read":
                return dict(item)
        return None

    item = wait_until_sync(stored, timeout=15)
    assert item is not None, "the Router never recorded the reply as read"
    assert item["contact"] in (user, item["user_id"])
    assert REPLY.match(item["text"])


def test_a_forged_signature_is_rejected_and_answered_by_nothing(system: System) -> None:
    user = "15550400001"
    system.new_user(user)
    # The user writes once first: the Simulator only lets the Router answer users who wrote to it.
    first = send(system, user, "a genuine message")
    body = with_text(first["body"], wamid="wamid.e2e.forged.1", text="forged")

    forged = system.sim.post(
        "/sim/webhooks/raw", json={"body": body, "signature": "sha256=" + "0" * 64}
    ).json()

    assert forged["state"] == "failed"
    assert {a["status_code"] for a in forged["attempts"]} == {403}
    # Had the Router taken the forged body in, it would answer it before this later message.
    send(system, user, "written after it")
    assert said_to(system, user, until="written after it") == [
        "a genuine message",
        "written after it",
    ]

    # The same body, signed with the right secret, is answered: only the signature was wrong.
    genuine = system.sim.post("/sim/webhooks/raw", json={"body": body}).json()
    assert genuine["state"] == "delivered"
    texts = wait_until_sync(lambda: system.reply_texts(user)[2:], timeout=15)
    match = REPLY.match(texts[0])
    assert match is not None
    assert match["text"] == "forged"


def with_text(body: dict[str, Any], *, wamid: str, text: str) -> dict[str, Any]:
    """A copy of a one-message webhook body with another message id and text."""
    [entry] = body["entry"]
    [change] = entry["changes"]
    [message] = change["value"]["messages"]
    message = {**message, "id": wamid, "text": {"body": text}}
    change = {**change, "value": {**change["value"], "messages": [message]}}
    return {**body, "entry": [{**entry, "changes": [change]}]}


@pytest.mark.parametrize(("layout", "prefix"), [("one_change", 1), ("changes", 2), ("entries", 3)])
def test_a_batched_body_is_answered_in_full(system: System, layout: str, prefix: int) -> None:
    users = [f"15550200{prefix}{n:02d}" for n in range(3)]
    shapes = ["bsuid", "classic", "bsuid"]
    for user, shape in zip(users, shapes, strict=True):
        system.new_user(user, contact_shape=shape)
    items = [
        {"wa_id": users[0], "type": "text", "text": f"{layout} zero"},
        {"wa_id": users[1], "type": "text", "text": f"{layout} one"},
        {"wa_id": users[2], "type": "text", "text": f"{layout} two"},
        # A photo without a caption: kept, not answered (a caption would be its text).
        {"wa_id": users[0], "type": "image"},
    ]

    response = system.sim.post("/sim/webhooks/batch", json={"messages": items, "layout": layout})

    assert response.status_code == 200, response.text
    assert response.json()["deliveries"][0]["state"] == "delivered"
    for user, text in zip(users, ["zero", "one", "two"], strict=True):
        assert_one_reply(system, user, f"{layout} {text}")


def test_a_redelivered_message_is_answered_once(system: System) -> None:
    user = "15550300001"
    system.new_user(user)

    result = send(system, user, "once please", duplicate="both")

    deliveries = result["deliveries"]
    assert len(deliveries) == 3
    assert [d["duplicate_of"] is None for d in deliveries] == [True, False, False]
    assert {d["state"] for d in deliveries} == {"delivered"}
    assert_one_reply(system, user, "once please")
