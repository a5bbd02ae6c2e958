"""Who a request came from, as audit and security events record it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Client:
    """Where a request came from, for audit events and the session list."""

    ip: str | None
    user_agent: str | None
