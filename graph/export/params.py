"""Query parameters of an export, turned into the GraphQL filter inputs they mirror.

Lists are given by repeating a parameter (`provider=AWS&provider=GCP`) or comma-separated;
`tag=key` or `tag=key=value` may repeat. Anything unknown or malformed is a BAD_REQUEST, so a
typo never silently widens an export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar, cast

from starlette.datastructures import QueryParams

from graph.enums import Provider, ResourceStatus, ResourceType
from graph.errors import BadRequest
from graph.inventory.filters import (
    OrderDirection,
    ResourceFilter,
    ResourceOrder,
    ResourceOrderField,
    TagFilter,
)
from integrations.export.formats import Format

E = TypeVar("E", bound=Enum)
RESOURCE_PARAMETERS = frozenset(
    {
        "format",
        "provider",
        "type",
        "region",
        "account",
        "status",
        "credentialId",
        "tag",
        "search",
        "includeDeleted",
        "orderBy",
        "direction",
    }
)


def values(params: QueryParams, name: str) -> list[str]:
    return [part.strip() for raw in params.getlist(name) for part in raw.split(",") if part.strip()]


def enums(params: QueryParams, name: str, enum: type[E]) -> list[E] | None:
    given = values(params, name)
    if not given:
        return None
    try:
        return [enum[value] for value in given]
    except KeyError as exc:
        allowed = ", ".join(enum.__members__)
        raise BadRequest(f"`{name}` must be one of {allowed}") from exc


def single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"`{name}` may be given once")
    return values[0] if values else None


def _boolean(params: QueryParams, name: str) -> bool:
    value = (single(params, name) or "false").lower()
    if value not in ("true", "false"):
        raise BadRequest(f"`{name}` must be true or false")
    return value == "true"


def _tags(params: QueryParams) -> list[TagFilter] | None:
    tags = [raw.partition("=") for raw in params.getlist("tag")]
    return [TagFilter(key=k, value=v if sep else None) for k, sep, v in tags] or None


@dataclass(frozen=True, slots=True)
class ResourceExportRequest:
    format: Format
    filter: ResourceFilter
    order: ResourceOrder


def resource_export_request(params: QueryParams) -> ResourceExportRequest:
    unknown = sorted(set(params.keys()) - RESOURCE_PARAMETERS)
    if unknown:
        raise BadRequest(
            f"Unknown parameter `{unknown[0]}`; accepted: " + ", ".join(sorted(RESOURCE_PARAMETERS))
        )
    fmt = (single(params, "format") or "csv").lower()
    if fmt not in ("csv", "ndjson"):
        raise BadRequest("`format` must be csv or ndjson")
    regions: Sequence[str] = values(params, "region")
    given = ResourceFilter(
        provider=enums(params, "provider", Provider),
        type=enums(params, "type", ResourceType),
        region=list(regions) or None,
        account=values(params, "account") or None,
        status=enums(params, "status", ResourceStatus),
        credential_id=cast(Any, single(params, "credentialId")),
        tags=_tags(params),
        search=single(params, "search"),
        include_deleted=_boolean(params, "includeDeleted"),
    )
    order_by = enums(params, "orderBy", ResourceOrderField) or [ResourceOrderField.NAME]
    direction = enums(params, "direction", OrderDirection) or [OrderDirection.ASC]
    if len(order_by) > 1 or len(direction) > 1:
        raise BadRequest("`orderBy` and `direction` take one value each")
    return ResourceExportRequest(
        format=cast(Format, fmt),
        filter=given,
        order=ResourceOrder(field=order_by[0], direction=direction[0]),
    )
