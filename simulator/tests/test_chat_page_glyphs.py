"""The chat page draws every icon itself: a stock Chromium on Debian has no emoji font, and an
emoji there is an empty box."""

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "app" / "static"
# The emoji blocks, dingbats and the symbols around them, variation selectors.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def test_no_file_of_the_chat_page_needs_an_emoji_font() -> None:
    files = sorted(STATIC.iterdir())
    assert files
    for file in files:
        found = EMOJI.findall(file.read_text(encoding="utf-8"))
        assert found == [], f"{file.name} holds {found}: draw it as an inline SVG"
