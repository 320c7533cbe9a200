"""`/webhook`: Meta's verification handshake (GET) and its deliveries (POST).

A POST is checked, read and de-duplicated, and answered at once; replies are computed afterwards.
The POST is served by `WebhookFastPath`, an ASGI middleware that hands it straight to `accept`:
at hundreds of deliveries a second, FastAPI's exception middleware, routing and dependency
resolution cost as much CPU as reading and storing the body (0.34 of 0.73 ms in-process). The
handshake, rare, is an ordinary FastAPI route.
"""

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Sequence
from time import perf_counter
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import (
    BodyTooLarge,
    InvalidWebhookBody,
    InvalidWebhookShape,
    RouterError,
    StoreUnavailable,
    VerificationFailed,
    WebhookIgnored,
    error_response,
)
from app.core.state import STATE_KEY
from app.core.writer import refused
from app.inbound.payload import (
    WHATSAPP_OBJECT,
    ParsedBody,
    StatusUpdate,
    first_error,
    parse_body,
    parse_envelope,
    shown,
)
from app.inbound.signature import SIGNATURE_HEADER, check_signature
from app.jobs.queue import JobQueue
from app.lifespan import SettingsDep, State
from app.messages.store import MessageRepository
from app.observability.metrics import webhook_outcome
from app.observability.tracing import Tracing
from app.settings import Settings

log = structlog.get_logger()

router = APIRouter(tags=["webhook"])

MAX_BODY_BYTES = 1024 * 1024
# A body over the limit is still read this far, and thrown away, before the 413 goes out: uvicorn
# closes a connection that asked for it with the rest of the body unread, which resets it, and the
# reset reached the client before the answer (a `Connection: close` client saw only the reset).
MAX_DISCARDED_BYTES = 16 * MAX_BODY_BYTES
DISCARD_IDLE_SECONDS = 1.0


@router.get("/webhook", response_class=PlainTextResponse)
async def verify(
    settings: SettingsDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> str:
    """Meta's subscription handshake: echo `hub.challenge` when the verify token matches."""
    expected = settings.whatsapp_webhook_verify_token.get_secret_value()
    if (
        mode != "subscribe"
        or token is None
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        log.warning("webhook.verification_refused", mode=mode)
        raise VerificationFailed("hub.mode must be 'subscribe' and hub.verify_token must match")
    if challenge is None:
        raise VerificationFailed("hub.challenge is missing")
    log.info("webhook.verified")
    return challenge


class WebhookFastPath:
    """`POST /webhook` straight to `accept`; everything else on to the app.

    Sits inside the request-id middleware, so its log lines carry the id, and inside FastAPI's
    server-error middleware, so an unexpected error is still a logged 500. A RouterError is
    rendered exactly as the app's exception handler renders it.

    It holds the settings itself and takes the store, the queue and the metrics from the lifespan's
    state only once a body holds something to store: an app whose lifespan never ran (the
    assignment's `TestClient(app)`) still answers a body without messages.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/webhook":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        state: State | None = (scope.get("state") or {}).get(STATE_KEY)
        metrics = state.metrics if state is not None else None
        response: Response
        answer: dict[str, Any] | RouterError
        try:
            answer = await accept(Request(scope, receive), self.settings, state)
            response = JSONResponse(answer)
        except WebhookIgnored as exc:
            answer = exc
            response = JSONResponse({"status": "ignored", "reason": exc.message})
        except RouterError as exc:
            answer, response = exc, error_response(exc)
            if isinstance(exc, BodyTooLarge):
                # The rest of its body is not read: the connection cannot serve another request.
                response.headers["Connection"] = "close"
        except Exception as exc:
            if metrics is not None:
                metrics.webhook_answered(webhook_outcome(exc), perf_counter() - started)
            raise
        await response(scope, receive, send)
        if metrics is not None:
            metrics.webhook_answered(webhook_outcome(answer), perf_counter() - started)


async def _read_body(request: Request) -> bytes:
    """The whole body, or BodyTooLarge (413), announced by its Content-Length or not."""
    announced = _announced(request.headers.get("content-length", ""))
    received = bytearray()
    chunks = request.stream()
    if announced is None or announced <= MAX_BODY_BYTES:
        async for chunk in chunks:
            received += chunk
            if len(received) > MAX_BODY_BYTES:
                break
        else:
            return bytes(received)
    # A client waiting for "100 Continue" has sent nothing yet, and reading would ask for it all;
    # one announcing more than would ever be read is answered at once, and its connection closed.
    if "100-continue" not in request.headers.get("expect", "").lower() and (
        announced is None or announced <= MAX_DISCARDED_BYTES
    ):
        await _discard(aiter(chunks), len(received))
    raise BodyTooLarge(f"body larger than {MAX_BODY_BYTES} bytes")


def _announced(declared: str) -> int | None:
    """The size a Content-Length announces; None without one."""
    if not (declared.isascii() and declared.isdigit()):
        return None
    # Past 18 digits, more than would ever be read (and int() of thousands of them raises).
    return int(declared) if len(declared) <= 18 else MAX_DISCARDED_BYTES + 1


async def _discard(chunks: AsyncIterator[bytes], discarded: int) -> None:
    """Read on and throw away, up to MAX_DISCARDED_BYTES in all, while the body keeps coming: a
    client that announced more than it sends gets its 413 after DISCARD_IDLE_SECONDS without a
    byte, not when its connection times out."""
    while discarded <= MAX_DISCARDED_BYTES:
        try:
            async with asyncio.timeout(DISCARD_IDLE_SECONDS):
                chunk = await anext(chunks)
        except (StopAsyncIteration, TimeoutError):
            return
        discarded += len(chunk)


async def accept(request: Request, settings: Settings, state: State | None) -> dict[str, Any]:
    """Accept a webhook delivery from Meta: messages and statuses are stored, replies queued.
    `state` is the lifespan's (None: it never ran): the store and the queue are taken from it once
    there is something to store."""
    raw = await _read_body(request)
    if settings.whatsapp_app_secret is not None:
        check_signature(
            settings.whatsapp_app_secret.get_secret_value(),
            raw,
            request.headers.get(SIGNATURE_HEADER),
        )
    # Deep nesting meets json's own guard, the interpreter's recursion limit (about 1,000 levels;
    # Meta's bodies are under 10): a bound that costs nothing per body.
    too_deep = "body is nested too deeply"
    try:
        data = json.loads(raw)
    except RecursionError:
        raise InvalidWebhookBody(too_deep) from None
    except ValueError:  # UnicodeDecodeError included
        raise InvalidWebhookBody("body is not valid JSON") from None
    try:
        envelope = parse_envelope(data)
        body = parse_body(envelope) if envelope.object == WHATSAPP_OBJECT else None
    except RecursionError:
        raise InvalidWebhookBody(too_deep) from None
    except ValidationError as exc:
        # Not a 4xx: Meta delivers a refused body again for days, and may turn the subscription
        # off. Logged, and counted as malformed.
        reason = f"not a webhook body: {first_error(exc, 'body')}"
        log.warning("webhook.unreadable", reason=reason)
        raise WebhookIgnored(reason) from None
    if body is None:
        log.info("webhook.ignored", object=shown(envelope.object))
        return {"status": "ignored", "reason": f"object {shown(envelope.object)} is not handled"}
    for reason in body.skipped:
        log.info("webhook.item_skipped", reason=reason)
    if not body.messages and not body.statuses:
        counts = {"messages": 0, "duplicates": 0, "statuses": 0, "skipped": len(body.skipped)}
        return {"status": "ok", **counts}
    if state is None:
        # An app whose lifespan never ran has no store: Meta delivers again once it has one.
        raise StoreUnavailable("the router has not started: there is no store to keep them in")
    return await _store(body, state.repository, state.queue, state.tracing)


async def _store(
    body: ParsedBody, repository: MessageRepository, queue: JobQueue, tracing: Tracing | None
) -> dict[str, Any]:
    """Stores what `body` holds, queues a job per new message; the answer's counts."""
    tracing = tracing or Tracing()
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    # Stored before the 200: from here on, nothing Meta delivered can be lost.
    try:
        # With traces on, each new message keeps this request's trace context: its job, in
        # whichever process, continues this trace.
        ingested = await repository.inbound.ingest(
            body.messages, body.statuses, str(request_id), tracing.traceparent()
        )
    except (SQLAlchemyError, OSError, ValueError, ArithmeticError) as exc:
        if refused(exc):
            # The reader lets through only storable values; should one slip past it, the database
            # or its driver refuses it for this body alone (the others of its round are stored).
            log.exception("webhook.store_refused")
            raise InvalidWebhookShape("the body holds a value the store refuses") from None
        log.exception("webhook.store_failed")
        # Not a 200: that would tell Meta the messages are safe. Meta redelivers later.
        raise StoreUnavailable("the message store is unavailable; deliver again later") from None
    for message_id in ingested.queued:
        await queue.submit(message_id, by="webhook")
    if body.statuses and tracing.enabled:
        await _link_statuses(repository, tracing, body.statuses)
    counts = {
        "messages": ingested.stored,
        "duplicates": len(body.messages) - ingested.stored,
        "statuses": len(body.statuses),
    }
    if ingested.unrouted:
        # Kept, never answered: no channel has the number they were sent to.
        counts["unrouted"] = ingested.unrouted
    if body.messages or body.statuses:
        # At INFO each message has one line, at its end (message.replied, .ignored, ...).
        log.debug("webhook.stored", **counts)
    return {"status": "ok", **counts, "skipped": len(body.skipped)}


async def _link_statuses(
    repository: MessageRepository, tracing: Tracing, statuses: Sequence[StatusUpdate]
) -> None:
    """A span for the statuses, linked to the trace of each message they report on (traces on)."""
    try:
        traceparents = await repository.statuses.traceparents([s.wamid for s in statuses])
    except SQLAlchemyError:
        log.warning("webhook.status_traces_unread")  # stored already: only the links are lost
        return
    tracing.statuses(traceparents, len(statuses))
