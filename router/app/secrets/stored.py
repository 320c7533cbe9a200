"""The secrets in the database as they are stored (ciphertext), for the start-up check and the
rotation. Which columns hold them is read from the models: every column of an encrypted type
(app/secrets/columns.py), so a secret added later is checked and rotated without a change here.

Read in batches by primary key, each batch on a connection of its own: nothing holds a table
while routers serve. A rotated value is written only where the row still holds what was read
(`WHERE id = ? AND value = ?`): a token changed meanwhile through the API is left as its writer
made it, never overwritten with the old one.
"""

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ColumnElement, Integer, MetaData, Text, cast, column, select, table
from sqlalchemy import inspect as inspect_schema
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import TableClause

from app.secrets.columns import EncryptedJSON, EncryptedText
from app.secrets.keyring import KeyRing, SecretUnreadable, is_encrypted

BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class SecretColumn:
    table: str
    column: str
    key: str  # the table's primary key, to read it in batches
    fields: tuple[str, ...] | None  # an EncryptedJSON's secret fields; None: an EncryptedText

    @property
    def name(self) -> str:
        named = f"{self.table}.{self.column}"
        return named if self.fields is None else f"{named}.{'/'.join(self.fields)}"

    def raw_table(self) -> TableClause:
        kind = Text if self.fields is None else JSON
        return table(self.table, column(self.key, Integer), column(self.column, kind))

    def stored_value(self, raw: TableClause) -> ColumnElement[Any]:
        # JSON as its text, exactly as stored: it is both read and compared so.
        value = raw.c[self.column]
        return value if self.fields is None else cast(value, Text)

    def secrets(self, stored: str) -> list[str]:
        """The secrets a stored value holds."""
        if self.fields is None:
            return [stored]
        document = json.loads(stored)
        if not isinstance(document, dict):
            return []
        return [document[f] for f in self.fields if isinstance(document.get(f), str)]

    def rotated(self, stored: str, ring: KeyRing) -> Any | None:
        """The value to store instead, each secret encrypted with the first key; None when every
        one already is."""
        if self.fields is None:
            return ring.rotated(stored)
        document = json.loads(stored)
        changed = False
        for field in self.fields:
            value = document.get(field) if isinstance(document, dict) else None
            if isinstance(value, str):
                new = ring.rotated(value)
                if new is not None:
                    document[field], changed = new, True
        return document if changed else None


def secret_columns(metadata: MetaData) -> list[SecretColumn]:
    """Every column of an encrypted type in `metadata`."""
    found = []
    for name, described in sorted(metadata.tables.items()):
        for each in described.columns:
            if not isinstance(each.type, EncryptedText | EncryptedJSON):
                continue
            [key] = described.primary_key.columns  # batches need a single-column key
            fields = each.type.fields if isinstance(each.type, EncryptedJSON) else None
            found.append(SecretColumn(name, each.name, key.name, fields))
    return found


def _models() -> MetaData:
    from app.models import Base  # every table; imported late: the models import this package

    return Base.metadata


async def _present(engine: AsyncEngine, columns: Iterable[SecretColumn]) -> list[SecretColumn]:
    """Those whose table the database has (a database not migrated yet lacks some)."""
    async with engine.connect() as connection:
        tables = set(await connection.run_sync(lambda c: inspect_schema(c).get_table_names()))
    return [c for c in columns if c.table in tables]


async def _batches(
    engine: AsyncEngine, secret: SecretColumn, batch_size: int
) -> AsyncIterator[list[tuple[int, str]]]:
    raw = secret.raw_table()
    key, stored = raw.c[secret.key], secret.stored_value(raw)
    last: int | None = None
    while True:
        query = select(key, stored).where(stored.is_not(None)).order_by(key).limit(batch_size)
        if last is not None:
            query = query.where(key > last)
        async with engine.connect() as connection:
            rows = [(int(k), str(v)) for k, v in (await connection.execute(query)).all()]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


@dataclass
class Census:
    """What one column's stored secrets are."""

    name: str
    encrypted: int = 0
    unreadable: int = 0  # encrypted with no key of the ring
    in_clear: int = 0  # written before the migration that encrypts them


async def census(
    engine: AsyncEngine, ring: KeyRing, batch_size: int = 1000, metadata: MetaData | None = None
) -> list[Census]:
    """Each secret column's secrets, counted by whether `ring` reads them."""
    found = []
    for secret in await _present(engine, secret_columns(metadata or _models())):
        counted = Census(secret.name)
        async for rows in _batches(engine, secret, batch_size):
            for _, stored in rows:
                for value in secret.secrets(stored):
                    if not is_encrypted(value):
                        counted.in_clear += 1
                    elif ring.readable(value):
                        counted.encrypted += 1
                    else:
                        counted.encrypted += 1
                        counted.unreadable += 1
        found.append(counted)
    return found


@dataclass
class Rotation:
    """What one column's rotation did, in rows."""

    name: str
    read: int = 0
    changed: int = 0  # re-encrypted with the first key (or encrypted, when found in clear)
    unreadable: int = 0  # left as they are: no key of the ring decrypts them
    moved: int = 0  # changed by someone else between the read and the write: left to them


async def rotate(
    engine: AsyncEngine,
    ring: KeyRing,
    batch_size: int = BATCH_SIZE,
    metadata: MetaData | None = None,
) -> list[Rotation]:
    """Re-encrypt every stored secret with the ring's first key, a batch per transaction.

    Idempotent (a row already under the first key is not written) and safe while routers serve:
    a row holds the old ciphertext or the new one, and a router whose ring has both reads each."""
    done = []
    for secret in await _present(engine, secret_columns(metadata or _models())):
        rotation = Rotation(secret.name)
        raw = secret.raw_table()
        key, stored_value = raw.c[secret.key], secret.stored_value(raw)
        async for rows in _batches(engine, secret, batch_size):
            rotation.read += len(rows)
            writes = []
            for row_key, stored in rows:
                try:
                    new = secret.rotated(stored, ring)
                except SecretUnreadable:
                    rotation.unreadable += 1
                    continue
                if new is not None:
                    writes.append((row_key, stored, new))
            if not writes:
                continue
            async with engine.begin() as connection:
                for row_key, stored, new in writes:
                    result = await connection.execute(
                        raw.update()
                        .where(key == row_key, stored_value == stored)
                        .values({secret.column: new})
                    )
                    if result.rowcount:
                        rotation.changed += 1
                    else:
                        rotation.moved += 1
        done.append(rotation)
    return done
