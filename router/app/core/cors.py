"""CORS: which browser apps on other origins may call the API (`ROUTER_CORS_ORIGINS`).

None by default, so a page on another origin cannot read the API's answers. The API authenticates
with headers (`X-API-Key`, `Authorization`), never cookies, so credentials are not allowed and
`*` (any origin) gives a page nothing a key it does not hold would not.
"""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from app.core.logs import REQUEST_ID_HEADER

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
REQUEST_ID = REQUEST_ID_HEADER.decode()
HEADERS = ["Authorization", "Content-Type", "X-API-Key", REQUEST_ID]
# A browser asks again (a preflight) for a request of the same kind after this long.
PREFLIGHT_MAX_AGE_SECONDS = 600


def allow_origins(app: FastAPI, origins: list[str], headers: list[str]) -> None:
    """Answer preflights from `origins` and let their pages read the answers; with no origins,
    nothing is added and browsers keep their same-origin rule. `headers`: the API's own, beside
    the standard ones."""
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=METHODS,
            allow_headers=[*HEADERS, *headers],
            expose_headers=[REQUEST_ID],
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )
