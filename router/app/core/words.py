"""Whole words in a text, in any case: `hi` is in "Hi there" and in "hi!", never in "this"."""

import re


def whole_words(words: list[str]) -> re.Pattern[str]:
    """One pattern finding any of `words` (escaped: literal text, so matching is linear)."""
    alternatives = "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
