"""`/inbox`: the agents' page is served as it is, and draws every icon itself (no emoji font).

How it behaves in a browser is simulator/tests/e2e/test_inbox_page.py's (the three services as
processes, Chromium)."""

import re
from pathlib import Path

from app.inbox.endpoints import STATIC

from .conftest import make_settings, running_router

# Pictographs a stock Chromium on Debian has no font for (it draws an empty box): the emoji
# blocks, dingbats and the symbols around them, variation selectors.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


async def test_the_page_and_its_files_are_served(database_url: str) -> None:
    async with running_router(make_settings(database_url=database_url)) as router:
        page = await router.client.get("/inbox")
        script = await router.client.get("/inbox/static/inbox.js")
        style = await router.client.get("/inbox/static/inbox.css")
        slash = await router.client.get("/inbox/")
        missing = await router.client.get("/inbox/static/nothing.js")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    for asset in re.findall(r'(?:src|href)="(/inbox/static/[^"]+)"', page.text):
        assert asset in ("/inbox/static/inbox.js", "/inbox/static/inbox.css")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    assert slash.status_code == 307
    assert slash.headers["location"] == "/inbox"
    assert missing.status_code == 404


def test_no_file_of_the_page_needs_an_emoji_font() -> None:
    files = sorted(Path(STATIC).iterdir())
    assert {f.name for f in files} == {"index.html", "inbox.css", "inbox.js"}
    for file in files:
        found = EMOJI.findall(file.read_text(encoding="utf-8"))
        assert found == [], f"{file.name} holds {found}: draw it as an inline SVG"
