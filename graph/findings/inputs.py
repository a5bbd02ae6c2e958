"""Inputs of the finding mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input(description="Accept a finding: it stays SUPPRESSED until `until` (or for ever).")
class SuppressFindingInput:
    id: strawberry.ID = strawberry.field(description="The finding.")
    reason: str = strawberry.field(description="Why it is accepted (1–500 characters).")
    until: datetime | None = strawberry.field(
        default=None,
        description="When the suppression lapses and the finding counts as OPEN again (in "
        "the future); omit for no end.",
    )


@strawberry.input(description="Which finding.")
class FindingIdInput:
    id: strawberry.ID = strawberry.field(description="The finding.")
