"""The statement of a `credentials` list: each credential with what its selection needs.

One row per credential and page row (ordered by credential name and id, then the page's name and
id), or one row for a credential whose page is empty: the columns `CloudCredential.from_row`
reads, its `resourceCount` and the page's `totalCount` (`credential_count`, the loaders' own
count: from the aggregates when the filter allows), its last sync (`LAST_SYNC_ORDER`, the
loader's), and its page — `page_of_one`, the loader's N + 1 rows of one credential through the
(credential, name, id) index: a LATERAL subquery on PostgreSQL, a correlated `IN (… LIMIT N + 1)`
on SQLite (which has no LATERAL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, true
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
    def widths(self) -> tuple[int, int, int, int, int]:
        """Columns of: the credential, its counts, its job, its page (the account's follow)."""
        counts = int(self.resource_count) + int(self.total)
        job = len(JOB_COLUMNS) if self.last_sync else 0
        page = len(self.page_columns or ())
        return len(CREDENTIAL_COLUMNS), counts, job, page, 0

    @property
    def order(self) -> tuple[str, ...]:
        names = [CREDENTIAL + "name", CREDENTIAL + "id"]
        if self.page_columns is not None:
            names += [PAGE + "name", PAGE + "id"]
        return tuple(names)


def listing_statement(scope: OwnerScope, shape: ListShape, *, lateral: bool) -> Select[Any]:
    """The list, ordered; `lateral` for PostgreSQL's page (SQLite's otherwise)."""
    credential = CloudCredentialRow
    columns: list[Any] = [column.label(CREDENTIAL + column.key) for column in CREDENTIAL_COLUMNS]
    if shape.resource_count:
        counted = credential_count(scope, ResourceCriteria(), credential.id)
        columns.append(counted.label("resource_count"))
    if shape.total:
        columns.append(credential_count(scope, shape.criteria, credential.id).label("total_count"))
    froms: Any = credential.__table__
    if shape.last_sync:
        job = aliased(SyncJobRow)
        last = (
            scope.select_columns(SyncJobRow, SyncJobRow.id)
            .where(SyncJobRow.credential_id == credential.id)
            .order_by(*LAST_SYNC_ORDER)
            .limit(1)
            .scalar_subquery()
        )
        froms = froms.outerjoin(job, job.id == last)
        columns += [getattr(job, c.key).label(JOB + c.key) for c in JOB_COLUMNS]
    order: list[Any] = [credential.name, credential.id]
    if shape.page_columns is not None:
        ordering = CREDENTIAL_RESOURCES_ORDERING
        if lateral:
            page: Any = page_of_one(scope, shape.criteria, None, shape.size, credential.id).lateral(
                "page"
            )
            froms = froms.outerjoin(page, true())
            selected = [page.c[name] for name in shape.page_columns]
        else:
            resource = aliased(CloudResourceRow)
            ids = page_of_one(
                scope, shape.criteria, None, shape.size, credential.id, (CloudResourceRow.id,)
            )
            froms = froms.outerjoin(resource, resource.id.in_(ids))
            selected = [getattr(resource, BY_NAME[name].key) for name in shape.page_columns]
        columns += [
            column.label(PAGE + name)
            for column, name in zip(selected, shape.page_columns, strict=True)
        ]
        by_name = {name: column for column, name in zip(selected, shape.page_columns, strict=True)}
        order += [by_name[key.expression.key] for key in ordering.keys]
    return scope.select_columns(credential, *columns).select_from(froms).order_by(*order)
