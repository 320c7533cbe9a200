"""A message's body as the two send endpoints take it: JSON (a text, a template, or a file by its
public link), or a multipart form with a `file`.

The endpoint reads its body itself, and answers as FastAPI and app/core/bodies.py answer any
other: JSON that does not parse is a 400, a shape that does not validate FastAPI's 422, a body sent
as neither type a 415 naming both. A file is checked before anything is stored: its type must be
one WhatsApp takes (422 naming them), its size within its kind's limit (413), an image's bytes
must start as its type's do, and it may not be empty; its name is cleaned (never a path).
"""

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from app.core.bodies import MAX_BODY_BYTES, is_json, media_type
from app.core.errors import (
    BodyTooLarge,
    FileTooLarge,
    Unprocessable,
    UnreadableBody,
    UnsupportedBody,
)
from app.media.attachment import STORED
from app.media.blobs import BlobStore, new_key, spool_file
from app.media.kinds import ALLOWED_TYPES, MAX_BYTES, base_type, matches_signature, safe_filename

MULTIPART = "multipart/form-data"
JSON = "application/json"
# The largest body the two send endpoints take: the largest file (a document) and its form.
MAX_UPLOAD_BODY = MAX_BYTES["document"] + 64 * 1024
FIELD_BYTES = 16 * 1024  # a form's text field
CHUNK = 64 * 1024

T = TypeVar("T", bound=BaseModel)
F = TypeVar("F", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A file checked and written to the spool, not yet in the store."""

    path: Path
    size: int
    sha256: str
    mime_type: str
    kind: str
    filename: str | None

    def attachment(self, key: str, caption: str | None) -> dict[str, Any]:
        """Its attachment (app/media/attachment.py) once stored under `key`."""
        return {
            "kind": self.kind,
            "mime_type": self.mime_type,
            "file_size": self.size,
            "filename": self.filename,
            "caption": caption,
            "sha256": self.sha256,
            "state": STORED,
            "error": None,
            "key": key,
            "media_id": None,
            "link": None,
        }


def _invalid(exc: ValidationError, body: Any) -> RequestValidationError:
    errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
    return RequestValidationError(errors, body=body)


async def read_body(
    request: Request, json_model: type[T], form_model: type[F], store: BlobStore
) -> T | tuple[F, ReceivedFile]:
    """The request's body: `json_model` from JSON, or `form_model` and its file from a form."""
    found = media_type(request.headers.get("content-type"))
    if is_json(request.headers.get("content-type")):
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
        # Read as FastAPI reads a JSON body (json.loads), so that it is answered the same way.
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            error = {
                "type": "json_invalid",
                "loc": ("body", exc.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": exc.msg},
            }
            raise RequestValidationError([error], body=exc.doc) from None
        except (ValueError, RecursionError):  # not UTF-8 (nor -16, -32); nested too deeply
            raise UnreadableBody("the body is not JSON: send JSON in UTF-8") from None
        try:
            return json_model.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc, data) from None
    if found == MULTIPART:
        return await _form(request, form_model, store)
    said = f"Content-Type {request.headers.get('content-type')!r}" if found else "no Content-Type"
    raise UnsupportedBody(
        f"this endpoint takes {JSON} or {MULTIPART} (with a file); the request has {said}",
        {"Accept-Post": f"{JSON}, {MULTIPART}"},
    )


async def _form(request: Request, form_model: type[F], store: BlobStore) -> tuple[F, ReceivedFile]:
    try:
        form = await request.form(max_files=1, max_fields=16, max_part_size=FIELD_BYTES)
    except (MultiPartException, HTTPException) as exc:
        detail = exc.message if isinstance(exc, MultiPartException) else exc.detail
        raise UnreadableBody(f"the body is not a multipart form: {detail}") from None
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        upload = form.get("file")
        try:
            parsed = form_model.model_validate(fields)
        except ValidationError as exc:
            raise _invalid(exc, None) from None
        if not isinstance(upload, UploadFile):
            missing = {"type": "missing", "loc": ("body", "file"), "msg": "Field required"}
            raise RequestValidationError([missing])
        return parsed, await _received(upload, store)
    finally:
        await form.close()


async def _received(upload: UploadFile, store: BlobStore) -> ReceivedFile:
    mime_type = base_type(upload.content_type)
    if mime_type in ("", "application/octet-stream") and upload.filename:
        # A part without a type of its own: the one its name says.
        mime_type = base_type(mimetypes.guess_type(upload.filename, strict=False)[0])
    kind = ALLOWED_TYPES.get(mime_type)
    if kind is None:
        raise Unprocessable(
            f"file: {mime_type or 'no type'} is not a type WhatsApp sends; allowed: "
            + ", ".join(sorted(ALLOWED_TYPES))
        )
    limit = MAX_BYTES[kind]
    path = spool_file(store.spool)
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with path.open("wb") as handle:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(f"file: a {kind} is at most {limit} bytes")
                head += chunk[: max(0, 16 - len(head))]
                digest.update(chunk)
                handle.write(chunk)
        if size == 0:
            raise Unprocessable("file: the file is empty")
        if not matches_signature(mime_type, head):
            raise Unprocessable(f"file: the bytes are not a {mime_type} file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = safe_filename(upload.filename)
    return ReceivedFile(path, size, digest.hexdigest(), mime_type, kind, filename)


async def store_file(
    store: BlobStore, received: ReceivedFile, tenant_id: int, caption: str | None
) -> dict[str, Any]:
    """Put a received file in the store; its attachment."""
    key = new_key(tenant_id)
    await store.put(key, received.path, received.mime_type)
    return received.attachment(key, caption)


def link_attachment(
    kind: str, link: str, caption: str | None, filename: str | None
) -> dict[str, Any]:
    """A file Meta fetches from a public link: nothing is kept here (GET .../media is a 409)."""
    return {
        "kind": kind,
        "mime_type": None,
        "file_size": None,
        "filename": safe_filename(filename),
        "caption": caption,
        "sha256": None,
        "state": "pending",
        "error": None,
        "key": None,
        "media_id": None,
        "link": link,
    }


def openapi_body(json_schema: str, form_schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for an endpoint taking JSON (`json_schema`, a component's name) or a form
    with a file."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                JSON: {"schema": {"$ref": f"#/components/schemas/{json_schema}"}},
                MULTIPART: {"schema": form_schema},
            },
        }
    }


def document_bodies(app: FastAPI, *models: type[BaseModel]) -> None:
    """Put `models` (the JSON bodies endpoints read themselves, named by `openapi_body`) and what
    they refer to among the OpenAPI document's schemas."""
    build = app.openapi
    _, found = models_json_schema(
        [(model, "validation") for model in models],
        ref_template="#/components/schemas/{model}",
    )

    def openapi() -> dict[str, Any]:
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in found.get("$defs", {}).items():
            schemas.setdefault(name, schema)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way
