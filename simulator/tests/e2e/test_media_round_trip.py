"""A file each way through the three services as real processes, as `make demo` runs them.

The customer sends a photo from the simulated phone: the Simulator delivers Meta's webhook, the
Router fetches the file in the message's job (the URL lookup and the token-checked download the
Simulator serves, as Meta's Graph API does), keeps it, and serves the same bytes at
`/api/v1/messages/{id}/media`. Then an agent sends a document through the Router's API: stored,
uploaded to the number's `/media`, sent by its id, and the phone holds the same bytes.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support import wait_until_sync
from .conftest import ADMIN_KEY, PHONE_ID, System

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).resolve().parents[2] / "app" / "samples"
WITHIN = 30.0  # the job, its fetch and the status webhooks, on a busy machine


def router(system: System, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{system.router.url}{path}",
        headers={"X-API-Key": ADMIN_KEY},
        timeout=10,
        **kwargs,
    )


def inbound_of(system: System, wamid: str) -> dict[str, Any] | None:
    response = router(system, "GET", "/api/v1/messages", params={"direction": "inbound"})
    assert response.status_code == 200, response.text
    for message in response.json()["items"]:
        if message["wamid"] == wamid:
            found: dict[str, Any] = message
            return found
    return None


def test_a_customers_photo_and_an_agents_document_cross_with_their_bytes(
    system: System,
) -> None:
    wa_id = "15550004242"
    system.new_user(wa_id, name="Photo Customer")
    photo = (SAMPLES / "photo.jpg").read_bytes()

    sent = system.sim.post(
        f"/sim/users/{wa_id}/media",
        files={"file": ("broken-box.jpg", photo, "image/jpeg")},
        data={"caption": "It arrived like this"},
    )
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["wamid"]

    def stored() -> dict[str, Any] | None:
        message = inbound_of(system, wamid)
        if message is None or message["media"] is None or message["media"]["state"] == "pending":
            return None
        return message

    message = wait_until_sync(stored, timeout=WITHIN)
    assert message is not None
    assert message["media"]["state"] == "stored", message["media"]
    assert message["media"]["kind"] == "image"
    assert message["media"]["caption"] == "It arrived like this"
    fetched = router(system, "GET", message["media"]["url"])
    assert fetched.status_code == 200
    assert fetched.content == photo
    assert fetched.headers["content-type"] == "image/jpeg"
    # The caption is the text the Server answered.
    wait_until_sync(
        lambda: any("It arrived like this" in text for text in system.reply_texts(wa_id)),
        timeout=WITHIN,
    )

    document = (SAMPLES / "document.pdf").read_bytes()
    channel = next(
        c
        for c in router(system, "GET", "/api/v1/channels").json()["items"]
        if c.get("phone_number_id") == PHONE_ID
    )
    answer = router(
        system,
        "POST",
        "/api/v1/messages",
        data={"channel_id": str(channel["id"]), "to": wa_id, "caption": "Your invoice"},
        files={"file": ("invoice.pdf", document, "application/pdf")},
    )
    assert answer.status_code in (201, 202), answer.text

    def on_the_phone() -> dict[str, Any] | None:
        for sent_message in system.replies_to(wa_id):
            if sent_message["type"] == "document":
                found: dict[str, Any] = sent_message
                return found
        return None

    delivered = wait_until_sync(on_the_phone, timeout=WITHIN)
    assert delivered is not None
    media_id = delivered["payload"]["id"]
    content = system.sim.get(f"/sim/media/{media_id}/content")
    assert content.status_code == 200
    assert content.content == document
    assert delivered["payload"].get("filename") == "invoice.pdf"
