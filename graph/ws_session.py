"""WebSocket sessions that end when they should.

A socket authenticates once, in `connection_init`, but every operation it starts is authorized at
that moment exactly as an HTTP request is (`security.access_tokens.authenticate`: signature and
`exp`, not revoked by `tokens_valid_after`, user active) and runs with a context built from that
fresh result (the current role, new DataLoaders). Between operations a watch ends the session,
sending each running operation an `UNAUTHENTICATED` error and closing the socket with 4403:
- at the access token's `exp`;
- at once when this process writes a revocation of the account (`SessionEvents`);
- otherwise within `WEBSOCKET_RECHECK_SECONDS`, when a re-check finds the token revoked, the user
  deactivated or deleted, or the role changed (writes by other processes).

Payloads are checked like HTTP request bodies: a malformed `subscribe` gets an `error` message
with `BAD_REQUEST` for its id, and the socket keeps serving the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, GraphQLFormattedError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from core.waits import wait_set
from graph.context import Context, SocketAuth, build_context
from graph.errors import ErrorCode
from graph.trusted import TrustedTransportWSHandler
from security.access_tokens import authenticate

logger = logging.getLogger("stratograph.auth")

SESSION_ENDED = "The session has ended; log in again"
# graphql-transport-ws: 4403 "Forbidden"; the reason is informative only.
FORBIDDEN = 4403
# How long the end of a session waits for operations already authorized to give their answer.
ANSWER_GRACE_SECONDS = 2.0
_OPTIONAL_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("variables", dict, "an object"),
    ("operationName", str, "a string"),
    ("extensions", dict, "an object"),
)


def payload_problem(payload: object, *, query_required: bool) -> str | None:
    """Why a `subscribe` payload cannot be run, in the words HTTP uses for a bad body."""
    if not isinstance(payload, dict):
        return "The subscribe payload must be a JSON object"
    query = payload.get("query")
    if query is None and query_required:
        return "The subscribe payload needs a 'query' string"
    if query is not None and not isinstance(query, str):
        return "'query' must be a string"
    for name, kind, described in _OPTIONAL_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, kind):
            return f"'{name}' must be {described}"
    return None


def coded_error(message: str, code: ErrorCode) -> GraphQLFormattedError:
    return GraphQLError(message, extensions={"code": code.value}).formatted


def error_message(operation_id: str, message: str, code: ErrorCode) -> ErrorMessage:
    return ErrorMessage(id=operation_id, type="error", payload=[coded_error(message, code)])


def _with_codes(errors: list[GraphQLError]) -> list[GraphQLError]:
    # Errors raised before execution by Strawberry itself (an ambiguous operation name) carry no
    # code; over HTTP they are a 400, so they are request errors here too.
    for error in errors:
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": ErrorCode.BAD_REQUEST.value}
    return errors


class SessionTransportWSHandler(TrustedTransportWSHandler):
    """graphql-transport-ws with per-operation authorization and a session watch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch_task: asyncio.Task[None] | None = None
        self._ended = False
        # Operations authorized but not yet answered, by id (see `_end`).
        self._unanswered: dict[str, asyncio.Event] = {}

    @property
    def _auth(self) -> SocketAuth | None:
        context = self.context
        return context.socket_auth if isinstance(context, Context) else None

    async def handle_message(self, message: Message) -> None:
        if not isinstance(message, dict):  # a JSON array or scalar: not a protocol message
            await self.handle_invalid_message("WebSocket message must be a JSON object")
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        auth = self._auth
        if self.connection_acknowledged and auth is not None and self._watch_task is None:
            self._watch_task = asyncio.create_task(self._watch(auth), name="ws-session-watch")
            self._watch_task.add_done_callback(self._task_done)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            await super().handle_subscribe(message)  # closes with 4401
            return
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            await self.handle_invalid_message("A subscribe message needs a string 'id'")
            return
        if self._ended:  # the socket is closing: nothing more runs on it
            await self.send_message(
                error_message(operation_id, SESSION_ENDED, ErrorCode.UNAUTHENTICATED)
            )
            return
        problem = payload_problem(
            message.get("payload"),
            query_required=getattr(self.view, "trusted_documents", None) is None,
        )
        if problem is not None:
            await self.send_message(error_message(operation_id, problem, ErrorCode.BAD_REQUEST))
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        """Authorize, then run with this operation's own context; always end with complete or
        error. (Strawberry's version runs every operation with the connection's context.)"""
        answered = asyncio.Event()
        try:
            context = await self._operation_context()
            if context is None:
                await self._send_error(operation, SESSION_ENDED, ErrorCode.UNAUTHENTICATED)
                await self._end("token refused at an operation")
                return
            self._unanswered[operation.id] = answered
            await self._stream(operation, context, answered)
        except Exception as error:  # keep the socket serving; the operation is masked as ended
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
        finally:
            answered.set()
            if self._unanswered.get(operation.id) is answered:
                del self._unanswered[operation.id]

    async def _stream(
        self, operation: Operation[Any, Any], context: Context, answered: asyncio.Event
    ) -> None:
        """Run the operation and send what it yields; `answered` is set at its first answer."""
        source = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=context,
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )
        async with contextlib.aclosing(source):
            first = True
            try:
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        errors = _with_codes(list(result.errors or []))
                        await operation.send_initial_errors(errors)
                        return
                    if not isinstance(result, ExecutionResult):
                        message = "Incremental delivery is not supported over WebSockets"
                        await self._send_error(operation, message, ErrorCode.BAD_REQUEST)
                        return
                    await operation.send_next(result)
                    first = False
                    answered.set()
            except GraphQLError as error:
                if not first:
                    raise
                # ParserCache raises a syntax error out of the stream instead of yielding it;
                # HTTP answers it as a request error, so this socket does too.
                self.schema.process_errors([error])
                await operation.send_initial_errors(_with_codes([error]))
                return
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def shutdown(self) -> None:
        task, self._watch_task = self._watch_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await super().shutdown()

    async def _operation_context(self) -> Context | None:
        """A context for one operation from a fresh check of the socket's token, or None."""
        auth, connection = self._auth, self.context
        if auth is None or self._ended or not isinstance(connection, Context):
            return None
        if datetime.now(UTC) >= auth.expires_at:
            return None
        user = await authenticate(
            connection.runtime.database, connection.runtime.signer, auth.token
        )
        if user is None:
            return None
        context = build_context(
            connection.connection, connection.runtime, user, connection.response
        )
        context.connection_params = connection.connection_params
        context.socket_auth = auth
        return context

    async def _watch(self, auth: SocketAuth) -> None:
        context = self.context
        if not isinstance(context, Context):
            return
        runtime = context.runtime
        interval = runtime.settings.websocket_recheck_seconds
        reason = "access token expired"
        with runtime.session_events.listen(auth.user_id) as changed:
            while True:
                remaining = (auth.expires_at - datetime.now(UTC)).total_seconds()
                if remaining <= 0:
                    break
                await wait_set(changed, min(interval, remaining))
                changed.clear()
                if datetime.now(UTC) >= auth.expires_at:
                    break
                try:
                    user = await authenticate(runtime.database, runtime.signer, auth.token)
                except Exception:  # the database is away: keep the socket, re-check next time
                    logger.warning("WebSocket session re-check failed", exc_info=True)
                    continue
                if user is None:
                    reason = "session revoked or account deactivated"
                    break
                if user.role != auth.role:
                    reason = "role changed"
                    break
        await self._end(reason)

    async def _end(self, reason: str) -> None:
        """Tell every running operation, then close the socket with 4403."""
        if self._ended:
            return
        self._ended = True
        logger.info("WebSocket session ended: %s", reason)
        # An operation authorized before the end gets its first answer, as an HTTP request in
        # flight would (`changePassword` over this socket must deliver its fresh tokens).
        unanswered = [event.wait() for event in self._unanswered.values()]
        if unanswered:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*unanswered), ANSWER_GRACE_SECONDS)
        current = asyncio.current_task()
        for operation in list(self.operations.values()):
            with contextlib.suppress(Exception):
                await self._send_error(operation, SESSION_ENDED, ErrorCode.UNAUTHENTICATED)
            if operation.task is not None and operation.task is not current:
                operation.task.cancel()
        with contextlib.suppress(Exception):
            await self.websocket.close(code=FORBIDDEN, reason="Forbidden: session ended")

    async def _send_error(
        self, operation: Operation[Any, Any], message: str, code: ErrorCode
    ) -> None:
        await operation.send_operation_message(error_message(operation.id, message, code))
