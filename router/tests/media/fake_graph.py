"""Meta's media endpoints, answered by the tests' Graph API stand-in (tests/graph_api.py): the URL
lookup (`GET /{media_id}`), the download from the URL it gives (with the same bearer token), the
upload (`POST /{phone_number_id}/media`) and the sends."""

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..conftest import GRAPH_URL, GRAPH_VERSION
from ..graph_api import Answer, Responder, accepting_sends

# The smallest files that are what they say.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OGG = b"OggS\x00\x02" + bytes(range(200))
PDF = b"%PDF-1.4\n" + b"1 0 obj <<>> endobj\n" * 20 + b"%%EOF\n"

_LOOKUP = re.compile(rf"/v{re.escape(GRAPH_VERSION)}/([0-9A-Za-z_.-]+)")
_UPLOAD = re.compile(rf"/v{re.escape(GRAPH_VERSION)}/([0-9]+)/media")
_SEND = re.compile(rf"/v{re.escape(GRAPH_VERSION)}/([0-9]+)/messages")


@dataclass
class File:
    content: bytes
    mime_type: str
    token: str  # the bearer token the lookup and the download must carry
    said_size: int | None = None  # what the lookup claims, when it lies
    said_sha256: str | None = None  # hex, when it lies


@dataclass
class FakeMedia:
    files: dict[str, File] = field(default_factory=dict)
    uploads: list[httpx.Request] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)
    lookups: int = 0
    downloads: int = 0
    # Answers given before the normal one, per kind of call ("lookup", "download", "upload",
    # "send"): a failure the test injects.
    failures: dict[str, list[httpx.Response]] = field(default_factory=dict)
    expired_once: set[str] = field(default_factory=set)  # file ids whose first URL has expired
    on_send: Callable[[httpx.Request], None] | None = None
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(900001))
    _send: Responder = field(default_factory=accepting_sends)
    _urls: dict[str, str] = field(default_factory=dict)  # url token -> file id

    def add(self, media_id: str, content: bytes, mime_type: str, token: str) -> str:
        """A file Meta holds; its sha256 as the webhook carries it (base64)."""
        self.files[media_id] = File(content, mime_type, token)
        return base64.b64encode(hashlib.sha256(content).digest()).decode()

    def _failure(self, kind: str) -> httpx.Response | None:
        queued = self.failures.get(kind)
        return queued.pop(0) if queued else None

    def __call__(self, request: httpx.Request) -> Answer:
        path = request.url.path
        auth = request.headers.get("authorization", "")
        if path.startswith("/files/"):
            return self._download(path.removeprefix("/files/"), auth)
        if request.method == "POST" and (found := _UPLOAD.fullmatch(path)):
            self.uploads.append(request)
            if (failure := self._failure("upload")) is not None:
                return failure
            return httpx.Response(200, json={"id": str(next(self._ids))})
        if request.method == "POST" and _SEND.fullmatch(path):
            self.sends.append(json.loads(request.content))
            if self.on_send is not None:
                self.on_send(request)
            if (failure := self._failure("send")) is not None:
                return failure
            sent = self._send(request)
            assert isinstance(sent, httpx.Response)
            return sent
        if request.method == "GET" and (found := _LOOKUP.fullmatch(path)):
            return self._lookup(found.group(1), auth)
        return httpx.Response(404, json={"error": {"code": 100, "message": "no such path"}})

    def _lookup(self, media_id: str, auth: str) -> httpx.Response:
        self.lookups += 1
        if (failure := self._failure("lookup")) is not None:
            return failure
        file = self.files.get(media_id)
        if file is None or auth != f"Bearer {file.token}":
            return httpx.Response(400, json={"error": {"code": 100, "message": "unknown media"}})
        url_token = f"{media_id}-{self.lookups}"
        self._urls[url_token] = media_id
        return httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "url": f"{GRAPH_URL}/files/{url_token}",
                "mime_type": file.mime_type,
                "sha256": file.said_sha256 or hashlib.sha256(file.content).hexdigest(),
                "file_size": file.said_size if file.said_size is not None else len(file.content),
                "id": media_id,
            },
        )

    def _download(self, url_token: str, auth: str) -> httpx.Response:
        self.downloads += 1
        media_id = self._urls.get(url_token)
        file = self.files.get(media_id or "")
        if file is None or auth != f"Bearer {file.token}":
            return httpx.Response(401, json={"error": {"code": 190, "message": "no access"}})
        if media_id in self.expired_once:
            self.expired_once.discard(media_id)
            return httpx.Response(404, json={"error": {"code": 100, "message": "URL expired"}})
        if (failure := self._failure("download")) is not None:
            return failure
        return httpx.Response(200, content=file.content, headers={"Content-Type": file.mime_type})
