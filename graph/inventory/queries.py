"""Inventory queries: the `resources` connection and the dashboard."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import func

from db.models import CloudResourceRow
from graph.connections.keyset import PageRequest
from graph.connections.types import AfterArg, BeforeArg, FirstArg, LastArg, paginate
from graph.context import Info
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.inventory.dashboard import Dashboard, build_dashboard
from graph.inventory.filters import (
    ResourceCriteria,
    ResourceFilter,
    ResourceOrder,
    resource_ordering,
)
from graph.inventory.types import ResourceConnection
from graph.permissions import IsAuthenticated


@strawberry.type
class InventoryQueries:
    @strawberry.field(
        description="Your cloud resources, filtered and sorted, one page at a time.",
        permission_classes=[IsAuthenticated],
    )
    async def resources(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: Annotated[
            ResourceFilter | None,
            strawberry.argument(
                description="Conditions; deleted resources are excluded unless "
                "`includeDeleted` is true."
            ),
        ] = None,
        order_by: Annotated[
            ResourceOrder | None,
            strawberry.argument(description="Sort order (default: NAME ascending)."),
        ] = None,
    ) -> ResourceConnection:
        request = PageRequest.from_args(first, after, last, before)
        criteria = ResourceCriteria.from_input(filter)
        scope = info.context.db.scope
        statement = criteria.apply(scope.select_columns(CloudResourceRow, *RESOURCE_COLUMNS))
        count = criteria.apply(scope.select_columns(CloudResourceRow, func.count()))
        page, count_fn = await paginate(
            info, statement, count, resource_ordering(order_by), request
        )
        return ResourceConnection.from_page(page, count_fn).costs_shown(
            info.context.runtime.settings.enable_cost_tracking
        )

    @strawberry.field(
        description="Totals, breakdowns, costs and recent activity of your inventory.",
        permission_classes=[IsAuthenticated],
    )
    async def dashboard(self, info: Info) -> Dashboard:
        return await build_dashboard(info)
