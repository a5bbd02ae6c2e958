"""The `credentials` root: each credential's plain fields, `resourceCount`, `lastSync { … }`
and one `resources(first:, filter:) { … }` page, in one statement (`credential_list.py`).

Compiled: the selected `CloudCredential` fields. Plain fields and `lastSync`'s are written by
`objects.py` from the objects `CloudCredential.from_row` and `SyncJob.from_row` build, as the
resolvers do; a page by `page.py`'s connection writer, with the nested list's own ordering and
cursor binding (`CREDENTIAL_RESOURCES_ORDERING`; the ordering, the credential's id, the caller).
Every other resolver field (`onboarding`, `accounts`, a job's `credential`, a resource's
`credential`), a second page, and a page `after` a cursor are the regular path's: a nested
cursor is bound to one credential, which only the read would tell.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from graphql import GraphQLObjectType
from graphql.execution.collect_fields import FieldDetails
from sqlalchemy import bindparam
from sqlalchemy.engine import Dialect

from db.models import CloudCredentialRow, UserRow
from db.scoping import OwnerScope
from graph.connections.keyset import PageRequest, cursor_binding
from graph.credentials.types import FROM_ROW_COLUMNS as CREDENTIAL_COLUMNS
from graph.credentials.types import CloudCredential
from graph.inventory.fast_path.acting import acting_listing_statement
from graph.inventory.fast_path.credential_list import ListShape, listing_statement
from graph.inventory.fast_path.gate import Fallback
from graph.inventory.fast_path.objects import constant, plain_attribute, value_writer
from graph.inventory.fast_path.page import (
    REFUSALS,
    ConnectionPlan,
    arguments,
    connection_plan,
    write_connection,
)
from graph.inventory.fast_path.plan import Collecting, Unsupported
from graph.inventory.fast_path.reads import Read
from graph.inventory.fast_path.roots import Asking, Services
from graph.inventory.fast_path.rows import RowShape
from graph.inventory.fast_path.statements import (
    USER,
    account_scalars,
    columns_for,
    owner_scope,
)
from graph.inventory.filters import ResourceCriteria
from graph.inventory.loaders import CREDENTIAL_RESOURCES_ORDERING
from graph.sync.types import FROM_ROW_COLUMNS as JOB_COLUMNS
from graph.sync.types import SyncJob

COUNT, LAST_SYNC, PAGE = object(), object(), object()  # the resolver fields served here


@dataclass(frozen=True, slots=True)
class CredentialsPlan:
    # (response key, attribute / COUNT / LAST_SYNC / PAGE / None for `__typename`, its writer)
    steps: tuple[tuple[str, Any, Any], ...]
    resource_count: bool
    last_sync: bool
    page: tuple[Any, ConnectionPlan] | None  # the `resources` field node, its plan

    def prepare(self, services: Services, asking: Asking) -> PreparedCredentials:
        criteria, request = ResourceCriteria(), PageRequest(size=0, forward=True, cursor=None)
        columns: tuple[str, ...] | None = None
        if self.page is not None:
            node, connection = self.page
            try:
                kwargs = arguments(services, "CloudCredential", "resources", node, asking)
                request = PageRequest.from_args(
                    first=kwargs.get("first"), after=kwargs.get("after")
                )
                criteria = ResourceCriteria.from_input(kwargs.get("filter"))
            except REFUSALS as error:
                raise Fallback from error
            if request.cursor is not None:
                raise Fallback
            columns = columns_for(connection.node_fields, CREDENTIAL_RESOURCES_ORDERING)
        shape = ListShape(
            self.resource_count,
            self.last_sync,
            columns,
            criteria,
            request.size,
            self.page is not None and self.page[1].needs_count,
        )
        cache_ = services.statements
        if cache_.acting:

            def build() -> Any:
                known = OwnerScope(cast(uuid.UUID, bindparam(USER, type_=UserRow.id.type)))
                return acting_listing_statement(
                    lambda scope: listing_statement(scope, shape, arrays=True, inner=known),
                    CloudCredentialRow,
                    shape.order(arrays=True),
                )
        else:

            def build() -> Any:
                scope = owner_scope()
                statement = listing_statement(scope, shape, arrays=False)
                return statement.add_columns(*account_scalars(scope))

        read = Read(*cache_.get(("credentials", shape), build), {USER: asking.user_id}, True)
        return PreparedCredentials(services, self, shape, request, asking, [read])


@dataclass(frozen=True, slots=True)
class PreparedCredentials:
    services: Services
    plan: CredentialsPlan
    shape: ListShape
    request: PageRequest
    asking: Asking
    reads: list[Read]

    def write(self, results: Sequence[Any]) -> Any:
        shape = self.shape
        credential_width, counts, job_width, page_width = shape.widths
        processed = not self.services.statements.acting
        credential_shape = _shape(self.services.statements.dialect, "credential", processed)
        job_shape = _shape(self.services.statements.dialect, "job", processed)
        listed: list[tuple[Any, list[Any]]] = []  # (first row, page rows) per credential
        start = credential_width + counts + job_width
        arrays = self.services.statements.acting
        for row in results[0]:
            if row[0] is None:
                continue  # PostgreSQL's row of no credential (it carries the account)
            page_values = row[start : start + page_width]
            if arrays:  # one row per credential, its page as column arrays
                listed.append((row, list(zip(*[a or () for a in page_values], strict=True))))
                continue
            if not listed or listed[-1][0][0] != row[0]:
                listed.append((row, []))
            if page_width and page_values[0] is not None:
                listed[-1][1].append(page_values)
        value = []
        for row, page_rows in listed:
            credential = CloudCredential.from_row(credential_shape.make(row[:credential_width]))
            at = credential_width
            resource_count = total = None
            if shape.resource_count:
                resource_count, at = int(row[at]), at + 1
            if shape.total:
                total, at = int(row[at]), at + 1
            job = None
            if shape.last_sync and row[at] is not None:
                job = SyncJob.from_row(job_shape.make(row[at : at + job_width]))
            entry: dict[str, Any] = {}
            for key, kind, write in self.plan.steps:
                if kind is COUNT:
                    entry[key] = resource_count
                elif kind is LAST_SYNC:
                    entry[key] = write(job)
                elif kind is PAGE:
                    entry[key] = self._page(credential, page_rows, total)
                else:
                    entry[key] = write(None if kind is None else getattr(credential, kind))
            value.append(entry)
        return value

    def _page(self, credential: CloudCredential, rows: list[Any], total: int | None) -> Any:
        ordering = CREDENTIAL_RESOURCES_ORDERING
        if self.plan.page is None or self.shape.page_columns is None:
            raise Fallback
        return write_connection(
            self.services,
            self.plan.page[1],
            rows,
            total,
            columns=self.shape.page_columns,
            request=self.request,
            ordering=ordering,
            binding=cursor_binding(ordering, str(credential.id), caller=str(self.asking.user_id)),
        )


@cache
def _shape(dialect: Dialect, kind: str, processed: bool) -> RowShape:
    columns = CREDENTIAL_COLUMNS if kind == "credential" else JOB_COLUMNS
    return RowShape(columns, dialect, processed=processed)


def compile_credentials(
    collecting: Collecting, key: str, group: list[FieldDetails]
) -> CredentialsPlan:
    credential_type = collecting.schema.get_type("CloudCredential")
    if not isinstance(credential_type, GraphQLObjectType) or any(
        details.node.arguments for details in group
    ):
        raise Unsupported
    steps: list[tuple[str, Any, Any]] = []
    page: tuple[Any, ConnectionPlan] | None = None
    resource_count = last_sync = False
    for sub_key, name, sub_group in collecting.subfields("CloudCredential", group):
        field_type = credential_type.fields[name].type if name != "__typename" else None
        if name == "__typename":
            steps.append((sub_key, None, constant("CloudCredential")))
        elif name == "resourceCount":
            steps.append((sub_key, COUNT, None))
            resource_count = True
        elif name == "lastSync" and field_type is not None:
            steps.append((sub_key, LAST_SYNC, value_writer(collecting, field_type, sub_group)))
            last_sync = True
        elif name == "resources":
            if page is not None:
                raise Unsupported  # a second page (an alias): the regular path's
            page = (sub_group[0].node, connection_plan(collecting, sub_group))
            steps.append((sub_key, PAGE, None))
        else:
            attribute = plain_attribute(credential_type, name)
            if attribute is None or field_type is None:
                raise Unsupported
            steps.append((sub_key, attribute, value_writer(collecting, field_type, sub_group)))
    return CredentialsPlan(tuple(steps), resource_count, last_sync, page)
