"""The Graph API's media calls, with the number's own token, on an aiohttp pool of their own
(files are large and slow next to a send): the URL lookup, the download, the upload.

Failures come out classified: MediaUnavailable (a transient one: a timeout, a 5xx, throttling,
an expired URL; retried with the message's backoff) or MediaRefused (Meta's final word, or a file
that breaks the rules; the message's media ends `failed` with the reason).
"""

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from app.core.costs import COSTS
from app.core.errors import TransientError
from app.media.attachment import digest_hex, mime_of
from app.settings import Settings

HEAD_BYTES = 16  # what a type's signature is checked against
CHUNK = 64 * 1024


class MediaUnavailable(TransientError):
    """A media call that may pass: retried with backoff."""


class MediaRefused(Exception):
    """A media call that will not pass: Meta's refusal, or a file the rules refuse."""


@dataclass(frozen=True, slots=True)
class MediaInfo:
    url: str
    mime_type: str | None
    sha256: str | None  # hex
    file_size: int | None


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    size: int
    sha256: str  # hex
    head: bytes


def _meta_error(status: int, body: bytes) -> str:
    try:
        error = json.loads(body).get("error") or {}
        return f"Graph API error {error.get('code')}: {str(error.get('message'))[:200]}"
    except (ValueError, AttributeError):
        return f"Graph API answered {status}"


def _classify(status: int, body: bytes, what: str) -> Exception:
    reason = f"{what}: {_meta_error(status, body)}"
    if status >= 500 or status == 429:
        return MediaUnavailable(reason)
    try:
        code = (json.loads(body).get("error") or {}).get("code")
    except (ValueError, AttributeError):
        code = None
    if code in {1, 2, 4, 80007, 130429}:  # Meta's temporary errors and throttling
        return MediaUnavailable(reason)
    return MediaRefused(reason)


class MediaGraph:
    def __init__(self, pool: aiohttp.ClientSession, base_url: str) -> None:
        self._pool = pool
        self._base_url = base_url  # WHATSAPP_GRAPH_API_URL with its version

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        """A request on the shared pool, counted with the process's others (app/core/costs.py)."""
        COSTS.http_requests += 1
        return self._pool.request(method, url, **kwargs)

    async def lookup(self, media_id: str, token: str) -> MediaInfo:
        """`GET /{media_id}`: where the file is (a URL valid for 5 minutes) and what it is."""
        try:
            async with self._request(
                "GET",
                f"{self._base_url}/{media_id}",
                headers=self._auth(token),
                allow_redirects=False,
            ) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaUnavailable(
                f"media lookup: Graph API unreachable ({type(exc).__name__})"
            ) from None
        if status != 200:
            raise _classify(status, body, "media lookup")
        try:
            found: Any = json.loads(body)
            url = found["url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError("no URL")
        except (ValueError, KeyError, TypeError):
            raise MediaRefused("media lookup: the Graph API's answer has no usable URL") from None
        size = found.get("file_size")
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        return MediaInfo(
            url=url,
            mime_type=mime_of(found.get("mime_type")),
            sha256=digest_hex(found.get("sha256")),
            file_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        )

    async def download(self, url: str, token: str, target: Path, limit: int) -> Downloaded:
        """The file at `url` (with the token, as Meta asks) written to `target`, hashed as it
        comes; MediaRefused once it passes `limit` bytes, whatever its Content-Length said."""
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            async with self._request(
                "GET", url, headers=self._auth(token), allow_redirects=False
            ) as response:
                if response.status in {401, 403, 404, 410}:
                    # Meta's URL lives 5 minutes: the next attempt asks for a fresh one.
                    raise MediaUnavailable(f"media download: the URL answered {response.status}")
                if response.status != 200:
                    raise _classify(response.status, await response.read(), "media download")
                announced = response.content_length
                if announced is not None and announced > limit:
                    raise MediaRefused(f"the file is {announced} bytes, over {limit}")
                with target.open("wb") as handle:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        size += len(chunk)
                        if size > limit:
                            raise MediaRefused(f"the file is over {limit} bytes")
                        if len(head) < HEAD_BYTES:
                            head += chunk[: HEAD_BYTES - len(head)]
                        digest.update(chunk)
                        handle.write(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            await asyncio.to_thread(target.unlink, True)
            raise MediaUnavailable(
                f"media download: unreachable or cut off ({type(exc).__name__})"
            ) from None
        except BaseException:
            await asyncio.to_thread(target.unlink, True)
            raise
        return Downloaded(target, size, digest.hexdigest(), head)

    async def upload(
        self,
        phone_number_id: str,
        token: str,
        path: Path,
        mime_type: str,
        filename: str,
    ) -> str:
        """`POST /{phone_number_id}/media` (multipart, messaging_product=whatsapp): Meta's id.
        The file streams from `path` as it is sent (its length known), never whole in memory."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        try:
            with path.open("rb") as handle:
                form.add_field("file", handle, filename=filename, content_type=mime_type)
                async with self._request(
                    "POST",
                    f"{self._base_url}/{phone_number_id}/media",
                    data=form,
                    headers=self._auth(token),
                    allow_redirects=False,
                ) as response:
                    body = await response.read()
                    status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaUnavailable(
                f"media upload: Graph API unreachable ({type(exc).__name__})"
            ) from None
        if status != 200:
            raise _classify(status, body, "media upload")
        try:
            media_id = json.loads(body)["id"]
        except (ValueError, KeyError, TypeError):
            raise MediaUnavailable("media upload: the Graph API's answer has no id") from None
        return str(media_id)


@asynccontextmanager
async def media_graph(settings: Settings) -> AsyncIterator[MediaGraph]:
    timeout = aiohttp.ClientTimeout(total=settings.router_media_timeout_seconds)
    connector = aiohttp.TCPConnector(limit=64, ssl=httpx.create_ssl_context())
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as pool:
        yield MediaGraph(pool, settings.graph_api_base_url)
