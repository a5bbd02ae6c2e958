"""Who and which request a log line belongs to: a context variable set per HTTP/WebSocket call.

`RequestContextMiddleware` opens a `RequestInfo` for each connection; the GraphQL context fills
in the user once the token is checked; `RequestContextFilter` copies both onto every log record
emitted while the request runs (including from tasks it starts, which inherit the variable).
The request id is the one the HTTP security middleware chose (kept in `scope["state"]`) when it
runs outside us, else a valid incoming `X-Request-ID`, else a fresh one.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class RequestInfo:
    request_id: str
    # Mutable on purpose: authentication happens after the middleware has set the variable.
    user_id: str | None = None


_current: ContextVar[RequestInfo | None] = ContextVar("stratograph_request", default=None)


def current_request() -> RequestInfo | None:
    return _current.get()


def set_user(user_id: object | None) -> None:
    """Record the authenticated user of the running request (no-op outside a request)."""
    info = _current.get()
    if info is not None:
        info.user_id = str(user_id) if user_id is not None else None


def choose_request_id(scope: Scope) -> str:
    """The one place a request id is chosen: the one an outer middleware already chose, else a
    valid incoming `X-Request-ID` (so a proxy's id follows the request), else a fresh one."""
    state = scope.get("state") or {}
    chosen = state.get("request_id")
    if isinstance(chosen, str) and chosen:
        return chosen
    incoming = Headers(scope=scope).get("x-request-id", "")
    return incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = choose_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = _current.set(RequestInfo(request_id))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` to records logged inside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = _current.get()
        if info is not None:
            record.request_id = info.request_id
            if info.user_id is not None:
                record.user_id = info.user_id
        return True
