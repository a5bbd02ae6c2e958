"""Inventory queries: the `resources` connection and `node` lookups of resources."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from sqlalchemy import func

from db.models import Resource
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
from graph.inventory.types import CloudResource, ResourceConnection
from graph.node import register_node
from graph.permissions import IsAuthenticated


async def _resource_node(info: Info, resource_id: uuid.UUID) -> CloudResource | None:
    db = info.context.db
    statement = db.scope.select_columns(Resource, *RESOURCE_COLUMNS).where(
        Resource.id == resource_id
    )
    async with db.session() as session:
        row = (await (await session.connection()).execute(statement)).first()
    costs = info.context.runtime.settings.enable_cost_tracking
    return CloudResource.from_row(row, costs=costs) if row else None


register_node("CloudResource", _resource_node)


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
        statement = criteria.apply(scope.select_columns(Resource, *RESOURCE_COLUMNS))
        count = criteria.apply(scope.select_columns(Resource, func.count()))
        page, count_fn = await paginate(
            info, statement, count, resource_ordering(order_by), request
        )
        return ResourceConnection.from_page(
            page, count_fn, costs=info.context.runtime.settings.enable_cost_tracking
        )

    @strawberry.field(
        description="Totals, breakdowns, costs and recent activity of your inventory.",
        permission_classes=[IsAuthenticated],
    )
    async def dashboard(self, info: Info) -> Dashboard:
        return await build_dashboard(info)
