"""Inbound files: fetched in the message's job with the number's own token, checked against
Meta's sha256, kept in the blob store under a key of the tenant, served to the tenant alone."""

import hashlib
from typing import Any

import pytest

from app.core.costs import COSTS

from .conftest import TOKEN, MediaWorld, media_webhook
from .fake_graph import JPEG, OGG, PDF

pytestmark = pytest.mark.timeout(60)


async def test_an_image_is_fetched_stored_and_served_on_every_backend(
    media_everywhere: MediaWorld,
) -> None:
    world = media_everywhere
    sha = world.meta.add("5001", JPEG, "image/jpeg", TOKEN)
    requests_before = COSTS.http_requests
    await world.post(media_webhook("image", "5001", sha, "wamid.img1"))
    message = await world.message("wamid.img1")

    media = await world.media_of(message.id)
    assert COSTS.http_requests - requests_before == 2  # the lookup and the download, counted
    assert media == {
        "kind": "image",
        "mime_type": "image/jpeg",
        "file_size": len(JPEG),
        "filename": None,
        "caption": None,
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "state": "stored",
        "error": None,
        "url": f"/api/v1/messages/{message.id}/media",
    }
    served = await world.call("GET", media["url"])
    assert served.status_code == 200
    assert served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["content-length"] == str(len(JPEG))
    assert served.headers["content-disposition"] == "inline"
    # Kept where the settings say: the S3-compatible store, or the local directory.
    local = list((world.router.state.settings.router_media_dir / "t").rglob("*.*")) + [
        p for p in (world.router.state.settings.router_media_dir / "t").rglob("*") if p.is_file()
    ]
    assert bool(local) is (world.router.state.media_store.kind == "local")
    # The lookup and the download both carried the number's own token, not the env's.
    lookups = [c.request for c in world.graph.calls if c.request.url.path.endswith("/5001")]
    assert [r.headers["authorization"] for r in lookups] == [f"Bearer {TOKEN}"]
    # Another tenant's key cannot tell the message exists.
    other = await world.call("GET", media["url"], world.other_key)
    assert other.status_code == 404
    # No caption: the bot is not asked, the message is kept and shown (`ignored`).
    await world.router.settle()
    listed = await world.call("GET", f"/api/v1/messages/{message.id}")
    assert listed.json()["status"] == "ignored"


async def test_a_caption_is_the_text_the_bot_answers(media: MediaWorld) -> None:
    sha = media.meta.add("5002", PDF, "application/pdf", TOKEN)
    await media.post(
        media_webhook(
            "document",
            "5002",
            sha,
            "wamid.doc1",
            caption="my invoice",
            filename="../../etc/in\x07voice.pdf",
        )
    )
    message = await media.message("wamid.doc1")
    found = await media.media_of(message.id)
    assert found["state"] == "stored"
    assert found["caption"] == "my invoice"
    assert found["filename"] == "invoice.pdf" or "/" not in found["filename"]
    await media.router.settle()
    conversation = await media.call(
        "GET", f"/api/v1/conversations/{message.conversation_id}/messages"
    )
    items = conversation.json()["items"]
    reply = next(m for m in items if m["direction"] == "outbound")
    assert "my invoice" in reply["text"]
    inbound = next(m for m in items if m["id"] == message.id)
    assert inbound["text"] == "my invoice"
    assert inbound["media"]["kind"] == "document"
    served = await media.call("GET", found["url"])
    assert served.content == PDF
    disposition = served.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "/" not in disposition
    assert "\x07" not in disposition


async def test_range_requests_serve_part_of_a_voice_note(media: MediaWorld) -> None:
    sha = media.meta.add("5003", OGG, "audio/ogg; codecs=opus", TOKEN)
    await media.post(media_webhook("voice", "5003", sha, "wamid.voice1"))
    message = await media.message("wamid.voice1")
    found = await media.media_of(message.id, "stored")
    assert found["kind"] == "audio"
    assert found["mime_type"] == "audio/ogg"
    part = await media.call("GET", found["url"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == OGG[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(OGG)}"
    tail = await media.call("GET", found["url"], headers={"Range": "bytes=-5"})
    assert tail.status_code == 206
    assert tail.content == OGG[-5:]
    beyond = await media.call("GET", found["url"], headers={"Range": f"bytes={len(OGG)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(OGG)}"


async def test_a_browser_gets_the_file_with_a_ticket(media: MediaWorld) -> None:
    sha = media.meta.add("5004", JPEG, "image/jpeg", TOKEN)
    await media.post(media_webhook("image", "5004", sha, "wamid.img4"))
    message = await media.message("wamid.img4")
    found = await media.media_of(message.id, "stored")
    ticket = (await media.call("POST", "/api/v1/events/ticket")).json()["ticket"]
    served = await media.router.client.get(found["url"], params={"ticket": ticket})
    assert served.status_code == 200
    assert served.content == JPEG
    assert (await media.router.client.get(found["url"])).status_code == 401
    forged = await media.router.client.get(found["url"], params={"ticket": ticket + "x"})
    assert forged.status_code == 401


async def test_transient_failures_are_retried_and_an_expired_url_asked_again(
    media: MediaWorld,
) -> None:
    import httpx

    sha = media.meta.add("5005", JPEG, "image/jpeg", TOKEN)
    media.meta.failures["lookup"] = [httpx.Response(503, json={"error": {"code": 2}})]
    media.meta.expired_once.add("5005")
    await media.post(media_webhook("image", "5005", sha, "wamid.img5"))
    message = await media.message("wamid.img5")
    found = await media.media_of(message.id)
    assert found["state"] == "stored", found
    # A 503, then a URL that had expired, then a fresh URL that served the file.
    assert media.meta.lookups == 3
    served = await media.call("GET", found["url"])
    assert served.content == JPEG


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("mismatch", "sha256 mismatch"),
        ("too_big", "over"),
        ("lying_size", "over"),
        ("not_an_image", "not a image/jpeg"),
        ("empty", "empty"),
        ("unknown", "Graph API error 100"),
    ],
)
async def test_a_file_that_breaks_the_rules_fails_and_the_message_goes_on(
    media: MediaWorld, case: str, reason: str
) -> None:
    content = JPEG
    if case == "too_big" or case == "lying_size":
        content = JPEG[:-2] + b"\x00" * (5 * 1024 * 1024) + b"\xff\xd9"
    elif case == "not_an_image":
        content = b"<html><script>alert(1)</script></html>"
    elif case == "empty":
        content = b""
    sha = media.meta.add("5006", content, "image/jpeg", TOKEN)
    if case == "mismatch":
        sha = media.meta.add("5099", b"other bytes", "image/jpeg", TOKEN)
    if case == "lying_size":
        media.meta.files["5006"].said_size = 1000
    media_id = "5007" if case == "unknown" else "5006"
    await media.post(media_webhook("image", media_id, sha, "wamid.bad", caption="look at this"))
    message = await media.message("wamid.bad")
    found = await media.media_of(message.id)
    assert found["state"] == "failed"
    assert reason in found["error"]
    served = await media.call("GET", found["url"])
    assert served.status_code == 409
    assert reason in served.json()["error"]["message"]
    # The conversation goes on: the caption is answered all the same.
    await media.router.settle()
    listed = await media.call("GET", f"/api/v1/messages/{message.id}")
    assert listed.json()["status"] == "replied"
    assert not any((media.router.state.settings.router_media_dir / "t").rglob("*"))


async def test_location_and_contacts_are_stored_with_their_fields(media: MediaWorld) -> None:
    from ..meta import fixture

    location = fixture("message_location")
    location["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "100200300"
    location["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.loc"
    cards = fixture("message_contacts")
    cards["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "100200300"
    cards["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.cards"
    await media.post(location)
    await media.post(cards)
    place = await media.message("wamid.loc")
    people = await media.message("wamid.cards")
    await media.router.settle()
    shown = (await media.call("GET", f"/api/v1/messages/{place.id}")).json()
    assert shown["location"] == {
        "latitude": 12.25089,
        "longitude": 43.90539,
        "name": None,
        "address": None,
    }
    assert shown["media"] is None
    assert shown["contacts"] is None
    shown = (await media.call("GET", f"/api/v1/messages/{people.id}")).json()
    assert shown["contacts"][0] == {
        "name": "Chandler Bing",
        "phones": [{"phone": "+1 555-555-5555", "wa_id": "972987654321", "type": "CELL"}],
    }
    assert len(shown["contacts"]) == 3
    assert shown["location"] is None
    assert not media.meta.lookups  # nothing to fetch


async def test_a_text_has_no_media_and_its_path_runs_no_media_statement(
    media: MediaWorld,
) -> None:
    from sqlalchemy import event

    from ..meta import text_message

    executed: list[str] = []

    def count(_: Any, __: Any, statement: str, *args: Any) -> None:
        executed.append(statement)

    engine = media.router.repository._engine
    body = text_message("wamid.t1", "hello")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "100200300"
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await media.post(body)
        message = await media.message("wamid.t1")
        await media.router.settle()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert message.attachment is None
    # Webhook, job and reply: no statement of the media path (the attachment column rides along
    # in the rows the path writes and reads anyway).
    media_statements = ("UPDATE messages SET attachment", "SELECT messages.attachment")
    assert executed
    assert not [s for s in executed if s.startswith(media_statements)]
    assert not media.meta.lookups
    shown = (await media.call("GET", f"/api/v1/messages/{message.id}")).json()
    assert shown["media"] is None
    assert shown["location"] is None
    assert shown["contacts"] is None
    answer = await media.call("GET", f"/api/v1/messages/{message.id}/media")
    assert answer.status_code == 404


async def test_the_files_of_a_burst_gathered_into_one_turn_are_all_fetched(
    media: MediaWorld,
) -> None:
    from sqlalchemy import update

    from app.channels.models import Channel

    async with media.sessions() as session:
        await session.execute(
            update(Channel).where(Channel.id == media.channel.id).values(debounce_ms=400)
        )
        await session.commit()
    media.router.state.channel_directory.forget()
    for n in range(3):
        sha = media.meta.add(f"70{n}", JPEG, "image/jpeg", TOKEN)
        await media.post(media_webhook("image", f"70{n}", sha, f"wamid.burst{n}", caption=f"c{n}"))
    ids = [(await media.message(f"wamid.burst{n}")).id for n in range(3)]
    for message_id in ids:
        assert (await media.media_of(message_id))["state"] == "stored"
    await media.router.settle()
    assert media.meta.lookups == 3
