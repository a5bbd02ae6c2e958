"""503 for requests that meet a database outage before GraphQL execution begins.

Authentication reads the user row while the request context is built, outside any resolver;
when the database is away there, the request gets the same typed answer a resolver would give
(`SERVICE_UNAVAILABLE`, 503, Retry-After) instead of a bare 500 and a traceback per request.
"""

from __future__ import annotations

import logging

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.availability import is_database_unavailable
from graph.errors import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, ErrorCode

logger = logging.getLogger("stratograph.http")

BODY = orjson.dumps(
    {
        "errors": [
            {
                "message": UNAVAILABLE_MESSAGE,
                "extensions": {
                    "code": ErrorCode.SERVICE_UNAVAILABLE.value,
                    "retryAfter": RETRY_AFTER_SECONDS,
                },
            }
        ]
    }
)


class DatabaseUnavailableMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            if started or not is_database_unavailable(error):
                raise
            logger.warning("database unavailable (%s): answered 503", type(error).__name__)
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        (b"content-length", str(len(BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": BODY})
