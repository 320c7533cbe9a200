"""The session PyWA's Graph API calls run on: one channel's token over the process's aiohttp pool.

PyWA binds an access token to the session it is given (`GraphAPI.__init__` refuses a session that
already carries an `Authorization` header), so every channel needs a session of its own. An
`httpx.AsyncClient` per channel would be a connection pool per channel, and PyWA's send costs about
twice the CPU on httpx that it costs here (`python -m bench.clients`). A `GraphSession` is a few
attributes over one shared `aiohttp.ClientSession`.

This is PyWA's private surface, as PyWA 4.5 uses it (pywa/api.py, pywa_async/api.py and
pywa/errors.py); the major version is pinned in pyproject.toml, and
tests/outbound/test_graph_session.py checks PyWA's source against this list, so an upgrade that
needs more fails there first:
- `GraphAPI.__init__`: `session.headers.get("Authorization")`, `session.headers.update(...)` and an
  assignment to `session.base_url` (Meta's host: whoever builds the client points it back, see
  app/outbound/whatsapp_clients.py). `WhatsApp.token` reads and writes `headers["Authorization"]`.
- `GraphAPIAsync._request`: `await session.request(method=..., url=..., **kwargs)` with `json`,
  `params`, `headers`, `data`, `content` or `files`; `url` is a path under the base URL.
- The response: `status_code`, `json()` and `text` (`_extract_error`, then
  `WhatsAppError.from_dict(..., response=...)`, whose `status_code` reads the response's).
Not covered: `session.stream(...)` (media downloads) and anything else; they raise
`UnsupportedGraphCall` rather than half-work.

Transport failures (refused, reset, timed out) come out as `GraphUnreachable`; PyWA's own handler
only knows httpx's errors, and lets everything else through unchanged.
"""

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import aiohttp
import pywa
from multidict import CIMultiDict, CIMultiDictProxy

from app.core.costs import COSTS


class GraphUnreachable(Exception):
    """The Graph API gave no answer: refused, reset, or timed out. The cause is chained."""


class UnsupportedGraphCall(NotImplementedError):
    """PyWA asked the session for something this shim does not implement."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"GraphSession does not support {what} (PyWA {pywa.__version__}); "
            "app/outbound/graph_session.py covers what PyWA 4's Graph calls use: "
            "check it against this PyWA version"
        )


class GraphResponse:
    """A Graph API answer, read in full: the part of `httpx.Response` PyWA reads."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: CIMultiDictProxy[str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<GraphResponse [{self.status_code}]>"


class GraphSession:
    """One token's view of the shared pool, shaped as PyWA's `httpx.AsyncClient` session."""

    def __init__(self, pool: aiohttp.ClientSession, base_url: str) -> None:
        self._pool = pool
        self.base_url = base_url
        self.headers: CIMultiDict[str] = CIMultiDict()

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        content: Any = None,
        files: Mapping[str, tuple[Any, ...]] | None = None,
        **unsupported: Any,
    ) -> GraphResponse:
        if unsupported:
            raise UnsupportedGraphCall(f"request(..., {', '.join(sorted(unsupported))}=...)")
        if files is not None:
            data = _form(files)
        elif content is not None:
            data = content
        sent_headers = self.headers
        if headers:
            sent_headers = self.headers.copy()
            sent_headers.update(headers)
        target = url if url.startswith(("http://", "https://")) else self.base_url + url
        COSTS.http_requests += 1
        try:
            async with self._pool.request(
                method,
                target,
                json=json,
                params=_query(params) if params else None,
                data=data,
                headers=sent_headers,
                allow_redirects=False,  # as httpx: a redirect is an answer, not a new request
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphUnreachable(type(exc).__name__) from exc
        return GraphResponse(response.status, response.headers, body)

    def __getattr__(self, name: str) -> NoReturn:
        # Only reached for attributes the class lacks: a PyWA call this shim was not written for.
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnsupportedGraphCall(f"session.{name}")

    def __repr__(self) -> str:
        return f"<GraphSession {self.base_url}>"  # never the token


def _query(params: Mapping[str, Any]) -> dict[str, str | int | float]:
    # httpx writes booleans as true/false; aiohttp refuses them.
    return {
        key: ("true" if value else "false") if isinstance(value, bool) else value
        for key, value in params.items()
        if value is not None
    }


def _form(files: Mapping[str, tuple[Any, ...]]) -> aiohttp.FormData:
    """httpx's `files=` (name -> (filename, content[, content_type])) as multipart form data."""
    form = aiohttp.FormData()
    for name, (filename, value, *rest) in files.items():
        if not isinstance(value, str | bytes) and not hasattr(value, "read"):
            raise UnsupportedGraphCall(f"an upload from {type(value).__name__}")
        content_type = rest[0] if rest else None
        form.add_field(name, value, filename=filename, content_type=content_type)
    return form
