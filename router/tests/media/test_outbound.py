"""Files members send: a multipart form (or JSON with a public link), stored first, uploaded to the
number's /media by the job, sent by the id Meta returns; a retry never uploads twice."""

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
import pytest

from ..meta import text_message
from ..support import wait_until
from .conftest import NUMBER, TOKEN, MediaWorld
from .fake_graph import JPEG, PDF, PNG

pytestmark = pytest.mark.timeout(60)


async def open_conversation(world: MediaWorld, wamid: str = "wamid.hello") -> int:
    """The contact writes first: the 24-hour window is open."""
    body = text_message(wamid, "hello")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = NUMBER
    await world.post(body)
    message = await world.message(wamid)
    await world.router.settle()
    assert message.conversation_id is not None
    return message.conversation_id


def form_parts(request: httpx.Request) -> dict[str, Any]:
    """A multipart request's parts: name -> (filename, content type, bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    parsed = BytesParser(policy=HTTP).parsebytes(head + request.content)
    return {
        str(part.get_param("name", header="content-disposition")): (
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in parsed.iter_parts()
    }


async def sent_status(world: MediaWorld, message_id: int, status: str = "accepted") -> Any:
    async def read() -> Any:
        found = (await world.call("GET", f"/api/v1/messages/{message_id}")).json()
        return found if found["status"] == status else None

    return await wait_until(read, 15, what=f"message {message_id} {status}")


async def test_a_members_image_is_stored_uploaded_once_and_sent_by_id(
    media_everywhere: MediaWorld,
) -> None:
    media = media_everywhere
    conversation = await open_conversation(media)
    answer = await media.call(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        files={"file": ("../secret/pic\x1b.png", PNG, "image/png")},
        data={"caption": "the plan"},
    )
    assert answer.status_code == 202, answer.text
    written = answer.json()
    assert written["type"] == "image"
    assert written["text"] == "the plan"
    assert written["media"]["state"] == "stored"
    assert written["media"]["filename"] == "pic.png"
    assert written["media"]["file_size"] == len(PNG)
    await sent_status(media, written["id"])
    assert len(media.meta.uploads) == 1
    upload = media.meta.uploads[0]
    assert upload.url.path.endswith(f"/{NUMBER}/media")
    assert upload.headers["authorization"] == f"Bearer {TOKEN}"
    # Sent with its length, not chunked, streamed from the store.
    assert int(upload.headers["content-length"]) == len(upload.content)
    parts = form_parts(upload)
    assert parts["messaging_product"][2] == b"whatsapp"
    assert parts["type"][2] == b"image/png"
    assert parts["file"][2] == PNG
    send = media.meta.sends[-1]
    assert send["type"] == "image"
    assert send["image"]["id"] == "900001"
    assert send["image"]["caption"] == "the plan"
    # The file is served back as any message's.
    served = await media.call("GET", written["media"]["url"])
    assert served.content == PNG


async def test_a_document_goes_with_its_filename(media: MediaWorld) -> None:
    conversation = await open_conversation(media)
    answer = await media.call(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        files={"file": ("report.pdf", PDF, "application/pdf")},
    )
    assert answer.status_code == 202, answer.text
    await sent_status(media, answer.json()["id"])
    send = media.meta.sends[-1]
    assert send["type"] == "document"
    assert send["document"]["filename"] == "report.pdf"
    assert "caption" not in send["document"]


async def test_a_send_retried_after_the_upload_never_uploads_again(media: MediaWorld) -> None:
    conversation = await open_conversation(media)
    media.meta.failures["upload"] = [httpx.Response(503, json={"error": {"code": 2}})]
    media.meta.failures["send"] = [
        httpx.Response(500, json={"error": {"code": 1, "message": "try again"}}),
    ]
    answer = await media.call(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        files={"file": ("a.jpg", JPEG, "image/jpeg")},
    )
    assert answer.status_code == 202, answer.text
    await sent_status(media, answer.json()["id"])
    # The 503 upload, then the one that gave the id; the 500 send, then the one accepted.
    assert len(media.meta.uploads) == 2
    image_sends = [s for s in media.meta.sends if s.get("type") == "image"]
    assert [s["image"]["id"] for s in image_sends] == ["900001", "900001"]


async def test_the_api_sends_a_file_by_its_public_link(media: MediaWorld) -> None:
    conversation = await open_conversation(media)
    found = (await media.call("GET", f"/api/v1/conversations/{conversation}")).json()
    contact_id = found["contact"]["id"]
    answer = await media.call(
        "POST",
        "/api/v1/messages",
        json={
            "channel_id": media.channel.id,
            "to": contact_id,
            "media": {"kind": "video", "link": "https://files.example/clip.mp4", "caption": "c"},
        },
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["media"]["kind"] == "video"
    await sent_status(media, answer.json()["id"])
    send = media.meta.sends[-1]
    assert send["video"] == {"link": "https://files.example/clip.mp4", "caption": "c"}
    assert not media.meta.uploads
    kept = await media.call("GET", answer.json()["media"]["url"])
    assert kept.status_code == 409
    assert "by its link" in kept.json()["error"]["message"]


async def test_the_api_takes_the_same_form(media: MediaWorld) -> None:
    await open_conversation(media)
    answer = await media.call(
        "POST",
        "/api/v1/messages",
        files={"file": ("v.ogg", b"OggS" + bytes(100), "audio/ogg")},
        data={"channel_id": str(media.channel.id), "to": "972987654321"},
    )
    assert answer.status_code == 202, answer.text
    await sent_status(media, answer.json()["id"])
    assert media.meta.sends[-1]["type"] == "audio"
    assert "caption" not in media.meta.sends[-1]["audio"]


@pytest.mark.parametrize(
    ("file", "status", "said"),
    [
        (("x.exe", b"MZ\x90\x00", "application/x-msdownload"), 422, "allowed: application/"),
        (("x.html", b"<html>", "text/html"), 422, "allowed:"),
        (("fake.png", b"<svg onload=alert(1)>", "image/png"), 422, "not a image/png"),
        (("fake.jpg", PNG, "image/jpeg"), 422, "not a image/jpeg"),
        (("empty.pdf", b"", "application/pdf"), 422, "empty"),
        (("big.jpg", JPEG + bytes(5 * 1024 * 1024), "image/jpeg"), 413, "at most"),
    ],
)
async def test_a_file_that_breaks_the_rules_is_refused_and_nothing_kept(
    media: MediaWorld, file: tuple[str, bytes, str], status: int, said: str
) -> None:
    conversation = await open_conversation(media)
    answer = await media.call(
        "POST", f"/api/v1/conversations/{conversation}/messages", files={"file": file}
    )
    assert answer.status_code == status, answer.text
    assert said in answer.json()["error"]["message"]
    root = media.router.state.settings.router_media_dir
    assert not [p for p in root.rglob("*") if p.is_file()]


async def test_a_file_outside_the_window_is_a_409_and_nothing_is_kept(media: MediaWorld) -> None:
    answer = await media.call(
        "POST",
        "/api/v1/messages",
        files={"file": ("a.png", PNG, "image/png")},
        data={"channel_id": str(media.channel.id), "to": "15550009999"},
    )
    assert answer.status_code == 409, answer.text
    assert "24-hour" in answer.json()["error"]["message"]
    root = media.router.state.settings.router_media_dir
    assert not [p for p in root.rglob("*") if p.is_file()]


async def test_bad_forms_are_4xx_that_say_why(media: MediaWorld) -> None:
    conversation = await open_conversation(media)
    path = f"/api/v1/conversations/{conversation}/messages"
    no_file = await media.call("POST", path, data={"caption": "x"}, files={"other": ("a", b"1")})
    assert no_file.status_code == 422
    assert no_file.json()["detail"][0]["loc"] == ["body", "file"]
    unknown = await media.call(
        "POST", path, data={"colour": "red"}, files={"file": ("a.png", PNG, "image/png")}
    )
    assert unknown.status_code == 422
    broken = await media.call(
        "POST",
        path,
        content=b"--xyz\r\nnot a form",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code in (400, 422), broken.text
    other = await media.call(
        "POST", path, content=b"\xff", headers={"Content-Type": "application/octet-stream"}
    )
    assert other.status_code == 415
    assert other.headers["accept-post"] == "application/json, multipart/form-data"
    huge = await media.call("POST", path, json={"text": "x" * (1024 * 1024)})
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "body_too_large"
    text = await media.call("POST", path, json={"text": "still works"})
    assert text.status_code == 202
    assert json.loads(text.content)["media"] is None
