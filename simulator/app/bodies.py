"""Bodies a client gets wrong, answered the same way on every endpoint of the service.

One file kept in the Server, the Router and the Simulator (tests/test_shared_files.py holds the
copies equal); each service says how its errors look (`render`).

FastAPI reads a body as JSON only when its content type says JSON. Any other body reaches
validation as raw bytes, and the 422 that follows echoed those bytes back: bytes that are not UTF-8
could not be written as JSON, and the client got a 500. Here every such body gets a 4xx that names
the problem:

- 400 `invalid_body`: not JSON (bytes that are not UTF-8, text that does not parse);
- 413 `body_too_large`: over the endpoint's `max_body_size`;
- 415 `unsupported_media_type`: a body an endpoint that takes JSON cannot take (another content
  type, or none), with the types it takes in the message and in `Accept-Post` / `Accept-Patch`;
- 422: FastAPI's `{"detail": [...]}`, each `input` echoed only where it is short and printable.

Every answer is written in ASCII JSON: a string echoed back may hold a lone surrogate (valid in
JSON, not encodable in UTF-8).
"""

import email.message
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON = "application/json"
# What an endpoint's body may weigh unless it says otherwise (`max_body_size`).
MAX_BODY_BYTES = 1024 * 1024
# Longer inputs, and any holding a character that does not print, are not echoed in a 422.
MAX_ECHOED_CHARS = 200


@dataclass(frozen=True)
class BodyProblem:
    """A body the endpoint cannot take, and why."""

    status_code: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


class AsciiJSONResponse(JSONResponse):
    """JSON with everything past ASCII escaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


def default_render(problem: BodyProblem) -> Response:
    """FastAPI's own shape: `{"detail": "..."}`."""
    return AsciiJSONResponse(
        {"detail": problem.message}, status_code=problem.status_code, headers=problem.headers
    )


def media_type(content_type: str | None) -> str | None:
    """`type/subtype` of a Content-Type header, lower-cased; None when there is none."""
    if not content_type:
        return None
    header = email.message.Message()
    header["content-type"] = content_type
    return header.get_content_type()


def is_json(content_type: str | None) -> bool:
    """What FastAPI reads as JSON: application/json and application/*+json."""
    found = media_type(content_type)
    return found is not None and (
        found == JSON or (found.startswith("application/") and found.endswith("+json"))
    )


def takes_json(route: Any) -> bool:
    """An endpoint whose body FastAPI reads as JSON (not a form, not the raw request)."""
    return (
        isinstance(route, APIRoute)
        and route.body_field is not None
        and not isinstance(route.body_field.field_info, params.Form)
    )


def unsupported(request: Request) -> BodyProblem:
    found = request.headers.get("content-type")
    said = f"Content-Type {found!r}" if found else "no Content-Type"
    header = {"PATCH": "Accept-Patch"}.get(request.method, "Accept-Post")
    return BodyProblem(
        415,
        "unsupported_media_type",
        f"this endpoint takes {JSON}; the request has {said}",
        {header: JSON},
    )


def unreadable(detail: str) -> BodyProblem:
    return BodyProblem(400, "invalid_body", f"the body is not JSON: {detail}")


def problem_of(request: Request, exc: RequestValidationError) -> BodyProblem | None:
    """The 4xx for a request that failed validation because of its body as a whole; None when it
    is FastAPI's 422 (a body of the wrong shape, or a bad parameter)."""
    if isinstance(exc.body, bytes) and takes_json(request.scope.get("route")):
        # FastAPI hands the raw bytes on only when the content type was not JSON's.
        return unsupported(request)
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "it does not parse")
            at = error.get("loc", ())[1:2]
            where = f" at position {at[0]}" if at else ""
            return unreadable(f"{str(reason).lower()}{where}")
    return None


def _printable(value: Any) -> bool:
    if isinstance(value, str):
        return value.isprintable()
    if isinstance(value, bool | int | float) or value is None:
        return True
    if isinstance(value, list | tuple):
        return all(map(_printable, value))
    if isinstance(value, dict):
        return all(_printable(k) and _printable(v) for k, v in value.items())
    return False  # bytes, files, anything else a client sent that JSON cannot say


def echoable(value: Any) -> bool:
    """Short and printable: safe to show back to the client and in a log."""
    if not _printable(value):
        return False
    try:
        return len(json.dumps(value, allow_nan=False)) <= MAX_ECHOED_CHARS
    except (TypeError, ValueError):
        return False


def shown_errors(
    errors: Any, mask: Callable[[dict[str, Any]], Any] | None = None
) -> list[dict[str, Any]]:
    """FastAPI's validation errors as JSON can carry them: `input` only where `echoable` (after
    `mask`, which hides what is secret), `ctx` values as text."""
    shown = []
    for error in errors:
        out = {k: v for k, v in error.items() if k in ("type", "loc", "msg")}
        out["loc"] = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        if "input" in error:
            value = mask(error) if mask is not None else error["input"]
            if echoable(value):
                out["input"] = value
        if error.get("ctx"):
            out["ctx"] = {k: v if echoable(v) else str(v) for k, v in error["ctx"].items()}
        shown.append(out)
    return shown


# The answers every endpoint with a JSON body can give for its body, as its OpenAPI says them.
BODY_ANSWERS = {
    "400": "The body is not JSON (error code invalid_body)",
    "413": "The body is larger than the endpoint takes (error code body_too_large)",
    "415": "The body is not sent as application/json (error code unsupported_media_type); "
    "Accept-Post or Accept-Patch names the type to use",
}
DETAIL_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def document_body_answers(app: FastAPI, schema: dict[str, Any]) -> None:
    """Declare BODY_ANSWERS, in `schema`'s shape, on every operation of the OpenAPI document that
    takes a JSON body (those it declares already are left as they are)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if JSON not in operation.get("requestBody", {}).get("content", {}):
                    continue
                responses = operation.setdefault("responses", {})
                for status, description in BODY_ANSWERS.items():
                    responses.setdefault(
                        status,
                        {"description": description, "content": {JSON: {"schema": schema}}},
                    )
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way


def install_body_errors(
    app: FastAPI,
    render: Callable[[BodyProblem], Response] = default_render,
    mask: Callable[[dict[str, Any]], Any] | None = None,
    schema: dict[str, Any] = DETAIL_SCHEMA,
) -> None:
    """Answer every body FastAPI cannot take with a 4xx that names the problem, and say so in the
    OpenAPI document (`schema`: the shape `render` writes)."""
    document_body_answers(app, schema)

    async def validation_failed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problem = problem_of(request, exc)
        if problem is not None:
            return render(problem)
        return AsciiJSONResponse({"detail": shown_errors(exc.errors(), mask)}, status_code=422)

    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.__cause__ is not None:  # FastAPI could not read the body (raised from the cause)
            return render(unreadable("send JSON in UTF-8"))
        return AsciiJSONResponse({"detail": exc.detail}, status_code=400, headers=exc.headers)

    async def too_large(request: Request, exc: Exception) -> Response:
        return render(too_large_problem(request.scope))

    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(400, bad_request)
    app.add_exception_handler(413, too_large)
    app.add_middleware(TooLargeAnswer, render=render)


def too_large_problem(scope: Scope) -> BodyProblem:
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    over = f"over {limit} bytes" if limit is not None else "too large"
    return BodyProblem(413, "body_too_large", f"the body is {over}")


class TooLargeAnswer:
    """Starlette's body limit answers a route's 413 itself, in plain text, from inside the route
    where no exception handler reaches it; this writes that answer as `render` does."""

    def __init__(self, app: ASGIApp, render: Callable[[BodyProblem], Response]) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def sending(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the plain answer's body
            if (
                message["type"] == "http.response.start"
                and message["status"] == 413
                and (b"content-type", b"text/plain; charset=utf-8") in message["headers"]
            ):
                replaced = True
                await self.render(too_large_problem(scope))(scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, sending)
