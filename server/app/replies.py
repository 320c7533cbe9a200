"""The assignment's reply: the text echoed back with a fresh random number."""

import secrets

RANDOM_UPPER_BOUND = 1000


def compose_reply(text: str) -> str:
    number = secrets.randbelow(RANDOM_UPPER_BOUND) + 1
    return f"I received your message: '{text}' and here is a random number: {number}"
