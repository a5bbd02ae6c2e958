"""Payloads of the finding mutations: the finding after the change plus `userErrors`."""

from __future__ import annotations

import strawberry

from graph.findings.types import Finding
from graph.user_errors import UserError


@strawberry.type(description="Result of suppressFinding.")
class SuppressFindingPayload:
    finding: Finding | None = strawberry.field(
        description="The finding, SUPPRESSED; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of unsuppressFinding.")
class UnsuppressFindingPayload:
    finding: Finding | None = strawberry.field(
        description="The finding, OPEN again; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")
