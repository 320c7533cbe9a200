"""The Graph API side: what the Router's PyWA client calls, answered as Meta answers.

`POST /{version}/{phone_id}/messages`: sends of every message type, and mark-as-read with the
optional typing indicator. `GET /{version}/{phone_id}`: the phone number node
(app/phone_numbers.py), or a media object's URL (app/media_graph.py, with the upload and the
download). Each takes only a token that has that number (app/businesses.py). Every
request is recorded with its answer.

The Router sends hundreds of replies a second in its benchmark, so this path is kept cheap:
`SendShortcut` hands it to `messages` ahead of FastAPI's routing and dependency solving, which cost
about as much as the send itself. The route is still declared, for the OpenAPI page.
"""

import json
import re
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app import media_graph, phone_numbers
from app.businesses import Business
from app.deps import simulator_of
from app.errors import (
    InvalidParameterError,
    ReEngagementError,
    UnknownObjectError,
)
from app.graph_calls import VERSION, answered, latency
from app.payloads import new_wamid
from app.simulator import Simulator
from app.store import Message, User, now

log = structlog.get_logger()
router = APIRouter(tags=["graph api"])

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 512
TYPING_SECONDS = 25
MEDIA_TYPES = {"image", "video", "audio", "document", "sticker"}
SEND_TYPES = MEDIA_TYPES | {"text", "location", "contacts", "interactive", "template", "reaction"}
# `messages` reads its path parameters off the request (SendShortcut); the OpenAPI page lists them.
PATH_PARAMETERS = [
    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    for name in ("version", "phone_id")
]


@router.post("/{version}/{phone_id}/messages", openapi_extra={"parameters": PATH_PARAMETERS})
async def messages(request: Request) -> JSONResponse:
    """Send a message, or mark one read (optionally showing a typing indicator)."""
    version: str = request.path_params["version"]
    phone_id: str = request.path_params["phone_id"]
    simulator = simulator_of(request)
    raw = await request.body()
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")
    operation = "read" if isinstance(body, dict) and body.get("status") == "read" else "send"
    return await answered(
        simulator,
        request,
        operation,
        phone_id,
        lambda: _handle(simulator, version, phone_id, request, body),
        lambda: body,
    )


@router.get("/{version}/{waba_id}/message_templates")
async def message_templates(version: str, waba_id: str, request: Request) -> JSONResponse:
    """The WhatsApp Business Account's templates (`status`, `name`, `language`, `limit`,
    `after`), for a token of one of its numbers."""
    if not VERSION.match(version):
        raise HTTPException(status_code=404)
    simulator = simulator_of(request)

    async def page() -> dict[str, Any]:
        await latency(simulator)
        header = request.headers.get("authorization", "")
        simulator.businesses.authorize_waba(waba_id, header)
        base_url = str(request.url.remove_query_params(["after", "limit"]))
        return simulator.templates.page(waba_id, dict(request.query_params), base_url)

    return await answered(simulator, request, "templates", waba_id, page)


@router.get("/{version}/{phone_id}")
async def phone_number(
    version: str, phone_id: str, request: Request, fields: str | None = None
) -> JSONResponse:
    """A node: a phone number's default fields, or those named in `fields` (comma-separated); for
    a media id, its download URL, MIME type, sha256 and size (app/media_graph.py)."""
    if not VERSION.match(version):
        raise HTTPException(status_code=404)
    simulator = simulator_of(request)
    if phone_id in simulator.media.objects:
        # Meta's ids share one space: a media id is read at the same path as a number.
        return await media_graph.lookup(simulator, phone_id, request)

    async def node() -> dict[str, Any]:
        await latency(simulator)
        header = request.headers.get("authorization", "")
        business = simulator.businesses.authorize(phone_id, header, "get")
        return phone_numbers.node(business, fields, simulator.faults.behaviour.webhook_url)

    return await answered(simulator, request, "phone_number", phone_id, node)


async def _handle(
    simulator: Simulator, version: str, phone_id: str, request: Request, body: Any
) -> dict[str, Any]:
    await latency(simulator)
    header = request.headers.get("authorization", "")
    business = simulator.businesses.authorize(phone_id, header, "post")
    if not VERSION.match(version):
        raise InvalidParameterError(f"Unknown API version {version!r}")
    if not isinstance(body, dict):
        raise InvalidParameterError("The request body must be a JSON object.")
    is_read = body.get("status") == "read"
    injected = simulator.faults.failure_for("read" if is_read else "send")
    if injected is not None:
        raise injected
    if body.get("messaging_product") != "whatsapp":
        raise InvalidParameterError("The parameter messaging_product is required.")
    if is_read:
        return _mark_read(simulator, business, body)
    return _send(simulator, business, body)


def _mark_read(simulator: Simulator, business: Business, body: dict[str, Any]) -> dict[str, Any]:
    store = simulator.store
    target = store.messages.get(str(body.get("message_id", "")))
    if (
        target is None
        or target.direction != "inbound"
        or target.phone_number_id != business.phone_number_id
    ):
        raise InvalidParameterError("Invalid message_id: not a message received by this number.")
    # As on a phone, reading a message reads everything before it in the chat.
    for message in store.conversation(target.wa_id, business.phone_number_id):
        if message.direction == "inbound" and message.timestamp <= target.timestamp:
            store.set_status(message, "read")
        if message is target:
            break
    indicator = body.get("typing_indicator")
    if indicator is not None:
        if not isinstance(indicator, dict) or indicator.get("type") != "text":
            raise InvalidParameterError("Param typing_indicator['type'] must be 'text'.")
        chat = store.chat(target.wa_id, business.phone_number_id)
        chat.typing_until = now() + TYPING_SECONDS
        typing = {"wa_id": chat.wa_id, "phone_number_id": chat.phone_number_id}
        store.hub.publish("typing", typing | {"until": chat.typing_until})
    return {"success": True}


def _send(simulator: Simulator, business: Business, body: dict[str, Any]) -> dict[str, Any]:
    store = simulator.store
    to, recipient = body.get("to"), body.get("recipient")
    if body.get("recipient_type", "individual") != "individual":
        raise InvalidParameterError("Param recipient_type must be 'individual'.")
    user: User | None
    if recipient is not None:
        user = store.user_by_bsuid(recipient) if isinstance(recipient, str) else None
        if user is None:
            raise InvalidParameterError(f"Param recipient is not a valid user id: {recipient!r}")
    elif to is not None:
        digits = re.sub(r"\D", "", str(to))
        if not 6 <= len(digits) <= 15:
            raise InvalidParameterError(f"Param to is not a valid phone number: {to!r}")
        user = simulator.user_for_number(digits)
    else:
        raise InvalidParameterError("The parameter to is required.")
    assert user is not None

    kind = body.get("type", "text")
    if kind not in SEND_TYPES:
        raise InvalidParameterError(
            f"Param type must be one of {{{', '.join(sorted(SEND_TYPES))}}}, got {kind!r}."
        )
    content = body.get(kind)
    _validate(kind, content)
    callback_data = body.get("biz_opaque_callback_data")
    if callback_data is not None and (
        not isinstance(callback_data, str) or len(callback_data) > MAX_CALLBACK_DATA
    ):
        raise InvalidParameterError(
            f"Param biz_opaque_callback_data must be a string of at most {MAX_CALLBACK_DATA}"
            " characters."
        )
    chat = store.chat(user.wa_id, business.phone_number_id)
    rendered = None
    if kind == "template":
        assert isinstance(content, dict)  # _validate saw to it
        rendered = simulator.templates.check(business.waba_id, content).model_dump()
    elif not simulator.in_window(user, chat):
        raise ReEngagementError()

    context = body.get("context")
    message = Message(
        wamid=new_wamid(),
        direction="outbound",
        wa_id=user.wa_id,
        phone_number_id=business.phone_number_id,
        type=kind,
        payload=content,
        context_id=context.get("message_id") if isinstance(context, dict) else None,
        biz_opaque_callback_data=callback_data,
        rendered=rendered,
        timestamp=int(now()),
        status="accepted",
    )
    chat.typing_until = None
    store.add_message(message)
    simulator.schedule_statuses(message, user)
    log.debug("graph.accepted", wamid=message.wamid, type=kind, wa_id=user.wa_id)

    contact: dict[str, str] = {"input": str(recipient if recipient is not None else to)}
    contact["wa_id"] = user.wa_id
    if recipient is not None:
        contact["user_id"] = user.user_id
    return {
        "messaging_product": "whatsapp",
        "contacts": [contact],
        "messages": [{"id": message.wamid}],
    }


def _validate(kind: str, content: Any) -> None:
    """The checks Meta makes that a client can get wrong; not a full schema."""
    if kind == "contacts":
        if not isinstance(content, list) or not content:
            raise InvalidParameterError("Param contacts must be a non-empty array.")
        return
    if not isinstance(content, dict):
        raise InvalidParameterError(f"The parameter {kind} is required.")
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameterError("The parameter text['body'] is required.")
        if len(text) > MAX_TEXT:
            raise InvalidParameterError(
                f"Param text['body'] must be at most {MAX_TEXT} characters long."
            )
    elif kind in MEDIA_TYPES:
        if not content.get("id") and not content.get("link"):
            raise InvalidParameterError(f"Param {kind} must have an id or a link.")
    elif kind == "location":
        if not all(isinstance(content.get(k), int | float) for k in ("latitude", "longitude")):
            raise InvalidParameterError(
                "Params location['latitude'] and ['longitude'] are required."
            )
    elif kind == "interactive":
        if not content.get("type"):
            raise InvalidParameterError("The parameter interactive['type'] is required.")
    elif kind == "template":
        language = content.get("language")
        if not content.get("name") or not isinstance(language, dict) or not language.get("code"):
            raise InvalidParameterError(
                "Params template['name'] and ['language']['code'] are required."
            )
    elif kind == "reaction" and not content.get("message_id"):
        raise InvalidParameterError("The parameter reaction['message_id'] is required.")


@router.api_route(
    "/{version}/{path:path}", methods=["GET", "POST", "DELETE"], include_in_schema=False
)
async def unsupported(version: str, path: str, request: Request) -> JSONResponse:
    """Any other Graph API path: Meta's answer for an object it cannot act on."""
    if not VERSION.match(version):
        raise HTTPException(status_code=404)
    error = UnknownObjectError(path.split("/")[0] or version, request.method.lower())
    simulator_of(request).metrics.graph_answered("other", error.code)
    return JSONResponse(error.body(), status_code=error.status_code)


SEND_PATH = re.compile(r"^/(?P<version>[^/]+)/(?P<phone_id>[^/]+)/messages$")
# Recorded in the scope as Starlette's router records the route it matched, so the request metrics
# label a send with its template, as they would without the shortcut.
SEND_ROUTE = next(r for r in router.routes if getattr(r, "endpoint", None) is messages)


class SendShortcut:
    """Middleware: a POST to `/{version}/{phone_id}/messages` goes straight to `messages`.

    It sits inside the request-id middleware, so sends are logged and answered with their id as
    every other request is; `messages` answers Graph errors itself, as the route did.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = SEND_PATH.match(scope["path"])
            if match:
                scope["path_params"] = match.groupdict()
                scope["route"] = SEND_ROUTE
                response = await messages(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
