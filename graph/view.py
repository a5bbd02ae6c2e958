"""The Strawberry ASGI view: builds the context, authenticates WebSockets, writes JSON fast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from graph.context import Context, SocketAuth, build_context
from graph.errors import BadRequest, ErrorCode
from graph.graphiql_assets import LocalAssets, localize
from graph.hardening.rules import MAX_TOKENS
from graph.http_media import is_request_error, negotiate_media_type
from graph.runtime import Runtime
from graph.trusted import refusal_result, trusted_request
from graph.ws_session import SessionTransportWSHandler
from security.access_tokens import authenticate, authenticate_claims, bearer_token
from security.trusted_documents import RefusedOperation, TrustedDocuments

if TYPE_CHECKING:
    from graph.inventory.fast_path.serve import FastPath

JSON = "application/json"
SUBSCRIPTIONS_OVER_WS = "Subscriptions are served over WebSocket (graphql-transport-ws) only"


def is_subscription(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation a request would run is a subscription (parsed only when the text
    names one, so ordinary requests pay a substring search)."""
    if not query or "subscription" not in query:
        return False
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False  # the normal path reports the syntax error
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    """Sends JSON as text frames: graphql-transport-ws clients (graphql-ws in browsers, gql)
    expect text, while `encode_json` returns orjson's bytes for HTTP bodies."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SessionTransportWSHandler
    websocket_adapter_class = TextFrameWebSocketAdapter

    def __init__(self, schema: BaseSchema, runtime: Runtime) -> None:
        settings = runtime.settings
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.allowed_origins,
            max_subscriptions_per_connection=10,
        )
        self.runtime = runtime
        # GraphiQL's files from tools/graphiql when installed, else from the CDN the page names.
        self.graphiql_assets: LocalAssets | None = (
            localize(super().graphql_ide_html) if self.graphql_ide else None
        )
        # TRUSTED_DOCUMENTS_FILE set: only the operations listed there are executed.
        self.trusted_documents = (
            TrustedDocuments.load(settings.trusted_documents_file)
            if settings.trusted_documents_file
            else None
        )
        self.fast_path: FastPath | None = None
        if settings.plain_field_execution and self.trusted_documents is None:
            # Imported only when wanted: like graph/execution.py it checks graphql-core's
            # internals on import, and PLAIN_FIELD_EXECUTION=false must serve without both.
            from graph.inventory.fast_path.serve import FastPath

            if FastPath.serves(schema):
                self.fast_path = FastPath(schema, runtime)  # type: ignore[arg-type]

    @property
    def graphql_ide_html(self) -> str:
        if self.graphiql_assets is not None:
            return self.graphiql_assets.html
        return super().graphql_ide_html

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        user = None
        if isinstance(request, Request):
            token = bearer_token(request.headers.get("authorization"))
            user = await authenticate(self.runtime.database, self.runtime.signer, token)
        return build_context(request, self.runtime, user, response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params
        raw = params.get("Authorization") or params.get("authorization") or ""
        token = bearer_token(str(raw)) if raw else None
        found = await authenticate_claims(self.runtime.database, self.runtime.signer, token)
        if found is None or token is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        user, claims = found
        # Kept for the per-operation re-check and the session watch (graph/ws_session.py).
        context.socket_auth = SocketAuth(token, user.id, user.role, claims.expires_at)
        context.act_as(user)
        return await super().on_ws_connect(context)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        if self.trusted_documents is not None:
            if isinstance(request_data, list):
                raise HTTPException(400, "batched requests are refused with trusted documents")
            try:
                request_data = trusted_request(self.trusted_documents, request_data)
            except RefusedOperation as refused:
                return refusal_result(refused)
        for data in request_data if isinstance(request_data, list) else [request_data]:
            if is_subscription(data.query, data.operation_name):
                # Served over the WebSocket only, where the session watch can end them.
                return ExecutionResult(data=None, errors=[BadRequest(SUBSCRIPTIONS_OVER_WS)])
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Strawberry assumes a JSON body is an object or a list; `null` or `5` would crash it
        # into a 500. The body is cached by Starlette, so peeking costs nothing.
        if request.method == "POST" and "json" in (request.content_type or ""):
            body = await request.get_body()
            start = body.lstrip()[:1] if isinstance(body, bytes) else body.lstrip()[:1].encode()
            if start not in (b"{", b"["):
                raise HTTPException(400, "The request body must be a JSON object")
        return await super().parse_http_body(request)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if is_request_error(result):
            # GraphQL spec: an error raised before execution began means no `data` entry at all.
            processed.pop("data", None)
            request.state.graphql_request_error = True
        return processed

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            # GraphQL over HTTP: a mutation sent with GET is "405 Method Not Allowed".
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise HTTPException(405, "Mutations are only accepted with POST") from exc
            raise

    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: Context | UnsetType = UNSET,
        root_value: UnsetType | None = UNSET,
    ) -> Response | WebSocket:
        if self.fast_path is not None and isinstance(request, Request):
            served = await self.fast_path.respond(request)
            if served is not None:
                negotiate_media_type(request, served)
                return served
        try:
            response = await super().run(request, context, root_value)  # type: ignore[arg-type]
        except HTTPException as exc:
            if not isinstance(request, Request) or exc.status_code != 400:
                raise
            # A malformed request body (variables not an object, no query, …) gets a GraphQL
            # error with its code, like the same payload over the WebSocket.
            error = {"message": exc.reason, "extensions": {"code": ErrorCode.BAD_REQUEST.value}}
            response = Response(self.encode_json({"errors": [error]}), 400, media_type=JSON)
        if isinstance(request, Request) and isinstance(response, Response):
            negotiate_media_type(request, response)
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> Any:
        return orjson.loads(data)
