"""RFC 9457 problem details: every error the API returns, with a human ``detail`` and never a
stack trace. Domain errors (:class:`core.errors.ArenaError`) map by their ``code``; anything
unexpected is logged with its traceback server-side and answered with a plain 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ArenaError
from core.formatting import sentence

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:treasury-arena:problem:"
INTERNAL = "Something went wrong on our side. Nothing was changed; please try again later."

#: ArenaError.code -> HTTP status. Unlisted codes are 400 (the request cannot be carried out).
STATUS_BY_CODE = {
    "invalid": 422, "invalid_amount": 422,
    "not_found": 404, "unknown_token": 404,
    "permission_denied": 403, "org_not_verified": 403,
    "idempotency_conflict": 409, "concurrent_change": 409,
    "trading_halted": 409, "sold_out": 409, "insufficient_cash": 409, "insufficient_tokens": 409,
    "token_not_tradable": 409, "limit_exceeded": 409, "negative_balance": 409,
    "not_available": 501, "plan_limit": 409, "price_band": 422, "self_trade": 409,
}
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 415: "Unsupported media type",
          422: "Invalid request", 429: "Too many requests", 500: "Internal error",
          501: "Not implemented", 503: "Unavailable"}


class Problem(Exception):
    """An HTTP error raised by the adapter itself (auth, rate limit, missing headers)."""

    def __init__(self, status: int, detail: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code, self.headers = status, detail, code, headers or {}


def problem_response(request: Request | None, status: int, detail: str, code: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{code}" if code else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: ArenaError) -> int:
    return STATUS_BY_CODE.get(error.code, 400)


#: The ledger names the (namespaced) key; the client gets its own terms.
KEY_REUSED = "That Idempotency-Key was already used for a different request; use a new key."


async def _arena(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ArenaError)
    detail = KEY_REUSED if exc.code == "idempotency_conflict" else sentence(exc.message)
    return problem_response(request, status_of(exc), detail, exc.code)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(request, exc.status, exc.detail, exc.code, exc.headers)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    return problem_response(request, exc.status_code, detail, None, dict(exc.headers or {}))


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
              for e in exc.errors()]
    first = errors[0] if errors else {"where": "request", "message": "invalid"}
    detail = f"{first['where']}: {first['message']}"
    return problem_response(request, 422, detail, "invalid", errors=errors)


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, INTERNAL, "internal")


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(ArenaError, _arena)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _internal)


class ProblemRoute(APIRoute):
    """Routes whose unexpected exceptions become a logged 500 problem inside the route (so the
    server never prints a traceback to the client and the test client sees the response)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except (ArenaError, Problem, StarletteHTTPException, RequestValidationError):
                raise
            except Exception as error:
                return await _internal(request, error)

        return handler
