"""`/inbox`: the agents' page, plain HTML, CSS and JavaScript modules served as they are (no build
step; app/inbox/static/main.js says which module does what).

The page talks to the API like any client: an API key from the sign-in form, sent as `X-API-Key`,
or the identity provider's token (`/inbox/config` says whether and where: app/inbox/oidc.py),
sent as `Authorization: Bearer`; and the event stream (`/api/v1/events`) for live updates.
"""

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.staticfiles import NotModifiedResponse, PathLike
from starlette.types import Scope

from app.inbox.oidc import InboxConfig, InboxConfigSource
from app.settings import Settings

STATIC = Path(__file__).parent / "static"
# A browser runs a module only when it is served as JavaScript; text/javascript is the type the
# HTML standard names. Python's own guess depends on the host's mime.types: without one, 3.11 says
# application/javascript.
MEDIA_TYPES = {".js": "text/javascript"}


class InboxFiles(StaticFiles):
    """The page's files with their type fixed, and `no-cache` on each: the browser asks again (a
    304 when unchanged), so a new version's modules are never mixed with an old one's."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=MEDIA_TYPES.get(Path(full_path).suffix),
            headers={"Cache-Control": "no-cache"},
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def install_inbox(app: FastAPI, settings: Settings) -> None:
    router = APIRouter(include_in_schema=False)
    source = InboxConfigSource(settings)

    @router.get("/inbox")
    async def inbox_page() -> FileResponse:
        # no-cache: a browser asks again (a 304 when unchanged), so a new version is never stale.
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/inbox/")
    async def inbox_slash() -> RedirectResponse:
        return RedirectResponse("/inbox")

    @router.get("/inbox/config")
    async def inbox_config() -> InboxConfig:
        """How the page may sign in: with an API key always, with the identity provider when
        `ROUTER_OIDC_CLIENT_ID` is set (and its discovery document answered)."""
        return await source.get()

    app.include_router(router)
    app.mount("/inbox/static", InboxFiles(directory=STATIC), name="inbox-static")
