"""A cheaper route for an endpoint that takes one JSON body model and returns one response model.

Uvicorn's HTTP work aside, most of the Server's CPU per `/process` call went to FastAPI's own
per-request handling: wrapping the request in `Request` and two exit stacks, reading the content
type through `email.message`, `json.loads`, solving the dependency graph, validating the dict,
then validating and serialising the response, each step wrapped for telemetry. For a request whose
content type is `application/json` and whose body is valid for the endpoint's model,
`JsonBodyRoute` does the same work in two pydantic-core calls, `model_validate_json` in and
`dump_json` out, and answers at the ASGI level (`python -m bench`: about 0.35 ms of Server CPU per
call before, 0.2 ms after, on this project's 2-core machine).

Any other request (another content type, a client that went away, a body over the route's
`max_body_size`, invalid JSON, a body that fails validation) goes to FastAPI's own handler with
the same ASGI messages replayed, so a 422 or a 413 is FastAPI's, byte for byte. The route is
still an `APIRoute`, so the OpenAPI schema comes from the endpoint's signature as usual; what the
fast path skips is FastAPI's per-operation telemetry spans (the request's own span, from the app,
stays).
"""

import inspect
from collections.abc import Callable, Iterator
from typing import Any, get_type_hints

from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON = b"application/json"


def body_model_of(route: APIRoute) -> type[BaseModel]:
    """The endpoint's single body model, or a start-up error naming what the fast path cannot
    honour."""
    endpoint = route.endpoint
    name = getattr(endpoint, "__name__", repr(endpoint))
    parameters = list(inspect.signature(endpoint).parameters.values())
    hints = get_type_hints(endpoint)
    body_model = hints.get(parameters[0].name) if len(parameters) == 1 else None
    problems = [
        problem
        for problem, found in [
            ("an async endpoint", not inspect.iscoroutinefunction(endpoint)),
            (
                "one parameter, a pydantic model without a default",
                not (isinstance(body_model, type) and issubclass(body_model, BaseModel))
                or parameters[0].default is not inspect.Parameter.empty,
            ),
            ("a response model", route.response_model is None),
            ("no dependencies", bool(route.dependant.dependencies)),
            (
                "the default response class",
                not isinstance(route.response_class, DefaultPlaceholder),
            ),
        ]
        if found
    ]
    if problems:
        raise TypeError(f"JsonBodyRoute for {name} needs " + ", ".join(problems))
    assert isinstance(body_model, type)  # checked above, for the type checker
    return body_model


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that hands out the messages already read first."""
    pending: Iterator[Message] = iter(messages)

    async def replay() -> Message:
        return next(pending, None) or await receive()

    return replay


class JsonBodyRoute(APIRoute):
    """An `APIRoute` whose valid JSON requests skip FastAPI's per-request machinery.

    Add it to the app's own router (`route_class_override`): a route inside an included
    `APIRouter` is served through the including router's handler, FastAPI's, the fast path unused.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.body_model = body_model_of(self)
        self.response_adapter: TypeAdapter[Any] = TypeAdapter(self.response_model)
        self.response_status = self.status_code or 200
        self.fastapi_app: ASGIApp = self.app
        self.app = self.serve

    def parse(self, messages: list[Message]) -> BaseModel | None:
        """The body's model, or None when FastAPI's handler is to answer: the client went away,
        the body is over `max_body_size` (read no further), or it is not valid."""
        if messages[-1]["type"] != "http.request" or messages[-1].get("more_body", False):
            return None
        try:
            return self.body_model.model_validate_json(
                b"".join(m.get("body", b"") for m in messages)
            )
        except ValidationError:
            return None

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        if content_type != JSON:
            await self.fastapi_app(scope, receive, send)
            return
        messages = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
            if self.max_body_size is not None and size > self.max_body_size:
                break  # FastAPI's handler, limited, answers 413
        body = self.parse(messages)
        if body is None:
            await self.fastapi_app(scope, replaying(messages, receive), send)
            return
        content = self.response_adapter.dump_json(
            self.response_adapter.validate_python(await self.endpoint(body)),
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
        )
        headers = [(b"content-length", str(len(content)).encode()), (b"content-type", JSON)]
        await send(
            {"type": "http.response.start", "status": self.response_status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": content})
