"""The Graph API's media endpoints, answered as Meta answers them (objects in app/media.py).

- `POST /{version}/{phone_number_id}/media`: multipart `file`, `type` (its MIME type) and
  `messaging_product=whatsapp`, with that number's token -> `{"id": ...}`; a type or a size
  WhatsApp does not take is Meta's 131053.
- `GET /{version}/{media_id}` (app/graph.py hands a media id here): its URL, MIME type, sha256
  (hex), size; the URL is good for `SIMULATOR_MEDIA_URL_SECONDS`.
- `GET /whatsapp_business/attachments/?mid=&ext=&hash=`: the URL; the bytes, for the same token.
- `DELETE /{version}/{media_id}`: forgets it.

A token reaches only its own number's media: another number's token gets the answer an unknown id
gets (400, code 100 subcode 33), no token or an unknown one 401 (code 190), as on the numbers.
"""

from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from app.businesses import Business
from app.deps import simulator_of
from app.errors import GraphError, InvalidParameterError, UnknownObjectError
from app.graph_calls import VERSION, answered, latency
from app.media import MAX_UPLOAD_BYTES, Media, kind_of_upload
from app.simulator import Simulator

log = structlog.get_logger()
router = APIRouter(tags=["graph api"])

# The body of an upload: the largest file WhatsApp takes (a 100 MB document) and its form.
MAX_UPLOAD_BODY = MAX_UPLOAD_BYTES + 64 * 1024
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "messaging_product"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "messaging_product": {"type": "string", "enum": ["whatsapp"]},
                    "type": {"type": "string", "description": "the file's MIME type"},
                },
            }
        }
    },
}


def authorize(simulator: Simulator, media_id: str, request: Request, method: str) -> Media:
    """The media object when this token may reach it, else Meta's error for an unknown id."""
    header = request.headers.get("authorization", "")
    media = simulator.media.objects.get(media_id)
    owner = media.phone_number_id if media is not None else ""
    try:
        simulator.businesses.authorize(owner, header, "get" if method == "get" else "post")
    except UnknownObjectError:
        raise UnknownObjectError(media_id, method) from None
    asked = request.query_params.get("phone_number_id")
    if media is None or (asked is not None and asked != media.phone_number_id):
        raise UnknownObjectError(media_id, method)
    return media


def url_answer(simulator: Simulator, media: Media, request: Request) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "url": simulator.media.download_url(str(request.base_url), media),
        "mime_type": media.mime_type,
        "sha256": media.sha256_hex,
        "file_size": media.file_size,
        "id": media.id,
    }


async def lookup(simulator: Simulator, media_id: str, request: Request) -> JSONResponse:
    """`GET /{version}/{media_id}`: app/graph.py's node read, for an id that is a media's."""

    async def url() -> dict[str, Any]:
        await latency(simulator)
        _fault(simulator)
        return url_answer(simulator, authorize(simulator, media_id, request, "get"), request)

    return await answered(simulator, request, "media_url", media_id, url)


@router.post(
    "/{version}/{phone_id}/media", openapi_extra={"requestBody": UPLOAD_BODY}, status_code=200
)
async def upload(version: str, phone_id: str, request: Request) -> JSONResponse:
    """Upload a file to send by id: multipart `file`, `type` (its MIME type),
    `messaging_product=whatsapp`."""
    if not VERSION.match(version):
        raise HTTPException(status_code=404)
    simulator = simulator_of(request)
    shown: dict[str, Any] | None = None  # what is recorded: the form, not the file's bytes

    async def upload() -> dict[str, Any]:
        nonlocal shown
        await latency(simulator)
        business = simulator.businesses.authorize(
            phone_id, request.headers.get("authorization", ""), "post"
        )
        _fault(simulator)
        shown, media = await _store_upload(simulator, business, request)
        log.info("media.uploaded", media_id=media.id, mime_type=media.mime_type)
        return {"id": media.id}

    return await answered(simulator, request, "media_upload", phone_id, upload, lambda: shown)


async def _store_upload(
    simulator: Simulator, business: Business, request: Request
) -> tuple[dict[str, Any], Media]:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidParameterError("Send the file as multipart/form-data.")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except MultiPartException as exc:
        raise InvalidParameterError(f"The multipart body cannot be read: {exc.message}") from None
    try:
        return await _store_form(simulator, business, form)
    finally:
        await form.close()  # the file's spooled copy


async def _store_form(
    simulator: Simulator, business: Business, form: FormData
) -> tuple[dict[str, Any], Media]:
    upload = form.get("file")
    product = form.get("messaging_product")
    declared = form.get("type")
    if not isinstance(upload, UploadFile):
        raise InvalidParameterError("The parameter file is required.")
    if product != "whatsapp":
        raise InvalidParameterError("The parameter messaging_product is required.")
    mime_type = declared if isinstance(declared, str) and declared else upload.content_type
    if not mime_type:
        raise InvalidParameterError("The parameter type is required.")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    shown = {
        "messaging_product": product,
        "type": mime_type,
        "file": {"filename": upload.filename, "size": len(data)},
    }
    kind_of_upload(mime_type, len(data))  # raises MediaUploadError
    media = simulator.media.add(
        business.phone_number_id, data, mime_type, "upload", filename=upload.filename
    )
    return shown, media


@router.get("/whatsapp_business/attachments/", include_in_schema=False)
async def download(request: Request) -> Response:
    """A media URL from a lookup: the bytes, for a token of the media's number, until it
    expires."""
    simulator = simulator_of(request)
    params = request.query_params
    code = None
    try:
        await latency(simulator)
        _fault(simulator)
        media = simulator.media.by_url(
            params.get("mid", ""), params.get("ext", ""), params.get("hash", "")
        )
        authorize(simulator, media.id, request, "get")
    except GraphError as exc:
        code = exc.code
        log.info("graph.error", code=exc.code, status_code=exc.status_code)
        simulator.metrics.graph_answered("media_download", code)
        return JSONResponse(exc.body(), status_code=exc.status_code)
    simulator.metrics.graph_answered("media_download", code)
    headers = {"Content-Disposition": "attachment"}
    return Response(media.data, media_type=media.mime_type, headers=headers)


@router.delete("/{version}/{media_id}")
async def delete(version: str, media_id: str, request: Request) -> JSONResponse:
    """Delete an uploaded media object."""
    if not VERSION.match(version):
        raise HTTPException(status_code=404)
    simulator = simulator_of(request)

    async def remove() -> dict[str, Any]:
        await latency(simulator)
        media = authorize(simulator, media_id, request, "delete")
        del simulator.media.objects[media.id]
        return {"success": True}

    return await answered(simulator, request, "media_delete", media_id, remove)


def _fault(simulator: Simulator) -> None:
    injected = simulator.faults.failure_for("media")
    if injected is not None:
        raise injected
