"""Meta's side of a webhook, for tests: real fixture bodies, signed as Meta signs them."""

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from app.inbound.payload import InboundMessage

FIXTURES = Path(__file__).parent / "fixtures" / "meta"
PHONE_NUMBER_ID = "1122334455667"
WA_ID = "972987654321"
BSUID = "US.13491208655302741918"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, payload: Any) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {"X-Hub-Signature-256": sign(secret, body), "Content-Type": "application/json"}


def text_message(
    wamid: str, text: str, *, wa_id: str = WA_ID, user_id: str | None = BSUID
) -> dict[str, Any]:
    """The text fixture with another id, text and sender; classic shape when user_id is None."""
    body = fixture("message_text" if user_id else "message_text_classic_no_user_id")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    if user_id:
        value["contacts"][0]["user_id"] = user_id
    message = value["messages"][0]
    message.update(id=wamid, **{"from": wa_id})
    message["text"]["body"] = text
    return body


def parsed_text(
    wamid: str, text: str = "hi", *, wa_id: str = WA_ID, phone_number_id: str = PHONE_NUMBER_ID
) -> InboundMessage:
    """A text message as the router reads it from a webhook (classic shape: no user_id)."""
    return InboundMessage(
        wamid=wamid,
        type="text",
        phone_number_id=phone_number_id,
        wa_id=wa_id,
        user_id=None,
        name=None,
        text=text,
        timestamp=None,
    )


def batch(*bodies: dict[str, Any]) -> dict[str, Any]:
    """One body holding every entry of the given bodies, as Meta batches them."""
    merged = copy.deepcopy(bodies[0])
    for body in bodies[1:]:
        merged["entry"].extend(copy.deepcopy(body["entry"]))
    return merged


def status_update(wamid: str, status: str, *, tracker: str | None = None) -> dict[str, Any]:
    """The status fixture (sent, delivered, read) about our message `wamid`, with the tracker it
    was sent with echoed as Meta echoes it."""
    body = fixture(f"status_{status}")
    item = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    item["id"] = wamid
    if tracker is not None:
        item["biz_opaque_callback_data"] = tracker
    return body
