"""The statement of a `credentials` list: each credential with what its selection needs.

Each credential (by name and id) with the columns `CloudCredential.from_row`
reads, its `resourceCount` and the page's `totalCount` (`credential_count`, the loaders' own
count: from the aggregates when the filter allows), its last sync (`LAST_SYNC_ORDER`, the
loader's), and its page — `page_of_one`, the loader's N + 1 rows of one credential through the
(credential, name, id) index: on PostgreSQL a LATERAL subquery aggregated into one array per
column (one row per credential, so nothing per credential is repeated or recounted per page row),
on SQLite a correlated `IN (… LIMIT N + 1)` (it has no LATERAL), one row per page row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from db.models import CloudCredentialRow, CloudResourceRow, SyncJobRow
from db.scoping import OwnerScope
from graph.credentials.types import FROM_ROW_COLUMNS as CREDENTIAL_COLUMNS
from graph.inventory.fast_path.statements import BY_NAME
from graph.inventory.filters import ResourceCriteria
from graph.inventory.loaders import CREDENTIAL_RESOURCES_ORDERING, credential_count, page_of_one
from graph.sync.loaders import LAST_SYNC_ORDER
from graph.sync.types import FROM_ROW_COLUMNS as JOB_COLUMNS

CREDENTIAL = "credential_"
JOB = "job_"
PAGE = "page_"


@dataclass(frozen=True, slots=True)
class ListShape:
    resource_count: bool
    last_sync: bool
    # The page: its columns, criteria and size (None: no `resources` selected).
    page_columns: tuple[str, ...] | None
    criteria: ResourceCriteria
    size: int
    total: bool  # the page's `totalCount`

    @property
    def widths(self) -> tuple[int, int, int, int]:
        """Columns of: the credential, its counts, its job, its page (the account's follow)."""
        counts = int(self.resource_count) + int(self.total)
        job = len(JOB_COLUMNS) if self.last_sync else 0
        return len(CREDENTIAL_COLUMNS), counts, job, len(self.page_columns or ())

    def order(self, *, arrays: bool) -> tuple[str, ...]:
        """The list's order: by credential, then (rows, not arrays) by the page's keys."""
        names = [CREDENTIAL + "name", CREDENTIAL + "id"]
        if self.page_columns is not None and not arrays:
            names += [PAGE + "name", PAGE + "id"]
        return tuple(names)


def listing_statement(
    scope: OwnerScope, shape: ListShape, *, arrays: bool, inner: OwnerScope | None = None
) -> Select[Any]:
    """The list, ordered. `arrays` (PostgreSQL): one row per credential, its page as one array
    per column from a LATERAL subquery; otherwise (SQLite) one row per page row. `inner` scopes
    the reads correlated to each credential (PostgreSQL: the owner as a parameter the planner
    sees; they run per credential row, so after the acting user is set)."""
    correlated = inner or scope
    credential = CloudCredentialRow
    columns: list[Any] = [column.label(CREDENTIAL + column.key) for column in CREDENTIAL_COLUMNS]
    if shape.resource_count:
        counted = credential_count(correlated, ResourceCriteria(), credential.id)
        columns.append(counted.label("resource_count"))
    if shape.total:
        total = credential_count(correlated, shape.criteria, credential.id)
        columns.append(total.label("total_count"))
    froms: Any = credential.__table__
    if shape.last_sync:
        job = aliased(SyncJobRow)
        last = (
            correlated.select_columns(SyncJobRow, SyncJobRow.id)
            .where(SyncJobRow.credential_id == credential.id)
            .order_by(*LAST_SYNC_ORDER)
            .limit(1)
            .scalar_subquery()
        )
        froms = froms.outerjoin(job, job.id == last)
        columns += [getattr(job, c.key).label(JOB + c.key) for c in JOB_COLUMNS]
    order: list[Any] = [credential.name, credential.id]
    names = shape.page_columns
    if names is not None:
        ordering = CREDENTIAL_RESOURCES_ORDERING
        if arrays:
            # Correlated by hand: SQLAlchemy correlates a LATERAL's own FROM, not a subquery in it.
            listed = (
                page_of_one(correlated, shape.criteria, None, shape.size, credential.id)
                .correlate(credential)
                .subquery("listed")
            )
            by = [listed.c[key.expression.key] for key in ordering.keys]
            page: Any = (
                select(
                    *[
                        func.array_agg(aggregate_order_by(listed.c[name], *by)).label(PAGE + name)
                        for name in names
                    ]
                )
                .select_from(listed)
                .lateral("page")
            )
            froms = froms.outerjoin(page, true())
            columns += [page.c[PAGE + name] for name in names]
        else:
            resource = aliased(CloudResourceRow)
            ids = page_of_one(
                correlated, shape.criteria, None, shape.size, credential.id, (CloudResourceRow.id,)
            )
            froms = froms.outerjoin(resource, resource.id.in_(ids))
            selected = {name: getattr(resource, BY_NAME[name].key) for name in names}
            columns += [selected[name].label(PAGE + name) for name in names]
            order += [selected[key.expression.key] for key in ordering.keys]
    return scope.select_columns(credential, *columns).select_from(froms).order_by(*order)
