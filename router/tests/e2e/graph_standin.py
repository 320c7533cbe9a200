"""A minimal stand-in for the Graph API's send endpoint that records what the router sends."""

import itertools
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class GraphStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.app = FastAPI()
        self.app.post("/{version}/{phone_id}/messages")(self._send)

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
        target = payload.get("to") or payload.get("recipient")
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": target, "wa_id": target}],
                "messages": [{"id": wamid}],
            }
        )

    def texts_to(self, recipient: str) -> list[str]:
        with self._lock:
            return [
                p["text"]["body"]
                for p in self.sent
                if p.get("type") == "text" and recipient in (p.get("to"), p.get("recipient"))
            ]
