"""The `findings` connection and the `rules` catalogue."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import Select, func

from db.models import CloudResourceRow, FindingRow
from db.scoping import OwnerScope
from graph.connections.keyset import PageRequest
from graph.connections.types import AfterArg, BeforeArg, FirstArg, LastArg, paginate
from graph.context import Info
from graph.findings.columns import FINDING_COLUMNS
from graph.findings.filters import FindingCriteria, FindingFilter, FindingOrder, finding_ordering
from graph.findings.types import RULE_TYPES, FindingConnection, Rule
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.permissions import IsAuthenticated

# Findings of a rule no longer in the catalogue are not shown (their rule cannot be described).
KNOWN_RULES = tuple(sorted(RULE_TYPES))


def findings_select(scope: OwnerScope, criteria: FindingCriteria, *columns: Any) -> Select[Any]:
    """The caller's findings joined to their resources, filtered."""
    statement = (
        scope.select_columns(FindingRow, *columns)
        .select_from(FindingRow)
        .join(CloudResourceRow, CloudResourceRow.id == FindingRow.resource_row_id)
        .where(FindingRow.rule_id.in_(KNOWN_RULES))
    )
    return criteria.apply(statement)


@strawberry.type
class FindingQueries:
    @strawberry.field(
        description="Your findings, filtered and sorted, one page at a time.",
        permission_classes=[IsAuthenticated],
    )
    async def findings(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: Annotated[
            FindingFilter | None, strawberry.argument(description="Conditions (all must hold).")
        ] = None,
        order_by: Annotated[
            FindingOrder | None,
            strawberry.argument(description="Sort order (default: SEVERITY, CRITICAL first)."),
        ] = None,
    ) -> FindingConnection:
        request = PageRequest.from_args(first, after, last, before)
        criteria = FindingCriteria.from_input(filter)
        scope = info.context.db.scope
        statement = findings_select(scope, criteria, *FINDING_COLUMNS, *RESOURCE_COLUMNS)
        count = findings_select(scope, criteria, func.count())
        page, count_fn = await paginate(info, statement, count, finding_ordering(order_by), request)
        return FindingConnection.from_page(page, count_fn).costs_shown(
            info.context.runtime.settings.enable_cost_tracking
        )

    @strawberry.field(
        description="The rule catalogue: every rule evaluated on completed sync scopes.",
        permission_classes=[IsAuthenticated],
    )
    def rules(self) -> list[Rule]:
        return list(RULE_TYPES.values())
