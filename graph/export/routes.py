"""The export endpoints: bearer token checked as for GraphQL, rate-limited, owner-scoped, streamed.

`/export/{dataset}` serves each dataset of `graph.export.datasets` (`resources`, `findings`),
each with its own parameters, statement and record. Errors use the GraphQL error shape, so clients
read one format: `{"errors": [{"message", "extensions": {"code"}}]}`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from core import metrics
from core.request_context import set_user
from db.scoping import OwnerScope, ScopedDatabase
from graph.errors import BadRequest, ErrorCode
from graph.export.datasets import DATASETS, Dataset
from graph.runtime import Runtime
from integrations.export.formats import MEDIA_TYPES, encoder
from integrations.export.stream import encoded, stream_rows
from security.access_tokens import CurrentUser, authenticate, bearer_token
from security.proxies import trusted_proxies
from security.ratelimit import Caller, FieldCall, tightest

logger = logging.getLogger("stratograph.export")


def error(status: int, code: ErrorCode, message: str, **headers: str) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status, headers=headers)


class ExportResponse(StreamingResponse):
    """Closes the body iterator however the response ends (finished, failed, client gone), so
    the export's transaction and cursor never outlive the request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            logger.info("export stopped: the client disconnected")
        finally:
            body = self.body_iterator
            if isinstance(body, AsyncGenerator):
                await body.aclose()


async def export_dataset(
    name: str, dataset: Dataset, request: Request, runtime: Runtime, user: CurrentUser
) -> Response:
    export = dataset.parse(request.query_params)
    db = ScopedDatabase(runtime.database, OwnerScope(user.id, is_admin=user.is_admin))
    statement = dataset.statement(db.scope, export)
    body = encoded(
        stream_rows(db, statement), encoder(export.format, dataset.columns), dataset.record
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return ExportResponse(
        body,
        media_type=MEDIA_TYPES[export.format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{stamp}.{export.format}"',
            "Cache-Control": "no-store",
        },
    )


async def export_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    name = request.path_params["dataset"]
    dataset = DATASETS.get(name)
    if dataset is None:
        return error(
            404, ErrorCode.BAD_REQUEST, "No such export; available: " + ", ".join(DATASETS)
        )
    token = bearer_token(request.headers.get("authorization"))
    user = await authenticate(runtime.database, runtime.signer, token)
    if user is None:
        return error(
            401,
            ErrorCode.UNAUTHENTICATED,
            "Authentication required: send a valid access token as 'Authorization: Bearer …'",
            **{"WWW-Authenticate": "Bearer"},
        )
    set_user(user.id)
    client = request.client
    ip = trusted_proxies(tuple(runtime.settings.trusted_proxies)).client_ip(
        client.host if client else None, request.headers
    )
    field = f"export.{request.path_params['dataset']}"
    verdict = tightest(
        await runtime.rate_limiter.hit_all([FieldCall(field)], Caller(ip, str(user.id)))
    )
    if verdict is not None and not verdict.allowed:
        metrics.RATE_LIMITED.labels(field).inc()
        return error(
            429,
            ErrorCode.RATE_LIMITED,
            f"Too many requests: retry in {verdict.reset_after} seconds.",
            **{"Retry-After": str(verdict.reset_after)},
        )
    try:
        return await export_dataset(name, dataset, request, runtime, user)
    except BadRequest as refused:
        return error(400, ErrorCode.BAD_REQUEST, refused.message)
