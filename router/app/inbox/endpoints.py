"""`/inbox`: the agents' page, plain HTML, CSS and JavaScript served as they are (no build step).

The page talks to the API like any client: an API key from the sign-in form, sent as `X-API-Key`,
and the event stream (`/api/v1/events`) for live updates.
"""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/inbox")
async def inbox_page() -> FileResponse:
    # no-cache: a browser asks again (a 304 when unchanged), so a new version is never stale.
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/inbox/")
async def inbox_slash() -> RedirectResponse:
    return RedirectResponse("/inbox")


def install_inbox(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/inbox/static", StaticFiles(directory=STATIC), name="inbox-static")
