"""A stand-in for the Router's API, serving the real inbox page's files: what the inbox's media
rendering and its composer's upload are checked against in a browser (test_inbox_media.py).

It answers the endpoints the page calls, in the Router's shapes, for one member, one conversation
and its messages, each kind of media among them. Media bytes are the Simulator's sample files,
served only with the ticket it issued (as the Router serves them); an upload is refused with a 422
that names the reason when the file's bytes are not of its type, and otherwise becomes a message.
"""

import asyncio
import mimetypes
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

REPO_ROOT = Path(__file__).resolve().parents[3]
STATIC = REPO_ROOT / "router" / "app" / "inbox" / "static"
SAMPLES = REPO_ROOT / "simulator" / "app" / "samples"
KEY = "wr_live_inbox_media_test_key"
# What the stand-in takes, as WhatsApp does (the page checks the same list before sending).
SIGNATURES = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG",
    "application/pdf": b"%PDF",
}


def now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class FakeRouter:
    tickets: set[str] = field(default_factory=set)
    media: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    media_requests: list[str] = field(default_factory=list)
    stopping: bool = False

    def message(self, sender: str, **fields: Any) -> dict[str, Any]:
        at = now() - timedelta(minutes=30 - len(self.messages))
        message_id = len(self.messages) + 1
        author = {
            "contact": {"id": 1, "name": "Customer 1"},
            "agent": {"id": 1, "name": "Support Agent 1"},
            "ai": {"id": None, "name": None},
        }[sender]
        item: dict[str, Any] = {
            "id": message_id,
            "conversation_id": 1,
            "direction": "inbound" if sender == "contact" else "outbound",
            "sender": sender,
            "author": author,
            "type": "text",
            "text": None,
            "template": None,
            "status": "received" if sender == "contact" else "read",
            "error_code": None,
            "error_title": None,
            "wamid": f"wamid.{message_id}",
            "agent_id": None,
            "ignored_by_rule_id": None,
            "created_at": iso(at),
            "updated_at": iso(at),
            "content": None,
            "media": None,
            "location": None,
            "contacts": None,
        }
        item.update(fields)
        item["content"] = item["text"]
        self.messages.append(item)
        return item

    def with_media(
        self,
        sender: str,
        kind: str,
        sample: str | None,
        mime_type: str,
        state: str = "stored",
        **media: Any,
    ) -> dict[str, Any]:
        data = (SAMPLES / sample).read_bytes() if sample else b""
        message_id = len(self.messages) + 1
        if state == "stored":
            self.media[message_id] = (data, mime_type)
        described = {
            "kind": kind,
            "mime_type": mime_type,
            "file_size": len(data) or media.pop("file_size", None),
            "filename": None,
            "caption": None,
            "sha256": None,
            "state": state,
            "error": None,
            "url": f"/api/v1/messages/{message_id}/media",
        }
        described.update(media)
        return self.message(sender, type=kind, text=described["caption"], media=described)


def conversation_fixture() -> FakeRouter:
    fake = FakeRouter()
    fake.message("contact", text="Hi, the parcel came damaged. Photos below.")
    fake.with_media("contact", "image", "photo.jpg", "image/jpeg", caption="The box, as it arrived")
    fake.with_media("contact", "sticker", "sticker.webp", "image/webp")
    fake.with_media("contact", "audio", "voice.m4a", "audio/mp4")
    fake.with_media("contact", "video", "video.mp4", "video/mp4", caption="Opening it")
    fake.with_media(
        "contact", "document", "document.pdf", "application/pdf", filename="invoice-1042.pdf"
    )
    fake.with_media("contact", "image", None, "image/jpeg", state="pending", file_size=181_002)
    fake.with_media(
        "contact",
        "document",
        None,
        "application/pdf",
        state="failed",
        filename="receipt.pdf",
        error="WhatsApp answered 404: the media URL had expired",
    )
    fake.message(
        "contact",
        type="location",
        location={
            "latitude": 32.0853,
            "longitude": 34.781768,
            "name": "Pickup point",
            "address": "12 Harbour Road",
        },
    )
    fake.message(
        "contact",
        type="contacts",
        contacts=[{"name": "Warehouse desk", "phones": ["+1 555 0100", "+1 555 0101"]}],
    )
    fake.message("agent", text="Thanks, I am sorry about that. A replacement is on its way.")
    return fake


def fake_router_app(fake: FakeRouter) -> FastAPI:
    app = FastAPI()

    def member(request: Request) -> None:
        if request.headers.get("x-api-key") != KEY:
            raise HTTPException(401, "unauthorized")

    @app.get("/inbox")
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/inbox/static/{name}")
    async def static(name: str) -> FileResponse:
        path = STATIC / name
        if path.parent != STATIC or not path.is_file():
            raise HTTPException(404)
        kind = "text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0]
        return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-cache"})

    @app.get("/inbox/config")
    async def config() -> dict[str, Any]:
        return {"oidc": None, "oidc_error": None}

    @app.get("/api/v1/me")
    async def me(request: Request) -> dict[str, Any]:
        member(request)
        return {
            "tenant_id": 1,
            "tenant_name": "Demo Company",
            "member_id": 1,
            "member_name": "Support Agent 1",
            "role": "agent",
        }

    @app.get("/api/v1/members")
    async def members(request: Request) -> dict[str, Any]:
        member(request)
        team = {"id": 1, "name": "Support Agent 1", "role": "agent", "email": None}
        return {"items": [team], "next": None}

    def conversation() -> dict[str, Any]:
        last_inbound = max(m["created_at"] for m in fake.messages if m["direction"] == "inbound")
        window = datetime.fromisoformat(last_inbound) + timedelta(hours=24)
        return {
            "id": 1,
            "status": "open",
            "channel_id": 1,
            "contact": {"id": 1, "wa_id": "15550009201", "user_id": None, "name": "Customer 1"},
            "owner": {"type": "agent", "id": 1, "name": "Support Agent 1"},
            "last_message_at": fake.messages[-1]["created_at"],
            "last_inbound_at": last_inbound,
            "window_expires_at": iso(window),
            "created_at": fake.messages[0]["created_at"],
            "updated_at": fake.messages[-1]["created_at"],
            "company_id": 1,
            "contact_id": 1,
            "owner_id": 1,
        }

    @app.get("/api/v1/conversations")
    async def conversations(request: Request) -> dict[str, Any]:
        member(request)
        item = conversation() | {"last_message": fake.messages[-1], "unread_count": 0}
        return {"items": [item], "next": None}

    @app.get("/api/v1/conversations/1")
    async def detail(request: Request) -> dict[str, Any]:
        member(request)
        channel = {
            "id": 1,
            "type": "whatsapp",
            "name": "Support",
            "phone_number_id": "1122334455667",
            "display_phone_number": "972123456789",
        }
        return conversation() | {"channel": channel}

    @app.get("/api/v1/conversations/1/messages")
    async def messages(request: Request) -> dict[str, Any]:
        member(request)
        return {"items": fake.messages, "next": None}

    @app.get("/api/v1/contacts/1")
    async def contact(request: Request) -> dict[str, Any]:
        member(request)
        at = fake.messages[0]["created_at"]
        return {
            "id": 1,
            "wa_id": "15550009201",
            "user_id": None,
            "name": "Customer 1",
            "name_edited": False,
            "email": None,
            "description": None,
            "is_blocked": False,
            "created_at": at,
            "updated_at": at,
        }

    @app.post("/api/v1/conversations/1/read")
    async def read(request: Request) -> dict[str, Any]:
        member(request)
        last = fake.messages[-1]["id"]
        return {"conversation_id": 1, "member_id": 1, "last_read_message_id": last}

    @app.post("/api/v1/events/ticket", status_code=201)
    async def ticket(request: Request) -> dict[str, Any]:
        member(request)
        made = "wrt_" + secrets.token_urlsafe(24)
        fake.tickets.add(made)
        return {"ticket": made, "expires_at": iso(now() + timedelta(seconds=60))}

    @app.get("/api/v1/events")
    async def events(ticket: str) -> StreamingResponse:
        if ticket not in fake.tickets:
            raise HTTPException(401, "the ticket is not valid")

        async def stream() -> Any:
            yield ": connected\n\n"
            # Set from the test's thread, not this server's loop: an asyncio.Event cannot be.
            while not fake.stopping:  # noqa: ASYNC110
                await asyncio.sleep(0.1)

        return StreamingResponse(stream(), media_type="text/event-stream")

    @app.get("/api/v1/messages/{message_id}/media")
    async def media(message_id: int, request: Request) -> Response:
        ticket = request.query_params.get("ticket")
        fake.media_requests.append(request.url.path)
        if ticket not in fake.tickets and request.headers.get("x-api-key") != KEY:
            return JSONResponse({"detail": "a ticket or a key is needed"}, status_code=401)
        if message_id not in fake.media:
            return JSONResponse({"detail": "the media is not stored"}, status_code=409)
        data, mime_type = fake.media[message_id]
        return Response(data, media_type=mime_type)

    @app.post("/api/v1/conversations/1/messages", status_code=201)
    async def send(request: Request) -> Any:
        member(request)
        async with request.form() as form:
            upload = form.get("file")
            caption = form.get("caption")
            if not isinstance(upload, UploadFile):
                return JSONResponse({"detail": "a file is required"}, status_code=422)
            data = await upload.read()
            mime_type = upload.content_type or ""
        fake.uploads.append(
            {"filename": upload.filename, "type": mime_type, "caption": caption, "data": data}
        )
        signature = SIGNATURES.get(mime_type)
        if signature is None or not data.startswith(signature):
            what = mime_type or "no type"
            reason = f"the file's bytes are not a {what} file: WhatsApp would refuse it"
            return JSONResponse({"detail": reason}, status_code=422)
        message_id = len(fake.messages) + 1
        fake.media[message_id] = (data, mime_type)
        kind = "document" if mime_type == "application/pdf" else "image"
        return fake.message(
            "agent",
            type=kind,
            text=caption if isinstance(caption, str) and caption else None,
            status="pending",
            media={
                "kind": kind,
                "mime_type": mime_type,
                "file_size": len(data),
                "filename": upload.filename,
                "caption": caption or None,
                "sha256": None,
                "state": "stored",
                "error": None,
                "url": f"/api/v1/messages/{message_id}/media",
            },
        )

    return app
