"""The findings dataset: the `findings` connection's filter as query parameters, its rows and
fields, flattened (`GET /export/findings`, `stratograph export findings`).

Parameters: `format`, `severity`, `status`, `ruleId`, `provider` (lists: repeated or
comma-separated), `credentialId`, `account`, `resourceId`, `orderBy` (SEVERITY, LAST_SEEN_AT,
FIRST_SEEN_AT), `direction`. Anything else is a BAD_REQUEST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select
from starlette.datastructures import QueryParams

from db.scoping import OwnerScope
from graph.enums import FindingStatus, Provider, Severity
from graph.errors import BadRequest
from graph.export.params import enums, single, values
from graph.findings.columns import FINDING_COLUMNS
from graph.findings.filters import (
    FindingCriteria,
    FindingFilter,
    FindingOrder,
    FindingOrderField,
    finding_ordering,
)
from graph.findings.queries import findings_select
from graph.findings.types import Finding
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.inventory.filters import OrderDirection
from graph.node import to_global_id
from integrations.export.formats import Format

PARAMETERS = frozenset(
    {
        "format",
        "severity",
        "status",
        "ruleId",
        "provider",
        "credentialId",
        "account",
        "resourceId",
        "orderBy",
        "direction",
    }
)
# The Finding fields, by their GraphQL names; the rule's and resource's fields are flattened.
COLUMNS = (
    "id",
    "ruleId",
    "ruleTitle",
    "severity",
    "provider",
    "status",
    "resourceId",
    "resourceName",
    "resourceNativeId",
    "nativeType",
    "account",
    "region",
    "credentialId",
    "firstSeenAt",
    "lastSeenAt",
    "resolvedAt",
    "suppressionReason",
    "suppressedUntil",
    "compliance",
    "details",
)


@dataclass(frozen=True, slots=True)
class FindingExportRequest:
    format: Format
    filter: FindingFilter
    order: FindingOrder


def finding_export_request(params: QueryParams) -> FindingExportRequest:
    unknown = sorted(set(params.keys()) - PARAMETERS)
    if unknown:
        raise BadRequest(
            f"Unknown parameter `{unknown[0]}`; accepted: " + ", ".join(sorted(PARAMETERS))
        )
    fmt = (single(params, "format") or "csv").lower()
    if fmt not in ("csv", "ndjson"):
        raise BadRequest("`format` must be csv or ndjson")
    given = FindingFilter(
        severity=enums(params, "severity", Severity),
        status=enums(params, "status", FindingStatus),
        rule_id=values(params, "ruleId") or None,
        provider=enums(params, "provider", Provider),
        credential_id=cast(Any, single(params, "credentialId")),
        account=single(params, "account"),
        resource_id=cast(Any, single(params, "resourceId")),
    )
    order_by = enums(params, "orderBy", FindingOrderField) or [FindingOrderField.SEVERITY]
    direction = enums(params, "direction", OrderDirection) or [OrderDirection.ASC]
    if len(order_by) > 1 or len(direction) > 1:
        raise BadRequest("`orderBy` and `direction` take one value each")
    return FindingExportRequest(
        format=cast(Format, fmt),
        filter=given,
        order=FindingOrder(field=order_by[0], direction=direction[0]),
    )


def finding_statement(scope: OwnerScope, request: FindingExportRequest) -> Select[Any]:
    """The same scoped, filtered and ordered select the connection pages through."""
    criteria = FindingCriteria.from_input(request.filter)
    statement = findings_select(scope, criteria, *FINDING_COLUMNS, *RESOURCE_COLUMNS)
    return statement.order_by(*finding_ordering(request.order).order_by())


def finding_record(row: Any) -> dict[str, Any]:
    """One row as the GraphQL type shows it (same conversions, same values)."""
    item = Finding.from_row(row)
    suppression = item.suppression
    return {
        "id": item.id,
        "ruleId": item.rule.id,
        "ruleTitle": item.rule.title,
        "severity": item.rule.severity.value,
        "provider": item.rule.provider.value,
        "status": item.status.value,
        "resourceId": item.resource.id,
        "resourceName": item.resource.name,
        "resourceNativeId": item.resource.resource_id,
        "nativeType": item.resource.native_type,
        "account": item.resource.account,
        "region": item.resource.region,
        "credentialId": to_global_id("CloudCredential", row.credential_id),
        "firstSeenAt": item.first_seen_at,
        "lastSeenAt": item.last_seen_at,
        "resolvedAt": item.resolved_at,
        "suppressionReason": suppression.reason if suppression else None,
        "suppressedUntil": suppression.until if suppression else None,
        "compliance": [f"{c.framework} {c.control}" for c in item.rule.compliance],
        "details": item.details,
    }
