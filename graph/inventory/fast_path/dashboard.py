"""The `dashboard` root: the regular resolver's statements and row meanings
(`graph.inventory.dashboard_totals`), read in one round trip, written without the executor.

Compiled: the selected `Dashboard` fields — its plain fields (written by `objects.py`) and
`recentActivity` with `kind`, `at`, `summary` — and the parts they read (the per-provider totals
always; services, regions, accounts, credentials, events and jobs when selected). The resolver
fields `findingsBySeverity` and `complianceSummary`, the full `auditEvent`/`syncJob` of an entry,
and any resolver field of a credential are the regular path's. Read: on PostgreSQL one statement,
each part's columns as arrays beside the caller's account (`acting_lists_statement`); on SQLite
each part's own statement in one transaction. Written: the same `Dashboard` object the resolver
builds (`dashboard_of`), from the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from graphql import GraphQLObjectType
from graphql.execution.collect_fields import FieldDetails
from sqlalchemy import Integer, Select, bindparam
from sqlalchemy.engine import Dialect

from db.models import AuditEventRow, CloudCredentialRow, ResourceCountRow, SyncJobRow
from db.scoping import OwnerScope
from graph.credentials.types import FROM_ROW_COLUMNS, CloudCredential
from graph.inventory import dashboard_totals as totals
from graph.inventory.dashboard import dashboard_of
from graph.inventory.fast_path.acting import Part, acting_lists_statement
from graph.inventory.fast_path.gate import Fallback
from graph.inventory.fast_path.objects import Write, constant, plain_attribute, value_writer
from graph.inventory.fast_path.page import REFUSALS, arguments
from graph.inventory.fast_path.plan import Collecting, Unsupported
from graph.inventory.fast_path.reads import Read
from graph.inventory.fast_path.roots import Asking, Services
from graph.inventory.fast_path.rows import RowShape
from graph.inventory.fast_path.statements import USER, owner_scope

LIMIT = "fast_limit"
ACTIVITY_FIELDS = frozenset({"kind", "at", "summary", "__typename"})
# Field -> the part it reads (every other plain field reads the per-provider totals).
PART_OF = {
    "costByService": "services",
    "regionDistribution": "regions",
    "accounts": "accounts",
    "providerHealth": "credentials",
}


def _limit() -> Any:
    return bindparam(LIMIT, type_=Integer)


PARTS: dict[str, tuple[Part, type[Any]]] = {
    "providers": (totals.provider_statement, ResourceCountRow),
    "services": (totals.service_statement, ResourceCountRow),
    "regions": (totals.region_statement, ResourceCountRow),
    "accounts": (totals.account_statement, ResourceCountRow),
    "credentials": (
        lambda scope: totals.credentials_statement(scope, *FROM_ROW_COLUMNS),
        CloudCredentialRow,
    ),
    "events": (
        lambda scope: totals.events_statement(scope, _limit(), *totals.EVENT_COLUMNS),
        AuditEventRow,
    ),
    "jobs": (
        lambda scope: totals.jobs_statement(scope, _limit(), *totals.JOB_COLUMNS),
        SyncJobRow,
    ),
}
ACTIVITY = object()  # the step that writes `recentActivity`


@dataclass(frozen=True, slots=True)
class DashboardPlan:
    # (response key, attribute of `Dashboard`, `ACTIVITY` or None for `__typename`, its writer)
    steps: tuple[tuple[str, Any, Write], ...]
    parts: tuple[str, ...]
    activity: Any  # the `recentActivity` field node, for its `limit`

    def prepare(self, services: Services, asking: Asking) -> PreparedDashboard:
        values: dict[str, Any] = {USER: asking.user_id}
        limit = 0
        if self.activity is not None:
            try:
                limit = arguments(services, "Dashboard", "recentActivity", self.activity, asking)[
                    "limit"
                ]
            except REFUSALS as error:
                raise Fallback from error
            if not 1 <= limit <= totals.MAX_ACTIVITY:
                raise Fallback  # the resolver's BadRequest
            values[LIMIT] = limit
        parts = tuple(
            part
            for part in self.parts
            if part != "services" or services.settings.enable_cost_tracking
        )
        cache_ = services.statements
        if cache_.acting:
            bundle = [PARTS[part] for part in parts]
            statement = cache_.get(("dashboard", parts), lambda: acting_lists_statement(bundle))
            reads = [Read(*statement, values, carries_account=True)]
        else:
            reads = [
                Read(*cache_.get(("dashboard", part), lambda p=part: _plain(p)), values)  # type: ignore[misc]
                for part in parts
            ]
        return PreparedDashboard(services, self, parts, limit, asking, reads)


def _plain(part: str) -> Select[Any]:
    return PARTS[part][0](owner_scope())


@dataclass(frozen=True, slots=True)
class PreparedDashboard:
    services: Services
    plan: DashboardPlan
    parts: tuple[str, ...]
    limit: int
    asking: Asking
    reads: list[Read]

    def write(self, results: Sequence[Any]) -> Any:
        if self.services.statements.acting:
            rows = _unpack(self.services.statements.dialect, self.parts, results[0][0])
        else:
            rows = dict(zip(self.parts, results, strict=True))
        cost_tracking = self.services.settings.enable_cost_tracking
        board = dashboard_of(
            totals.totals_of(rows["providers"]),
            totals.services_of(rows.get("services", ())),
            totals.regions_of(rows.get("regions", ())),
            totals.accounts_of(rows.get("accounts", ())),
            [CloudCredential.from_row(row) for row in rows.get("credentials", ())],
            cost_tracking=cost_tracking,
            scope=OwnerScope(self.asking.user_id),
        )
        value: dict[str, Any] = {}
        for key, attribute, write in self.plan.steps:
            if attribute is ACTIVITY:
                entries = [totals.event_entry(row) for row in rows["events"]]
                entries += [totals.job_entry(row) for row in rows["jobs"]]
                value[key] = write(totals.latest(entries, self.limit))
            else:
                value[key] = write(None if attribute is None else getattr(board, attribute))
        return value


def _unpack(dialect: Dialect, parts: Sequence[str], row: Any) -> dict[str, list[Any]]:
    """Each part's rows from its column arrays."""
    found: dict[str, list[Any]] = {}
    offset = 0
    for part in parts:
        shape = _shape(dialect, part)
        arrays = [row[offset + index] or () for index in range(shape.width)]
        offset += shape.width
        found[part] = [shape.make(values) for values in zip(*arrays, strict=True)]
    return found


@cache
def _shape(dialect: Dialect, part: str) -> RowShape:
    return RowShape(list(_plain(part).selected_columns), dialect, processed=False)


def compile_dashboard(collecting: Collecting, key: str, group: list[FieldDetails]) -> DashboardPlan:
    dashboard_type = collecting.schema.get_type("Dashboard")
    if not isinstance(dashboard_type, GraphQLObjectType):
        raise Unsupported
    steps: list[tuple[str, Any, Write]] = []
    parts = {"providers"}
    activity = None
    for sub_key, name, sub_group in collecting.subfields("Dashboard", group):
        if name == "__typename":
            steps.append((sub_key, None, constant("Dashboard")))
        elif name == "recentActivity":
            if activity is not None:
                raise Unsupported  # two feeds (aliases): the regular path's
            collecting.subfields("ActivityEntry", sub_group, ACTIVITY_FIELDS)
            field_type = dashboard_type.fields[name].type
            steps.append((sub_key, ACTIVITY, value_writer(collecting, field_type, sub_group)))
            activity = sub_group[0].node
            parts.update(("events", "jobs"))
        else:
            attribute = plain_attribute(dashboard_type, name)
            if attribute is None:
                raise Unsupported
            field_type = dashboard_type.fields[name].type
            steps.append((sub_key, attribute, value_writer(collecting, field_type, sub_group)))
            if name in PART_OF:
                parts.add(PART_OF[name])
    return DashboardPlan(tuple(steps), tuple(p for p in PARTS if p in parts), activity)
