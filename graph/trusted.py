"""Enforcing trusted documents (see `security.trusted_documents`) on HTTP and on WebSockets."""

from __future__ import annotations

import dataclasses
from typing import Any

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from security.trusted_documents import RefusedOperation, TrustedDocuments


def refusal_result(refused: RefusedOperation) -> ExecutionResult:
    """A GraphQL response with one top-level error carrying the refusal code."""
    return ExecutionResult(data=None, errors=[refusal_error(refused)])


def refusal_error(refused: RefusedOperation) -> GraphQLError:
    return GraphQLError(refused.message, extensions={"code": refused.code})


def trusted_request(
    allow_list: TrustedDocuments, request_data: GraphQLRequestData
) -> GraphQLRequestData:
    """The same request, its query replaced by the stored text (raises `RefusedOperation`)."""
    body = allow_list.resolve(
        request_data.query, request_data.operation_name, request_data.extensions
    )
    return dataclasses.replace(request_data, query=body)


class TrustedTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with every `subscribe` checked against the allow-list first."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        allow_list: TrustedDocuments | None = getattr(self.view, "trusted_documents", None)
        if allow_list is None or not self.connection_acknowledged:
            await super().handle_subscribe(message)
            return
        payload = message["payload"]
        try:
            body = allow_list.resolve(
                payload.get("query"),
                payload.get("operationName"),
                payload.get("extensions"),
            )
        except RefusedOperation as refused:
            await self.send_message(
                {
                    "id": message["id"],
                    "type": "error",
                    "payload": [refusal_error(refused).formatted],
                }
            )
            return
        await super().handle_subscribe({**message, "payload": {**payload, "query": body}})
