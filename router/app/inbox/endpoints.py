"""`/inbox`: the agents' page, plain HTML, CSS and JavaScript served as they are (no build step).

The page talks to the API like any client: an API key from the sign-in form, sent as `X-API-Key`,
or the identity provider's token (`/inbox/config` says whether and where: app/inbox/oidc.py),
sent as `Authorization: Bearer`; and the event stream (`/api/v1/events`) for live updates.
"""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.inbox.oidc import InboxConfig, InboxConfigSource
from app.settings import Settings

STATIC = Path(__file__).parent / "static"


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
    app.mount("/inbox/static", StaticFiles(directory=STATIC), name="inbox-static")
