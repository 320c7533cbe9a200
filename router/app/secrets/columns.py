"""The column types of secrets: every secret the router keeps is stored through one of them, so none
is written in clear by mistake (tests/secrets/test_models.py fails on a column or an agent's config
field named like a secret that does not use them).

Encrypted when written, decrypted when read: code above the models sees the secret itself. A
ciphertext is new at each write, so such a column cannot be compared in SQL (no `WHERE token = ?`).
Reading one costs a decryption (tens of microseconds): the message path reads channels and agents
through their directories, once per cache period, not per message.
"""

from typing import Any

from sqlalchemy import JSON, Dialect, Text
from sqlalchemy.types import TypeDecorator

from app.secrets.keyring import active


class EncryptedText(TypeDecorator[str]):
    """A text secret (a channel's access token)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else active().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else active().decrypt(value)


class EncryptedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object some of whose top-level fields are secrets (an llm agent's `api_key` in its
    config): those are stored encrypted, the rest as they are."""

    impl = JSON
    cache_ok = True

    def __init__(self, fields: tuple[str, ...]) -> None:
        super().__init__()
        self.fields = fields

    def process_bind_param(
        self, value: dict[str, Any] | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict) or not _holds_secrets(value, self.fields):
            return value
        ring = active()
        return {
            k: ring.encrypt(v) if k in self.fields and isinstance(v, str) else v
            for k, v in value.items()
        }

    def process_result_value(
        self, value: dict[str, Any] | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict) or not _holds_secrets(value, self.fields):
            return value
        ring = active()
        return {
            k: ring.decrypt(v) if k in self.fields and isinstance(v, str) else v
            for k, v in value.items()
        }


def _holds_secrets(value: dict[str, Any], fields: tuple[str, ...]) -> bool:
    return any(isinstance(value.get(f), str) for f in fields)
