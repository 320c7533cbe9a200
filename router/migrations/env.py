"""Alembic's entry point. The router passes its own connection; the CLI builds one from settings."""

import asyncio

from alembic import context
from sqlalchemy import Connection

from app.models import Base

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from app.core.engine import create_engine, migrating
    from app.settings import database_url_from_environment

    engine = create_engine(database_url_from_environment())
    async with migrating(engine) as connection:
        await connection.run_sync(run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    asyncio.run(run_from_settings())
