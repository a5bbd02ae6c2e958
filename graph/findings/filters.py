"""The filter and orderings of the `findings` connection (shared by `GET /export/findings`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, Select, and_, or_

from db import enums as db_enums
from db.models import CloudResourceRow, FindingRow
from graph.connections.keyset import Ordering, SortKey
from graph.enums import FindingStatus, Provider, Severity
from graph.errors import BadRequest
from graph.inventory.filters import OrderDirection
from graph.node import from_global_id

MAX_FILTER_VALUES = 100
MAX_ACCOUNT_CHARS = 128
_SUPPRESSED = db_enums.FindingStatus.SUPPRESSED


@strawberry.input(description="Which findings to return; all given conditions must hold.")
class FindingFilter:
    severity: list[Severity] | None = strawberry.field(
        default=None, description="Any of these severities."
    )
    status: list[FindingStatus] | None = strawberry.field(
        default=None,
        description="Any of these states (default: every state). A suppression whose `until` "
        "has passed counts as OPEN.",
    )
    rule_id: list[str] | None = strawberry.field(default=None, description="Any of these rules.")
    provider: list[Provider] | None = strawberry.field(
        default=None, description="Any of these clouds."
    )
    credential_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only findings of resources found with this credential."
    )
    account: str | None = strawberry.field(
        default=None, description="Only findings of resources in this account (exact)."
    )
    resource_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only findings of this CloudResource (its `id`)."
    )


@strawberry.enum(description="What to sort findings by; ties are broken by ID.")
class FindingOrderField(Enum):
    SEVERITY = strawberry.enum_value("SEVERITY", description="CRITICAL first when ascending.")
    LAST_SEEN_AT = strawberry.enum_value("LAST_SEEN_AT", description="When last seen failing.")
    FIRST_SEEN_AT = strawberry.enum_value("FIRST_SEEN_AT", description="When first seen failing.")


@strawberry.input(description="How to sort findings.")
class FindingOrder:
    field: FindingOrderField = strawberry.field(
        default=FindingOrderField.SEVERITY, description="The sort key (default SEVERITY)."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="The direction (default ASC)."
    )


def _bounded(values: list[Any] | None, what: str) -> tuple[Any, ...]:
    if values is None:
        return ()
    if len(values) > MAX_FILTER_VALUES:
        raise BadRequest(f"`{what}` accepts at most {MAX_FILTER_VALUES} values")
    return tuple(values)


def _status(status: str, now: datetime) -> ColumnElement[bool]:
    lapsed = and_(
        FindingRow.status == _SUPPRESSED,
        FindingRow.suppressed_until.is_not(None),
        FindingRow.suppressed_until <= now,
    )
    if status == db_enums.FindingStatus.OPEN.value:
        return or_(FindingRow.status == db_enums.FindingStatus.OPEN, lapsed)
    if status == _SUPPRESSED.value:
        return and_(
            FindingRow.status == _SUPPRESSED,
            or_(FindingRow.suppressed_until.is_(None), FindingRow.suppressed_until > now),
        )
    return FindingRow.status == db_enums.FindingStatus(status)


@dataclass(frozen=True, slots=True)
class FindingCriteria:
    """A validated `FindingFilter`."""

    severities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    credential_id: uuid.UUID | None = None
    account: str | None = None
    resource_row_id: uuid.UUID | None = None

    @classmethod
    def from_input(cls, given: FindingFilter | None) -> FindingCriteria:
        if given is None:
            return cls()
        if given.account is not None and len(given.account) > MAX_ACCOUNT_CHARS:
            raise BadRequest(f"`account` is limited to {MAX_ACCOUNT_CHARS} characters")
        return cls(
            severities=tuple(s.value for s in _bounded(given.severity, "severity")),
            statuses=tuple(s.value for s in _bounded(given.status, "status")),
            rule_ids=tuple(_bounded(given.rule_id, "ruleId")),
            providers=tuple(p.value for p in _bounded(given.provider, "provider")),
            credential_id=(
                from_global_id(given.credential_id, "CloudCredential")[1]
                if given.credential_id
                else None
            ),
            account=given.account,
            resource_row_id=(
                from_global_id(given.resource_id, "CloudResource")[1] if given.resource_id else None
            ),
        )

    def apply(self, statement: Select[Any]) -> Select[Any]:
        """Add the conditions to a select that joins findings to their resources."""
        conditions: list[ColumnElement[bool]] = []
        if self.severities:
            conditions.append(FindingRow.severity.in_(self.severities))
        if self.statuses:
            now = datetime.now(UTC)
            conditions.append(or_(*(_status(status, now) for status in self.statuses)))
        if self.rule_ids:
            conditions.append(FindingRow.rule_id.in_(self.rule_ids))
        if self.providers:
            conditions.append(CloudResourceRow.provider.in_(self.providers))
        if self.credential_id is not None:
            conditions.append(FindingRow.credential_id == self.credential_id)
        if self.account is not None:
            conditions.append(CloudResourceRow.account == self.account)
        if self.resource_row_id is not None:
            conditions.append(FindingRow.resource_row_id == self.resource_row_id)
        return statement.where(*conditions) if conditions else statement


def finding_ordering(order: FindingOrder | None, prefix: str = "findings") -> Ordering:
    field = order.field if order else FindingOrderField.SEVERITY
    descending = bool(order and order.direction == OrderDirection.DESC)
    name = f"{prefix}:{field.value}:{'DESC' if descending else 'ASC'}"
    if field == FindingOrderField.SEVERITY:
        key = SortKey(FindingRow.severity_rank, "int", lambda r: r.f_severity_rank, descending)
    elif field == FindingOrderField.LAST_SEEN_AT:
        key = SortKey(FindingRow.last_seen_at, "datetime", lambda r: r.f_last_seen_at, descending)
    else:
        key = SortKey(FindingRow.first_seen_at, "datetime", lambda r: r.f_first_seen_at, descending)
    return Ordering(name, (key, SortKey(FindingRow.id, "uuid", lambda r: r.f_id, descending)))
