"""The blob store media files are kept in: a local directory (ROUTER_MEDIA_DIR), or an
S3-compatible store (ROUTER_MEDIA_S3_URL, through aiobotocore).

A key is `t/<tenant id>/<random token>`: it names its tenant (a tenant's files can be told apart
and deleted) and cannot be guessed. Keys are made here and checked on every use, so nothing a
client or a webhook says ever becomes a path. Files arrive in `spool` (inside the media
directory, whichever store is used) and are moved or uploaded into the store whole: a key never
names half a file.
"""

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import structlog

from app.settings import Settings

log = structlog.get_logger()

CHUNK = 64 * 1024
_KEY = re.compile(r"t/[0-9]{1,19}/[A-Za-z0-9_-]{32,64}")


def new_key(tenant_id: int) -> str:
    return f"t/{tenant_id}/{secrets.token_urlsafe(32)}"


def checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("not a blob key")
    return key


class BlobMissing(Exception):
    """No blob under that key (deleted, or never stored)."""


class BlobStore(Protocol):
    kind: str
    spool: Path  # where files are written before they are put in the store

    async def put(self, key: str, path: Path, content_type: str) -> None:
        """Move (or upload) the file at `path` under `key`; `path` is gone afterwards."""
        ...

    async def size(self, key: str) -> int: ...

    def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` (inclusive) of the blob."""
        ...

    async def delete(self, keys: Iterable[str]) -> None: ...

    async def ping(self) -> None:
        """Raises when the store cannot be written to (or reached)."""
        ...

    def as_file(self, key: str) -> AbstractAsyncContextManager[Path]:
        """The blob as a local file for as long as the block runs (an upload sends it with its
        length known)."""
        ...


def spool_file(spool: Path) -> Path:
    """A fresh path in the spool for a file being written."""
    return spool / f"{secrets.token_urlsafe(16)}.part"


class LocalBlobStore:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spool = root / "spool"

    def start(self) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)
        for stale in self.spool.glob("*.part"):  # left by a crash mid-download
            stale.unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / checked(key)

    async def put(self, key: str, path: Path, content_type: str) -> None:
        target = self._path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)

        await asyncio.to_thread(move)

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            raise BlobMissing(key) from None

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self._path(key).open, "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        try:
            await asyncio.to_thread(handle.seek, start)
            left = end - start + 1
            while left > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def ping(self) -> None:
        def writable() -> None:
            if not os.access(self.spool, os.W_OK):
                raise OSError(f"{self.spool} is not writable")

        await asyncio.to_thread(writable)

    @asynccontextmanager
    async def as_file(self, key: str) -> AsyncIterator[Path]:
        path = self._path(key)
        if not await asyncio.to_thread(path.is_file):
            raise BlobMissing(key)
        yield path

    async def delete(self, keys: Iterable[str]) -> None:
        paths = [self._path(key) for key in keys]

        def remove() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        await asyncio.to_thread(remove)


class S3BlobStore:
    """Any S3-compatible store, one bucket (created at start when it is missing)."""

    kind = "s3"

    def __init__(self, client: Any, bucket: str, spool: Path) -> None:
        self._client = client
        self._bucket = bucket
        self.spool = spool

    async def start(self) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)
        try:
            await self._client.head_bucket(Bucket=self._bucket)
        except self._client.exceptions.ClientError as exc:
            if _status(exc) != 404:
                raise
            await self._client.create_bucket(Bucket=self._bucket)
            log.info("media.bucket_created", bucket=self._bucket)

    async def put(self, key: str, path: Path, content_type: str) -> None:
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
            with path.open("rb") as handle:
                await self._client.put_object(
                    Bucket=self._bucket,
                    Key=checked(key),
                    Body=handle,
                    ContentType=content_type,
                    ContentLength=size,
                )
        finally:
            await asyncio.to_thread(path.unlink, True)

    async def size(self, key: str) -> int:
        try:
            found = await self._client.head_object(Bucket=self._bucket, Key=checked(key))
        except self._client.exceptions.ClientError as exc:
            if _status(exc) == 404:
                raise BlobMissing(key) from None
            raise
        return int(found["ContentLength"])

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            found = await self._client.get_object(
                Bucket=self._bucket, Key=checked(key), Range=f"bytes={start}-{end}"
            )
        except self._client.exceptions.ClientError as exc:
            if _status(exc) == 404:
                raise BlobMissing(key) from None
            raise
        async with found["Body"] as body:
            async for chunk in body.iter_chunks(CHUNK):
                yield chunk

    async def ping(self) -> None:
        await self._client.head_bucket(Bucket=self._bucket)

    @asynccontextmanager
    async def as_file(self, key: str) -> AsyncIterator[Path]:
        path = spool_file(self.spool)
        try:
            size = await self.size(key)
            with path.open("wb") as handle:
                if size:
                    async for chunk in self.read(key, 0, size - 1):
                        handle.write(chunk)
            yield path
        finally:
            await asyncio.to_thread(path.unlink, True)

    async def delete(self, keys: Iterable[str]) -> None:
        listed = [checked(key) for key in keys]
        for at in range(0, len(listed), 1000):  # S3's most per request
            batch = [{"Key": key} for key in listed[at : at + 1000]]
            await self._client.delete_objects(
                Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True}
            )


def _status(exc: Any) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@asynccontextmanager
async def blob_store(settings: Settings) -> AsyncIterator[BlobStore]:
    """The store the settings name, ready, for as long as the block runs."""
    root = settings.router_media_dir
    if settings.router_media_s3_url is None:
        local = LocalBlobStore(root)
        await asyncio.to_thread(local.start)
        yield local
        return
    from aiobotocore.config import AioConfig  # type: ignore[import-untyped]  # S3 only
    from aiobotocore.session import get_session  # type: ignore[import-untyped]

    assert settings.router_media_s3_bucket is not None  # validated with the URL
    assert settings.router_media_s3_access_key_id is not None
    assert settings.router_media_s3_secret_access_key is not None
    session = get_session()
    async with session.create_client(
        "s3",
        endpoint_url=str(settings.router_media_s3_url),
        region_name=settings.router_media_s3_region,
        aws_access_key_id=settings.router_media_s3_access_key_id.get_secret_value(),
        aws_secret_access_key=settings.router_media_s3_secret_access_key.get_secret_value(),
        config=AioConfig(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    ) as client:
        store = S3BlobStore(client, settings.router_media_s3_bucket, root / "spool")
        await store.start()
        yield store


async def delete_quietly(store: BlobStore, keys: list[str]) -> None:
    """Delete blobs whose rows are gone; a failure is logged, not raised (the rows are deleted)."""
    if not keys:
        return
    try:
        await store.delete(keys)
    except Exception:
        log.exception("media.delete_failed", count=len(keys))
