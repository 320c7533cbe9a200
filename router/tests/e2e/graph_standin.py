"""A minimal stand-in for the Graph API's send endpoint that records what the router sends.

It can also lose its answer: a send of a text in `hold` (or of a file of a kind in `hold`: image,
document, ...) is accepted (recorded, given a wamid) and then answered only once the router has
gone, the first time it is sent. Meta took the
message; the router never learned its wamid. `deliver_statuses` then posts Meta's status webhooks
for those sends, with the tracker each was sent with.
"""

import asyncio
import itertools
import threading
from collections.abc import Collection
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..meta import signed, status_update


class GraphStandIn:
    def __init__(self, token: str, hold: Collection[str] = ()) -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.held: list[tuple[str, dict[str, Any]]] = []  # (wamid, payload) never answered
        self.uploads: list[dict[str, Any]] = []  # each file uploaded to /media: its form's fields
        self._hold = set(hold)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.app = FastAPI()
        self.app.post("/{version}/{phone_id}/messages")(self._send)
        self.app.post("/{version}/{phone_id}/media")(self._upload)
        self.app.get("/{version}/{waba_id}/message_templates")(self._templates)

    async def _templates(self, version: str, waba_id: str, request: Request) -> JSONResponse:
        """One approved template, whatever the WABA."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(
                status_code=401,
                content={"error": {"message": "Invalid OAuth access token.", "code": 190}},
            )
        hello = {
            "id": "1",
            "name": "hello_world",
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hello"}],
        }
        return JSONResponse({"data": [hello], "paging": {"cursors": {"before": "0", "after": "1"}}})

    async def _send(self, version: str, phone_id: str, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(
                status_code=401,
                content={"error": {"message": "Invalid OAuth access token.", "code": 190}},
            )
        payload = await request.json()
        with self._lock:
            self.sent.append(payload)
            self.paths.append(request.url.path)
            wamid = f"wamid.standin{next(self._ids)}"
            text = (payload.get("text") or {}).get("body")
            kind = payload.get("type")
            lose_answer = text in self._hold or (kind != "text" and kind in self._hold)
            if lose_answer:
                self._hold.discard(text if text in self._hold else kind)
                self.held.append((wamid, payload))
        while lose_answer and not await request.is_disconnected():
            await asyncio.sleep(0.02)
        target = payload.get("to") or payload.get("recipient")
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": target, "wa_id": target}],
                "messages": [{"id": wamid}],
            }
        )

    async def _upload(self, version: str, phone_id: str, request: Request) -> JSONResponse:
        """A file uploaded to the number's /media: Meta's id for it."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(status_code=401, content={"error": {"code": 190}})
        async with request.form() as form:
            upload = form.get("file")
            content = b"" if upload is None or isinstance(upload, str) else await upload.read()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        with self._lock:
            self.uploads.append(fields | {"file": content})
            media_id = f"77{len(self.uploads):04d}"
        return JSONResponse({"id": media_id})

    def hold_kind(self, kind: str) -> None:
        """Lose the answer to the first send of a file of `kind`."""
        self._hold.add(kind)

    def sends_of(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.sent if p.get("type") == kind]

    def texts_to(self, recipient: str) -> list[str]:
        with self._lock:
            return [
                p["text"]["body"]
                for p in self.sent
                if p.get("type") == "text" and recipient in (p.get("to"), p.get("recipient"))
            ]

    def deliver_statuses(self, webhook_url: str, app_secret: str) -> None:
        """Meta's `sent` and `delivered` webhooks, signed, for each send whose answer was lost."""
        with self._lock:
            held = list(self.held)
        for wamid, payload in held:
            for status in ("sent", "delivered"):
                body = status_update(wamid, status, tracker=payload.get("biz_opaque_callback_data"))
                body["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"] = payload[
                    "to"
                ]
                content, headers = signed(app_secret, body)
                response = httpx.post(webhook_url, content=content, headers=headers)
                assert response.status_code == 200, response.text
