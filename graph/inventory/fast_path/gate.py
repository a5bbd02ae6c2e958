"""What a request must be for the fast path, and what the account must still be."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from graph.inventory.fast_path.callers import Callers, KnownRole
from graph.inventory.fast_path.reads import Account

REQUEST_KEYS = frozenset({"query", "operationName", "variables"})


class Fallback(Exception):
    """The regular path serves this request."""


def request_data(body: bytes) -> tuple[str, str | None, dict[str, Any]]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Fallback from error
    if not isinstance(data, dict) or not data.keys() <= REQUEST_KEYS:
        raise Fallback
    query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
    if not isinstance(query, str) or not (name is None or isinstance(name, str)):
        raise Fallback
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise Fallback
    return query, name, variables


def check_account(
    account: Account | None,
    issued_at: Any,
    known: KnownRole,
    callers: Callers,
    user_id: uuid.UUID,
) -> None:
    """What `authenticate_claims` checks, on the state read with the page."""
    if account is None or not account.is_active:
        raise Fallback
    if account.tokens_valid_after is not None and issued_at < account.tokens_valid_after:
        raise Fallback
    fresh = KnownRole(account.role, account.totp_enabled)
    if fresh != known:
        callers.remember(user_id, fresh)
        raise Fallback  # acted with another role than the account now has
