"""The Strawberry ASGI view: builds the context, authenticates WebSockets, writes JSON fast."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from graph.context import Context, authenticate, bearer_token, build_context
from graph.runtime import Runtime


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames; orjson's bytes would go out as binary,
    which browser clients (graphql-ws) cannot parse."""

    async def send_json(self, message: Any) -> None:
        encoded = self.view.encode_json(message)
        try:
            await self.ws.send_text(encoded.decode() if isinstance(encoded, bytes) else encoded)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
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

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        user = None
        if isinstance(request, Request):
            token = bearer_token(request.headers.get("authorization"))
            user = await authenticate(self.runtime, token)
        return build_context(request, self.runtime, user, response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params
        raw = params.get("Authorization") or params.get("authorization") or ""
        token = bearer_token(str(raw)) if raw else None
        user = await authenticate(self.runtime, token)
        if user is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.act_as(user)
        return await super().on_ws_connect(context)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> Any:
        return orjson.loads(data)
