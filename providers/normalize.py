"""Shared normalization: price lookups, status mapping, tags and JSON-safe metadata.

Every cloud module turns its native shapes into `ResourceRecord`s with these helpers, so the
inventory speaks one vocabulary whatever the cloud.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from db.enums import Provider, ResourceStatus, ResourceType
from providers.base import GLOBAL_REGION, ResourceRecord
from providers.sanitize import MAX_DEPTH

HOURS_PER_MONTH = 730  # the convention every cloud price page uses
# The exceptions a record builder raises on a shape it did not expect (a list where an object
# belongs, a missing key): that item is skipped, never the listing.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)


@lru_cache(maxsize=1)
def price_table() -> dict[str, dict[str, float]]:
    """The shipped price table (providers/prices.json), without its `_about` block."""
    raw = json.loads((Path(__file__).with_name("prices.json")).read_text())
    return {name: dict(prices) for name, prices in raw.items() if not name.startswith("_")}


def hourly_price(table: str, size: str | None) -> float | None:
    """Hourly list price of `size`, or None when the size is unknown (never a made-up 0)."""
    if not size:
        return None
    return price_table().get(table, {}).get(size)


def ebs_hourly_price(volume_type: str | None, size_gib: int | None) -> float | None:
    per_gb_month = hourly_price("aws_ebs_gb_month", volume_type)
    if per_gb_month is None or size_gib is None:
        return None
    return round(per_gb_month * size_gib / HOURS_PER_MONTH, 6)


def running_cost(price: float | None, status: ResourceStatus) -> float | None:
    """A VM bills compute only while it runs: stopped or terminated costs 0 per hour."""
    if price is None:
        return None
    if status in (ResourceStatus.STOPPED, ResourceStatus.TERMINATED):
        return 0.0
    return price


def map_status(
    value: str | None,
    mapping: Mapping[str, ResourceStatus],
    default: ResourceStatus = ResourceStatus.UNKNOWN,
) -> ResourceStatus:
    """Case-insensitive lookup of a native state in a per-kind table."""
    if not value:
        return default
    return mapping.get(value.lower(), ResourceStatus.UNKNOWN)


def clean_tags(tags: object) -> dict[str, str]:
    """Tags/labels as the cloud sent them: `providers.sanitize` checks their shape, coerces and
    bounds them (and reports what it changed) for every provider at once."""
    return cast(dict[str, str], tags if tags is not None else {})


def aws_tags(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """AWS `[{"Key": k, "Value": v}]` lists as a map."""
    pairs = {tag["Key"]: tag.get("Value") for tag in tags or () if "Key" in tag}
    return clean_tags({key: "" if value is None else value for key, value in pairs.items()})


def text(value: object) -> str:
    """A field the cloud should send as a string, passed on as sent: `providers.sanitize`
    coerces anything else (and reports it)."""
    return cast(str, value)


def unreadable(provider: Provider, resource_id: object, native_type: object) -> ResourceRecord:
    """An item of a listing whose shape its builder could not read: skipped alone, reported."""
    return ResourceRecord(
        provider=provider,
        account="",
        region=GLOBAL_REGION,
        type=ResourceType.OTHER,
        native_type=text(native_type if isinstance(native_type, str) else "unknown"),
        resource_id=text(resource_id if isinstance(resource_id, str) else ""),
        name="",
        rejected="The cloud's description of this resource has an unexpected shape.",
    )


def jsonable(value: Any, depth: int = 0) -> Any:
    """Metadata safe for a JSON column: datetimes as ISO strings; None and empty values dropped.

    Below MAX_DEPTH a value is passed on as it is: `providers.sanitize` cuts it there (and
    reports it), and recursing into a hostile nesting here could exhaust the stack."""
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        cleaned = {str(k): jsonable(v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item, depth + 1) for item in value if item is not None]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def metadata(**values: Any) -> dict[str, Any]:
    result: dict[str, Any] = jsonable(values)
    return result
