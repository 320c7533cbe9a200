"""Media as Meta's Cloud API has it: a business's upload, the URL lookup, the authenticated and
expiring download, and the photos and files a simulated customer sends."""

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.main import create_app
from app.settings import get_settings
from tests.conftest import AUTH, PHONE_ID, SECOND, SECOND_AUTH, make_user
from tests.receiver import Receiver
from tests.support import wait_until
from tests.test_graph import assert_meta_error
from tests.test_webhooks import fixture, shape, value_of

UPLOAD_PATH = f"/v26.0/{PHONE_ID}/media"
# The start of a JPEG: enough for the Simulator, which keeps bytes and never decodes them.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n% an invoice\n%%EOF\n"


async def upload(
    client: httpx.AsyncClient,
    data: bytes = JPEG,
    mime_type: str = "image/jpeg",
    headers: dict[str, str] = AUTH,
    path: str = UPLOAD_PATH,
    filename: str = "photo.jpg",
) -> httpx.Response:
    return await client.post(
        path,
        data={"messaging_product": "whatsapp", "type": mime_type},
        files={"file": (filename, data, mime_type)},
        headers=headers,
    )


async def uploaded(client: httpx.AsyncClient, data: bytes = JPEG, **kwargs: Any) -> str:
    response = await upload(client, data, **kwargs)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    media_id: str = response.json()["id"]
    return media_id


@pytest.fixture
def second_number(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMULATOR_BUSINESSES", json.dumps([SECOND]))
    get_settings.cache_clear()


async def test_upload_lookup_and_authenticated_download_round_trip(
    client: httpx.AsyncClient,
) -> None:
    media_id = await uploaded(client)

    looked_up = await client.get(f"/v26.0/{media_id}", headers=AUTH)
    assert looked_up.status_code == 200, looked_up.text
    answer = looked_up.json()
    assert answer == {
        "messaging_product": "whatsapp",
        "url": answer["url"],
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "file_size": len(JPEG),
        "id": media_id,
    }
    assert answer["url"].startswith("http://simulator/")  # absolute, on the Simulator

    downloaded = await client.get(answer["url"], headers=AUTH)
    assert downloaded.status_code == 200
    assert downloaded.content == JPEG
    assert downloaded.headers["content-type"] == "image/jpeg"

    # The upload is recorded without its bytes.
    recorded = (await client.get("/sim/requests")).json()[0]
    assert recorded["path"] == UPLOAD_PATH
    assert recorded["body"] == {
        "messaging_product": "whatsapp",
        "type": "image/jpeg",
        "file": {"filename": "photo.jpg", "size": len(JPEG)},
    }
    assert recorded["response"] == {"id": media_id}


async def test_the_download_needs_the_numbers_token(
    second_number: None, client: httpx.AsyncClient
) -> None:
    media_id = await uploaded(client)
    url = (await client.get(f"/v26.0/{media_id}", headers=AUTH)).json()["url"]

    assert_meta_error(await client.get(url), 401, 190)
    assert_meta_error(await client.get(url, headers={"Authorization": "Bearer nope"}), 401, 190)
    # Another number's token cannot tell the media exists.
    assert_meta_error(await client.get(url, headers=SECOND_AUTH), 400, 100)
    assert_meta_error(await client.get(f"/v26.0/{media_id}", headers=SECOND_AUTH), 400, 100)
    # Nor can an altered URL be used.
    assert_meta_error(await client.get(url.replace("hash=", "hash=0"), headers=AUTH), 404, 100)
    assert (await client.get(url, headers=AUTH)).content == JPEG


@pytest.fixture
async def short_urls(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("SIMULATOR_MEDIA_URL_SECONDS", "1")
    get_settings.cache_clear()
    app = create_app()
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://simulator"
        ) as client,
    ):
        yield client


async def test_a_media_url_expires_and_a_new_lookup_gives_a_fresh_one(
    short_urls: httpx.AsyncClient,
) -> None:
    client = short_urls
    media_id = await uploaded(client)
    url = (await client.get(f"/v26.0/{media_id}", headers=AUTH)).json()["url"]
    assert (await client.get(url, headers=AUTH)).status_code == 200

    async def expired() -> bool:
        return (await client.get(url, headers=AUTH)).status_code == 404

    await wait_until(expired, timeout=5, interval=0.1, what="the URL to expire")
    assert_meta_error(await client.get(url, headers=AUTH), 404, 100)

    fresh = (await client.get(f"/v26.0/{media_id}", headers=AUTH)).json()["url"]
    assert (await client.get(fresh, headers=AUTH)).content == JPEG


async def test_uploads_are_refused_as_meta_refuses_them(
    second_number: None, client: httpx.AsyncClient
) -> None:
    assert_meta_error(await upload(client, headers={}), 401, 190)
    assert_meta_error(await upload(client, headers={"Authorization": "Bearer nope"}), 401, 190)
    # A token of another number: as if the number did not exist.
    other = assert_meta_error(await upload(client, headers=SECOND_AUTH), 400, 100)
    assert other["error_subcode"] == 33

    zipped = await upload(client, b"PK\x03\x04", "application/zip", filename="a.zip")
    error = assert_meta_error(zipped, 400, 131053)
    details = error["error_data"]["details"]
    assert "application/zip" in details
    assert "image/jpeg" in details
    assert "application/pdf" in details

    too_big = await upload(client, b"\xff" * (5 * 1024 * 1024 + 1), "image/png")
    assert "5242880 bytes" in assert_meta_error(too_big, 400, 131053)["error_data"]["details"]
    sticker = await upload(client, b"RIFF" * (128 * 1024 + 1), "image/webp", filename="s.webp")
    assert_meta_error(sticker, 400, 131053)
    empty = await upload(client, b"", "application/pdf", filename="a.pdf")
    assert_meta_error(empty, 400, 131053)

    no_product = await client.post(
        UPLOAD_PATH, files={"file": ("a.pdf", PDF, "application/pdf")}, headers=AUTH
    )
    assert_meta_error(no_product, 400, 100)
    not_multipart = await client.post(UPLOAD_PATH, json={"file": "x"}, headers=AUTH)
    assert_meta_error(not_multipart, 400, 100)
    assert (await client.get("/sim/media")).json() == []


async def test_the_file_parts_type_is_used_when_type_is_not_given(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        UPLOAD_PATH,
        data={"messaging_product": "whatsapp"},
        files={"file": ("invoice.pdf", PDF, "application/pdf")},
        headers=AUTH,
    )
    media_id = response.json()["id"]

    looked_up = (await client.get(f"/v26.0/{media_id}", headers=AUTH)).json()
    assert looked_up["mime_type"] == "application/pdf"
    [listed] = (await client.get("/sim/media")).json()
    assert listed["filename"] == "invoice.pdf"
    assert listed["origin"] == "upload"
    content = await client.get(f"/sim/media/{media_id}/content")
    assert content.content == PDF
    assert content.headers["content-type"] == "application/pdf"


async def test_a_deleted_media_is_gone(client: httpx.AsyncClient) -> None:
    media_id = await uploaded(client)

    deleted = await client.delete(f"/v26.0/{media_id}", headers=AUTH)

    assert deleted.json() == {"success": True}
    assert_meta_error(await client.get(f"/v26.0/{media_id}", headers=AUTH), 400, 100)
    assert (await client.get(f"/sim/media/{media_id}")).status_code == 404


async def test_an_injected_fault_fails_media_calls(client: httpx.AsyncClient) -> None:
    queued = await client.post(
        "/sim/faults/fail-next", json={"status": 503, "code": 131016, "applies_to": "media"}
    )
    assert queued.status_code == 200

    assert_meta_error(await upload(client), 503, 131016)
    media_id = await uploaded(client)
    assert media_id


async def test_sending_an_uploaded_media_by_id_is_recorded(client: httpx.AsyncClient) -> None:
    await make_user(client, wa_id="972987654321")
    await client.post("/sim/users/972987654321/messages", json={"text": "hi"})
    media_id = await uploaded(client, PDF, mime_type="application/pdf", filename="a.pdf")
    document = {"id": media_id, "caption": "Your invoice", "filename": "invoice.pdf"}
    payload = {
        "messaging_product": "whatsapp",
        "to": "972987654321",
        "type": "document",
        "document": document,
    }

    sent = await client.post(f"/v26.0/{PHONE_ID}/messages", json=payload, headers=AUTH)

    assert sent.status_code == 200, sent.text
    outbound = (await client.get("/sim/messages", params={"direction": "outbound"})).json()
    assert [(m["type"], m["payload"]) for m in outbound] == [("document", document)]


# --- what a customer sends ------------------------------------------------------------------------


async def customer_sends(
    client: httpx.AsyncClient,
    wa_id: str,
    data: bytes,
    mime_type: str,
    filename: str,
    **fields: str,
) -> dict[str, Any]:
    response = await client.post(
        f"/sim/users/{wa_id}/media", data=fields, files={"file": (filename, data, mime_type)}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def fetch_as_the_router(client: httpx.AsyncClient, media_id: str) -> httpx.Response:
    looked_up = await client.get(f"/v26.0/{media_id}", headers=AUTH)
    assert looked_up.status_code == 200, looked_up.text
    return await client.get(looked_up.json()["url"], headers=AUTH)


async def test_a_customers_photo_arrives_as_meta_delivers_it(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321")

    sent = await customer_sends(
        client, "972987654321", JPEG, "image/jpeg", "IMG_0001.jpg", caption="The box arrived"
    )

    assert sent["deliveries"][0]["state"] == "delivered"
    [received] = receiver.received
    assert received.signature_ok("test-app-secret")
    message = value_of(json.loads(received.body))["messages"][0]
    expected = value_of(fixture("message_image.json"))["messages"][0]
    expected["image"]["caption"] = "a caption"
    assert shape(message) == shape(expected)
    image = message["image"]
    assert image["caption"] == "The box arrived"
    assert image["mime_type"] == "image/jpeg"
    # Webhooks carry the digest in base64; the URL lookup in hex.
    assert image["sha256"] == base64.b64encode(hashlib.sha256(JPEG).digest()).decode()
    downloaded = await fetch_as_the_router(client, image["id"])
    assert downloaded.content == JPEG


async def test_a_customers_file_and_voice_note_have_the_fixtures_shapes(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321")

    await customer_sends(
        client, "972987654321", PDF, "application/pdf", "invoice.pdf", caption="Is this right?"
    )
    await customer_sends(
        client, "972987654321", b"OggS\x00voice", "audio/ogg; codecs=opus", "v.ogg", voice="true"
    )
    await customer_sends(client, "972987654321", b"RIFF....WEBP", "image/webp", "s.webp")

    document, voice, sticker = (
        value_of(json.loads(r.body))["messages"][0] for r in receiver.received
    )
    expected = value_of(fixture("message_document_with_context.json"))["messages"][0]
    expected.pop("context")
    assert shape(document) == shape(expected)
    assert document["document"]["filename"] == "invoice.pdf"
    assert document["document"]["caption"] == "Is this right?"
    assert shape(voice) == shape(value_of(fixture("message_voice.json"))["messages"][0])
    assert voice["audio"]["voice"] is True
    assert voice["audio"]["mime_type"] == "audio/ogg; codecs=opus"
    assert shape(sticker) == shape(value_of(fixture("message_sticker.json"))["messages"][0])
    assert (await fetch_as_the_router(client, document["document"]["id"])).content == PDF


async def test_a_media_type_without_a_file_sends_a_real_sample(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await make_user(client, wa_id="972987654321")

    for kind in ("image", "video", "audio", "document", "sticker"):
        response = await client.post("/sim/users/972987654321/messages", json={"type": kind})
        assert response.status_code == 200, response.text

    for received in receiver.received:
        message = value_of(json.loads(received.body))["messages"][0]
        media = message[message["type"]]
        downloaded = await fetch_as_the_router(client, media["id"])
        assert downloaded.headers["content-type"] == media["mime_type"]
        digest = base64.b64encode(hashlib.sha256(downloaded.content).digest()).decode()
        assert media["sha256"] == digest


async def test_a_customer_file_is_refused_clearly(client: httpx.AsyncClient) -> None:
    await make_user(client, wa_id="972987654321")

    nobody = await client.post("/sim/users/15550000000/media", files={"file": ("a", b"x")})
    no_file = await client.post("/sim/users/972987654321/media", data={"caption": "x"})
    as_json = await client.post("/sim/users/972987654321/media", json={"file": "x"})
    no_number = await client.post(
        "/sim/users/972987654321/media",
        data={"phone_number_id": "999"},
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    empty = await client.post(
        "/sim/users/972987654321/media", files={"file": ("a.pdf", b"", "application/pdf")}
    )

    assert nobody.status_code == 404
    assert no_file.status_code == 422
    assert as_json.status_code == 422
    assert "multipart/form-data" in as_json.json()["detail"]
    assert no_number.status_code == 404
    assert empty.status_code == 422
