"""`python -m app.secrets rotate | check | generate-key`, on the database of DATABASE_URL with the
key ring of ROUTER_ENCRYPTION_KEYS (else the key file), as the router reads them.

- `rotate` (`make rotate-keys`): re-encrypts every stored secret with the ring's first key, in
  batches, while routers serve; prints how many rows it changed. Run again, it changes none.
- `check`: counts the stored secrets, and those no key of the ring decrypts; changes nothing.
- `generate-key`: prints a new key for ROUTER_ENCRYPTION_KEYS.

Exit status: 0 done, 1 some secret no key decrypts (left as it is), 2 cannot run (a setting, the
schema).
"""

import argparse
import asyncio
import sys

import structlog
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.engine import alembic_config, create_engine
from app.secrets.keyring import SETTING, KeyRingError, generate_key
from app.secrets.start import ring_from
from app.secrets.stored import BATCH_SIZE, census, rotate
from app.settings import SettingsError, tool_settings

# The migration that encrypts what was stored in clear: routers of an older schema read secrets
# in clear, and would send encrypted ones as tokens.
ENCRYPTING_REVISION = "0021"


class CannotRun(Exception):
    pass


def _has_revision(connection: Connection, url: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config(url))
    for head in MigrationContext.configure(connection).get_current_heads():
        try:
            below = {r.revision for r in script.iterate_revisions(head, "base") if r is not None}
        except ResolutionError:
            return True  # a revision newer than this code: it has this one
        if ENCRYPTING_REVISION in below:
            return True
    return False


async def _require_schema(engine: AsyncEngine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    async with engine.connect() as connection:
        if not await connection.run_sync(_has_revision, url):
            raise CannotRun(
                f"the database's schema is older than revision {ENCRYPTING_REVISION}, which "
                "encrypts the secrets: `make migrate` first"
            )


async def _rotate(batch_size: int) -> int:
    settings = tool_settings()
    engine = create_engine(settings.database_url)
    try:
        await _require_schema(engine)
        ring = ring_from(settings, settings.database_url)
        done = await rotate(engine, ring, batch_size)
    finally:
        await engine.dispose()
    for column in done:
        print(
            f"{column.name}: {column.read} rows read, {column.changed} re-encrypted with the "
            f"first key, {column.unreadable} unreadable, {column.moved} changed meanwhile"
        )
    changed = sum(c.changed for c in done)
    print(f"rotated: {changed} rows changed (a key ring of {ring.size})")
    if any(c.moved for c in done):
        print("rows changed meanwhile were left to their writer: run the rotation again")
    if any(c.unreadable for c in done):
        print(
            f"some rows are encrypted with no key of {SETTING}: left as they are; add the key "
            "they were encrypted with and rotate again",
            file=sys.stderr,
        )
        return 1
    return 0


async def _check() -> int:
    settings = tool_settings()
    engine = create_engine(settings.database_url)
    try:
        ring = ring_from(settings, settings.database_url)
        counted = await census(engine, ring)
    finally:
        await engine.dispose()
    for column in counted:
        print(
            f"{column.name}: {column.encrypted} encrypted ({column.unreadable} unreadable), "
            f"{column.in_clear} in clear"
        )
    if any(c.unreadable for c in counted):
        print(f"some secrets are encrypted with no key of {SETTING}", file=sys.stderr)
        return 1
    return 0


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.secrets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rotating = commands.add_parser("rotate", help="re-encrypt every secret with the first key")
    rotating.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per transaction")
    commands.add_parser("check", help="count the stored secrets the key ring cannot read")
    commands.add_parser("generate-key", help="print a new key for " + SETTING)
    chosen = parser.parse_args(arguments)
    if chosen.command == "generate-key":
        print(generate_key())
        return 0
    # Log lines (the key file's path) on stderr: stdout is the command's answer.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    try:
        if chosen.command == "rotate":
            if chosen.batch_size < 1:
                raise CannotRun("--batch-size must be at least 1")
            return asyncio.run(_rotate(chosen.batch_size))
        return asyncio.run(_check())
    except (SettingsError, KeyRingError, CannotRun) as exc:
        print(f"python -m app.secrets {chosen.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
