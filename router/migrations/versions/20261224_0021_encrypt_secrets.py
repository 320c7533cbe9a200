"""Secrets encrypted at rest: channels' access tokens and llm agents' api keys, stored in clear
until now, are encrypted with the first key of the process's key ring (ROUTER_ENCRYPTION_KEYS, else
the key file; app/secrets/). No column changes: a secret is `fernet:<token>` in the same column.

A value already encrypted is left as it is, so the upgrade can run again. The downgrade decrypts
every secret back, and stops (changing nothing) when one cannot be decrypted with the ring.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-24
"""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.secrets.keyring import active, is_encrypted

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

channels = sa.table("channels", sa.column("id", sa.Integer()), sa.column("access_token", sa.Text()))
agents = sa.table("agents", sa.column("id", sa.Integer()), sa.column("config", sa.JSON()))
# The fields of an agent's config that are secrets (app/agents/models.py, as of this revision).
SECRET_FIELDS = ("api_key",)


def _convert(change: Callable[[str], str | None]) -> None:
    """Each stored secret through `change`: its new value, or None to leave it."""
    bind = op.get_bind()
    tokens = sa.select(channels.c.id, channels.c.access_token).where(
        channels.c.access_token.is_not(None)
    )
    for channel_id, token in bind.execute(tokens).all():
        new = change(token)
        if new is not None:
            bind.execute(
                channels.update().where(channels.c.id == channel_id).values(access_token=new)
            )
    for agent_id, config in bind.execute(sa.select(agents.c.id, agents.c.config)).all():
        if not isinstance(config, dict):
            continue
        changed: dict[str, Any] = {}
        for field in SECRET_FIELDS:
            value = config.get(field)
            if isinstance(value, str) and (new := change(value)) is not None:
                changed[field] = new
        if changed:
            bind.execute(
                agents.update().where(agents.c.id == agent_id).values(config=config | changed)
            )


def upgrade() -> None:
    ring = active()
    _convert(lambda value: None if is_encrypted(value) else ring.encrypt(value))


def downgrade() -> None:
    ring = active()
    _convert(lambda value: ring.decrypt(value) if is_encrypted(value) else None)
