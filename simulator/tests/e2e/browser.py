"""Headless Chromium for the browser tests: Debian's `chromium` (Playwright cannot download
browsers here), the flags every test launches it with, and where screenshots go."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Without it a test is skipped on a developer's machine, and fails in CI (which installs it).
MISSING = not CHROMIUM.exists() and os.environ.get("CI") != "true"
WHY = (
    "needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium); "
    "CI=true makes this a failure instead"
)


def require_chromium() -> None:
    """At a module's top: skip its tests where Chromium is missing (outside CI)."""
    if MISSING:
        pytest.skip(WHY, allow_module_level=True)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()
