"""The chat page's media: a simulated user sends a photo, a video, a voice note or a file, and the
page shows every media object (the user's and the business's uploads) from here.

Nothing here exists on Meta's side, so nothing asks for a token: the Simulator is a development
tool on a developer's machine or in a test.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from app.deps import SimulatorDep, simulator_of
from app.media import MAX_CUSTOMER_BYTES, Media
from app.schemas import InboundOut
from app.simulator import Simulator
from app.store import User

router = APIRouter(prefix="/sim", tags=["control"])
MAX_SEND_BODY = MAX_CUSTOMER_BYTES + 64 * 1024
SEND_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "caption": {"type": "string"},
                    "phone_number_id": {
                        "type": "string",
                        "description": "The business number written to; the default if absent",
                    },
                    "context_id": {"type": "string", "description": "wamid this replies to"},
                    "voice": {
                        "type": "boolean",
                        "description": "audio only: a voice note recorded in the app",
                    },
                },
            }
        }
    },
}


class MediaOut(BaseModel):
    """A media object, without its bytes (`GET /sim/media/{id}/content` has them)."""

    id: str
    phone_number_id: str
    mime_type: str
    sha256: str  # hex
    file_size: int
    filename: str | None
    origin: str
    created_at: float


def shown(media: Media) -> MediaOut:
    return MediaOut.model_validate(media.public())


def _text(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} must be text")
    return value or None


@router.post(
    "/users/{wa_id}/media", openapi_extra={"requestBody": SEND_BODY}, response_model=InboundOut
)
async def user_sends_file(wa_id: str, request: Request) -> InboundOut:
    """The user sends a file (multipart `file`, `caption`?, `phone_number_id`?, `context_id`?,
    `voice`?): stored as a media object, delivered as a signed webhook carrying its id."""
    simulator = simulator_of(request)
    user = simulator.store.users.get(wa_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no simulated user {wa_id}")
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        # 422, not 415: every 415 of the service names JSON (bodies.py), which this does not take.
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "send the file as multipart/form-data (field `file`)",
        )
    try:
        form = await request.form(max_files=1, max_fields=10)
    except MultiPartException as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"the multipart body cannot be read: {exc.message}"
        ) from None
    try:
        return await _send_form(simulator, user, form)
    finally:
        await form.close()  # the file's spooled copy


async def _send_form(simulator: Simulator, user: User, form: FormData) -> InboundOut:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a file is required")
    phone_number_id = _text(form, "phone_number_id")
    if phone_number_id is None:
        business = simulator.businesses.default
    else:
        found = simulator.businesses.get(phone_number_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no business number {phone_number_id}")
        business = found
    data = await upload.read(MAX_CUSTOMER_BYTES + 1)
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the file is empty")
    if len(data) > MAX_CUSTOMER_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"WhatsApp carries files of {MAX_CUSTOMER_BYTES} bytes at most",
        )
    mime_type = upload.content_type or "application/octet-stream"
    voice = (_text(form, "voice") or "").lower() in ("1", "true", "on", "yes")
    return await simulator.send_file(
        business,
        user,
        (data, mime_type, upload.filename),
        caption=_text(form, "caption"),
        context_id=_text(form, "context_id"),
        voice=voice,
    )


@router.get("/media")
async def list_media(
    simulator: SimulatorDep,
    phone_number_id: Annotated[str | None, Query()] = None,
) -> list[MediaOut]:
    """Every media object, oldest first: the businesses' uploads and what the users sent."""
    return [
        shown(m)
        for m in simulator.media.objects.values()
        if phone_number_id is None or m.phone_number_id == phone_number_id
    ]


@router.get("/media/{media_id}")
async def get_media(media_id: str, simulator: SimulatorDep) -> MediaOut:
    """One media object."""
    return shown(_media(simulator, media_id))


@router.get(
    "/media/{media_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The bytes"}},
)
async def media_content(media_id: str, simulator: SimulatorDep) -> Response:
    """Its bytes, with its MIME type: what the chat page shows and plays."""
    media = _media(simulator, media_id)
    # No filename here: a download names the file as the message does (a document's `filename`).
    headers = {"Cache-Control": "private, max-age=3600"}
    return Response(media.data, media_type=media.mime_type, headers=headers)


def _media(simulator: Any, media_id: str) -> Media:
    media: Media | None = simulator.media.objects.get(media_id)
    if media is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no media {media_id}")
    return media
