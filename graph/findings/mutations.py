"""Finding mutations: each calls its domain function in `graph.findings.service` and maps the
outcome to its payload."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.context import Info
from graph.findings import service
from graph.findings.inputs import FindingIdInput, SuppressFindingInput
from graph.findings.payloads import SuppressFindingPayload, UnsuppressFindingPayload
from graph.findings.types import Finding
from graph.permissions import IsAuthenticated
from graph.user_errors import user_errors


def _writer(info: Info) -> service.FindingWriter:
    return service.FindingWriter(db=info.context.db, client=info.context.client)


async def _finding(info: Info, outcome: service.FindingOutcome) -> Finding | None:
    if outcome.finding_id is None:
        return None
    return await Finding.resolve_node(info, outcome.finding_id)


@strawberry.type
class FindingMutations:
    @strawberry.mutation(
        description="Accept a finding: it is SUPPRESSED (left out of open counts) until "
        "`until`, or until unsuppressed, resolved or reopened.",
        permission_classes=[IsAuthenticated],
    )
    async def suppress_finding(
        self,
        info: Info,
        input: Annotated[SuppressFindingInput, strawberry.argument(description="The finding.")],
    ) -> SuppressFindingPayload:
        outcome = await service.suppress_finding(_writer(info), input)
        return SuppressFindingPayload(
            finding=await _finding(info, outcome), user_errors=user_errors(outcome.problems)
        )

    @strawberry.mutation(
        description="End a finding's suppression: it is OPEN again.",
        permission_classes=[IsAuthenticated],
    )
    async def unsuppress_finding(
        self,
        info: Info,
        input: Annotated[FindingIdInput, strawberry.argument(description="The finding.")],
    ) -> UnsuppressFindingPayload:
        outcome = await service.unsuppress_finding(_writer(info), input)
        return UnsuppressFindingPayload(
            finding=await _finding(info, outcome), user_errors=user_errors(outcome.problems)
        )
